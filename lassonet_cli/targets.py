"""The target: the task it implies, its checks, and the raw target a task is fitted on.

``infer_task`` decides ``--task auto`` from the target column; ``survival_target`` checks Cox's
(time, event) columns; ``check_reconstruction`` checks the feature columns that reconstruction
takes as its targets; ``check_target_spread`` refuses a regression target that standardising
would flatten; ``task_target`` turns the Python API's ``fit(X, y)`` into (task, X, target).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import categorical_columns, gappy_columns
from .errors import ConfigError, DataError, warn

# An integer target with at most this many distinct values is taken as class labels.
MAX_AUTO_CLASSES = 20


def infer_task(y: pd.Series) -> str:
    """``classification`` for non-numeric targets or few distinct integers, else regression."""
    if not (pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)):
        return "classification"
    values = y.to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) and np.all(values == np.round(values)):
        distinct = np.unique(values)
        if len(distinct) <= MAX_AUTO_CLASSES:
            return "classification"
        # class codes 0..K-1 or 1..K (e.g. 26 letters), with several rows per class
        codes = distinct[0] in (0, 1) and len(distinct) == distinct[-1] - distinct[0] + 1
        if codes and len(distinct) <= len(values) / 5:
            return "classification"
    return "regression"


def survival_target(time, event, time_name: str = "time",
                    event_name: str = "event") -> np.ndarray:
    """(n, 2) float array of (time, event) after checking both columns; DataError if unusable.

    Times must be finite numbers >= 0; events 0/1 numbers or booleans (1 / true = event
    observed, 0 / false = censored); no gaps in either; at least one event.
    """
    time, event = pd.Series(np.asarray(time)), pd.Series(np.asarray(event))
    for series, name, option in ((time, time_name, "time"), (event, event_name, "event")):
        gaps = int(series.isna().sum())
        if gaps:
            raise DataError(lambda s, option=option, name=name, gaps=gaps: (
                f"the {s(option)} column {name!r} has {gaps} missing value(s): Cox needs a time "
                "and an event for every row; fill or drop those rows"))
    if not pd.api.types.is_numeric_dtype(time) or pd.api.types.is_bool_dtype(time):
        row = _first_non_number(time)
        raise DataError(lambda s: f"the {s('time')} column {time_name!r} is not numeric (e.g. "
                        f"{plain_value(time.iloc[row])!r} in row {row + 1}): it must hold "
                        "follow-up times")
    times = time.to_numpy(dtype=np.float64)
    if not np.isfinite(times).all():
        raise DataError(lambda s: f"the {s('time')} column {time_name!r} has infinite values")
    if (times < 0).any():
        raise DataError(lambda s: f"the {s('time')} column {time_name!r} has "
                        f"{int((times < 0).sum())} negative value(s) (smallest "
                        f"{times.min():g}): times must be >= 0")
    if pd.api.types.is_bool_dtype(event):
        events = event.to_numpy(dtype=np.float64)
    elif (coded := _event_codes(event)) is not None:  # text: '1'/'0', 'true'/'false'
        events = coded
    else:
        numeric = pd.api.types.is_numeric_dtype(event)
        values = event.to_numpy(dtype=np.float64) if numeric else None
        if values is None or not np.isin(values, (0.0, 1.0)).all():
            odd = event[~event.isin([0, 1])] if numeric else event
            shown = ", ".join(repr(plain_value(v)) for v in pd.unique(odd)[:3])
            raise DataError(lambda s: f"the {s('event')} column {event_name!r} must be 0/1 or "
                            f"true/false (1 = event observed, 0 = censored); it has {shown}")
        events = values
    if not events.any():
        raise DataError(lambda s: f"the {s('event')} column {event_name!r} has no events (all "
                        "0): Cox needs at least one observed event")
    if not (times[events > 0] < times.max()).any():
        raise DataError(lambda s: f"the {s('time')} column {time_name!r} puts no event before "
                        "another row's time"
                        + (f" (every time is {times[0]:g})" if (times == times[0]).all() else "")
                        + ": Cox learns from the order of events, and this table has none")
    return np.column_stack([times, events])


def check_reconstruction(categorical: list[str], gappy: list[str], n_columns: int) -> None:
    """Reconstruction needs numeric feature columns without gaps, at least two of them."""
    if categorical:
        raise DataError(lambda s: f"{s('task', 'reconstruction')} needs numeric feature columns; "
                        f"{', '.join(categorical[:5])} {'is' if len(categorical) == 1 else 'are'} "
                        "categorical: leave them out" + (" with --exclude" if s.cli else ""))
    if gappy:
        raise DataError(lambda s: f"{s('task', 'reconstruction')} cannot reconstruct missing or "
                        f"infinite values, found in {', '.join(gappy[:5])}: fill them or leave "
                        "the columns out" + (" with --exclude" if s.cli else ""))
    if n_columns < 2:
        raise DataError(lambda s: f"{s('task', 'reconstruction')} needs at least 2 non-constant "
                        f"feature columns (each is reconstructed from the others); found "
                        f"{n_columns}")


def check_events_to_fit(target: np.ndarray, event_name: str = "event") -> None:
    """DataError unless the survival ``target`` (n, 2) holds 2 events or more: with one, the
    training rows have none to learn from or the validation rows none to score the path's
    points on, and the advice that error gave (more validation rows, or folds) led nowhere.
    (A C-index scores rows with one event, so ``score`` does not ask this.)"""
    events = int(np.count_nonzero(target[:, 1]))
    if events < 2:
        raise DataError(lambda s: f"the {s('event')} column {event_name!r} has {events} "
                                  "event: fitting a Cox path needs at least 2, one among the "
                                  "training rows to learn from and one among the validation "
                                  "rows to score its points on")


def task_target(
    task: str, X: pd.DataFrame, y, categorical: list[str] | None = None
) -> tuple[str, pd.DataFrame, np.ndarray]:
    """(task, X, target) for the Python API's ``fit(X, y)``: the task resolved, the rows kept and
    the raw target array a task is fitted on (see ``tasks``).

    * regression, classification: ``y`` (n,); rows whose target is missing are dropped,
      with a warning.
    * cox: ``y`` (n, 2) of (time, event): an array, a DataFrame (columns named ``time`` and
      ``event`` are taken by name, else the first is the time), or a structured array with a
      boolean event field and a time field (as scikit-survival's ``Surv``).
    * reconstruction: ``y`` must be None; the target is X's values (numeric columns without gaps).
    * auto: regression or classification, decided from a one-dimensional ``y``.
    """
    if task == "reconstruction":
        if y is not None:
            raise ConfigError("task='reconstruction' reconstructs X itself: call fit(X) "
                              "without y")
        cats = categorical_columns(X, categorical)
        gappy = [] if cats else gappy_columns(X)
        check_reconstruction(cats, gappy, X.shape[1])
        return task, X, X.to_numpy(dtype=np.float64)
    if y is None:
        raise ConfigError(f"task={task!r} needs y (or use task='reconstruction', which "
                          "needs none)")
    if task == "cox":
        time, event = _survival_columns(y, len(X))
        return task, X, survival_target(time, event)
    dates = DataError("y holds dates or times: give numbers (days since a date, say) to "
                      "predict, or text labels to classify")
    if isinstance(y, pd.Series | pd.DataFrame | pd.Index) and any(  # (tz-aware, periods)
            pd.api.types.is_datetime64_any_dtype(t) or pd.api.types.is_timedelta64_dtype(t)
            or isinstance(t, pd.PeriodDtype)
            for t in (y.dtypes if isinstance(y, pd.DataFrame) else [y.dtype])):
        raise dates
    target = np.asarray(y)
    if target.ndim == 2 and target.shape[1] == 1 and len(target) == len(X):
        target = target[:, 0]  # a column vector, as scikit-learn's estimators take it
        _warn_column_vector()
    if target.dtype.kind in "mM":
        raise dates
    if np.iscomplexobj(target):
        raise DataError("y holds complex numbers: give real ones (the real part, the "
                        "magnitude, or both as two fits)")
    if target.ndim != 1 or len(target) != len(X):
        hint = " (a (time, event) pair per row needs task='cox')" if target.ndim == 2 else ""
        raise ConfigError(f"y must be one-dimensional with one value per row of X{hint}")
    known = ~pd.isna(pd.Series(target)).to_numpy()
    if not known.any():
        raise DataError("y is empty: every value is missing")
    if not known.all():  # rows without a target teach nothing: said, as the CLI says it
        warn(f"dropped {int((~known).sum())} row(s) whose y is missing")
        X, target = X[known].reset_index(drop=True), target[known]
        if pd.api.types.is_integer_dtype(getattr(y, "dtype", None)):
            target = target.astype(np.int64)  # (a nullable Int64 y, made floats for its gaps)
    if target.dtype == object:
        kinds = {"text" if isinstance(v, str) else "number" for v in target}
        if len(kinds) > 1:
            first = next(v for v in target if not isinstance(v, str))
            raise DataError(f"y mixes text and other values ({first!r} among text labels): "
                            "give labels of one kind (y.astype(str), say)")
    if task == "auto":
        task = infer_task(pd.Series(target))
    if len(target) > 1:  # (one row is too few, said where the rows are split)
        check_target_kind(pd.Series(target), task, "y")
    if task == "regression" and np.issubdtype(target.dtype, np.number):
        values = target.astype(np.float64)
        if not np.isfinite(values).all():
            raise DataError(f"y has {int(np.isinf(values).sum())} infinite value(s): a "
                            "regression target must be finite")
        check_target_spread(values, "the target y")
    return task, X, target


def check_target_kind(y: pd.Series, task: str, called: str) -> None:
    """DataError where ``y`` cannot be ``task``'s target (the command line's checks and the
    Python API's say the same): a regression target that is not numeric, a classification
    target with a different value in every row.  ``called``: how the message names it."""

    def task_as(s, name: str) -> str:
        return f"--task {name}" if s.cli else f"task='{name}'"

    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if task == "regression" and not numeric:
        raise DataError(lambda s: f"{task_as(s, 'regression')} needs a numeric target; "
                                  f"{called} is not")
    if task == "classification" and (y.value_counts() >= 2).sum() == 0:
        raise DataError(lambda s: (
            f"{called} has a different value in each of its {len(y)} rows: classification "
            "needs classes of at least 2 rows"
            + (f"; if it is a number to predict, use {task_as(s, 'regression')}" if numeric
               else "; is it an ID?" + (" name the column to predict with --target"
                                        if s.cli else ""))))


def _survival_columns(y, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(time, event) from the forms ``task_target`` accepts for cox."""
    if isinstance(y, pd.DataFrame):
        if {"time", "event"} <= set(y.columns):
            y = y[["time", "event"]]
        if y.shape[1] == 2 and len(y) == n:
            return y.iloc[:, 0].to_numpy(), y.iloc[:, 1].to_numpy()
    array = np.asarray(y)
    names = array.dtype.names
    if names is not None and len(names) == 2 and array.ndim == 1 and len(array) == n:
        flags = [f for f in names if array.dtype[f] == np.bool_]
        if len(flags) == 1:
            (other,) = [f for f in names if f != flags[0]]
            return array[other], array[flags[0]]
        if {"time", "event"} <= set(names):
            return array["time"], array["event"]
    if names is None and array.ndim == 2 and array.shape == (n, 2):
        return array[:, 0], array[:, 1]
    raise ConfigError("task='cox' needs y of shape (n, 2) holding (time, event) per row of X "
                      "(an array, a DataFrame, or a structured array with a boolean event field)")


FLOAT32_MAX = float(np.finfo(np.float32).max)


def swamped(values: np.ndarray) -> float | None:
    """The largest magnitude of ``values`` if standardising them (as the model's float32
    inputs) makes the middle half one number though they differ, else None.

    That happens when a few values are extreme beside the rest (1e308 among values near 1): the
    mean and spread are theirs, and the other values all land on the mean.  ``values``: (n,)
    float64; gaps are ignored.  Computed on values / max|values|, so nothing overflows.
    """
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return None
    low, high = np.partition(values, (len(values) // 4, 3 * len(values) // 4))[
        [len(values) // 4, 3 * len(values) // 4]]
    big = float(np.abs(values).max())
    if low == high or big == 0:
        return None
    scaled = values / big
    centre, spread = scaled.mean(), scaled.std()
    if not spread > 0:
        return None
    z_low, z_high = (np.float32((v / big - centre) / spread) for v in (low, high))
    return big if z_low == z_high else None


def check_target_spread(values: np.ndarray, what: str) -> None:
    """A regression target (finite float64 values) whose spread is that of a few extreme
    values cannot be learnt: standardised, every other target is the same number.  Nor can
    one whose range exceeds float64 (centring it would overflow)."""
    finite = values[np.isfinite(values)]
    if len(finite) and finite.max() / 2 - finite.min() / 2 > np.finfo(np.float64).max / 2:
        raise DataError(f"{what} spans {finite.min():.3g} to {finite.max():.3g}, more than a "
                        "64-bit float holds: fix or drop the extreme rows")
    big = swamped(values)
    if big is not None:
        raise DataError(lambda s: f"{what} has a few values as large as {big:.3g} that swamp "
                        "the rest: standardised, the middle half of the targets become one "
                        "number and nothing can be learnt; fix or drop those rows"
                        + (" (missing-value codes can be read as gaps with --na-values)"
                           if s.cli else ""))


def _first_non_number(series: pd.Series) -> int:
    """The position of the first value of ``series`` that is no number (0 if none is)."""
    numbers = pd.to_numeric(series, errors="coerce").notna().to_numpy()
    return int(np.argmin(numbers)) if not numbers.all() else 0


# event codes written as text (a Parquet string column, or a CSV read with --categorical)
_EVENT_TEXT = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0, "false": 0.0, "true": 1.0}


def _event_codes(event: pd.Series) -> np.ndarray | None:
    """0/1 from an event column of text codes ('1', '0', 'true', 'false', any case), or None
    when it holds anything else."""
    if pd.api.types.is_numeric_dtype(event):
        return None
    text = event.astype(str).str.strip().str.lower()
    codes = text.map(_EVENT_TEXT)
    return None if codes.isna().any() else codes.to_numpy(dtype=np.float64)


def plain_value(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if hasattr(value, "item") else value


def _warn_column_vector() -> None:
    """scikit-learn's warning for a y of shape (n, 1), raveled (its DataConversionWarning where
    scikit-learn is installed)."""
    try:
        from sklearn.exceptions import DataConversionWarning as kind
    except ImportError:
        kind = UserWarning
    warn("A column-vector y was passed when a 1d array was expected: read as its one column",
         kind)
