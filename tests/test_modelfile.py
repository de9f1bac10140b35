"""The model file (SPEC 5) and the commands that use it: select --model-out, predict, inspect.

One regression model (``--k 2``, so some features are left out) and one classification model with
text labels are trained once per module by ``select`` and, with the same options and seed, in
process; every test shares them.
"""

from __future__ import annotations

import io
import json
import math
import os
import pathlib
import pickle
import struct

import numpy as np
import pandas as pd
import pytest
import torch
from clitools import assert_clean_error, invoke

from lassonet_cli import __version__
from lassonet_cli.errors import ModelFileError
from lassonet_cli.estimator import Selector
from lassonet_cli.modelfile import FORMAT_VERSION, read_model

FEATURES = ["f0", "f1", "f2", "f3", "f4"]
# one thread: fast on a busy machine, and the CLI and in-process fits run under the same count;
# --cv 0: the 200-row tables would be cross-validated by default, which these tests are not about
FAST = ["--max-epochs", "20", "--patience", "3", "--seed", "0", "--threads", "1", "--cv", "0"]
FAST_KW = {"max_epochs": 20, "patience": 3, "seed": 0, "cv": 0}
CLASSES = ["cat", "dog", "eel"]






def read_csv_exact(text_or_path) -> pd.DataFrame:
    source = io.StringIO(text_or_path) if isinstance(text_or_path, str) else text_or_path
    # pandas >= 3 parses floats exactly by default (and deprecates the option)
    extra = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(source, **extra)


# --- data and the shared trained models ----------------------------------------------------------


def _tables(directory: pathlib.Path) -> dict[str, pathlib.Path]:
    rng = np.random.default_rng(1)
    n = 200
    X = rng.normal(size=(n, len(FEATURES)))
    base = pd.DataFrame(X, columns=FEATURES)
    base.insert(0, "id", [f"r{i:03d}" for i in range(n)])
    reg = base.copy()
    reg["y"] = 2 * X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=n)
    cls = base.copy()
    cls["label"] = np.where(X[:, 0] > 0.4, "cat", np.where(X[:, 2] > 0, "dog", "eel"))
    paths = {"reg": directory / "reg.csv", "cls": directory / "cls.csv"}
    reg.to_csv(paths["reg"], index=False)
    cls.to_csv(paths["cls"], index=False)
    return paths


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    threads = torch.get_num_threads()
    try:
        yield _train(tmp_path_factory.mktemp("models"))
    finally:
        torch.set_num_threads(threads)  # --threads 1 set it for the whole process


def _train(out: pathlib.Path) -> dict:
    paths = _tables(out)
    runs = {"dir": out, **paths}

    # regression, --k 2: the model leaves three features out
    reg_args = ["select", paths["reg"], "-t", "y", "--id", "id", "--k", "2", *FAST]
    for name in ("reg", "reg_again"):
        result = invoke(*reg_args, "--model-out", out / f"{name}.safetensors",
                        "-o", out / f"{name}_rank.csv", "--path-out", out / f"{name}_path.csv")
        assert result.exit_code == 0, result.stderr
    runs["reg_model"] = out / "reg.safetensors"

    # classification with text labels, default rule (best validation score)
    result = invoke("select", paths["cls"], "-t", "label", "--id", "id", *FAST,
                    "--model-out", out / "cls.safetensors", "-o", out / "cls_rank.csv",
                    "--path-out", out / "cls_path.csv")
    assert result.exit_code == 0, result.stderr
    runs["cls_model"] = out / "cls.safetensors"

    # the same fits in process
    torch.set_num_threads(1)
    reg = pd.read_csv(paths["reg"])
    runs["reg_fit"] = Selector(task="regression", k=2, **FAST_KW).fit(
        reg[FEATURES], reg["y"].to_numpy()
    )
    cls = pd.read_csv(paths["cls"])
    runs["cls_fit"] = Selector(task="classification", **FAST_KW).fit(
        cls[FEATURES], cls["label"].to_numpy()
    )
    return runs


def _predict(model, data, *extra):
    result = invoke("predict", model, data, *extra)
    assert result.exit_code == 0, result.stderr
    return read_csv_exact(result.stdout)


# --- 1. select --model-out + predict reproduce the in-process estimator exactly -------------------


def test_predict_regression_is_bitwise_the_in_process_prediction(trained):
    pred = _predict(trained["reg_model"], trained["reg"])
    assert list(pred.columns) == ["id", "prediction"]  # select's --id leads
    data = pd.read_csv(trained["reg"])
    expected = trained["reg_fit"].predict(data[FEATURES])
    assert pred["prediction"].dtype == np.float64
    assert np.array_equal(pred["prediction"].to_numpy(), np.asarray(expected, dtype=np.float64))
    # a sanity check that the model learned something (y = 2 f0 - f1 + noise)
    assert np.corrcoef(pred["prediction"], data["y"])[0, 1] > 0.8


def test_predict_classification_text_labels_and_probabilities(trained):
    pred = _predict(trained["cls_model"], trained["cls"], "-o", "-")
    assert list(pred.columns) == ["id", "prediction"] + [f"proba_{c}" for c in CLASSES]
    data = pd.read_csv(trained["cls"])
    fit = trained["cls_fit"]
    assert list(fit.classes_) == CLASSES
    expected = fit.predict(data[FEATURES])
    assert pred["prediction"].tolist() == list(expected)
    assert set(pred["prediction"]) <= set(CLASSES)
    proba = pred[[f"proba_{c}" for c in CLASSES]].to_numpy()
    assert np.array_equal(proba, fit.predict_proba(data[FEATURES]))
    assert np.allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert ((proba >= 0) & (proba <= 1)).all()
    # the label is the most probable class
    assert pred["prediction"].tolist() == [CLASSES[i] for i in proba.argmax(axis=1)]
    assert (pred["prediction"] == data["label"]).mean() > 0.7


def test_predict_output_file(trained, tmp_path):
    out = tmp_path / "pred.csv"
    result = invoke("predict", trained["cls_model"], trained["cls"], "--keep", "id", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    pred = read_csv_exact(out)
    assert list(pred.columns) == ["id", "prediction"] + [f"proba_{c}" for c in CLASSES]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.csv"]  # no temporary file left


# --- 2. the Python API round trip ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["reg", "cls"])
def test_save_load_round_trip(trained, tmp_path, kind):
    fit = trained[f"{kind}_fit"]
    path = tmp_path / "m.safetensors"
    fit.save(str(path))
    loaded = Selector.load(str(path))
    data = pd.read_csv(trained[kind])[FEATURES]
    assert np.array_equal(loaded.predict(data), fit.predict(data))
    assert list(loaded.ranking_) == list(fit.ranking_)
    assert np.array_equal(loaded.get_support(), fit.get_support())
    assert np.array_equal(loaded.get_support(indices=True), fit.get_support(indices=True))
    assert np.array_equal(loaded.feature_importances_, fit.feature_importances_)
    assert list(loaded.feature_names_in_) == FEATURES
    assert loaded.n_features_in_ == len(FEATURES)
    assert loaded.path_ is None
    # numpy input works too, columns in model order
    assert np.array_equal(loaded.predict(data.to_numpy()), fit.predict(data))
    if kind == "cls":
        assert list(loaded.classes_) == CLASSES
        assert np.array_equal(loaded.predict_proba(data), fit.predict_proba(data))
    else:
        with pytest.raises(AttributeError):
            loaded.predict_proba(data)


def test_a_loaded_model_saves_to_the_same_bytes(trained, tmp_path):
    """save() of a selector loaded from a model file raised AttributeError (it has no path,
    hence no chosen point); it writes the file it was loaded from, --id column included."""
    copy = tmp_path / "copy.safetensors"
    Selector.load(str(trained["reg_model"])).save(str(copy))
    assert copy.read_bytes() == trained["reg_model"].read_bytes()


def test_in_process_save_is_byte_identical_to_select_model_out(trained, tmp_path):
    path = tmp_path / "m.safetensors"
    trained["reg_fit"].save(str(path), id_column="id")  # as select --id id saves it
    assert path.read_bytes() == trained["reg_model"].read_bytes()


def test_model_file_is_plain_safetensors(trained):
    from safetensors.torch import load_file

    tensors = load_file(str(trained["reg_model"]))
    state = trained["reg_fit"].model_.state_dict()
    assert set(tensors) == set(state)
    for name, tensor in tensors.items():
        assert torch.equal(tensor, state[name].cpu())


# --- 3. predict's input columns ------------------------------------------------------------------


def test_keep_copies_columns_first(trained, tmp_path):
    pred = _predict(trained["reg_model"], trained["reg"], "--keep", "id,f4")
    data = pd.read_csv(trained["reg"])
    assert list(pred.columns) == ["id", "f4", "prediction"]
    assert pred["id"].tolist() == data["id"].tolist()
    assert np.array_equal(pred["f4"].to_numpy(), data["f4"].to_numpy())
    plain = _predict(trained["reg_model"], trained["reg"])
    assert np.array_equal(pred["prediction"].to_numpy(), plain["prediction"].to_numpy())


def test_keep_absent_column_is_named(trained):
    assert_clean_error(invoke("predict", trained["reg_model"], trained["reg"], "--keep",
                              "id,nosuchcol"), "nosuchcol")


@pytest.mark.parametrize("keep", ["", " , "])
def test_keep_naming_no_column_is_refused(trained, keep):
    """An empty --keep was taken as no --keep, as an empty --features once was every column."""
    assert_clean_error(invoke("predict", trained["reg_model"], trained["reg"], "--keep", keep),
                       "--keep", "names no column")


@pytest.mark.parametrize("kind", ["reg", "cls"])
def test_missing_model_column_is_named(trained, tmp_path, kind):
    fit = trained[f"{kind}_fit"]
    needed = [c for c, keep in zip(FEATURES, fit.get_support(), strict=True) if keep][-1]
    data = pd.read_csv(trained[kind]).drop(columns=[needed])
    path = tmp_path / "lacking.csv"
    data.to_csv(path, index=False)
    assert_clean_error(invoke("predict", trained[f"{kind}_model"], path), needed)


def test_extra_columns_are_ignored_and_order_does_not_matter(trained, tmp_path):
    data = pd.read_csv(trained["cls"])
    baseline = _predict(trained["cls_model"], trained["cls"])
    shuffled = data[["label", "f4", "id", "f2", "f0", "f3", "f1"]].copy()
    shuffled.insert(2, "junk", ["x", None] * (len(data) // 2))
    shuffled["more"] = np.nan
    path = tmp_path / "shuffled.csv"
    shuffled.to_csv(path, index=False)
    pred = _predict(trained["cls_model"], path)
    pd.testing.assert_frame_equal(pred, baseline, check_exact=True)
    # the training target is not needed either, nor the id column (then not written)
    only = tmp_path / "only.csv"
    data[FEATURES[::-1]].to_csv(only, index=False)
    pd.testing.assert_frame_equal(_predict(trained["cls_model"], only),
                                  baseline.drop(columns="id"), check_exact=True)


def test_missing_value_in_a_needed_column(trained, tmp_path):
    """Refused by default, naming the column and the option; with --missing impute a gap in a
    column trained without gaps takes the training mean: its rows predict as the same rows
    with that mean written in, and a note counts the filled cells."""
    data = pd.read_csv(trained["reg"])
    clean = data.copy()
    data.loc[[3, 7], "f0"] = np.nan
    path = tmp_path / "gaps.csv"
    data.to_csv(path, index=False)
    assert_clean_error(invoke("predict", trained["reg_model"], path), "f0",
                       "--missing impute")
    result = invoke("predict", trained["reg_model"], path, "--missing", "impute")
    assert result.exit_code == 0, result.stderr
    assert "filled 2 gap(s) in f0" in result.stderr
    header, _ = read_model(str(trained["reg_model"]))
    mean = header["encoder"]["mean"][header["encoder"]["columns"].index("f0")]
    by_hand = tmp_path / "by_hand.csv"
    clean.loc[[3, 7], "f0"] = mean
    clean.to_csv(by_hand, index=False)
    expected = _predict(trained["reg_model"], by_hand)
    imputed = read_csv_exact(result.stdout)
    assert np.array_equal(imputed["prediction"].to_numpy(), expected["prediction"].to_numpy())


def test_text_in_a_needed_column(trained, tmp_path):
    data = pd.read_csv(trained["reg"])
    data["f1"] = data["f1"].astype(object)
    data.loc[5, "f1"] = "oops"
    path = tmp_path / "text.csv"
    data.to_csv(path, index=False)
    assert_clean_error(invoke("predict", trained["reg_model"], path), "f1")


def test_unselected_columns_do_not_change_predictions(trained, tmp_path):
    fit = trained["reg_fit"]
    unused = [c for c, keep in zip(FEATURES, fit.get_support(), strict=True) if not keep]
    assert unused, "the --k 2 model should leave features out"
    data = pd.read_csv(trained["reg"])
    changed = data.copy()
    rng = np.random.default_rng(5)
    for column in unused:
        changed[column] = rng.normal(scale=100, size=len(data))
    path = tmp_path / "changed.csv"
    changed.to_csv(path, index=False)
    baseline = _predict(trained["reg_model"], trained["reg"])
    pred = _predict(trained["reg_model"], path)
    assert np.array_equal(pred["prediction"].to_numpy(), baseline["prediction"].to_numpy())


@pytest.mark.parametrize("kind", ["reg", "cls"])
def test_a_table_of_the_selected_columns_alone_predicts_the_same(trained, tmp_path, kind):
    """predict demanded every column the model was fitted on, those it does not read too:
    a user who selected features to measure fewer of them could not predict without the
    rest.  The columns the model reads are enough, and give the same predictions."""
    fit = trained[f"{kind}_fit"]
    selected = [c for c, keep in zip(FEATURES, fit.get_support(), strict=True) if keep]
    assert fit.read_columns() == selected and len(selected) < len(FEATURES)
    data = pd.read_csv(trained[kind])
    path = tmp_path / "selected.csv"
    data[selected].to_csv(path, index=False)
    alone = _predict(trained[f"{kind}_model"], path)
    baseline = _predict(trained[f"{kind}_model"], trained[kind])  # (with the id column first)
    assert list(alone.columns) == list(baseline.columns[1:])
    pd.testing.assert_frame_equal(alone, baseline[alone.columns], check_exact=True)
    loaded = Selector.load(str(trained[f"{kind}_model"]))
    np.testing.assert_array_equal(loaded.predict(data[selected]), loaded.predict(data))


# --- 4. loading never unpickles -----------------------------------------------------------------


class _Touch:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _check_payload_is_live(payload: bytes, marker: pathlib.Path, loader) -> None:
    """The payload does run code when unpickled (else the test below would prove nothing)."""
    loader(payload)
    assert marker.exists()
    marker.unlink()


def test_pickle_renamed_to_safetensors_is_refused_without_running_it(trained, tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"weights": [1.0, 2.0], "x": _Touch(str(marker))})
    _check_payload_is_live(payload, marker, pickle.loads)
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(payload)
    assert_clean_error(invoke("predict", evil, trained["reg"]), "not a lassonet model file")
    assert_clean_error(invoke("inspect", evil), "not a lassonet model file")
    assert_clean_error(invoke("inspect", evil, "--json"), "not a lassonet model file")
    with pytest.raises(ModelFileError):
        Selector.load(str(evil))
    assert not marker.exists()


def test_torch_save_renamed_to_safetensors_is_refused_without_running_it(trained, tmp_path):
    plain = tmp_path / "state.safetensors"
    torch.save(trained["reg_fit"].model_.state_dict(), plain)
    assert_clean_error(invoke("predict", plain, trained["reg"]), "not a lassonet model file")
    assert_clean_error(invoke("inspect", plain), "not a lassonet model file")

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.safetensors"
    torch.save({"w": torch.zeros(3), "x": _Touch(str(marker))}, evil)
    _check_payload_is_live(evil.read_bytes(),
                           marker, lambda b: torch.load(io.BytesIO(b), weights_only=False))
    assert_clean_error(invoke("predict", evil, trained["reg"]), "not a lassonet model file")
    assert_clean_error(invoke("inspect", evil), "not a lassonet model file")
    assert not marker.exists()


# --- 5. corrupt and foreign files ----------------------------------------------------------------


def _split(data: bytes) -> tuple[dict, bytes]:
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def _join(outer: dict, body: bytes) -> bytes:
    header = json.dumps(outer).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + body


def rewrite(src: pathlib.Path, dst: pathlib.Path, edit) -> pathlib.Path:
    """Copy a model file, letting ``edit`` change its lassonet header (a dict) in place."""
    outer, body = _split(src.read_bytes())
    meta = json.loads(outer["__metadata__"]["lassonet"])
    edit(meta)
    outer["__metadata__"]["lassonet"] = json.dumps(meta)
    dst.write_bytes(_join(outer, body))
    return dst


def test_rewritten_header_without_changes_still_loads(trained, tmp_path):
    """The helper the corruption tests use makes valid files when it changes nothing."""
    copy = rewrite(trained["reg_model"], tmp_path / "copy.safetensors", lambda meta: None)
    baseline = _predict(trained["reg_model"], trained["reg"])
    pd.testing.assert_frame_equal(_predict(copy, trained["reg"]), baseline, check_exact=True)
    assert invoke("inspect", copy).exit_code == 0


@pytest.fixture
def damaged(trained, tmp_path):
    data = trained["reg_model"].read_bytes()
    rng = np.random.default_rng(7)
    files = {
        "half": data[: len(data) // 2],
        "four_bytes": data[:4],
        "tail_cut": data[:-10],
        "random": rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes(),
        "empty": b"",
        "text": b"id,f0\nr1,0.5\n",
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.safetensors"
        paths[name].write_bytes(content)
    return paths


@pytest.mark.parametrize("name", ["half", "four_bytes", "tail_cut", "random", "empty", "text"])
@pytest.mark.parametrize("command", ["predict", "inspect"])
def test_damaged_files_are_refused(trained, damaged, name, command):
    path = damaged[name]
    args = [command, path] + ([trained["reg"]] if command == "predict" else [])
    line = assert_clean_error(invoke(*args), path.name)
    assert "not a lassonet model file" in line or "damaged" in line, line
    if name == "tail_cut":  # the header is intact, the tensor bytes are short
        assert "damaged" in line


def _with_one_weight_changed(src: pathlib.Path, dst: pathlib.Path, edit=None) -> pathlib.Path:
    """A copy of a model file whose last float32 weight is changed to another finite value
    (the damage a flipped bit leaves), its header edited by ``edit``."""
    outer, body = _split(src.read_bytes())
    (value,) = struct.unpack("<f", body[-4:])
    body = body[:-4] + struct.pack("<f", value + 0.25)
    meta = json.loads(outer["__metadata__"]["lassonet"])
    if edit is not None:
        edit(meta)
    outer["__metadata__"]["lassonet"] = json.dumps(meta)
    dst.write_bytes(_join(outer, body))
    return dst


@pytest.mark.parametrize("command", ["predict", "inspect"])
def test_weights_changed_after_writing_are_refused(trained, tmp_path, command):
    """A finite weight changed in the file would predict something else without a word: the
    header's checksum of the weights refuses it."""
    path = _with_one_weight_changed(trained["reg_model"], tmp_path / "m.safetensors")
    args = [command, path] + ([trained["reg"]] if command == "predict" else [])
    line = assert_clean_error(invoke(*args), path.name)
    assert "damaged model file" in line and "weights differ" in line, line


def test_a_file_without_the_checksum_is_not_checked(trained, tmp_path):
    """(The refusal above is the checksum's doing: without it the same file loads, and predicts
    something else.)"""
    path = _with_one_weight_changed(trained["reg_model"], tmp_path / "m.safetensors",
                                    lambda meta: meta.pop("weights_sha256"))
    changed = _predict(path, trained["reg"])
    assert not changed.equals(_predict(trained["reg_model"], trained["reg"]))


@pytest.mark.parametrize("digest", ["abc", 12, "G" * 64, None])
def test_a_checksum_that_is_not_one_is_refused(trained, tmp_path, digest):
    path = rewrite(trained["reg_model"], tmp_path / "m.safetensors",
                   lambda meta: meta.update(weights_sha256=digest))
    if digest is None:  # (null: as absent)
        assert invoke("inspect", path).exit_code == 0
        return
    line = assert_clean_error(invoke("inspect", path), "weights_sha256")
    assert "64 hexadecimal digits" in line


def test_plain_safetensors_without_lassonet_header(trained, tmp_path):
    from safetensors.torch import save_file

    state = {k: v.contiguous() for k, v in trained["reg_fit"].model_.state_dict().items()}
    bare = tmp_path / "bare.safetensors"
    save_file(state, str(bare))
    other = tmp_path / "other.safetensors"
    save_file(state, str(other), metadata={"format": "pt"})
    for path in (bare, other):
        assert_clean_error(invoke("predict", path, trained["reg"]), "not a lassonet model file")
        assert_clean_error(invoke("inspect", path), "not a lassonet model file")


def test_foreign_format_name_is_refused(trained, tmp_path):
    path = rewrite(trained["reg_model"], tmp_path / "f.safetensors",
                   lambda meta: meta.update(format="something-else"))
    assert_clean_error(invoke("predict", path, trained["reg"]), "not a lassonet model file")
    assert_clean_error(invoke("inspect", path), "not a lassonet model file")


def test_newer_format_version_asks_to_retrain(trained, tmp_path):
    path = rewrite(trained["reg_model"], tmp_path / "future.safetensors",
                   lambda meta: meta.update(format_version=FORMAT_VERSION + 1,
                                            package_version="99.0.0"))
    for args in (["predict", path, trained["reg"]], ["inspect", path], ["inspect", path, "--json"]):
        line = assert_clean_error(invoke(*args), str(FORMAT_VERSION + 1), str(FORMAT_VERSION),
                                  "retrain")
        assert "99.0.0" in line
    with pytest.raises(ModelFileError, match="retrain"):
        read_model(str(path))


def test_missing_model_path(trained, tmp_path):
    missing = tmp_path / "nope.safetensors"
    assert_clean_error(invoke("predict", missing, trained["reg"]), "nope.safetensors",
                       "does not exist")
    assert_clean_error(invoke("inspect", missing), "nope.safetensors", "does not exist")
    assert_clean_error(invoke("predict", tmp_path, trained["reg"]), "directory")
    assert_clean_error(invoke("inspect", tmp_path), "directory")
    assert_clean_error(invoke("predict", "", trained["reg"]), "model file name is empty")
    assert_clean_error(invoke("inspect", ""), "model file name is empty")
    assert_clean_error(invoke("predict", trained["reg_model"], ""),
                       "input file name is empty")


def test_header_and_tensors_that_disagree_are_inconsistent(trained, tmp_path):
    def add_column(meta):
        meta["encoder"]["columns"].append("ghost")
        meta["encoder"]["mean"].append(0.0)
        meta["encoder"]["scale"].append(1.0)
        meta["importances"]["ghost"] = 0.0
        meta["ranking"].append("ghost")
        meta["n_inputs"] += 1

    path = rewrite(trained["reg_model"], tmp_path / "ghost.safetensors", add_column)
    data = pd.read_csv(trained["reg"]).assign(ghost=0.0)
    with_ghost = tmp_path / "ghost.csv"
    data.to_csv(with_ghost, index=False)
    assert_clean_error(invoke("predict", path, with_ghost), "inconsistent")
    with pytest.raises(ModelFileError, match="inconsistent"):
        Selector.load(str(path))

    # a classification header that lists one class more than the output layer has
    more = rewrite(trained["cls_model"], tmp_path / "classes.safetensors",
                   lambda meta: meta["task"]["classes"].append("fox"))
    assert_clean_error(invoke("predict", more, trained["cls"]), "inconsistent")


@pytest.mark.parametrize("key", ["task", "encoder", "backbone", "importances"])
def test_header_missing_a_field_fails_predict_cleanly(trained, tmp_path, key):
    path = rewrite(trained["reg_model"], tmp_path / "m.safetensors", lambda meta: meta.pop(key))
    assert_clean_error(invoke("predict", path, trained["reg"]), "inconsistent")


@pytest.mark.parametrize("key", ["point", "task"])
def test_header_missing_a_field_fails_inspect_cleanly(trained, tmp_path, key):
    path = rewrite(trained["reg_model"], tmp_path / "m.safetensors", lambda meta: meta.pop(key))
    assert_clean_error(invoke("inspect", path), path.name)


# issue 16, defect 15: a tampered header is refused with its reason, before any module is built
TAMPERED = [
    ("task_text", lambda meta: meta.update(task="banana"), "'task' is \"banana\", not a mapping"),
    ("task_name", lambda meta: meta["task"].update(name="banana"), "unknown task \"banana\""),
    ("huge_layer", lambda meta: meta.update(backbone="mlp:100000000000"),
     "tensor backbone.input_layer.weight is 100x5 in the file; backbone mlp:100000000000 with "
     "5 input(s) and 1 output(s) needs 100000000000x5"),
    ("extra_layer", lambda meta: meta.update(backbone="mlp:100,7"),
     "backbone mlp:100,7 needs tensor(s) backbone.rest.3.bias, backbone.rest.3.weight"),
    ("no_backbone", lambda meta: meta.update(backbone="transformer"),
     "backbone \"transformer\" is none that lassonet builds"),
    ("outputs", lambda meta: meta.update(n_outputs=2),
     "the regression task has 1 output(s), n_outputs says 2"),
    ("dropout", lambda meta: meta.update(dropout=0.5), "backbone mlp:100 has no tensor(s)"),
    ("image_shape", lambda meta: meta.update(image_shape=[1, 1, 5]),
     "image_shape is only for a conv backbone, not mlp:100"),
    ("ranking", lambda meta: meta.update(ranking="f0"), "'ranking' is \"f0\", not a list"),
    ("point", lambda meta: meta["point"].update(k=-1), "point 'k' is -1, not a count"),
    # a list of one number was shown as the number
    ("M_list", lambda meta: meta.update(M=[1]), "'M' is [1], not"),
    # a scale of 0 divides by zero and predicts NaN
    ("scale", lambda meta: meta["encoder"]["scale"].__setitem__(0, 0.0),
     "an encoder scale is not a positive number"),
    # a subnormal scale overflowed the inputs (numpy's warnings on stderr)
    ("subnormal_scale", lambda meta: meta["encoder"]["scale"].__setitem__(0, 1e-320),
     "an encoder scale is not a positive number"),
    # the target's statistics: NaN predicted empty cells, a negative scale flipped every sign
    ("target_scale_nan", lambda meta: meta["task"].update(scale=float("nan")),
     "the regression task's mean"),
    ("target_scale_negative", lambda meta: meta["task"].update(scale=-1.0),
     "and scale -1.0 are not a finite number and a positive one"),
    ("target_mean_text", lambda meta: meta["task"].update(mean="0"),
     "the regression task's mean \"0\""),
    ("named_inputs", lambda meta: meta.update(named_inputs="no"),
     "'named_inputs' is \"no\", not true or false"),
    # a hostile hunt's edits (2026-12-07): inspect passed them, predict failed or misread
    ("no_codes", lambda meta: meta["encoder"].pop("codes"), "the encoder has no list of codes"),
    ("text_fill", lambda meta: meta["encoder"]["codes"][0].update(fill="abc"),
     "has levels or a fill that is not a number"),
    ("code_kind", lambda meta: meta["encoder"]["codes"][0].update(kind="date"),
     "not numeric or categorical"),
    ("selected_twice", lambda meta: meta.update(selected=meta["selected"] * 2),
     "'selected' names a unit twice"),
    ("negative_M", lambda meta: meta.update(M=-1.0), "M -1.0 is not positive"),
    ("unknown_param", lambda meta: meta["params"].update(epochs=3),
     "not a mapping of training parameters"),
    ("negative_importance",
     lambda meta: meta["importances"].update({next(iter(meta["importances"])): -1.0}),
     "an importance is not a number >= 0"),
]


@pytest.mark.parametrize("edit, fragment", [case[1:] for case in TAMPERED],
                         ids=[case[0] for case in TAMPERED])
def test_a_tampered_header_is_refused_before_anything_is_built(trained, tmp_path, monkeypatch,
                                                               edit, fragment):
    path = rewrite(trained["reg_model"], tmp_path / "m.safetensors", edit)
    assert_clean_error(invoke("predict", path, trained["reg"]), "inconsistent", fragment)
    assert_clean_error(invoke("inspect", path), "inconsistent", fragment)

    def no_build(*args, **kwargs):
        raise AssertionError("a module was built from a tampered header")

    monkeypatch.setattr("lassonet_cli.model.build_model", no_build)
    with pytest.raises(ModelFileError, match="inconsistent"):
        Selector.load(str(path))


def test_a_target_scale_that_overflows_the_predictions_is_refused(trained, tmp_path):
    """A finite, positive but absurd target scale: predictions beyond float64 were written as
    inf, with numpy's overflow warning on stderr."""
    path = rewrite(trained["reg_model"], tmp_path / "m.safetensors",
                   lambda meta: meta["task"].update(scale=1e308))
    assert_clean_error(invoke("predict", path, trained["reg"]), "the model cannot predict",
                       "overflow")


@pytest.mark.parametrize("edit, fragment", [
    (lambda meta: meta["task"].update(classes=["cat", "cat", "eel"]),
     "classes are not distinct labels"),
    (lambda meta: meta["task"].update(classes=[None, {}, "eel"]),
     "classes are not distinct labels"),
    (lambda meta: meta["encoder"]["codes"][0].update(kind="categorical", levels=["a", "a"]),
     "needs distinct text levels"),
])
def test_a_classifier_with_tampered_labels_or_levels_is_refused(trained, tmp_path, edit,
                                                                fragment):
    """Two equal class labels wrote one proba_ column holding the third class's probability,
    and duplicate category levels changed every prediction; both were accepted."""
    assert json.loads(_split(trained["cls_model"].read_bytes())[0]["__metadata__"][
        "lassonet"])["task"]["classes"] == ["cat", "dog", "eel"]
    path = rewrite(trained["cls_model"], tmp_path / "m.safetensors", edit)
    assert_clean_error(invoke("inspect", path), "inconsistent", fragment)
    assert_clean_error(invoke("predict", path, trained["cls"]), "inconsistent", fragment)


@pytest.mark.parametrize("format_version", [True, 1.0, "1"])
def test_a_format_version_of_another_type_is_refused(trained, tmp_path, format_version):
    """(the text '1' was shown as 1: 'version 1 ... cannot be read by lassonet, which reads
    version 1')"""
    path = rewrite(trained["reg_model"], tmp_path / "m.safetensors",
                   lambda meta: meta.update(format_version=format_version))
    assert_clean_error(invoke("inspect", path), f"model format version {format_version!r} (")


def test_a_header_nested_too_deep_for_json_is_not_a_model_file(trained, tmp_path):
    """A RecursionError from the JSON reader was an internal error (exit 1)."""
    outer, body = _split(trained["reg_model"].read_bytes())
    outer["__metadata__"]["lassonet"] = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep.safetensors"
    path.write_bytes(_join(outer, body))
    assert_clean_error(invoke("inspect", path), "not a lassonet model file")
    assert_clean_error(invoke("predict", path, trained["reg"]), "not a lassonet model file")


def rewrite_tensors(src: pathlib.Path, dst: pathlib.Path, edit) -> pathlib.Path:
    """Copy a model file, letting ``edit`` change the tensors' safetensors entries in place."""
    outer, body = _split(src.read_bytes())
    edit(outer)
    dst.write_bytes(_join(outer, body))
    return dst


def test_tensor_shapes_that_disagree_with_the_header_are_refused(trained, tmp_path):
    """The skip weight stored as (d, c) instead of (c, d): the same bytes, another shape."""
    path = rewrite_tensors(trained["reg_model"], tmp_path / "t.safetensors",
                           lambda outer: outer["skip.weight"].update(shape=[5, 1]))
    fragment = "tensor skip.weight is 5x1 in the file"
    assert_clean_error(invoke("predict", path, trained["reg"]), "inconsistent", fragment)
    assert_clean_error(invoke("inspect", path), "inconsistent", fragment)


@pytest.mark.parametrize("edit, fragment", [
    (lambda outer: outer["skip.weight"].update(shape=[1, 100000000000]),
     "tensor 'skip.weight' has 20 bytes for shape 1x100000000000"),
    (lambda outer: outer["skip.weight"].update(dtype="I64"), "tensor 'skip.weight' has no valid"),
    (lambda outer: outer["skip.weight"].update(data_offsets=[4, 24]), "overlap or leave gaps"),
])
def test_tensor_entries_that_do_not_tile_the_file_are_damaged(trained, tmp_path, edit, fragment):
    path = rewrite_tensors(trained["reg_model"], tmp_path / "t.safetensors", edit)
    assert_clean_error(invoke("predict", path, trained["reg"]), "damaged", fragment)
    assert_clean_error(invoke("inspect", path), "damaged", fragment)


@pytest.mark.parametrize("backbone, n_inputs, n_outputs, dropout, image_shape", [
    ("linear", 5, 1, 0.0, None), ("mlp:8", 5, 3, 0.0, None), ("mlp:8,4,2", 6, 2, 0.0, None),
    ("mlp:8,4", 6, 2, 0.3, None), ("conv:4,3:k3", 64, 2, 0.0, (1, 8, 8)),
    ("conv:2,5:k5", 2 * 3 * 11, 3, 0.2, (2, 3, 11)), ("conv:3,2:k1", 1, 1, 0.0, (1, 1, 1)),
])
def test_tensor_shapes_are_those_of_the_built_model(backbone, n_inputs, n_outputs, dropout,
                                                    image_shape):
    """The shapes the model file's check expects, computed without torch, are the built
    module's state dict (oracle: ``model.build_model``)."""
    from lassonet_cli.backbones import BackboneSpec
    from lassonet_cli.model import build_model
    from lassonet_cli.modelfile import tensor_shapes

    spec = BackboneSpec.parse(backbone)
    model = build_model(spec, n_inputs, n_outputs, dropout, image_shape=image_shape)
    built = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    assert tensor_shapes(spec, n_inputs, n_outputs, dropout, image_shape) == built


# --- 6. inspect ----------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_inspect_does_not_import_torch(trained, extra):
    """inspect reads the header and the tensors' entries, not the weights: torch (two seconds to
    import) stays out of the process (issue 16)."""
    import subprocess
    import sys

    program = (
        "import sys\n"
        "from lassonet_cli.cli import main\n"
        "sys.argv = ['lassonet', *sys.argv[1:]]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, "inspect", str(trained["reg_model"]), *extra],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == invoke("inspect", trained["reg_model"], *extra).stdout


def test_inspect_counts_the_model_parameters(trained):
    text = invoke("inspect", trained["reg_model"]).stdout
    line = next(line for line in text.splitlines() if line.startswith("parameters"))
    model = Selector.load(str(trained["reg_model"])).model_
    assert int(line.split()[1]) == sum(p.numel() for p in model.parameters())


def _inspect_json(model) -> dict:
    result = invoke("inspect", model, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("kind", ["reg", "cls"])
def test_inspect_json_matches_the_select_run(trained, kind):
    header = _inspect_json(trained[f"{kind}_model"])
    for key in ("format", "format_version", "package_version", "task", "encoder", "backbone",
                "lambda", "M", "selected", "importances", "ranking", "point"):
        assert key in header, key
    assert header["format_version"] == FORMAT_VERSION
    assert header["package_version"] == __version__
    assert header["task"]["name"] == ("regression" if kind == "reg" else "classification")
    if kind == "cls":
        assert header["task"]["classes"] == CLASSES
    assert header["encoder"]["columns"] == FEATURES
    assert header["backbone"] == "mlp:100"
    assert header["M"] == 10.0

    ranking = read_csv_exact(trained["dir"] / f"{kind}_rank.csv")
    assert header["ranking"] == ranking["feature"].tolist()
    chosen = ranking.loc[ranking["selected"], "feature"].tolist()
    assert sorted(header["selected"]) == sorted(chosen)
    assert len(header["selected"]) == len(set(header["selected"]))
    for feature, importance in zip(ranking["feature"], ranking["importance"], strict=True):
        stored = header["importances"][feature]
        assert (math.inf if stored is None else stored) == importance, feature

    lam = header["lambda"]
    for feature, stored in header["importances"].items():
        value = math.inf if stored is None else stored
        if feature in header["selected"]:
            assert value > lam, (feature, value, lam)
        else:
            assert value <= lam, (feature, value, lam)

    # the chosen point is a row of the same run's path table
    path = read_csv_exact(trained["dir"] / f"{kind}_path.csv")
    row = path.iloc[header["point"]["index"]]
    assert row["lambda"] == lam
    assert row["k"] == header["point"]["k"] == len(header["selected"])
    assert row["val_score"] == header["point"]["val_score"]
    assert header["point"]["score_name"] == ("r2" if kind == "reg" else "accuracy")


def test_inspect_respects_k(trained):
    header = _inspect_json(trained["reg_model"])
    assert 1 <= len(header["selected"]) <= 2
    # y = 2 f0 - f1: the two features the model keeps
    assert set(header["selected"]) == {"f0", "f1"}


@pytest.mark.parametrize("kind", ["reg", "cls"])
def test_inspect_text_summary(trained, kind):
    model = trained[f"{kind}_model"]
    header = _inspect_json(model)
    result = invoke("inspect", model)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert result.stderr == ""
    assert header["task"]["name"] in text
    assert "mlp:100" in text
    assert __version__ in text
    fields = {}
    for line in text.splitlines():
        parts = line.split()
        if parts:
            fields.setdefault(parts[0], parts[1:])
    assert float(fields["lambda"][0]) == pytest.approx(header["lambda"], rel=1e-5, abs=1e-12)
    assert float(fields["M"][0]) == 10.0
    # every selected feature listed on its own line, no unselected one
    listed = [line.split()[0] for line in text.splitlines()
              if line.startswith("  ") and line.split() and line.split()[0] in FEATURES]
    assert sorted(listed) == sorted(header["selected"])
    n = len(header["selected"])
    assert f"{n} of {len(FEATURES)}" in text


@pytest.mark.parametrize("name", ["ranking.csv", "model.PARQUET", "m.json.gz"])
def test_model_out_named_as_a_table_is_refused_before_training(tmp_path, name):
    """--model-out ranking.csv (the ranking's name given to the wrong option) wrote a
    safetensors file named .csv and exited 0."""
    data = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.standard_normal(30), "y": rng.standard_normal(30)}).to_csv(data,
                                                                                    index=False)
    result = invoke("select", data, "-t", "y", "--backbone", "linear", "--max-epochs", "2",
                    "--cv", "0", "--model-out", tmp_path / name, "-q")
    assert_clean_error(result, "--model-out", "a model file is safetensors", ".safetensors'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_inspect_text_escapes_control_characters_in_names(tmp_path):
    """A name holding a newline split its line of the summary, and an escape sequence reached
    the terminal raw: both are shown escaped, one line per selected column."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a\nb", "\x1b[31mred", "α\tβ"])
    sel = Selector(task="regression", backbone="linear", max_epochs=5, path_multiplier=2.0,
                   cv=0, k=3, n_jobs=1).fit(X, X["a\nb"] * 2 - X["α\tβ"])
    sel.save(tmp_path / "m.safetensors")
    result = invoke("inspect", str(tmp_path / "m.safetensors"))
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\t" not in result.stdout
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
    assert sorted(listed) == sorted(["a\\nb", "\\x1b[31mred", "α\\tβ"])


# --- columns set aside, cross-validated points, files from before either ------------------------


@pytest.fixture(scope="module")
def with_constants(trained):
    """The regression table with a constant number (k) and a constant text (flat) added, and
    the same select run on it (--k 2, one validation split)."""
    out = trained["dir"]
    table = pd.read_csv(trained["reg"])
    table.insert(3, "k", 1.5)
    table["flat"] = "same"
    data = out / "reg_constants.csv"
    table.to_csv(data, index=False)
    model = out / "reg_constants.safetensors"
    result = invoke("select", data, "-t", "y", "--id", "id", "--k", "2", *FAST,
                    "--model-out", model, "-o", out / "reg_constants_rank.csv")
    assert result.exit_code == 0, result.stderr
    return data, model


def test_columns_set_aside_are_recorded_and_not_needed_to_predict(trained, with_constants):
    data, model = with_constants
    header = _inspect_json(model)
    inputs = ["f0", "f1", "k", "f2", "f3", "f4", "flat"]
    assert header["input_columns"] == inputs
    assert header["set_aside"] == {"k": "constant", "flat": "constant"}
    assert header["encoder"]["columns"] == FEATURES and header["n_inputs"] == len(FEATURES)
    assert header["ranking"][-2:] == ["k", "flat"]
    assert header["importances"]["k"] == header["importances"]["flat"] == 0.0
    assert not {"k", "flat"} & set(header["selected"])
    ranking = read_csv_exact(trained["dir"] / "reg_constants_rank.csv")
    assert ranking["feature"].tolist() == header["ranking"]
    # the model is the one trained without those columns, and predicts without them
    baseline = _predict(trained["reg_model"], trained["reg"])
    pd.testing.assert_frame_equal(_predict(model, trained["reg"]), baseline, check_exact=True)
    pd.testing.assert_frame_equal(_predict(model, data), baseline, check_exact=True)
    loaded = Selector.load(str(model))
    assert list(loaded.feature_names_in_) == inputs and loaded.n_features_in_ == 7
    assert loaded.set_aside_ == {"k": "constant", "flat": "constant"}
    assert list(loaded.get_support()) == [c in header["selected"] for c in inputs]
    assert loaded.feature_importances_[[2, 6]].tolist() == [0.0, 0.0]
    text = invoke("inspect", model).stdout
    assert "set aside       2 constant column(s), ranked last with importance 0" in text
    assert f"of {len(FEATURES)} column(s)" in text


def test_a_file_without_the_newer_fields_loads_as_before(trained, tmp_path):
    """Files written before columns were set aside and points cross-validated by default lack
    input_columns, set_aside and the point's cv_folds; they load and predict unchanged."""
    def strip(meta):
        for key in ("input_columns", "set_aside", "weights_sha256"):
            meta.pop(key)
        meta["point"].pop("cv_folds")

    old = rewrite(trained["reg_model"], tmp_path / "old.safetensors", strip)
    baseline = _predict(trained["reg_model"], trained["reg"])
    pd.testing.assert_frame_equal(_predict(old, trained["reg"]), baseline, check_exact=True)
    loaded = Selector.load(str(old))
    assert list(loaded.feature_names_in_) == FEATURES and loaded.set_aside_ == {}
    assert invoke("inspect", old).exit_code == 0


@pytest.mark.parametrize("edit", [
    lambda meta: meta["set_aside"].update(ghost="constant"),  # not an input column
    lambda meta: meta["input_columns"].remove("k"),
    lambda meta: meta.update(set_aside={"f0": "constant"}),  # also read by the model
    lambda meta: meta.update(input_columns="f0"),
])
def test_set_aside_columns_that_disagree_are_inconsistent(with_constants, tmp_path, edit):
    data, model = with_constants
    path = rewrite(model, tmp_path / "m.safetensors", edit)
    assert_clean_error(invoke("predict", path, data), "inconsistent")
    # inspect reads the same columns from the header (modelfile.check_header)
    assert_clean_error(invoke("inspect", path), "inconsistent")


def test_a_cross_validated_point_is_recorded_with_its_folds(trained, tmp_path):
    model = tmp_path / "cv.safetensors"
    result = invoke("select", trained["reg"], "-t", "y", "--id", "id", "--k", "2", "--cv", "2",
                    "--rule", "best", "--backbone", "mlp:8", "--max-epochs", "5",
                    "--threads", "1", "--model-out", model, "-q")
    assert result.exit_code == 0, result.stderr
    point = _inspect_json(model)["point"]
    assert point["cv_folds"] == 2 and point["val_score_se"] >= 0
    text = invoke("inspect", model).stdout
    assert (f"validation      r2 {point['val_score']:.4f} ± {point['val_score_se']:.4f} "
            "(mean over 2 folds)") in text
    assert _inspect_json(trained["reg_model"])["point"]["cv_folds"] is None


# --- 7. deterministic saving; failing early ----------------------------------------------------


def test_same_seed_gives_byte_identical_model_files(trained):
    first = trained["dir"] / "reg.safetensors"
    again = trained["dir"] / "reg_again.safetensors"
    assert first.read_bytes() == again.read_bytes()
    leftovers = [p.name for p in trained["dir"].iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_model_out_into_missing_directory_fails_before_training(trained, tmp_path, monkeypatch):
    calls = []

    def no_fit(self, *args, **kwargs):
        calls.append(1)
        raise AssertionError("fit must not run")

    monkeypatch.setattr(Selector, "fit", no_fit)
    before = sorted(tmp_path.iterdir())
    target = tmp_path / "missing" / "m.safetensors"
    ranking = tmp_path / "rank.csv"
    result = invoke("select", trained["reg"], "-t", "y", *FAST, "--model-out", target,
                    "-o", ranking)
    assert_clean_error(result, "missing")
    assert calls == []
    assert sorted(tmp_path.iterdir()) == before
    assert not (tmp_path / "missing").exists()


def test_model_out_onto_a_directory_fails_before_training(trained, tmp_path, monkeypatch):
    monkeypatch.setattr(Selector, "fit",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("fit ran")))
    result = invoke("select", trained["reg"], "-t", "y", *FAST, "--model-out", tmp_path)
    assert_clean_error(result, "directory")
    assert os.listdir(tmp_path) == []


def test_tensor_bytes_that_are_not_finite_numbers_are_damaged(trained, tmp_path):
    """All 0xFF is a NaN in float32: such a model would predict NaN for every row."""
    outer, body = _split(trained["reg_model"].read_bytes())
    start, end = outer["skip.weight"]["data_offsets"]
    path = tmp_path / "nan.safetensors"
    path.write_bytes(_join(outer, body[:start] + b"\xff" * (end - start) + body[end:]))
    assert_clean_error(invoke("predict", path, trained["reg"]), "damaged", "skip.weight",
                       "not finite")
    # inspect reads the weights too (with numpy): a model predict refuses is not shown as sound
    assert_clean_error(invoke("inspect", path), "damaged", "skip.weight", "not finite")


@pytest.mark.parametrize("column_kind", ["used", "unused"])
def test_values_beyond_float32_predict_only_where_the_model_reads_them(trained, tmp_path,
                                                                     column_kind):
    """1e300 standardises beyond float32 and the network's output overflows (NaN): refused in
    a column the model reads, ignored in one it left out."""
    fit = trained["reg_fit"]
    support = dict(zip(FEATURES, fit.get_support(), strict=True))
    column = next(c for c, kept in support.items() if kept == (column_kind == "used"))
    data = pd.read_csv(trained["reg"])
    data.loc[4, column] = 1e300
    path = tmp_path / "huge.csv"
    data.to_csv(path, index=False)
    result = invoke("predict", trained["reg_model"], path)
    if column_kind == "used":
        assert_clean_error(result, "cannot predict 1 row(s) (first: row 5)")
    else:
        assert result.exit_code == 0, result.stderr
        assert np.isfinite(read_csv_exact(result.stdout)["prediction"]).all()


def test_a_model_trained_with_an_M_above_todays_bound_still_predicts(trained, tmp_path):
    """M is bounded for training (1e6) since models with larger ones were written: such a
    file loads with its own M and predicts as before."""
    path = rewrite(trained["reg_model"], tmp_path / "bigM.safetensors",
                   lambda meta: meta.update(M=2e6))
    baseline = _predict(trained["reg_model"], trained["reg"])
    pd.testing.assert_frame_equal(_predict(path, trained["reg"]), baseline, check_exact=True)
    assert Selector.load(str(path)).options_.M == 2e6


def test_a_header_only_input_has_nothing_to_predict(trained, tmp_path):
    """It ended in an internal error (exit 1: a reshape of an empty array)."""
    empty = tmp_path / "header.csv"
    empty.write_text(pd.read_csv(trained["reg"]).iloc[:0].to_csv(index=False))
    assert_clean_error(invoke("predict", trained["reg_model"], empty),
                       "the input has no rows: nothing to predict")
    with pytest.raises(ValueError, match="no rows"):
        Selector.load(str(trained["reg_model"])).predict(pd.read_csv(empty))


def test_an_id_column_named_like_an_output_is_left_out_with_a_note(trained, tmp_path):
    """--id prediction at training: predict on the training table itself failed with
    'Invalid value for --keep: column(s) prediction would be written twice', naming an option
    the user had not given, and no prediction could be made."""
    table = pd.read_csv(trained["reg"]).rename(columns={"id": "prediction"})
    path, model = tmp_path / "t.csv", tmp_path / "m.safetensors"
    table.to_csv(path, index=False)
    result = invoke("select", path, "-t", "y", "--id", "prediction", *FAST, "--model-out",
                    model, "-o", tmp_path / "rank.csv")
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "pred.csv"
    result = invoke("predict", model, path, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "the id column 'prediction' is not passed through" in result.stderr
    predicted = pd.read_csv(out)
    assert list(predicted.columns) == ["prediction"]
    assert not np.array_equal(predicted["prediction"], table["prediction"])


def test_a_model_through_a_pipe_is_said_to_need_a_regular_file(trained, tmp_path):
    """<(cat m.safetensors) was 'not a lassonet model file' (the reader sizes the file), and a
    FIFO without a writer hung."""
    import os
    import subprocess

    fifo = tmp_path / "model.fifo"
    os.mkfifo(fifo)
    args = [str(fifo), str(trained["reg"])]
    import sys

    lassonet = pathlib.Path(sys.executable).with_name("lassonet")
    done = subprocess.run([str(lassonet), "predict", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and "is not a regular file" in done.stderr


def test_a_loaded_model_has_its_fits_parameters_and_its_clone_refits_the_same(trained):
    """A loaded selector's get_params were the defaults (max_epochs None, cv 'auto', ...), so
    clone(loaded).fit trained with other options than the file's model had."""
    from sklearn.base import clone

    from lassonet_cli import LassoNetSelector

    reg = pd.read_csv(trained["reg"])
    X, y = reg.drop(columns=["id", "y"]), reg["y"]
    fitted = LassoNetSelector(task="regression", k=2, path_multiplier=1.3, lr=0.02,
                              **FAST_KW).fit(X, y)
    path = trained["dir"] / "params.safetensors"
    fitted.save(path)
    loaded = LassoNetSelector.load(path)
    wanted = fitted.options_.params()
    got = loaded.get_params()
    assert {n: got[n] for n in wanted if n != "device"} == {
        n: v for n, v in wanted.items() if n != "device"}
    again = clone(loaded).fit(X, y)
    assert list(again.ranking_) == list(fitted.ranking_)
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))


def test_a_tampered_parameter_is_an_inconsistent_file(trained, tmp_path):
    path = rewrite(trained["reg_model"], tmp_path / "m.safetensors",
                   lambda meta: meta["params"].update(max_epochs=-1))
    assert_clean_error(invoke("predict", path, trained["reg"]), "inconsistent", "max_epochs")


@pytest.mark.parametrize("command", ["predict", "inspect"])
def test_a_model_from_stdin_is_refused_by_name(trained, command):
    """'-' reads a table from stdin; a model file cannot come from there, and the message was
    "model file '-' does not exist"."""
    args = [command, "-"] + ([trained["reg"]] if command == "predict" else [])
    assert_clean_error(invoke(*args), "a model file cannot be read from stdin ('-')")


def test_save_named_as_a_table_is_refused(tmp_path):
    """Python ``save('ranking.csv')`` wrote a safetensors file named .csv (the command line
    refuses it as --model-out); now the same refusal, in the API's words."""
    from lassonet_cli import LassoNetSelector

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    selector = LassoNetSelector(backbone="linear", max_epochs=2, cv=0).fit(X, X[:, 0])
    with pytest.raises(ValueError, match=r"save '.*ranking\.csv' is named as a csv table.*"
                                         r"ranking is ranking_table\(\)"):
        selector.save(tmp_path / "ranking.csv")
    assert list(tmp_path.iterdir()) == []
    selector.save(tmp_path / "model.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


@pytest.mark.parametrize("id_column", ["f1", "", 5])
def test_save_refuses_an_id_column_that_is_a_feature_or_not_a_name(trained, tmp_path, id_column):
    """Python ``save(path, id_column=...)`` wrote whatever it was given: a feature named as the
    row identifier made ``predict`` pass that feature through as an ID column, and 5 was saved
    as the text '5'.  The command line's --id can be neither; the API now refuses both."""
    path = tmp_path / "m.safetensors"
    with pytest.raises(ValueError, match=r"id_column must be the name of the table's row "
                                         r"identifier, a column that is not one of the model's "
                                         rf"inputs .*got {id_column!r}"):
        trained["reg_fit"].save(path, id_column=id_column)
    assert list(tmp_path.iterdir()) == []
