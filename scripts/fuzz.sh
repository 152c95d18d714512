#!/usr/bin/env bash
# Runs the fuzz targets in fuzz/ (cargo-fuzz, libFuzzer) and prints, per
# target, the figures README's reliability section quotes.
#
#   bash scripts/fuzz.sh                  # every target, 10,000,000 runs each
#   bash scripts/fuzz.sh 100000 env_quote # RUNS, then some targets
#   bash scripts/fuzz.sh --ci             # CI: each target for 10 s, on a
#                                         # copy of the corpus; skipped, with
#                                         # a line saying so, without nightly
#                                         # or cargo-fuzz
#   bash scripts/fuzz.sh --cmin [TARGET]  # minimise the committed corpora
#
# One target at a time, one process (one core). Each full run grows the
# corpus in fuzz/corpus/TARGET; `--cmin` then keeps the inputs that reach
# a coverage edge no other reaches (the committed corpora are that). Needs the nightly toolchain and `cargo install cargo-fuzz`.
# The targets are built without a sanitizer (-s none): the code is safe
# Rust, and the figure that matters is the number of inputs tried.
# Exits non-zero when a target crashes, times out or leaks a planted secret
# (the input is saved under fuzz/artifacts/TARGET/).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

log() { printf 'fuzz.sh: %s\n' "$*" >&2; }

mode=full runs=10000000
case "${1:-}" in
    --ci) mode=ci; shift ;;
    --cmin) mode=cmin; shift ;;
    [0-9]*) runs="$1"; shift ;;
esac

if ! rustup run nightly rustc --version >/dev/null 2>&1 || ! cargo fuzz --version >/dev/null 2>&1; then
    if [ "$mode" = ci ]; then
        echo "fuzz: skipped: needs the nightly toolchain and cargo-fuzz (rustup toolchain install nightly; cargo install cargo-fuzz)"
        exit 0
    fi
    log "needs the nightly toolchain and cargo-fuzz (rustup toolchain install nightly; cargo install cargo-fuzz)"
    exit 1
fi

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

# The fuzz build is long (a release build of the whole crate on nightly);
# CI works on a fresh clone each time, so it builds into the test cache
# outside the clone, as scripts/cross-check.sh does (and so do full runs,
# which then need no second build).
build_dir=(--target-dir "${MINIMAX_PORTAL_TEST_CACHE:-$HOME/.cache/minimax-portal-auth-tests}/fuzz-target")

cargo +nightly fuzz build -s none "${build_dir[@]}" >&2

if [ "$mode" = cmin ]; then
    for t in "${targets[@]}"; do
        # Edges only (no hit counts): the corpus stays small and keeps
        # every edge the runs reached.
        cargo +nightly fuzz cmin -s none "$t" "corpus/$t" -- -use_counters=0 >&2
    done
    exit 0
fi

status=0
printf '%-17s %12s %8s %9s %6s %6s %8s\n' target executions crashes timeouts cov ft seconds
for t in "${targets[@]}"; do
    out="$(mktemp)"
    if [ "$mode" = ci ]; then
        corpus="$(mktemp -d)"
        cp -r "corpus/$t/." "$corpus/"
        limits=(-max_total_time=10)
    else
        corpus="corpus/$t"
        mkdir -p "$corpus"
        limits=(-runs="$runs")
    fi
    code=0
    cargo +nightly fuzz run -s none "${build_dir[@]}" "$t" "$corpus" -- \
        "${limits[@]}" -timeout=10 -max_len=4096 -print_final_stats=1 \
        >"$out" 2>&1 || code=$?
    [ "$mode" = ci ] && rm -rf "$corpus"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)"
    secs="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$out" | tail -1)"
    last="$(grep -E '^#[0-9]+' "$out" | tail -1)"
    cov="$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' <<<"$last")"
    ft="$(sed -n 's/.* ft: \([0-9]*\) .*/\1/p' <<<"$last")"
    crashes=0 timeouts=0
    if grep -q 'ALARM: working on the last Unit' "$out"; then timeouts=1; fi
    if [ "$code" -ne 0 ] && [ "$timeouts" -eq 0 ]; then crashes=1; fi
    printf '%-17s %12s %8s %9s %6s %6s %8s\n' "$t" "${execs:-?}" "$crashes" "$timeouts" \
        "${cov:-?}" "${ft:-?}" "${secs:-?}"
    if [ "$code" -ne 0 ]; then
        status=1
        log "$t failed (exit $code); its log:"
        tail -40 "$out" >&2
    fi
    rm -f "$out"
done
exit "$status"
