#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the suites need, builds, type-checks,
# then runs every suite. Prints a closing "N passed, N failed" line over all suites.
set -uo pipefail
cd "$(dirname "$0")/.."
export FORCE_COLOR=0

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"; npm ci --no-audit --no-fund || exit 1
fi

# Debian packages the suites need (Chromium for the webview and editor tests). As root we install them;
# otherwise the suites that need them fail loudly rather than being skipped.
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  echo "== apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${need[@]}" >/dev/null; } || exit 1
fi

echo "== build"; node scripts/build.mjs || exit 1
echo "== typecheck"; npx tsc --noEmit -p . && npx tsc --noEmit -p media || exit 1

passed=0; failed=0; broken=()
suite() { # name, folder
  local name=$1 dir=$2
  local files=()
  [ -d "$dir" ] && mapfile -t files < <(find "$dir" -name '*.test.ts' | sort)
  [ ${#files[@]} -gt 0 ] || return 0
  echo "== suite: $name (${#files[@]} files)"
  local log; log=$(mktemp)
  # A hung process (a deadlock stops mocha's own timers too) fails its suite instead of eating CI's budget.
  timeout --kill-after=30 "${SUITE_TIMEOUT_S:-1200}" npx mocha "${files[@]}" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "suite $name: stopped after ${SUITE_TIMEOUT_S:-1200} s (hung?)"; fi
  local p f
  p=$(grep -Eo '^ *[0-9]+ passing' "$log" | grep -Eo '[0-9]+' | tail -1); p=${p:-0}
  f=$(grep -Eo '^ *[0-9]+ failing' "$log" | grep -Eo '[0-9]+' | tail -1); f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # a crash before mocha's summary still fails
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -eq 0 ] || broken+=("$name")
  rm -f "$log"
}

suite unit test/unit
suite integration test/integration
suite webview test/webview
suite nat test/nat
suite hostile test/hostile
suite e2e test/e2e

echo
[ ${#broken[@]} -eq 0 ] || echo "failing suites: ${broken[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
