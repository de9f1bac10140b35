"""Unsupervised selection: ``--task reconstruction`` rebuilds every feature from the selected ones.

The task on its own (targets standardised with training statistics, pooled R^2, curvature), then
the Python API, the command line, the model file and the inputs it refuses.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch
from clitools import assert_clean_error, invoke

from lassonet_cli import LassoNetSelector
from lassonet_cli.errors import ConfigError, DataError
from lassonet_cli.modelfile import read_model
from lassonet_cli.tasks import Reconstruction, task_from_dict

# --cv 0: small tables are cross-validated by default; the tests here are not about that
FAST = ["--max-epochs", "20", "--patience", "3", "--backbone", "mlp:8", "--seed", "0",
        "--threads", "1", "--cv", "0"]
FAST_KW = {"max_epochs": 20, "patience": 3, "backbone": "mlp:8", "seed": 0, "cv": 0}


def latent_table(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Five columns driven by two latent factors, on different scales."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(2, n))
    noise = lambda: 0.1 * rng.normal(size=n)  # noqa: E731
    return pd.DataFrame({"p": 10 + 3 * a + noise(), "q": a - b + noise(), "r": 100 * b + noise(),
                         "s": a + noise(), "t": -b + noise()})


pytestmark = pytest.mark.usefixtures("one_thread")  # (conftest.py)


# --- the task ---------------------------------------------------------------------------------


def test_targets_are_standardised_with_the_training_rows():
    train = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0]])
    task = Reconstruction(columns=["u", "v"]).fit(train)
    np.testing.assert_allclose(task.mean, [3.0, 10.0])
    np.testing.assert_allclose(task.scale, [np.sqrt(8 / 3), 1.0])  # constant column: scale 1
    held_out = np.array([[7.0, 12.0]])
    np.testing.assert_allclose(task.encode(held_out).numpy(),
                               [[4 / np.sqrt(8 / 3), 2.0]], rtol=1e-6)
    np.testing.assert_allclose(task.decode(task.encode(held_out)), held_out, rtol=1e-6)
    assert task_from_dict(task.to_dict()).to_dict() == task.to_dict()
    assert task.n_outputs == 2
    with pytest.raises(DataError):
        Reconstruction(columns=["u"]).fit(train)  # one name for two columns


def test_score_is_r2_pooled_over_columns():
    rng = np.random.default_rng(0)
    y, out = rng.normal(size=(2, 30, 4))
    y[:, 3] *= 5  # a column with more spread weighs more in the pooled sums
    expected = 1 - ((y - out) ** 2).sum() / ((y - y.mean(axis=0)) ** 2).sum()
    task = Reconstruction(columns=list("abcd"))
    value = task.score(torch.tensor(out), torch.tensor(y))
    assert float(value) == pytest.approx(expected, rel=1e-12)
    per_column_mean = np.mean([1 - ((y[:, j] - out[:, j]) ** 2).sum()
                               / ((y[:, j] - y[:, j].mean()) ** 2).sum() for j in range(4)])
    assert float(value) != pytest.approx(per_column_mean, rel=1e-3)
    assert float(task.score(torch.tensor(y), torch.tensor(y))) == 1.0


def test_output_curvature_is_the_hessian_of_the_mean_squared_error():
    n, p = 7, 3
    task = Reconstruction(columns=list("abc"))
    y = torch.randn(n, p, dtype=torch.float64)
    hessian = torch.autograd.functional.hessian(lambda o: task.loss(o, y),
                                                torch.zeros(n, p, dtype=torch.float64))
    top = float(torch.linalg.eigvalsh(hessian.reshape(n * p, n * p)).max())
    assert top == pytest.approx(task.output_curvature / n, rel=1e-12)


# --- the Python API ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    X = latent_table()
    return LassoNetSelector(task="reconstruction", **FAST_KW).fit(X), X


def test_estimator_reconstructs_in_the_table_units(fitted):
    sel, X = fitted
    assert sorted(sel.ranking_) == sorted(X.columns)
    assert sel.path_.score_name == "r2"
    assert sel.path_.points[0].val_score > 0.9  # the dense model reconstructs its inputs
    predicted = sel.predict(X)
    assert predicted.shape == X.shape
    table = sel.predict_table(X)
    assert list(table.columns) == [f"{c}_hat" for c in X.columns]
    np.testing.assert_array_equal(table.to_numpy(), predicted)
    # the best point reconstructs well, and back in the table's units (r is 100 times t)
    assert sel.chosen_point_.val_score > 0.9
    relative_error = ((predicted - X.to_numpy()) ** 2).sum(axis=0) / ((X - X.mean()) ** 2).sum()
    assert (relative_error < 0.1).all()
    with pytest.raises(AttributeError):
        sel.predict_proba(X)


def test_estimator_k_and_transform(fitted):
    X = latent_table()
    sel = LassoNetSelector(task="reconstruction", k=2, **FAST_KW).fit(X)
    assert sel.get_support().sum() <= 2
    assert list(sel.transform(X).columns) == [c for c, s in zip(X.columns, sel.get_support(),
                                                                  strict=True) if s]


def test_a_constant_column_is_set_aside_as_feature_and_as_target():
    X = latent_table()
    X.insert(2, "flat", 4.0)
    sel = LassoNetSelector(task="reconstruction", **FAST_KW).fit(X)
    assert sel.set_aside_ == {"flat": "constant"} and sel.ranking_[-1] == "flat"
    assert sel.feature_importances_[2] == 0.0 and not sel.get_support()[2]
    assert sel.n_features_in_ == X.shape[1]
    assert sel.task_.columns == [c for c in X.columns if c != "flat"]
    assert list(sel.predict_table(X).columns) == [f"{c}_hat" for c in sel.task_.columns]
    # the same reconstruction as without the column
    alone = LassoNetSelector(task="reconstruction", **FAST_KW).fit(X.drop(columns="flat"))
    np.testing.assert_array_equal(sel.predict(X), alone.predict(X))


def test_estimator_refuses_what_it_cannot_reconstruct():
    X = latent_table()
    with pytest.raises(ConfigError, match="without y"):
        LassoNetSelector(task="reconstruction", **FAST_KW).fit(X, X["p"])
    with pytest.raises(DataError, match="categorical"):
        LassoNetSelector(task="reconstruction", **FAST_KW).fit(X.assign(k=list("ab") * 60))
    with pytest.raises(DataError, match="missing"):
        LassoNetSelector(task="reconstruction", **FAST_KW).fit(X.assign(p=np.nan))
    with pytest.raises(DataError, match="at least 2"):
        LassoNetSelector(task="reconstruction", **FAST_KW).fit(X[["p"]])
    with pytest.raises(ConfigError, match="needs y"):
        LassoNetSelector(task="regression", **FAST_KW).fit(X)


# --- the command line and the model file ------------------------------------------------------


@pytest.fixture(scope="module")
def selected(tmp_path_factory):
    out = tmp_path_factory.mktemp("rec")
    data = out / "latent.csv"
    latent_table().assign(id=[f"r{i}" for i in range(120)]).to_csv(data, index=False)
    model, path = out / "rec.safetensors", out / "path.csv"
    result = invoke("select", data, "--task", "reconstruction", "--id", "id", "--k", "3", *FAST,
                    "--model-out", model, "--path-out", path)
    assert result.exit_code == 0, result.stderr
    return data, model, path, result


def test_select_ranks_the_columns(selected):
    _, _, path, result = selected
    ranking = pd.read_csv(io.StringIO(result.stdout))
    assert sorted(ranking["feature"]) == list("pqrst")
    assert ranking["selected"].sum() <= 3
    table = pd.read_csv(path, keep_default_na=False)
    assert table["k"].iloc[0] == 5 and table["k"].iloc[-1] == 0
    assert "validation r2" in result.stderr


def test_predict_writes_one_reconstructed_column_per_feature(selected):
    data, model, _, _ = selected
    result = invoke("predict", model, data, "--keep", "id")
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns) == ["id", "p_hat", "q_hat", "r_hat", "s_hat", "t_hat"]
    sel = LassoNetSelector.load(str(model))
    np.testing.assert_allclose(table.drop(columns="id").to_numpy(),
                               sel.predict(pd.read_csv(data).drop(columns="id")), rtol=1e-15)


def test_model_file_round_trips_the_task(selected):
    _, model, _, _ = selected
    header, _ = read_model(str(model))
    task = header["task"]
    assert task["name"] == "reconstruction" and task["columns"] == list("pqrst")
    assert header["n_outputs"] == 5
    assert "reconstruction (5 columns)" in invoke("inspect", model).stdout


def test_path_command_scores_reconstruction(tmp_path):
    data = tmp_path / "latent.csv"
    latent_table().to_csv(data, index=False)
    result = invoke("path", data, "--task", "reconstruction", "--k-grid", "2,4",
                    "--random-repeats", "2", *FAST)
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    assert table["k"].tolist() == [2, 4]
    assert (table["refit_score"] > 0.5).all()  # two latent factors: two columns carry most


def _write(tmp_path, table: pd.DataFrame):
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["select", "path"])
@pytest.mark.parametrize("table, options, fragment", [
    (latent_table(), ["--target", "p"], "takes no --target"),
    (latent_table(), ["--event", "p"], "takes no --event"),
    (latent_table().assign(colour=list("rgb") * 40), [], "colour is categorical"),
    (latent_table().assign(colour=list("rgb") * 40), ["--missing", "impute"], "categorical"),
    (latent_table().assign(p=[np.nan] + [1.0] * 119), ["--missing", "impute"],
     "cannot reconstruct missing"),
    (latent_table()[["p"]], [], "at least 2"),
    (latent_table()[["p"]].assign(flat=1.0), [], "at least 2"),  # constant columns drop out
])
def test_bad_reconstruction_input_is_one_clean_error_and_no_file(tmp_path, command, table,
                                                                options, fragment):
    data = _write(tmp_path, table)
    result = invoke(command, data, "--task", "reconstruction", *options, *FAST,
                    "-o", tmp_path / "out.csv")
    assert_clean_error(result, fragment)
    assert list(tmp_path.iterdir()) == [data]


def test_missing_target_names_the_ways_out(tmp_path):
    data = _write(tmp_path, latent_table())
    assert_clean_error(invoke("select", data, *FAST), "--target", "--task reconstruction")


def test_loss_is_the_squared_error_near_and_grows_linearly_far():
    """Twice Huber's loss at one standard deviation, by hand: e^2 where |e| <= 1, else
    2|e| - 1, averaged over every entry."""
    task = Reconstruction(columns=["a", "b"]).fit(np.array([[0.0, 0.0], [1.0, 1.0]]))
    out = torch.tensor([[0.5, 0.0], [0.0, 0.0]])
    y = torch.tensor([[0.0, 3.0], [0.0, -10.0]])
    expected = (0.25 + (2 * 3 - 1) + 0 + (2 * 10 - 1)) / 4
    assert float(task.loss(out, y)) == pytest.approx(expected)


def test_a_nearly_constant_column_does_not_outrank_the_columns_it_cannot_explain():
    """Eight columns share one factor; one column is 0 except on two of 300 rows (a border
    pixel with ink in two images), so standardised it is about 12 there.  Only it can rebuild
    itself, but it tells nothing of the rest: under the squared error alone its two rows
    outweighed the shared factor and it ranked first."""
    rng = np.random.default_rng(4)
    n = 300
    factor = rng.normal(size=n)
    frame = pd.DataFrame({f"f{j}": factor + 0.3 * rng.normal(size=n) for j in range(8)})
    spike = np.zeros(n)
    spike[[17, 211]] = 1.0
    frame["spike"] = spike
    selector = LassoNetSelector(task="reconstruction", **FAST_KW).fit(frame)
    assert list(selector.ranking_).index("spike") >= 4
