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

input_columns, set_aside and point's cv_folds and val_score_se were added within format version
1 as optional fields: files without them load as before, and readers that predate them ignore
them.  Nothing is ever unpickled: tensors are read by safetensors, the header by ``json``.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

from . import __version__
from .errors import ModelFileError

FORMAT = "lassonet-model"
FORMAT_VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024


def save_model(path: str, estimator) -> None:
    """Write a fitted ``LassoNetSelector`` to ``path`` atomically."""
    from safetensors.torch import save

    from .io import atomic_output

    header = model_header(estimator)
    tensors = {
        name: tensor.detach().cpu().contiguous()
        for name, tensor in estimator.model_.state_dict().items()
    }
    data = save(tensors, metadata={"lassonet": json.dumps(header, sort_keys=True)})
    with atomic_output(path) as handle:
        handle.write(data)


def model_header(estimator) -> dict:
    """The JSON header describing a fitted estimator."""
    point = estimator.chosen_point_
    columns = list(estimator.encoder_.columns)
    inputs = list(estimator.feature_names_in_)
    units, chosen = inputs, estimator.get_support()
    shape = estimator._image_shape()
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
        "backbone": str(estimator.backbone_spec_),
        "dropout": float(estimator.dropout),
        "n_inputs": len(columns),
        "n_outputs": int(estimator.task_.n_outputs),
        "lambda": float(point.lambda_),
        "M": float(estimator.resolved_M),
        "image_shape": list(shape) if shape is not None else None,
        "selected": [c for c, keep in zip(units, chosen, strict=True) if keep],
        "importances": {
            c: _finite_or_none(v)
            for c, v in zip(units, estimator.feature_importances_, strict=True)
        },
        "ranking": [str(c) for c in estimator.ranking_],
        "groups": dict(estimator.groups) if estimator.groups else None,
        "point": {
            "index": int(estimator.chosen_),
            "k": int(point.k),
            "val_score": float(point.val_score),
            "score_name": estimator.path_.score_name,
            "cv_folds": estimator.cv_folds_,
            **({"val_score_se": float(point.val_score_se)} if estimator.cv_folds_ else {}),
        },
    }


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def read_model(path: str) -> tuple[dict, dict]:
    """(header, tensors) of a model file; ModelFileError for anything that is not one."""
    from safetensors.torch import load

    p = Path(path)
    if not p.exists():
        raise ModelFileError(f"model file {path!r} does not exist")
    if p.is_dir():
        raise ModelFileError(f"model file {path!r} is a directory")
    data = p.read_bytes()
    header = _header(path, data)
    try:
        tensors = load(data)
    except Exception as e:  # safetensors raises its own error type for damaged files
        raise ModelFileError(f"{path}: damaged model file ({str(e).splitlines()[0]})") from None
    return header, tensors


def _header(path: str, data: bytes) -> dict:
    not_ours = f"{path}: not a lassonet model file (write one with lassonet select --model-out)"
    if len(data) < 8:
        raise ModelFileError(not_ours)
    (size,) = struct.unpack("<Q", data[:8])
    if size > min(_MAX_HEADER, len(data) - 8):
        raise ModelFileError(not_ours)
    try:
        outer = json.loads(data[8 : 8 + size].decode("utf-8"))
        header = json.loads(outer["__metadata__"]["lassonet"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise ModelFileError(not_ours) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(not_ours)
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} (written by lassonet "
            f"{header.get('package_version', '?')}) cannot be read by lassonet {__version__}, "
            f"which reads version {FORMAT_VERSION}; retrain the model with this version"
        )
    return header
