"""The Cox task: partial likelihood (Breslow, Efron) and C-index against independent oracles.

Oracles: naive Python loops over risk sets and pairs written here, scikit-survival's C-index, and
scikit-survival's unpenalised Cox fit on the Worcester Heart Attack Study (``data/whas500.csv``,
500 rows, 14 features; as distributed with scikit-survival).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored
from sksurv.util import Surv

from lassonet_cli.backbones import BackboneSpec
from lassonet_cli.cox import concordance_index, cox_loss
from lassonet_cli.errors import DataError
from lassonet_cli.model import LassoNet
from lassonet_cli.splits import fold_rows, split_task_rows
from lassonet_cli.start import exit_thresholds
from lassonet_cli.tasks import Cox, make_task, task_from_dict

WHAS = Path(__file__).parent / "data" / "whas500.csv"


def naive_loss(eta, time, event, ties: str) -> float:
    """-log partial likelihood / events, one risk set and one tied-event group at a time."""
    total = 0.0
    n = len(eta)
    for t in sorted(set(time[event == 1])):
        tied = [i for i in range(n) if time[i] == t and event[i] == 1]
        risk = sum(math.exp(eta[j]) for j in range(n) if time[j] >= t)
        tied_sum = sum(math.exp(eta[i]) for i in tied)
        for rank, i in enumerate(tied):
            denominator = risk - rank / len(tied) * tied_sum if ties == "efron" else risk
            total += math.log(denominator) - eta[i]
    return total / event.sum()


def naive_c_index(risk, time, event) -> float:
    """Harrell's C over every ordered pair (i, j): i has an event and j outlived it."""
    concordant = comparable = 0.0
    for i in range(len(risk)):
        if not event[i]:
            continue
        for j in range(len(risk)):
            if time[j] > time[i] or (time[j] == time[i] and not event[j]):
                comparable += 1
                concordant += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return concordant / comparable if comparable else 0.5


def tied_sample(seed: int, n: int):
    """Few distinct times (many ties among events and with censored rows), integer risks."""
    rng = np.random.default_rng(seed)
    time = rng.integers(0, 6, n).astype(np.float64)
    event = rng.integers(0, 2, n)
    event[0] = 1
    eta = rng.normal(size=n) if seed % 2 else rng.integers(-2, 3, n).astype(np.float64)
    return eta, time, event


def as_tensors(*arrays):
    return [torch.as_tensor(a) for a in arrays]


# --- the partial likelihood -------------------------------------------------------------------


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("seed", range(8))
def test_partial_likelihood_matches_naive_loops_with_ties(ties, seed):
    eta, time, event = tied_sample(seed, 25 + 3 * seed)
    value = cox_loss(*as_tensors(eta, time, event), ties=ties)
    assert float(value) == pytest.approx(naive_loss(eta, time, event, ties), rel=1e-12)


def test_efron_and_breslow_differ_only_with_tied_events():
    eta, time, event = tied_sample(3, 40)
    efron, breslow = (float(cox_loss(*as_tensors(eta, time, event), ties=t))
                      for t in ("efron", "breslow"))
    assert efron < breslow - 1e-3  # Efron's denominators are smaller
    distinct = np.arange(40, dtype=np.float64)
    efron, breslow = (float(cox_loss(*as_tensors(eta, distinct, event), ties=t))
                      for t in ("efron", "breslow"))
    assert efron == pytest.approx(breslow, rel=1e-14)


def test_loss_ignores_a_constant_shift_and_depends_on_times_only_through_their_order():
    eta, time, event = tied_sample(5, 30)
    base = float(cox_loss(*as_tensors(eta, time, event)))
    assert float(cox_loss(*as_tensors(eta + 7.5, time, event))) == pytest.approx(base, rel=1e-12)
    stretched = np.exp(time) * 3 + 1  # same order, same ties
    assert float(cox_loss(*as_tensors(eta, stretched, event))) == pytest.approx(base, rel=1e-12)


def test_several_score_sets_are_scored_separately_and_gradients_stay_finite():
    eta, time, event = tied_sample(1, 30)
    stack = torch.tensor(np.stack([eta, -eta, 50 * eta]), requires_grad=True)
    joint = cox_loss(stack, *as_tensors(time, event))
    one_by_one = torch.stack([cox_loss(row, *as_tensors(time, event)) for row in stack])
    torch.testing.assert_close(joint, one_by_one, rtol=1e-12, atol=0)
    joint.sum().backward()
    assert torch.isfinite(stack.grad).all()
    # exp(1000) overflows; the log-sum-exp must not
    extreme = torch.tensor([1000.0, -1000.0, 0.0, 500.0], dtype=torch.float64)
    value = cox_loss(extreme, torch.tensor([1.0, 1.0, 2.0, 1.0]), torch.tensor([1, 1, 0, 1]))
    assert math.isfinite(float(value))


def test_a_batch_without_events_has_zero_loss():
    value = cox_loss(torch.randn(5), torch.arange(5.0), torch.zeros(5))
    assert float(value) == 0.0


def test_output_curvature_bounds_the_hessian_in_the_outputs():
    """Hessian of the loss in eta <= output_curvature / n, also where it is largest."""
    rng = np.random.default_rng(0)
    n = 12
    time = np.arange(n, dtype=np.float64)
    event = np.r_[np.ones(n - 2), 0, 0]
    task = Cox().fit(np.column_stack([time, event]))
    worst = np.r_[np.full(n - 2, -30.0), 30.0, 30.0]  # two late rows share every risk set
    tops = []
    for eta in [rng.normal(size=n), 3 * rng.normal(size=n), worst]:
        for ties in ("efron", "breslow"):
            hessian = torch.autograd.functional.hessian(
                lambda e, ties=ties: cox_loss(e, *as_tensors(time, event), ties=ties),
                torch.tensor(eta),
            )
            tops.append(float(torch.linalg.eigvalsh(hessian).max()))
    assert max(tops) <= task.output_curvature / n + 1e-12
    assert max(tops) > 0.9 * task.output_curvature / n  # and the bound is attained


def test_exit_thresholds_score_each_unit_without_mixing_risk_sets():
    """The batched thresholds of ``path`` equal one gradient per unit with that unit removed."""
    rng = np.random.default_rng(0)
    n, d, M = 40, 4, 3.0
    X = torch.tensor(rng.normal(size=(n, d)))
    y = np.column_stack([rng.integers(0, 10, n), rng.integers(0, 2, n)]).astype(np.float64)
    task = Cox().fit(y)
    target = task.encode(y).double()
    torch.manual_seed(0)
    model = LassoNet(d, 1, BackboneSpec.parse("mlp:5").build(d, 1)).double()
    batched = exit_thresholds(model, task, X, target, M)
    for j in range(d):
        theta = model.skip.weight.detach().clone()
        W = model.backbone.input_layer.weight.detach().clone()
        theta[:, j], W[:, j] = 0, 0  # the model with unit j removed
        theta.requires_grad_(True)
        W.requires_grad_(True)
        out = X @ theta.T + model.backbone.head(X @ W.T + model.backbone.input_layer.bias)
        g_theta, g_W = torch.autograd.grad(task.loss(out, target), (theta, W))
        expected = g_theta[:, j].norm() + M * g_W[:, j].abs().sum()
        assert batched[j] == pytest.approx(float(expected), rel=1e-9)


# --- Harrell's C-index ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_c_index_matches_a_naive_double_loop(seed):
    eta, time, event = tied_sample(seed, 1 + 9 * seed)
    value = concordance_index(*as_tensors(eta, time, event))
    assert float(value) == pytest.approx(naive_c_index(eta, time, event), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_c_index_matches_scikit_survival(seed):
    rng = np.random.default_rng(seed)
    n = 300
    time = rng.integers(1, 40, n).astype(np.float64)
    event = rng.random(n) < 0.6
    risk = np.round(rng.normal(size=n), 1)  # ties in risk too
    expected = concordance_index_censored(event, time, risk)[0]
    assert float(concordance_index(*as_tensors(risk, time, event))) == pytest.approx(
        expected, abs=1e-12)


def test_c_index_extremes():
    time = torch.arange(1.0, 7.0)
    event = torch.tensor([1, 0, 1, 1, 0, 1])
    assert float(concordance_index(-time, time, event)) == 1.0  # earlier events, higher risk
    assert float(concordance_index(time, time, event)) == 0.0
    assert float(concordance_index(torch.zeros(6), time, event)) == 0.5
    assert float(concordance_index(torch.randn(6), time, torch.zeros(6))) == 0.5  # no pairs
    # a constant model whose float32 outputs differ in the last bits by summation order
    rounded = torch.full((6,), -0.8053, dtype=torch.float32)
    rounded[::2] = torch.nextafter(rounded[::2], torch.tensor(0.0))
    assert float(concordance_index(rounded, time, event)) == 0.5


# --- the task ---------------------------------------------------------------------------------


def test_task_round_trip_and_encoding():
    y = np.array([[3.5, 1], [1.25, 0], [3.5, 0], [10.0, 1]])
    task = Cox(ties="breslow").fit(y)
    again = task_from_dict(task.to_dict())
    assert again == task and again.ties == "breslow"
    encoded = task.encode(y)
    assert encoded.dtype == torch.float32
    np.testing.assert_array_equal(encoded.numpy(), [[1, 1], [0, 0], [1, 0], [2, 1]])
    assert task_from_dict({"name": "cox"}).ties == "efron"  # a header without the option
    with pytest.raises(DataError, match="no events in the training rows"):
        Cox().fit(np.array([[1.0, 0], [2.0, 0]]))


def test_validation_split_keeps_events_on_both_sides():
    n = 60
    y = np.column_stack([np.arange(n, dtype=np.float64), np.zeros(n)])
    y[[5, 17, 40], 1] = 1
    task = make_task("cox")
    for seed in range(20):
        keep, held = split_task_rows(task, y, 0.1, np.random.default_rng(seed), "--val-fraction")
        assert y[keep, 1].sum() >= 1 and y[held, 1].sum() >= 1


def test_cross_validation_folds_keep_events_in_every_fold():
    n = 90
    y = np.column_stack([np.arange(n, dtype=np.float64), np.zeros(n)])
    y[[3, 40, 41], 1] = 1  # three events, three folds: one event each
    strata = make_task("cox").strata(y)
    for seed in range(10):
        folds = fold_rows(strata, 3, True, seed)
        assert [int(y[fold, 1].sum()) for fold in folds] == [1, 1, 1]


# --- the oracle: unpenalised Cox regression on whas500 ----------------------------------------


@pytest.fixture(scope="module")
def whas500():
    df = pd.read_csv(WHAS)
    X = df.drop(columns=["time", "event"]).to_numpy(dtype=np.float64)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, df[["time", "event"]].to_numpy(dtype=np.float64)


def fit_dense_linear(X: np.ndarray, y: np.ndarray, ties: str) -> np.ndarray:
    """The dense LassoNet (lambda = 0) with a linear backbone, trained to convergence by LBFGS
    on the task's loss; returns the skip weights (the Cox coefficients)."""
    task = Cox(ties=ties).fit(y)
    X_t, y_t = torch.tensor(X), task.encode(y).double()
    torch.manual_seed(0)
    model = LassoNet(X.shape[1], 1, BackboneSpec.parse("linear").build(X.shape[1], 1)).double()
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=500, tolerance_grad=1e-12,
                            tolerance_change=1e-15, history_size=50,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = task.loss(model(X_t), y_t)
        loss.backward()
        return loss

    opt.step(closure)
    return model.skip.weight.detach().numpy()[0]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_dense_linear_model_is_the_cox_fit_of_scikit_survival(whas500, ties):
    X, y = whas500
    theta = fit_dense_linear(X, y, ties)
    surv = Surv.from_arrays(y[:, 1] > 0, y[:, 0])
    expected = CoxPHSurvivalAnalysis(alpha=0, ties=ties, tol=1e-12, n_iter=200).fit(X, surv)
    np.testing.assert_allclose(theta, expected.coef_, atol=1e-5)
    # whas500 has tied event times: the other tie method is measurably elsewhere
    other = "breslow" if ties == "efron" else "efron"
    elsewhere = CoxPHSurvivalAnalysis(alpha=0, ties=other, tol=1e-12, n_iter=200).fit(X, surv)
    assert np.abs(theta - elsewhere.coef_).max() > 1e-4
