"""Survival tables: how well each ranker's top-k columns predict survival on held-out rows.

For every table and seed, 30% of the rows are held out (stratified on the event indicator); every
ranker sees only the training rows, standardised with their own statistics, and returns the
columns best first.  Each ranking's top k columns are then refitted by two learners and scored
by Harrell's C-index on the held-out rows:

* ``cox``: a Cox proportional-hazards model (scikit-survival ``CoxPHSurvivalAnalysis``, Efron
  ties, a small ridge penalty so that collinear radiomics columns still converge);
* ``rsf``: a random survival forest (scikit-survival ``RandomSurvivalForest``, 200 trees).

Rankers:

* ``lassonet``: this tool, ``LassoNetSelector(task="cox")`` at its defaults (``ranking_``);
* ``coxnet``: the Cox lasso path (scikit-survival ``CoxnetSurvivalAnalysis``, l1 ratio 1), in
  order of entry along the path; columns entering together by their coefficient at the path's
  end, columns that never enter last;
* ``score_test``: the univariate Cox score test (the score statistic U^2 / I at beta = 0 with
  Breslow's risk sets), largest first;
* ``rsf_importance``: a random survival forest's permutation importance on the training rows;
* ``random``: a random permutation.

Tables: ``whas500`` and ``hnscc`` from ``../shared/data``, and ``gbsg2`` (686 breast-cancer
patients, shipped with scikit-survival; its three categorical columns one-hot encoded).
``--tables FILE ...`` runs CSV or Parquet files with feature columns and ``time``, ``event``
instead (the smoke test's way).  Run from the project root::

    .venv/bin/python benchmarks/survival.py

The summary says, per table, each ranker's mean C-index over seeds and learners at each k, its
spread over seeds, and ours minus random and minus the Cox lasso path.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
import warnings
from pathlib import Path

import compare_reference as cr
import numpy as np
import pandas as pd
import torch
from _harness import (
    column_order,
    lassonet_ranking,
    order_by,
    rank_lassonet,
    render_table,
    run_rankers,
    timed,
)
from _run_header import print_run_header
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import permutation_importance
from sksurv.ensemble import RandomSurvivalForest
from sksurv.linear_model import CoxnetSurvivalAnalysis, CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored

from lassonet_cli.splits import split_rows

DATA = cr.ROOT.parent / "shared" / "data"
TABLES = ("whas500", "hnscc", "gbsg2")
KS = (5, 10, 20)
COX_RIDGE = 0.1  # CoxPHSurvivalAnalysis' alpha: converges on collinear columns, barely shrinks
FOREST_TREES = 200
IMPORTANCE_TREES = 100
IMPORTANCE_REPEATS = 5


# --- tables and splits -------------------------------------------------------------------------


def load_table(name: str) -> tuple[str, pd.DataFrame, np.ndarray]:
    """A survival table: its name, feature columns and (n, 2) [time, event].

    Parameters
    ----------
    name : one of ``TABLES``, or a path to a CSV/Parquet file with ``time`` and ``event``

    Returns
    -------
    tuple
        (name, features as float64, (n, 2) float64 [time, event])
    """
    if name == "gbsg2":
        from sksurv.datasets import load_gbsg2

        X, y = load_gbsg2()
        X = pd.get_dummies(X, drop_first=True, dtype=np.float64)
        target = np.column_stack([y["time"], y["cens"]]).astype(np.float64)
        return name, X.astype(np.float64), target
    path = DATA / f"{name}.parquet" if name in TABLES else Path(name)
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    target = df[["time", "event"]].to_numpy(dtype=np.float64)
    return path.stem, df.drop(columns=["time", "event"]).astype(np.float64), target


def make_split(name: str, X: pd.DataFrame, y: np.ndarray, seed: int) -> cr.Split:
    """The seed's 70/30 split, stratified on the event, with training-set standardisation."""
    rng = np.random.default_rng([seed, 0])
    train, test = split_rows(y[:, 1].astype(np.int64), cr.TEST_FRACTION, True, rng,
                             "test fraction")
    values = X.to_numpy(dtype=np.float64)
    mean, scale = values[train].mean(axis=0), values[train].std(axis=0)
    scale[~(scale > 0)] = 1.0
    Z = ((values - mean) / scale).astype(np.float32)
    return cr.Split(name=name, task="cox", columns=list(X.columns),
                    train_raw=X.iloc[train].reset_index(drop=True),
                    test_raw=X.iloc[test].reset_index(drop=True),
                    y_train=y[train], y_test=y[test], Z_train=Z[train], Z_test=Z[test])


def structured(y: np.ndarray) -> np.ndarray:
    """(n, 2) [time, event] as scikit-survival's structured array."""
    out = np.empty(len(y), dtype=[("event", bool), ("time", np.float64)])
    out["event"] = y[:, 1] > 0
    out["time"] = y[:, 0]
    return out


# --- rankers -----------------------------------------------------------------------------------


def score_test(Z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Univariate Cox score statistics U_j^2 / I_j at beta = 0 (Breslow's risk sets).

    Parameters
    ----------
    Z : (n, d) standardised features
    y : (n, 2) [time, event]

    Returns
    -------
    numpy.ndarray
        (d,) statistics, larger = stronger association; 0 for a column constant on every risk
        set
    """
    time_, event = y[:, 0], y[:, 1] > 0
    order = np.argsort(-time_, kind="stable")  # latest first: a risk set is a prefix
    Zs, ts, es = Z[order].astype(np.float64), time_[order], event[order]
    # the risk set of row i: every row with time >= t_i, i.e. the prefix up to the last tie
    last = np.searchsorted(-ts, -ts, side="right") - 1
    count = (last + 1).astype(np.float64)[:, None]
    mean = np.cumsum(Zs, axis=0)[last] / count
    second = np.cumsum(Zs * Zs, axis=0)[last] / count
    U = (Zs[es] - mean[es]).sum(axis=0)
    information = np.clip(second[es] - mean[es] ** 2, 0.0, None).sum(axis=0)
    return np.divide(U * U, information, out=np.zeros_like(U), where=information > 1e-12)


def rank_score_test(split: cr.Split, seed: int) -> np.ndarray:
    return order_by(score_test(split.Z_train, split.y_train))


def entry_order(coefs: np.ndarray) -> np.ndarray:
    """Columns in order of entry along a lasso path; ties by |coefficient| at the path's end.

    Parameters
    ----------
    coefs : (d, n_alphas) coefficients along the path, the largest penalty first

    Returns
    -------
    numpy.ndarray
        (d,) column indices; columns that never enter last, in column order
    """
    active = coefs != 0
    entered = active.any(axis=1)
    entry = np.where(entered, active.argmax(axis=1), coefs.shape[1])
    final = np.abs(coefs[:, -1])
    return np.lexsort((np.arange(len(entry)), -final, entry))


def rank_coxnet(split: cr.Split, seed: int) -> np.ndarray:
    model = CoxnetSurvivalAnalysis(l1_ratio=1.0, n_alphas=100, alpha_min_ratio=0.01,
                                   max_iter=100_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        model.fit(split.Z_train.astype(np.float64), structured(split.y_train))
    return entry_order(model.coef_)


def rank_rsf_importance(split: cr.Split, seed: int) -> np.ndarray:
    y = structured(split.y_train)
    forest = RandomSurvivalForest(n_estimators=IMPORTANCE_TREES, min_samples_leaf=5,
                                  random_state=seed, n_jobs=1).fit(split.Z_train, y)
    importance = permutation_importance(forest, split.Z_train, y, n_repeats=IMPORTANCE_REPEATS,
                                        random_state=seed, n_jobs=1)
    return order_by(importance.importances_mean)


def rank_lassonet_with(options: dict, split: cr.Split, seed: int) -> np.ndarray:
    """Ours with more ``LassoNetSelector`` keyword arguments (``--lassonet-kwargs``)."""
    return column_order(split, lassonet_ranking(split, seed, **options))


def rank_random(split: cr.Split, seed: int) -> np.ndarray:
    return np.random.default_rng([seed, 7]).permutation(split.d)


RANKERS = {
    "lassonet": rank_lassonet,
    "coxnet": rank_coxnet,
    "score_test": rank_score_test,
    "rsf_importance": rank_rsf_importance,
    "random": rank_random,
}


# --- learners ----------------------------------------------------------------------------------


def c_index(y: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C-index of risk scores (higher = earlier event) on (n, 2) [time, event]."""
    return float(concordance_index_censored(y[:, 1] > 0, y[:, 0], risk)[0])


def learners(split: cr.Split, seed: int) -> dict:
    y = structured(split.y_train)

    def cox(columns: list[int]) -> float:
        model = CoxPHSurvivalAnalysis(alpha=COX_RIDGE, ties="efron", n_iter=200)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(split.Z_train[:, columns].astype(np.float64), y)
        return c_index(split.y_test, model.predict(split.Z_test[:, columns].astype(np.float64)))

    def rsf(columns: list[int]) -> float:
        forest = RandomSurvivalForest(n_estimators=FOREST_TREES, min_samples_leaf=5,
                                      random_state=seed, n_jobs=1)
        forest.fit(split.Z_train[:, columns], y)
        return c_index(split.y_test, forest.predict(split.Z_test[:, columns]))

    return {"cox": cox, "rsf": rsf}


# --- summary -----------------------------------------------------------------------------------


def run_table(name: str, seeds: list[int], rankers: list[str],
              options: dict) -> tuple[pd.DataFrame, str]:
    """Every ranker on every seed's split of one table: long scores, and the table's title.
    ``options`` are more keyword arguments for ours' ``LassoNetSelector``."""
    name, X, y = load_table(name)
    chosen_rankers = {**RANKERS, "lassonet": functools.partial(rank_lassonet_with, options)}
    ks = {str(k): k for k in KS if k < X.shape[1]}
    rows = []
    for seed in seeds:
        split = make_split(name, X, y, seed)
        chosen = {r: (lambda s, sd, rank=chosen_rankers[r]: timed(rank, s, sd))
                  for r in rankers}
        for run in run_rankers(split, seed, chosen, ks, learners(split, seed)):
            for learner, scores in run.scores.items():
                for label, score in scores.items():
                    rows.append({"seed": seed, "ranker": run.ranker, "learner": learner,
                                 "k": int(label), "c_index": score, "fit_s": run.fit_s})
    n_train = len(make_split(name, X, y, seeds[0]).y_train)
    title = (f"## {name} ({len(X)} rows, {int(y[:, 1].sum())} events, {X.shape[1]} columns; "
             f"{n_train} training rows; {len(seeds)} seed(s))")
    return pd.DataFrame(rows), title


def format_table(scores: pd.DataFrame, rankers: list[str]) -> list[str]:
    """Per ranker: mean C-index over seeds and learners at each k (sd over seeds), per learner,
    fit seconds; then ours minus random and minus the Cox lasso path at each k."""
    ks = sorted(scores["k"].unique())
    per_seed = scores.groupby(["ranker", "k", "seed"])["c_index"].mean()
    lines = []
    headers = ["ranker", *(f"k={k}" for k in ks), *(f"{lr} k={k}" for lr in ("cox", "rsf")
                                                   for k in ks), "fit_s"]
    rows = []
    for ranker in rankers:
        cells = [ranker]
        for k in ks:
            values = per_seed.loc[(ranker, k)]
            cells.append(f"{values.mean():.3f} ({values.std(ddof=1):.3f})"
                         if len(values) > 1 else f"{values.mean():.3f}")
        for learner in ("cox", "rsf"):
            mine = scores[(scores.ranker == ranker) & (scores.learner == learner)]
            cells += [f"{mine[mine.k == k]['c_index'].mean():.3f}" for k in ks]
        cells.append(f"{scores[scores.ranker == ranker]['fit_s'].median():.2f}")
        rows.append(cells)
    lines += render_table(headers, rows)
    lines.append("(Harrell's C-index on held-out rows of a model refitted on the top k: mean over "
                 "seeds and both learners, sd over seeds of the per-seed mean; fit_s: median)")
    for other in ("random", "coxnet"):
        if "lassonet" in rankers and other in rankers:
            gaps = [per_seed.loc[("lassonet", k)] - per_seed.loc[(other, k)] for k in ks]
            lines.append(f"lassonet - {other}: " + ", ".join(
                f"k={k} {g.mean():+.3f} (sd {g.std(ddof=1):.3f})" if len(g) > 1
                else f"k={k} {g.mean():+.3f}" for k, g in zip(ks, gaps, strict=True)))
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="+", default=list(TABLES),
                        help=f"tables: {', '.join(TABLES)} or CSV/Parquet files with time and "
                             "event columns (default: the three)")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(10)))
    parser.add_argument("--rankers", nargs="+", default=list(RANKERS), choices=list(RANKERS))
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--lassonet-kwargs", type=json.loads, default={}, metavar="JSON",
                        help="more keyword arguments for ours' LassoNetSelector, e.g. "
                             "'{\"path_multiplier\": 1.02}'")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print("# survival: each ranker's top-k columns refitted by a Cox model and a random "
          "survival forest")
    print_run_header()
    print(f"seeds: {' '.join(map(str, args.seeds))}  split: "
          f"{1 - cr.TEST_FRACTION:.0%}/{cr.TEST_FRACTION:.0%} stratified on the event  ours: "
          f"LassoNetSelector(task='cox', backbone='{cr.BACKBONE}', cv=0"
          + "".join(f", {k}={v!r}" for k, v in args.lassonet_kwargs.items()) + ")")
    sys.stdout.flush()
    start = time.perf_counter()
    for name in args.tables:
        scores, title = run_table(name, args.seeds, args.rankers, args.lassonet_kwargs)
        print(f"\n{title}")
        print("\n".join(format_table(scores, args.rankers)))
        sys.stdout.flush()
    print(f"\n{time.perf_counter() - start:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
