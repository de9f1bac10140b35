"""Survival data end to end: ``--task cox`` in select, path, predict and inspect, the Python API,
the model file, and every way the survival columns can be wrong (one ``error:`` line, exit 2,
no output file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from clitools import assert_clean_error, invoke
from sksurv.util import Surv

from lassonet_cli import LassoNetSelector
from lassonet_cli.cox import concordance_index
from lassonet_cli.errors import ConfigError
from lassonet_cli.modelfile import read_model

WHAS = Path(__file__).parent / "data" / "whas500.csv"
# --cv 0: small tables are cross-validated by default; the tests here are not about that
FAST = ["--max-epochs", "20", "--patience", "3", "--backbone", "mlp:16", "--seed", "0",
        "--threads", "1", "--cv", "0"]
FAST_KW = {"max_epochs": 20, "patience": 3, "backbone": "mlp:16", "seed": 0, "cv": 0}
SURV = ["--task", "cox", "--time", "time", "--event", "event"]


pytestmark = pytest.mark.usefixtures("one_thread")  # (conftest.py)


@pytest.fixture(scope="module")
def whas() -> pd.DataFrame:
    return pd.read_csv(WHAS)


@pytest.fixture(scope="module")
def selected(tmp_path_factory):
    """select --task cox on whas500 with a model file and a path table."""
    out = tmp_path_factory.mktemp("cox")
    ranking, path, model = out / "ranking.csv", out / "path.csv", out / "cox.safetensors"
    result = invoke("select", WHAS, *SURV, *FAST, "-o", ranking, "--path-out", path,
                    "--model-out", model)
    assert result.exit_code == 0, result.stderr
    return ranking, path, model, result


def test_select_ranks_every_feature_and_scores_by_c_index(selected, whas):
    ranking_file, path_file, _, result = selected
    ranking = pd.read_csv(ranking_file)
    features = [c for c in whas.columns if c not in ("time", "event")]
    assert sorted(ranking["feature"]) == sorted(features)
    assert "age" in set(ranking["feature"].head(3))  # the strongest risk factor in whas500
    path = pd.read_csv(path_file, keep_default_na=False)
    assert path["k"].iloc[0] == len(features) and path["k"].iloc[-1] == 0
    assert path["val_score"].between(0, 1).all()
    assert path["val_score"].iloc[-1] == 0.5  # no feature left: every risk is tied
    assert path["val_score"].max() > 0.7
    assert "validation c_index" in result.stderr


def test_predict_writes_risk_scores_equal_to_the_in_process_model(selected, whas, tmp_path):
    _, _, model, _ = selected
    data = tmp_path / "new.csv"
    whas.head(30).to_csv(data, index=False)
    result = invoke("predict", model, data, "--keep", "time,event")
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert list(table.columns) == ["time", "event", "prediction"]
    sel = LassoNetSelector.load(str(model))
    expected = sel.predict(whas.head(30).drop(columns=["time", "event"]))
    np.testing.assert_allclose(table["prediction"], expected, rtol=1e-15)
    # the risk scores are informative: higher risk, earlier death
    all_risk = sel.predict(whas.drop(columns=["time", "event"]))
    c = concordance_index(*(torch.tensor(a) for a in
                            (all_risk, whas["time"].to_numpy(), whas["event"].to_numpy())))
    assert float(c) > 0.7
    with pytest.raises(AttributeError):
        sel.predict_proba(whas.head(3).drop(columns=["time", "event"]))


def test_model_file_records_the_task_and_inspect_shows_it(selected):
    _, _, model, _ = selected
    header, _ = read_model(str(model))
    assert header["task"]["name"] == "cox" and header["task"]["ties"] == "efron"
    assert header["n_outputs"] == 1 and header["point"]["score_name"] == "c_index"
    text = invoke("inspect", model)
    assert text.exit_code == 0 and "cox (efron ties)" in text.stdout
    assert json.loads(invoke("inspect", model, "--json").stdout)["task"]["name"] == "cox"


def test_ties_option_changes_the_fit_and_is_recorded(whas, tmp_path):
    rows = tmp_path / "rows.csv"
    whas.head(200).to_csv(rows, index=False)
    paths = {}
    for ties in ("breslow", "efron"):
        model, path = tmp_path / f"{ties}.safetensors", tmp_path / f"{ties}.csv"
        result = invoke("select", rows, *SURV, *FAST, "--ties", ties, "--model-out", model,
                        "--path-out", path)
        assert result.exit_code == 0, result.stderr
        assert read_model(str(model))[0]["task"]["ties"] == ties
        paths[ties] = pd.read_csv(path)
    assert paths["breslow"]["train_loss"].iloc[0] != paths["efron"]["train_loss"].iloc[0]


def test_auto_task_with_time_and_event_is_cox(whas, tmp_path):
    rows = tmp_path / "rows.csv"
    whas.head(120).to_csv(rows, index=False)
    model = tmp_path / "m.safetensors"
    # --ties applies to cox, which --time and --event make of --task auto
    result = invoke("select", rows, "--time", "time", "--event", "event", *FAST, "--ties",
                    "breslow", "--model-out", model)
    assert result.exit_code == 0, result.stderr
    assert "task: cox" in result.stderr
    assert read_model(str(model))[0]["task"]["ties"] == "breslow"


def test_boolean_events_are_accepted(whas, tmp_path):
    table = whas.head(120).copy()
    table["event"] = table["event"].map({1: "true", 0: "false"})
    rows = tmp_path / "rows.csv"
    table.to_csv(rows, index=False)
    result = invoke("select", rows, *SURV, *FAST)
    assert result.exit_code == 0, result.stderr


def test_path_command_scores_c_index_on_held_out_rows(whas, tmp_path):
    rows = tmp_path / "rows.csv"
    whas.head(200).to_csv(rows, index=False)
    result = invoke("path", rows, *SURV, *FAST, "--k-grid", "2,5", "--random-repeats", "2",
                    "-o", tmp_path / "acc.csv")
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(tmp_path / "acc.csv")
    assert table["k"].tolist() == [2, 5]
    for column in ("lassonet_score", "refit_score", "random_score"):
        assert table[column].between(0, 1).all()
    assert table["refit_score"].max() > 0.6


# --- bad input --------------------------------------------------------------------------------


def _table(tmp_path, **changes) -> Path:
    rng = np.random.default_rng(0)
    n = 40
    table = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "time": rng.integers(1, 100, n).astype(float),
                          "event": rng.integers(0, 2, n), "y": rng.normal(size=n)})
    for column, (row, value) in changes.items():
        table[column] = table[column].astype(object)
        table.loc[row, column] = value
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    return path


BAD = [
    ({}, ["--task", "cox", "--event", "event"], "needs both --time"),
    ({}, ["--task", "cox", "--time", "time"], "needs both --time"),
    ({}, ["--task", "cox"], "needs both --time"),
    ({}, [*SURV, "--target", "y"], "not --target"),
    ({}, ["--task", "cox", "--target", "y"], "not --target"),
    ({}, ["--task", "cox", "--time", "tme", "--event", "event"], "--time column 'tme'"),
    ({}, ["--task", "cox", "--time", "time", "--event", "evnt"], "--event column 'evnt'"),
    ({}, ["--task", "cox", "--time", "time", "--event", "time"], "same column"),
    ({"time": (3, -5.0)}, SURV, "negative"),
    ({"time": (3, "inf")}, SURV, "infinite"),
    ({"time": (3, "soon")}, SURV, "not numeric"),
    ({"time": (3, None)}, SURV, "missing value"),
    ({"event": (3, None)}, SURV, "missing value"),
    ({"event": (3, 2)}, SURV, "must be 0/1"),
    ({"event": (3, "dead")}, SURV, "must be 0/1"),
    ({}, ["--task", "regression", "--target", "y", "--time", "time", "--event", "event"],
     "are for --task cox"),
    ({}, ["--task", "classification", "--time", "time", "--event", "event"],
     "are for --task cox"),
    ({}, ["--target", "y", "--time", "time", "--event", "event"], "not both"),
    ({}, ["--task", "reconstruction", "--time", "time"], "takes no --time"),
]


@pytest.mark.parametrize("command", ["select", "path"])
@pytest.mark.parametrize("changes, options, fragment", BAD)
def test_bad_survival_input_is_one_clean_error_and_no_file(tmp_path, command, changes, options,
                                                          fragment):
    data = _table(tmp_path, **changes)
    out = tmp_path / "out.csv"
    extra = ["--model-out", tmp_path / "m.safetensors"] if command == "select" else []
    result = invoke(command, data, *options, *FAST, "-o", out, *extra)
    assert_clean_error(result, fragment)
    assert list(tmp_path.iterdir()) == [data]


def test_no_events_is_refused(tmp_path):
    data = _table(tmp_path)
    table = pd.read_csv(data)
    table["event"] = 0
    table.to_csv(data, index=False)
    assert_clean_error(invoke("select", data, *SURV, *FAST), "no events")


def test_a_groups_file_naming_the_time_column_says_it_is_no_feature(tmp_path):
    """The message listed the target, the id and excluded columns as no features, not --time
    (and suggested a feature spelled like it)."""
    groups = tmp_path / "groups.csv"
    groups.write_text("feature,group\nx1,g\ntime,g\n")
    assert_clean_error(invoke("select", _table(tmp_path), *SURV, *FAST, "--exclude", "y",
                              "--groups", groups),
                       "'time' is the --time column, not a feature: leave it out of the "
                       "groups file")
    groups.write_text("feature,group\nx1,g\ny,g\n")
    assert_clean_error(invoke("select", _table(tmp_path), *SURV, *FAST, "--exclude", "y",
                              "--groups", groups),
                       "'y' is not among the feature columns (the target, --time and "
                       "--event, the id and excluded columns are not features)")


@pytest.mark.parametrize("options", [[], ["--cv", "2"], ["--val-fraction", "0.5"]])
def test_one_event_is_refused_as_too_few(tmp_path, options):
    """With one event the training rows had none to learn from or the validation rows none to
    score on: the message sent users to --val-fraction, and --cv 2 to 'fewer folds'."""
    data = _table(tmp_path)
    table = pd.read_csv(data)
    table["event"] = 0
    table.loc[5, "event"] = 1
    table.to_csv(data, index=False)
    fast = FAST[:-2] if options[:1] == ["--cv"] else FAST  # (FAST ends with --cv 0)
    assert_clean_error(invoke("select", data, *SURV, *fast, *options),
                       "the --event column 'event' has 1 event: fitting a Cox path needs at "
                       "least 2, one among the training rows to learn from")


def test_the_python_api_refuses_one_event_to_fit_and_scores_rows_with_one(api_data):
    from lassonet_cli import LassoNetSelector

    X, y = api_data
    one = y.assign(event=0)
    one.loc[one.index[5], "event"] = 1
    selector = LassoNetSelector(task="cox", max_epochs=2, cv=0, seed=0)
    with pytest.raises(ValueError, match=r"the event column 'event' has 1 event: fitting a "
                                         r"Cox path needs at least 2"):
        selector.fit(X, one)
    fitted = selector.fit(X, y)
    assert 0 <= fitted.score(X, one) <= 1  # (a C-index of rows with one event is defined)


@pytest.mark.parametrize("times, fragment", [
    ("equal", "puts no event before another row's time (every time is 5)"),
    ("events_last", "puts no event before another row's time: Cox"),
])
def test_a_table_with_no_ordered_event_is_refused_as_such(tmp_path, times, fragment):
    """Every time equal, or every event at the last time: no setting can help, and the
    message sent users to --val-fraction and --cv."""
    data = _table(tmp_path)
    table = pd.read_csv(data)
    if times == "equal":
        table["time"] = 5
    else:
        table.loc[table["event"] == 1, "time"] = table["time"].max() + 1
    table.to_csv(data, index=False)
    assert_clean_error(invoke("select", data, *SURV, *FAST), fragment,
                       "Cox learns from the order of events")


def test_unknown_ties_method_is_a_usage_error(tmp_path):
    result = invoke("select", _table(tmp_path), *SURV, "--ties", "exact")
    assert_clean_error(result, "--ties")


# --- the Python API ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_data(whas):
    rows = whas.head(150)
    return rows.drop(columns=["time", "event"]), rows[["time", "event"]]


def test_estimator_accepts_arrays_frames_and_scikit_survival_targets(api_data):
    X, y = api_data
    forms = [
        y.to_numpy(),
        y[["event", "time"]],  # named columns are taken by name
        Surv.from_arrays(y["event"].to_numpy() == 1, y["time"].to_numpy()),
    ]
    fits = [LassoNetSelector(task="cox", k=3, **FAST_KW).fit(X, form) for form in forms]
    for fit in fits[1:]:
        assert list(fit.ranking_) == list(fits[0].ranking_)
        np.testing.assert_array_equal(fit.predict(X), fits[0].predict(X))
    predicted = fits[0].predict(X)
    assert predicted.shape == (len(X),) and predicted.dtype == np.float64
    assert fits[0].get_support().sum() <= 3
    assert fits[0].path_.score_name == "c_index"


def test_estimator_rejects_targets_that_are_not_time_event_pairs(api_data):
    X, y = api_data
    for bad in (None, y["time"].to_numpy(), np.ones((len(X), 3)), y.to_numpy()[:-1]):
        with pytest.raises(ConfigError):
            LassoNetSelector(task="cox", **FAST_KW).fit(X, bad)
    with pytest.raises(ConfigError, match="ties"):
        LassoNetSelector(task="cox", ties="exact").fit(X, y)
    with pytest.raises(ConfigError, match="task='cox'"):
        LassoNetSelector(**FAST_KW).fit(X, y.to_numpy())  # auto needs a one-dimensional y


def test_estimator_saves_and_loads_a_cox_model(api_data, tmp_path):
    X, y = api_data
    sel = LassoNetSelector(task="cox", ties="breslow", **FAST_KW).fit(X, y)
    sel.save(str(tmp_path / "m.safetensors"))
    loaded = LassoNetSelector.load(str(tmp_path / "m.safetensors"))
    assert loaded.task_ == sel.task_ and loaded.ties == "breslow"
    np.testing.assert_array_equal(loaded.predict(X), sel.predict(X))
