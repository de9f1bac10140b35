"""The Python API: LassoNetSelector as a scikit-learn style estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from lassonet_cli import LassoNetSelector
from lassonet_cli.errors import ConfigError

FAST = dict(max_epochs=20, patience=3, seed=0)


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


def test_default_M_depends_on_the_backbone():
    """M = 10 suits the input layer of an MLP; a conv filter's block has C2 x k x k weights,
    for which the default is 0.1.  A given M is used as it is."""
    from lassonet_cli import defaults

    assert LassoNetSelector().resolved_M == defaults.M == 10
    conv = LassoNetSelector(backbone="conv:4,3", image_shape="1x8x8")
    assert conv.resolved_M == defaults.CONV_M == 0.1
    assert conv.get_params()["M"] is None  # the parameter itself stays as given
    assert LassoNetSelector(backbone="conv:4,3", image_shape="1x8x8", M=3.0).resolved_M == 3.0
    assert LassoNetSelector(M=0.0)._config().M == 0.0


def test_relaxed_fit_patience_depends_on_the_backbone():
    """Relaxed fits stop after 3 epochs without improvement, 5 with a conv backbone, whose
    one-filter model needs the longer fits (defaults.CONV_RELAX_PATIENCE)."""
    from lassonet_cli import defaults

    assert LassoNetSelector()._config().relax_patience == defaults.RELAX_PATIENCE == 3
    conv = LassoNetSelector(backbone="conv:4,3", image_shape="1x8x8")
    assert conv._config().relax_patience == defaults.CONV_RELAX_PATIENCE == 5


def test_exit_window_depends_on_the_backbone():
    """Exits within one path step are ordered together for features; a conv backbone groups
    only the filters leaving at one point (defaults.CONV_EXIT_WINDOW)."""
    from lassonet_cli import defaults

    assert LassoNetSelector()._config().exit_window is None  # one path step
    conv = LassoNetSelector(backbone="conv:4,3", image_shape="1x8x8")
    assert conv._config().exit_window == defaults.CONV_EXIT_WINDOW == 1.0
