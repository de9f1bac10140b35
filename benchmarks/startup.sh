#!/usr/bin/env bash
# Start-up time of the CLI: `lassonet --help` and `lassonet select --help`, best of 5 runs each.
# Usage: benchmarks/startup.sh [RUNS]   (from anywhere; uses the project's .venv)
#   RUNS: runs per command, the best one printed (default 5); LASSONET=path/to/lassonet runs
#   another installation (default: the project's .venv/bin/lassonet). The smoke test runs 1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-5}"
lassonet="${LASSONET:-$root/.venv/bin/lassonet}"
echo "# $(date -u +%Y-%m-%d) $(nproc) cores"
for args in "--help" "select --help" "path --help"; do
    best=""
    for _ in $(seq "$runs"); do
        start=$(date +%s%N)
        # shellcheck disable=SC2086
        "$lassonet" $args > /dev/null
        t=$(( $(date +%s%N) - start ))  # nanoseconds
        if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
    done
    printf 'lassonet %-14s %d.%03d s\n' "$args" $(( best / 1000000000 )) \
        $(( best / 1000000 % 1000 ))
done
