#!/usr/bin/env bash
# Start-up time of the CLI: `lassonet --help` and `lassonet select --help`, best of 5 runs each.
# Usage: benchmarks/startup.sh   (from anywhere; uses the project's .venv)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
echo "# $(date -u +%Y-%m-%d) $(nproc) cores"
for args in "--help" "select --help" "path --help"; do
    best=""
    for _ in 1 2 3 4 5; do
        start=$(date +%s.%N)
        # shellcheck disable=SC2086
        "$root/.venv/bin/lassonet" $args > /dev/null
        t=$(echo "$(date +%s.%N) - $start" | bc)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
    done
    printf 'lassonet %-14s %.3f s\n' "$args" "$best"
done
