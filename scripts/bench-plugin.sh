#!/usr/bin/env bash
# What the OpenClaw plugin adds to one turn (warm cache and cold), beside
# the exec route's `token --profile default`.
#
#   bash scripts/bench-plugin.sh
#
# 1. Installs what is missing: Node 24 (scripts/install-deps.sh openclaw,
#    the Node the OpenClaw tests use) and what scripts/with-keyring.sh
#    needs; then `cargo build --release`.
# 2. Runs scripts/bench-plugin.mjs (what it times and how: see its header)
#    under scripts/with-keyring.sh, so the Secret Service is timed too; on
#    the file store alone when the keyring tools cannot be installed or
#    BENCH_NO_KEYRING=1.
#
# Results go to $CARGO_TARGET_DIR/bench/ (target/bench/): plugin.md (the
# table, also printed) and plugin.json (all statistics).
#
# Exit code: 0 when it ran (this is a measurement, not a test); non-zero
# when a path failed or handed out another token than the seeded one.
#
# Tuning (environment): BENCH_SKIP_BUILD=1 (use the existing release
# binary), BENCH_NO_KEYRING=1, and bench-plugin.mjs's BENCH_WARM_CALLS,
# BENCH_WARM_TURNS, BENCH_COLD_RUNS, BENCH_COLD_WARMUP.
set -euo pipefail

log() { printf 'bench-plugin: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cd "$(dirname "$0")/.."

keyring=1
[ "${BENCH_NO_KEYRING:-}" != 1 ] || keyring=0
if [ "$keyring" -eq 1 ] && ! bash scripts/install-deps.sh keyring; then
    log "note: the keyring tools are missing; timing the file store only"
    keyring=0
fi
# Prints OPENCLAW_NODE=... among other NAME=VALUE lines (shell-quoted).
oc_env="$(bash scripts/install-deps.sh openclaw)" || die "could not install Node"
eval "$oc_env"
[ -x "${OPENCLAW_NODE:-}" ] || die "scripts/install-deps.sh openclaw printed no OPENCLAW_NODE"

if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
    log "cargo build --release"
    cargo build --release
fi
target_dir="$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')" || true
[ -n "$target_dir" ] || target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
bin="$target_dir/release/minimax-portal-auth"
[ -x "$bin" ] || die "no release binary at $bin"

run=("$OPENCLAW_NODE" scripts/bench-plugin.mjs --bin "$bin" --out "$target_dir/bench")
if [ "$keyring" -eq 1 ]; then
    exec bash scripts/with-keyring.sh "${run[@]}"
fi
exec "${run[@]}"
