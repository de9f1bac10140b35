"""The Python API: LassoNetSelector as a scikit-learn style estimator."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from lassonet_cli import LassoNetSelector
from lassonet_cli.errors import ConfigError, DataError

# --cv 0: small tables are cross-validated by default; the tests here are not about that
FAST = dict(max_epochs=20, patience=3, seed=0, cv=0)

pytestmark = pytest.mark.usefixtures("one_thread")  # (conftest.py)


def signal(n: int = 240, seed: int = 0):
    """Six columns; the label depends on x0 and x1 only."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    y = np.where(X[:, 0] + X[:, 1] ** 2 - 1 > 0, "up", "down")
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = signal()
    return LassoNetSelector(k=2, **FAST).fit(X, y), X, y


def test_numpy_input_gets_positional_names_and_a_full_ranking(fitted):
    sel, X, _ = fitted
    assert sorted(sel.ranking_) == [f"x{i}" for i in range(6)]
    assert set(sel.ranking_[:2]) == {"x0", "x1"}
    assert sel.feature_importances_.shape == (6,)
    # importances follow the input order and agree with the ranking
    order = np.argsort(-sel.feature_importances_, kind="stable")
    assert sel.feature_importances_[order[0]] == sel.feature_importances_.max()
    assert {f"x{i}" for i in order[:2]} == {"x0", "x1"}


def test_a_frame_without_text_names_is_read_by_position_and_its_model_loads(fitted, tmp_path):
    """pd.DataFrame(X) has the names 0, 1, ...: they were written to the model file as numbers,
    which no reader could then load ('selected' is [0], not a list of names)."""
    sel, X, y = fitted
    frame = pd.DataFrame(X)
    by_frame = LassoNetSelector(k=2, **FAST).fit(frame, y)
    assert list(by_frame.ranking_) == list(sel.ranking_)
    assert not hasattr(by_frame, "feature_names_in_")
    by_frame.save(tmp_path / "m.safetensors")
    loaded = LassoNetSelector.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.predict(frame), by_frame.predict(X))
    # the file says the fit had no names: an array is read as by the fitted selector, without
    # scikit-learn's "X does not have valid feature names" warning
    assert not hasattr(loaded, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(loaded.predict(X), by_frame.predict(X))


def test_a_model_fitted_on_named_columns_keeps_its_names(fitted, tmp_path):
    """The other side: a fit on a DataFrame with text names loads with them, so an array gets
    scikit-learn's warning, and the file has no named_inputs field (as before it existed)."""
    import json

    from safetensors import safe_open

    sel, X, _ = fitted
    names = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    named = LassoNetSelector(k=2, **FAST).fit(names, fitted[2])
    named.save(tmp_path / "named.safetensors")
    with safe_open(tmp_path / "named.safetensors", "pt") as f:
        assert "named_inputs" not in json.loads(f.metadata()["lassonet"])
    loaded = LassoNetSelector.load(tmp_path / "named.safetensors")
    assert list(loaded.feature_names_in_) == list(names.columns)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        loaded.predict(X)


def test_save_and_path_table_need_a_fitted_selector_with_a_path(fitted, tmp_path):
    """Before fit they raised AttributeErrors ('chosen_point_', 'path_'); after load the path
    table raised one on None."""
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LassoNetSelector().save(tmp_path / "unfitted.safetensors")
    with pytest.raises(NotFittedError):
        LassoNetSelector().path_table()
    assert not (tmp_path / "unfitted.safetensors").exists()
    sel, _, _ = fitted
    sel.save(str(tmp_path / "m.safetensors"))
    with pytest.raises(ConfigError, match="loaded from a model file has no path"):
        LassoNetSelector.load(str(tmp_path / "m.safetensors")).path_table()


@pytest.mark.parametrize("columns, error, fragment", [
    (["a", "b", 0, 1, 2, 3], TypeError, "mix text and other values (0)"),
    (["a", "a", "b", "c", "d", "e"], DataError, "X names column(s) twice: a"),
])
def test_column_names_that_cannot_name_columns_are_refused(fitted, columns, error, fragment):
    """They ended in comparisons of str with int deep in the ranking, or an AttributeError."""
    _, X, y = fitted
    with pytest.raises(error) as e:
        LassoNetSelector(**FAST).fit(pd.DataFrame(X, columns=columns), y)
    assert fragment in str(e.value)


def test_support_transform_and_k(fitted):
    sel, X, _ = fitted
    mask = sel.get_support()
    assert mask.dtype == bool and 1 <= mask.sum() <= 2
    np.testing.assert_array_equal(sel.get_support(indices=True), np.flatnonzero(mask))
    np.testing.assert_array_equal(sel.transform(X), X[:, mask])
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    assert list(sel.transform(frame).columns) == [f"x{i}" for i in np.flatnonzero(mask)]


def test_predictions_are_labels_and_probabilities_sum_to_one(fitted):
    sel, X, y = fitted
    predicted = sel.predict(X)
    assert set(predicted) <= {"up", "down"}
    assert (predicted == y).mean() > 0.8
    proba = sel.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-12)
    assert list(sel.classes_) == ["down", "up"]
    assert (sel.classes_[proba.argmax(axis=1)] == predicted).all()


def test_path_table_is_a_dataframe(fitted):
    sel, _, _ = fitted
    table = sel.path_table()
    assert table["k"].iloc[0] == 6 and table["k"].iloc[-1] == 0
    assert len(table) == len(sel.path_.points)


def test_in_a_scikit_learn_pipeline():
    X, y = signal()
    pipe = Pipeline([
        ("scale", StandardScaler()),
        ("select", LassoNetSelector(k=2, **FAST)),
        ("model", LogisticRegression()),
    ])
    pipe.fit(X[:200], y[:200])
    n_selected = pipe.named_steps["select"].get_support().sum()
    assert pipe.named_steps["model"].coef_.shape[1] == n_selected
    assert pipe.score(X[200:], y[200:]) > 0.6


def test_clone_and_params():
    sel = LassoNetSelector(k=3, M=5.0, backbone="mlp:8")
    twin = clone(sel)
    assert twin.get_params() == sel.get_params()
    assert twin is not sel
    assert twin.set_params(M=2.0).M == 2.0
    with pytest.raises(ValueError):
        sel.set_params(colour="red")


def test_regression_and_bad_parameters():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 4))
    y = 3 * X[:, 2] + 0.1 * rng.standard_normal(150)
    sel = LassoNetSelector(task="regression", **FAST).fit(X, y)
    assert sel.ranking_[0] == "x2"
    assert np.corrcoef(sel.predict(X), y)[0, 1] > 0.9
    with pytest.raises(AttributeError):
        sel.predict_proba(X)
    for bad in (dict(M=-1.0), dict(backbone="cnn"), dict(cv=1), dict(rule="1se"),
                dict(dropout=1.0), dict(val_fraction=0.0), dict(task="survival")):
        with pytest.raises(ConfigError):
            LassoNetSelector(**bad).fit(X, y)
    with pytest.raises(ConfigError):
        LassoNetSelector().fit(X, y[:-1])


@pytest.mark.parametrize("params, python, cli", [
    # issue 16, defects 6 and 7: seeds numpy and torch cannot take, non-finite numbers
    (dict(seed=-1), "seed", "--seed"), (dict(seed=2**64), "seed", "--seed"),
    (dict(seed=1.5), "seed", "--seed"),
    (dict(path_multiplier=float("inf")), "path_multiplier", "--path-multiplier"),
    (dict(path_multiplier=float("nan")), "path_multiplier", "--path-multiplier"),
    (dict(lambda_start=float("inf")), "lambda_start", "--lambda-start"),
    (dict(lambda_start="fast"), "lambda_start", "--lambda-start"),
    (dict(lambda_start=True), "lambda_start", "--lambda-start"),
    (dict(lr=float("inf")), "lr", "--lr"),
    # the Python API names parameters, the command line flags
    (dict(val_fraction=0.0), "val_fraction", "--val-fraction"), (dict(k=0), "k", "--k"),
    (dict(dropout=1.0), "dropout", "--dropout"), (dict(rule="1se"), "cv=K", "--cv K"),
    (dict(missing="drop"), "missing", "--missing"), (dict(batch_size=0), "batch_size",
                                                      "--batch-size"),
    (dict(backbone="conv:4,3"), "image_shape=CxHxW", "--image-shape CxHxW"),
    (dict(image_shape="1x8x8"), "image_shape", "--image-shape"),
    (dict(backbone="mlp:x"), "backbone=mlp:100", "--backbone mlp:100"),
    (dict(device="tpu"), "device", "--device"), (dict(cv=1), "cv", "--cv"),
    (dict(M=-1.0), "M", "--M"), (dict(max_epochs=0), "max_epochs", "--max-epochs"),
    (dict(task="regression", ties="breslow"), "ties=breslow", "--ties breslow"),
])
def test_bad_parameters_are_value_errors_that_name_the_parameter(params, python, cli):
    from lassonet_cli.errors import CLI

    with pytest.raises(ValueError) as caught:
        LassoNetSelector(**params).validate()
    message = str(caught.value)
    assert python in message and "--" not in message, message
    assert cli in caught.value.spelled(CLI)


def test_ties_other_than_the_default_are_refused_when_the_task_is_found_not_cox(fitted):
    """The command line refuses --ties outside cox; ties='breslow' was taken silently."""
    _, X, y = fitted
    with pytest.raises(ConfigError, match="^ties=breslow applies to the cox task only, not "
                                          "task=classification$"):
        LassoNetSelector(ties="breslow", **FAST).fit(X, y)


def test_errors_while_fitting_name_parameters_too():
    X, y = signal(3)
    with pytest.raises(ValueError, match="too few for val_fraction 0.1"):
        LassoNetSelector(**FAST).fit(X, y)
    X, y = signal(8)
    with pytest.raises(ValueError, match="^cv=20 needs at least 20 rows") as caught:
        LassoNetSelector(**{**FAST, "cv": 20}).fit(X, y)
    assert "--" not in str(caught.value)
    # the tasks' checks of the data name no flag either
    X, _ = signal(40)
    times = np.column_stack([np.arange(40.0) - 1, np.ones(40)])
    text = pd.DataFrame(X).add_prefix("c").assign(word=["a", "b"] * 20)
    for task, X_bad, y_bad, fragment in [
        ("cox", X, times, "the time column 'time' has 1 negative value"),
        ("reconstruction", text, None, "task=reconstruction needs numeric feature columns"),
    ]:
        with pytest.raises(ValueError, match=fragment) as caught:
            LassoNetSelector(task=task, **FAST).fit(X_bad, y_bad)
        assert "--" not in str(caught.value), caught.value


def test_default_M_depends_on_the_backbone():
    """M = 10 suits the input layer of an MLP; a conv filter's block has C2 x k x k weights,
    for which the default is 0.1.  A given M is used as it is."""
    from lassonet_cli import defaults

    assert LassoNetSelector().validate().M == defaults.M == 10
    conv = LassoNetSelector(backbone="conv:4,3", image_shape="1x8x8")
    assert conv.validate().M == defaults.CONV_M == 0.1
    assert conv.get_params()["M"] is None  # the parameter itself stays as given
    assert LassoNetSelector(backbone="conv:4,3", image_shape="1x8x8", M=3.0).validate().M == 3.0
    assert LassoNetSelector(M=0.0).validate().path_config().M == 0.0


def test_relaxed_fit_patience_depends_on_the_backbone():
    """Relaxed fits stop after 3 epochs without improvement, 5 with a conv backbone, whose
    one-filter model needs the longer fits (defaults.CONV_RELAX_PATIENCE)."""
    from lassonet_cli import defaults

    config = LassoNetSelector().validate().path_config()
    assert config.relax_patience == defaults.RELAX_PATIENCE == 3
    conv = LassoNetSelector(backbone="conv:4,3", image_shape="1x8x8")
    assert conv.validate().path_config().relax_patience == defaults.CONV_RELAX_PATIENCE == 5


def test_exit_window_depends_on_the_backbone():
    """Exits within one path step are ordered together for features; a conv backbone groups
    only the filters leaving at one point (defaults.CONV_EXIT_WINDOW)."""
    from lassonet_cli import defaults

    assert LassoNetSelector().validate().path_config().exit_window is None  # one path step
    conv = LassoNetSelector(backbone="conv:4,3", image_shape="1x8x8")
    assert conv.validate().path_config().exit_window == defaults.CONV_EXIT_WINDOW == 1.0


# --- columns set aside: every input column has a place in the ranking (SPEC 3.1) -------------


def constant_table(n: int = 60, seed: int = 0):
    """x0 and x1 decide the label; k (a number), flat (a text) and gone (empty) carry nothing."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.standard_normal((n, 3)), columns=["x0", "z", "x1"])
    X.insert(1, "k", 3.0)
    X["flat"] = "same"
    X["gone"] = np.nan
    y = np.where(X["x0"] + X["x1"] > 0, "up", "down")
    return X, y


def test_constant_columns_are_ranked_last_with_importance_zero():
    X, y = constant_table()
    options = dict(backbone="mlp:8", missing="impute", **FAST)
    sel = LassoNetSelector(**options).fit(X, y)
    assert list(sel.feature_names_in_) == ["x0", "k", "z", "x1", "flat", "gone"]
    assert sel.n_features_in_ == 6
    assert sel.set_aside_ == {"k": "constant", "flat": "constant", "gone": "constant"}
    assert list(sel.encoder_.columns) == ["x0", "z", "x1"]
    assert sorted(sel.ranking_[:3]) == ["x0", "x1", "z"]
    assert list(sel.ranking_[3:]) == ["k", "flat", "gone"]  # after the used ones, table order
    assert sel.feature_importances_.shape == sel.get_support().shape == (6,)
    aside = [1, 4, 5]
    assert sel.feature_importances_[aside].tolist() == [0.0, 0.0, 0.0]
    assert (sel.feature_importances_[[0, 2, 3]] > 0).all()
    assert not sel.get_support()[aside].any() and sel.get_support().any()
    table = sel.ranking_table()
    assert table["feature"].tolist() == list(sel.ranking_)
    assert table["importance"].tolist()[3:] == [0.0] * 3 and not table["selected"][3:].any()

    # the columns set aside change nothing: the same fit as without them
    alone = LassoNetSelector(**options).fit(X[["x0", "z", "x1"]], y)
    assert list(sel.ranking_[:3]) == list(alone.ranking_)
    np.testing.assert_array_equal(sel.feature_importances_[[0, 2, 3]],
                                  alone.feature_importances_)
    predicted = alone.predict(X)
    np.testing.assert_array_equal(sel.predict(X), predicted)


@pytest.mark.parametrize("task, elsewhere", [("regression", np.nan), ("regression", 0.0),
                                              ("reconstruction", 0.0)])
def test_a_column_constant_in_the_training_rows_is_set_aside_too(tmp_path, task, elsewhere):
    """A column that varies only among the validation rows (a gap in every training row, or
    0) was scaled by the training rows' spread of nothing, and its untrained weights gave the
    dense model a validation R^2 of -8604 (the path table's first row); it ranked above a
    column of noise.  It is set aside as the table's constant columns are, with its reason
    (and for reconstruction it is no target either)."""
    from lassonet_cli.prepare import CONSTANT_IN_TRAINING, prepare_table, set_up_path

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((80, 3)), columns=["a", "b", "c"])
    y = 2 * X["a"] + X["b"]
    options = dict(backbone="mlp:8", missing="impute", max_epochs=5, cv=0, seed=0,
                   task=task)
    selector = LassoNetSelector(**options)
    rows = set_up_path(selector.validate(), prepare_table(
        selector.validate(), X, None if task == "reconstruction" else y)).rows
    X.insert(2, "e", elsewhere)
    X.loc[rows[1][:3], "e"] = [100.0, 200.0, 300.0]  # values in validation rows only
    fit = selector.fit(X, None if task == "reconstruction" else y)
    assert fit.set_aside_ == {"e": CONSTANT_IN_TRAINING}
    assert list(fit.ranking_)[-1] == "e" and fit.feature_importances_[2] == 0.0
    assert not fit.get_support()[2] and list(fit.encoder_.columns) == ["a", "b", "c"]
    if task == "regression":
        assert fit.path_.points[0].val_score > 0.5
    fit.save(tmp_path / "m.safetensors")  # the reason travels with the model
    assert LassoNetSelector.load(tmp_path / "m.safetensors").set_aside_ == fit.set_aside_


def test_transform_and_predict_take_the_columns_fitted_on():
    X, y = constant_table()
    X = X.drop(columns="gone")
    sel = LassoNetSelector(backbone="mlp:8", **FAST).fit(X, y)
    mask = sel.get_support()
    assert list(sel.transform(X).columns) == list(X.columns[mask])
    values = X.to_numpy()
    predicted = sel.predict(X)
    # arrays: by position (scikit-learn warns that they have no column names)
    with pytest.warns(UserWarning, match="valid feature names"):
        np.testing.assert_array_equal(sel.transform(values), values[:, mask])
    with pytest.warns(UserWarning, match="valid feature names"):
        np.testing.assert_array_equal(sel.predict(values), predicted)
    # a table needs only the columns the model reads
    np.testing.assert_array_equal(sel.predict(X.drop(columns=["k", "flat"])), predicted)
    for method in (sel.predict, sel.transform, sel.predict_proba):
        with pytest.warns(UserWarning, match="valid feature names"), pytest.raises(
            ValueError, match="X has 4 features, but LassoNetSelector is expecting 5 features"
        ):
            method(values[:, :4])


def test_a_frame_of_another_width_is_refused_without_hinting_it_may_have_more(fitted):
    # fitted on an array, a selector reads a DataFrame by position: one with more columns is
    # refused, and the message must not say that a DataFrame may have more
    sel, X, _ = fitted
    wider = pd.DataFrame(np.hstack([X, X]), columns=[f"c{i}" for i in range(12)])
    for method in (sel.predict, sel.transform):
        with pytest.raises(DataError, match="by position") as refused:
            method(wider)
        assert "may have more" not in str(refused.value)


def test_all_constant_columns_is_an_error():
    X = pd.DataFrame({"k": [1.0] * 20, "t": ["a"] * 20})
    with pytest.raises(DataError, match="every feature column is constant"):
        LassoNetSelector(**FAST).fit(X, np.arange(20) % 2)


# --- choosing the point on few rows: cross-validation by default ------------------------------


def test_folds_by_default_depend_on_the_rows():
    from lassonet_cli import defaults

    sel = LassoNetSelector()
    options = sel.validate()
    assert sel.cv == "auto" and sel.get_params()["cv"] == "auto"
    assert clone(sel).cv == "auto" and clone(sel).set_params(cv=0).cv == 0
    below = defaults.CV_BELOW_ROWS
    assert options.cv_folds(below - 1) == defaults.AUTO_CV_FOLDS == 5
    assert options.cv_folds(below) is None and options.cv_folds(10 * below) is None
    # fewer folds on tiny tables (each held-out fold keeps 5 rows), none below 10 rows
    assert [options.cv_folds(n) for n in (25, 24, 12, 10, 9)] == [5, 4, 2, 2, None]
    assert LassoNetSelector(cv=0).validate().cv_folds(60) is None
    assert LassoNetSelector(cv=None).validate().cv_folds(60) is None
    assert LassoNetSelector(cv=np.int64(3)).validate().cv_folds(10 * below) == 3
    for bad in (1, -2, 2.5, True, "always"):
        with pytest.raises(ConfigError, match="^cv needs"):
            LassoNetSelector(cv=bad).validate()
    # the 1se rule needs folds that do not depend on the rows
    with pytest.raises(ConfigError, match="add cv=K$"):
        LassoNetSelector(rule="1se").validate()


def test_a_small_table_chooses_its_point_by_cross_validation():
    X, y = signal(60)
    options = dict(backbone="mlp:8", max_epochs=20, patience=3, seed=0)
    auto = LassoNetSelector(**options).fit(X, y)
    split = LassoNetSelector(**options, cv=0).fit(X, y)
    assert auto.cv_folds_ == 5 and split.cv_folds_ is None
    table = auto.path_table()
    assert "val_score_se" in table and "val_score_se" not in split.path_table()
    assert (table["val_score_se"] >= 0).all()
    # the best mean cross-validated score (the rule stays 'best')
    assert auto.chosen_point_.val_score == table["val_score"].max()
    # the ranking comes from the path on the training rows either way
    assert list(auto.ranking_) == list(split.ranking_)
    np.testing.assert_array_equal(auto.feature_importances_, split.feature_importances_)


def test_a_class_with_fewer_rows_than_folds_is_still_cross_validated():
    X, y = signal(60)
    y = y.astype(object)
    y[:2] = "rare"  # two rows, five folds: three folds hold none of them
    sel = LassoNetSelector(backbone="mlp:8", max_epochs=5, patience=2, seed=0).fit(X, y)
    assert sel.cv_folds_ == 5 and "rare" in sel.classes_
    assert np.isfinite(sel.path_table()["val_score_se"]).all()


@pytest.mark.parametrize("rule", ["best", "1se"])
def test_the_chosen_points_model_kept_during_the_path_is_the_one_a_second_run_gives(
        monkeypatch, rule):
    """With cross-validation the chosen point is known only after the folds: its model is
    the copy kept while the full path ran, or, beyond the copies' budget, the same path
    trained again up to it.  Either way the fitted model is the same, to the bit."""
    import lassonet_cli.estimator as estimator_module
    from lassonet_cli.path import PointStates

    made = []

    class Counted(PointStates):
        def __init__(self, budget):
            super().__init__(budget)
            made.append(self)

    monkeypatch.setattr(estimator_module, "PointStates", Counted)
    X, y = signal(80)
    options = dict(backbone="mlp:8", max_epochs=20, patience=3, seed=0, cv=3, rule=rule)
    kept = LassoNetSelector(**options).fit(X, y)
    copies = made[-1]
    assert len(copies.states) == len(kept.path_.points) and not copies.full
    chosen = kept.chosen_
    assert 0 < chosen < len(kept.path_.points) - 1
    size = copies.used // len(copies.states)
    # no copy; copies up to the point before the chosen one; up to the chosen one
    for budget, held in ((0, 0), (size * chosen, chosen), (size * (chosen + 1), chosen + 1)):
        monkeypatch.setattr(estimator_module, "CV_STATES_BYTES", budget)
        again = LassoNetSelector(**options).fit(X, y)
        assert len(made[-1].states) == held and made[-1].full
        assert again.chosen_ == chosen
        for name, value in kept.model_.state_dict().items():
            assert torch.equal(value, again.model_.state_dict()[name]), name
        pd.testing.assert_frame_equal(again.path_table(), kept.path_table())


def test_cross_validated_scores_match_folds_by_the_number_of_features():
    """Each point is scored by the fold models with as many features (at most), not by those
    at the same lambda: a fold that keeps one feature longer must not lend its score to the
    empty model (which, as the sparser of two equal scores, was chosen)."""
    from lassonet_cli.evaluate import matched_scores as _matched_scores
    from lassonet_cli.pathresult import PathPoint

    def point(lam, k, score):
        return PathPoint(lambda_=lam, k=k, train_loss=0.0, val_loss=0.0, val_score=score,
                         epochs=0, eliminated=(), norms=np.arange(3) < k)

    full = [point(0.0, 3, 0.5), point(1.0, 2, 0.6), point(2.0, 1, 0.7), point(3.0, 0, 0.0)]
    fold = [point(0.0, 3, 0.8), point(1.0, 3, 0.85), point(2.0, 1, 0.9), point(3.0, 1, 0.95),
            point(4.0, 0, 0.1)]
    np.testing.assert_array_equal(_matched_scores(full, fold), [0.8, 0.9, 0.9, 0.1])


def test_fits_in_threads_give_what_each_gives_alone():
    """torch's seed is the process's: fits in threads of one process (joblib's threading
    backend) interleaved their initialisation and dropout draws and gave other models than
    the same fits one after another."""
    from concurrent.futures import ThreadPoolExecutor

    X, y = signal(n=160)

    def fit(seed):
        sel = LassoNetSelector(backbone="mlp:16", dropout=0.3, **{**FAST, "seed": seed})
        return sel.fit(X, y).predict_proba(X)

    seeds = (0, 1, 0, 1)
    alone = [fit(seed) for seed in seeds]
    with ThreadPoolExecutor(len(seeds)) as pool:
        together = list(pool.map(fit, seeds))
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)


def test_predict_refuses_a_gap_in_a_categorical_column_fitted_without_gaps():
    """Without a fill value a missing level would be encoded as none of the levels and
    predicted silently; the model file's `predict` refuses it, and so must the estimator."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.standard_normal(60), "c": rng.choice(["u", "v", "w"], 60)})
    y = X["a"].to_numpy() + (X["c"] == "u").to_numpy()
    sel = LassoNetSelector(task="regression", backbone="mlp:4", path_multiplier=1.5,
                           max_epochs=2, cv=0, categorical=["c"]).fit(X, y)
    gappy = X.copy()
    gappy.loc[3, "c"] = None
    with pytest.raises(DataError, match="c \\(1 missing"):
        sel.predict(gappy)
    assert len(sel.predict(X)) == 60  # the same rows without the gap predict


def test_lambda_start_auto_is_the_default_in_python_as_on_the_command_line():
    """Issue 17: ``lambda_start="auto"`` raised a TypeError in the Python API."""
    X, y = signal(60)
    default = LassoNetSelector(**FAST).fit(X, y)
    auto = LassoNetSelector(lambda_start="auto", **FAST).fit(X, y)
    assert auto.path_.lambda_start == default.path_.lambda_start
    assert list(auto.ranking_) == list(default.ranking_)
    fixed = LassoNetSelector(lambda_start=2 * default.path_.lambda_start,
                             **FAST).fit(X, y)
    # the first point is at the given lambda, or nearer the one before it where it was refined
    first, given = fixed.path_.points[1].lambda_, 2 * default.path_.lambda_start
    assert given / fixed.path_multiplier <= first <= given * (1 + 1e-9)


def test_python_refuses_the_columns_the_command_line_refuses():
    """Issue 17: the Python API checks a column's kind as ``select`` does: dates are neither
    numbers nor levels, and text that is mostly numbers ('?' for a gap) would become one
    level per number; named in ``categorical``, the text is levels by choice."""
    rng = np.random.default_rng(0)
    n = 60
    y = rng.standard_normal(n)
    dated = pd.DataFrame({"a": rng.standard_normal(n),
                          "when": pd.date_range("2020-01-01", periods=n)})
    with pytest.raises(DataError, match=r"column 'when' holds dates or times"):
        LassoNetSelector(**FAST).fit(dated, y)
    cells = list(rng.choice(["1.5", "2", "3.25", "4"], n))  # few levels: one-hot would take it
    cells[3] = "?"
    texty = pd.DataFrame({"a": rng.standard_normal(n), "b": cells})
    with pytest.raises(DataError) as refused:
        LassoNetSelector(**FAST).fit(texty, y)
    message = str(refused.value)
    assert "column 'b': 59 numbers and 1 text cell '?'" in message
    assert "categorical=['b']" in message and "--na-values" not in message
    kept = LassoNetSelector(categorical=["b"], **FAST).fit(texty, y)
    assert set(kept.ranking_) == {"a", "b"}


@pytest.mark.parametrize("cell", [[1.0], {"k": 1}])
def test_a_column_of_lists_or_records_is_refused_by_name(cell):
    """As select refuses a Parquet list or struct column: fit raised pandas' TypeError
    'unhashable type: list' while counting the column's levels."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.standard_normal(30), "nest": [cell] * 30})
    with pytest.raises(DataError, match=r"X's column\(s\) nest hold lists or records"):
        LassoNetSelector(**FAST).fit(X, rng.standard_normal(30))


def test_fit_table_refuses_what_fit_takes_and_names_fit():
    """``fit_table`` takes the checked ``prepare.Table``; given (X) as ``fit`` takes it, it says
    to call ``fit`` instead of failing on a missing attribute."""
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(TypeError, match=r"fit_table takes a prepare\.Table, not DataFrame: "
                                        r"call fit\(X, y\)"):
        LassoNetSelector(**FAST).fit_table(X)


@pytest.mark.parametrize("params, fragment", [
    ({"dropout": "0.1"}, "dropout must be a finite number, got '0.1'"),
    ({"dropout": None}, "dropout must be a finite number, got None"),
    ({"path_multiplier": "1.02"}, "path_multiplier must be a finite number"),
    ({"max_epochs": 2.5}, "max_epochs must be an integer or None, got 2.5"),
    ({"max_epochs": True}, "max_epochs must be an integer or None, got True"),
    ({"patience": None}, "patience must be an integer, got None"),
    ({"batch_size": True}, "batch_size must be an integer or None, got True"),
    ({"k": 2.5}, "k must be an integer or None, got 2.5"),
    ({"lr": "0.1"}, "lr must be a finite number or None"),
    ({"relax": "no"}, "relax must be True or False, got 'no'"),
    ({"backbone": None}, "backbone must be text, got None"),
    ({"categorical": "x0"}, "categorical must be a list of column names, got 'x0'"),
    ({"groups": "ab"}, "groups must be a mapping {column: group}, got 'ab'"),
    # these merged the columns into one group named ''
    ({"groups": {"x0": None, "x1": None}}, "groups gives column 'x0' no group name (got None)"),
    ({"groups": {"x0": "a", "x1": np.nan}}, "groups gives column 'x1' no group name (got nan)"),
    ({"groups": {"x0": " "}}, "groups gives column 'x0' no group name (got ' ')"),
])
def test_a_parameter_of_the_wrong_kind_is_named(fitted, params, fragment):
    """Strings, None, floats or booleans where numbers, integers or lists belong raised
    comparisons of str with int deep in the checks or in training, ran (batch_size=True: a
    batch of one, for minutes) or iterated a string letter by letter."""
    _, X, y = fitted
    with pytest.raises(ConfigError) as e:
        LassoNetSelector(**{**FAST, **params}).fit(X, y)
    assert str(e.value) == fragment or str(e.value).startswith(fragment), str(e.value)


@pytest.mark.parametrize("args, fragment", [
    ({"pi_thr": "0.7"}, "pi_thr must be a number, got '0.7'"),
    ({"pairs": 1.5}, "pairs must be an integer, got 1.5"),
    ({"q": "2"}, "q must be an integer, got '2'"),
    ({"k_grid": [0, 2]}, "k_grid must list counts of columns from 1 to 6, got [0, 2]"),
    ({"k_grid": [2.5]}, "k_grid must list counts of columns from 1 to 6"),
    ({"k_grid": [7]}, "k_grid must list counts of columns from 1 to 6"),
])
def test_stability_arguments_of_the_wrong_kind_are_named(fitted, args, fragment):
    """The command line refused these; in Python a k of 2.5 or 100 made columns p_k2.5 and
    p_k100 of 6 features."""
    _, X, y = fitted
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        LassoNetSelector(**FAST).stability(X, y, **{"pairs": 1, **args})


def test_a_target_that_is_all_gaps_or_infinite_is_named_as_such(fitted):
    """They were 'every feature column is constant' and 'the target is constant'."""
    _, X, _ = fitted
    y = X[:, 0] * 2.0
    with pytest.raises(DataError, match="^y is empty: every value is missing$"):
        LassoNetSelector(**FAST).fit(X, np.full(len(X), np.nan))
    with pytest.raises(DataError, match=r"^y has 2 infinite value\(s\)"):
        LassoNetSelector(**FAST).fit(X, np.where(np.arange(len(X)) < 2, np.inf, y))


@pytest.mark.parametrize("params", [{"categorical": ["zz"]}, {"groups": {"zz": "g"}}])
def test_a_column_named_in_categorical_or_groups_must_be_a_feature(fitted, params):
    """A typo left the column numeric, or ungrouped, silently; the command line refuses it."""
    _, X, y = fitted
    frame = pd.DataFrame(X, columns=list("abcdef"))
    name = next(iter(params))
    with pytest.raises(DataError, match=f"^{name} names column\\(s\\) that are not features: "
                                        "zz$"):
        LassoNetSelector(**{**FAST, **params}).fit(frame, y)


def test_group_names_that_are_numbers_are_names_as_a_groups_file_gives_them(fitted):
    """{'x2': 1, 'x3': 2} (k-means' numpy labels, say) failed while ordering the exits ('<'
    not supported between int and str): the names are text, as a groups file's are."""
    _, X, y = fitted
    labels = np.array([7, 7], dtype=np.int32)
    sel = LassoNetSelector(groups={"x2": 1, "x3": 2, **dict(zip(["x4", "x5"], labels,
                                                               strict=True))}, **FAST).fit(X, y)
    group = sel.ranking_table().set_index("feature")["group"]
    assert group[["x2", "x3", "x4", "x5", "x0"]].tolist() == ["1", "2", "7", "7", "x0"]


def test_complex_columns_and_mixed_labels_are_refused(fitted):
    """A complex column of a DataFrame lost its imaginary part (an array was refused); labels
    mixing numbers and text failed in numpy's sort ('<' not supported)."""
    _, X, y = fitted
    frame = pd.DataFrame({"a": X[:, 0], "z": X[:, 1] + 1j * X[:, 2]})
    with pytest.raises(DataError, match="X's column 'z' holds complex numbers"):
        LassoNetSelector(**FAST).fit(frame, y)
    mixed = np.array([1, "a"] * (len(X) // 2), dtype=object)
    with pytest.raises(DataError, match="y mixes text and other values"):
        LassoNetSelector(**FAST).fit(X, mixed)


@pytest.mark.parametrize("params, fragment", [
    ({"n_jobs": 0}, "n_jobs must be a nonzero integer"),
    ({"n_jobs": "2"}, "n_jobs must be a nonzero integer"),
    ({"n_jobs": 1.5}, "n_jobs must be a nonzero integer"),
    ({"scheduler": 1}, "scheduler must be the address of a Dask scheduler"),
    ({"scheduler": 1, "cv": 2}, "scheduler must be the address of a Dask scheduler"),
    ({"scheduler": "foo"}, "scheduler 'foo' is no Dask scheduler's address"),
])
def test_n_jobs_and_scheduler_are_checked_at_fit_whether_or_not_runs_are_sent(params,
                                                                               fragment):
    """With no cross-validation they were taken silently; scheduler=1 with folds to send
    failed as "'int' object has no attribute 'strip'"."""
    X, y = signal(40)
    with pytest.raises(ConfigError, match=fragment):
        LassoNetSelector(**{**FAST, **params}).fit(X, y)
    LassoNetSelector(n_jobs=None).validate()  # auto


def test_negative_n_jobs_count_back_from_the_cores(monkeypatch):
    """scikit-learn's convention: -1 every core, -2 all but one (it was refused)."""
    monkeypatch.setattr("lassonet_cli.estimator.os.cpu_count", lambda: 8)
    assert LassoNetSelector(n_jobs=-1)._runs().jobs == 8
    assert LassoNetSelector(n_jobs=-2)._runs().jobs == 7
    assert LassoNetSelector(n_jobs=-20)._runs().jobs == 1
    assert LassoNetSelector(n_jobs=3)._runs().jobs == 3


# --- targets and methods the Python API once took wrongly (hostile hunt of 2026-12-07) --------


@pytest.mark.parametrize("y, task, kind, fragment", [
    (lambda v: v + 5j * np.arange(len(v)), "regression", DataError, "complex numbers"),
    (lambda v: pd.Series(pd.date_range("2020", periods=len(v))), "regression", DataError,
     "dates or times"),
    (lambda v: pd.Series(pd.to_timedelta(np.arange(len(v)), "D")), "auto", DataError,
     "dates or times"),
    (lambda v: np.array(["a", "b"] * (len(v) // 2)), "regression", DataError,
     "task='regression' needs a numeric target; y is not"),
    (lambda v: pd.Categorical(["a", "b"] * (len(v) // 2)), "regression", DataError,
     "needs a numeric target"),
    (lambda v: np.array([f"id{i}" for i in range(len(v))]), "auto", DataError,
     "different value in each of its 240 rows: classification needs classes of at least 2 "
     "rows; is it an ID?"),
    (lambda v: np.arange(len(v)) + 0.5, "classification", DataError,
     "if it is a number to predict, use task='regression'"),
])
def test_a_target_that_cannot_be_the_tasks_is_refused(y, task, kind, fragment):
    """A complex y lost its imaginary part, a date y regressed on epoch microseconds, a text y
    with task='regression' failed inside numpy, and an ID-like y was told about val_fraction."""
    X, _ = signal()
    values = X[:, 0] + X[:, 1]
    with pytest.raises(kind, match=re.escape(fragment)):
        LassoNetSelector(task=task, **FAST).fit(X, y(values))


def test_a_column_vector_y_is_read_as_its_column_with_scikit_learns_warning():
    from sklearn.exceptions import DataConversionWarning

    X, y = signal()
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        as_column = LassoNetSelector(k=2, **FAST).fit(X, y.reshape(-1, 1))
    plain = LassoNetSelector(k=2, **FAST).fit(X, y)
    assert list(as_column.ranking_) == list(plain.ranking_)


def test_predict_proba_and_classes_exist_for_classifiers_only(fitted):
    """hasattr(regressor, 'predict_proba') was true (meta-estimators probing it were misled)
    and classes_ raised "'Regression' object has no attribute 'labels'"."""
    sel, X, _ = fitted
    assert hasattr(sel, "predict_proba") and sel.predict_proba(X).shape == (len(X), 2)
    regressor = LassoNetSelector(task="regression", **FAST).fit(X, X[:, 0] + X[:, 1])
    assert not hasattr(regressor, "predict_proba")
    assert not hasattr(LassoNetSelector(task="regression"), "predict_proba")
    assert hasattr(LassoNetSelector(), "predict_proba")  # auto: a classifier perhaps
    with pytest.raises(AttributeError, match="only defined for classification"):
        regressor.classes_  # noqa: B018


def test_transform_names_the_columns_a_frame_lacks(fitted):
    sel, X, y = fitted
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(6)])
    named = LassoNetSelector(k=2, **FAST).fit(frame, y)
    first = named.get_feature_names_out()[0]
    with pytest.raises(DataError, match=f"lacks 1 column.*{first}"):
        named.transform(frame.drop(columns=first))


def test_transform_refuses_a_frame_that_names_a_selected_column_twice(fitted):
    """transform returned both columns of a name given twice (predict refused the frame):
    a wider table, with one of them perhaps not the column fitted on."""
    sel, X, y = fitted
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(6)])
    named = LassoNetSelector(k=2, **FAST).fit(frame, y)
    first = named.get_feature_names_out()[0]
    doubled = pd.concat([frame, frame[[first]]], axis=1)
    with pytest.raises(DataError, match=f"names column.* twice: {first}"):
        named.transform(doubled)
    spare = next(c for c in frame.columns if c not in named.get_feature_names_out())
    assert named.transform(pd.concat([frame, frame[[spare]]], axis=1)).shape == (len(X), 2)


def test_the_gap_message_names_the_python_method_that_imputes(fitted):
    sel, X, _ = fitted
    gappy = X.copy()
    gappy[0, 0] = np.nan
    with pytest.raises(DataError, match=re.escape("predict_table(X, impute=True)")):
        sel.predict(pd.DataFrame(gappy, columns=[f"x{i}" for i in range(6)]))
