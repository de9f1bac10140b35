#!/usr/bin/env bash
# Accuracy against k on ISOLET (issue: refit on LassoNet's top k vs random k-sets).
# Usage: benchmarks/accuracy_vs_k.sh [OUTDIR [OPTIONS...]]   (needs ../shared/data)
#   OPTIONS go to `lassonet path`, e.g. --max-epochs 30 --patience 30 (not the ones set below:
#   an option given twice is refused); sd is nan with --random-repeats 1 (no spread to show)
#   DATA=FILE replaces ../shared/data/isolet_skf.parquet (a table with a `target` column and at
#   least 100 features); LASSONET=path/to/lassonet runs another installation (default: the
#   project's .venv/bin/lassonet). The smoke test runs it on a small synthetic table.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
lassonet="${LASSONET:-$root/.venv/bin/lassonet}"
data="${DATA:-$root/../shared/data/isolet_skf.parquet}"
out="${1:-$root/benchmarks/out}"
shift || true
mkdir -p "$out"
echo "# $(date -u +%Y-%m-%d) $(nproc) cores, $("$lassonet" --version)"
cmd=("$lassonet" path "$data" --target target
     --k-grid 10,25,50,100 -o "$out/isolet_accuracy_vs_k.csv" --plot "$out/isolet_accuracy_vs_k.png"
     "$@")
echo "# ${cmd[*]}"
start=$(date +%s)
"${cmd[@]}"
echo "# wall time: $(( $(date +%s) - start )) s"
python3 - "$out/isolet_accuracy_vs_k.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"{'k':>4} {'lassonet':>9} {'lassonet_k':>10} {'refit':>7} {'random':>7} {'sd':>6} {'refit-random':>12}")
for r in rows:
    gap = float(r["refit_score"]) - float(r["random_score"])
    print(f"{r['k']:>4} {float(r['lassonet_score']):9.3f} {r['lassonet_k']:>10} "
          f"{float(r['refit_score']):7.3f} {float(r['random_score']):7.3f} "
          f"{float(r.get('random_score_sd') or 'nan'):6.3f} {gap:12.3f}")
PY
