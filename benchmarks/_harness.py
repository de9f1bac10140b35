"""The ranker benchmarks' shared harness: the rankers, and the loop that refits their top k.

``compare_rankers.py`` and ``wide.py`` compare feature rankings the same way: every ranker sees
one ``compare_reference.Split`` (training rows only), returns the columns best first, and each
ranking's top k columns are refitted by one or more learners and scored on the test rows.  This
module holds the rankers (``RANKERS``, all ``(split, seed) -> (d,) column indices``), the loop
(``run_rankers``) and the plain-text table both scripts print (``render_table``).  It is
imported by the scripts, never run.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import compare_reference as cr
import numpy as np
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

L1_GRID = 40  # points on the L1 path
L1_SPAN = 1e4  # the logistic C grid spans [l1_min_c, l1_min_c * L1_SPAN]

Ranker = Callable[[cr.Split, int], np.ndarray]
Learner = Callable[[list[int]], float]


# --- the rankers -------------------------------------------------------------------------------


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


def lassonet_ranking(split: cr.Split, seed: int, **options) -> list[str]:
    """``LassoNetSelector(backbone="mlp:100", seed=seed, **options).ranking_`` on the split
    (``options`` may name another backbone).

    Parameters
    ----------
    split : Split
    seed : the selector's seed
    **options : more keyword arguments of ``LassoNetSelector``

    Returns
    -------
    list of str
        column names as the selector ranks them, best first (one per column when it works)

    The point is chosen on one validation split (``cv=0``, unless ``options`` say otherwise):
    the ranking is the same either way, and the automatic cross-validation of small tables
    would add five paths to the time measured.
    """
    selector = LassoNetSelector(task=split.task, seed=seed,
                                **{"backbone": cr.BACKBONE, "cv": 0, **options})
    selector.fit(split.train_raw, split.y_train)
    return [str(name) for name in selector.ranking_]


def column_order(split: cr.Split, names: Sequence[str]) -> np.ndarray:
    """Column indices of ranked names; columns missing from ``names`` follow in column order.

    Parameters
    ----------
    split : Split
    names : ranked column names, best first

    Returns
    -------
    numpy.ndarray
        (d,) column indices
    """
    position = {name: j for j, name in enumerate(split.columns)}
    ranked = list(dict.fromkeys(position[name] for name in names))
    seen = set(ranked)
    missing = [j for j in range(split.d) if j not in seen]
    return np.asarray(ranked + missing, dtype=np.int64)


def rank_lassonet(split: cr.Split, seed: int) -> np.ndarray:
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
    return column_order(split, lassonet_ranking(split, seed))


def rank_anova(split: cr.Split, seed: int) -> np.ndarray:
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


def rank_mutual_info(split: cr.Split, seed: int) -> np.ndarray:
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


def rank_random_forest(split: cr.Split, seed: int) -> np.ndarray:
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


def rank_l1_path(split: cr.Split, seed: int) -> np.ndarray:
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


RANKERS: dict[str, Ranker] = {
    "lassonet": rank_lassonet,
    "anova_f": rank_anova,
    "mutual_info": rank_mutual_info,
    "random_forest": rank_random_forest,
    "l1_path": rank_l1_path,
}


# --- rank, refit the top k, collect ------------------------------------------------------------


@dataclass
class RankerRun:
    """One ranker on one split: its ranking, its fitting time and its refit scores.

    Attributes
    ----------
    ranker : the ranker's name
    order : (d,) column indices, best first
    fit_s : seconds the ranker took to fit (as measured when the ranking was computed)
    scores : learner -> budget label -> test score of the learner refitted on the top k
    """

    ranker: str
    order: np.ndarray
    fit_s: float
    scores: dict[str, dict[str, float]]


def timed(rank: Ranker, split: cr.Split, seed: int) -> tuple[np.ndarray, float]:
    """A ranker's ranking and the seconds it took."""
    start = time.perf_counter()
    order = rank(split, seed)
    return order, time.perf_counter() - start


def run_rankers(
    split: cr.Split,
    seed: int,
    rankers: Mapping[str, Callable[[cr.Split, int], tuple[np.ndarray, float]]],
    ks: Mapping[str, int],
    learners: Mapping[str, Learner],
) -> list[RankerRun]:
    """Rank the split's columns with every ranker and refit each ranking's top k.

    Every learner is given the top k of each ranking (column indices) and returns the test
    score; learners see the top k as a set, so two rankers choosing the same columns score the
    same.  One progress line per ranker goes to stderr.

    Parameters
    ----------
    split : Split
    seed : passed to every ranker
    rankers : name -> ``(split, seed) -> (order, fit seconds)`` (``timed`` around a ``Ranker``,
        or a cache)
    ks : budget label -> k
    learners : learner name -> ``(columns) -> test score``

    Returns
    -------
    list of RankerRun
        in the order of ``rankers``
    """
    runs = []
    for name, rank in rankers.items():
        order, fit_s = rank(split, seed)
        scores = {
            learner: {label: score(list(order[:k])) for label, k in ks.items()}
            for learner, score in learners.items()
        }
        runs.append(RankerRun(name, order, fit_s, scores))
        parts = [
            (f"{learner} " if len(learners) > 1 else "")
            + ", ".join(f"k={k}: {scores[learner][label]:.4f}" for label, k in ks.items())
            for learner in learners
        ]
        print(f"  [{split.name} seed {seed}] {name}: fit {fit_s:.1f}s, " + "; ".join(parts),
              file=sys.stderr, flush=True)
    return runs


# --- output ------------------------------------------------------------------------------------


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain-text table: the first column left-aligned, the others right-aligned.

    Parameters
    ----------
    headers : column titles
    rows : cells, already formatted

    Returns
    -------
    list of str
        the header line, a rule, one line per row
    """
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
