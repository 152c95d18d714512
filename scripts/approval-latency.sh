#!/usr/bin/env bash
# How long after approving the code does `login` say "Signed in"? Runs the
# ignored measurement in tests/it/latency.rs against the local portal with
# its poll interval at 1 s and at 3 s, approving at moments spread over two
# poll periods, and prints one line per interval.
#
#   bash scripts/approval-latency.sh [ROUNDS]     # default 8 per interval
set -euo pipefail
cd "$(dirname "$0")/.."
LATENCY_ROUNDS="${1:-8}" cargo test --quiet --test it latency:: -- --ignored --nocapture 2>&1 \
    | grep -E '^approval to signed in|panicked|error' || { echo "approval-latency: the measurement failed" >&2; exit 1; }
