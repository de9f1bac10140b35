"""benchmarks/survival.py: its classical rankers against hand computations, and a run at toy size
on ``tests/data/whas500.csv`` (no ``../shared``)."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sksurv")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import survival  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"


def score_test_by_loops(x: np.ndarray, time: np.ndarray, event: np.ndarray) -> float:
    """The univariate Cox score statistic U^2 / I at beta = 0, one event at a time (Breslow)."""
    U = information = 0.0
    for i in np.flatnonzero(event):
        at_risk = x[time >= time[i]]
        U += x[i] - at_risk.mean()
        information += at_risk.var()
    return U * U / information


def test_score_test_matches_a_loop_over_the_events_with_tied_times():
    rng = np.random.default_rng(0)
    n = 40
    Z = rng.normal(size=(n, 3))
    time = rng.integers(1, 12, size=n).astype(float)  # many ties
    event = rng.random(n) < 0.6
    Z[:, 0] -= 3 * time / 12  # later time, lower x: a real association
    stats = survival.score_test(Z, np.column_stack([time, event]))
    expected = [score_test_by_loops(Z[:, j], time, event) for j in range(3)]
    np.testing.assert_allclose(stats, expected, rtol=1e-10)
    assert np.argmax(stats) == 0


def test_a_constant_column_scores_zero():
    y = np.column_stack([np.arange(1.0, 7.0), [1, 0, 1, 1, 0, 1]])
    Z = np.column_stack([np.ones(6), np.arange(6.0)])
    stats = survival.score_test(Z, y)
    assert stats[0] == 0 and stats[1] > 0


def test_entry_order_is_by_entry_then_final_size_and_never_entered_last():
    # (d, n_alphas), the largest penalty first: 1 enters first, 3 and 4 together second (4
    # larger at the end), 0 third, 2 never
    coefs = np.array([
        [0, 0, 0.1, 0.2],
        [0.1, 0.3, 0.5, 0.6],
        [0, 0, 0, 0],
        [0, 0.05, 0.1, 0.1],
        [0, 0.05, -0.2, -0.4],
    ])
    assert survival.entry_order(coefs).tolist() == [1, 4, 3, 0, 2]


def test_a_run_at_toy_size_scores_every_ranker_and_the_classical_ones_beat_random(capsys):
    table = str(DATA / "whas500.csv")
    assert survival.main(["--tables", table, "--seeds", "0", "1", "--threads", "1",
                          "--rankers", "lassonet", "coxnet", "score_test", "random"]) == 0
    out = capsys.readouterr().out
    rows = {cells[0]: cells for cells in map(str.split, out.splitlines())
            if len(cells) > 2 and cells[0] in survival.RANKERS and cells[1] != "-"}
    assert set(rows) == {"lassonet", "coxnet", "score_test", "random"}
    # k=5 and k=10 (whas500 has 14 columns): mean (sd), cox k=5, cox k=10, rsf k=5, rsf k=10
    assert "## whas500 (500 rows, 215 events, 14 columns; 350 training rows; 2 seed(s))" in out
    k5 = {name: float(cells[1]) for name, cells in rows.items()}
    assert k5["score_test"] > k5["random"] + 0.02
    assert k5["coxnet"] > k5["random"] + 0.02
    assert "lassonet - random: k=5" in out and "lassonet - coxnet: k=5" in out
