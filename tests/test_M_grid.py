"""A grid of the hierarchy multiplier (``--M 1,3,10``, ``M=[1, 3, 10]``): one path per M, each
scored as cv says, the best kept; the result equals the single fit with the M chosen."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from clitools import assert_clean_error, invoke

from lassonet_cli.estimator import Selector

FAST = dict(max_epochs=20, path_multiplier=1.1, seed=0)
FAST_FLAGS = ["--max-epochs", "20", "--path-multiplier", "1.1"]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.standard_normal((120, 6)), columns=[f"c{i}" for i in range(6)])
    y = np.sin(2 * X["c0"]) + X["c1"] * X["c2"] + 0.1 * rng.standard_normal(120)
    path = tmp_path_factory.mktemp("mgrid") / "t.csv"
    X.assign(y=y).to_csv(path, index=False)
    return X, y.to_numpy(), path


def test_the_grid_keeps_the_best_M_and_equals_its_single_fit(table, one_thread):
    X, y, _ = table
    grid = Selector(M=[0.5, 10.0], cv=3, n_jobs=1, **FAST).fit(X, y)
    singles = {M: Selector(M=M, cv=3, n_jobs=1, **FAST).fit(X, y) for M in (0.5, 10.0)}
    assert set(grid.M_scores_) == {0.5, 10.0}
    for M, single in singles.items():
        assert grid.M_scores_[M] == (single.chosen_point_.val_score,
                                     single.chosen_point_.val_score_se)
    best = max(singles, key=lambda M: singles[M].chosen_point_.val_score)
    assert grid.options_.M == best
    assert list(grid.ranking_) == list(singles[best].ranking_)
    assert np.array_equal(grid.predict(X), singles[best].predict(X))
    path = grid.path_table()
    assert (path["M"] == best).all()
    pd.testing.assert_frame_equal(path.drop(columns="M"), singles[best].path_table())
    # a later fit with one M forgets the grid
    assert Selector(M=10.0, cv=0, **FAST).fit(X, y).M_scores_ is None


def test_the_grid_is_the_same_when_its_paths_run_in_a_pool(table, one_thread):
    """Issue 18: the paths of a grid are independent runs; in two local processes (each fit
    with its folds) the result is the one of --jobs 1, and on_runs counts the paths."""
    X, y, _ = table
    here = Selector(M=[0.5, 10.0, 3.0], cv=3, n_jobs=1, **FAST).fit(X, y)
    counted = []
    pooled = Selector(M=[0.5, 10.0, 3.0], cv=3, n_jobs=2, **FAST).fit(
        X, y, on_runs=lambda done, total: counted.append((done, total)))
    assert counted[0] == (0, 3) and counted[-1] == (3, 3)
    assert pooled.M_scores_ == here.M_scores_
    assert pooled.options_.M == here.options_.M
    assert list(pooled.ranking_) == list(here.ranking_)
    pd.testing.assert_frame_equal(pooled.path_table(), here.path_table())
    assert np.array_equal(pooled.predict(X), here.predict(X))


def test_select_reports_each_M_and_writes_the_chosen_ones_path(table, tmp_path):
    _, _, path = table
    result = invoke("select", path, "-t", "y", "--M", "0.5,10", "--cv", "3", *FAST_FLAGS,
                    "--jobs", "1", "--path-out", tmp_path / "p.csv")
    assert result.exit_code == 0, result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("chose M = "))
    chosen = float(line.split()[3].rstrip(","))
    assert "M 0.5: " in line and "M 10: " in line and "mean 3-fold r2" in line
    single = invoke("select", path, "-t", "y", "--M", f"{chosen:g}", "--cv", "3", *FAST_FLAGS,
                    "--jobs", "1", "--path-out", tmp_path / "q.csv")
    assert single.stdout == result.stdout
    pooled = invoke("select", path, "-t", "y", "--M", "0.5,10", "--cv", "3", *FAST_FLAGS,
                    "--jobs", "2", "--path-out", tmp_path / "r.csv")
    assert pooled.exit_code == 0, pooled.stderr
    assert pooled.stdout == result.stdout
    assert (tmp_path / "r.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()
    with_M = pd.read_csv(tmp_path / "p.csv")
    assert (with_M.pop("M") == chosen).all()
    pd.testing.assert_frame_equal(with_M, pd.read_csv(tmp_path / "q.csv"))


@pytest.mark.parametrize("command, M, fragment", [
    ("select", "1,x", "'x' is not a number"),
    ("select", "1,1", "lists a value twice"),
    ("select", "1,-3", "--M must be a number from 0 to 1,000,000, got -3"),
    ("path", "1,3", "lassonet path trains one path"),
])
def test_a_bad_grid_gets_one_line(table, command, M, fragment):
    _, _, path = table
    assert_clean_error(invoke(command, path, "-t", "y", "--M", M), "--M", fragment)


def test_python_grids_are_checked():
    X = np.zeros((10, 2))
    for M, fragment in (([], "empty"), (["a", 1], "must be numbers")):
        with pytest.raises(ValueError, match=fragment):
            Selector(M=M).fit(X, np.arange(10.0))


def test_an_array_of_M_is_a_grid_like_a_list(table, one_thread):
    """M=np.array([0.5, 10.0]) failed with numpy's 'truth value of an array ... is
    ambiguous'; a 0-d array is its number, and anything else is refused by name."""
    X, y, _ = table
    as_list = Selector(M=[0.5, 10.0], cv=0, n_jobs=1, **FAST).fit(X, y)
    as_array = Selector(M=np.array([0.5, 10.0]), cv=0, n_jobs=1, **FAST).fit(X, y)
    assert as_array.M_scores_ == as_list.M_scores_ and len(as_list.M_scores_) == 2
    single = Selector(M=np.array(3.0), cv=0, n_jobs=1, **FAST).fit(X, y)
    assert single.options_.M == 3.0 and single.M_scores_ is None
    for bad in (np.array([[1.0, 2.0]]), "3", True):
        with pytest.raises(ValueError, match="M must be a number or a list of numbers"):
            Selector(M=bad, **FAST).fit(X, y)
