#!/usr/bin/env bash
# `lassonet path` with a conv backbone on COIL-20: test accuracy against the number of conv1
# filters kept, refit on LassoNet's top filters against refits on random filters (issue 19).
# Usage: benchmarks/conv_path_coil20.sh [OUTDIR [OPTIONS...]]   (needs ../shared/data)
#   OPTIONS go to `lassonet path` (not the ones set below: an option given twice is refused)
#   DATA=FILE replaces ../shared/data/coil20.parquet (pixel columns then `target`) and SHAPE its
#   CxHxW (default 1x32x32); BACKBONE (default conv:16,32) and GRID (default 1,2,4,8) the
#   network and the filter counts, REPEATS (default 3) the random sets per k and LAMBDA_START
#   (default 1) the path's first lambda; LASSONET=path/to/lassonet runs another installation (default:
#   the project's .venv/bin/lassonet).  The smoke test runs it on tests/data/bars_8x8.csv.
# --lambda-start 1 --path-multiplier 1.1 as in docs/images.md (the automatic start climbs for
# minutes from the saturated dense model); --M defaults to 0.1 with a conv backbone.  The grid
# stops at 8 of the 16 filters: at 16 every "random" set is the whole of conv1, and those refits
# are the dearest (a run with 16 in the grid was stopped on 2 loaded cores for want of time).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
lassonet="${LASSONET:-$root/.venv/bin/lassonet}"
data="${DATA:-$root/../shared/data/coil20.parquet}"
out="${1:-$root/benchmarks/out}"
shift || true
mkdir -p "$out"
echo "# $(date -u +%Y-%m-%d) $(nproc) cores, lassonet $("$lassonet" --version)," \
     "commit $(git -C "$root" rev-parse --short HEAD)"
cmd=("$lassonet" path "$data" --target target --backbone "${BACKBONE:-conv:16,32}"
     --image-shape "${SHAPE:-1x32x32}" --k-grid "${GRID:-1,2,4,8}"
     --lambda-start "${LAMBDA_START:-1}" --path-multiplier 1.1
     --random-repeats "${REPEATS:-3}" --threads 1
     -o "$out/coil20_conv_path.csv" --plot "$out/coil20_conv_path.png" "$@")
echo "# ${cmd[*]}"
start=$(date +%s)
"${cmd[@]}"
echo "# wall time: $(( $(date +%s) - start )) s"
python3 - "$out/coil20_conv_path.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"{'k':>3} {'lassonet':>9} {'lassonet_k':>10} {'refit':>7} {'random':>7} {'sd':>6} "
      f"{'refit-random':>12}  filters")
for r in rows:
    gap = float(r["refit_score"]) - float(r["random_score"])
    print(f"{r['k']:>3} {float(r['lassonet_score']):9.3f} {r['lassonet_k']:>10} "
          f"{float(r['refit_score']):7.3f} {float(r['random_score']):7.3f} "
          f"{float(r.get('random_score_sd') or 'nan'):6.3f} {gap:12.3f}  {r['features']}")
PY
