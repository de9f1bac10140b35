"""From the Python API's (X, y) to a path ready to run, and from the trained path back to the
input columns: the steps of one selection between its options and its estimator.

``prepare_table`` resolves the task and target, tells the columns' kinds, checks them against
the options and sets aside the columns that carry nothing (``checks.constant_columns``);
``checked_table`` is the same ``Table`` from a table the command line has checked already
(``checks.check_table``), so that ``select`` checks its columns once.
``set_up_path`` splits the rows, fits the encoder on the training rows and builds the
``PathRun``.  ``column_results`` turns the path's per-unit ranking into per-column ranking,
support and importances, the set-aside columns last.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .checks import (
    NothingToSelect,
    Prepared,
    check_column_kind,
    constant_columns,
    is_nested,
    refuse_all_constant,
)
from .columns import (
    categorical_columns,
    gappy_columns,
    refuse_level_per_row,
    too_many_levels,
    without,
)
from .encoding import Encoder, fit_encoder
from .errors import DataError
from .inputs import as_frame
from .options import Options
from .path import PathRun
from .pathresult import Path, elimination_lambdas, ranking
from .splits import split_task_rows
from .targets import check_events_to_fit, check_reconstruction, task_target
from .tasks import make_task
from .units import Units


@dataclasses.dataclass
class Table:
    """The input table, checked: ``frame`` holds the feature columns the path trains on."""

    task_name: str
    frame: pd.DataFrame
    target: np.ndarray
    inputs: list[str]  # every input feature column, in table order
    categorical: list[str]
    gappy: list[str]
    aside: dict[str, str]  # the columns set aside, with the reason
    named: bool  # the columns have names (strings), rather than positions


def prepare_table(options: Options, X, y) -> Table:
    """(X, y) as ``Selector.fit`` takes them, checked against ``options``; raises DataError
    or ConfigError."""
    named = isinstance(X, pd.DataFrame) and _named(X.columns)
    task_name, frame, target = task_target(options.task, as_frame(X), y, options.categorical)
    if task_name == "cox":
        check_events_to_fit(target)
    inputs = list(frame.columns)
    for option, named_columns in (("categorical", options.categorical),
                                  ("groups", list(options.groups or ()))):
        unknown = [c for c in named_columns if c not in inputs]
        if unknown:  # (a typo would leave a column numeric, or ungrouped, silently)
            raise DataError(lambda s, option=option, unknown=unknown: (
                f"{s(option)} names column(s) that are not features: "
                f"{', '.join(map(str, unknown[:5]))}"))
    cats = categorical_columns(frame, options.categorical)
    nested = [c for c in cats if is_nested(frame[c])]
    if nested:  # (counting their levels would fail on unhashable cells)
        raise DataError(f"X's column(s) {', '.join(map(str, nested[:5]))} hold lists or records: "
                        "give one number or category per cell, or leave them out of X")
    forced = set(options.categorical or ())
    for c in cats:  # dates and mostly-numeric text would become one level per value
        check_column_kind(frame[c], f"column {c!r}", forced=c in forced,
                          levels=f"categorical=[{c!r}] if it is categories", na_values=False)
    refuse_level_per_row(frame, cats, lambda c: "leave it out of X")
    many = too_many_levels(frame, cats, options.max_levels)
    if many:
        listed = ", ".join(f"{c} ({n} levels)" for c, n in many[:5])
        raise DataError(lambda s: f"too many levels to one-hot encode: {listed}; leave the "
                                  f"column(s) out of X or raise {s('max_levels')} (now "
                                  f"{options.max_levels})")
    aside = {c: "constant" for c in constant_columns(frame, cats)}
    refuse_all_constant(list(aside), inputs)
    if options.image_shape:  # pixels keep their place in the image even when constant
        aside = {}
    # a column of gaps alone is constant, set aside below, not refused for its gaps
    gappy = [c for c in gappy_columns(frame) if c not in aside]
    options.check_columns(inputs, task_name, cats, gappy, len(frame))
    if gappy and options.missing == "error":
        raise DataError(lambda s: f"missing values (NaN or inf) in column(s) "
                        f"{', '.join(gappy[:5])}: use {s('missing', 'impute')}")
    if aside:
        frame = without(frame, aside)
        cats = [c for c in cats if c not in aside]
        if task_name == "reconstruction":  # the constant columns are no targets either
            check_reconstruction([], [], frame.shape[1])
            target = frame.to_numpy(dtype=np.float64)
    return Table(task_name, frame, target, inputs, cats, gappy, aside, named)


def checked_table(prepared: Prepared) -> Table:
    """The ``Table`` of a table ``checks.check_table`` has checked and the options have been
    checked against (``cli_input.read_prepared``): its constant columns set aside."""
    aside = {c: "constant" for c in prepared.constant}
    frame = without(prepared.X, aside) if aside else prepared.X
    if prepared.task == "reconstruction":
        target = frame.to_numpy(dtype=np.float64)
    else:
        target = prepared.target
    return Table(prepared.task, frame, target, list(prepared.X.columns),
                 list(prepared.categorical), list(prepared.gappy), aside,
                 _named(prepared.X.columns))


def _named(columns) -> bool:
    """Whether the columns have names: scikit-learn's ``feature_names_in_`` then holds them."""
    return all(isinstance(c, str) for c in columns)


@dataclasses.dataclass
class PathSetUp:
    """What a path on ``Table`` needs and what the fitted estimator keeps of it."""

    task: object  # a fitted task (``tasks``)
    rows: tuple[np.ndarray, np.ndarray]  # training rows, validation rows
    encoder: Encoder
    units: Units
    run_path: PathRun
    table: Table  # the table trained on: its columns constant in the training rows set aside


def set_up_path(options: Options, table: Table) -> PathSetUp:
    """Split the rows (seeded by ``options.seed``), set aside the columns constant in the
    training rows, fit the encoder and the task on the training rows, and build the path run
    over every row of the encoded table."""
    rng = np.random.default_rng(options.seed)
    train_idx, val_idx = split_task_rows(
        make_task(table.task_name, ties=options.ties, columns=list(table.frame.columns)),
        table.target, options.val_fraction, rng, "val_fraction")
    image_shape = options.image_shape
    if not image_shape:  # (pixels keep their place in the image)
        table = _aside_if_constant_in(table, train_idx)
    task = make_task(table.task_name, ties=options.ties, columns=list(table.frame.columns))
    encoder = fit_encoder(table.frame, table.categorical, table.gappy, rows=train_idx,
                          channels=image_shape[0] if image_shape else None)
    task.fit(table.target[train_idx])
    features = encoder.transform(table.frame)
    spec = options.backbone
    if spec.selects_filters:
        units = Units.filters(spec.hidden[0])
    else:
        units = Units.of(encoder.columns, options.groups)
    run_path = PathRun(features, table.target, task, spec, options.dropout,
                       units.layout(encoder), image_shape, units.names, options.path_config(),
                       options.device, options.seed)
    return PathSetUp(task, (train_idx, val_idx), encoder, units, run_path, table)


CONSTANT_IN_TRAINING = "constant in the training rows"


def _aside_if_constant_in(table: Table, rows: np.ndarray) -> Table:
    """``table`` with its columns that are constant in the training ``rows`` set aside too
    (``CONSTANT_IN_TRAINING``): a column that varies only among the validation rows (a gap in
    every training row, say) was scaled by the training rows' spread of nothing, and its
    weights, never trained, gave the dense model a validation R^2 of -8604."""
    flat = constant_columns(table.frame, table.categorical, rows)
    if not flat:
        return table
    if len(flat) == table.frame.shape[1]:  # (stability says it of its half-samples)
        raise NothingToSelect("every feature column is constant in the training rows: there "
                              "is nothing to select")
    reasons = table.aside | dict.fromkeys(flat, CONSTANT_IN_TRAINING)
    frame = without(table.frame, flat)
    target = table.target
    if table.task_name == "reconstruction":  # (no targets either)
        target = frame.to_numpy(dtype=np.float64)
    return dataclasses.replace(
        table, frame=frame, target=target,
        categorical=[c for c in table.categorical if c not in reasons],
        gappy=[c for c in table.gappy if c not in reasons],
        aside={c: reasons[c] for c in table.inputs if c in reasons})  # (in table order)


def column_results(path: Path, active: np.ndarray, units: Units, encoder: Encoder,
                   table: Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ranking, support, importances) per input column: columns in the order of their units'
    ranking (the columns of one group in table order), then the set-aside ones in table
    order, with importance 0 and never selected.  ``active``: the chosen point's live units.

    With filters as units (a conv backbone) the ranking is of the filters, every column is
    supported (each pixel feeds every filter) and the importances are the filters'."""
    lambdas = elimination_lambdas(path)
    inputs = table.inputs
    if units.of_column is None:
        names = np.asarray([units.names[j] for j in ranking(path)], dtype=object)
        return names, np.ones(len(inputs), dtype=bool), lambdas
    owner = np.asarray(units.of_column)
    position = np.empty(units.n, dtype=np.int64)
    position[ranking(path)] = np.arange(units.n)
    order = np.lexsort((np.arange(len(owner)), position[owner]))  # stable by unit rank
    ranked = np.concatenate([np.asarray(encoder.columns, dtype=object)[order],
                             np.asarray(list(table.aside), dtype=object)])
    at = pd.Index(encoder.columns).get_indexer(inputs)  # -1: set aside
    used = at >= 0
    support = np.zeros(len(inputs), dtype=bool)
    support[used] = active[owner[at[used]]]
    importances = np.zeros(len(inputs), dtype=np.float64)
    importances[used] = lambdas[owner[at[used]]]
    return ranked, support, importances
