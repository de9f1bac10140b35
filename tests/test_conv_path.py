"""`lassonet path` with a conv backbone: accuracy against the number of conv1 filters kept, and
the refit on a set of filters (``ConvLassoNet.refit_network``, ``evaluate.refit_score``)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from clitools import assert_clean_error, invoke

from lassonet_cli import evaluate
from lassonet_cli.backbones import BackboneSpec
from lassonet_cli.model import ConvLassoNet, build_model
from lassonet_cli.pathconfig import PathConfig
from lassonet_cli.tasks import make_task
from lassonet_cli.training import train_dense

BARS = Path(__file__).resolve().parent / "data" / "bars_8x8.csv"  # id, px_0_0..px_7_7, shape
CONV = ("--backbone", "conv:4,3", "--image-shape", "1x8x8", "--threads", 1)
FILTERS = [f"filter_{j:02d}" for j in range(4)]
COLUMNS = ["k", "features", "lassonet_score", "lassonet_k", "refit_score", "random_score",
           "random_score_sd"]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    out = tmp_path_factory.mktemp("conv_path")
    files = {"csv": out / "acc.csv", "png": out / "acc.png"}
    result = invoke("path", BARS, "--target", "shape", "--id", "id", *CONV,
                    "--random-repeats", 2, "-o", files["csv"], "--plot", files["png"])
    assert result.exit_code == 0, result.stderr
    return files, result


def test_the_table_counts_filters_on_the_default_grid(table):
    files, result = table
    acc = pd.read_csv(files["csv"])
    assert list(acc.columns) == COLUMNS
    assert acc["k"].tolist() == [1, 2, 4]  # the 1-2-5 grid up to conv1's 4 filters
    sets = [f.split(";") for f in acc["features"]]
    assert [len(s) for s in sets] == [1, 2, 4]
    assert all(len(set(s)) == len(s) and set(s) <= set(FILTERS) for s in sets)
    assert sets[0] == sets[1][:1] and sets[1] == sets[2][:2]  # the top k of one ranking
    assert sorted(sets[2]) == FILTERS
    assert (acc["lassonet_k"] <= acc["k"]).all() and (acc["lassonet_k"] >= 1).all()
    scores = acc[["lassonet_score", "refit_score", "random_score"]]
    assert ((scores >= 0) & (scores <= 1)).all().all() and (acc["random_score_sd"] >= 0).all()
    assert "filter(s)" in result.stderr.splitlines()[-1]
    assert files["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_same_seed_gives_the_same_bytes(table, tmp_path):
    files, _ = table
    again = tmp_path / "again.csv"
    result = invoke("path", BARS, "--target", "shape", "--id", "id", *CONV,
                    "--random-repeats", 2, "-o", again)
    assert result.exit_code == 0, result.stderr
    assert again.read_bytes() == files["csv"].read_bytes()


@pytest.mark.parametrize("grid, fragment", [
    ("5", "--k-grid: 5 is more than the 4 filters"),
    ("1,2,8", "8 is more than the 4 filters"),
    ("0", "--k-grid"),
])
def test_a_grid_beyond_the_filters_fails_before_training(grid, fragment):
    result = invoke("path", BARS, "--target", "shape", "--id", "id", *CONV, "--k-grid", grid)
    assert_clean_error(result, fragment)


def test_a_conv_backbone_still_needs_the_image_shape():
    result = invoke("path", BARS, "--target", "shape", "--id", "id", "--backbone", "conv:4,3")
    assert_clean_error(result, "--image-shape")


# --- the refit on a set of filters ------------------------------------------------------------


def _images(n: int = 60, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 64) random 8x8 images and a regression target read from their top-left corner."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 64))
    y = X.reshape(n, 8, 8)[:, :3, :3].mean(axis=(1, 2)) + 0.1 * rng.standard_normal(n)
    return torch.from_numpy(X).float(), torch.from_numpy(y)


def _source(seed: int = 0) -> ConvLassoNet:
    torch.manual_seed(seed)
    return build_model(BackboneSpec.parse("conv:4,3"), 64, 1, image_shape=(1, 8, 8))


def test_the_refit_network_holds_only_the_chosen_filters_and_keeps_them():
    """conv1 of the refit network is the source's filters 2 and 0, in that order, and nothing
    else; training changes conv2, the skip layer and the head, never those filters."""
    source = _source()
    spec = BackboneSpec.parse("conv:4,3")
    net, columns = source.refit_network([2, 0], spec)
    assert columns is None  # a conv network reads every pixel
    conv1 = source.backbone.conv1
    assert net.backbone.conv1.weight.shape == (2, 1, 3, 3)
    assert net.backbone.constrained_layer.in_channels == 2 and net.n_units == 2
    assert net.skip.in_features == 2 * 64
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    task = make_task("regression")
    X, y = _images()
    task.fit(y.numpy())
    train_dense(net, task, X[:48], task.encode(y[:48].numpy()), X[48:],
                task.encode(y[48:].numpy()), PathConfig(dense_max_epochs=20),
                torch.Generator().manual_seed(0))
    after = dict(net.named_parameters())
    assert torch.equal(after["backbone.conv1.weight"], conv1.weight[[2, 0]].detach())
    assert torch.equal(after["backbone.conv1.bias"], conv1.bias[[2, 0]].detach())
    trained = [n for n in before if not torch.equal(before[n], after[n])]
    assert set(trained) == {n for n in before if not n.startswith("backbone.conv1.")}


def test_the_refit_score_reads_only_the_chosen_filters():
    """Changing a filter left out leaves the refit's score bit for bit the same; changing a
    filter in the set changes it."""
    task = make_task("regression")
    X, y = _images(80)
    task.fit(y[:50].numpy())
    Y = task.encode(y.numpy())
    spec = BackboneSpec.parse("conv:4,3")

    def score(source) -> float:
        return evaluate.refit_score(task, X[:50], Y[:50], X[50:60], Y[50:60], X[60:], Y[60:],
                                    np.array([1, 3]), spec, PathConfig(dense_max_epochs=30),
                                    seed=0, source=source)

    source = _source()
    base = score(source)
    other = copy.deepcopy(source)
    with torch.no_grad():
        other.backbone.conv1.weight[[0, 2]] = torch.randn(2, 1, 3, 3)
    assert score(other) == base
    kept = copy.deepcopy(source)
    with torch.no_grad():
        kept.backbone.conv1.weight[1] = torch.randn(1, 3, 3)
    assert score(kept) != base


def test_random_sets_differ_from_the_top_set(monkeypatch):
    """Through the Python function: every refit gets k distinct filters of the dense model
    (the path's first point, all filters in); the top set is the table's `features`, and at
    k below the filter count some random set differs from it.  The bars table has a constant
    pixel, which an image keeps."""
    from lassonet_cli.estimator import Selector

    calls = []
    original = evaluate.refit_score

    def spy(*args, **kwargs):
        calls.append((np.asarray(args[7]).tolist(), kwargs["source"]))
        return original(*args, **kwargs)

    monkeypatch.setattr(evaluate, "refit_score", spy)
    bars = pd.read_csv(BARS).drop(columns=["id"])
    y = bars.pop("shape").to_numpy()
    assert (bars.nunique() == 1).any()
    acc, selector = evaluate.accuracy_vs_k(
        lambda: Selector(backbone="conv:4,3", image_shape="1x8x8", seed=0, cv=0,
                         path_multiplier=1.3),
        bars, y, "classification", "1,2,3", 0.2, 2, 0)
    assert acc["k"].tolist() == [1, 2, 3]
    assert len(calls) == 3 * (2 + 1)
    assert all(isinstance(source, ConvLassoNet) and source.n_units == 4
               and source is calls[0][1] for _, source in calls)
    for i, (k, features) in enumerate(zip(acc["k"], acc["features"], strict=True)):
        sets = [units for units, _ in calls[3 * i: 3 * i + 3]]  # 2 random sets, then the top
        assert all(len(s) == k and len(set(s)) == k and set(s) <= set(range(4)) for s in sets)
        assert [FILTERS[j] for j in sets[2]] == features.split(";")
        assert any(sorted(s) != sorted(sets[2]) for s in sets[:2])
    assert list(selector.ranking_[:3]) == acc["features"].iloc[-1].split(";")
