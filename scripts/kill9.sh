#!/usr/bin/env bash
# The kill -9 figure: how many sessions a `kill -9` at a random moment of a
# refresh loses, against a local portal whose refresh tokens rotate and die
# on first use.
#
#   bash scripts/kill9.sh [ROUNDS]     # default 200
#
# Each round starts `refresh --force`, kills it with SIGKILL after a random
# delay within the length of one refresh, then checks that the next
# `refresh --force` still works. Prints one line:
#   kill -9: R rounds, H kills hit a running refresh, L sessions lost
set -euo pipefail
cd "$(dirname "$0")/.."
KILL9_ROUNDS="${1:-200}" cargo test --quiet --test it kill9:: -- --ignored --nocapture 2>&1 \
    | grep -E '^kill -9:|panicked|error' || { echo "kill9: the measurement failed" >&2; exit 1; }
