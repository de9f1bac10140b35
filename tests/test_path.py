"""The path driver and the pure functions of a Path (ranking, choosing a point, the table)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lassonet_cli import defaults
from lassonet_cli.backbones import BackboneSpec
from lassonet_cli.errors import ConfigError
from lassonet_cli.exits import MAX_REFINE, SPLIT_BELOW, allowed_exits, exit_window, settle_rounds
from lassonet_cli.model import LassoNet
from lassonet_cli.optim import Adam
from lassonet_cli.path import START_STEP, StateKeeper, lassonet_path
from lassonet_cli.pathconfig import PathConfig
from lassonet_cli.pathresult import (
    Path,
    PathPoint,
    choose_point,
    elimination_lambdas,
    path_records,
    ranking,
)
from lassonet_cli.tasks import Classification, Regression
from lassonet_cli.training import Data, Stepper, Trainer, dense_optimizer, train_at_lambda


def make_path(norm_rows, lambdas=None, scores=None, names=None) -> Path:
    """A Path from a (points x units) array of ||theta|| values."""
    norm_rows = np.asarray(norm_rows, dtype=float)
    n_points, n_units = norm_rows.shape
    lambdas = lambdas if lambdas is not None else [0.0] + [2.0**i for i in range(n_points - 1)]
    scores = scores if scores is not None else [0.5] * n_points
    names = names or [f"f{j}" for j in range(n_units)]
    points = []
    previous = np.ones(n_units, dtype=bool)
    for i in range(n_points):
        active = norm_rows[i] > 0
        points.append(
            PathPoint(
                lambda_=lambdas[i], k=int(active.sum()), train_loss=1.0, val_loss=1.0,
                val_score=scores[i], epochs=1,
                eliminated=tuple(int(j) for j in np.flatnonzero(previous & ~active)),
                norms=norm_rows[i],
            )
        )
        previous = active
    return Path(names, points, "r2", lambdas[1] if n_points > 1 else 0.0)


# --- pure functions ---------------------------------------------------------------------------


def test_elimination_lambda_is_the_lambda_where_a_unit_leaves_for_good():
    """A unit that leaves and comes back is credited with its last exit."""
    path = make_path(
        [[1, 1, 1], [1, 0, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]],
        lambdas=[0.0, 1.0, 2.0, 4.0, 8.0],
    )
    assert elimination_lambdas(path).tolist() == [8.0, 4.0, 2.0]


def test_units_alive_at_the_end_of_a_truncated_path_get_inf():
    path = make_path([[1, 1], [1, 0]], lambdas=[0.0, 1.0])
    assert elimination_lambdas(path).tolist() == [math.inf, 1.0]


def test_ranking_orders_by_exit_then_last_norm_then_name():
    # f1 and f2 leave together at lambda 2; f2 was larger just before; f0 and f3 tie fully
    path = make_path(
        [[1, 1, 1, 1], [1, 0.1, 0.5, 1], [0.7, 0, 0, 0.7], [0, 0, 0, 0]],
        lambdas=[0.0, 1.0, 2.0, 4.0],
        names=["b", "c", "d", "a"],
    )
    assert [path.unit_names[j] for j in ranking(path)] == ["a", "b", "d", "c"]


def test_choose_point_best_prefers_the_sparser_point_on_ties():
    path = make_path([[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]], scores=[0.8, 0.9, 0.9, 0.1])
    assert choose_point(path, "best") == 2


def test_choose_point_k_takes_the_most_features_not_above_k_then_best_score():
    path = make_path(
        [[1, 1, 1], [1, 1, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0]],
        scores=[0.9, 0.6, 0.7, 0.95, 0.0],
    )
    assert choose_point(path, k=2) == 2
    assert choose_point(path, k=1) == 3
    assert choose_point(path, k=10) == 0


def test_choose_point_rejects_impossible_requests():
    path = make_path([[1, 1], [1, 0]])
    with pytest.raises(ConfigError):
        choose_point(path, k=0)
    with pytest.raises(ConfigError):
        choose_point(path, "1se")


def test_path_records_name_the_eliminated_features():
    path = make_path([[1, 1, 1], [1, 0, 0], [0, 0, 0]], names=["a", "b", "c"])
    records = path_records(path)
    assert [r["eliminated"] for r in records] == ["", "b;c", "a"]
    assert [r["k"] for r in records] == [3, 1, 0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=2, max_size=12),
    st.lists(st.sampled_from([0.1, 0.5, 0.9]), min_size=12, max_size=12),
    st.one_of(st.none(), st.integers(0, 5)),
)
def test_state_keeper_keeps_the_state_of_the_chosen_point(ks, scores, k):
    """The copy kept during the run is the model at choose_point of the finished path."""
    ks = sorted(ks, reverse=True)
    rows = [[1.0] * kk + [0.0] * (5 - kk) for kk in ks]
    path = make_path(rows, scores=scores[: len(ks)])
    model = LassoNet(5, 1, BackboneSpec.parse("linear").build(5, 1))
    keeper = StateKeeper(path.unit_names, "best", k)
    for i, point in enumerate(path.points):
        with torch.no_grad():
            model.backbone.bias.fill_(i)
        keeper(point, model)
    if k is not None and min(ks) > k:
        assert keeper.state is None
        return
    chosen = choose_point(path, "best", k)
    assert keeper.index == chosen
    assert keeper.state["backbone.bias"].item() == chosen


# --- training ---------------------------------------------------------------------------------


def lasso_cd(X: np.ndarray, y: np.ndarray, lam: float, sweeps: int = 5000) -> np.ndarray:
    """Independent lasso: minimise mean((y - X b)^2) + lam * ||b||_1 by coordinate descent."""
    n, d = X.shape
    beta = np.zeros(d)
    col_sq = (X**2).sum(axis=0) / n
    residual = y.copy()
    for _ in range(sweeps):
        largest = 0.0
        for j in range(d):
            rho = X[:, j] @ residual / n + col_sq[j] * beta[j]
            new = np.sign(rho) * max(abs(rho) - lam / 2, 0.0) / col_sq[j]
            residual -= X[:, j] * (new - beta[j])
            largest = max(largest, abs(new - beta[j]))
            beta[j] = new
        if largest < 1e-13:
            break
    return beta


def standardised_problem(seed: int = 0, n: int = 300, d: int = 8):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, 1] += 0.6 * X[:, 0]  # correlated columns make the lasso non-trivial
    y = X @ np.array([1.5, -1.0, 0.0, 0.5, 0.0, 0.0, 0.2, 0.0]) + 0.5 * rng.standard_normal(n)
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    return X, y


@pytest.mark.parametrize("backbone, M", [("linear", 10.0), ("mlp:16", 0.0)])
def test_fixed_lambda_training_solves_the_lasso(backbone, M):
    """Linear backbone (any M), or any backbone with M = 0: the skip layer is the lasso."""
    X, y = standardised_problem()
    lam = 0.15
    beta = lasso_cd(X, y, lam)
    assert 0 < (beta != 0).sum() < len(beta)  # the oracle solution is really sparse
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64).unsqueeze(1)
    torch.manual_seed(0)
    model = LassoNet(8, 1, BackboneSpec.parse(backbone).build(8, 1)).double()
    config = PathConfig(M=M, max_epochs=1500, patience=1500, tol=1.0)
    train_at_lambda(model, Regression(), Xt, yt, Xt, yt, lam, config, torch.Generator())
    theta = model.skip.weight.detach().numpy()[0]
    np.testing.assert_allclose(theta, beta, atol=1e-6)
    assert ((theta == 0) == (beta == 0)).all()


def small_classification(seed: int = 0, n: int = 240, d: int = 6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = ((X[:, 0] + X[:, 1] ** 2 - 1) > 0).astype(int)
    task = Classification().fit(y)
    return torch.from_numpy(X), task.encode(y), task


def run_small_path(seed: int = 0, **overrides) -> Path:
    X, y, task = small_classification()
    torch.manual_seed(seed)
    model = LassoNet(6, 2, BackboneSpec.parse("mlp:16").build(6, 2))
    config = PathConfig(dense_max_epochs=200, dense_patience=20, **overrides)
    names = [f"x{j}" for j in range(6)]
    return lassonet_path(model, task, X[:200], y[:200], X[200:], y[200:], names, config,
                         torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def small_path() -> Path:
    return run_small_path()


def test_path_is_nested_and_ends_empty(small_path):
    ks = [p.k for p in small_path.points]
    assert small_path.points[0].lambda_ == 0 and ks[0] == 6
    assert all(a >= b for a, b in zip(ks, ks[1:], strict=False))
    assert ks[-1] == 0
    eliminated = [j for p in small_path.points for j in p.eliminated]
    assert sorted(eliminated) == list(range(6))
    for p in small_path.points:  # eliminated units really have zero skip weights
        assert (p.norms[list(p.eliminated)] == 0).all()


def test_lambdas_grow_geometrically_with_refined_steps_where_units_leave(small_path):
    """Each step is the multiplier or one of its square roots (at most MAX_REFINE finer), and
    a point removes more than the allowed units only at the finest step."""
    multiplier = PathConfig().path_multiplier
    # points split from one that removed several units repeat its lambda: keep the last of each
    points = [p for i, p in enumerate(small_path.points[1:], 1)
              if i + 1 == len(small_path.points) or small_path.points[i + 1].lambda_ != p.lambda_]
    lambdas = np.array([p.lambda_ for p in points])
    assert lambdas[0] == pytest.approx(small_path.lambda_start)
    exponents = np.log(lambdas[1:] / lambdas[:-1]) / math.log(multiplier)
    halvings = -np.log2(exponents)
    np.testing.assert_allclose(halvings, np.round(halvings), atol=1e-6)
    assert (np.round(halvings) >= 0).all()
    assert (2.0 ** np.round(halvings) <= MAX_REFINE).all()
    finest = 1 / 2 ** math.floor(math.log2(MAX_REFINE))
    for before, point, exponent in zip(points[:-1], points[1:], exponents, strict=True):
        if before.k - point.k > allowed_exits(before.k):
            assert exponent == pytest.approx(finest)


def test_crowded_exits_are_refined():
    """With a coarse multiplier, several features would leave together; the refinement
    splits them over more points than the unrefined grid has."""
    path = run_small_path(path_multiplier=2.0)
    assert max(len(p.eliminated) for p in path.points[1:]) <= 2
    lambdas = np.array([p.lambda_ for p in path.points[1:]])
    ratios = lambdas[1:] / lambdas[:-1]
    assert min(ratios) < 1.5  # some step was refined


def test_auto_lambda_start_is_just_before_the_first_exit(small_path):
    """Few points pass before the first feature leaves: one climb step is a few points."""
    first_exit = next(i for i, p in enumerate(small_path.points) if p.k < 6)
    steps_per_climb = math.log(START_STEP) / math.log(PathConfig().path_multiplier)
    assert 1 <= first_exit <= 1 + math.ceil(steps_per_climb)


def test_relaxation_changes_the_models_not_the_selection():
    """The relaxed models are trained beside the path: every unit leaves at the same lambda
    with and without them."""
    relaxed, penalised = run_small_path(), run_small_path(relax=False)
    lambdas = elimination_lambdas(relaxed)
    np.testing.assert_array_equal(lambdas, elimination_lambdas(penalised))
    # units leaving at one lambda are ordered by backward elimination on the model before
    # them: the relaxed one, or the penalised one without relaxed models
    assert [lambdas[j] for j in ranking(relaxed)] == [lambdas[j] for j in ranking(penalised)]


def test_relaxed_models_are_not_shrunk():
    """On a linear signal the path drops the last two features at once; the relaxed path has a
    point with x0 alone that explains what x0 can (R^2 9/13), and at every k where both paths
    have a point the relaxed model validates at least as well as the penalised one."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5)).astype(np.float32)
    y = 3 * X[:, 0] + 2 * X[:, 1] + 0.1 * rng.standard_normal(300)
    task = Regression().fit(y)
    X_t, y_t = torch.from_numpy(X), task.encode(y)
    scores = {}
    for relax in (True, False):
        torch.manual_seed(0)
        model = LassoNet(5, 1, BackboneSpec.parse("mlp:8").build(5, 1))
        path = lassonet_path(model, task, X_t[:240], y_t[:240], X_t[240:], y_t[240:],
                             [f"x{j}" for j in range(5)],
                             PathConfig(dense_max_epochs=200, relax=relax), torch.Generator())
        scores[relax] = {}
        for p in path.points[1:]:
            scores[relax][p.k] = max(scores[relax].get(p.k, -np.inf), p.val_score)
    assert scores[True][1] > 0.6
    shared = set(scores[True]) & set(scores[False]) - {0}
    assert shared
    for k in shared:
        assert scores[True][k] >= scores[False][k] - 0.02, k


@pytest.mark.parametrize("relax", [True, False])
def test_every_point_has_a_finite_score_the_empty_one_too(relax):
    """A relaxed path skips the penalised fits' scores (the relaxed models' replace them) but
    must still score the empty model; no NaN reaches a point."""
    path = run_small_path(relax=relax)
    assert path.points[-1].k == 0
    for p in path.points:
        assert math.isfinite(p.val_score) and math.isfinite(p.val_loss), p


def test_relaxed_fits_are_counted():
    relaxed, penalised = run_small_path(), run_small_path(relax=False)
    assert sum(p.relax_epochs for p in relaxed.points) > 0
    assert sum(p.relax_epochs for p in penalised.points) == 0


def test_relaxed_models_use_only_the_points_features():
    seen = []

    def record(point, model):
        W = model.backbone.input_layer.weight.detach()
        theta = model.skip.weight.detach()
        seen.append((point.active.copy(), theta.abs().sum(0) > 0, W.abs().sum(0) > 0,
                     (W.abs().amax(0) <= 10.0 * theta.norm(dim=0) + 1e-6).all()))

    X, y, task = small_classification()
    torch.manual_seed(0)
    model = LassoNet(6, 2, BackboneSpec.parse("mlp:16").build(6, 2))
    lassonet_path(model, task, X[:200], y[:200], X[200:], y[200:], [f"x{j}" for j in range(6)],
                  PathConfig(dense_max_epochs=200, dense_patience=20), torch.Generator(),
                  on_point=record)
    assert len(seen) > 3
    for active, theta_alive, W_alive, hierarchy in seen[1:]:
        assert not (theta_alive & ~torch.as_tensor(active)).any()
        assert not (W_alive & ~torch.as_tensor(active)).any()
        assert hierarchy


def test_the_informative_features_leave_last(small_path):
    top = {small_path.unit_names[j] for j in ranking(small_path)[:2]}
    assert top == {"x0", "x1"}


def test_same_seed_same_path_different_seed_different_path(small_path):
    again = run_small_path(0)
    assert path_records(again) == path_records(small_path)
    other = run_small_path(1)
    assert path_records(other) != path_records(small_path)


def test_invalid_config_is_rejected():
    for bad in (dict(M=-1.0), dict(path_multiplier=1.0), dict(lambda_start=0.0),
                dict(patience=0), dict(optimizer="rmsprop"), dict(lr=-1.0),
                dict(batch_size=0), dict(M=math.inf)):
        with pytest.raises(ConfigError):
            PathConfig(**bad).validate()


def test_one_standard_error_rule_takes_the_sparsest_point_within_one_se_of_the_best():
    path = make_path([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]],
                     scores=[0.80, 0.90, 0.86, 0.84, 0.5])
    for point, se in zip(path.points, [0.01, 0.05, 0.02, 0.02, 0.01], strict=True):
        point.val_score_se = se
    assert choose_point(path, "best") == 1
    # best 0.90 with se 0.05: threshold 0.85, the sparsest point above it is index 2
    assert choose_point(path, "1se") == 2
    path.points[1].val_score_se = 0.07  # threshold 0.83: index 3 qualifies
    assert choose_point(path, "1se") == 3
    path.points[1].val_score_se = None
    with pytest.raises(ConfigError):
        choose_point(path, "1se")


def test_a_fixed_lambda_grid_is_followed():
    grid = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6]
    X, y, task = small_classification()
    torch.manual_seed(0)
    model = LassoNet(6, 2, BackboneSpec.parse("mlp:16").build(6, 2))
    path = lassonet_path(model, task, X[:200], y[:200], X[200:], y[200:],
                         [f"x{j}" for j in range(6)],
                         PathConfig(dense_max_epochs=100, dense_patience=10),
                         torch.Generator(), lambdas=grid)
    lambdas = [p.lambda_ for p in path.points[1:]]
    assert lambdas == grid[: len(lambdas)]
    assert path.points[-1].k == 0 or len(lambdas) == len(grid)


def test_divergence_is_an_error_not_a_ranking():
    """A step size far too large must stop the path, not turn NaN weights into eliminations."""
    from lassonet_cli.errors import TrainingError

    with pytest.raises(TrainingError, match="set a smaller lr$"):
        run_small_path(lr=1e6, lambda_start=0.01)


def test_extreme_validation_rows_are_named_as_the_cause_not_the_step_size():
    """A validation row far outside the training rows' range (3e38 among standardised
    values: what a column constant in the training rows leaves of such a value) makes the
    validation loss non-finite while training is fine: the error must say so rather than
    suggest a smaller --lr."""
    from lassonet_cli.errors import TrainingError

    X, y, task = small_classification()
    X_val = X[200:].clone()
    X_val[0] = 3e38
    torch.manual_seed(0)
    model = LassoNet(6, 2, BackboneSpec.parse("mlp:16").build(6, 2))
    with pytest.raises(TrainingError, match="validation rows hold values far outside") as info:
        lassonet_path(model, task, X[:200], y[:200], X_val, y[200:], [f"x{j}" for j in range(6)],
                      PathConfig(dense_max_epochs=20), torch.Generator().manual_seed(0))
    assert "--lr" not in str(info.value)


def test_extreme_validation_rows_along_the_path_are_not_retried_as_divergence():
    """Along the path a non-finite validation loss with sound weights and a finite training
    loss stops at once with the validation-rows error, keeping the step size (no halvings)."""
    from lassonet_cli.errors import TrainingError

    X, y, task = small_classification()
    torch.manual_seed(0)
    model = LassoNet(6, 2, BackboneSpec.parse("mlp:16").build(6, 2))
    config = PathConfig(dense_max_epochs=20).resolved(200)
    X_val = X[200:].clone()
    data = Data(X[:200], y[:200], X_val, y[200:], config, torch.Generator().manual_seed(0))
    trainer = Trainer(model, task, data, config)
    trainer.dense()
    stepper = Stepper(trainer, lr=1e-3)
    X_val[0] = 3e38  # the validation rows turn extreme after the dense point
    with pytest.raises(TrainingError, match="validation rows hold values far outside"):
        stepper.fit(0.01)
    assert stepper.lr == 1e-3


def test_units_leaving_together_get_a_point_each_in_ranking_order():
    """A point that removes several units is split into one point per unit (same lambda,
    weakest first, each with its relaxed model), so every k below SPLIT_BELOW has a point and
    the path's order agrees with the ranking."""
    path = run_small_path(path_multiplier=3.0)
    ks = [p.k for p in path.points]
    assert set(ks) == set(range(7))  # every k has a point
    assert all(len(p.eliminated) <= 1 for p in path.points[1:])
    leaving = [p.eliminated[0] for p in path.points[1:] if p.eliminated]
    assert leaving[::-1] == ranking(path)
    relaxed_scores = [p.val_score for p in path.points[1:-1]]
    assert len(set(relaxed_scores)) > 1  # each point has its own relaxed model


def test_split_points_share_the_lambda_of_the_point_they_split():
    path = run_small_path(path_multiplier=3.0)
    lambdas = [p.lambda_ for p in path.points[1:]]
    assert len(set(lambdas)) < len(lambdas)
    assert all(a <= b for a, b in zip(lambdas, lambdas[1:], strict=False))


# --- the path trains only the features still in --------------------------------------------


def _model_with_dead_columns(dead: list[int], seed: int = 0) -> tuple[LassoNet, torch.Tensor]:
    torch.manual_seed(seed)
    model = LassoNet(8, 3, BackboneSpec.parse("mlp:16,4").build(8, 3))
    keep = torch.ones(8)
    keep[dead] = 0.0
    with torch.no_grad():
        model.skip.weight.mul_(keep)
        model.backbone.input_layer.weight.mul_(keep)
    return model, keep


def test_forward_on_alive_columns_equals_the_full_forward():
    model, keep = _model_with_dead_columns([1, 4, 5])
    columns = model.alive_columns(keep)
    assert columns.tolist() == [0, 2, 3, 6, 7]
    x = torch.randn(20, 8)
    x[:, [1, 4, 5]] = 1e3  # a dead feature's values must not matter
    torch.testing.assert_close(model(x[:, columns], columns), model(x), rtol=1e-5, atol=1e-5)
    assert model.alive_columns(torch.ones(8)) is None  # nothing to leave out


def test_alive_columns_leaves_the_index_out_where_it_would_not_pay():
    """With the rows of a step given, the dead columns are left out only when that saves at
    least MIN_SAVED_PRODUCTS multiply-adds (columns out x rows x (hidden + outputs))."""
    from lassonet_cli.model import MIN_SAVED_PRODUCTS

    model, keep = _model_with_dead_columns([1, 4, 5])
    width = model.skip.out_features + model.backbone.input_layer.out_features
    enough = -(-MIN_SAVED_PRODUCTS // (3 * width))  # rows at which 3 columns out pay
    assert model.alive_columns(keep).tolist() == [0, 2, 3, 6, 7]  # no rows: always the index
    assert model.alive_columns(keep, enough - 1) is None
    assert model.alive_columns(keep, enough).tolist() == [0, 2, 3, 6, 7]
    assert model.alive_columns(torch.ones(8), 10**9) is None


def test_path_on_a_row_index_equals_the_path_on_copied_rows():
    """``rows`` reads the training rows out of the whole table, batch by batch: the same
    batches, so the same path as on a copy of those rows."""
    X, y, task = small_classification()
    rows = torch.randperm(len(X), generator=torch.Generator().manual_seed(1))
    train, held = rows[:200], rows[200:]
    names = [f"x{j}" for j in range(6)]
    paths = []
    for by_index in (True, False):
        torch.manual_seed(0)
        model = LassoNet(6, 2, BackboneSpec.parse("mlp:16").build(6, 2))
        config = PathConfig(dense_max_epochs=30, batch_size=64)
        X_train = X if by_index else X[train]
        paths.append(lassonet_path(model, task, X_train, y[train], X[held], y[held], names,
                                   config, torch.Generator().manual_seed(0),
                                   rows=train if by_index else None))
    indexed, copied = paths
    assert [p.lambda_ for p in indexed.points] == [p.lambda_ for p in copied.points]
    for a, b in zip(indexed.points, copied.points, strict=True):
        np.testing.assert_array_equal(a.norms, b.norms)


def test_relaxed_fit_keeps_its_best_epoch():
    """Validation rows that contradict the training rows: every epoch makes the validation loss
    worse, so a fit that keeps its best epoch ends where it started (the starting weights,
    projected onto the features in), and reports that validation loss."""
    from lassonet_cli.optim import Adam

    rng = np.random.default_rng(0)
    X = torch.as_tensor(rng.standard_normal((200, 4)), dtype=torch.float32)
    y = X[:, :1] * 2.0
    task = Regression()
    task.fit(y.numpy().ravel())
    torch.manual_seed(0)
    model = LassoNet(4, 1, BackboneSpec.parse("mlp:8").build(4, 1))
    config = PathConfig().resolved(150)
    trainer = Trainer(model, task, Data(X[:150], y[:150], X[150:], -y[150:], config,
                                        torch.Generator().manual_seed(0)), config)
    keep = torch.tensor([1.0, 1.0, 1.0, 0.0])
    model.prox_(0.0, config.M, keep)
    start = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        start_loss = float(task.loss(model(X[150:]), -y[150:]))
    epochs, _, val_loss, _ = trainer.fit(Adam(model.parameters(), lr=1e-2), 0.0, 0.0, 50, 3,
                                         keep, restore_best=True)
    assert epochs >= 3
    assert val_loss == pytest.approx(start_loss, rel=1e-6)
    for before, after in zip(start, model.parameters(), strict=True):
        torch.testing.assert_close(after.detach(), before)
    # without it the fit ends on its last, worse epoch
    trainer.fit(Adam(model.parameters(), lr=1e-2), 0.0, 0.0, 50, 3, keep)
    with torch.no_grad():
        assert float(task.loss(model(X[150:]), -y[150:])) > start_loss


def test_backward_order_takes_out_the_unit_that_costs_least_and_leaves_the_model_as_it_was():
    """Units leaving together are ordered weakest first by removing, one at a time, the unit
    whose removal raises the training loss least; the model is unchanged afterwards."""
    from lassonet_cli.exits import backward_order

    gen = torch.Generator().manual_seed(0)
    X = torch.randn(300, 4, generator=gen)
    y = (2.0 * X[:, 0] + 0.1 * X[:, 1] + 1.0 * X[:, 2] + 0.5 * X[:, 3]).unsqueeze(1)
    model = LassoNet(4, 1, BackboneSpec.parse("mlp:4").build(4, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.skip.weight.copy_(torch.tensor([[2.0, 0.1, 1.0, 0.5]]))
    before = [p.detach().clone() for p in model.parameters()]
    alive = np.array([True, True, True, True])
    order = backward_order(model, Regression(), X, y, 10.0, alive, (0, 1, 2), ["a", "b", "c", "d"])
    assert order == [1, 2, 0]  # d stays in the model throughout: it did not leave
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.equal(p.detach(), q)


# --- exits within one path step are ordered together ----------------------------------------


def _point(lam: float, norms: list[float], eliminated: tuple[int, ...], epochs: int = 5):
    return PathPoint(lambda_=lam, k=sum(n > 0 for n in norms), train_loss=0.1, val_loss=0.2,
                     val_score=0.5, epochs=epochs, eliminated=eliminated,
                     norms=np.array(norms), relax_epochs=3)


def test_exit_group_rebuilds_its_points_with_the_units_leaving_in_the_given_order():
    """The path dropped unit 0 at lambda 10, nothing at 10.2 and units 1 and 2 at 10.4; in the
    order (2, 0, 1) the points keep the path's k and lambdas, lose one unit each, and a unit the
    penalised path had already dropped keeps its norm from before the group."""
    from lassonet_cli.exits import ExitGroup

    before = _point(9.5, [0.4, 0.3, 0.2, 0.1], ())
    group = ExitGroup(before, model=None, window_end=10.5, points=[
        _point(10.0, [0.0, 0.25, 0.15, 0.09], (0,)),
        _point(10.2, [0.0, 0.2, 0.1, 0.08], ()),
        _point(10.4, [0.0, 0.0, 0.0, 0.07], (1, 2)),
    ])
    assert group.units() == [0, 1, 2]
    steps = group.reordered([2, 0, 1])
    assert [s.lambda_ for s in steps] == [10.0, 10.2, 10.4, 10.4]
    assert [s.k for s in steps] == [3, 3, 2, 1]
    assert [s.eliminated for s in steps] == [(2,), (), (0,), (1,)]
    assert [s.active.tolist() for s in steps] == [
        [True, True, False, True], [True, True, False, True],
        [False, True, False, True], [False, False, False, True]]
    np.testing.assert_array_equal(steps[0].norms, [0.4, 0.25, 0.0, 0.09])  # unit 0 from before
    assert [s.epochs for s in steps] == [5, 5, 0, 5]  # the extra point trained no epochs
    assert [s.relax_epochs for s in steps] == [3, 3, 0, 3]


def _grouped_exits(monkeypatch, **overrides) -> tuple[Path, list[tuple]]:
    """A small path, and for each exit group the lambdas of its points with exits, the order it
    was given and the path's own order of its units."""
    from lassonet_cli.exits import ExitGroup

    groups = []
    reordered = ExitGroup.reordered

    def spy(group, order):
        groups.append(([p.lambda_ for p in group.points if p.eliminated], list(order),
                       group.units()))
        return reordered(group, order)

    monkeypatch.setattr(ExitGroup, "reordered", spy)
    # (settling the exits would merge this path's nearby exit points, which these tests need)
    return run_small_path(**{"settle_rounds": 0, **overrides}), groups


def _exits_within_one_step(path: Path, step: float = 1.05) -> bool:
    """Whether two points at different lambdas, at most ``step`` apart, both eliminated units."""
    lams = sorted({p.lambda_ for p in path.points[1:] if p.eliminated})
    return any(b <= a * step for a, b in zip(lams, lams[1:], strict=False))


def test_exits_within_one_path_step_are_ordered_together_by_backward_elimination(monkeypatch):
    """Exits at different points whose lambdas lie within one path step (path_multiplier) of
    the first are one group: the path's points follow the group's order, so the ranking does."""
    path, groups = _grouped_exits(monkeypatch, seed=1, path_multiplier=1.05)
    # on this path the last four units leave at two points 0.3% of lambda apart
    spanning = [g for g in groups if len(set(g[0])) > 1]
    assert len(spanning) == 1
    lams, order, path_order = spanning[0]
    assert sorted(order) == sorted(path_order) and order != path_order  # really reordered
    for lams, _, _ in groups:  # a chain: each exit within two steps of the one before
        lams = sorted(lams)
        assert all(b <= a * 1.05 ** 2 * (1 + 1e-9) for a, b in zip(lams, lams[1:], strict=False))
    leaving = [p.eliminated[0] for p in path.points[1:] if p.eliminated]
    assert leaving == [unit for _, order, _ in groups for unit in order]
    assert leaving[::-1] == ranking(path)


def test_a_chain_of_exits_each_within_the_window_of_the_last_is_one_group(monkeypatch):
    """Exits at 19.68, 20.66, 20.73 and 22.85 (the toy regression's split 2 on one CPU):
    with a window of two chained steps (a table with fewer columns than rows) all five are
    one group, although the last is more than two steps past the first; with one step from
    the first exit (a wide table) the group ends at 20.66 and x3 is ordered with x2 alone."""
    from types import SimpleNamespace

    from lassonet_cli import path as path_module
    from lassonet_cli.pathresult import PathPoint

    ordered = []

    def order(model, task, X, y, M, alive, units, names):
        ordered.append(sorted(units))
        return list(units)

    monkeypatch.setattr(path_module, "backward_order", order)
    model = SimpleNamespace(feature_mask=lambda alive: None)

    class Relaxer:
        started, model = True, None

        def __call__(self, step, mask):
            return model

    trainer = SimpleNamespace(model=model, task=None, config=SimpleNamespace(
        M=10.0, exit_window=None, path_multiplier=1.05))
    points: list[PathPoint] = []
    alive = np.ones(5, dtype=bool)

    def point(lam, *gone):
        alive[list(gone)] = False
        return PathPoint(lam, int(alive.sum()), train_loss=0.0, val_loss=0.0, val_score=0.0,
                         epochs=5, eliminated=tuple(gone), norms=alive.astype(float))

    def delivered(window):
        ordered.clear()
        points.clear()
        alive[:] = True
        delivery = path_module._Delivery(trainer, Relaxer(), torch.zeros(1, 5), None,
                                         list("abcde"), None, points, window)
        last = point(18.74)
        for lam, gone in [(19.68, (0,)), (20.664, (1,)), (20.727, (2, 3)), (22.85, (4,))]:
            new = point(lam, *gone)
            delivery.add(new, last, {}, grouped=True)
            last = new
        delivery.order_group()
        return list(ordered)

    config = SimpleNamespace(exit_window=None, path_multiplier=1.05)
    toy = exit_window(config, 10, 1260, "regression")  # 10 columns, more rows
    assert toy == (1.05 ** 2, True)
    assert exit_window(config, 2000, 43, "classification") == (1.05, False)  # a wide table
    for task in ("cox", "reconstruction"):  # until their own benchmarks decide
        assert exit_window(config, 10, 1260, task) == (1.05, False)
    assert delivered(toy) == [[0, 1, 2, 3, 4]]
    assert [p.lambda_ for p in points] == [19.68, 20.664, 20.727, 20.727, 22.85]
    assert delivered(exit_window(config, 2000, 43, "classification")) == [[0, 1], [2, 3]]


def test_without_relaxed_models_only_one_points_exits_are_grouped(monkeypatch):
    """Without relaxing, each point's model is delivered as soon as it is trained, so exits at
    different lambdas are never regrouped."""
    path, groups = _grouped_exits(monkeypatch, seed=1, path_multiplier=1.05, relax=False)
    assert groups and all(len(set(lams)) == 1 for lams, _, _ in groups)
    assert _exits_within_one_step(path)  # there were exits a one-step window would group


def test_an_exit_window_of_one_groups_only_one_points_exits(monkeypatch):
    """``exit_window=1`` (a conv backbone's default) keeps exits at different lambdas apart even
    with relaxed models, on the path whose last units leave at two points 0.3% apart."""
    path, groups = _grouped_exits(monkeypatch, seed=1, path_multiplier=1.05, exit_window=1.0)
    assert groups and all(len(set(lams)) == 1 for lams, _, _ in groups)
    assert _exits_within_one_step(path)
    with pytest.raises(ConfigError, match="exit window"):
        PathConfig(exit_window=0.5).validate()


def test_the_relaxed_chain_starts_from_the_first_points_penalised_weights(monkeypatch):
    """The first path point drops a unit, so its exits wait in a group that is settled only
    after the next point is trained; the first relaxed model must still start from the weights
    the penalised fit had at the first point, not from the later ones."""
    from lassonet_cli.relax import Relaxer
    from lassonet_cli.training import state_copy

    fitted: dict[float, dict] = {}  # lambda -> penalised weights after its (last) fit
    started: list[dict] = []
    fit, start = Stepper.fit, Relaxer.start

    def record_fit(stepper, lam, keep=None, max_epochs=None, score=True):
        result = fit(stepper, lam, keep, max_epochs, score)
        fitted[lam] = state_copy(stepper.trainer.model)
        return result

    def record_start(relaxer, state):
        started.append({name: t.clone() for name, t in state.items()})
        start(relaxer, state)

    monkeypatch.setattr(Stepper, "fit", record_fit)
    monkeypatch.setattr(Relaxer, "start", record_start)
    path = run_small_path(seed=0, path_multiplier=1.05)
    first = path.points[1]
    assert first.eliminated  # the setup: the first point starts a group
    assert len(started) == 1
    for name, tensor in started[0].items():
        assert torch.equal(tensor, fitted[first.lambda_][name]), name


@pytest.mark.parametrize("layout", ["features", "groups", "linear"])
def test_the_models_per_step_prox_is_its_prox(layout):
    """``model.prox_step(lam, M, keep)``, called after each of several steps, leaves the model
    as ``model.prox_(lam, M, keep)`` does, for features, groups and a linear backbone; and
    after ``model.double()`` (new memory for every weight) it works on the new weights."""
    from lassonet_cli.prox import GroupLayout

    d, c = 6, 2
    groups = (GroupLayout.from_assignment([0, 0, 1, 2, 2, 3], ["a", "b", "c", "d"])
              if layout == "groups" else None)
    backbone = "linear" if layout == "linear" else "mlp:8"
    torch.manual_seed(0)
    model = LassoNet(d, c, BackboneSpec.parse(backbone).build(d, c), groups=groups)
    twin = LassoNet(d, c, BackboneSpec.parse(backbone).build(d, c), groups=groups)
    twin.load_state_dict(model.state_dict())
    alive = torch.ones(model.n_units, dtype=torch.bool)
    alive[1] = False
    keep = model.feature_mask(alive)
    gen = torch.Generator().manual_seed(1)
    step = model.prox_step(0.05, 2.0, keep)
    for round_ in range(4):
        if round_ == 2:
            model.double()
            twin.double()
        with torch.no_grad():
            for p, q in zip(model.parameters(), twin.parameters(), strict=True):
                noise = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p.dtype)
                p.add_(noise * 0.3)
                q.add_(noise * 0.3)
        got = step()
        want = twin.prox_(0.05, 2.0, keep)
        torch.testing.assert_close(got, want, rtol=0, atol=0)
        for (name, p), q in zip(model.state_dict().items(), twin.state_dict().values(),
                                strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=0, msg=f"{name}, round {round_}")
        assert float(got[1]) == 0


def test_largest_weight_is_the_largest_magnitude_and_inf_when_diverged():
    from lassonet_cli.training import _largest_weight

    torch.manual_seed(3)
    model = LassoNet(5, 2, BackboneSpec.parse("mlp:4").build(5, 2))
    with torch.no_grad():
        model.backbone.input_layer.weight[2, 3] = -7.5
    assert _largest_weight(model) == 7.5
    for bad in (float("nan"), float("inf"), -float("inf")):
        with torch.no_grad():
            model.skip.weight[1, 0] = bad
        assert _largest_weight(model) == math.inf, bad


def test_a_snapshot_restores_the_weights_and_the_momentum():
    """``Stepper.snapshot`` copies the model's state (not views of it): training on, then
    ``restore``, gives back the weights and the optimiser's momentum of the snapshot, and the
    next fit from there repeats the first one exactly."""
    torch.manual_seed(0)
    X, y = torch.randn(60, 4), torch.randn(60, 1)
    model = LassoNet(4, 1, BackboneSpec.parse("mlp:8").build(4, 1))
    config = PathConfig().resolved(60)
    task = Regression().fit(y.numpy()[:, 0])
    trainer = Trainer(model, task, Data(X, y, X[:10], y[:10], config,
                                        torch.Generator()), config)
    stepper = Stepper(trainer, lr=1e-2)
    stepper.fit(0.01)  # momentum buffers exist from here on
    saved = stepper.snapshot()
    before = {name: t.clone() for name, t in model.state_dict().items()}
    first = stepper.fit(0.05)
    after_first = {name: t.clone() for name, t in model.state_dict().items()}
    assert any(not torch.equal(before[n], after_first[n]) for n in before)
    stepper.restore(saved)
    for name, t in model.state_dict().items():
        assert torch.equal(t, before[name]), name
    assert stepper.fit(0.05) == first
    for name, t in model.state_dict().items():
        assert torch.equal(t, after_first[name]), name


@pytest.mark.parametrize("n_val", [8, 400])
def test_a_fit_that_restores_its_best_epoch_reports_that_epochs_validation(n_val):
    """With ``restore_best`` the model ends with the weights of its best epoch: the reported
    validation loss and score are those of the weights it ends with (a fresh pass agrees),
    and no epoch monitored along the way validated better.  Adam at a large step overfits
    after a few epochs, so the best epoch is not the last.  With 400 validation rows the
    outputs outweigh the weights, and the best epoch is validated again rather than kept."""
    torch.manual_seed(0)
    X, y = torch.randn(40, 6), torch.randn(40, 1)
    X_val, y_val = torch.randn(n_val, 6), torch.randn(n_val, 1)
    model = LassoNet(6, 1, BackboneSpec.parse("mlp:32").build(6, 1))
    task = Regression().fit(y.numpy()[:, 0])
    config = PathConfig().resolved(40)
    trainer = Trainer(model, task, Data(X, y, X_val, y_val, config, torch.Generator()),
                      config)
    seen = []
    validate_losses = task.loss

    def spy(out, target):
        value = validate_losses(out, target)
        if target is y_val:
            seen.append(float(value))
        return value

    task.loss = spy
    epochs, _, val_loss, val_score = trainer.fit(
        Adam(model.parameters(), lr=0.05), 0.0, 0.0, 30, 5, restore_best=True)
    task.loss = validate_losses
    with torch.no_grad():
        out = model(X_val)
    assert val_loss == pytest.approx(float(task.loss(out, y_val)), rel=1e-6)
    assert val_score == pytest.approx(float(task.score(out, y_val)), rel=1e-6)
    assert val_loss == pytest.approx(min(seen), rel=1e-6)
    assert seen.index(min(seen)) < len(seen) - 1  # the setup: the best epoch is not the last


# --- the dense fit on a wide table --------------------------------------------------------------


def test_dense_optimizer_is_sgd_only_where_units_outnumber_rows():
    assert dense_optimizer(PathConfig(), n_units=500, n_rows=60) == "sgd"
    assert dense_optimizer(PathConfig(), n_units=60, n_rows=60) == "adam"
    assert dense_optimizer(PathConfig(), n_units=10, n_rows=1000) == "adam"
    assert dense_optimizer(PathConfig(dense_optimizer="adam"), 500, 60) == "adam"
    with pytest.raises(ConfigError):
        PathConfig(dense_optimizer="lbfgs").validate()


@pytest.mark.parametrize("optimizer, in_span", [("sgd", True), ("adam", False)])
def test_sgd_dense_fit_keeps_the_skip_weights_in_the_span_of_the_rows(optimizer, in_span):
    """With more columns than rows, the skip gradient X^T (dL/d out) lies in the row space of
    X, so SGD moves theta only within it (the minimum-norm direction), while Adam's
    per-weight scaling leaves it (what ordered arcene's mass exits by spikes, see
    ``dense_optimizer``)."""
    torch.manual_seed(0)
    n, d = 12, 40
    X, y = torch.randn(n, d), torch.randn(n, 1)
    model = LassoNet(d, 1, BackboneSpec.parse("mlp:8").build(d, 1))
    initial = model.skip.weight.detach().clone()
    config = PathConfig(dense_optimizer=optimizer, dense_max_epochs=50).resolved(n)
    data = Data(X, y, X[:4], y[:4], config, torch.Generator().manual_seed(0))
    Trainer(model, Regression().fit(y.numpy().ravel()), data, config).dense(optimizer)
    theta = (model.skip.weight.detach() - initial).double().ravel()  # what training added
    rows = torch.linalg.qr(X.double().T).Q  # (d, n) orthonormal basis of the row space
    outside = theta - rows @ (rows.T @ theta)
    share = float(outside.norm() / theta.norm())
    assert (share < 1e-4) == in_span, share  # (float32 rounding leaves about 1e-6)


# --- settling the points where units leave ------------------------------------------------


def test_settle_rounds_by_regime():
    """Full-batch paths with fewer units than rows settle their exits; wide tables (the
    collapse) and minibatch paths do not; an explicit value wins."""
    assert defaults.SETTLE_ROUNDS > 0
    assert settle_rounds(PathConfig(), n_units=50, n_rows=1000) == defaults.SETTLE_ROUNDS
    assert settle_rounds(PathConfig(), n_units=2000, n_rows=100) == 0
    assert settle_rounds(PathConfig(), n_units=50, n_rows=100_000) == 0  # minibatches
    assert settle_rounds(PathConfig(batch_size=100), n_units=50, n_rows=1000) == 0
    assert settle_rounds(PathConfig(settle_rounds=4), n_units=2000, n_rows=100) == 4
    with pytest.raises(ConfigError):
        PathConfig(settle_rounds=-1).validate()
    # measured on classification and regression only: the other paths stay as they were
    for task in ("auto", "classification", "regression"):
        assert defaults.settle_rounds(task, selects_filters=False) is None
        assert defaults.settle_rounds(task, selects_filters=True) == 0
    for task in ("cox", "reconstruction"):
        assert defaults.settle_rounds(task, selects_filters=False) == 0


def _fits_per_lambda(monkeypatch, rounds: int) -> tuple[Path, list[tuple[float, int, int]]]:
    """The small path with ``settle_rounds=rounds``; every penalised fit as (lambda, units
    alive before, units alive after), in order."""
    fits: list[tuple[float, int, int]] = []
    fit = Stepper.fit

    def recorded(self, lam, keep=None, max_epochs=None, score=True):
        before = int((self.trainer.model.unit_norms() > 0).sum())
        result = fit(self, lam, keep, max_epochs, score)
        if max_epochs is None:  # (the climb to the first exit sets its own)
            fits.append((lam, before, int((self.trainer.model.unit_norms() > 0).sum())))
        return result

    monkeypatch.setattr(Stepper, "fit", recorded)
    # more units than SPLIT_BELOW, fewer than rows: the path settles while more than
    # SPLIT_BELOW are in
    rng = np.random.default_rng(0)
    n, d = 400, SPLIT_BELOW + 40
    X = torch.from_numpy(rng.standard_normal((n, d)).astype(np.float32))
    labels = (X[:, 0] + X[:, 1] - X[:, 2] > 0).long().numpy()
    task = Classification().fit(labels)
    y = task.encode(labels)
    torch.manual_seed(0)
    model = LassoNet(d, 2, BackboneSpec.parse("mlp:8").build(d, 2))
    config = PathConfig(dense_max_epochs=100, settle_rounds=rounds, relax=False)
    path = lassonet_path(model, task, X[:320], y[:320], X[320:], y[320:],
                         [f"x{j}" for j in range(d)], config, torch.Generator().manual_seed(0))
    return path, fits


@pytest.mark.parametrize("rounds", [0, 3])
def test_a_point_where_units_leave_trains_on_until_a_round_passes_without_exits(
    monkeypatch, rounds
):
    path, fits = _fits_per_lambda(monkeypatch, rounds)
    accepted = {p.lambda_ for p in path.points[1:]}
    runs: list[list[tuple[float, int, int]]] = []  # consecutive fits at one accepted lambda
    for fit in fits:
        if fit[0] not in accepted:
            continue  # a refined-away attempt
        if runs and runs[-1][-1][0] == fit[0]:
            runs[-1].append(fit)
        else:
            runs.append([fit])
    settled = 0
    for run in runs:
        first_exits = run[0][2] < run[0][1]
        assert len(run) <= 1 + (rounds if first_exits else 0), run
        if len(run) > 1:
            settled += 1
            ended_quiet = run[-1][2] == run[-1][1]
            assert ended_quiet or len(run) == 1 + rounds, run
            # on only while the units change (a unit that has just left may come back)
            assert all(f[2] != f[1] for f in run[:-1]), run
    assert (settled > 0) == (rounds > 0)
    # only while more than SPLIT_BELOW units are in
    assert all(len(run) == 1 for run in runs if run[0][1] <= SPLIT_BELOW)


def _toy_trainer() -> Trainer:
    """A trainer of a small network on a regression target 3 x0 + 10, standardised."""
    X = torch.randn(300, 4, generator=torch.Generator().manual_seed(0))
    y_raw = (3 * X[:, 0] + 10).numpy()
    task = Regression().fit(y_raw)
    y = task.encode(y_raw)
    config = PathConfig(dense_max_epochs=5).resolved(300)
    data = Data(X, y, X[:20], y[:20], config, torch.Generator().manual_seed(0))
    model = LassoNet(4, 1, BackboneSpec.parse("mlp:8").build(4, 1))
    return Trainer(model, task, data, config)


def test_loss_limit_is_ten_times_the_loss_of_zero_outputs():
    """A standardised regression target: zero outputs have the loss mean(y^2) = 1, so a fit
    whose training loss exceeds 10 is ten times worse than predicting nothing."""
    trainer = _toy_trainer()
    y = trainer.data.y
    assert trainer.loss_limit() == pytest.approx(10 * float((y**2).mean()), rel=1e-6)
    assert trainer.loss_limit() == pytest.approx(10.0, rel=1e-5)


def test_a_fit_that_starts_above_the_loss_limit_has_not_diverged_unless_it_grows():
    """A fit whose loss was high before its first step (a separable label collapsing to a
    confident constant output) is judged against its own first epoch, not the fixed limit."""
    trainer = _toy_trainer()
    limit = trainer.loss_limit()
    trainer.first_train_loss = 5 * limit
    assert not trainer.diverged((5, 6 * limit, 1.0, 1.0), limit)  # grew by 1.2: recovering
    assert trainer.diverged((5, 51 * limit, 1.0, 1.0), limit)  # grew by more than 10
    trainer.first_train_loss = 0.1 * limit
    assert not trainer.diverged((5, limit, 1.0, 1.0), limit)
    assert trainer.diverged((5, 1.01 * limit, 1.0, 1.0), limit)
    assert trainer.diverged((5, math.nan, 1.0, 1.0), limit)


def test_a_finite_loss_far_above_zero_outputs_is_retried_at_a_shorter_step():
    """Reconstruction of the digits with dropout 0.2 and a fine path (a 70% training split of
    scikit-learn's digits, as benchmarks/unsupervised.py's seed 2): a step too long for the
    curvature once grew the training loss to thousands of times that of zero outputs while it
    stayed finite; the point was accepted, the next one started from broken weights, and
    every retry of it diverged ("training diverged at lambda 0.546 even with step size
    0.00511").  Such a point is now retried at half the step, and the path runs to the end
    with every training loss below the limit."""
    from sklearn import datasets as sklearn_datasets

    from lassonet_cli import LassoNetSelector
    from lassonet_cli.splits import split_rows

    X, labels = sklearn_datasets.load_digits(return_X_y=True, as_frame=True)
    train, _ = split_rows(labels.to_numpy(), 0.3, True, np.random.default_rng([2, 0]),
                          "test fraction")
    selector = LassoNetSelector(task="reconstruction", seed=2, cv=0, dropout=0.2,
                                path_multiplier=1.01).fit(X.iloc[train])
    table = selector.path_table()
    assert table["k"].iloc[-1] == 0
    assert table["train_loss"].max() < 10.0 * 1.05  # zero outputs: about 1 per standardised pixel


def test_a_path_that_runs_out_of_points_before_the_empty_model_is_an_error(monkeypatch):
    """Units still in at the last allowed point have no exit lambda (an infinite importance):
    the path says so rather than ending there."""
    import lassonet_cli.path as path_module
    from lassonet_cli.errors import TrainingError

    monkeypatch.setattr(path_module, "MAX_POINTS", 3)
    with pytest.raises(TrainingError, match="reached 3 points with [1-6] unit") as raised:
        run_small_path(path_multiplier=1.01)
    # the remedies that apply: lambda_start was auto and there is no dropout
    assert str(raised.value).endswith("still in: raise path_multiplier")
    X, y, task = small_classification()
    dropped = LassoNet(6, 2, BackboneSpec.parse("mlp:16").build(6, 2, 0.5))
    with pytest.raises(TrainingError, match="raise path_multiplier or lower dropout"):
        lassonet_path(dropped, task, X[:200], y[:200], X[200:], y[200:],
                      [f"x{j}" for j in range(6)], PathConfig(path_multiplier=1.01),
                      torch.Generator().manual_seed(0))
