"""Compare the feature rankings of ``LassoNetSelector`` with the rankers users pick instead.

For every dataset and seed all rankers see the same 70/30 train/test split (a numpy permutation
seeded by the seed, stratified by class for classification) and are fitted on the training rows
only:

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
are refitted densely by one common procedure, ``lassonet_cli.evaluate.refit_score``, with the
``mlp:100`` backbone and the same seed for every ranker; 10% of the training rows are held out
for early stopping only.  The table shows the test score (accuracy or R^2) and the ranker's
fitting time; ``*`` marks the best of each column.

Run from the project root::

    .venv/bin/python benchmarks/compare_rankers.py --datasets breast_cancer digits --seeds 0
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import shlex
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import (
    f_classif,
    f_regression,
    mutual_info_classif,
    mutual_info_regression,
)
from sklearn.linear_model import LogisticRegression, lasso_path
from sklearn.svm import l1_min_c

from lassonet_cli import LassoNetSelector
from lassonet_cli.backbones import BackboneSpec
from lassonet_cli.data import split_rows
from lassonet_cli.evaluate import refit_score
from lassonet_cli.tasks import make_task

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA_DIR = ROOT.parent / "shared" / "data"
TARGET = "target"
BACKBONE = "mlp:100"
TEST_FRACTION = 0.3
REFIT_VAL_FRACTION = 0.1
BUDGETS = (("10%", 0.10), ("25%", 0.25), ("50%", 0.50))
L1_GRID = 40  # points on the L1 path
L1_SPAN = 1e4  # the logistic C grid spans [l1_min_c, l1_min_c * L1_SPAN]
DATASET_TASKS = {
    "breast_cancer": "classification",
    "digits": "classification",
    "madelon": "classification",
    "isolet_skf": "classification",
    "diabetes": "regression",
}


@dataclass
class Split:
    """One dataset's train/test split, raw and standardised with training statistics.

    Attributes
    ----------
    name, task : dataset name and task (``classification`` or ``regression``)
    columns : feature names, in column order
    train_raw : the raw training features (what ``LassoNetSelector`` gets)
    Z_train, Z_test : (n, d) float32 features standardised with training statistics
    y_train, y_test : targets
    """

    name: str
    task: str
    columns: list[str]
    train_raw: pd.DataFrame
    Z_train: np.ndarray
    Z_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray

    @property
    def d(self) -> int:
        """Number of features."""
        return len(self.columns)


def load_split(name: str, seed: int) -> Split:
    """Read ``../shared/data/<name>.parquet`` and make the seed's 70/30 split.

    Parameters
    ----------
    name : dataset name (a key of ``DATASET_TASKS``)
    seed : seeds the split permutation

    Returns
    -------
    Split
    """
    frame = pd.read_parquet(DATA_DIR / f"{name}.parquet")
    y = frame[TARGET].to_numpy()
    X = frame.drop(columns=[TARGET])
    task = DATASET_TASKS[name]
    rng = np.random.default_rng([seed, 0])
    train, test = split_rows(y, TEST_FRACTION, task == "classification", rng, "test fraction")
    values = X.to_numpy(dtype=np.float64)
    mean = values[train].mean(axis=0)
    scale = values[train].std(axis=0)
    scale[~(scale > 0)] = 1.0  # constant columns stay at zero
    Z = ((values - mean) / scale).astype(np.float32)
    return Split(
        name=name, task=task, columns=[str(c) for c in X.columns],
        train_raw=X.iloc[train].reset_index(drop=True), Z_train=Z[train], Z_test=Z[test],
        y_train=y[train], y_test=y[test],
    )


def budgets(d: int) -> dict[str, int]:
    """The k of each budget: a fraction of ``d``, rounded half up, at least 1.

    Parameters
    ----------
    d : number of features

    Returns
    -------
    dict
        label (``"10%"``) -> k
    """
    return {label: max(1, math.floor(frac * d + 0.5)) for label, frac in BUDGETS}


def order_by(scores: np.ndarray) -> np.ndarray:
    """Feature indices by decreasing score (NaN last), ties by column order.

    Parameters
    ----------
    scores : (d,) scores, higher is better

    Returns
    -------
    numpy.ndarray
        (d,) column indices
    """
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    return np.argsort(-scores, kind="stable")


def rank_lassonet(split: Split, seed: int) -> np.ndarray:
    """LassoNet ranking: ``LassoNetSelector(backbone="mlp:100", seed=seed).ranking_``.

    Parameters
    ----------
    split : Split
    seed : the selector's seed

    Returns
    -------
    numpy.ndarray
        (d,) column indices, best first
    """
    selector = LassoNetSelector(task=split.task, backbone=BACKBONE, seed=seed)
    selector.fit(split.train_raw, split.y_train)
    position = {name: j for j, name in enumerate(split.columns)}
    ranked = [position[str(name)] for name in selector.ranking_]
    missing = [j for j in range(split.d) if j not in set(ranked)]
    return np.asarray(ranked + missing, dtype=np.int64)


def rank_anova(split: Split, seed: int) -> np.ndarray:
    """ANOVA F ranking (``f_classif`` / ``f_regression``) on standardised features.

    Parameters
    ----------
    split : Split
    seed : unused (deterministic)

    Returns
    -------
    numpy.ndarray
        (d,) column indices, best first
    """
    score = f_classif if split.task == "classification" else f_regression
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant columns: F is NaN
        warnings.simplefilter("ignore", UserWarning)
        F, _ = score(split.Z_train, split.y_train)
    return order_by(F)


def rank_mutual_info(split: Split, seed: int) -> np.ndarray:
    """Mutual-information ranking (``mutual_info_classif`` / ``mutual_info_regression``).

    Parameters
    ----------
    split : Split
    seed : ``random_state``

    Returns
    -------
    numpy.ndarray
        (d,) column indices, best first
    """
    score = mutual_info_classif if split.task == "classification" else mutual_info_regression
    return order_by(score(split.Z_train, split.y_train, random_state=seed))


def rank_random_forest(split: Split, seed: int) -> np.ndarray:
    """Random-forest impurity importance (300 trees, ``random_state=seed``, ``n_jobs=2``).

    Parameters
    ----------
    split : Split
    seed : ``random_state``

    Returns
    -------
    numpy.ndarray
        (d,) column indices, best first
    """
    cls = RandomForestClassifier if split.task == "classification" else RandomForestRegressor
    forest = cls(n_estimators=300, random_state=seed, n_jobs=2)
    forest.fit(split.Z_train, split.y_train)
    return order_by(forest.feature_importances_)


def rank_l1_path(split: Split, seed: int) -> np.ndarray:
    """Order of entry on an L1 path over standardised features; ties by final |coef|.

    Regression uses ``lasso_path`` (alphas from the largest down, the target centred and
    scaled); classification fits one-vs-rest L1 logistic regressions (``liblinear``) on a log
    grid of C from ``l1_min_c`` up to ``L1_SPAN`` times it, warm-started along the grid.

    Parameters
    ----------
    split : Split
    seed : ``random_state`` of the logistic solver

    Returns
    -------
    numpy.ndarray
        (d,) column indices, best first
    """
    X = split.Z_train.astype(np.float64)
    if split.task == "regression":
        y = split.y_train.astype(np.float64)
        y = (y - y.mean()) / y.std()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, coefs, _ = lasso_path(X, y, alphas=L1_GRID, eps=1e-4)
        path = np.abs(coefs)  # (d, n_alphas), alphas decreasing
    else:
        classes = np.unique(split.y_train)
        targets = [split.y_train == c for c in classes] if len(classes) > 2 else [
            split.y_train == classes[1]]
        c0 = min(l1_min_c(X, t, loss="log") for t in targets)
        grid = c0 * np.logspace(0, math.log10(L1_SPAN), L1_GRID)
        columns = np.zeros((len(targets), X.shape[1], L1_GRID))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for i, t in enumerate(targets):  # one vs rest, each along the C grid
                model = LogisticRegression(
                    l1_ratio=1.0, solver="liblinear", tol=1e-4, max_iter=1000,
                    warm_start=True, random_state=seed,
                )
                for j, C in enumerate(grid):
                    model.set_params(C=C)
                    model.fit(X, t)
                    columns[i, :, j] = np.abs(model.coef_[0])
        path = columns.sum(axis=0)  # (d, n_C), C increasing
    active = path > 0
    entry = np.where(active.any(axis=1), active.argmax(axis=1), path.shape[1])
    final = path[:, -1]
    return np.lexsort((-final, entry)).astype(np.int64)  # by entry, then by -|coef|


RANKERS: dict[str, Callable[[Split, int], np.ndarray]] = {
    "lassonet": rank_lassonet,
    "anova_f": rank_anova,
    "mutual_info": rank_mutual_info,
    "random_forest": rank_random_forest,
    "l1_path": rank_l1_path,
}


class Refitter:
    """The common dense refit: ``refit_score`` on a ranking's top-k features.

    The training rows are split once (per seed) into 90% for fitting and 10% for early
    stopping; the test rows give the score.

    Parameters
    ----------
    split : Split
    seed : seeds the fit/validation split and the refit
    """

    def __init__(self, split: Split, seed: int):
        self.seed = seed
        self.task = make_task(split.task).fit(split.y_train)
        self.backbone = BackboneSpec.parse(BACKBONE)
        rng = np.random.default_rng([seed, 1])
        fit, val = split_rows(
            split.y_train, REFIT_VAL_FRACTION, split.task == "classification", rng,
            "validation fraction",
        )
        self.X_fit = torch.from_numpy(split.Z_train[fit])
        self.X_val = torch.from_numpy(split.Z_train[val])
        self.X_test = torch.from_numpy(split.Z_test)
        self.y_fit = self.task.encode(split.y_train[fit])
        self.y_val = self.task.encode(split.y_train[val])
        self.y_test = self.task.encode(split.y_test)

    def __call__(self, features: np.ndarray) -> float:
        """Test score of the dense network refitted on ``features``.

        Parameters
        ----------
        features : column indices

        Returns
        -------
        float
            accuracy or R^2 on the test rows
        """
        return refit_score(
            self.task, self.X_fit, self.y_fit, self.X_val, self.y_val, self.X_test, self.y_test,
            np.asarray(features, dtype=np.int64), self.backbone, seed=self.seed,
        )


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
        refit = Refitter(split, seed)
        for ranker in rankers:
            start = time.perf_counter()
            order = RANKERS[ranker](split, seed)
            elapsed = time.perf_counter() - start
            row = records[ranker]
            row.setdefault("fit_s", []).append(elapsed)
            for label, k in ks.items():
                row.setdefault(f"refit@{label}", []).append(refit(order[:k]))
            print(
                f"  [{name} seed {seed}] {ranker}: fit {elapsed:.1f}s, "
                + ", ".join(f"k={k}: {row[f'refit@{lab}'][-1]:.4f}" for lab, k in ks.items()),
                file=sys.stderr, flush=True,
            )
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
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in
                  enumerate(zip(headers, widths, strict=True))),
        "  ".join("-" * w for w in widths),
    ]
    for cells in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                               enumerate(zip(cells, widths, strict=True))))
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
          f"split: {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%}, refit val {REFIT_VAL_FRACTION:.0%}"
          " of train")
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
