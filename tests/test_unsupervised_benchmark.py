"""``benchmarks/unsupervised.py``: its rankers against hand-computed examples, and a toy run.

The Laplacian score and principal feature analysis are written for the benchmark, so they are
checked here on examples small enough to work out by hand; the toy run (``--quick``: a
synthetic 240 x 12 table of three latent factors copied into noisy columns, plus four noise
columns) checks that every ranker is scored at every k and that the rankings are the ones the
table's construction dictates.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import compare_reference as cr  # noqa: E402
import unsupervised as ub  # noqa: E402

FACTORS = [["f0_0", "f0_1", "f0_2"], ["f1_0", "f1_1", "f1_2"], ["f2_0", "f2_1"]]
NOISE = ["noise0", "noise1", "noise2", "noise3"]


# --- Laplacian score ---------------------------------------------------------------------------


def test_laplacian_score_of_two_pairs_is_zero_for_the_column_that_splits_them():
    # rows 0,1 and rows 2,3 are each other's nearest neighbours: two edges of weight w.
    # column 0 = (0, 0, 10, 10) is constant on each edge: score 0.  Column 1 = (0, 1, 0, 1):
    # D = w I, mean 1/2, f~ = (-1/2, 1/2, -1/2, 1/2); f~^T L f~ = w (1 + 1) = 2w and
    # f~^T D f~ = 4 w / 4 = w: score 2, whatever t.
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    for t in (0.5, 1.0, 7.0, None):
        np.testing.assert_allclose(ub.laplacian_score(X, n_neighbors=1, t=t), [0.0, 2.0],
                                   atol=1e-12)


def test_laplacian_score_on_a_chain_with_unequal_weights():
    # rows (0, 0), (0, 1), (0, 3) with one neighbour each: 0-1 (d^2 = 1) and 2-1 (d^2 = 4), so
    # edges 0-1 of weight a = exp(-1/t) and 1-2 of weight b = exp(-4/t).  Column 1, f = (0, 1, 3):
    # D = diag(a, a + b, b), mean m = ((a + b) + 3 b) / (2a + 2b),
    # f~^T L f~ = a (1 - 0)^2 + b (3 - 1)^2, f~^T D f~ = a m^2 + (a + b)(1 - m)^2 + b (3 - m)^2.
    X = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    t = 4.0
    a, b = math.exp(-1 / t), math.exp(-4 / t)
    m = ((a + b) + 3 * b) / (2 * a + 2 * b)
    expected = (a + 4 * b) / (a * m**2 + (a + b) * (1 - m) ** 2 + b * (3 - m) ** 2)
    scores = ub.laplacian_score(X, n_neighbors=1, t=t)
    assert math.isnan(scores[0])  # column 0 is constant: no score
    assert scores[1] == pytest.approx(expected, rel=1e-12)
    # the default t is the mean squared distance over the edges: (1 + 4) / 2
    np.testing.assert_allclose(ub.laplacian_score(X, n_neighbors=1),
                               ub.laplacian_score(X, n_neighbors=1, t=2.5))


def test_laplacian_ranking_puts_smooth_columns_first_and_constant_ones_last():
    split = _toy_split(0)
    split.Z_train[:, 0] = 0.0  # make f0_0 constant
    order = [split.columns[j] for j in ub.rank_laplacian(split, 0)]
    assert order[-1] == "f0_0"


# --- principal feature analysis ----------------------------------------------------------------


def _two_directions() -> np.ndarray:
    # columns a, a, b, b with a = 2 (1, -1, 1, -1) and b = (1, 1, -1, -1): Z^T Z has
    # eigenvalues 32 (a's direction, vector (1, 1, 0, 0) / sqrt 2) and 8 (b's, (0, 0, 1, 1) /
    # sqrt 2), so the rows of A_2 are (1/sqrt 2, 0) twice and (0, 1/sqrt 2) twice (up to sign)
    a = 2.0 * np.array([1, -1, 1, -1])
    b = np.array([1.0, 1, -1, -1])
    return np.column_stack([a, a, b, b])


def test_pfa_keeps_one_column_of_each_duplicated_pair():
    order = ub.pfa_select(_two_directions(), k=2, q=2)
    assert sorted(order[:2].tolist()) == [0, 2]  # one per cluster, ties to the lower index
    assert sorted(order.tolist()) == [0, 1, 2, 3]


def test_pfa_q_is_the_fewest_components_keeping_the_variance_share():
    Z = _two_directions()  # variance shares 0.8 and 0.2
    A, q = ub.pfa_components(Z)
    assert q == 2 and A.shape == (4, 4)  # 0.9 needs both
    np.testing.assert_allclose(np.abs(A[:, 0]), [2**-0.5, 2**-0.5, 0, 0], atol=1e-12)
    assert ub.pfa_components(Z, share=0.8)[1] == 1


def test_pfa_with_three_directions_and_noise_keeps_one_per_direction():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((200, 3))
    columns = [base[:, 0], base[:, 0], base[:, 1], base[:, 1], base[:, 1], base[:, 2]]
    Z = np.column_stack([c + 1e-3 * rng.standard_normal(200) for c in columns])
    chosen = set(ub.pfa_select(Z - Z.mean(axis=0), k=3, q=3)[:3].tolist())
    assert len(chosen & {0, 1}) == 1 and len(chosen & {2, 3, 4}) == 1 and 5 in chosen


# --- learners ----------------------------------------------------------------------------------


def test_pooled_r2_is_one_minus_sse_over_sst_over_all_columns():
    Z = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 2.0]])
    Zhat = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 2.0]])
    # SSE = 1 + 1 + 1 = 3; SST = (4 + 0 + 4) + (1 + 1 + 0) = 10
    assert ub.pooled_r2(Z, Zhat) == pytest.approx(0.7)
    assert ub.pooled_r2(np.ones((3, 2)), np.ones((3, 2))) == 1.0


def test_all_columns_reconstruct_the_table():
    split = _toy_split(0)
    assert ub.Downstream(split, 0).r2(list(range(split.d))) > 0.999
    assert ub.Downstream(split, 0).r2raw(list(range(split.d))) > 0.999


def test_r2raw_weighs_each_column_by_its_variance():
    """The toy's last four columns are noise, each rebuilding only itself, and scaled by
    2**8 .. 2**11 they hold almost all of the raw variance: in their own units they rebuild
    the table (R^2 = their share, ~0.99), standardised only their 4 of 12 columns."""
    split = _toy_split(0)
    noise = [split.columns.index(c) for c in NOISE]
    downstream = ub.Downstream(split, 0)
    assert downstream.r2raw(noise) > 0.95
    assert downstream.r2(noise) < 0.4


# --- the toy run -------------------------------------------------------------------------------


def _toy_split(seed: int) -> cr.Split:
    table = ub.toy_table()
    return cr.make_split(table.spec, table.X, table.y, seed)


@pytest.mark.parametrize("seed", [0, 1])
def test_toy_rankings_are_the_ones_the_construction_dictates(seed):
    split = _toy_split(seed)

    def names(order, k):
        return [split.columns[j] for j in order[:k]]

    # raw variances grow fourfold per column: the reverse column order
    assert names(ub.rank_variance(split, seed), 12) == split.columns[::-1]
    # the factor columns are smooth on the neighbour graph, the noise is not; the factors
    # copied three times dominate the distances, so their columns come first
    laplacian = ub.rank_laplacian(split, seed)
    assert set(names(laplacian, 6)) == {*FACTORS[0], *FACTORS[1]}
    assert set(names(laplacian, 8)) == {c for group in FACTORS for c in group}
    # PFA: the rows of A_q fall into four groups: one per factor and the noise columns near
    # the origin (the first three directions are the factors').  At k = 3 (q = 3) k-means
    # must merge two groups, and the cheapest merger is the noise (4 rows at ~0) with a
    # three-column factor (rows at norm 1/sqrt 3; cost 4*3/7 * 1/3 = 0.57, against 0.67 with
    # the two-column factor): the column nearest that centre is a noise column.  At k = 4
    # (q = 4) each group gets its centre; at k = 6 (q = 6, the 90% of the variance) the three
    # factors once each and three of the four noise columns
    for k, expected in ((3, [1, 1, 1]), (4, [1, 1, 1, 1]), (6, [1, 1, 1, 3])):
        chosen = set(names(ub.rank_pfa(split, seed, k), k))
        counts = [len(chosen & set(g)) for g in [*FACTORS, NOISE]]
        if k == 3:
            assert sorted(counts[:2]) == [0, 1] and counts[2:] == expected[1:]
        else:
            assert counts == expected


def test_quick_run_scores_every_ranker_at_every_k(tmp_path, capsys):
    out = tmp_path / "runs.json"
    assert ub.main(["--quick", "--trees", "20", "--json-out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = printed.split("## toy", 1)[1].split("\n\n")[0].splitlines()
    listed = [line.split()[0] for line in table[3:3 + len(ub.RANKERS)]]
    assert listed == list(ub.RANKERS)
    assert "r2@3" in table[1] and "acc@6" in table[1]
    assert "## summary: issue 19's bar" in printed
    assert any(line.startswith("toy: ") for line in printed.splitlines())
    runs = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert sorted((r["ranker"], r["seed"]) for r in runs) == sorted(
        (r, s) for r in ub.RANKERS for s in (0, 1))
    for run in runs:
        assert set(run["scores"]) == set(ub.METRICS)
        for by_k in run["scores"].values():
            assert set(by_k) == {"3", "6"}
            assert all(math.isfinite(v) for v in by_k.values())
        assert all(v <= 1.0 for v in run["scores"]["r2"].values())
    # ours on the toy: its top 3 are factor columns, not noise
    for run in (r for r in runs if r["ranker"] == ub.OURS):
        assert not set(run["top"][:3]) & set(NOISE)


def test_ours_with_drop_blank_withholds_the_near_blank_columns_and_ranks_them_last():
    split = _toy_split(0)
    blank = np.zeros(len(split.train_raw))
    blank[:3] = 1.0  # at its minimum on all but 3 rows
    split.train_raw["f0_0"] = blank
    order = ub.rank_lassonet(split, 0, {"max_epochs": 20}, drop_blank=0.95)
    assert sorted(order.tolist()) == list(range(split.d))
    assert split.columns[order[-1]] == "f0_0"


def test_a_ranker_that_fails_is_reported_and_the_bar_is_not_met(monkeypatch, capsys):
    def diverge(split, seed, options, drop_blank=None):
        if seed == 1:
            raise RuntimeError("training diverged")
        return np.arange(split.d)

    monkeypatch.setattr(ub, "rank_lassonet", diverge)
    assert ub.main(["--quick", "--trees", "5", "--rankers", "lassonet", "laplacian",
                    "random"]) == 1
    printed = capsys.readouterr().out
    assert "FAILED: lassonet on seed 1: RuntimeError: training diverged" in printed
    assert "lassonet (1 seeds)" in printed
    assert "toy: NOT met with standardised R^2 (r2) and acc; NOT met with R^2 in the columns' " \
        "own units (r2raw) and acc" in printed and "ours ran on 1 of 2 seeds" in printed
