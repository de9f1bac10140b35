"""Categorical columns (one-hot groups) and missing values (--missing error|impute), end to end.

Issue 4: text, boolean and pandas category columns (and those named in --categorical) are
one-hot encoded, each one group of the group HIER-PROX, so the ranking has one row per original
column; --max-levels bounds the levels; --missing impute fills training medians (most frequent
level) and adds a missing-indicator in the column's group, recorded in the model file and
applied by predict; an unseen level at predict encodes as all zeros and stderr counts such rows;
rows without a target are dropped with a note.

Expected predictions are computed here by encoding the rows by hand from the model file's
header (one-hot levels, fill values, indicators) and running the stored network, so they do not
go through the package's encoder.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from clitools import assert_clean_error, invoke

from lassonet_cli import LassoNetSelector
from lassonet_cli.encoding import ColumnCode, fit_encoder
from lassonet_cli.errors import DataError

MICE = Path(__file__).resolve().parent / "data" / "mice_protein_slice.csv"
# --cv 0: these small tables would be cross-validated by default, which no test here is about
FAST = ["--max-epochs", "20", "--patience", "3", "--threads", "1", "--cv", "0"]







def header_of(model: Path) -> dict:
    result = invoke("inspect", model, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def codes_by_name(header: dict) -> dict[str, dict]:
    return {code["name"]: code for code in header["encoder"]["codes"]}


def hand_encode(header: dict, df: pd.DataFrame) -> np.ndarray:
    """The model inputs of df, built from the header's codes without the package's encoder."""
    blocks = []
    for code in header["encoder"]["codes"]:
        series = df[code["name"]]
        if code["kind"] == "numeric":
            values = series.to_numpy(dtype=np.float64)
            gap = ~np.isfinite(values)
            if code["fill"] is not None:
                values = np.where(gap, code["fill"], values)
            blocks.append(values[:, None])
        else:
            gap = series.isna().to_numpy()
            text = [code["fill"] if g else str(v) for g, v in zip(gap, series, strict=True)]
            blocks.append(np.array([[1.0 if t == level else 0.0 for level in code["levels"]]
                                    for t in text]).reshape(len(df), len(code["levels"])))
        if code["indicator"]:
            blocks.append(gap.astype(np.float64)[:, None])
    raw = np.hstack(blocks)
    mean = np.asarray(header["encoder"]["mean"])
    scale = np.asarray(header["encoder"]["scale"])
    return (raw - mean) / scale


def network_outputs(model: Path, inputs: np.ndarray) -> np.ndarray:
    net = LassoNetSelector.load(str(model)).model_
    with torch.no_grad():
        return net(torch.from_numpy(inputs.astype(np.float32))).double().numpy()


# --------------------------------------------------------------------------------------------
# a table of every kind of column, no gaps: the label is a function of `color` alone


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    rng = np.random.default_rng(3)
    n = 120
    color = rng.choice(["red", "green", "blue", "yellow"], n)
    df = pd.DataFrame({
        "x1": rng.standard_normal(n),
        "color": color,                                               # text
        "flag": rng.random(n) < 0.5,                                  # bool
        "size": pd.Categorical(rng.choice(["s", "m", "l"], n)),       # pandas category
        "grade": rng.integers(1, 4, n),                               # numeric, --categorical
        "x2": rng.standard_normal(n),
        "label": np.where(np.isin(color, ["red", "green"]), "warm", "cold"),
    })
    out = tmp_path_factory.mktemp("mixed")
    data = out / "mixed.parquet"
    df.to_parquet(data)
    assert isinstance(pd.read_parquet(data)["size"].dtype, pd.CategoricalDtype)
    ranking, path, model = out / "ranking.csv", out / "path.csv", out / "model.safetensors"
    result = invoke("select", data, "-t", "label", "--categorical", "grade", *FAST,
                    "-o", ranking, "--path-out", path, "--model-out", model)
    assert result.exit_code == 0, result.stderr
    return {"df": df, "data": data, "ranking": ranking, "path": path, "model": model}


COLUMNS = ["x1", "color", "flag", "size", "grade", "x2"]


def test_ranking_has_one_row_per_original_column(mixed):
    ranking = pd.read_csv(mixed["ranking"])
    assert sorted(ranking["feature"]) == sorted(COLUMNS)
    assert ranking["rank"].tolist() == list(range(1, len(COLUMNS) + 1))
    assert not ranking["feature"].str.contains("=|:missing").any()  # no level rows
    assert np.isfinite(ranking["importance"]).all()
    assert ranking["importance"].is_monotonic_decreasing


def test_column_that_determines_the_target_ranks_first(mixed):
    ranking = pd.read_csv(mixed["ranking"])
    assert ranking["feature"].iloc[0] == "color"
    assert bool(ranking["selected"].iloc[0])


def test_text_bool_category_and_forced_columns_are_one_hot_in_the_model_file(mixed):
    codes = codes_by_name(header_of(mixed["model"]))
    assert list(codes) == COLUMNS
    assert {name: code["kind"] for name, code in codes.items()} == {
        "x1": "numeric", "color": "categorical", "flag": "categorical",
        "size": "categorical", "grade": "categorical", "x2": "numeric",
    }
    df = mixed["df"]
    assert sorted(codes["color"]["levels"]) == sorted(set(df["color"]))
    assert sorted(codes["flag"]["levels"]) == ["False", "True"]
    assert sorted(codes["size"]["levels"]) == ["l", "m", "s"]
    assert sorted(codes["grade"]["levels"]) == ["1", "2", "3"]
    assert codes["x1"]["levels"] == [] and codes["x2"]["levels"] == []
    for code in codes.values():  # no gaps anywhere: nothing filled, no indicators
        assert code["fill"] is None and code["indicator"] is False
    header = header_of(mixed["model"])
    n_inputs = 2 + 4 + 2 + 3 + 3
    assert len(header["encoder"]["mean"]) == len(header["encoder"]["scale"]) == n_inputs


def test_without_categorical_an_integer_column_stays_numeric(mixed, tmp_path):
    model = tmp_path / "m.safetensors"
    result = invoke("select", mixed["data"], "-t", "label", "--features", "grade,color",
                    "--max-epochs", "5", "--patience", "2", "--threads", "1", "--cv", "0",
                    "--model-out", model, "-q")
    assert result.exit_code == 0, result.stderr
    codes = codes_by_name(header_of(model))
    assert codes["grade"]["kind"] == "numeric" and codes["color"]["kind"] == "categorical"


def test_levels_of_a_column_leave_the_path_together(mixed):
    path = pd.read_csv(mixed["path"], keep_default_na=False)
    assert path["k"].iloc[0] == len(COLUMNS) and path["k"].iloc[-1] == 0
    left = [name for cell in path["eliminated"] for name in cell.split(";") if name]
    assert sorted(left) == sorted(COLUMNS)  # every column leaves once, as one unit
    per_point = path["eliminated"].map(lambda cell: len([n for n in cell.split(";") if n]))
    assert (len(COLUMNS) - per_point.cumsum() == path["k"]).all()


def test_group_weights_are_zero_together_along_the_path():
    """Python API: at every path point a column's inputs are all zero or all alive."""
    rng = np.random.default_rng(5)
    n = 90
    color = rng.choice(["a", "b", "c", "d"], n)
    X = pd.DataFrame({"color": color, "u": rng.standard_normal(n),
                      "flag": rng.random(n) < 0.5, "v": rng.standard_normal(n)})
    y = np.where(np.isin(color, ["a", "b"]), 1.0, -1.0) + 0.5 * X["u"].to_numpy()
    seen = []

    def check(point, net):
        theta = net.skip.weight.detach()
        W = net.backbone.input_layer.weight.detach()
        owner = np.repeat(np.arange(4), [4, 1, 2, 1])  # color: 4 levels, flag: 2
        for unit in range(4):
            cols = np.flatnonzero(owner == unit)
            alive = theta[:, cols].abs().sum(dim=0) > 0
            if point.norms[unit] == 0:
                assert not alive.any() and (W[:, cols] == 0).all(), (point.lambda_, unit)
            else:
                assert alive.all(), (point.lambda_, unit)
        seen.append(point.k)

    sel = LassoNetSelector(task="regression", max_epochs=20, patience=3, seed=0, cv=0)
    sel.fit(X, y, on_point=check)
    assert sel.encoder_.input_names == ["color=a", "color=b", "color=c", "color=d", "u",
                                        "flag=False", "flag=True", "v"]
    assert seen[0] == 4 and seen[-1] == 0
    assert sorted(sel.ranking_) == ["color", "flag", "u", "v"]
    assert sel.feature_importances_.shape == (4,)


def test_too_many_levels_names_the_column_and_suggests_exclude(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"code": [f"c{i % 8}" for i in range(40)], "few": ["p", "q"] * 20,
                       "x": rng.standard_normal(40), "y": rng.standard_normal(40)})
    data = tmp_path / "levels.csv"
    df.to_csv(data, index=False)
    line = assert_clean_error(invoke("select", data, "-t", "y", "--max-levels", "5"),
                              "code", "8 levels", "--exclude")
    assert "few" not in line
    # within the limit it runs
    ok = invoke("select", data, "-t", "y", "--max-levels", "8", "--max-epochs", "3",
                "--patience", "1", "--threads", "1", "--cv", "0", "-q")
    assert ok.exit_code == 0, ok.stderr
    assert sorted(pd.read_csv(io.StringIO(ok.stdout))["feature"]) == ["code", "few", "x"]


def test_api_too_many_levels_names_the_count_and_max_levels():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"code": [f"c{i % 8}" for i in range(40)], "x": rng.standard_normal(40)})
    with pytest.raises(DataError) as raised:
        LassoNetSelector(max_levels=5, max_epochs=3, cv=0).fit(X, rng.standard_normal(40))
    assert "code (8 levels)" in str(raised.value) and "max_levels (now 5)" in str(raised.value)


def test_categorical_option_naming_an_unknown_column_is_an_error(mixed):
    assert_clean_error(invoke("select", mixed["data"], "-t", "label", "--categorical", "zz"),
                       "zz")


# --------------------------------------------------------------------------------------------
# gaps: --missing impute; a regression target; some rows without a target


@pytest.fixture(scope="module")
def gappy(tmp_path_factory):
    rng = np.random.default_rng(11)
    n = 100
    color = rng.choice(["red", "green", "blue"], n, p=[0.6, 0.2, 0.2])
    a = np.where(rng.random(n) < 0.7, 5.0, rng.uniform(0, 10, n))  # median 5 in any 90%
    b = rng.standard_normal(n)
    y = 3.0 * (color == "green") - 3.0 * (color == "blue") + b + 0.1 * rng.standard_normal(n)
    df = pd.DataFrame({"id": np.arange(n), "color": color.astype(object), "a": a, "b": b,
                       "y": y})
    df.loc[[2, 9, 30, 41, 77, 90], "color"] = None
    df.loc[[4, 15, 60, 61, 88], "a"] = np.nan
    df.loc[[20, 50], "a"] = [np.inf, -np.inf]
    df.loc[[7, 33, 66], "y"] = np.nan
    out = tmp_path_factory.mktemp("gappy")
    data = out / "gappy.csv"
    df.to_csv(data, index=False)
    ranking, path, model = out / "ranking.csv", out / "path.csv", out / "model.safetensors"
    result = invoke("select", data, "-t", "y", "--id", "id", "--missing", "impute", *FAST,
                    "-o", ranking, "--path-out", path, "--model-out", model)
    assert result.exit_code == 0, result.stderr
    return {"df": df, "data": data, "ranking": ranking, "path": path, "model": model,
            "result": result, "dir": out}


def test_impute_runs_and_writes_no_nan(gappy):
    ranking = pd.read_csv(gappy["ranking"])
    assert sorted(ranking["feature"]) == ["a", "b", "color"]
    assert not ranking.isna().any().any()
    path = pd.read_csv(gappy["path"], keep_default_na=False)
    numbers = path.drop(columns="eliminated").apply(pd.to_numeric, errors="coerce")
    assert np.isfinite(numbers.to_numpy(dtype=np.float64)).all()
    left = [name for cell in path["eliminated"] for name in cell.split(";") if name]
    assert sorted(left) == ["a", "b", "color"]  # an indicator leaves with its column
    assert "imputed gaps in 2 column(s)" in gappy["result"].stderr


def test_rows_without_a_target_are_dropped_with_a_note(gappy):
    stderr = gappy["result"].stderr
    assert re.search(r"dropped 3 row\(s\) whose target 'y' is missing", stderr), stderr


def test_model_file_records_fill_values_and_indicators(gappy):
    codes = codes_by_name(header_of(gappy["model"]))
    assert list(codes) == ["color", "a", "b"]
    assert codes["color"]["kind"] == "categorical"
    assert sorted(codes["color"]["levels"]) == ["blue", "green", "red"]  # a gap is no level
    assert codes["color"]["fill"] == "red" and codes["color"]["indicator"] is True
    assert codes["a"]["kind"] == "numeric"
    assert codes["a"]["fill"] == 5.0 and codes["a"]["indicator"] is True
    assert codes["b"]["fill"] is None and codes["b"]["indicator"] is False
    header = header_of(gappy["model"])
    assert len(header["encoder"]["mean"]) == 3 + 1 + 1 + 1 + 1  # levels, ind., a, ind., b


def new_rows() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [100, 101, 102, 103, 104, 105, 106],
        "color": ["red", "purple", "green", None, "purple", "blue", "mauve"],
        "a": [5.0, 2.0, np.nan, 7.0, np.inf, 1.0, 3.0],
        "b": [0.5, -1.0, 0.0, 1.5, 0.2, -0.3, 0.8],
    })


def test_predict_fills_gaps_and_counts_unseen_levels(gappy, tmp_path):
    rows = new_rows()
    data = tmp_path / "new.csv"
    rows.to_csv(data, index=False)
    result = invoke("predict", gappy["model"], data, "--keep", "id")
    assert result.exit_code == 0, result.stderr
    got = pd.read_csv(io.StringIO(result.stdout))
    assert got["id"].tolist() == rows["id"].tolist()
    assert np.isfinite(got["prediction"]).all()
    assert re.search(r"\b3 row\(s\) have a category level not seen in training, encoded as "
                     r"none of the levels: color \('purple', 'mauve'\)$", result.stderr, re.M)
    # independent: encode by hand (gaps -> fill + indicator 1; purple/mauve -> all-zero one-hot)
    header = header_of(gappy["model"])
    inputs = hand_encode(header, rows)
    levels = codes_by_name(header)["color"]["levels"]
    unseen = rows["color"].isin(["purple", "mauve"]).to_numpy()
    mean, scale = (np.asarray(header["encoder"][k][: len(levels)]) for k in ("mean", "scale"))
    np.testing.assert_array_equal(inputs[unseen, : len(levels)],
                                  np.broadcast_to(-mean / scale, (unseen.sum(), len(levels))))
    task = header["task"]
    want = network_outputs(gappy["model"], inputs)[:, 0] * task["scale"] + task["mean"]
    np.testing.assert_allclose(got["prediction"], want, rtol=1e-5, atol=1e-6)
    # the unseen rows really differ from any seen level (color is in the model)
    assert "color" in header["selected"]
    for level in levels:
        as_level = hand_encode(header, rows[unseen].assign(color=level))
        other = network_outputs(gappy["model"], as_level)[:, 0] * task["scale"] + task["mean"]
        assert not np.allclose(other, want[unseen], atol=1e-3)


def test_the_python_api_warns_of_unseen_levels_as_the_command_line_notes_them():
    """predict encoded new levels as none of the levels without a word (the command line
    notes them); a UserWarning names them now, pointing at the caller's line."""
    from lassonet_cli import LassoNetSelector

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "c": rng.choice(["x", "y"], 60)})
    selector = LassoNetSelector(cv=0, max_epochs=3, seed=0).fit(X, X["a"] + (X["c"] == "x"))
    with pytest.warns(UserWarning, match=r"^2 row\(s\) have a category level not seen in "
                                         r"training, encoded as none of the levels: c \('z', "
                                         r"'Z'\)$") as caught:
        selector.predict(X.head(3).assign(c=["x", "z", "Z"]))
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        selector.predict(X.head(3))  # (seen levels: no warning)


def test_a_column_whose_levels_all_changed_is_named_and_quiet_silences_it(gappy, tmp_path):
    """Levels upper-cased since training: every row is encoded as none of the levels, which
    changes the predictions; the note says which column, and that training saw none of it."""
    rows = new_rows().assign(color=lambda t: t["color"].str.upper())
    data = tmp_path / "upper.csv"
    rows.to_csv(data, index=False)
    result = invoke("predict", gappy["model"], data)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ("note: 6 row(s) have a category level not seen in training, "
                             "encoded as none of the levels: color ('RED', 'PURPLE', 'GREEN', "
                             "none of its values seen in training)\n")
    quiet = invoke("predict", gappy["model"], data, "-q")
    assert (quiet.exit_code, quiet.stderr, quiet.stdout) == (0, "", result.stdout)


def test_predict_with_gaps_where_training_had_none_is_an_error(gappy, tmp_path):
    rows = new_rows()
    rows.loc[[1, 4], "b"] = np.nan
    data = tmp_path / "bgaps.csv"
    rows.to_csv(data, index=False)
    line = assert_clean_error(invoke("predict", gappy["model"], data), "b (2 ")
    assert "color" not in line and "a (" not in line


def test_missing_error_names_each_column_with_its_count(gappy):
    line = assert_clean_error(invoke("select", gappy["data"], "-t", "y", "--id", "id"),
                              "color (6 missing)", "a (5 missing)", "--missing impute")
    assert "b (" not in line


def test_infinite_values_alone_are_gaps_under_impute(tmp_path):
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"a": rng.standard_normal(60), "b": rng.standard_normal(60)})
    df["y"] = df["a"] + rng.standard_normal(60) * 0.1
    df.loc[[3, 40], "b"] = np.inf
    data, model = tmp_path / "inf.csv", tmp_path / "inf.safetensors"
    df.to_csv(data, index=False)
    assert_clean_error(invoke("select", data, "-t", "y"), "infinite", "b", "--missing impute")
    result = invoke("select", data, "-t", "y", "--missing", "impute", "--max-epochs", "5",
                    "--patience", "2", "--threads", "1", "--cv", "0", "--model-out", model)
    assert result.exit_code == 0, result.stderr
    assert not pd.read_csv(io.StringIO(result.stdout)).isna().any().any()
    codes = codes_by_name(header_of(model))
    finite = df.loc[np.isfinite(df["b"]), "b"]
    assert codes["b"]["indicator"] is True
    assert finite.min() <= codes["b"]["fill"] <= finite.max()
    assert codes["a"]["indicator"] is False and codes["a"]["fill"] is None


def test_path_command_with_categories_and_gaps(gappy, tmp_path):
    out = tmp_path / "acc.csv"
    result = invoke("path", gappy["data"], "-t", "y", "--id", "id", "--missing", "impute",
                    "--k-grid", "1,3", "--random-repeats", "1", *FAST, "-o", out)
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(out)
    assert not table.isna().any().any()
    assert [sorted(f.split(";")) for f in table["features"]][1] == ["a", "b", "color"]


# --------------------------------------------------------------------------------------------
# the Python API


def api_frame(n: int = 80, seed: int = 4) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    kind = rng.choice(["p", "q", "r"], n)
    X = pd.DataFrame({"kind": kind.astype(object), "x": rng.standard_normal(n),
                      "z": rng.standard_normal(n)})
    y = np.where(kind == "p", "yes", "no")
    X.loc[[1, 6, 20], "kind"] = np.nan
    X.loc[[3, 12], "x"] = np.nan
    return X, y


def test_api_impute_fits_and_predicts_with_text_and_gaps():
    X, y = api_frame()
    sel = LassoNetSelector(missing="impute", max_epochs=20, patience=3, seed=0, cv=0).fit(X, y)
    codes = {c.name: c for c in sel.encoder_.codes}
    assert codes["kind"].kind == "categorical" and codes["kind"].indicator
    assert codes["x"].kind == "numeric" and codes["x"].indicator
    assert codes["z"].fill is None and not codes["z"].indicator
    assert sorted(sel.ranking_) == ["kind", "x", "z"]
    predicted = sel.predict(X)
    assert len(predicted) == len(X) and set(predicted) <= {"yes", "no"}
    proba = sel.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    seen = ~X["kind"].isna().to_numpy()
    assert (predicted[seen] == y[seen]).mean() > 0.9


def test_api_missing_error_raises_data_error():
    X, y = api_frame()
    with pytest.raises(DataError, match="kind"):
        LassoNetSelector(max_epochs=5, patience=2, cv=0).fit(X, y)
    with pytest.raises(DataError, match="impute"):
        LassoNetSelector(missing="error", max_epochs=5, patience=2, cv=0).fit(X, y)


def test_api_category_and_bool_columns_are_categorical():
    rng = np.random.default_rng(8)
    n = 60
    X = pd.DataFrame({"c": pd.Categorical(rng.choice(["lo", "hi"], n)),
                      "b": rng.random(n) < 0.5, "g": rng.integers(0, 3, n),
                      "x": rng.standard_normal(n)})
    y = X["x"].to_numpy() + (X["c"] == "hi").to_numpy()
    sel = LassoNetSelector(task="regression", categorical=["g"], max_epochs=5, patience=2, cv=0)
    sel.fit(X, y)
    kinds = {c.name: c.kind for c in sel.encoder_.codes}
    assert kinds == {"c": "categorical", "b": "categorical", "g": "categorical",
                     "x": "numeric"}
    assert len(sel.feature_importances_) == 4 and len(sel.ranking_) == 4


def test_api_category_of_numbers_has_the_levels_of_the_numbers():
    # an int column with a gap is floats; made a category, its levels are 1, 2, 3 (not '1.0'),
    # so that the same column without the gap, as a category or as numbers, reads the same
    rng = np.random.default_rng(8)
    n = 60
    grade = rng.integers(1, 4, n).astype(float)
    grade[0] = np.nan
    X = pd.DataFrame({"grade": pd.Categorical(grade), "x": rng.standard_normal(n)})
    y = X["x"].to_numpy() + 2 * (grade == 2)
    sel = LassoNetSelector(task="regression", missing="impute", max_epochs=5, patience=2, cv=0)
    sel.fit(X, y)
    assert sel.encoder_.codes[0].levels == ["1", "2", "3"]
    rows = X.iloc[1:].copy()
    expected = sel.predict(rows)
    rows["grade"] = pd.Categorical(grade[1:].astype(int))
    np.testing.assert_array_equal(sel.predict(rows), expected)
    rows["grade"] = grade[1:].astype(int)
    np.testing.assert_array_equal(sel.predict(rows), expected)


def test_api_numbers_among_text_have_the_levels_of_the_numbers():
    # a spreadsheet's column of 1.0, 2.0, 3.0 and 'unknown' (object), forced categorical as
    # the refusal of its text cell advises: later rows of numbers alone must read the same;
    # they were refused, the levels '1.0', '2.0', ... matching 'no number'
    rng = np.random.default_rng(8)
    n = 60
    grade = pd.Series(rng.integers(1, 4, n).astype(float), dtype=object)
    grade[0] = "unknown"
    X = pd.DataFrame({"grade": grade, "x": rng.standard_normal(n)})
    y = X["x"].to_numpy() + 2 * (grade == 2).to_numpy()
    sel = LassoNetSelector(task="regression", categorical=["grade"], max_epochs=5, patience=2,
                           cv=0).fit(X, y)
    assert sel.encoder_.codes[0].levels == ["1", "2", "3", "unknown"]
    rows = X.iloc[1:].copy()
    expected = sel.predict(rows)
    rows["grade"] = rows["grade"].astype(float)
    np.testing.assert_array_equal(sel.predict(rows), expected)


# --------------------------------------------------------------------------------------------
# the mice protein slice: an ID, protein columns with gaps, three text columns, a text label


MICE_TEXT = ["Genotype", "Treatment", "Behavior"]


def test_mice_impute_ranks_text_columns_as_single_rows():
    table = pd.read_csv(MICE)
    proteins = [c for c in table.columns if c.endswith("_N")]
    result = invoke("select", MICE, "--target", "class", "--id", "MouseID",
                    "--missing", "impute", *FAST)
    assert result.exit_code == 0, result.stderr
    ranking = pd.read_csv(io.StringIO(result.stdout))
    assert sorted(ranking["feature"]) == sorted(proteins + MICE_TEXT)
    assert len(ranking) == len(proteins) + 3
    # the label is spelled out by the three text columns
    assert set(ranking["feature"].head(3)) == set(MICE_TEXT)
    assert not ranking.isna().any().any()


def test_mice_without_impute_names_the_columns_with_gaps():
    table = pd.read_csv(MICE)
    gaps = table.isna().sum()
    gaps = gaps[gaps > 0]
    assert len(gaps) >= 2  # the slice has gaps to report
    line = assert_clean_error(invoke("select", MICE, "--target", "class", "--id", "MouseID"),
                              *[f"{c} ({n} missing)" for c, n in gaps.items()],
                              "--missing impute")
    assert "DYRK1A_N" not in line


def test_mice_id_without_id_option_is_named_as_an_id():
    assert_clean_error(invoke("select", MICE, "--target", "class", "--missing", "impute"),
                       "'MouseID' has a different value in each of its 60 rows",
                       "--id MouseID", "--exclude")


# --------------------------------------------------------------------------------------------
# the text of a numeric --categorical level must not depend on how pandas read the column


def test_forced_numeric_levels_match_across_int_and_float_reads():
    train = pd.DataFrame({"g": [1.0, 2.0, np.nan, 3.0, 2.0]})
    encoder = fit_encoder(train, categorical=["g"], gappy=["g"])
    assert isinstance(encoder.codes[0], ColumnCode)
    assert encoder.unseen_levels(pd.DataFrame({"g": [1, 2, 3]})) == (0, {})


def test_predict_forced_numeric_column_without_gaps_uses_its_levels(tmp_path):
    rng = np.random.default_rng(1)
    n = 80
    g = rng.integers(1, 4, n)
    df = pd.DataFrame({"g": g.astype(float), "x": rng.standard_normal(n),
                       "y": np.where(g == 2, "a", "b")})
    df.loc[[0, 5], "g"] = np.nan
    data, model, new = tmp_path / "t.csv", tmp_path / "m.safetensors", tmp_path / "new.csv"
    df.to_csv(data, index=False)
    result = invoke("select", data, "-t", "y", "--categorical", "g", "--missing", "impute",
                    "--max-epochs", "5", "--patience", "2", "--threads", "1", "--cv", "0",
                    "--model-out", model, "-q")
    assert result.exit_code == 0, result.stderr
    pd.DataFrame({"g": [1, 2, 3], "x": [0.0, 0.0, 0.0]}).to_csv(new, index=False)
    predicted = invoke("predict", model, new)
    assert predicted.exit_code == 0, predicted.stderr
    assert "not seen in training" not in predicted.stderr


def test_predict_refuses_numbers_for_a_column_trained_on_text_codes(tmp_path):
    """Codes '01', '02', '03' trained from Parquet, predicted from a CSV that reads them as
    1, 2, 3: none matched a level, the column counted for nothing in every prediction, and
    only a note said so.  A column trained on numbers as levels still predicts."""
    rng = np.random.default_rng(2)
    n = 80
    code = rng.integers(1, 4, n)
    df = pd.DataFrame({"code": [f"0{c}" for c in code], "x": rng.standard_normal(n),
                       "y": code + 0.1 * rng.standard_normal(n)})
    data, model, new = tmp_path / "t.parquet", tmp_path / "m.safetensors", tmp_path / "new.csv"
    df.to_parquet(data)
    result = invoke("select", data, "-t", "y", "--max-epochs", "5", "--patience", "2",
                    "--threads", "1", "--cv", "0", "--model-out", model, "-q")
    assert result.exit_code == 0, result.stderr
    df.head(5).drop(columns="y").to_csv(new, index=False)  # '01' is read back as 1
    assert_clean_error(invoke("predict", model, new), "column 'code' holds numbers",
                       "'01', '02', '03'", "give the column as text")


def test_predict_reads_numbers_for_levels_written_as_floats(tmp_path):
    """A CSV column of 1.0, 2.0, 3.0 (as pandas writes floats) and 'unknown', made
    categorical with --categorical as select advises: a new table without 'unknown' reads the
    column as numbers, refused as matching none of the levels '1.0', '2.0', '3.0'."""
    rng = np.random.default_rng(2)
    n = 80
    grade = pd.Series(rng.integers(1, 4, n).astype(float), dtype=object)
    grade[:10] = "unknown"
    df = pd.DataFrame({"grade": grade, "x": rng.standard_normal(n)})
    df["y"] = df["x"] + 2.0 * (grade == 2).to_numpy()
    data, model, new = tmp_path / "t.csv", tmp_path / "m.safetensors", tmp_path / "new.csv"
    df.to_csv(data, index=False)
    result = invoke("select", data, "-t", "y", "--categorical", "grade", "--max-epochs", "5",
                    "--patience", "2", "--threads", "1", "--cv", "0", "--model-out", model, "-q")
    assert result.exit_code == 0, result.stderr
    df.iloc[10:].drop(columns="y").to_csv(new, index=False)
    predicted = invoke("predict", model, new)
    assert predicted.exit_code == 0, predicted.stderr
    assert "not seen in training" not in predicted.stderr
    whole = invoke("predict", model, data)  # (batches of other sizes: the 9th digit differs)
    np.testing.assert_allclose(pd.read_csv(io.StringIO(predicted.stdout))["prediction"],
                               pd.read_csv(io.StringIO(whole.stdout))["prediction"][10:],
                               rtol=1e-6)


def test_a_model_file_with_levels_written_as_floats_reads_numbers():
    """A file written before '2.0' was the level '2' keeps '1.0', '2.0' (and the fill '2.0'):
    its levels are read as level_text now reads the cells, so the numbers still match."""
    from lassonet_cli.encoding import Encoder

    code = {"name": "g", "kind": "categorical", "levels": ["1.0", "2.0", "x"], "fill": "2.0",
            "indicator": True}
    encoder = Encoder.from_dict({"codes": [code], "mean": [0.0] * 4, "scale": [1.0] * 4})
    assert (encoder.codes[0].levels, encoder.codes[0].fill) == (["1", "2", "x"], "2")
    raw = encoder.raw(pd.DataFrame({"g": [2.0, np.nan, 1.0]}))
    np.testing.assert_array_equal(raw, [[0, 1, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0]])


def test_separable_categories_do_not_run_away_on_the_path(tmp_path):
    """The label is a function of three text columns: cross-entropy can reach 0 with ever larger
    weights; a step that throws the weights out is retried with a smaller step, and the path
    ends with those columns on top (this run used to diverge)."""
    out = tmp_path / "acc.csv"
    result = invoke("path", MICE, "-t", "class", "--id", "MouseID", "--missing", "impute",
                    "--k-grid", "3", "--random-repeats", "2", "--max-epochs", "20",
                    "--threads", "1", "-o", out)
    assert result.exit_code == 0, result.stderr
    row = pd.read_csv(out).iloc[0]
    assert set(row["features"].split(";")) == {"Genotype", "Treatment", "Behavior"}
    assert row["refit_score"] > row["random_score"]


def test_select_checks_its_table_once_and_fits_as_the_python_api_does(gappy, tmp_path,
                                                                       monkeypatch):
    """select fits the table its own checks prepared (``prepare.checked_table``), without the
    Python API's checks (``prepare_table``) a second time, and ranks as the API does on the same
    columns: the gaps, categories and the rows without a target, and a constant column set
    aside."""
    df = gappy["df"].assign(flat=7.0)
    data, ranking = tmp_path / "flat.csv", tmp_path / "ranking.csv"
    df.to_csv(data, index=False)

    def second_check(*args, **kwargs):
        raise AssertionError("select checked its table a second time")

    with monkeypatch.context() as patched:
        patched.setattr("lassonet_cli.estimator.prepare_table", second_check)
        result = invoke("select", data, "-t", "y", "--id", "id", "--missing", "impute", *FAST,
                        "-o", ranking)
    assert result.exit_code == 0, result.stderr
    assert "set aside 1 constant column(s)" in result.stderr
    cli = pd.read_csv(ranking)
    with pytest.warns(UserWarning, match=r"dropped 3 row\(s\) whose y is missing"):
        api = LassoNetSelector(missing="impute", max_epochs=20, patience=3, cv=0, seed=0).fit(
            df.drop(columns=["id", "y"]), df["y"]).ranking_table()
    assert list(cli["feature"]) == list(api["feature"])
    assert list(cli["feature"])[-1] == "flat"
    np.testing.assert_allclose(cli["importance"], api["importance"], rtol=1e-9)
    assert list(cli["selected"]) == list(api["selected"])


def test_filling_gaps_gives_numbers_their_mean_and_categories_no_level():
    """``predict --missing impute``: where training had no gaps, a number's gap takes its
    training mean (0 once standardised) and a category's sets none of its one-hot inputs; a
    column trained with gaps keeps its own fill and indicator."""
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 6.0], "c": ["a", "b", "a", "b"],
                          "g": [1.0, np.nan, 3.0, 5.0]})
    encoder = fit_encoder(train, ["c"], ["g"])
    filled = encoder.filling_gaps()
    assert [c.fill for c in encoder.codes][:2] == [None, None]
    new = pd.DataFrame({"x": [np.nan], "c": [None], "g": [np.nan]})
    z = dict(zip(filled.input_names, filled.transform(new)[0], strict=True))
    assert z["x"] == 0.0  # the mean, standardised
    raw = dict(zip(filled.input_names, filled.raw(new)[0], strict=True))
    assert raw["x"] == 3.0 and raw["c=a"] == 0.0 and raw["c=b"] == 0.0
    assert raw["g"] == 3.0 and raw["g:missing"] == 1.0  # the training median, flagged
