"""`lassonet select/predict/inspect` with a conv backbone on a tiny image table (1 x 8 x 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from clitools import assert_clean_error, invoke
from test_modelfile import rewrite

BARS = Path(__file__).resolve().parent / "data" / "bars_8x8.csv"  # id, px_0_0..px_7_7, shape
CONV = ("--backbone", "conv:4,3", "--image-shape", "1x8x8")
FILTERS = [f"filter_{j:02d}" for j in range(4)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("conv")
    files = {name: out / name for name in ("ranking.csv", "path.csv", "model.safetensors",
                                           "filters.png")}
    result = invoke("select", BARS, "--target", "shape", "--id", "id", *CONV, "--threads", 1,
                    "--cv", 0, "-o", files["ranking.csv"], "--path-out", files["path.csv"],
                    "--model-out", files["model.safetensors"],
                    "--filters-out", files["filters.png"])
    assert result.exit_code == 0, result.stderr
    return files, result


def test_ranking_lists_the_filters(trained):
    files, result = trained
    ranking = pd.read_csv(files["ranking.csv"])
    assert list(ranking.columns) == ["rank", "feature", "importance", "selected"]
    assert sorted(ranking["feature"]) == FILTERS
    assert ranking["importance"].is_monotonic_decreasing
    assert 0 < ranking["selected"].sum() < 4
    assert "filter(s)" in result.stderr.splitlines()[-1]


def test_path_table_counts_and_names_filters(trained):
    files, _ = trained
    path = pd.read_csv(files["path.csv"], keep_default_na=False)
    assert path["k"].iloc[0] == 4 and path["k"].iloc[-1] == 0
    eliminated = [n for cell in path["eliminated"] if cell for n in cell.split(";")]
    assert sorted(eliminated) == FILTERS
    # k falls by exactly the number of filters eliminated at each point
    drops = (path["k"].shift(1) - path["k"]).iloc[1:]
    counts = path["eliminated"].iloc[1:].map(lambda c: len(c.split(";")) if c else 0)
    assert drops.astype(int).tolist() == counts.tolist()


def test_filters_figure_is_a_png(trained):
    files, _ = trained
    assert files["filters.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predict_with_the_conv_model(trained, tmp_path):
    files, _ = trained
    out = tmp_path / "pred.csv"
    result = invoke("predict", files["model.safetensors"], BARS, "--keep", "id", "-o", out)
    assert result.exit_code == 0, result.stderr
    pred = pd.read_csv(out)
    truth = pd.read_csv(BARS)
    assert list(pred.columns) == ["id", "prediction", "proba_horizontal", "proba_vertical"]
    assert (pred["id"] == truth["id"]).all()
    assert (pred["prediction"] == truth["shape"]).mean() >= 0.9


def test_predict_names_a_missing_pixel(trained):
    files, _ = trained
    frame = pd.read_csv(BARS).drop(columns=["px_3_4"])
    result = invoke("predict", files["model.safetensors"], "-",
                    input=frame.to_csv(index=False).encode())
    assert_clean_error(result, "px_3_4")


def test_inspect_reports_alive_filters(trained):
    files, _ = trained
    ranking = pd.read_csv(files["ranking.csv"])
    alive = int(ranking["selected"].sum())
    result = invoke("inspect", files["model.safetensors"])
    assert result.exit_code == 0, result.stderr
    assert "conv:4,3:k3" in result.stdout
    assert "image shape     1x8x8" in result.stdout
    assert f"filters alive   {alive} of 4 conv1 filter(s)" in result.stdout
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
    assert listed == list(ranking.loc[ranking["selected"], "feature"])
    header = json.loads(invoke("inspect", files["model.safetensors"], "--json").stdout)
    assert header["image_shape"] == [1, 8, 8]
    assert header["M"] == pytest.approx(0.1)  # no --M given: the conv default
    assert sorted(header["importances"]) == FILTERS


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda h: h.update(image_shape=[1, 8, 7]), "needs 56 feature columns"),
    (lambda h: h.update(image_shape=None), "needs the image shape"),
    (lambda h: h.update(image_shape="1x8x8"), "image_shape"),
    (lambda h: h.update(backbone="conv:4,3:k5"), "inconsistent model file"),
    (lambda h: h.update(backbone="mlp:4"), "only for a conv backbone"),
])
def test_loading_validates_the_conv_spec_and_image_shape(trained, tmp_path, edit, fragment):
    files, _ = trained
    bad = rewrite(files["model.safetensors"], tmp_path / "bad.safetensors", edit)
    for args in (("inspect", bad), ("predict", bad, BARS)):
        assert_clean_error(invoke(*args), "inconsistent model file", fragment)


# --- bad input: one line, exit 2, no output file ------------------------------------------------


@pytest.mark.parametrize(("args", "fragment"), [
    (("--backbone", "conv:4,3", "--image-shape", "1x8x7"), "needs 56 feature columns"),
    (("--backbone", "conv:4,3", "--image-shape", "2x8x8"), "needs 128 feature columns"),
    (("--backbone", "conv:4,3", "--image-shape", "8x8"), "invalid image shape '8x8'"),
    (("--backbone", "conv:4,3", "--image-shape", "1x8xeight"), "CxHxW"),
    (("--backbone", "conv:4,3"), "add --image-shape"),
    (("--backbone", "conv:4", "--image-shape", "1x8x8"), "conv:C1,C2"),
    (("--backbone", "conv:4,3:k2", "--image-shape", "1x8x8"), "odd kernel"),
    (("--image-shape", "1x8x8"), "only for a conv backbone"),
    ((*CONV, "--task", "reconstruction"), "not --task reconstruction"),
    ((*CONV, "--filters-out", "filters.pdf"), ".png or .svg"),
    (("--filters-out", "filters.png"), "needs --backbone conv"),
])
def test_bad_image_options_fail_cleanly_without_output(tmp_path, args, fragment):
    outputs = [tmp_path / "ranking.csv", tmp_path / "model.safetensors"]
    args = tuple(str(tmp_path / a) if a.startswith("filters.") else a for a in args)
    result = invoke("select", BARS, "--target", "shape", "--id", "id", *args,
                    "-o", outputs[0], "--model-out", outputs[1])
    assert_clean_error(result, fragment)
    assert list(tmp_path.iterdir()) == []


def test_categorical_columns_are_not_pixels(tmp_path):
    """The message said 'drop them with --exclude', which the image shape then refused (it
    counts every pixel)."""
    result = invoke("select", BARS, "--target", "shape", "--id", "id", *CONV,
                    "--categorical", "px_0_0", "-o", tmp_path / "r.csv")
    line = assert_clean_error(result, "column(s) px_0_0 hold text or categories: give every "
                                      "pixel of the image as a number")
    assert "--exclude" not in line
    assert list(tmp_path.iterdir()) == []


def test_images_whose_every_pixel_is_constant_are_refused_as_other_tables_are(tmp_path):
    """It ranked filters that saw nothing and exited 0; an MLP refuses the table."""
    table = pd.read_csv(BARS)
    pixels = [c for c in table.columns if c.startswith("px_")]
    table[pixels] = 0.0
    path = tmp_path / "blank.csv"
    table.to_csv(path, index=False)
    result = invoke("select", path, "--target", "shape", "--id", "id", *CONV, "--cv", 0,
                    "-o", tmp_path / "r.csv")
    assert_clean_error(result, "every feature column is constant: there is nothing to select")


def test_a_gap_in_a_pixel_suggests_no_imputation_which_a_conv_backbone_refuses(tmp_path):
    """The first error said 'or use --missing impute', and that gave the second error."""
    table = pd.read_csv(BARS)
    table.loc[3, "px_2_2"] = None
    path = tmp_path / "gap.csv"
    table.to_csv(path, index=False)
    result = invoke("select", path, "--target", "shape", "--id", "id", *CONV, "--cv", 0)
    line = assert_clean_error(result, "a conv backbone needs every pixel", "px_2_2")
    assert "impute" not in line


def test_groups_with_a_conv_backbone_are_refused(tmp_path):
    groups = tmp_path / "groups.csv"
    groups.write_text("feature,group\npx_0_0,a\npx_0_1,a\n")
    result = invoke("select", BARS, "--target", "shape", "--id", "id", *CONV, "--groups", groups)
    assert_clean_error(result, "--groups")


def test_cross_validated_conv_selection_chooses_by_the_one_se_rule(tmp_path):
    """``--cv`` works with a conv backbone: every path point gets a fold mean and standard
    error, the 1se rule picks the point, and the saved model of that point predicts."""
    files = {name: tmp_path / name for name in ("ranking.csv", "path.csv", "model.safetensors")}
    result = invoke("select", BARS, "--target", "shape", "--id", "id", *CONV, "--threads", 1,
                    "--cv", 2, "-o", files["ranking.csv"], "--path-out", files["path.csv"],
                    "--model-out", files["model.safetensors"])
    assert result.exit_code == 0, result.stderr
    assert "2-fold" in result.stderr and "standard error" in result.stderr
    path = pd.read_csv(files["path.csv"], keep_default_na=False)
    assert (path["val_score_se"] >= 0).all() and path["val_score"].between(0, 1).all()
    selected = pd.read_csv(files["ranking.csv"])["selected"].sum()
    assert 1 <= selected <= 4
    # the chosen point is the sparsest within one standard error of the best mean
    # (ties in the mean go to the sparser, then the later point)
    best = max(path.index, key=lambda i: (path["val_score"][i], -path["k"][i], i))
    within = path[path["val_score"] >= path["val_score"][best] - path["val_score_se"][best]]
    assert selected == within["k"].min()
    out = tmp_path / "pred.csv"
    predicted = invoke("predict", files["model.safetensors"], BARS, "--keep", "id", "-o", out)
    assert predicted.exit_code == 0, predicted.stderr
    assert len(pd.read_csv(out)) == len(pd.read_csv(BARS))
