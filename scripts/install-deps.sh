#!/usr/bin/env bash
# Installs, only when missing, the Debian packages a script of this repo needs.
#
#   bash scripts/install-deps.sh keyring   # scripts/with-keyring.sh, the tests
#   bash scripts/install-deps.sh bench     # the above + hyperfine, gh, time
#   bash scripts/install-deps.sh browser   # the OAuth interop harness (docs/oauth-interop.md)
#
# Several sets may be given. Runs as root or with password-less sudo; never
# reads stdin; runs `apt-get update` only when something must be installed.
# Also makes sure D-Bus has a machine id (bare containers lack one).
# Exits non-zero, with apt's log on stderr, when an install fails.
#
# `browser` also puts the npm packages pinned in
# tests/fixtures/oauth-interop/package-lock.json into a cache folder outside
# the repository:
#   ${MINIMAX_PORTAL_TEST_CACHE:-$HOME/.cache/minimax-portal-auth-tests}/oidc-<12 hex of the lockfile's sha256>
# (the path tests/fixtures/oauth-interop/deps.mjs looks in). A folder that is
# there is complete: the install goes to a temporary folder renamed at the end.
# NODE=/path/to/node picks the Node.js that npm runs on and that is checked
# (default: node on PATH); npm comes from PATH.
set -euo pipefail

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() { echo "usage: $0 keyring|bench|browser ..." >&2; exit 2; }
[ "$#" -gt 0 ] || usage

# A requirement is PACKAGE:COMMAND, COMMAND being a name looked up on PATH or
# an absolute path; PACKAGE: alone only checks that dpkg has the package.
# What scripts/with-keyring.sh and the tests need.
keyring_reqs=(
    gnome-keyring:gnome-keyring-daemon
    dbus:dbus-daemon dbus:dbus-run-session dbus:dbus-send
    keyutils:keyctl
    libsecret-tools:secret-tool
    openssl:openssl
    bsdutils:script
)

reqs=()
want_browser_npm=0
for set in "$@"; do
    case "$set" in
        keyring)
            reqs+=("${keyring_reqs[@]}") ;;
        bench)
            reqs+=(
                "${keyring_reqs[@]}"
                hyperfine:hyperfine
                gh:gh
                time:/usr/bin/time
            ) ;;
        browser)
            want_browser_npm=1
            reqs+=(chromium:/usr/bin/chromium) ;;
        *) usage ;;
    esac
done

have() { # COMMAND-or-PATH
    case "$1" in
        /*) [ -x "$1" ] ;;
        *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}

missing=()
for req in "${reqs[@]}"; do
    pkg="${req%%:*}" cmd="${req#*:}"
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    if [ "$status" != "installed" ] || { [ -n "$cmd" ] && ! have "$cmd"; }; then
        missing+=("$pkg")
    fi
done

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        die "need root (or password-less sudo) to run: $*"
    fi
}

if [ "${#missing[@]}" -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    log "installing: ${missing[*]}"
    apt_log="$(mktemp)"
    trap 'rm -f "$apt_log"' EXIT
    if ! as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -qq -o DPkg::Lock::Timeout=300 update </dev/null >"$apt_log" 2>&1 \
        || ! as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends \
            -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 \
            "${missing[@]}" </dev/null >>"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        die "apt-get failed"
    fi
    for req in "${reqs[@]}"; do
        cmd="${req#*:}"
        [ -z "$cmd" ] || have "$cmd" || die "'$cmd' still missing after installing ${req%%:*}"
    done
fi

if [ ! -s /etc/machine-id ] && [ ! -s /var/lib/dbus/machine-id ]; then
    log "creating a D-Bus machine id"
    as_root dbus-uuidgen --ensure
fi

# The harness's npm packages, pinned by their lockfile, into the cache.
install_interop_npm() {
    local here fixtures cache hash dest tmp node node_version
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    fixtures="$here/../tests/fixtures/oauth-interop"
    [ -f "$fixtures/package-lock.json" ] || die "missing $fixtures/package-lock.json"
    cache="${MINIMAX_PORTAL_TEST_CACHE:-$HOME/.cache/minimax-portal-auth-tests}"
    hash="$(sha256sum "$fixtures/package-lock.json" | cut -c1-12)"
    dest="$cache/oidc-$hash"

    node="${NODE:-$(command -v node || true)}"
    [ -n "$node" ] && [ -x "$node" ] || die "no Node.js: put node on PATH or set NODE=/path/to/node"
    node_version="$("$node" -p 'process.versions.node')" || die "$node does not run"
    # oidc-provider 9 runs on Node.js 20.19+ but supports only 22 LTS and later.
    "$node" -e 'const [a, b] = process.versions.node.split(".").map(Number);
        process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
        || die "Node.js $node_version at $node is too old: the harness needs 20.19 or later (22 LTS or later is what oidc-provider supports)"

    if [ -f "$dest/node_modules/oidc-provider/package.json" ] \
        && [ -f "$dest/node_modules/playwright-core/package.json" ]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || die "npm is not on PATH"
    mkdir -p "$cache"
    tmp="$(mktemp -d "$cache/.oidc-$hash.partial.XXXXXX")"
    trap 'rm -rf "$tmp"; exit 130' INT TERM
    log "installing the OAuth interop npm packages into $dest (Node.js $node_version)"
    cp "$fixtures/package.json" "$fixtures/package-lock.json" "$tmp/"
    local npm_log="$tmp/npm.log"
    # --ignore-scripts: no package runs code at install time. No browser is
    # downloaded either: playwright-core drives Debian's /usr/bin/chromium.
    if ! (cd "$tmp" && PATH="$(dirname "$node"):$PATH" timeout 600 npm ci \
            --ignore-scripts --no-audit --no-fund --loglevel=error </dev/null >"$npm_log" 2>&1); then
        cat "$npm_log" >&2
        rm -rf "$tmp"
        die "npm ci failed"
    fi
    rm -f "$npm_log"
    chmod 755 "$tmp"
    # A rename is all or nothing: a folder under its final name is complete.
    if ! mv -T "$tmp" "$dest" 2>/dev/null; then
        rm -rf "$tmp"
        [ -f "$dest/node_modules/oidc-provider/package.json" ] \
            || die "cannot move the packages into $dest"
    fi
    trap - INT TERM
}

if [ "$want_browser_npm" = 1 ]; then
    install_interop_npm
fi
