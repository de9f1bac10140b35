"""The model file: safetensors weights plus a JSON header with everything ``predict`` needs.

Layout: a standard safetensors file (8-byte little-endian header length, JSON header, raw tensor
bytes).  The header's ``__metadata__`` holds one entry, ``lassonet``, a JSON document:

    format          "lassonet-model"
    format_version  FORMAT_VERSION (a reader refuses other versions)
    package_version the lassonet version that wrote it
    task            the fitted task (``tasks``): {"name": "classification", "classes": [...]},
                    {"name": "regression", "mean": m, "scale": s}, {"name": "cox", "ties":
                    "efron" | "breslow", "n_train": n}, or {"name": "reconstruction",
                    "columns": [...], "mean": [...], "scale": [...]}
    encoder         {"columns": [...], "mean": [...], "scale": [...]}  (input order): the
                    columns the model reads
    input_columns   every feature column the model was fitted on, in table order: the
                    encoder's columns and those set aside (absent in older files: the encoder's)
    set_aside       {column: reason} of the columns left out of the model (reason "constant"),
                    ranked last with importance 0 (absent in older files: none)
    backbone        e.g. "mlp:100" or "conv:16,32:k3"; dropout; n_inputs; n_outputs
    image_shape     [C, H, W] for a conv backbone (the columns are the pixels), else absent/null
    lambda, M       the chosen path point's penalty and the hierarchy multiplier
    selected        names of the columns the model uses; for a conv backbone, of the alive
                    filters (every column is read)
    importances     {unit: elimination lambda}, units being the input columns (0 for those set
                    aside), or filters ("filter_00", ...) for a conv backbone; ranking: their
                    names, most important first
    groups          {column: group} for user-given groups, or null
    point           {"index", "k", "val_score", "score_name"}, and "cv_folds" (null: one
                    validation split) with "val_score_se" when val_score is a mean over folds
    id_column       the training table's --id column, which predict passes through (absent:
                    none was named)
    params          the fit's other parameters ({name: value}: lambda_start, path_multiplier,
                    max_epochs, ..., seed; ``TRAINING_PARAMETERS``), which a loaded selector
                    takes, so that get_params and clone give the training's (absent in older
                    files: the defaults)
    named_inputs    false where the fit's input had no text column names (a numpy array, or a
                    DataFrame with names 0, 1, ...: x0, x1, ... name its columns), so a loaded
                    model reads arrays as that fit did (absent in older files: true)
    weights_sha256  SHA-256 of the tensors' bytes, in the order of their sorted names
                    (``weights_digest``): a file damaged in its weights is refused, not read
                    into wrong predictions (absent in older files: not checked)

input_columns, set_aside, id_column, params, named_inputs, weights_sha256 and point's cv_folds
and val_score_se were added within
format version 1 as optional fields: files without them load as before, and readers that
predate them ignore them.  Nothing is ever unpickled: tensors are read by safetensors, the
header by ``json``.

The tensors are the state dict of ``model.build_model`` for the header's backbone, sizes and image
shape (``tensor_shapes``).  ``read_header`` checks the header against the tensors' entries in the
safetensors header (names, shapes, byte spans) before anything is built or allocated, and
without torch, so that ``lassonet inspect`` starts fast.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import struct
import sys
from pathlib import Path

from . import __version__
from .backbone_spec import BackboneSpec, head_grid
from .errors import ConfigError, ModelFileError

FORMAT = "lassonet-model"
FORMAT_VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024
# the parameters a file keeps under "params": those the header does not hold elsewhere (task,
# backbone, M, dropout, groups, image_shape) but device, which is the training machine's
TRAINING_PARAMETERS = (
    "lambda_start", "path_multiplier", "max_epochs", "patience", "optimizer", "lr",
    "batch_size", "relax", "val_fraction", "rule", "k", "cv", "missing", "categorical",
    "max_levels", "seed", "ties",
)


def save_model(path: str, estimator, id_column: str | None = None) -> None:
    """Write a fitted ``estimator.Selector`` to ``path`` atomically; ``id_column``: the
    training table's row identifier, for ``predict`` to pass through."""
    from safetensors.torch import save

    from .io import write_file

    header = model_header(estimator)
    if id_column is not None:
        header["id_column"] = str(id_column)
    tensors = {
        name: tensor.detach().cpu().contiguous()
        for name, tensor in estimator.model_.state_dict().items()
    }
    header["weights_sha256"] = weights_digest({n: _bytes(t) for n, t in tensors.items()})
    data = save(tensors, metadata={"lassonet": json.dumps(header, sort_keys=True)})
    write_file(path, data)


def weights_digest(raw: dict[str, bytes]) -> str:
    """SHA-256 (hex) of the tensors' bytes ({name: bytes}), in sorted name order."""
    digest = hashlib.sha256()
    for name in sorted(raw):
        digest.update(raw[name])
    return digest.hexdigest()


def _bytes(tensor) -> bytes:
    """A torch tensor's bytes as safetensors stores them (any dtype, bfloat16 included)."""
    import torch

    return tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def model_header(estimator) -> dict:
    """The JSON header describing a fitted estimator."""
    if getattr(estimator, "path_", None) is None and hasattr(estimator, "header_"):
        # loaded from a model file (``load_selector``: no path, no chosen point): that file's
        # header, written by this version (the weights' digest is computed afresh)
        kept = {k: v for k, v in estimator.header_.items() if k != "weights_sha256"}
        return {**kept, "format_version": FORMAT_VERSION, "package_version": __version__}
    point = estimator.chosen_point_
    columns = list(estimator.encoder_.columns)
    inputs = list(estimator.input_columns_)
    units, chosen = inputs, estimator.get_support()
    shape = estimator.options_.image_shape
    if estimator.units_.of_column is None:  # conv1's filters
        units, chosen = estimator.units_.names, estimator.unit_support_
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "task": estimator.task_.to_dict(),
        "encoder": estimator.encoder_.to_dict(),
        "input_columns": inputs,
        "set_aside": dict(estimator.set_aside_),
        "backbone": str(estimator.options_.backbone),
        "dropout": float(estimator.dropout),
        "n_inputs": len(columns),
        "n_outputs": int(estimator.task_.n_outputs),
        "lambda": float(point.lambda_),
        "M": float(estimator.options_.M),
        "image_shape": list(shape) if shape is not None else None,
        "selected": [c for c, keep in zip(units, chosen, strict=True) if keep],
        "importances": {  # JSON has no inf or NaN: null
            c: float(v) if math.isfinite(v) else None
            for c, v in zip(units, estimator.feature_importances_, strict=True)
        },
        "ranking": [str(c) for c in estimator.ranking_],
        "groups": dict(estimator.groups) if estimator.groups else None,
        # written only where false: a file from named columns stays as before
        **({} if hasattr(estimator, "feature_names_in_") else {"named_inputs": False}),
        "params": {name: _plain(estimator.options_.params()[name])
                   for name in TRAINING_PARAMETERS},
        "point": {
            "index": int(estimator.chosen_),
            "k": int(point.k),
            "val_score": float(point.val_score),
            "score_name": estimator.path_.score_name,
            "cv_folds": estimator.cv_folds_,
            **({"val_score_se": float(point.val_score_se)} if estimator.cv_folds_ else {}),
        },
    }


def read_model(path: str) -> tuple[dict, dict]:
    """(header, tensors) of a model file; ModelFileError for anything that is not one, or whose
    header disagrees with its tensors (``read_header``, checked before the tensors are read)."""
    import torch
    from safetensors.torch import load

    header, _ = read_header(path)
    tensors = _load_tensors(path, load)
    _refuse_damaged(path, header, {n: _bytes(t) for n, t in tensors.items()},
                    [n for n, t in tensors.items() if not torch.isfinite(t).all()])
    return header, tensors


def _load_tensors(path: str, load) -> dict:
    """The tensors of the model file at ``path`` through safetensors' ``load`` (torch's or
    numpy's); ModelFileError where the file is damaged."""
    try:
        return load(Path(path).read_bytes())
    except Exception as e:  # safetensors raises its own error type for damaged files
        raise ModelFileError(f"{path}: damaged model file ({str(e).splitlines()[0]})") from None


def _refuse_damaged(path: str, header: dict, raw: dict[str, bytes], broken: list[str]
                    ) -> None:
    """ModelFileError where ``broken`` names tensors holding values that are not finite, or
    where the tensors' bytes ({name: bytes}) do not match the header's checksum (where it has
    one)."""
    if broken:
        raise ModelFileError(f"{path}: damaged model file (tensor {broken[0]} holds values "
                             "that are not finite)")
    expected = header.get("weights_sha256")
    if expected is not None and weights_digest(raw) != expected:
        raise ModelFileError(f"{path}: damaged model file (its weights differ from those it "
                             "was written with)")


def check_weights(path: str, header: dict) -> None:
    """ModelFileError where the tensors of the model file at ``path`` (whose ``header`` was
    read by ``read_header``) are damaged, as ``read_model`` finds; numpy only, so that
    ``inspect`` needs no torch."""
    import numpy as np
    from safetensors.numpy import load

    arrays = _load_tensors(path, load)
    _refuse_damaged(path, header, {n: a.tobytes() for n, a in arrays.items()},
                    [n for n, a in arrays.items()
                     if a.dtype.kind == "f" and not np.isfinite(a).all()])


def read_header(path: str) -> tuple[dict, dict[str, tuple[int, ...]]]:
    """(header, {tensor name: shape}) of a model file, read without its tensor bytes and without
    torch; ModelFileError unless the file is a model file whose header agrees with its tensors.
    """
    p = Path(path)
    if not path:  # (Path('') is the working directory: not 'a directory' to the user)
        raise ModelFileError("model file name is empty: name the model file")
    if not p.exists():
        if path == "-":
            raise ModelFileError("a model file cannot be read from stdin ('-'): name the file")
        raise ModelFileError(f"model file {path!r} does not exist")
    if p.is_dir():
        raise ModelFileError(f"model file {path!r} is a directory")
    if not p.is_file():  # a pipe (<(cat m.safetensors), /dev/stdin), a FIFO, a device
        raise ModelFileError(f"model file {path!r} is not a regular file (a pipe or a "
                             "device?): give the path of the saved file")
    with p.open("rb") as handle:
        start = handle.read(8)
        if len(start) < 8:
            raise ModelFileError(_not_ours(path))
        (size,) = struct.unpack("<Q", start)
        body = os.fstat(handle.fileno()).st_size - 8 - size
        if size > _MAX_HEADER or body < 0:
            raise ModelFileError(_not_ours(path))
        outer, header = _header(path, handle.read(size))
    shapes = _tensor_layout(path, outer, body)
    check_header(path, header, shapes)
    return header, shapes


def _not_ours(path: str) -> str:
    return f"{path}: not a lassonet model file (write one with lassonet select --model-out)"


def _header(path: str, raw: bytes) -> tuple[dict, dict]:
    """(safetensors header, lassonet header) from the JSON bytes after the length."""
    try:
        outer = json.loads(raw.decode("utf-8"))
        header = json.loads(outer["__metadata__"]["lassonet"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
        raise ModelFileError(_not_ours(path)) from None  # (nesting too deep: not ours either)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(_not_ours(path))
    version = header.get("format_version")
    if not _is_count(version) or version != FORMAT_VERSION:  # (true == 1 in JSON's Python)
        raise ModelFileError(
            f"{path}: model format version {version if _is_count(version) else repr(version)}"
            f" (written by lassonet "
            f"{header.get('package_version', '?')}) cannot be read by lassonet {__version__}, "
            f"which reads version {FORMAT_VERSION}; retrain the model with this version"
        )
    return outer, header


# bytes per element of the safetensors dtypes a model's weights may have
_FLOAT_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}


def _tensor_layout(path: str, outer: dict, body: int) -> dict[str, tuple[int, ...]]:
    """{name: shape} of the tensors in a safetensors header whose entries tile the ``body``
    bytes after the header exactly (as safetensors requires); ModelFileError otherwise."""
    shapes: dict[str, tuple[int, ...]] = {}
    spans = []
    for name, entry in outer.items():
        if name == "__metadata__":
            continue
        entry = entry if isinstance(entry, dict) else {}
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if not (_is_text(entry.get("dtype")) and entry["dtype"] in _FLOAT_BYTES and _is_shape(shape)
                and isinstance(offsets, list) and len(offsets) == 2
                and all(_is_count(v) for v in offsets)):
            raise ModelFileError(f"{path}: damaged model file (tensor {name!r} has no valid "
                                 "float dtype, shape and byte span)")
        if offsets[1] - offsets[0] != math.prod(shape) * _FLOAT_BYTES[entry["dtype"]]:
            raise ModelFileError(f"{path}: damaged model file (tensor {name!r} has "
                                 f"{offsets[1] - offsets[0]} bytes for shape {_shape(shape)})")
        shapes[name] = tuple(shape)
        spans.append(offsets)
    end = 0
    for begin, stop in sorted(spans):
        if begin != end:
            raise ModelFileError(f"{path}: damaged model file (the tensors' bytes overlap or "
                                 "leave gaps)")
        end = stop
    if end != body:
        raise ModelFileError(f"{path}: damaged model file (the tensors take {end} bytes, the "
                             f"file holds {body})")
    return shapes


def tensor_shapes(
    spec: BackboneSpec,
    n_inputs: int,
    n_outputs: int,
    dropout: float,
    image_shape: tuple[int, int, int] | None = None,
) -> dict[str, tuple[int, ...]]:
    """{name: shape} of the state dict of ``model.build_model(spec, n_inputs, n_outputs,
    dropout, image_shape=image_shape)``, computed without building it.

    The names follow the modules: ``skip`` (``model.LassoNet``, ``model.ConvLassoNet``) and the
    backbone's layers (``backbones``), whose ``rest`` is a ``Sequential`` of ReLU, Dropout when
    ``dropout > 0``, and Linear per hidden layer (mlp), or of ReLU, pooling, Flatten, Dropout
    when ``dropout > 0``, and Linear (conv).  ``tests/test_modelfile.py`` compares the two.
    """
    d, c = n_inputs, n_outputs
    if spec.kind == "linear":
        return {"skip.weight": (c, d), "backbone.bias": (c,)}
    if spec.kind == "conv":
        C, H, W = image_shape
        (C1, C2), k = spec.hidden, spec.kernel
        rows, columns = head_grid(H, W)
        head = 4 if dropout > 0 else 3
        return {
            "backbone.conv1.weight": (C1, C, k, k),
            "backbone.conv1.bias": (C1,),
            "backbone.constrained_layer.weight": (C2, C1, k, k),
            "backbone.constrained_layer.bias": (C2,),
            f"backbone.rest.{head}.weight": (c, C2 * rows * columns),
            f"backbone.rest.{head}.bias": (c,),
            "skip.weight": (c, C1 * H * W),
        }
    sizes = [*spec.hidden, c]
    shapes = {
        "skip.weight": (c, d),
        "backbone.input_layer.weight": (sizes[0], d),
        "backbone.input_layer.bias": (sizes[0],),
    }
    step = 3 if dropout > 0 else 2
    for i in range(len(spec.hidden)):
        linear = f"backbone.rest.{i * step + step - 1}"
        shapes[f"{linear}.weight"] = (sizes[i + 1], sizes[i])
        shapes[f"{linear}.bias"] = (sizes[i + 1],)
    return shapes


def check_header(path: str, header: dict, shapes: dict[str, tuple[int, ...]]) -> None:
    """ModelFileError unless the lassonet header is well formed (the fields ``inspect`` shows
    and those ``tensor_shapes`` needs) and names exactly the tensors ``shapes`` of the file.

    ``load_selector`` checks the rest (the encoder's codes, the fitted task's statistics)
    when it rebuilds the model.
    """

    def bad(reason: str) -> ModelFileError:
        return ModelFileError(f"{path}: inconsistent model file ({reason})")

    absent = [key for key in _REQUIRED if key not in header]
    if absent:
        raise bad(f"no {', '.join(repr(k) for k in absent)} field")
    for key, kind in _REQUIRED.items():
        if not kind(header[key]):
            raise bad(f"{key!r} is {_text(header[key], 40)}, not {_KIND_NAMES[kind]}")
    point = header["point"]
    for key, kind in _POINT.items():
        if not kind(point.get(key)):
            raise bad(f"point {key!r} is {_text(point.get(key), 40)}, not {_KIND_NAMES[kind]}")
    if point.get("cv_folds") and not _is_number(point.get("val_score_se")):
        raise bad("a cross-validated point without a numeric val_score_se")
    if not (header.get("id_column") is None or _is_text(header["id_column"])):
        raise bad(f"'id_column' is {_text(header['id_column'], 40)}, not text")
    params = header.get("params", {})
    if not (isinstance(params, dict) and set(params) <= set(TRAINING_PARAMETERS)):
        raise bad(f"'params' is {_text(params, 60)}, not a mapping of training parameters")
    if not isinstance(header.get("named_inputs", True), bool):
        raise bad(f"'named_inputs' is {_text(header['named_inputs'], 40)}, not true or false")
    digest = header.get("weights_sha256")
    if not (digest is None or (_is_text(digest) and re.fullmatch("[0-9a-f]{64}", digest))):
        raise bad(f"'weights_sha256' is {_text(digest, 40)}, not 64 hexadecimal digits")
    importances, selected = header["importances"], header["selected"]
    if not all(v is None or (_is_number(v) and v >= 0) for v in importances.values()):
        raise bad("an importance is not a number >= 0")
    if set(header["ranking"]) != set(importances) or not set(selected) <= set(importances):
        raise bad("ranking or selected disagree with the importances")
    for key in ("ranking", "selected"):
        if len(set(header[key])) != len(header[key]):
            raise bad(f"{key!r} names a unit twice")
    if not header["M"] > 0:
        raise bad(f"M {header['M']} is not positive")

    task = header["task"]
    try:
        n_outputs = _task_outputs(task)
    except ValueError as e:
        raise bad(str(e)) from None
    if n_outputs != header["n_outputs"]:
        raise bad(f"the {task['name']} task has {n_outputs} output(s), n_outputs says "
                  f"{header['n_outputs']}")
    encoder = header["encoder"]
    if not (_is_names(encoder.get("columns")) and _is_numbers(encoder.get("mean"))
            and _is_numbers(encoder.get("scale"))
            and len(encoder["mean"]) == len(encoder["scale"])):
        raise bad("the encoder needs lists columns, mean and scale (one per model input)")
    if not all(v >= sys.float_info.min for v in encoder["scale"]):
        raise bad("an encoder scale is not a positive number")
    reason = _task_statistics_fault(task)
    if reason:
        raise bad(reason)
    if len(encoder["columns"]) != header["n_inputs"]:
        raise bad(f"{len(encoder['columns'])} encoder column(s), n_inputs says "
                  f"{header['n_inputs']}")
    reason = _codes_fault(encoder) or _outputs_fault(task, encoder["columns"])
    if reason:
        raise bad(reason)
    try:
        input_columns(header, encoder["columns"])
    except ValueError as e:
        raise bad(str(e)) from None
    if not 0 <= header["dropout"] < 1:
        raise bad(f"dropout {header['dropout']} is not in [0, 1)")
    try:
        spec = BackboneSpec.parse(header["backbone"])
    except ConfigError:
        raise bad(f"backbone {_text(header['backbone'], 40)} is none that lassonet builds "
                  "(linear, mlp:H1,H2,... or conv:C1,C2:kK)") from None
    shape = header.get("image_shape")
    if shape is not None:
        if not (_is_shape(shape) and len(shape) == 3 and all(shape)):
            raise bad(f"image_shape {_text(shape, 40)} is not three positive integers")
        shape = tuple(shape)
    if spec.selects_filters and shape is None:
        raise bad(f"backbone {spec} needs the image shape, and image_shape is absent")
    if shape is not None and not spec.selects_filters:
        raise bad(f"image_shape is only for a conv backbone, not {spec}")
    d = len(encoder["mean"])
    if shape is not None and math.prod(shape) != d:
        raise bad(f"image_shape {_shape(shape)} needs {math.prod(shape)} feature columns, the "
                  f"encoder has {d}")
    expected = tensor_shapes(spec, d, n_outputs, header["dropout"], shape)
    if set(expected) != set(shapes):
        missing, extra = sorted(set(expected) - set(shapes)), sorted(set(shapes) - set(expected))
        raise bad(f"backbone {spec} has no tensor(s) {', '.join(extra)}" if extra else
                  f"backbone {spec} needs tensor(s) {', '.join(missing)}")
    for name, want in expected.items():
        if shapes[name] != want:
            raise bad(f"tensor {name} is {_shape(shapes[name])} in the file; backbone {spec} with "
                      f"{d} input(s) and {n_outputs} output(s) needs {_shape(want)}")


def _codes_fault(encoder: dict) -> str | None:
    """What is wrong with the encoder's per-column codes (predict builds its inputs from them),
    or None: one per column, in order, each numeric (a finite number or no fill) or
    categorical (distinct text levels, a fill among them or none), with its missing-indicator
    flag, making as many model inputs as the statistics have."""
    codes = encoder.get("codes")
    if not (isinstance(codes, list) and all(isinstance(c, dict) for c in codes)):
        return "the encoder has no list of codes"
    if [c.get("name") for c in codes] != encoder["columns"]:
        return "the encoder's codes do not name its columns in order"
    inputs = 0
    for code in codes:
        kind, levels, fill = code.get("kind"), code.get("levels"), code.get("fill")
        name = _text(code["name"], 40)
        if not isinstance(code.get("indicator"), bool):
            return f"the code of {name} has no true/false indicator"
        if kind == "numeric":
            if levels != [] or not (fill is None or _is_number(fill)):
                return f"the numeric code of {name} has levels or a fill that is not a number"
        elif kind == "categorical":
            if not (_is_names(levels) and levels and len(set(levels)) == len(levels)):
                return f"the categorical code of {name} needs distinct text levels"
            if not (fill is None or fill in levels):
                return f"the categorical code of {name} fills gaps with {_text(fill, 20)}, " \
                       "none of its levels"
        else:
            return f"the code of {name} is of kind {_text(kind, 20)}, not numeric or categorical"
        inputs += (len(levels) or 1) + code["indicator"]
    if inputs != len(encoder["mean"]):
        return f"the encoder's codes make {inputs} input(s), its statistics {len(encoder['mean'])}"
    return None


def _outputs_fault(task: dict, columns: list[str]) -> str | None:
    """What is wrong with the task's list of outputs (predict names its output columns after
    them), or None: distinct labels (text, numbers or true/false) for classification, distinct
    encoder columns for reconstruction."""
    if task["name"] == "classification":
        classes = task["classes"]
        labels = all(isinstance(c, str | bool) or _is_number(c) for c in classes)
        if not labels or len({json.dumps(c) for c in classes}) != len(classes):
            return "the classification task's classes are not distinct labels"
        if len(classes) < 2:
            return "the classification task has fewer than 2 classes"
    if task["name"] == "reconstruction":
        outputs = task["columns"]
        if not _is_names(outputs) or len(set(outputs)) != len(outputs) or not set(
                outputs) <= set(columns):
            return "the reconstruction task's columns are not distinct encoder columns"
    return None


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_text(value) -> bool:
    return isinstance(value, str)


def _is_names(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_numbers(value) -> bool:
    return isinstance(value, list) and all(_is_number(v) for v in value)


def _is_shape(value) -> bool:
    return isinstance(value, list) and all(_is_count(v) for v in value)


def _is_mapping(value) -> bool:
    return isinstance(value, dict)


_KIND_NAMES = {_is_number: "a number", _is_count: "a count", _is_text: "text",
               _is_names: "a list of names", _is_mapping: "a mapping"}

# the header fields every model file has, and what each holds (``check_header``)
_REQUIRED = {
    "package_version": _is_text, "task": _is_mapping, "encoder": _is_mapping,
    "backbone": _is_text, "dropout": _is_number, "n_inputs": _is_count, "n_outputs": _is_count,
    "lambda": _is_number, "M": _is_number, "selected": _is_names, "importances": _is_mapping,
    "ranking": _is_names, "point": _is_mapping,
}
_POINT = {"index": _is_count, "k": _is_count, "val_score": _is_number, "score_name": _is_text}

# the tasks a model file may hold (``tasks.TASKS``), and where their entry lists the network's
# outputs (``n_outputs``): None for one output
_TASK_OUTPUT_LIST = {"regression": None, "classification": "classes", "cox": None,
                     "reconstruction": "columns"}


def _task_outputs(task: dict) -> int:
    """The network's output size for a header's task entry; ValueError with the reason for an
    unknown task or one without its list of outputs."""
    name = task.get("name")
    if not (isinstance(name, str) and name in _TASK_OUTPUT_LIST):
        raise ValueError(f"unknown task {_text(name, 40)}: a lassonet model file holds one of "
                         f"{', '.join(_TASK_OUTPUT_LIST)}")
    key = _TASK_OUTPUT_LIST[name]
    if key is None:
        return 1
    if not isinstance(task.get(key), list):
        raise ValueError(f"the {name} task has no list of {key}")
    return len(task[key])


def _task_statistics_fault(task: dict) -> str | None:
    """What is wrong with a regression or reconstruction task's target statistics (the mean
    and scale that turn outputs back into the target's units), or None."""
    mean, scale = task.get("mean"), task.get("scale")
    if task["name"] == "regression":
        if _is_number(mean) and _is_number(scale) and scale >= sys.float_info.min:
            return None
        return (f"the regression task's mean {_text(mean, 20)} and scale {_text(scale, 20)} "
                "are not a finite number and a positive one")
    if task["name"] == "reconstruction":
        if not (_is_numbers(mean) and _is_numbers(scale)
                and len(mean) == len(scale) == len(task["columns"])):
            return "the reconstruction task needs a finite mean and scale per column"
        if not all(v >= sys.float_info.min for v in scale):
            return "a reconstruction scale is not a positive number"
    return None


def _plain(value):
    """A parameter's value as JSON holds it (numpy numbers as Python's, tuples as lists)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def _shape(value) -> str:
    """A shape (a list of counts) in a message: 3x4."""
    return "x".join(str(v) for v in value)


def _text(value, limit: int = 80) -> str:
    """A short text for a header value in a message, as JSON."""
    text = json.dumps(value) if not isinstance(value, tuple) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def input_columns(header: dict, columns: list[str]) -> tuple[list[str], dict[str, str]]:
    """The columns a model file was fitted on, and those set aside ({column: reason}).

    Files written before columns were set aside name only the model's columns (``encoder``).
    """
    inputs = header.get("input_columns", columns)
    aside = header.get("set_aside") or {}
    if not (isinstance(inputs, list) and isinstance(aside, dict)
            and all(isinstance(c, str) for c in [*inputs, *aside, *aside.values()])):
        raise ValueError("input_columns or set_aside has the wrong type")
    if len(set(inputs)) != len(inputs) or set(inputs) != set(columns) | set(aside) \
            or set(columns) & set(aside):
        raise ValueError("input_columns disagree with the encoder's columns and set_aside")
    return inputs, {c: aside[c] for c in inputs if c in aside}


def load_selector(cls, path: str):
    """A fitted ``cls`` (``estimator.Selector`` or a subclass) from the model file at ``path``,
    for predicting, selecting and inspecting; its ``path_`` (not stored) is None."""
    import numpy as np

    from . import defaults
    from .encoding import Encoder
    from .model import build_model
    from .tasks import task_from_dict
    from .units import Units

    # the header's fields, and their agreement with the tensors' shapes, are checked
    # before anything is built (``modelfile.check_header``)
    header, tensors = read_model(path)
    try:
        columns = list(header["encoder"]["columns"])
        shape = header.get("image_shape")
        # M is bounded for training (``defaults.MAX_M``); a model trained with a larger M
        # before the bound loads with its own, which predicting does not read
        M = header["M"]
        sel = cls(
            task=header["task"]["name"], backbone=header["backbone"], M=min(M, defaults.MAX_M),
            dropout=header["dropout"], image_shape=tuple(shape) if shape else None,
        )
        sel.task_ = task_from_dict(header["task"])
        sel.ties = getattr(sel.task_, "ties", sel.ties)
        sel.encoder_ = Encoder.from_dict(header["encoder"])
        if sel.encoder_.columns != columns:
            raise ValueError("encoder columns disagree")
        sel.groups = header.get("groups")
        for name, value in header.get("params", {}).items():  # (checked by validate, below)
            setattr(sel, name, value)
        # a conv backbone needs an image shape, the others none
        options = sel.options_ = dataclasses.replace(sel.validate(), M=M)
        sel.M = M
        spec = options.backbone
        d, c = len(sel.encoder_.input_names), sel.task_.n_outputs
        if spec.selects_filters:
            sel.units_ = Units.filters(spec.hidden[0])
        else:
            sel.units_ = Units.of(columns, sel.groups)
        model = build_model(spec, d, c, float(header["dropout"]),
                            sel.units_.layout(sel.encoder_), options.image_shape)
        model.load_state_dict(tensors, strict=True)
        inputs, sel.set_aside_ = input_columns(header, columns)
        importances = header["importances"]
        # importances, selection and ranking are over the units: columns, or filters
        unit_columns = inputs if sel.units_.of_column is not None else sel.units_.names
        sel.feature_importances_ = np.asarray(
            [np.inf if importances[n] is None else importances[n] for n in unit_columns]
        )
        sel.ranking_ = np.asarray(header["ranking"], dtype=object)
        selected = set(header["selected"])
        if sel.units_.of_column is None:
            sel.unit_support_ = np.asarray([n in selected for n in sel.units_.names])
            sel.support_ = np.ones(len(inputs), dtype=bool)
        else:
            sel.support_ = np.asarray([n in selected for n in inputs])
    except (KeyError, TypeError, ValueError, RuntimeError, ConfigError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelFileError(f"{path}: inconsistent model file ({message})") from None
    model.eval()
    sel.model_ = model
    sel.header_ = header
    sel.path_ = None
    sel.input_columns_ = np.asarray(inputs, dtype=object)
    if header.get("named_inputs", True):
        sel.feature_names_in_ = sel.input_columns_
    sel.n_features_in_ = len(inputs)
    return sel
