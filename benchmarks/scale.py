"""Scale benchmark: ``lassonet select`` on a tall table (minibatches) and on a wide one.

Writes two synthetic Parquet tables and runs the installed ``lassonet`` command on each in a
subprocess, so that the figures are what a user gets (reading, encoding, the path, writing):

* tall: 1,000,000 rows x 100 float32 features, 10 of them informative through a nonlinear
  function (sines, products, squares, a threshold), the rest noise; regression target.
  Targets (issue 5): the whole run within 15 minutes on 2 cores, peak resident memory at most
  2.5 x the float32 size of the features + 1 GB, the 10 informative features ranked on top.
* wide: 200 rows x 20,000 features (gene-expression-like: a few informative columns among
  many noise columns), classification.  Target: within 2 minutes.

Reported per case: wall time, peak resident memory of the ``lassonet`` process (getrusage of
the child), path points, total epochs (path + relaxed fits), rows x epochs per second, and how
many informative features are in the top 10 (for the wide table also for the other rankers of
``compare_rankers.py``, given every row).  Usage::

    .venv/bin/python benchmarks/scale.py               # both cases
    .venv/bin/python benchmarks/scale.py --case wide   # one of them
    .venv/bin/python benchmarks/scale.py --rows 100000 # a smaller tall table, for a quick look

``--wide-features N`` narrows the wide table (default 20,000) and ``--threads N`` sets the
child's threads (default 2); the smoke test runs ``--rows 1000`` and ``--wide-features 200``
with ``--threads 1`` (the targets quoted above are for the defaults).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
LASSONET = Path(sys.executable).with_name("lassonet")
INFORMATIVE = 10


def tall_table(path: Path, rows: int, features: int, seed: int = 0) -> list[str]:
    """Write the tall regression table; return the informative columns' names."""
    rng = np.random.default_rng(seed)
    names = [f"x{j:03d}" for j in range(features)]
    X = rng.standard_normal((rows, features), dtype=np.float32)
    x = X[:, :INFORMATIVE].astype(np.float64)
    y = (np.sin(2 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.5 * x[:, 3] ** 2 + np.abs(x[:, 4])
         + np.tanh(2 * x[:, 5]) * x[:, 6] + (x[:, 7] > 0.5) + 0.7 * x[:, 8] - 0.7 * x[:, 9]
         + 0.3 * rng.standard_normal(rows))
    columns = {name: X[:, j] for j, name in enumerate(names)}
    columns["y"] = y.astype(np.float32)
    pq.write_table(pa.table(columns), path)
    return names[:INFORMATIVE]


def wide_table(path: Path, rows: int, features: int, seed: int = 0) -> list[str]:
    """Write the wide classification table (log-normal 'expression' values)."""
    rng = np.random.default_rng(seed)
    names = [f"g{j:05d}" for j in range(features)]
    X = rng.standard_normal((rows, features), dtype=np.float32)
    informative = rng.choice(features, INFORMATIVE, replace=False)
    signal = X[:, informative[:5]].sum(axis=1) + (X[:, informative[5:]] ** 2).sum(axis=1) - 5
    y = (signal + 0.5 * rng.standard_normal(rows) > 0).astype(np.int64)
    expression = np.exp(X)  # positive, skewed, as expression values are
    frame = pd.DataFrame(expression, columns=names)
    frame["label"] = np.where(y == 1, "tumour", "normal")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return [names[j] for j in informative]


def run_select(table: Path, target: str, out: Path, extra: list[str], threads: int = 2) -> dict:
    """Run ``lassonet select`` in a child process; time it and read its peak memory."""
    ranking, path_table = out / "ranking.csv", out / "path.csv"
    command = [str(LASSONET), "select", str(table), "--target", target, "-o", str(ranking),
               "--path-out", str(path_table), "--threads", str(threads), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"lassonet failed ({proc.returncode}):\n{proc.stderr}")
    if peak_kib <= before:
        print("note: the peak memory figure may belong to an earlier child", file=sys.stderr)
    return {
        "command": " ".join(command),
        "wall_s": wall,
        "peak_gib": peak_kib / 2**20,
        "ranking": pd.read_csv(ranking),
        "path": pd.read_csv(path_table, keep_default_na=False),
        "stderr": proc.stderr.strip(),
    }


def report(name: str, result: dict, informative: list[str], n_train: int, data_gib: float,
           limit_s: float, memory_limit_gib: float | None) -> None:
    path = result["path"]
    epochs = int(path["epochs"].sum() + path["relax_epochs"].sum())
    top = list(result["ranking"]["feature"].head(INFORMATIVE))
    found = len(set(top) & set(informative))
    print(f"== {name} ==")
    print(f"command: {result['command']}")
    print(result["stderr"])
    print(f"wall time            {result['wall_s']:8.1f} s   (target <= {limit_s:.0f} s: "
          f"{'met' if result['wall_s'] <= limit_s else 'MISSED'})")
    line = f"peak resident memory {result['peak_gib']:8.2f} GiB"
    if memory_limit_gib is not None:
        line += (f" (data {data_gib:.2f} GiB; target <= 2.5 x data + 1 GiB = "
                 f"{memory_limit_gib:.2f} GiB: "
                 f"{'met' if result['peak_gib'] <= memory_limit_gib else 'MISSED'})")
    print(line)
    print(f"path points {len(path)}, epochs {epochs} (path {int(path['epochs'].sum())}, "
          f"relaxed fits {int(path['relax_epochs'].sum())})")
    print(f"rows x epochs per second {n_train * epochs / result['wall_s']:,.0f}")
    print(f"informative features in the top {INFORMATIVE}: {found} of {INFORMATIVE}")
    print()


def baseline_hits(table: Path, target: str, informative: list[str]) -> dict[str, int]:
    """How many informative columns each of ``compare_rankers``' other rankers puts in its top
    ``INFORMATIVE``, given every row of the table (the selector trains on 90% of them)."""
    sys.path.insert(0, str(HERE))
    import compare_rankers as rk  # scikit-learn: only for this report
    import compare_reference as cr

    frame = pd.read_parquet(table)
    y = frame.pop(target).to_numpy()
    Z = frame.to_numpy(np.float64)
    Z = ((Z - Z.mean(axis=0)) / Z.std(axis=0)).astype(np.float32)
    split = cr.Split("wide", "classification", list(frame.columns), frame, frame, y, y, Z, Z)
    hits = {}
    for name, rank in rk.RANKERS.items():
        if name != "lassonet":
            top = {split.columns[j] for j in rank(split, 0)[:INFORMATIVE]}
            hits[name] = len(top & set(informative))
    return hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["tall", "wide", "both"], default="both")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the tall table")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the tables and outputs here instead of a temporary folder")
    parser.add_argument("--extra", default="", help="more options for lassonet select")
    parser.add_argument("--wide-features", type=int, default=20_000,
                        help="columns of the wide table (default 20,000)")
    parser.add_argument("--threads", type=int, default=2,
                        help="lassonet select --threads (default 2)")
    args = parser.parse_args(argv)
    if not LASSONET.exists():
        raise SystemExit(f"{LASSONET} not found: run from the project's venv")

    print(f"date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"nproc: {os.cpu_count()}   python: {sys.executable}")
    print()
    work = Path(tempfile.mkdtemp(prefix="lassonet-scale-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    extra = args.extra.split()
    try:
        if args.case in ("tall", "both"):
            table, out = work / "tall.parquet", work / "tall"
            out.mkdir(exist_ok=True)
            informative = tall_table(table, args.rows, 100)
            data_gib = args.rows * 100 * 4 / 2**30
            result = run_select(table, "y", out, extra, args.threads)
            report(f"tall: {args.rows:,} rows x 100 features, minibatches", result, informative,
                   int(args.rows * 0.9), data_gib, 15 * 60, 2.5 * data_gib + 1)
        if args.case in ("wide", "both"):
            table, out = work / "wide.parquet", work / "wide"
            out.mkdir(exist_ok=True)
            informative = wide_table(table, 200, args.wide_features)
            result = run_select(table, "label", out, extra, args.threads)
            report(f"wide: 200 rows x {args.wide_features:,} features", result, informative, 180,
                   200 * args.wide_features * 4 / 2**30, 120, None)
            print(f"the other rankers of compare_rankers.py (all 200 rows): informative "
                  f"features in their top {INFORMATIVE}")
            for name, hits in baseline_hits(table, "label", informative).items():
                print(f"  {name:15s} {hits} of {INFORMATIVE}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
