"""LassoNetSelector as a scikit-learn estimator: scikit-learn's own estimator checks, and the
defects of issue 16 one by one (labels' dtype, input errors, names out, set_output, score)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from lassonet_cli import LassoNetSelector

# the estimator checks fit dozens of times: a small network and a short path
TINY = dict(backbone="mlp:8", path_multiplier=1.5, max_epochs=2, cv=0)
FAST = dict(backbone="mlp:8", max_epochs=20, patience=3, seed=0, cv=0)

pytestmark = pytest.mark.usefixtures("one_thread")  # (conftest.py)


# the one check scikit-learn skips here is run by test_the_array_api_check_passes
@pytest.mark.filterwarnings("ignore:Skipping check check_array_api_input")
def test_scikit_learn_estimator_checks_pass():
    # no check is expected to fail: a check that cannot apply would be listed here with its
    # reason (expected_failed_checks), never skipped
    results = check_estimator(LassoNetSelector(**TINY), expected_failed_checks={}, on_fail=None)
    failed = {r["check_name"]: repr(r["exception"]) for r in results if r["status"] == "failed"}
    assert failed == {}
    assert len([r for r in results if r["status"] == "passed"]) >= 45
    # scikit-learn skips this one unless SCIPY_ARRAY_API=1 was set before scipy was imported;
    # test_the_array_api_check_passes runs it where it is
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}


def test_the_array_api_check_passes():
    program = (
        "import torch\n"
        "torch.set_num_threads(1)\n"
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from lassonet_cli import LassoNetSelector\n"
        f"check_array_api_input('LassoNetSelector', LassoNetSelector(**{TINY!r}),\n"
        "                      array_namespace='numpy', expect_only_array_outputs=False)\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "SCIPY_ARRAY_API": "1"})
    assert result.returncode == 0, result.stderr


def signal(n: int = 120, seed: int = 0):
    """Four columns; the class depends on x0 and x1."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = signal()
    return LassoNetSelector(**FAST).fit(X, y), X, y


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64, bool, object])
def test_labels_keep_their_dtype(dtype):
    X, y = signal()
    y = (y > 0).astype(dtype)
    sel = LassoNetSelector(**FAST).fit(X, y)
    assert sel.classes_.dtype == y.dtype and sel.predict(X).dtype == y.dtype
    np.testing.assert_array_equal(sel.classes_, np.unique(y))


def test_text_labels_stay_text():
    X, y = signal()
    words = np.asarray(["low", "mid", "top"])[y]
    sel = LassoNetSelector(**FAST).fit(X, words)
    assert list(sel.classes_) == ["low", "mid", "top"]
    assert set(sel.predict(X)) <= {"low", "mid", "top"}


def test_an_unfitted_selector_raises_not_fitted():
    X, _ = signal()
    sel = LassoNetSelector()
    for method in (sel.predict, sel.predict_proba, sel.transform, sel.get_support,
                   sel.get_feature_names_out):
        with pytest.raises(NotFittedError):
            method(X) if method is not sel.get_support else method()


@pytest.mark.parametrize("bad, fragment", [
    (lambda X: X[:, 0], "Expected 2D array"),
    (lambda X: X[:0], "0 sample"),
    (lambda X: X[:1], "1 sample"),
    (lambda X: X[:, :0], "0 feature"),
    (lambda X: np.where(X > 2, np.nan, X), "NaN"),
    (lambda X: np.where(X > 2, np.inf, X), "infinity"),
    (lambda X: X + 1j, "Complex data not supported"),
])
def test_bad_arrays_are_value_errors(bad, fragment):
    X, y = signal()
    X = bad(X)
    with pytest.raises(ValueError, match=fragment):
        LassoNetSelector(**FAST).fit(X, y[: len(X)])


def test_sparse_input_is_refused_with_a_clear_message():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X, y = signal()
    with pytest.raises(TypeError, match="[Ss]parse"):
        LassoNetSelector(**FAST).fit(scipy_sparse.csr_matrix(X), y)
    from lassonet_cli.estimator import Selector  # the command line's, without scikit-learn

    with pytest.raises(TypeError, match="sparse"):
        Selector(**FAST).fit(scipy_sparse.csr_matrix(X), y)


def test_an_object_array_of_numbers_is_numeric(fitted):
    sel, X, y = fitted
    as_objects = LassoNetSelector(**FAST).fit(X.astype(object), y)
    assert [c.kind for c in as_objects.encoder_.codes] == ["numeric"] * 4
    assert list(as_objects.ranking_) == list(sel.ranking_)
    np.testing.assert_array_equal(as_objects.feature_importances_, sel.feature_importances_)
    np.testing.assert_array_equal(as_objects.predict(X.astype(object)), sel.predict(X))


def test_feature_names_out_follow_the_input(fitted):
    sel, X, y = fitted
    assert not hasattr(sel, "feature_names_in_")  # an array has no column names
    names = np.asarray([f"x{j}" for j in range(4)], dtype=object)
    np.testing.assert_array_equal(sel.get_feature_names_out(), names[sel.get_support()])
    mine = [f"m{j}" for j in range(4)]
    np.testing.assert_array_equal(sel.get_feature_names_out(mine),
                                  np.asarray(mine, dtype=object)[sel.get_support()])

    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    named = LassoNetSelector(**FAST).fit(frame, y)
    assert list(named.feature_names_in_) == ["a", "b", "c", "d"]
    assert list(named.get_feature_names_out()) == list(frame.columns[named.get_support()])
    # the same fit under other names
    assert list(named.ranking_) == [dict(zip(names, "abcd", strict=True))[n] for n in sel.ranking_]


def test_a_pipeline_sets_pandas_output(fitted):
    sel, X, y = fitted
    pipe = make_pipeline(StandardScaler(), LassoNetSelector(**FAST)).set_output(
        transform="pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"], index=np.arange(100, 220))
    out = pipe.fit(frame, y).transform(frame)
    selector = pipe[-1]
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(frame.columns[selector.get_support()])
    assert list(out.index) == list(frame.index)
    np.testing.assert_allclose(out.to_numpy(),
                               StandardScaler().fit_transform(X)[:, selector.get_support()])


def test_score_is_the_task_score(fitted):
    sel, X, y = fitted
    assert sel.score(X, y) == pytest.approx(accuracy_score(y, sel.predict(X)))
    assert sel.score(X[:10], np.full(10, 7)) == 0.0  # a label never seen counts as wrong

    rng = np.random.default_rng(1)
    Xr = rng.standard_normal((150, 3))
    yr = 2 * Xr[:, 0] + rng.standard_normal(150)
    reg = LassoNetSelector(task="regression", **FAST).fit(Xr, yr)
    assert reg.score(Xr, yr) == pytest.approx(r2_score(yr, reg.predict(Xr)), rel=1e-5)


def test_parameters_and_repr_come_from_scikit_learn():
    sel = LassoNetSelector(k=3, backbone="mlp:8")
    assert isinstance(sel, BaseEstimator)
    assert repr(sel) == "LassoNetSelector(backbone='mlp:8', k=3)"
    assert sel.get_params()["k"] == 3 and "seed" in sel.get_params()


def run_python(program: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=300)


def test_the_command_line_does_not_import_scikit_learn():
    """scikit-learn takes about a second to import: the CLI's estimator does without it."""
    result = run_python(
        "import sys\n"
        "import lassonet_cli.cli, lassonet_cli.estimator, lassonet_cli.evaluate\n"
        "assert 'sklearn' not in sys.modules, 'sklearn was imported'\n"
    )
    assert result.returncode == 0, result.stderr


def test_without_scikit_learn_the_selector_still_fits():
    """scikit-learn is an optional extra (SPEC 7): without it LassoNetSelector is the plain
    estimator (with its stability selection), which fits, predicts and selects the same."""
    result = run_python(
        "import sys\n"
        "sys.modules['sklearn'] = None  # as if it were not installed\n"
        "import numpy as np\n"
        "import torch\n"
        "torch.set_num_threads(1)\n"
        "from lassonet_cli import LassoNetSelector\n"
        "from lassonet_cli.estimator import Selector\n"
        "from lassonet_cli.stability import StabilityMixin\n"
        "assert LassoNetSelector.__mro__[1:] == (StabilityMixin, *Selector.__mro__), "
        "LassoNetSelector.__mro__\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.standard_normal((120, 4))\n"
        "y = 3 * X[:, 2] + 0.1 * rng.standard_normal(120)\n"
        f"sel = LassoNetSelector(task='regression', k=1, **{FAST!r}).fit(X, y)\n"
        "assert list(sel.ranking_[:1]) == ['x2'], sel.ranking_\n"
        "assert sel.transform(X).shape == (120, 1) and sel.score(X, y) > 0.9\n"
    )
    assert result.returncode == 0, result.stderr


def test_fit_takes_the_progress_callbacks_of_selector():
    """The scikit-learn class passes ``on_run`` through to ``Selector.fit``."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    runs = []
    LassoNetSelector(**TINY).fit(X, X[:, 0], on_run=lambda name: runs.append(name))
    assert runs and runs[0] == "path"


@pytest.mark.parametrize("missing", ["error", "impute"])
def test_pd_na_in_an_object_array_is_a_gap(missing):
    """pd.NA in an object array failed inside scikit-learn's check of gaps with 'boolean
    value of NA is ambiguous' (a TypeError)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = 2 * X[:, 0] + 0.1 * rng.standard_normal(60)
    with_na = X.astype(object)
    with_na[3, 2] = pd.NA
    selector = LassoNetSelector(missing=missing, **FAST)
    if missing == "error":
        with pytest.raises(ValueError, match="NaN"):
            selector.fit(with_na, y)
        fitted = LassoNetSelector(**FAST).fit(X, y)
        with pytest.raises(ValueError, match="NaN"):
            fitted.predict(with_na)
    else:
        as_nan = X.copy()
        as_nan[3, 2] = np.nan
        expected = LassoNetSelector(missing=missing, **FAST).fit(as_nan, y)
        np.testing.assert_array_equal(selector.fit(with_na, y).predict(X), expected.predict(X))


def test_rows_without_a_target_are_dropped_with_a_warning():
    """fit dropped the rows whose y is missing without a word (the command line says so on
    stderr): now a UserWarning counts them, pointing at the caller's fit, and the fit equals
    one on the other rows."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = 2 * X[:, 0] + 0.1 * rng.standard_normal(60)
    gappy = y.copy()
    gappy[[4, 9, 30]] = np.nan
    with pytest.warns(UserWarning, match=r"dropped 3 row\(s\) whose y is missing") as record:
        selector = LassoNetSelector(**FAST).fit(X, gappy)
    assert record[0].filename == __file__  # the user's line, not one inside the package
    kept = ~np.isnan(gappy)
    expected = LassoNetSelector(**FAST).fit(X[kept], y[kept])
    np.testing.assert_array_equal(selector.predict(X), expected.predict(X))


def test_nullable_integer_labels_with_a_gap_stay_integers():
    """np.asarray of an Int64 y with a gap gave floats: classes_ were [-2., 5.] and predict
    returned 5.0, not the labels y holds."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = pd.Series(np.where(X[:, 0] > 0, 5, -2), dtype="Int64")
    y[7] = pd.NA
    with pytest.warns(UserWarning, match="dropped 1 row"):
        selector = LassoNetSelector(**FAST).fit(X, y)
    assert selector.classes_.dtype.kind == "i" and selector.classes_.tolist() == [-2, 5]
    assert selector.predict(X).dtype.kind == "i"


@pytest.mark.parametrize("fit_labels, score_labels", [
    (np.array([0, 1]), np.array(["0", "1"])),
    (np.array(["no", "yes"]), np.array([0, 1])),
])
def test_score_refuses_labels_of_another_kind(fit_labels, score_labels):
    """score with text labels for a model fitted on integers (or the other way) was a silent
    0.0 (no prediction can equal one); scikit-learn's accuracy_score refuses such labels."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    classes = (X[:, 0] > 0).astype(int)
    selector = LassoNetSelector(**FAST).fit(X, fit_labels[classes])
    assert selector.score(X, fit_labels[classes]) > 0.5
    with pytest.raises(ValueError, match="y holds .* and the model's classes are"):
        selector.score(X, score_labels[classes])
