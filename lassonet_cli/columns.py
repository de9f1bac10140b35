"""Choosing columns and telling their kinds.

Which columns of a table play which role (``--target``, ``--time``/``--event``, ``--features``,
``--exclude``, ``--id``; ``resolve_task`` checks that they fit ``--task``), and the one place
that says which columns are categorical, which have gaps and which have too many levels to
one-hot encode, for ``checks``, ``targets`` and the estimator alike.
"""

from __future__ import annotations

import csv
import difflib
import fnmatch
import io
import shlex
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError

# a categorical column with more levels than this is refused (``--max-levels``)
MAX_LEVELS = 50


def comma_list(text: str) -> list[str]:
    """The non-empty entries of a comma list of names, stripped; an entry in double quotes
    (as in CSV) may hold commas or a line break: '"dose, mg",age'.  A line break outside
    quotes separates entries, as a comma does."""
    rows = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    return [f.strip() for row in rows for f in row if f.strip()]


def option_value(name: str) -> str:
    """``name`` as a message suggests typing it after --exclude or --categorical: CSV-quoted
    if it holds a comma, a quote or a line break (``comma_list``), then quoted for the shell
    where needed; spaces around it are left out (``find_column`` finds it without them)."""
    name = name.strip()
    if any(ch in name for ch in ',"\n\r'):
        name = '"' + name.replace('"', '""') + '"'
    return shlex.quote(name)


def join_names(names) -> str:
    """Names in one ';'-separated cell (the path tables' ``eliminated`` and ``features``); a
    name holding ';', a double quote or a line break is double-quoted, as in CSV, so that the
    cell splits back into the names (``csv.reader(..., delimiter=';')``)."""
    buffer = io.StringIO()
    # (the writer quotes a field holding a character of its line terminator: both \r and \n)
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerow(list(names))
    return buffer.getvalue()[:-2]


def unknown_column(name: str, columns: list[str], what: str,
                   among: str = "in the table") -> DataError:
    """The error for a column ``name`` not among ``columns`` (which are those ``among``
    describes), naming the closest ones."""
    stripped = {c.strip(): c for c in columns}  # (spaces around a name are no likeness)
    # a name that differs in case alone comes first ('Y' for 'y', which difflib scores low)
    cased = [c for c in columns if c.strip().casefold() == name.strip().casefold()]
    close = cased + [stripped[c] for c in difflib.get_close_matches(
        name.strip(), list(stripped), n=3, cutoff=0.6) if stripped[c] not in cased]
    close = close[:3]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return DataError(f"{what} column {name!r} is not {among}{hint}")


def find_column(name: str, columns: list[str]) -> str | None:
    """The column ``name`` names: itself, or else the one column equal to it but for spaces
    around it (a header written 'a, b' names ' b'); None if none or several."""
    if name in columns:
        return name
    near = [c for c in columns if c.strip() == name.strip()]
    return near[0] if len(near) == 1 else None


def find_columns(names: list[str], columns: list[str]) -> list[str]:
    """``find_column`` of each name, or the name as given where it finds none (for the
    caller's own error about names absent from the table)."""
    return [find_column(name, columns) or name for name in names]


def _expand(patterns: str, columns: list[str], what: str) -> list[str]:
    """Columns named by a comma list with shell globs, in table order."""
    chosen: set[str] = set()
    for pattern in comma_list(patterns):
        if (column := find_column(pattern, columns)) is not None:
            chosen.add(column)
        elif any(ch in pattern for ch in "*?["):
            hits = fnmatch.filter(columns, pattern)
            if not hits:
                raise DataError(f"{what} pattern {pattern!r} matches no column")
            chosen.update(hits)
        else:
            raise unknown_column(pattern, columns, what)
    return [c for c in columns if c in chosen]


@dataclass
class Selection:
    """Which columns of the table play which role.

    ``target``: the column to predict (None for cox, which has ``time`` and ``event``, and for
    reconstruction, whose targets are the features themselves).
    """

    target: str | None
    features: list[str]
    id: str | None = None
    time: str | None = None
    event: str | None = None
    # {column: its option} for columns --features names by name that play another role (left
    # out of the features, with a note)
    not_features: dict[str, str] = field(default_factory=dict)

    @property
    def roles(self) -> list[str]:
        """The columns that are never features: target, time, event and id."""
        return [c for c in (self.target, self.time, self.event, self.id) if c is not None]


def resolve_task(task: str, target: str | None, time: str | None, event: str | None) -> str:
    """Check that ``--target``, ``--time`` and ``--event`` fit ``--task``; the task to use.

    ``auto`` stays ``auto``: ``checks.check_table`` decides it (cox when ``--time`` and
    ``--event`` are given, else from the target column).  Raises ConfigError naming the options
    to change.
    """
    survival = time is not None or event is not None
    if task == "auto" and survival and target is not None:
        raise ConfigError("give either --target (regression, classification) or --time and "
                          "--event (cox), not both")
    if task == "cox" or (task == "auto" and survival):
        if target is not None:
            raise ConfigError("--task cox takes the columns --time and --event, not --target: "
                              "drop --target")
        if time is None or event is None:
            raise ConfigError("--task cox needs both --time COL (follow-up time) and --event COL "
                              "(1 = event observed, 0 = censored)")
        return task
    if task == "reconstruction":
        given = [o for o, v in (("--target", target), ("--time", time), ("--event", event)) if v]
        if given:
            raise ConfigError(f"--task reconstruction reconstructs the feature columns and takes "
                              f"no {'/'.join(given)}: drop it, or choose the columns with "
                              "--features/--exclude")
        return task
    if survival:
        raise ConfigError(f"--time and --event are for --task cox, not --task {task}: drop "
                          "them, or use --task cox without --target")
    if target is None:
        raise ConfigError("missing option '--target' (or use --task reconstruction, or "
                          "--task cox with --time and --event)")
    return task


def select_columns(
    df: pd.DataFrame,
    target: str | None,
    features: str | None = None,
    exclude: str | None = None,
    id_column: str | None = None,
    time: str | None = None,
    event: str | None = None,
) -> Selection:
    """Resolve ``--target`` (or ``--time``/``--event``), ``--features``, ``--exclude`` and
    ``--id`` against the table."""
    columns = list(df.columns)
    named: dict[str, str] = {}  # column: the option that named it
    resolved = []
    for name, what in ((target, "--target"), (time, "--time"), (event, "--event"),
                       (id_column, "--id")):
        column = None if name is None else find_column(name, columns)
        if name is not None and column is None:
            if len(columns) == 1:  # a text table read with the wrong separator, most likely
                only = str(columns[0])  # (a whole header line: its head is enough)
                only = only if len(only) <= 80 else only[:77] + "..."
                raise DataError(f"{what} column {name!r} is not in the table, which has only "
                                f"one column {only!r}: name the field separator with "
                                "--sep (e.g. --sep ' ')")
            raise unknown_column(name, columns, what)
        if column in named:
            raise DataError(f"{named[column]} and {what} name the same column {column!r}")
        if column is not None:
            named[column] = what
        resolved.append(column)
    target, time, event, id_column = resolved
    selection = Selection(target=target, features=[], id=id_column, time=time, event=event)
    if features is not None and not comma_list(features):
        raise DataError("--features is empty: name the feature columns, or leave --features "
                        "out to use every column")
    for entry in comma_list(features or ""):
        column = find_column(entry, columns)
        if column in named:
            selection.not_features[column] = named[column]
    candidates = _expand(features, columns, "--features") if features else columns
    dropped = set(_expand(exclude, columns, "--exclude")) if exclude else set()
    roles = set(selection.roles)
    selection.features = [c for c in candidates if c not in dropped and c not in roles]
    if not selection.features:
        options = "--target" if target is not None else "--time/--event" if time else ""
        raise DataError("no feature columns are left after "
                        + "/".join(o for o in ("--features", "--exclude", options, "--id") if o))
    return selection


def is_categorical(series) -> bool:
    """Text, boolean and pandas ``category`` columns (a Series, or its dtype) are
    categorical."""
    dtype = getattr(series, "dtype", series)
    return (
        not pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def categorical_columns(X: pd.DataFrame, categorical: list[str] | None = None) -> list[str]:
    """The columns of ``X`` to one-hot encode, in table order: those named in ``categorical``
    (``--categorical``), and text, boolean and category columns (``is_categorical``)."""
    forced = set(categorical or [])
    # (by the dtypes: a Series per column costs seconds on a table of 10,000 columns)
    return [c for c, dtype in zip(X.columns, X.dtypes, strict=True)
            if c in forced or is_categorical(dtype)]


COPY_BELOW_CELLS = 1 << 26  # ``without`` copies a table of fewer cells (512 MB of float64)


def without(X: pd.DataFrame, columns) -> pd.DataFrame:
    """``X`` without ``columns``: the rest copied as they are laid out where the table is
    smaller than ``COPY_BELOW_CELLS``, else pandas' ``drop``.  (``drop`` keeps a view of each
    column apart: 10,000 pieces, which every later row slice of the table visits one by one,
    for seconds on a wide table; a copy of a tall one would double its memory.)"""
    gone = set(columns)
    if X.size >= COPY_BELOW_CELLS:
        return X.drop(columns=[c for c in X.columns if c in gone])
    return X[[c for c in X.columns if c not in gone]]


def gappy_columns(X: pd.DataFrame) -> list[str]:
    """The columns of ``X`` with gaps, in table order: a missing value, or in a numeric (not
    boolean) column an infinite one.  Found over the whole frame at once (a Series per column
    took seconds on 10,000 columns)."""
    gaps = X.isna().any().to_numpy(copy=True)  # (read-only without the copy)
    numeric = np.flatnonzero([pd.api.types.is_numeric_dtype(dtype)
                              and not pd.api.types.is_bool_dtype(dtype) for dtype in X.dtypes])
    if len(numeric):  # (an infinite value is the column's largest or smallest: no copy)
        part = X if len(numeric) == X.shape[1] else X.iloc[:, numeric]
        for extreme in (part.max(), part.min()):
            gaps[numeric] |= np.isinf(extreme.to_numpy(dtype=np.float64, na_value=np.nan))
    return [c for c, gap in zip(X.columns, gaps, strict=True) if gap]


def refuse_level_per_row(X: pd.DataFrame, categorical: list[str], remedy) -> None:
    """DataError naming the first of the ``categorical`` columns of ``X`` with a different
    value in each row that has one (at least 10 of them, and at least half the rows): an ID,
    whose one-hot columns would each mark one row, which a network fits and a ranking puts
    first.  ``remedy(column)``: what the message advises, after 'is it an ID?'."""
    for c in categorical:
        present = int(X[c].notna().sum())
        if present >= max(10, len(X) / 2) and X[c].nunique() == present:
            raise DataError(f"column {c!r} has a different value in each of its {present} "
                            f"rows: is it an ID? {remedy(c)}")


def too_many_levels(X: pd.DataFrame, categorical: list[str],
                    max_levels: int) -> list[tuple[str, int]]:
    """(column, levels) for each of the ``categorical`` columns of ``X`` with more than
    ``max_levels`` distinct values (a gap is no level), in the order given."""
    counts = ((c, X[c].nunique()) for c in categorical)
    return [(c, n) for c, n in counts if n > max_levels]
