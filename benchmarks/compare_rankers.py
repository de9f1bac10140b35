"""Compare the feature rankings of ``LassoNetSelector`` with the rankers users pick instead.

For every dataset and seed all rankers see the same 70/30 train/test split (a numpy permutation
seeded by the seed, stratified by class for classification; ``compare_reference``'s split, so
the rows are the same there) and are fitted on the training rows only:

* ``lassonet``: ``lassonet_cli.LassoNetSelector(backbone="mlp:100", seed=seed)`` on the raw
  training features (it standardises them itself), ranked by ``ranking_``;
* ``anova_f``: ``f_classif`` / ``f_regression`` on standardised features, ranked by F;
* ``mutual_info``: ``mutual_info_classif`` / ``mutual_info_regression`` (``random_state=seed``);
* ``random_forest``: ``RandomForestClassifier`` / ``RandomForestRegressor`` (300 trees,
  ``random_state=seed``, ``n_jobs=2``), ranked by ``feature_importances_``;
* ``l1_path``: the order in which features enter an L1 path on standardised features
  (regression: ``lasso_path`` from the largest alpha down; classification: one-vs-rest L1
  logistic regression, ``l1_ratio=1`` with ``liblinear``, over a log grid of C from
  ``l1_min_c`` up).  A feature enters at the first grid point where any of its coefficients
  is nonzero; ties (and features that never enter) are broken by the summed |coef| at the end
  of the path.

Each ranking's top k features (k = 10%, 25%, 50% of the features, rounded half up, at least 1)
are refitted densely by one common procedure, ``compare_reference.Refitter`` (that is
``lassonet_cli.evaluate.refit_score``), with the ``mlp:100`` backbone and the same seed for
every ranker; 10% of the training rows are held out for early stopping only.  The refit sees
the top k as a set (in column order), so two rankers choosing the same features score the
same.  The table shows the test score (accuracy or R^2) and the ranker's
fitting time; ``*`` marks the best of each column.

Run from the project root::

    .venv/bin/python benchmarks/compare_rankers.py --datasets breast_cancer digits --seeds 0

``--datasets toy_regression`` (``sample_data/toy_regression.csv``, no ``../shared``) is a toy
run of a few seconds with ``--rankers anova_f l1_path``; the smoke test uses it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare_reference as cr  # noqa: E402  (the split, the budgets and the common refit)
from _harness import RANKERS, render_table, run_rankers, timed  # noqa: E402

TARGET = "target"
BACKBONE = cr.BACKBONE
BUDGETS = (("10%", 0.10), ("25%", 0.25), ("50%", 0.50))
DATASET_TASKS = {
    "breast_cancer": "classification",
    "digits": "classification",
    "madelon": "classification",
    "isolet_skf": "classification",
    "diabetes": "regression",
    "toy_regression": "regression",  # sample_data/, 2000 x 10: a toy run (the smoke test)
}


def load_split(name: str, seed: int) -> cr.Split:
    """Read ``../shared/data/<name>.parquet`` and make the seed's 70/30 split.

    ``toy_regression`` is ``compare_reference``'s ``sample_data/toy_regression.csv`` instead.

    The split is ``compare_reference``'s (the same rows for the datasets both benchmarks use).

    Parameters
    ----------
    name : dataset name (a key of ``DATASET_TASKS``)
    seed : seeds the split permutation

    Returns
    -------
    compare_reference.Split
    """
    if name == "toy_regression":
        spec = cr.DATASETS[name]
    else:
        spec = cr.DatasetSpec(name, f"../shared/data/{name}.parquet", TARGET,
                              DATASET_TASKS[name])
    return cr.make_split(spec, *cr.load_dataset(spec), seed)


def budgets(d: int) -> dict[str, int]:
    """``compare_reference.budgets`` in this table's column order (10%, 25%, 50%)."""
    ks = cr.budgets(d)
    return {label: ks[label] for label, _ in BUDGETS}


def run_dataset(name: str, seeds: list[int], rankers: list[str]) -> pd.DataFrame:
    """Fit every ranker and refit its top-k for every seed; the mean over seeds.

    Parameters
    ----------
    name : dataset name
    seeds : seeds to average over
    rankers : keys of ``RANKERS``

    Returns
    -------
    pandas.DataFrame
        one row per ranker: ``refit@10%``, ``refit@25%``, ``refit@50%``, ``fit_s``
    """
    records: dict[str, dict[str, list[float]]] = {r: {} for r in rankers}
    for seed in seeds:
        split = load_split(name, seed)
        ks = budgets(split.d)
        fitters = {r: partial(timed, RANKERS[r]) for r in rankers}
        refit = cr.Refitter(split, seed)
        for run in run_rankers(split, seed, fitters, ks, {"mlp": refit.score}):
            row = records[run.ranker]
            row.setdefault("fit_s", []).append(run.fit_s)
            for label, score in run.scores["mlp"].items():
                row.setdefault(f"refit@{label}", []).append(score)
    columns = [f"refit@{label}" for label, _ in BUDGETS] + ["fit_s"]
    table = pd.DataFrame(
        {r: {c: float(np.mean(records[r][c])) for c in columns} for r in rankers}
    ).T[columns]
    table.index.name = "ranker"
    return table


def format_table(table: pd.DataFrame, score_name: str, ks: dict[str, int]) -> str:
    """Render a dataset's table with the best of each score column marked ``*``.

    Parameters
    ----------
    table : ``run_dataset``'s output
    score_name : ``accuracy`` or ``r2``
    ks : budget label -> k, for the header

    Returns
    -------
    str
    """
    headers = ["ranker"] + [f"refit@{lab} (k={k})" for lab, k in ks.items()] + ["fit_s"]
    rows = []
    for ranker, values in table.iterrows():
        cells = [str(ranker)]
        for label in ks:
            column = f"refit@{label}"
            best = np.isclose(values[column], table[column].max(), rtol=0, atol=1e-12)
            cells.append(f"{values[column]:.4f}" + ("*" if best else " "))
        cells.append(f"{values['fit_s']:.2f}")
        rows.append(cells)
    lines = render_table(headers, rows)
    lines.append(f"(test {score_name}; * = best per column; fit_s = ranker fitting time)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Parameters
    ----------
    argv : arguments (``sys.argv[1:]`` if None)

    Returns
    -------
    int
        exit status
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["breast_cancer", "digits"],
                        choices=sorted(DATASET_TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--rankers", nargs="+", default=list(RANKERS), choices=list(RANKERS))
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    print("# compare_rankers: LassoNet ranking vs ANOVA F, mutual information, random forest, L1")
    print(f"# date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    nproc = len(os.sched_getaffinity(0))
    print(f"# host: {platform.node()}  nproc: {nproc}  torch threads: {args.threads}")
    print(f"# python {platform.python_version()}, torch {torch.__version__}")
    print(f"# command: {command}")
    print(f"# seeds: {' '.join(map(str, args.seeds))}  backbone: {BACKBONE}  "
          f"split: {1 - cr.TEST_FRACTION:.0%}/{cr.TEST_FRACTION:.0%}, "
          f"refit val {cr.REFIT_VAL_FRACTION:.0%} of train")
    sys.stdout.flush()
    for name in args.datasets:
        start = time.perf_counter()
        table = run_dataset(name, args.seeds, args.rankers)
        d = load_split(name, args.seeds[0]).d
        score_name = "accuracy" if DATASET_TASKS[name] == "classification" else "r2"
        print(f"\n## {name} ({DATASET_TASKS[name]}, d={d}, "
              f"{len(args.seeds)} seed(s), {time.perf_counter() - start:.0f}s)")
        print(format_table(table, score_name, budgets(d)))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
