"""Which columns the dense fit favours on a wide table: Adam against SGD (``dense_optimizer``).

On a table with more columns than training rows the dense model interpolates its rows, and the
optimiser decides which interpolant it reaches; its skip norms then order the path's first mass
exits.  For one split of a table (default: arcene, seed 0, the split ``benchmarks/wide.py``
uses) this fits ``LassoNetSelector`` twice, its dense fit forced to Adam and to SGD, and prints
for the columns each one favours the median |correlation| with the target and the median excess
kurtosis (sparse, spiky columns have a large one):

* the dense model's 50 largest skip norms,
* the 50 largest norms at the first point with at most as many columns alive as training rows
  (after the first mass exit),
* the top 20 of the final ranking,

and, for comparison, the top 20 of ANOVA F, random-forest importance and the L1 path, and all
columns.  Statistics are taken on the standardised training rows; the target is the class
code (two classes) or the value.  Usage::

    .venv/bin/python benchmarks/wide_dense_fit.py      # about a minute on 2 cores

``--table`` also takes ``wide.py``'s synthetic tables (150 x 2000, ``--synthetic-d`` columns);
the smoke test runs ``--table linear_c --synthetic-d 200``, without ``../shared``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness  # noqa: E402
import compare_reference as cr  # noqa: E402
import wide  # noqa: E402
from _run_header import print_run_header  # noqa: E402

from lassonet_cli import LassoNetSelector  # noqa: E402
from lassonet_cli import path as path_module  # noqa: E402

CLASSICAL = ("anova_f", "random_forest", "l1_path")


def column_stats(Z: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(|correlation with target|, excess kurtosis) of every column of ``Z``; 0 where constant."""
    Zc = Z - Z.mean(axis=0)
    t = target - target.mean()
    var = (Zc**2).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.abs(Zc.T @ t) / (len(t) * np.sqrt(var) * t.std())
        kurt = (Zc**4).mean(axis=0) / var**2 - 3.0
    return np.nan_to_num(corr), np.nan_to_num(kurt)


def summary(label: str, columns: np.ndarray, corr: np.ndarray, kurt: np.ndarray) -> str:
    return (f"{label:44s} {len(columns):5d}  {np.median(corr[columns]):6.2f}  "
            f"{np.median(kurt[columns]):8.1f}")


def fit_with(optimizer: str, split: cr.Split, seed: int) -> tuple[LassoNetSelector, float]:
    """The selector fitted with its dense fit forced to ``optimizer``, and the seconds."""
    # ``training.dense_optimizer``, replaced where the driver (``lassonet_cli.path``) looks it up
    chosen = path_module.dense_optimizer
    path_module.dense_optimizer = lambda config, n_units, n_rows: optimizer
    try:
        start = time.perf_counter()
        selector = LassoNetSelector(task=split.task, backbone=cr.BACKBONE, seed=seed, cv=0)
        selector.fit(split.train_raw, split.y_train)
        return selector, time.perf_counter() - start
    finally:
        path_module.dense_optimizer = chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="arcene",
                        choices=[*wide.REAL_TABLES, *wide.SYNTHETIC_TABLES])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic-d", type=int, default=2000,
                        help="columns of a synthetic --table (150 rows; default 2000)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print_run_header()

    table = wide.load_table(args.table, 150, args.synthetic_d)
    split = cr.make_split(table.spec, table.X, table.y, args.seed)
    target = (np.unique(split.y_train, return_inverse=True)[1].astype(float)
              if split.task == "classification" else split.y_train.astype(float))
    corr, kurt = column_stats(split.Z_train.astype(np.float64), target)
    position = {name: j for j, name in enumerate(split.columns)}
    n_rows = len(split.y_train)
    print(f"\n{args.table}, seed {args.seed}: {n_rows} training rows x {split.d} columns")
    print(f"{'columns':44s} {'count':>5s}  {'|corr|':>6s}  {'kurtosis':>8s}  (medians)")
    print(summary("all", np.arange(split.d), corr, kurt))
    for optimizer in ("adam", "sgd"):
        selector, seconds = fit_with(optimizer, split, args.seed)
        points = selector.path_.points
        units = np.array([position[name] for name in selector.path_.unit_names])
        dense = units[np.argsort(-points[0].norms, kind="stable")[:50]]
        after = next(p for p in points[1:] if p.k <= n_rows)
        alive = np.argsort(-after.norms, kind="stable")[:min(50, after.k)]
        top = _harness.column_order(split, [str(n) for n in selector.ranking_])[:20]
        print(summary(f"{optimizer}: dense model, 50 largest norms", dense, corr, kurt))
        print(summary(f"{optimizer}: first point with k <= {n_rows} (k={after.k}), "
                      "largest", units[alive], corr, kurt))
        print(summary(f"{optimizer}: ranking, top 20 ({seconds:.0f} s)", top, corr, kurt))
    for name in CLASSICAL:
        print(summary(f"{name}: top 20", _harness.RANKERS[name](split, args.seed)[:20], corr,
                      kurt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
