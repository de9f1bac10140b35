"""The conv backbone: conv1's filters as LassoNet units (ConvLassoNet, its prox and thresholds)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lassonet_cli import LassoNetSelector
from lassonet_cli.backbones import BackboneSpec, check_image_columns, parse_image_shape
from lassonet_cli.errors import ConfigError, DataError
from lassonet_cli.model import ConvLassoNet, build_model
from lassonet_cli.path import lassonet_path
from lassonet_cli.pathconfig import PathConfig
from lassonet_cli.pathresult import ranking
from lassonet_cli.prox import GroupLayout, hier_prox_groups
from lassonet_cli.start import exit_thresholds
from lassonet_cli.tasks import make_task


def conv_model(C1=4, C2=3, k=3, shape=(1, 6, 6), c=2, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    spec = BackboneSpec("conv", (C1, C2), k)
    model = build_model(spec, int(np.prod(shape)), c, image_shape=shape)
    return model.to(dtype)


def constraint_gap(model: ConvLassoNet, M: float) -> torch.Tensor:
    """(C1,) max|gamma_j| - M ||theta_j||: <= 0 where the hierarchy holds."""
    gamma = model.backbone.constrained_layer.weight
    return gamma.abs().amax(dim=(0, 2, 3)) - M * model.unit_norms()


def classes(n: int, k: int = 3):
    task = make_task("classification")
    labels = np.arange(n) % k
    task.fit(labels)
    return task, task.encode(labels)


# --- the spec --------------------------------------------------------------------------------


def test_conv_spec_parses_channels_and_kernel():
    assert BackboneSpec.parse("conv:16,32") == BackboneSpec("conv", (16, 32), 3)
    assert BackboneSpec.parse(" CONV:4,8:k5 ") == BackboneSpec("conv", (4, 8), 5)
    assert str(BackboneSpec.parse("conv:4,8:k5")) == "conv:4,8:k5"
    assert str(BackboneSpec.parse("conv:4,8")) == "conv:4,8:k3"  # the file records the kernel
    assert BackboneSpec.parse("conv:4,8").selects_filters
    assert not BackboneSpec.parse("mlp:4").selects_filters


@pytest.mark.parametrize("text", ["conv", "conv:16", "conv:16,32,64", "conv:0,4", "conv:a,b",
                                  "conv:4,4:k4", "conv:4,4:k0", "conv:4,4:5", "conv:4,4:k3:k3"])
def test_bad_conv_specs_are_config_errors(text):
    with pytest.raises(ConfigError, match="conv:C1,C2"):
        BackboneSpec.parse(text)


def test_image_shape_parsing_and_column_count():
    assert parse_image_shape("1x32x32") == (1, 32, 32)
    assert parse_image_shape("3X8x4") == (3, 8, 4)
    for bad in ["32x32", "1x32x32x1", "1x0x32", "ax32x32", "", "1x-3x3"]:
        with pytest.raises(ConfigError, match="CxHxW"):
            parse_image_shape(bad)
    check_image_columns((3, 8, 4), 96)
    with pytest.raises(ConfigError, match="needs 96 feature columns.*has 95"):
        check_image_columns((3, 8, 4), 95)


# --- the prox: group HIER-PROX per filter ------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(C1=st.integers(1, 4), C2=st.integers(1, 3), k=st.sampled_from([1, 3]),
       channels=st.integers(1, 2), side=st.integers(2, 5), scale=st.floats(0.01, 10),
       lam=st.floats(0, 2), M=st.floats(0, 20), seed=st.integers(0, 1000))
def test_prox_restores_the_hierarchy_for_every_filter(C1, C2, k, channels, side, scale, lam, M,
                                                      seed):
    model = conv_model(C1, C2, k, (channels, side, side), seed=seed)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    norms = model.prox_(lam, M)
    assert torch.equal(norms, model.unit_norms())
    assert (constraint_gap(model, M) <= 1e-12 * (1 + M)).all()


def test_hierarchy_holds_after_every_step_of_training():
    model = conv_model(C1=4, C2=3, c=3, dtype=torch.float32)
    task, y = classes(40)
    X = torch.randn(40, 36, generator=torch.Generator().manual_seed(1))
    M = 2.0
    for _ in range(30):
        grads = torch.autograd.grad(task.loss(model(X), y), list(model.parameters()))
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads, strict=True):
                p.sub_(0.5 * g)
        model.prox_(0.02, M)
        assert (constraint_gap(model, M) <= 1e-6).all()


def test_prox_equals_the_group_prox_on_the_equivalent_layout():
    # 3 x 3 images and 3 x 3 kernels with C2 = 2: each filter's gamma block has 2 * 9 entries,
    # so it fits a (2, 9) input-layer block over the filter's 9 skip columns
    C1, C2, c, lam, M = 4, 2, 3, 0.3, 1.5
    model = conv_model(C1, C2, 3, (1, 3, 3), c=c, seed=3)
    with torch.no_grad():  # filters 0 and 2 weak (they leave), 1 and 3 strong (they stay)
        factor = torch.tensor([0.01, 3.0, 0.01, 3.0], dtype=torch.float64)
        model.skip.weight.view(c, C1, 9).mul_(factor.view(1, C1, 1))
        model.backbone.constrained_layer.weight.mul_(factor.view(1, C1, 1, 1))
    theta = model.skip.weight.detach().clone()  # (c, C1 * 9), filter j in columns 9j..9j+8
    gamma = model.backbone.constrained_layer.weight.detach().clone()  # (C2, C1, 3, 3)
    W = gamma.reshape(C2, C1 * 9)  # gamma[:, j] flattened lands in the same columns
    layout = GroupLayout.from_assignment([j // 9 for j in range(C1 * 9)],
                                         [f"g{j}" for j in range(C1)])
    theta_ref, W_ref = hier_prox_groups(theta, W, layout, lam, M)
    model.prox_(lam, M)
    torch.testing.assert_close(model.skip.weight, theta_ref, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(model.backbone.constrained_layer.weight,
                               W_ref.reshape(C2, C1, 3, 3), rtol=1e-12, atol=1e-14)
    alive = model.unit_norms() > 0
    assert 0 < alive.sum() < C1  # the case is not trivial: some filters leave, some stay


def test_keep_mask_holds_dropped_filters_at_zero():
    model = conv_model()
    keep = model.feature_mask(torch.tensor([True, False, True, False]))
    assert keep.shape == (4,)
    model.prox_(0.0, 10.0, keep)
    assert model.unit_norms().tolist()[1] == 0 and model.unit_norms().tolist()[3] == 0
    gamma = model.backbone.constrained_layer.weight
    assert not gamma[:, 1].any() and not gamma[:, 3].any()
    assert gamma[:, 0].any() and gamma[:, 2].any()
    assert model.alive_columns(keep) is None  # every pixel feeds every filter


def test_a_dead_filter_no_longer_affects_the_output():
    model = conv_model(C1=3, C2=2)
    model.prox_(0.0, 10.0, model.feature_mask(torch.tensor([True, False, True])))
    X = torch.randn(8, 36, dtype=torch.float64)
    before = model(X)
    conv1 = model.backbone.conv1
    with torch.no_grad():
        conv1.weight[1].add_(5.0)
        conv1.bias[1].add_(3.0)
    assert torch.equal(model(X), before)
    with torch.no_grad():  # while an alive filter does (so the check above can fail)
        conv1.weight[0].add_(5.0)
    assert not torch.allclose(model(X), before)


# --- exit thresholds ---------------------------------------------------------------------------


def test_exit_thresholds_match_autograd_with_the_filter_removed():
    model = conv_model(C1=4, C2=3, shape=(2, 5, 5), c=3, seed=4)
    task, y = classes(30)
    X = torch.randn(30, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    M = 3.0
    expected = []
    for j in range(4):
        removed = copy.deepcopy(model)
        gamma = removed.backbone.constrained_layer.weight
        with torch.no_grad():
            removed.skip.weight.view(3, 4, 25)[:, j] = 0
            gamma[:, j] = 0
        g_skip, g_gamma = torch.autograd.grad(task.loss(removed(X), y),
                                              [removed.skip.weight, gamma])
        expected.append(float(g_skip.view(3, 4, 25)[:, j].norm() + M * g_gamma[:, j].abs().sum()))
    np.testing.assert_allclose(exit_thresholds(model, task, X, y, M), expected, rtol=1e-10)
    np.testing.assert_allclose(exit_thresholds(model, task, X, y, M, np.array([2, 0])),
                               [expected[2], expected[0]], rtol=1e-10)


# --- the path over filters ------------------------------------------------------------------


def bars(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """1 x 8 x 8 noise images with a horizontal (class 0) or vertical (class 1) bar."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(0, 0.3, size=(n, 8, 8))
    pos = rng.integers(1, 7, size=n)
    for i in range(n):
        if y[i] == 0:
            X[i, pos[i], 1:7] += 2
        else:
            X[i, 1:7, pos[i]] += 2
    return X.reshape(n, 64).astype(np.float32), y


def test_filters_that_see_nothing_are_ranked_last():
    """Filters 2 and 3 are switched off (zero weights, negative bias: their ReLU maps are 0 and
    get no gradient), so only filters 0 and 1 can be useful: they must outlast the others."""
    X, y = bars(160)
    task = make_task("classification")
    task.fit(y)
    target = task.encode(y)
    model = build_model(BackboneSpec("conv", (4, 3), 3), 64, 2, image_shape=(1, 8, 8))
    torch.manual_seed(0)
    with torch.no_grad():
        model.backbone.conv1.weight[2:] = 0
        model.backbone.conv1.bias[2:] = -1
    Xt = torch.from_numpy(X)
    names = [f"filter_{j:02d}" for j in range(4)]
    path = lassonet_path(model, task, Xt[:128], target[:128], Xt[128:], target[128:], names,
                         PathConfig(), torch.Generator().manual_seed(0))
    order = ranking(path)
    assert set(order[:2]) == {0, 1}
    assert path.points[-1].k == 0
    assert [p.k for p in path.points] == sorted((p.k for p in path.points), reverse=True)
    # with both useless filters gone the model still separates the bars
    two = max((p for p in path.points if p.k == 2), key=lambda p: p.val_score)
    assert two.val_score >= 0.9


def test_selector_ranks_filters_and_round_trips(tmp_path):
    X, y = bars(120)
    sel = LassoNetSelector(backbone="conv:4,3", image_shape=(1, 8, 8), seed=0,
                           cv=0).fit(X, y)
    names = ["filter_00", "filter_01", "filter_02", "filter_03"]
    table = sel.ranking_table()
    assert sorted(table["feature"]) == names
    assert table["importance"].is_monotonic_decreasing
    assert table["selected"].sum() == sel.chosen_point_.k
    path = sel.path_table()
    assert path["k"].iloc[0] == 4 and path["k"].iloc[-1] == 0
    eliminated = [n for cell in path["eliminated"] if cell for n in cell.split(";")]
    assert sorted(eliminated) == names  # each filter leaves once, by name
    assert sel.get_support().all() and len(sel.get_support()) == 64
    assert (sel.predict(X) == y).mean() >= 0.9
    sel.save(str(tmp_path / "m.safetensors"))
    loaded = LassoNetSelector.load(str(tmp_path / "m.safetensors"))
    assert loaded.header_["image_shape"] == [1, 8, 8]
    assert list(loaded.ranking_) == list(sel.ranking_)
    np.testing.assert_array_equal(loaded.unit_support_, sel.unit_support_)
    # a loaded model of an array fit reads arrays (and tables) by position, as the fit did;
    # its columns are named x0, x1, ... in the file
    assert list(loaded.input_columns_) == [f"x{i}" for i in range(64)]
    np.testing.assert_array_equal(loaded.predict_proba(X), sel.predict_proba(X))
    table = pd.DataFrame(X, columns=loaded.input_columns_)
    np.testing.assert_array_equal(loaded.predict_proba(table), sel.predict_proba(X))


def test_images_are_standardised_per_channel_and_constant_pixels_kept():
    X, y = bars(60)
    X[:, 0] = 0.0  # a constant pixel: still an input, with the channel's statistics
    sel = LassoNetSelector(backbone="conv:2,2", image_shape="1x8x8", max_epochs=1,
                           lambda_start=1.0, path_multiplier=10.0, cv=0).fit(X, y)
    assert len(sel.encoder_.columns) == 64
    assert np.unique(sel.encoder_.mean).size == 1 and np.unique(sel.encoder_.scale).size == 1


@pytest.mark.parametrize(("options", "error", "fragment"), [
    ({"backbone": "conv:2,2"}, ConfigError, "needs the image shape"),
    ({"backbone": "mlp:4", "image_shape": "1x8x8"}, ConfigError, "only for a conv backbone"),
    ({"backbone": "conv:2,2", "image_shape": "1x8x7"}, ConfigError, "needs 56 feature columns"),
    ({"backbone": "conv:2,2", "image_shape": "8x8"}, ConfigError, "CxHxW"),
    ({"backbone": "conv:2,2", "image_shape": "1x8x8", "task": "reconstruction"}, ConfigError,
     "not task=reconstruction"),
    ({"backbone": "conv:2,2", "image_shape": "1x8x8", "groups": {"x0": "a"}}, ConfigError,
     "^groups cannot"),
])
def test_selector_refuses_what_a_conv_backbone_cannot_read(options, error, fragment):
    X, y = bars(40)
    with pytest.raises(error, match=fragment):
        LassoNetSelector(**options).fit(X, y)


def test_images_whose_every_pixel_is_constant_are_refused_as_other_tables_are():
    """A conv backbone keeps constant pixels, and so ranked filters that saw nothing."""
    _, y = bars(40)
    with pytest.raises(DataError, match="every feature column is constant"):
        LassoNetSelector(backbone="conv:2,2", image_shape="1x8x8", max_epochs=1,
                         cv=0).fit(np.zeros((40, 64)), y)


def test_selector_refuses_gaps_in_the_pixels():
    X, y = bars(40)
    X[3, 5] = np.nan
    with pytest.raises(DataError, match="needs every pixel"):
        LassoNetSelector(backbone="conv:2,2", image_shape="1x8x8", missing="impute").fit(X, y)
