#!/usr/bin/env bash
# The whole test suite against a real Secret Service.
#
#   bash scripts/test.sh [EXTRA CARGO TEST ARGS...]
#
# 1. Installs, only when missing, the Debian packages the tests need
#    (gnome-keyring, dbus, keyutils, libsecret-tools). Runs as root or with
#    password-less sudo; needs no stdin.
# 2. Runs `cargo test --all-targets` (and the doc tests, once there is a
#    library) inside scripts/with-keyring.sh: a private D-Bus session with an
#    unlocked gnome-keyring, a kernel session keyring, and
#    MINIMAX_PORTAL_TEST_KEYRING=1.
# Exits with cargo's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- packages --
# command -> Debian package that provides it
declare -A provider=(
    [gnome-keyring-daemon]=gnome-keyring
    [dbus-daemon]=dbus
    [dbus-run-session]=dbus
    [dbus-send]=dbus
    [keyctl]=keyutils
    [secret-tool]=libsecret-tools
)
required_pkgs=(gnome-keyring dbus keyutils libsecret-tools)

missing=()
for pkg in "${required_pkgs[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = "installed" ] || missing+=("$pkg")
done
for cmd in "${!provider[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${provider[$cmd]}")
done

if [ "${#missing[@]}" -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [ "$(id -u)" -eq 0 ]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        log "error: missing packages (${missing[*]}) and no root to install them"
        exit 1
    fi
    log "installing: ${missing[*]}"
    apt_log="$(mktemp)"
    trap 'rm -f "$apt_log"' EXIT
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-y -qq -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=300 update \
            </dev/null >"$apt_log" 2>&1 \
        || ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" \
            --no-install-recommends "${missing[@]}" </dev/null >>"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        log "error: apt-get failed"
        exit 1
    fi
    rm -f "$apt_log"
    trap - EXIT
    for cmd in "${!provider[@]}"; do
        command -v "$cmd" >/dev/null 2>&1 || { log "error: '$cmd' still missing after install"; exit 1; }
    done
fi

# D-Bus refuses to start without a machine id (bare containers lack one).
if [ ! -s /etc/machine-id ] && [ ! -s /var/lib/dbus/machine-id ]; then
    log "creating a D-Bus machine id"
    if [ "$(id -u)" -eq 0 ]; then dbus-uuidgen --ensure; else sudo -n dbus-uuidgen --ensure; fi
fi

# ------------------------------------------------------------------- tests --
export MINIMAX_PORTAL_TEST_KEYRING=1
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-8}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Doc tests exist only for a library target; --all-targets skips them.
run_doc_tests=0
if [ -f src/lib.rs ] || grep -q '^\[lib\]' Cargo.toml; then
    run_doc_tests=1
fi

# One keyring session for the whole run; the first failure stops it and its
# exit code is the script's.
exec bash scripts/with-keyring.sh bash -c '
    set -euo pipefail
    cargo test --all-targets "$@"
    if [ "'"$run_doc_tests"'" = 1 ]; then
        cargo test --doc "$@"
    fi
' cargo-tests "$@"
