#!/usr/bin/env bash
# Checks, from this Linux machine, that the crate builds for the systems
# OpenClaw's users run, and builds the Windows .exe that tests/it/windows.rs
# runs under Wine.
#
#   bash scripts/cross-check.sh
#
# 1. Installs, only when missing, what it needs (scripts/install-deps.sh
#    cross): the Rust targets, Debian's mingw-w64 and wine, and zig.
# 2. macOS (aarch64-apple-darwin, x86_64-apple-darwin): `cargo check` and
#    `cargo clippy --all-targets -- -D warnings`. ring's C code is compiled
#    by `zig cc` (through a small wrapper that turns the flags cc-rs gives
#    Apple's clang into zig's); checking links nothing, so no macOS SDK or
#    linker is needed. Nothing for macOS is linked or run.
# 3. Windows (x86_64-pc-windows-gnu): `cargo clippy --all-targets -- -D
#    warnings` and `cargo build` with mingw-w64; the .exe is linked.
#
# Builds go to a target folder in the test cache outside the clone, so that
# CI on a fresh clone reuses it:
#   ${MINIMAX_PORTAL_TEST_CACHE:-$HOME/.cache/minimax-portal-auth-tests}/cross-target
# Every cargo call is bounded in time. Prints on stdout
#   WINDOWS_EXE=<path of the debug .exe>
# and on stderr how long each step took. Exits non-zero at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'cross-check: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A cold build of one target's dependencies takes about 3 minutes on 2
# shared cores; a step that takes this long has hung.
STEP_TIMEOUT=1500

cache="${MINIMAX_PORTAL_TEST_CACHE:-$HOME/.cache/minimax-portal-auth-tests}"
deps="$(bash scripts/install-deps.sh cross)"
zig="$(printf '%s\n' "$deps" | sed -n 's/^ZIG=//p')"
[ -n "$zig" ] && [ -x "$zig" ] || die "install-deps printed no zig"

export CARGO_TARGET_DIR="$cache/cross-target"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CARGO_TARGET_DIR/zig-cc" "$cache/zig-cache"

# cc-rs calls the C compiler for an Apple target as Apple's clang, with
# `-arch arm64`, `--target=arm64-apple-macosx` and `-mmacosx-version-min=`;
# zig takes the target as `-target aarch64-macos` and refuses the rest.
zig_cc_wrapper() { # RUST-TRIPLE ZIG-TARGET -> prints the wrapper's path
    local path="$CARGO_TARGET_DIR/zig-cc/cc-$1" text
    text="$(cat <<EOF
#!/usr/bin/env bash
# zig cc for $1; written by scripts/cross-check.sh.
args=()
skip_next=0
for arg in "\$@"; do
    if [ "\$skip_next" = 1 ]; then skip_next=0; continue; fi
    case "\$arg" in
        -arch) skip_next=1 ;;
        --target=*|-mmacosx-version-min=*) ;;
        *) args+=("\$arg") ;;
    esac
done
export ZIG_GLOBAL_CACHE_DIR=$(printf '%q' "$cache/zig-cache")
export ZIG_LOCAL_CACHE_DIR=$(printf '%q' "$cache/zig-cache")
exec $(printf '%q' "$zig") cc -target $2 "\${args[@]}"
EOF
)"
    # Rewritten only when it changes (cargo does not look at its content).
    if [ ! -x "$path" ] || [ "$(cat "$path")" != "$text" ]; then
        printf '%s\n' "$text" >"$path.tmp"
        chmod 755 "$path.tmp"
        mv -f "$path.tmp" "$path"
    fi
    printf '%s\n' "$path"
}

step() { # NAME COMMAND... : runs it bounded in time, says how long it took
    local name="$1" t0 status=0
    shift
    t0="$(date +%s)"
    log "$name"
    timeout --kill-after=10 "$STEP_TIMEOUT" "$@" </dev/null >&2 || status=$?
    if [ "$status" -eq 124 ]; then
        die "$name took over $STEP_TIMEOUT s"
    elif [ "$status" -ne 0 ]; then
        die "$name failed (exit $status)"
    fi
    log "$name: done in $(( $(date +%s) - t0 )) s"
}

t_all="$(date +%s)"
CC_aarch64_apple_darwin="$(zig_cc_wrapper aarch64-apple-darwin aarch64-macos)"
CC_x86_64_apple_darwin="$(zig_cc_wrapper x86_64-apple-darwin x86_64-macos)"
export CC_aarch64_apple_darwin CC_x86_64_apple_darwin

for target in aarch64-apple-darwin x86_64-apple-darwin; do
    step "cargo check --target $target" cargo check --quiet --locked --target "$target"
    step "cargo clippy --target $target" \
        cargo clippy --quiet --locked --target "$target" --all-targets -- -D warnings
done

windows=x86_64-pc-windows-gnu
step "cargo clippy --target $windows" \
    cargo clippy --quiet --locked --target "$windows" --all-targets -- -D warnings
step "cargo build --target $windows" cargo build --quiet --locked --target "$windows"

exe="$CARGO_TARGET_DIR/$windows/debug/minimax-portal-auth.exe"
[ -f "$exe" ] || die "cargo built no $exe"
log "all checks passed in $(( $(date +%s) - t_all )) s"
printf 'WINDOWS_EXE=%q\n' "$exe"
