#!/usr/bin/env bash
# The whole test suite against a real Secret Service.
#
#   bash scripts/test.sh [EXTRA CARGO TEST ARGS...]
#
# 1. Installs, only when missing, what the tests need: the Debian packages
#    (gnome-keyring, dbus, keyutils, libsecret-tools, openssl, script, zsh, fish,
#    chromium) and, into a cache outside the repository, Node 24 and OpenClaw
#    from the npm registry and the OAuth interop harness's npm packages
#    (scripts/install-deps.sh; docs/oauth-interop.md). Runs as root or with
#    password-less sudo; needs no stdin.
# 2. Checks macOS (both architectures) and builds Windows from here
#    (scripts/cross-check.sh, which installs mingw-w64, wine and zig only
#    when missing); tests/it/windows.rs runs that .exe under Wine.
# 3. Runs `cargo test --all-targets` (which also builds the reference host
#    tests/it/host_cycle.rs runs, src/bin/host.rs) and the doc tests,
#    once there is a library, inside scripts/with-keyring.sh: a private D-Bus
#    session with an unlocked gnome-keyring, a kernel session keyring, and
#    MINIMAX_PORTAL_TEST_KEYRING=1.
# 3. Runs each fuzz target in fuzz/ for 10 s (scripts/fuzz.sh --ci), or
#    says it is skipped where nightly or cargo-fuzz is missing.
# Exits with cargo's exit code (or the fuzzing's, when cargo passed).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- packages --
# gnome-keyring, dbus, keyutils, libsecret-tools, openssl (a TLS test server),
# script (a pty), pgrep, chromium, fish and zsh, only when missing; a D-Bus machine id,
# which bare containers lack; Node 24, OpenClaw and the OAuth interop
# packages (oidc-provider, playwright-core) in the cache.
deps="$(bash scripts/install-deps.sh keyring openclaw browser shells)"
printed() { printf '%s\n' "$deps" | sed -n "s/^$1=//p"; }
# The OpenClaw tests run the command the install printed; the browser
# interop tests run Node with the packages in the folder it printed.
MINIMAX_PORTAL_TEST_OPENCLAW="$(printed OPENCLAW_BIN)"
MINIMAX_PORTAL_TEST_NODE="$(printed OAUTH_INTEROP_NODE)"
MINIMAX_PORTAL_TEST_OAUTH_INTEROP="$(printed OAUTH_INTEROP_DEPS)"
export MINIMAX_PORTAL_TEST_OPENCLAW MINIMAX_PORTAL_TEST_NODE MINIMAX_PORTAL_TEST_OAUTH_INTEROP

# ----------------------------------------------------------- other systems --
# cargo check and clippy for macOS, clippy and a build for Windows, in a
# target folder in the cache; the .exe is what tests/it/windows.rs runs.
cross="$(bash scripts/cross-check.sh)"
MINIMAX_PORTAL_TEST_WINDOWS_EXE="$(printf '%s\n' "$cross" | sed -n 's/^WINDOWS_EXE=//p')"
export MINIMAX_PORTAL_TEST_WINDOWS_EXE

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
# exit code is the script's. The output is also kept so that the run can
# end with one line that says how it went.
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
status=0
bash scripts/with-keyring.sh bash -c '
    set -euo pipefail
    cargo test --all-targets "$@"
    if [ "'"$run_doc_tests"'" = 1 ]; then
        cargo test --doc "$@"
    fi
' cargo-tests "$@" 2>&1 | tee "$results" || status=$?

# Each fuzz target for a short bounded time (10 s) on a copy of its corpus,
# when nightly and cargo-fuzz are here; otherwise one line says it is
# skipped (scripts/fuzz.sh; the full figures are README's).
if [ "$status" -eq 0 ]; then
    bash scripts/fuzz.sh --ci 2>&1 | tee -a "$results" || status=$?
fi

read -r passed failed < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$results")
echo
if [ "$status" -eq 0 ]; then
    echo "All tests passed against the real Secret Service:"
else
    echo "The test run FAILED (exit $status); the first failure is reported above:"
fi
echo "$passed passed, $failed failed"
exit "$status"
