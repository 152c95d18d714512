#!/usr/bin/env bash
# Prints where `bash scripts/install-deps.sh openclaw` put Node and OpenClaw,
# as NAME=VALUE lines a shell can eval and a test can parse:
#
#   OPENCLAW_NODE     the pinned Node 24 binary
#   OPENCLAW_ENTRY    OpenClaw's entry point: "$OPENCLAW_NODE" "$OPENCLAW_ENTRY" ARGS...
#   OPENCLAW_BIN      a wrapper script doing the same (that Node first on PATH)
#   OPENCLAW_VERSION  the pinned OpenClaw version
#
# Installs nothing and never touches the network: exits 1, saying how to
# install, when something is missing. The cache folder is
# ${MINIMAX_PORTAL_TEST_CACHE:-$HOME/.cache/minimax-portal-auth-tests}.
# scripts/install-deps.sh sources this file for the versions and paths.

OPENCLAW_VERSION=2026.9.6
# OpenClaw 2026.9.6 needs Node >= 24.16 and < 25 (or >= 26.1).
OPENCLAW_NODE_VERSION=24.21.0

# Sets oc_cache, oc_node_dir, oc_dir.
oc_paths() {
    if [ -n "${MINIMAX_PORTAL_TEST_CACHE:-}" ]; then
        oc_cache="$MINIMAX_PORTAL_TEST_CACHE"
    else
        local home="${HOME:-}"
        [ -n "$home" ] || home="$(getent passwd "$(id -u)" | cut -d: -f6)"
        if [ -z "$home" ]; then
            echo "openclaw-env: no HOME: set HOME or MINIMAX_PORTAL_TEST_CACHE" >&2
            return 1
        fi
        oc_cache="$home/.cache/minimax-portal-auth-tests"
    fi
    case "$oc_cache" in /*) ;; *) oc_cache="$PWD/$oc_cache" ;; esac
    oc_node_dir="$oc_cache/node-$OPENCLAW_NODE_VERSION"
    oc_dir="$oc_cache/openclaw-$OPENCLAW_VERSION"
}

# A folder is complete when it carries its stamp, written just before the
# temporary folder it was built in was renamed into place.
oc_node_ready() { [ -f "$oc_node_dir/.installed" ] && [ -x "$oc_node_dir/bin/node" ]; }
oc_openclaw_ready() {
    [ -f "$oc_dir/.installed" ] && [ -f "$oc_dir/node_modules/openclaw/openclaw.mjs" ] &&
        [ -x "$oc_dir/bin/openclaw" ]
}

oc_print_env() {
    printf 'OPENCLAW_NODE=%q\n' "$oc_node_dir/bin/node"
    printf 'OPENCLAW_ENTRY=%q\n' "$oc_dir/node_modules/openclaw/openclaw.mjs"
    printf 'OPENCLAW_BIN=%q\n' "$oc_dir/bin/openclaw"
    printf 'OPENCLAW_VERSION=%q\n' "$OPENCLAW_VERSION"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    oc_paths
    if ! oc_node_ready || ! oc_openclaw_ready; then
        echo "openclaw-env: OpenClaw $OPENCLAW_VERSION is not installed in $oc_cache;" \
            "run: bash scripts/install-deps.sh openclaw" >&2
        exit 1
    fi
    oc_print_env
fi
