"""Selection quality where columns outnumber rows (issue 15): a guard, not a benchmark.

A synthetic table of 80 rows and 600 columns, a few of them informative with a strong signal:
they must rank on top.  This is far easier than the tables of ``benchmarks/wide.py`` (which
measures how good the ranking is), so it only catches a change to the path that loses even a
strong signal where d > n, such as a faster path that empties the model on a transient.
"""

import numpy as np
import pandas as pd
import pytest

from lassonet_cli import LassoNetSelector

ROWS, COLUMNS = 80, 600


def wide_table(seed: int, informative: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(X, its informative columns' indices, a seeded generator's next normal draws)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((ROWS, COLUMNS))
    chosen = rng.choice(COLUMNS, informative, replace=False)
    frame = pd.DataFrame(X, columns=[f"g{j}" for j in range(COLUMNS)])
    return frame, chosen, rng.standard_normal(ROWS)


def top_positions(selector: LassoNetSelector, columns: np.ndarray) -> list[int]:
    ranking = list(selector.ranking_)
    return sorted(ranking.index(f"g{j}") for j in columns)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("seed", [0, 1])
def test_strong_linear_signal_ranks_on_top_with_more_columns_than_rows(seed):
    X, chosen, noise = wide_table(seed, 4)
    y = X.to_numpy()[:, chosen] @ np.array([3.0, -2.5, 2.0, 1.5]) + 0.3 * noise
    selector = LassoNetSelector(task="regression", backbone="mlp:16", seed=seed, cv=0)
    selector.fit(X, y)
    assert len(selector.ranking_) == COLUMNS
    assert top_positions(selector, chosen) == [0, 1, 2, 3]


@pytest.mark.usefixtures("one_thread")
def test_strong_class_signal_ranks_on_top_with_more_columns_than_rows():
    X, chosen, _ = wide_table(2, 3)
    Z = X.to_numpy()[:, chosen]
    y = np.where(Z[:, 0] + Z[:, 1] - Z[:, 2] > 0, "case", "control")
    selector = LassoNetSelector(task="classification", backbone="mlp:16", seed=2, cv=0)
    selector.fit(X, y)
    assert max(top_positions(selector, chosen)) < 5


def spiky_table(seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Like ``wide_table``, but the uninformative columns are sparse and heavy-tailed (zero in
    95% of the rows, log-normal spikes elsewhere), as in mass spectra and count data."""
    rng = np.random.default_rng(seed)
    spikes = rng.random((ROWS, COLUMNS)) < 0.05
    X = np.where(spikes, rng.lognormal(1.0, 1.0, (ROWS, COLUMNS)), 0.0)
    chosen = rng.choice(COLUMNS, 4, replace=False)
    X[:, chosen] = rng.standard_normal((ROWS, 4))
    z = X[:, chosen] @ np.array([1.0, -1.0, 0.8, 0.6])
    y = np.where(z + 0.5 * rng.standard_normal(ROWS) > 0, "a", "b")
    return pd.DataFrame(X, columns=[f"g{j}" for j in range(COLUMNS)]), chosen, y


@pytest.mark.usefixtures("one_thread")
def test_heavy_tailed_noise_columns_do_not_outrank_the_signal():
    """Spiky columns let a model fit single rows, and an Adam-trained dense model once gave them
    the largest skip weights, which ordered the path's mass exits (arcene's top 5 refit no
    better than random columns; hence the SGD dense fit, ``training.dense_optimizer``).  Over
    these eight tables the informative columns take most of the top 4: 20-24 of 32 with
    rounding alone moving it (the optimiser's update rounded four ways, 2026-12-06), none if
    the spiky columns came first.  Single tables move by one or two columns with rounding, so
    the bar is on the sum, at half.  This guards the outcome, not the dense optimiser: with the
    Adam dense fit forced, today's path still finds 24 of 32 here (2026-12-06); the choice of
    SGD is held by ``test_path``'s span and ``dense_optimizer`` tests."""
    found = 0
    for seed in range(8):
        X, chosen, y = spiky_table(seed)
        selector = LassoNetSelector(task="classification", backbone="mlp:16", seed=seed, cv=0)
        selector.fit(X, y)
        found += sum(position < 4 for position in top_positions(selector, chosen))
    assert found >= 16
