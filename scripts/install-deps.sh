#!/usr/bin/env bash
# Installs, only when missing, the Debian packages a script of this repo needs.
#
#   bash scripts/install-deps.sh keyring   # scripts/with-keyring.sh, the tests
#   bash scripts/install-deps.sh bench     # the above + hyperfine, gh, time
#
# Several sets may be given. Runs as root or with password-less sudo; never
# reads stdin; runs `apt-get update` only when something must be installed.
# Also makes sure D-Bus has a machine id (bare containers lack one).
# Exits non-zero, with apt's log on stderr, when an install fails.
set -euo pipefail

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$#" -gt 0 ] || { echo "usage: $0 keyring|bench ..." >&2; exit 2; }

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
        *) echo "usage: $0 keyring|bench ..." >&2; exit 2 ;;
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
