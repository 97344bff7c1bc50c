#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the suites need, builds, type-checks, then runs
# every suite. Prints a closing "N passed, N failed, N skipped" line over all suites.
#
# - Debian packages: every package in test/apt-packages.txt is installed ONCE, here, before the first suite
#   (as root; otherwise they are checked and the missing ones named). Tests never install anything.
# - Skips are counted and shown. Under CI (CI=true) a skipped or `.only` test fails its suite
#   (mocha --forbid-pending --forbid-only), and so does a missing suite folder or one without tests.
#
# For the runner's own test (test/unit/run-all.test.ts) and for focused runs:
#   RUN_ALL_SUITES="name=dir name=dir"  the suites to run (default: all six, in order)
#   RUN_ALL_SKIP_BUILD=1                skip npm ci, build and type-check
#   APT_PACKAGES_FILE=path              another package list
set -uo pipefail
cd "$(dirname "$0")/.."
export FORCE_COLOR=0
ci=false
case "${CI:-}" in true | TRUE | True | 1 | yes) ci=true ;; esac

if [ -z "${RUN_ALL_SKIP_BUILD:-}" ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  echo "== npm ci"; npm ci --no-audit --no-fund || exit 1
fi

# ---- Debian packages, all at once, before any suite ---------------------------------------------
list=${APT_PACKAGES_FILE:-test/apt-packages.txt}
[ -f "$list" ] || { echo "run-all: $list is missing"; exit 1; }
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$list" | grep -v '^$')
missing=()
for p in "${packages[@]}"; do
  # "install ok unpacked" (an interrupted install) counts as missing: apt finishes it.
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt=(apt-get -y -q -o DPkg::Lock::Timeout=600)
    if ! "${apt[@]}" install "${missing[@]}" >/tmp/run-all-apt.$$.log 2>&1; then
      echo "   failed with the current package lists; apt-get update once and retry"
      "${apt[@]}" update >>/tmp/run-all-apt.$$.log 2>&1
      "${apt[@]}" install "${missing[@]}" >>/tmp/run-all-apt.$$.log 2>&1 || { tail -20 /tmp/run-all-apt.$$.log; echo "run-all: apt-get install failed"; exit 1; }
    fi
    rm -f /tmp/run-all-apt.$$.log
  elif $ci; then
    echo "run-all: missing Debian packages (not root, cannot install): ${missing[*]}"; exit 1
  else
    echo "== WARNING: missing Debian packages (not root, cannot install): ${missing[*]} — the tests that need them will fail"
  fi
fi

if [ -z "${RUN_ALL_SKIP_BUILD:-}" ]; then
  echo "== build"; node scripts/build.mjs || exit 1
  echo "== typecheck"; npx tsc --noEmit -p . && npx tsc --noEmit -p media || exit 1
fi

mocha_flags=()
$ci && mocha_flags+=(--forbid-pending --forbid-only)

passed=0; failed=0; skipped=0; broken=()
suite() { # name, folder
  local name=$1 dir=$2
  local files=()
  [ -d "$dir" ] && mapfile -t files < <(find "$dir" -name '*.test.ts' | sort)
  if [ ${#files[@]} -eq 0 ]; then
    # A suite that vanished (a rename, a bad checkout) must not pass by running nothing.
    echo "== suite: $name — FAILED: $([ -d "$dir" ] && echo "no *.test.ts files in $dir" || echo "folder $dir is missing")"
    failed=$((failed + 1)); broken+=("$name")
    return
  fi
  echo "== suite: $name (${#files[@]} files)"
  local log; log=$(mktemp)
  # A hung process (a deadlock stops mocha's own timers too) fails its suite instead of eating CI's budget.
  timeout --kill-after=30 "${SUITE_TIMEOUT_S:-1200}" npx mocha "${mocha_flags[@]}" "${files[@]}" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "suite $name: stopped after ${SUITE_TIMEOUT_S:-1200} s (hung?)"; fi
  local p f s
  p=$(grep -Eo '^ *[0-9]+ passing' "$log" | grep -Eo '[0-9]+' | tail -1); p=${p:-0}
  f=$(grep -Eo '^ *[0-9]+ failing' "$log" | grep -Eo '[0-9]+' | tail -1); f=${f:-0}
  s=$(grep -Eo '^ *[0-9]+ pending' "$log" | grep -Eo '[0-9]+' | tail -1); s=${s:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # a crash before mocha's summary (or a forbidden skip) still fails
  [ "$s" -gt 0 ] && echo "suite $name: $s skipped$($ci && echo ' — not allowed under CI')"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  [ "$f" -eq 0 ] || broken+=("$name")
  rm -f "$log"
}

if [ -n "${RUN_ALL_SUITES:-}" ]; then
  for spec in $RUN_ALL_SUITES; do suite "${spec%%=*}" "${spec#*=}"; done
else
  suite unit test/unit
  suite integration test/integration
  suite webview test/webview
  suite nat test/nat
  suite hostile test/hostile
  suite e2e test/e2e
fi

echo
[ ${#broken[@]} -eq 0 ] || echo "failing suites: ${broken[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
