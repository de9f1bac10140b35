"""Checking the chosen columns of a table before training, and the columns of new rows.

``check_table`` checks a table's chosen columns, infers the task and returns them ``Prepared``
for training; ``constant_columns`` finds the columns that carry nothing; ``check_column_kind``
refuses a column that would be misread (dates, mostly-numeric text); ``check_features`` checks
the rows given to a saved model.  Everything a user can get wrong is raised as ``DataError``
with a message that says what is wrong and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .columns import (
    MAX_LEVELS,
    Selection,
    categorical_columns,
    is_categorical,
    option_value,
    refuse_level_per_row,
    too_many_levels,
    without,
)
from .encoding import whole_numbers
from .errors import DataError
from .read import row_chunks
from .targets import (
    FLOAT32_MAX,
    check_events_to_fit,
    check_reconstruction,
    check_target_kind,
    check_target_spread,
    infer_task,
    plain_value,
    survival_target,
    swamped,
)

if TYPE_CHECKING:
    from .encoding import Encoder


# the smallest table the default 10% validation split can divide (1 held out, 5 to train:
# 5 rows would hold out round(0.5) = 0, as splits.split_rows counts)
MIN_ROWS = 6


@dataclass
class Prepared:
    """A checked table ready for training.

    ``y``: the target column (regression, classification), the (time, event) columns as float
    and 0/1 (cox), or None (reconstruction: the targets are the features).  ``constant``:
    feature columns kept in ``X`` that carry nothing (``constant_columns``); the estimator sets
    them aside and ranks them last; ``dropped``: those left out of ``X`` instead
    (``constant="drop"``).  ``id_column``: the --id column (never a feature), or None.
    """

    X: pd.DataFrame
    y: pd.Series | pd.DataFrame | None
    task: str
    notes: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    gappy: list[str] = field(default_factory=list)
    constant: list[str] = field(default_factory=list)
    id_column: str | None = None
    dropped: list[str] = field(default_factory=list)

    @property
    def target(self) -> np.ndarray | None:
        """``y`` as the array ``LassoNetSelector.fit`` takes."""
        return None if self.y is None else self.y.to_numpy()


def check_table(
    df: pd.DataFrame,
    sel: Selection,
    task: str = "auto",
    missing: str = "error",
    categorical: list[str] | None = None,
    max_levels: int = MAX_LEVELS,
    constant: str = "set_aside",
) -> Prepared:
    """Check the chosen columns and infer the task; raise DataError on anything unusable.

    ``missing='impute'``: gaps (and infinite numbers) in feature columns are filled at encoding
    time; ``'error'`` refuses them.  Rows whose target is missing are dropped with a note.

    Constant feature columns (``constant_columns``) get a note, and ``constant`` says what
    becomes of them: ``'set_aside'`` keeps them in ``X`` and lists them in
    ``Prepared.constant``, for the estimator to rank them last with importance 0 (``select``:
    one ranking row per input column); ``'drop'`` leaves them out of ``X`` (``path``, which
    evaluates usable columns); ``'keep'`` uses them like any column, without a note (the pixels
    of an image, where every column has its place); gaps in pixels are then left to the conv
    backbone's own refusal (``Options.check_columns``), which has no --missing impute to offer.
    """
    if constant not in ("set_aside", "drop", "keep"):
        raise ValueError(f"constant must be set_aside, drop or keep, got {constant!r}")
    if missing not in ("error", "impute"):
        raise DataError(f"--missing must be error or impute, got {missing!r}")
    if len(df) == 0:
        raise DataError("the table has no rows")
    notes: list[str] = []
    X = df[sel.features]
    y: pd.Series | pd.DataFrame | None = None
    for role, name in (("--target", sel.target), ("--time", sel.time), ("--event", sel.event)):
        if name is not None and is_nested(df[name]):
            raise DataError(f"the {role} column {name!r} holds lists or records: it needs one "
                            "value per row")
    if task == "auto" and sel.time is not None:
        task = "cox"
        notes.append("task: cox (from --time and --event; override with --task)")
    if task == "cox":
        if sel.time is None or sel.event is None:
            raise DataError("--task cox needs --time and --event")
        values = survival_target(df[sel.time], df[sel.event], sel.time, sel.event)
        check_events_to_fit(values, sel.event)
        y = pd.DataFrame(values, columns=[sel.time, sel.event], index=df.index)
    elif task != "reconstruction":
        if sel.target is None:
            raise DataError("missing option '--target'")
        y = df[sel.target]
        no_target = y.isna().to_numpy()
        if no_target.any():
            if no_target.all():
                raise DataError(f"the target column {sel.target!r} is empty")
            notes.append(f"dropped {int(no_target.sum())} row(s) whose target {sel.target!r} "
                         "is missing")
            X, y = X[~no_target], y[~no_target]
            if y.dtype.kind == "f" and whole_numbers(y.to_numpy()).all():
                # integers that a gap made floats (a CSV column 1, 0, ''): class labels as
                # written, not 1.0 and proba_1.0
                y = y.astype(np.int64)

    forced = set(categorical or [])
    unknown = forced - set(sel.features)
    if unknown:
        raise DataError(f"--categorical names column(s) that are not features: "
                        f"{', '.join(sorted(unknown))}")
    features = set(sel.features)
    for name, dtype in zip(df.columns, df.dtypes, strict=True):
        if name in features and dtype.kind not in "iufb":  # numbers, booleans: as they are
            check_column_kind(df[name], f"column {name!r}", forced=name in forced,
                              levels=f"--categorical {option_value(name)} if it is "
                                     "categories",
                              exclude=name)
    if sel.target is not None and task in ("auto", "regression"):
        check_column_kind(df[sel.target], f"the target column {sel.target!r}",
                          levels="--task classification if it holds class labels")
    cats = categorical_columns(X, categorical)
    nested = [c for c in cats if is_nested(X[c])]
    if nested:
        raise DataError(f"column(s) holding lists or records cannot be features: "
                        f"{', '.join(nested[:5])}; drop them with --exclude")
    refuse_level_per_row(X, cats, lambda c: f"name it with --id {option_value(c)}, or leave "
                                            "it out with --exclude")
    many = too_many_levels(X, cats, max_levels)
    if many:
        listed = ", ".join(f"{c} ({n} levels)" for c, n in many)
        raise DataError(f"too many levels to one-hot encode: {listed}; drop the column with "
                        f"--exclude (e.g. an ID) or raise --max-levels (now {max_levels})")

    gaps = {c: int(n) for c, n in X.isna().sum().items()}
    one_hot = set(cats)
    numeric = [c for c in sel.features if c not in one_hot]
    inf_counts = np.zeros(len(numeric), dtype=np.int64)
    largest = np.zeros(len(numeric))
    numeric_part = X[numeric]
    for rows in row_chunks(len(X), len(numeric)):
        values = numeric_part.iloc[rows].to_numpy(dtype=np.float64)
        inf_counts += np.isinf(values).sum(axis=0)
        finite = np.where(np.isfinite(values), np.abs(values), 0.0)
        largest = np.maximum(largest, finite.max(axis=0, initial=0.0))
    infinite = {c: int(n) for c, n in zip(numeric, inf_counts, strict=True)}
    for name in (c for c, big in zip(numeric, largest, strict=True) if big > FLOAT32_MAX):
        big = swamped(X[name].to_numpy(dtype=np.float64))
        if big is not None:
            notes.append(f"column {name!r}: a few values as large as {big:.3g} make the middle "
                         "half of its values one number once standardised, so it can hardly "
                         "be selected; if they stand for missing values, read them as gaps "
                         "with --na-values")
    # a column of gaps alone is constant, set aside below, not refused for its gaps
    empty = ({c for c in sel.features if gaps[c] + infinite.get(c, 0) == len(X)}
             if constant != "keep" else set())
    if task == "reconstruction":
        check_reconstruction(cats, [c for c in sel.features if c not in empty
                                    and (gaps[c] or infinite.get(c, 0))], len(sel.features))
    if missing == "error" and constant != "keep":
        bad = {c: n for c, n in gaps.items() if n and c not in empty}
        if bad:
            listed = ", ".join(f"{c} ({n} missing)" for c, n in bad.items())
            raise DataError(f"missing values in feature column(s): {listed}; "
                            "fill them, drop the columns with --exclude, or use --missing impute")
        inf_cols = [c for c, n in infinite.items() if n and c not in empty]
        if inf_cols:
            raise DataError(f"infinite values in feature column(s): {', '.join(inf_cols)}; "
                            "use --missing impute to treat them as missing")
    gappy = [c for c in sel.features if gaps[c] or infinite.get(c, 0)]

    if task == "auto":
        task = infer_task(y)
        notes.append(f"task: {task} (from the target column {sel.target!r}; override with --task)")
    if task == "regression":
        check_target_kind(y, task, f"the target column {sel.target!r}")
        if not np.isfinite(y.to_numpy(dtype=np.float64)).all():
            raise DataError(f"the target column {sel.target!r} has infinite values")
        check_target_spread(y.to_numpy(dtype=np.float64), f"the target column {sel.target!r}")
    if len(X) == 1:  # say so before "the target is constant", which would mislead
        raise DataError(f"a single row{' with a target' if y is not None else ''} is too few: "
                        f"training and validation need at least {MIN_ROWS} rows (at the "
                        "default --val-fraction 0.1)")
    if isinstance(y, pd.Series) and y.nunique() < 2:
        raise DataError(
            f"the target column {sel.target!r} is constant ({plain_value(y.iloc[0])!r}): "
            "nothing to predict"
        )
    if task == "classification":
        check_target_kind(y, task, f"the target column {sel.target!r}")

    flat = constant_columns(X, cats)
    refuse_all_constant(flat, sel.features)  # (pixels too: kept, but nothing to learn)
    if constant == "keep":
        flat = []
    if flat:
        shown = ", ".join(flat[:10]) + (" ..." if len(flat) > 10 else "")
        if constant == "drop":
            notes.append(f"dropped {len(flat)} constant column(s): {shown}")
            X = without(X, flat)
        else:
            notes.append(f"set aside {len(flat)} constant column(s), ranked last with "
                         f"importance 0: {shown}")
        if task == "reconstruction":
            check_reconstruction([], [], len(sel.features) - len(flat))
    gappy = [c for c in gappy if c not in flat]
    if gappy:
        notes.append(f"imputed gaps in {len(gappy)} column(s) with training medians (most "
                     "frequent level for categories), each with a missing-indicator")
    return Prepared(X=X, y=y, task=task, notes=notes,
                    categorical=[c for c in cats if c in X.columns and c not in flat],
                    gappy=gappy, constant=flat if constant == "set_aside" else [],
                    dropped=flat if constant == "drop" else [])


class NothingToSelect(DataError):
    """Every feature column is constant (``refuse_all_constant``)."""


def refuse_all_constant(constant: list[str], features) -> None:
    """NothingToSelect (a DataError) where the ``constant`` columns are all the ``features``:
    nothing to select (the command line, the Python API and stability selection, pixels
    included)."""
    if constant and len(constant) == len(features):
        raise NothingToSelect("every feature column is constant: there is nothing to select")


def constant_columns(X: pd.DataFrame, categorical: list[str] | None = None,
                     rows: np.ndarray | None = None) -> list[str]:
    """The columns of ``X`` that carry nothing: one value in every row, or a gap in every row
    (a gap is a missing or, in a numeric column, an infinite value), in table order.

    A column with one value and some gaps is not constant: under ``--missing impute`` its
    missing-indicator varies.  ``categorical``: the columns compared as levels (numeric
    columns are compared as numbers, in row chunks, without copying the table).  ``rows``:
    only these rows count (a split's training rows), read chunk by chunk as well.
    """
    levels = categorical_columns(X, categorical)
    compared_as_levels = set(levels)
    numeric = [c for c in X.columns if c not in compared_as_levels]
    n = len(X) if rows is None else len(rows)

    def cells(name: str) -> pd.Series:
        return X[name] if rows is None else X[name].iloc[rows]

    flat = set()
    for name in levels:
        gaps = int(cells(name).isna().sum())
        if gaps == n or (gaps == 0 and cells(name).nunique() <= 1):
            flat.add(name)
    if numeric:
        low, high = np.full(len(numeric), np.inf), np.full(len(numeric), -np.inf)
        gaps = np.zeros(len(numeric), dtype=np.int64)
        part = X if len(numeric) == X.shape[1] else X[numeric]
        for chunk in row_chunks(n, len(numeric)):
            values = part.iloc[chunk if rows is None else rows[chunk]].to_numpy(dtype=np.float64)
            finite = np.isfinite(values)
            gaps += (~finite).sum(axis=0)
            low = np.minimum(low, np.where(finite, values, np.inf).min(axis=0, initial=np.inf))
            high = np.maximum(high, np.where(finite, values, -np.inf).max(axis=0,
                                                                          initial=-np.inf))
        one_value = (gaps == 0) & (low == high)
        flat.update(c for c, empty, same in zip(numeric, gaps == n, one_value, strict=True)
                    if empty or same)
        for name in numeric:  # 2**63 + 5, 2**63 + 6, ...: one value as float64, not constant
            if name in flat and X[name].dtype.kind in "iu" and cells(name).nunique() > 1:
                raise DataError(f"column {name!r} holds integers ({cells(name).min()} to "
                                f"{cells(name).max()}) too large to tell apart as "
                                "floating-point numbers: subtract a common offset from them, "
                                "or leave the column out")
    return [c for c in X.columns if c in flat]


# a number written with ',' between groups of three digits (and '.' for decimals, if any)
THOUSANDS = r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?"


def check_column_kind(series: pd.Series, what: str, forced: bool = False,
                      levels: str | None = None, exclude: str | None = None,
                      na_values: bool = True) -> None:
    """Refuse a column that would be misread: dates, times and durations (neither numbers nor
    categories), and text that is mostly numbers (a stray '?' or '-', or a decimal comma),
    which one-hot encoding would turn into one level per number.

    ``what``: the column in messages; ``forced``: the column was named in ``--categorical``, so
    its text is levels by choice; ``levels``: how to keep mostly-numeric text as levels;
    ``exclude``: the column's name, for a hint to leave it out (features only);
    ``na_values``: hint at ``--na-values`` (the command line reads the table, Python does not).
    """
    leave_out = (f", or leave it out with --exclude {option_value(exclude)}"
                 if exclude is not None else "")
    kind = _time_kind(series)
    if kind is not None:
        dtype = "" if series.dtype.kind == "O" else f" ({series.dtype})"
        raise DataError(f"{what} holds {kind}{dtype}, which are neither numbers nor "
                        f"categories: convert it to numbers first (e.g. days since a start "
                        f"date, or seconds){leave_out}")
    if forced or not is_categorical(series) or pd.api.types.is_bool_dtype(series) \
            or isinstance(series.dtype, pd.CategoricalDtype):
        return
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) == "integer":
        # beyond 64 bits: pandas keeps them as Python integers, which read as levels
        example = series.dropna().iloc[0]
        raise DataError(f"{what} holds integers too large for 64 bits (e.g. {example}): "
                        f"divide them by a power of ten{leave_out or ', or leave it out'}")
    counts = series.dropna().astype(str).value_counts(sort=False)
    if not len(counts):
        return
    cells = pd.Series(counts.index, dtype=object)
    number = pd.to_numeric(cells, errors="coerce").notna().to_numpy()
    total = int(counts.sum())
    n_numbers = int(counts.to_numpy()[number].sum())
    has_comma = cells.str.contains(",", regex=False).to_numpy()
    comma = has_comma & pd.to_numeric(
        cells.str.replace(",", ".", regex=False), errors="coerce").notna().to_numpy()
    grouped = cells.str.fullmatch(THOUSANDS).to_numpy()  # 1,612 or 12,000,000.5
    n_comma = int(counts.to_numpy()[(comma | grouped) & ~number].sum())
    if n_comma and 2 * (n_numbers + n_comma) > total:
        example = cells[(comma | grouped) & ~number].iloc[0]
        where = f"{example!r}, row {_first_row(series, example)}"
        with_comma = cells[has_comma & ~number]
        if grouped[has_comma & ~number].all():
            if not with_comma.str.fullmatch(r"[-+]?\d{1,3},\d{3}").all():  # 1,612.5, 1,000,000
                raise DataError(f"{what} holds numbers with thousands separators ({where}): "
                                "remove them from the table")
            # 1,612 is 1612 with a thousands separator, or 1.612 with a decimal comma
            raise DataError(f"{what} holds numbers with a comma ({where}), which reads as a "
                            "thousands separator or as a decimal comma: remove the thousands "
                            "separators from the table, or for a decimal comma read it with "
                            "--decimal ,")
        raise DataError(f"{what} holds numbers with a decimal comma ({where}): read the table "
                        "with --decimal ,")
    n_text = total - n_numbers
    if not n_text or 2 * n_numbers <= total:
        return
    text = [v for v in _in_order(series, set(cells[~number]))]
    shown = ", ".join(f"{v!r} (row {_first_row(series, v)})" for v in text[:3])
    more = ", ..." if len(text) > 3 else ""
    # values that --na-values can name as they are (it splits at commas and strips spaces)
    nameable = na_values and all(v == v.strip() and v.isprintable() and not set(v) & set(",'")
                                 for v in text)
    hints = [f"--na-values '{','.join(text)}'" if len(text) <= 5 else "--na-values"]
    hints = [f"use {hints[0]} if {'they mean' if n_text > 1 else 'it means'} missing"] \
        if nameable else []
    hints += [f"{'' if hints else 'use '}{levels}"] if levels else []
    raise DataError(f"{what}: {n_numbers} numbers and {n_text} text "
                    f"cell{'s' if n_text > 1 else ''} {shown}{more}; "
                    f"{', '.join([*hints, 'or fix the table'] if hints else ['fix the table'])}")


def _time_kind(series: pd.Series) -> str | None:
    import datetime

    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return "dates or times"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "durations"
    if dtype.kind == "O":
        values = series.dropna()
        first = values.iloc[0] if len(values) else None
        if isinstance(first, datetime.timedelta):
            return "durations"
        if isinstance(first, datetime.date | datetime.time):
            return "dates or times"
    return None


def _in_order(series: pd.Series, wanted: set[str]) -> list[str]:
    """The values of ``wanted`` (as text) in the order they first occur in ``series``."""
    text = series.dropna().astype(str)
    return list(pd.unique(text[text.isin(wanted)]))


def _first_row(series: pd.Series, value: str) -> int:
    """The 1-based row (after the header) where ``value`` first occurs, as text."""
    text = series.astype(str).where(series.notna())
    return int(np.flatnonzero((text == value).to_numpy())[0]) + 1


def is_nested(series: pd.Series) -> bool:
    values = series.dropna()
    return len(values) > 0 and isinstance(values.iloc[0], list | tuple | dict | np.ndarray)


def column_gaps(series: pd.Series, kind: str) -> int:
    """The gaps of an input column as its encoding counts them: missing or infinite numbers
    (``kind`` 'numeric'), missing levels ('categorical')."""
    if kind == "numeric":
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        return int((~np.isfinite(values)).sum())
    return int(series.isna().sum())


def check_present(df: pd.DataFrame, columns) -> None:
    """DataError naming the ``columns`` (a model's) that ``df`` lacks, or has twice (both
    would be read: ``transform`` returned each twice)."""
    absent = [c for c in columns if c not in df.columns]
    if absent:
        shown = ", ".join(map(str, absent[:5])) + (" ..." if len(absent) > 5 else "")
        # a name that differs in the spaces around it alone (a header written 'a, b' names
        # ' b'): invisible in the list above, so name both
        near = {c: n for c in absent[:5] for n in df.columns
                if isinstance(c, str) and isinstance(n, str) and c.strip() == n.strip()}
        hint = "" if not near else ("; the input has " + ", ".join(
            f"{n!r} for the model's {c!r}" for c, n in near.items()) + ": rename the "
            "column(s) as the model names them, spaces included")
        raise DataError(f"the input lacks {len(absent)} column(s) the model needs: "
                        f"{shown}{hint}")
    repeated = set(df.columns[df.columns.duplicated()])
    twice = [c for c in columns if c in repeated]
    if twice:
        raise DataError(f"the input names column(s) twice: {', '.join(map(str, twice[:5]))}: "
                        "give each column its own name")


def _numbers_for_text_levels(series: pd.Series, levels) -> bool:
    """Whether ``series`` holds numbers (a CSV read '01' as 1) and no level of a categorical
    column trained on text ('01', 'a') is the text of a number, so that none can match."""
    from .encoding import level_text

    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series) \
            or series.isna().all():
        return False
    levels = pd.Series(list(levels), dtype=object)
    as_numbers = pd.to_numeric(levels, errors="coerce")
    readable = as_numbers.notna().to_numpy()
    if not readable.any():
        return True
    return not (level_text(as_numbers[readable]) == levels[readable].to_numpy()).any()


def check_features(df: pd.DataFrame, encoder: Encoder) -> None:
    """The input has every column a saved model needs, usable as the model was trained."""
    check_present(df, encoder.columns)
    problems, not_numbers = [], []
    for code in encoder.codes:
        series = df[code.name]
        if code.kind != "numeric" and _numbers_for_text_levels(series, code.levels):
            shown = ", ".join(repr(v) for v in list(code.levels)[:3])
            more = ", ..." if len(code.levels) > 3 else ""
            raise DataError(f"column {code.name!r} holds numbers (e.g. "
                            f"{plain_value(series.dropna().iloc[0])!r}) where the model was "
                            f"trained on the levels {shown}{more}, which no number matches: "
                            "give the column as text, as in the training table")
        if code.kind == "numeric":
            if is_categorical(series) and not series.isna().all():
                # a stray '?' or a decimal comma: say which cells, as at training
                check_column_kind(series, f"column {code.name!r}")
                not_numbers.append(series)
                continue
        bad = column_gaps(series, code.kind)
        if bad and code.fill is None:
            problems.append(f"{code.name} ({bad} missing or infinite)")
    if not_numbers:
        first = not_numbers[0].dropna().iloc[0]
        raise DataError(f"column(s) {', '.join(str(c.name) for c in not_numbers)} hold text or "
                        f"true/false (e.g. {plain_value(first)!r} in {not_numbers[0].name}) "
                        "where the model was trained on numbers: give them as numbers")
    if problems:
        raise DataError(lambda s: f"unusable values in column(s): {', '.join(problems)}; the "
                        "model was trained without gaps there (fill them, or predict with "
                        f"{s('missing', 'impute') if s.cli else 'predict_table(X, impute=True)'}"
                        ")")
