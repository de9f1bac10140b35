"""The options of one selection, checked once, with every automatic value resolved here.

``select``, ``path`` and ``LassoNetSelector`` all build an ``Options`` (``Options.check``) from
the same parameters, the estimator's, before any data are read; the command line turns its flags
into those parameters and nothing else.  What can only be known from the table (the task when it
is 'auto', the categorical columns, a groups file naming its columns) is added with
``with_table``, which checks only what those change.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from . import defaults
from .backbone_spec import (
    BackboneSpec,
    check_fits_memory,
    check_image_columns,
    parse_image_shape,
)
from .errors import ConfigError, DataError
from .pathconfig import PathConfig, default_batch_size
from .tasks import TASKS, TIES

# the parameters of ``estimator.Selector``, in its order: what ``Options.check`` reads
PARAMETERS = (
    "task", "backbone", "M", "dropout", "lambda_start", "path_multiplier", "max_epochs",
    "patience", "optimizer", "lr", "batch_size", "relax", "val_fraction", "rule", "k", "cv",
    "missing", "categorical", "groups", "max_levels", "seed", "device", "ties", "image_shape",
)


@dataclass(frozen=True)
class Options:
    """Checked options of a selection.

    ``backbone`` is parsed, ``image_shape`` a (C, H, W) tuple or None, ``M`` and
    ``lambda_start`` resolved (None: found from the data), ``cv`` a fold count, None (one
    validation split) or 'auto' (``cv_folds`` decides by the rows), ``device`` a torch device.
    The rest are the estimator's parameters as given.
    """

    task: str
    backbone: BackboneSpec
    M: float
    dropout: float
    lambda_start: float | None
    path_multiplier: float
    max_epochs: int | None
    patience: int
    optimizer: str
    lr: float | None
    batch_size: int | None
    relax: bool
    val_fraction: float
    rule: str
    k: int | None
    cv: int | str | None
    missing: str
    categorical: tuple[str, ...]
    groups: Mapping[str, str] | None
    max_levels: int
    seed: int
    device: torch.device
    ties: str
    image_shape: tuple[int, int, int] | None
    # several values of M given: each one's path is scored and the best kept (M is the first)
    M_grid: tuple[float, ...] | None = None

    @classmethod
    def check(cls, params: Mapping[str, object]) -> Options:
        """The options of ``params`` (a Selector's parameters, ``PARAMETERS``), checked;
        raises ConfigError naming the first wrong one."""
        p = dict(params)
        _check_types(p)
        task = p["task"]
        if task != "auto" and task not in TASKS:
            raise ConfigError(lambda s: f"unknown {s('task')} {task!r}: use auto or one of "
                                        f"{', '.join(TASKS)}")
        seed = p["seed"]
        if not (is_int(seed) and 0 <= seed <= defaults.MAX_SEED):
            raise ConfigError(lambda s: f"{s('seed')} must be an integer from 0 to "
                                        f"{defaults.MAX_SEED}, got {seed!r}")
        spec = BackboneSpec.parse(p["backbone"])
        M, grid = _M_grid(p["M"])
        M = M if M is not None else defaults.default_M(spec.selects_filters)
        options = cls(
            task=task, backbone=spec, M=M, dropout=p["dropout"],
            lambda_start=_lambda_start(p["lambda_start"]),
            path_multiplier=p["path_multiplier"], max_epochs=p["max_epochs"],
            patience=p["patience"], optimizer=p["optimizer"], lr=p["lr"],
            batch_size=p["batch_size"], relax=p["relax"], val_fraction=p["val_fraction"],
            rule=p["rule"], k=p["k"], cv=_cv(p["cv"]), missing=p["missing"],
            categorical=tuple(p["categorical"] or ()), groups=_groups(p["groups"]),
            max_levels=p["max_levels"], seed=int(seed), device=torch.device("cpu"),
            ties=p["ties"], image_shape=_image_shape(p["image_shape"]), M_grid=grid,
        )
        for value in grid or (M,):
            dataclasses.replace(options, M=value).path_config().validate()
        if not 0 <= options.dropout < 1:
            raise ConfigError(lambda s: f"{s('dropout')} must be in [0, 1), got "
                                        f"{options.dropout}")
        if not 0 < options.val_fraction < 1:
            raise ConfigError(lambda s: f"{s('val_fraction')} must be between 0 and 1, got "
                                        f"{options.val_fraction}")
        if options.k is not None and options.k < 1:
            raise ConfigError(lambda s: f"{s('k')} must be at least 1, got {options.k}")
        if options.rule not in ("best", "1se"):
            raise ConfigError(f"unknown rule {options.rule!r}: use best or 1se")
        if options.rule == "1se" and not is_int(options.cv):
            raise ConfigError(lambda s: f"the 1se rule needs cross-validation: add {s('cv', 'K')}")
        if not (is_int(options.max_levels) and options.max_levels >= 1):
            raise ConfigError(lambda s: f"{s('max_levels')} must be at least 1, got "
                                        f"{options.max_levels!r}")
        if options.missing not in ("error", "impute"):
            raise ConfigError(lambda s: f"{s('missing')} must be error or impute, got "
                                        f"{options.missing!r}")
        if options.ties not in TIES:
            raise ConfigError(lambda s: f"{s('ties')} must be efron or breslow, got "
                                        f"{options.ties!r}")
        if options.task != "auto":
            _check_ties(options.task, options.ties)
        options._check_backbone()
        return dataclasses.replace(options, device=_device(p["device"]))

    def _check_backbone(self) -> None:
        """A conv backbone needs an image shape, no groups and a supervised task; the others
        take no image shape."""
        spec, shape = self.backbone, self.image_shape
        if spec.selects_filters:
            if shape is None:
                raise ConfigError(lambda s: f"{s('backbone', str(spec))} needs the image shape: "
                                  f"add {s('image_shape', 'CxHxW')} (e.g. 1x32x32 for 32 x 32 "
                                  "greyscale pixels)")
            if self.groups:
                raise ConfigError(lambda s: f"{s('groups')} cannot be combined with a conv "
                                  "backbone: its units are conv1's filters")
            _check_image_task(self.task)
        elif shape is not None:
            raise ConfigError(lambda s: f"{s('image_shape')} is only for a conv backbone "
                              f"({s('backbone', 'conv:C1,C2')}), not {spec}")

    def with_table(self, task: str, categorical: list[str],
                   groups: Mapping[str, str] | None) -> Options:
        """These options once the table is read: its task (resolved from 'auto'), its
        categorical columns and the groups of its columns; checks what they change."""
        options = dataclasses.replace(self, task=task, categorical=tuple(categorical),
                                      groups=groups)
        options._check_backbone()
        return options

    def params(self) -> dict[str, object]:
        """The estimator parameters (``PARAMETERS``) that give these options."""
        values = {name: getattr(self, name) for name in PARAMETERS}
        values.update(M=list(self.M_grid) if self.M_grid else self.M,
                      backbone=str(self.backbone), device=self.device.type,
                      categorical=list(self.categorical) or None,
                      groups=dict(self.groups) if self.groups is not None else None)
        return values

    @property
    def selects_filters(self) -> bool:
        """Whether the units are conv1's filters rather than columns (their defaults differ)."""
        return self.backbone.selects_filters

    def ranked_units(self, columns: list[str]):
        """The ``units.Units`` that the path selects for these feature columns, and that k
        counts (``lassonet path``, ``--k``): conv1's filters, or the columns, those of a
        user-given group together as one unit."""
        from .units import Units

        if self.selects_filters:
            return Units.filters(self.backbone.hidden[0])
        groups = {c: g for c, g in (self.groups or {}).items() if c in columns}
        return Units.of(columns, groups)

    def path_config(self) -> PathConfig:
        """The path driver's options."""
        return PathConfig(
            M=self.M,
            lambda_start=self.lambda_start,
            path_multiplier=self.path_multiplier,
            max_epochs=self.max_epochs,
            patience=self.patience,
            optimizer=self.optimizer,
            lr=self.lr,
            batch_size=self.batch_size,
            relax=self.relax,
            relax_patience=defaults.relax_patience(self.selects_filters),
            exit_window=defaults.exit_window(self.selects_filters),
            settle_rounds=defaults.settle_rounds(self.task, self.selects_filters),
        )

    def cv_folds(self, n_rows: int) -> int | None:
        """The folds that score the path points of a fit on ``n_rows`` rows (None: the one
        validation split)."""
        if self.cv == "auto":
            return defaults.auto_cv_folds(n_rows)
        return self.cv

    def check_columns(self, columns: list[str], task: str, categorical: list[str],
                      gappy: list[str], n_rows: int) -> None:
        """Before training: refuse feature columns a conv backbone cannot read as images, an
        MLP too large for this machine's memory, and ties other than the default for a task
        found (from 'auto') to be no cox task.

        ``columns``: the feature columns; ``task``: the task resolved; ``categorical``,
        ``gappy``: those to one-hot encode and those with gaps; ``n_rows``: the table's rows.
        """
        _check_ties(task, self.ties)
        if self.image_shape is None:
            batch = self.batch_size if self.batch_size is not None else default_batch_size(n_rows)
            check_fits_memory(self.backbone, len(columns), 1, min(batch or n_rows, n_rows))
            return
        _check_image_task(task)
        if categorical:
            # (not "drop them": the image shape counts every pixel)
            raise DataError(f"a conv backbone reads numeric pixels; column(s) "
                            f"{', '.join(categorical[:5])} hold text or categories: give every "
                            "pixel of the image as a number")
        if gappy:
            raise DataError(f"a conv backbone needs every pixel; column(s) "
                            f"{', '.join(gappy[:5])} have gaps or infinite values")
        check_image_columns(self.image_shape, len(columns))


# what each parameter holds, checked before any comparison (a string "0.1" or None where a
# number belongs raised TypeErrors deep in the checks or in training): a number (int or
# float), an integer, text, a boolean; "?" after a kind: None is allowed too
_KINDS = {
    "dropout": "number", "path_multiplier": "number", "val_fraction": "number", "lr": "number?",
    "max_epochs": "integer?", "patience": "integer", "batch_size": "integer?", "k": "integer?",
    "max_levels": "integer", "task": "text", "backbone": "text", "optimizer": "text",
    "rule": "text", "missing": "text", "ties": "text", "relax": "boolean",
}


def _check_types(p: Mapping[str, object]) -> None:
    """ConfigError naming the first parameter whose value is not of its kind (``_KINDS``),
    and for ``categorical`` (a list of names) and ``groups`` (a mapping)."""
    tests = {"number": lambda v: is_real(v) and math.isfinite(v),
             "integer": is_int, "text": lambda v: isinstance(v, str),
             "boolean": lambda v: isinstance(v, bool | np.bool_)}
    for name, kind in _KINDS.items():
        value, optional = p[name], kind.endswith("?")
        if not ((optional and value is None) or tests[kind.rstrip("?")](value)):
            wanted = {"number": "a finite number", "integer": "an integer", "text": "text",
                      "boolean": "True or False"}[kind.rstrip("?")]
            # (None is how Python leaves an option out; the command line leaves it out)
            raise ConfigError(lambda s, name=name, wanted=wanted, value=value, optional=optional: (
                f"{s(name)} must be {wanted}{' or None' if optional and not s.cli else ''}, "
                f"got {value!r}"))
    categorical = p["categorical"]
    if categorical is not None and (isinstance(categorical, str)
                                    or not isinstance(categorical, list | tuple)):
        raise ConfigError(lambda s: f"{s('categorical')} must be a list of column names, got "
                                    f"{categorical!r}")
    if p["groups"] is not None and not isinstance(p["groups"], Mapping):
        raise ConfigError(lambda s: f"{s('groups')} must be a mapping {{column: group}}, got "
                                    f"{p['groups']!r}")


def _groups(groups: Mapping | None) -> dict[str, str] | None:
    """``groups`` with every group name as text, as a groups file gives them (a k-means'
    numpy labels, or ints beside the columns' own names, are sortable names); ConfigError
    for a missing or empty name, which would merge its columns into one group ''."""
    if groups is None:
        return None
    named = {}
    for column, group in groups.items():
        if (pd.api.types.is_scalar(group) and pd.isna(group)) or not str(group).strip():
            raise ConfigError(lambda s, column=column, group=group: (
                f"{s('groups')} gives column {column!r} no group name (got {group!r}): name "
                "its group, or leave the column out to keep it ungrouped"))
        named[column] = str(group)
    return named


def _M_grid(value) -> tuple[float | None, tuple[float, ...] | None]:
    """(M, the grid) of the M parameter: a number, None, or a list, tuple or 1-D array of
    numbers (a grid when it has two or more)."""
    if isinstance(value, np.ndarray):
        if value.ndim > 1:
            raise ConfigError(lambda s: f"{s('M')} must be a number or a list of numbers, got "
                                        f"an array of shape {value.shape}")
        value = value.tolist()  # (a 0-d array: its number)
    if not isinstance(value, (list, tuple)):
        if value is not None and not is_real(value):
            raise ConfigError(lambda s: f"{s('M')} must be a number or a list of numbers, got "
                                        f"{value!r}")
        return value, None
    if not value:
        raise ConfigError(lambda s: f"{s('M')} is an empty list: give one value or several")
    if not all(is_real(v) for v in value):
        raise ConfigError(lambda s: f"{s('M')} must be numbers, got {list(value)!r}")
    values = tuple(float(v) for v in value)
    if len(set(values)) != len(values):
        raise ConfigError(lambda s: f"{s('M')} lists a value twice: {list(values)!r}")
    return values[0], (values if len(values) > 1 else None)


def is_int(value) -> bool:
    """An integer (Python's or numpy's), not a boolean."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def is_real(value) -> bool:
    """A real number (an integer or a float, Python's or numpy's, inf and nan included), not a
    boolean."""
    return (isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool | np.bool_))


def _lambda_start(value) -> float | None:
    """``lambda_start`` as the path takes it: None for 'auto' (or None), else the number."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(lambda s: f"{s('lambda_start')} must be 'auto' or a finite number "
                                    f"> 0, got {value!r}")
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(lambda s: f"{s('lambda_start')} must be 'auto' or a finite number "
                                    f"> 0, got {value}")
    return value


def _cv(cv) -> int | str | None:
    """``cv`` as a fold count, 'auto', or None for the validation split (also 0); raises
    ConfigError for anything else."""
    if isinstance(cv, str) and cv == "auto":
        return "auto"
    if cv is None or (is_int(cv) and cv == 0):
        return None
    if not is_int(cv) or cv < 2:
        raise ConfigError(lambda s: f"{s('cv')} needs at least 2 folds, or 0 for one "
                          f"validation split; got {cv!r}")
    return int(cv)


def _image_shape(value) -> tuple[int, int, int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_image_shape(value)
    return parse_image_shape("x".join(str(v) for v in value))


def _check_ties(task: str, ties: str) -> None:
    """ConfigError for ties other than the default outside the cox task (the command line
    refuses --ties itself there)."""
    if ties != "efron" and task != "cox":
        raise ConfigError(lambda s: f"{s('ties', ties)} applies to the cox task only, not "
                                    f"{s('task', task)}")


def _check_image_task(task: str) -> None:
    if task in ("cox", "reconstruction"):
        raise ConfigError(lambda s: f"a conv backbone supports classification and "
                          f"regression, not {s('task', task)}")


def _device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(lambda s: f"{s('device', 'cuda')}: no CUDA device is available; use "
                          f"{s('device', 'cpu')}")
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ConfigError(lambda s: f"{s('device', 'mps')}: no MPS device is available; use "
                          f"{s('device', 'cpu')}")
    if name not in ("cpu", "cuda", "mps"):
        raise ConfigError(lambda s: f"unknown {s('device')} {name!r}: use auto, cpu, cuda or mps")
    return torch.device(name)
