"""Reading tables, choosing columns, checking and encoding them, and splitting rows.

Everything a user can get wrong about the input is detected here and raised as ``DataError``
with a message that says what is wrong and how to fix it.
"""

from __future__ import annotations

import difflib
import fnmatch
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
INPUT_FORMATS = ("csv", "tsv", "parquet")
# An integer target with at most this many distinct values is taken as class labels.
MAX_AUTO_CLASSES = 20


def input_format(path: str, override: str | None) -> str:
    """The table format from ``--input-format`` or the file name (``.gz`` is looked through)."""
    if override:
        if override not in INPUT_FORMATS:
            raise DataError(
                f"unknown --input-format {override!r}: use one of {', '.join(INPUT_FORMATS)}"
            )
        return override
    if path == "-":
        return "csv"
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    fmt = FORMATS.get(Path(name).suffix)
    if fmt is None:
        raise DataError(
            f"cannot tell the format of {path!r} from its extension: name it .csv, .tsv, "
            ".csv.gz or .parquet, or pass --input-format csv|tsv|parquet"
        )
    return fmt


SEPARATORS = (",", ";", "\t", "|")


CHUNK_CELLS = 1 << 22  # 4M cells: 32 MB of float64 per chunk of rows


def row_chunks(n_rows: int, n_columns: int) -> Iterator[slice]:
    """Slices of at most ``CHUNK_CELLS`` cells covering ``n_rows`` rows, for the column-wise
    passes over a table that would otherwise make float64 copies of all of it."""
    step = max(1, CHUNK_CELLS // max(1, n_columns))
    return (slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step))


def read_table(
    path: str,
    fmt: str | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
    na_values: list[str] | None = None,
    decimal: str = ".",
    what: str = "input",
) -> pd.DataFrame:
    """Read a CSV, TSV (optionally gzipped) or Parquet table from a path or ``-`` (stdin).

    ``sep``: the field separator of text tables; by default tab for .tsv, and for .csv the one
    of ``, ; tab |`` that occurs most often in the header line.  ``encoding``: of text tables
    (a UTF-8 byte-order mark is always skipped).  ``na_values``: cells that mean "missing"
    besides the empty cell and pandas' usual NA, NaN, null, ... (in Parquet, text cells equal
    to one of them).  ``decimal``: the decimal mark of numbers in text tables.  ``what``: the
    file's role in messages ("input", "groups").  Parquet bytes on stdin are recognised by
    their magic number; decimal Parquet columns are read as float64.
    """
    kind = input_format(path, fmt)
    if path == "-":
        raw = sys.stdin.buffer.read()
        source: object = io.BytesIO(raw)
        compression = "gzip" if raw[:2] == b"\x1f\x8b" else None
        if fmt is None and raw[:4] == PARQUET_MAGIC:
            kind = "parquet"
    else:
        p = Path(path)
        if not p.exists():
            raise DataError(f"{what} file {path!r} does not exist")
        if p.is_dir():
            raise DataError(f"{what} file {path!r} is a directory, not a table")
        source = p
        compression = "infer"
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    text_encoding = "utf-8-sig" if utf8 else encoding
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            df = _read_parquet(pq.ParquetFile(source), path, na_values)
        else:
            if sep is None:
                sep = "\t" if kind == "tsv" else _sniff_separator(source, compression,
                                                                  text_encoding)
            if decimal == sep:
                raise DataError(f"{path}: --decimal {decimal!r} is also the field separator: "
                                "name another separator with --sep (e.g. --sep ';')")
            df = pd.read_csv(source, sep=sep, compression=compression,
                             encoding=text_encoding, na_values=na_values or None,
                             decimal=decimal)
    except DataError:
        raise
    except LookupError:
        raise DataError(f"unknown --encoding {encoding!r} (try utf-8, latin-1, cp1252)") from None
    except UnicodeDecodeError as e:
        if _starts_with(source, PARQUET_MAGIC):
            raise DataError(f"{path}: this is a Parquet file, not {kind} text: read it with "
                            "--input-format parquet") from None
        raise DataError(
            f"{path}: the file is not valid {'UTF-8' if utf8 else encoding} text ({e.reason}); "
            "name its encoding with --encoding, e.g. --encoding latin-1"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the table is empty") from None
    except pd.errors.ParserError as e:
        first = str(e).strip().splitlines()[0]
        raise DataError(f"{path}: cannot parse as {kind}: {first}") from None
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"{path}: cannot read as {kind}: {first}") from None
    except Exception as e:  # pyarrow raises its own error types for corrupt files
        if type(e).__module__.startswith("pyarrow"):
            first = str(e).strip().splitlines()[0]
            raise DataError(f"{path}: cannot read as {kind}: {first}") from None
        raise
    names = [str(c) for c in df.columns]
    if kind != "parquet":
        names = _raw_header(source, sep, compression, text_encoding) or names
        if len(names) == 1:
            _check_separator(path, names[0], sep)
    _check_named(path, names)
    _check_unique(path, names)
    df.columns = [str(c) for c in df.columns]
    return df


PARQUET_MAGIC = b"PAR1"


def _starts_with(source, magic: bytes) -> bool:
    if isinstance(source, io.BytesIO):
        return source.getvalue()[: len(magic)] == magic
    try:
        with open(source, "rb") as handle:
            return handle.read(len(magic)) == magic
    except OSError:
        return False


def _check_separator(path: str, header: str, sep: str) -> None:
    """A one-column text table whose header holds another separator was split with the wrong
    one (``--sep x`` on a comma table): say so, rather than miss every column later."""
    others = [s for s in SEPARATORS if s != sep and s in header]
    if not others:
        return  # a table of one column (``select_columns`` hints if a name is then missing)
    best = max(others, key=header.count)
    shown = "tab" if best == "\t" else repr(best)
    raise DataError(f"{path}: the separator {sep!r} finds only one column in the header "
                    f"{header!r}; it looks separated by {shown}: use --sep {shown}")


def _check_named(path: str, names: list[str]) -> None:
    """Every column has a name: a blank one is usually a row index written with the table
    (pandas' ``to_csv`` without ``index=False``) or a separator at the end of each line."""
    blank = [i for i, name in enumerate(names, start=1) if not str(name).strip()]
    if blank:
        where = ("a trailing separator on each line?" if blank == [len(names)]
                 else "a row index written with the table?")
        raise DataError(f"{path}: column {blank[0]} has no name in the header ({where}): "
                        "name it in the header, or remove the column")


def _read_parquet(file, path: str, na_values: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file as a DataFrame, read a few columns at a time.

    Reading the whole table and converting it holds the decoded Arrow table, the reader's
    buffers and the frame at once: about 3.5 times the data for a tall float table.  Reading
    groups of columns of about ``CHUNK_CELLS`` cells, each converted into its own blocks and
    released before the next, keeps that near 2 times.

    Decimal columns become float64 (pandas would hold them as Python objects, taken for text);
    text cells equal to one of ``na_values`` become missing, and a text column whose other
    cells are all numbers then becomes float64, as it would in a CSV.
    """
    schema = file.schema_arrow
    _check_unique(path, schema.names)
    # a pandas index saved as a column is not data (whole-table reading made it the index)
    meta = schema.pandas_metadata or {}
    index = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    names = [n for n in schema.names if n not in index]
    per_read = max(1, CHUNK_CELLS // max(1, file.metadata.num_rows))
    frames = []
    for start in range(0, max(len(names), 1), per_read):
        table = _decimals_as_floats(file.read(columns=names[start : start + per_read]))
        frames.append(table.to_pandas(split_blocks=True, self_destruct=True))
        del table
    df = frames[0] if len(frames) == 1 else pd.concat(frames, axis=1)
    if na_values:
        for name in df.columns:
            if is_categorical(df[name]) and not pd.api.types.is_bool_dtype(df[name]):
                df[name] = _text_without(df[name], set(na_values))
    return df


def _decimals_as_floats(table):
    import pyarrow as pa

    for i, column in enumerate(table.schema):
        if pa.types.is_decimal(column.type):
            table = table.set_column(i, column.name, table.column(i).cast(pa.float64()))
    return table


def _text_without(series: pd.Series, na_values: set[str]) -> pd.Series:
    """``series`` with the cells in ``na_values`` missing; float64 if the rest are numbers."""
    hits = series.astype(object).isin(na_values).to_numpy()
    if not hits.any():
        return series
    kept = series.astype(object).where(~hits, None)
    numbers = pd.to_numeric(kept, errors="coerce")
    if numbers.notna().sum() == kept.notna().sum():
        return numbers.astype(np.float64)
    return kept


def _sniff_separator(source, compression, encoding: str) -> str:
    """The separator that occurs most often in the first line (outside quotes); ',' if none."""
    first = _first_line(source, compression, encoding)
    counts = {sep: 0 for sep in SEPARATORS}
    quoted = False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _first_line(source, compression, encoding: str) -> str:
    import gzip

    if isinstance(source, io.BytesIO):
        head = source.getvalue()[: 1 << 16]
        if compression == "gzip":
            head = gzip.decompress(source.getvalue())[: 1 << 16]
    else:
        opener = gzip.open if str(source).lower().endswith(".gz") else open
        with opener(source, "rb") as handle:
            head = handle.read(1 << 16)
    return head.decode(encoding, errors="replace").splitlines()[0] if head else ""


def _raw_header(source, sep: str, compression, encoding: str) -> list[str] | None:
    """The header row as written (pandas renames repeated names to 'x.1', hiding them)."""
    if isinstance(source, io.BytesIO):
        source.seek(0)
    try:
        row = pd.read_csv(
            source, sep=sep, compression=compression,
            encoding=encoding, header=None, nrows=1, dtype=str, keep_default_na=False,
        )
    except Exception:  # noqa: BLE001 - the full read already succeeded; this is a check only
        return None
    return [str(v) for v in row.iloc[0].tolist()] if len(row) else None


def _check_unique(path: str, names: list[str]) -> None:
    seen: set[str] = set()
    dups = sorted({str(n) for n in names if n in seen or seen.add(n)})
    if dups:
        raise DataError(f"{path}: duplicate column names: {', '.join(dups)}")


def _unknown_column(name: str, columns: list[str], what: str) -> DataError:
    close = difflib.get_close_matches(name, columns, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return DataError(f"{what} column {name!r} is not in the table{hint}")


def _expand(patterns: str, columns: list[str], what: str) -> list[str]:
    """Columns named by a comma list with shell globs, in table order."""
    chosen: set[str] = set()
    for pattern in (p.strip() for p in patterns.split(",")):
        if not pattern:
            continue
        if pattern in columns:
            chosen.add(pattern)
        elif any(ch in pattern for ch in "*?["):
            hits = fnmatch.filter(columns, pattern)
            if not hits:
                raise DataError(f"{what} pattern {pattern!r} matches no column")
            chosen.update(hits)
        else:
            raise _unknown_column(pattern, columns, what)
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

    @property
    def roles(self) -> list[str]:
        """The columns that are never features: target, time, event and id."""
        return [c for c in (self.target, self.time, self.event, self.id) if c is not None]


def resolve_task(task: str, target: str | None, time: str | None, event: str | None) -> str:
    """Check that ``--target``, ``--time`` and ``--event`` fit ``--task``; the task to use.

    ``auto`` stays ``auto``: ``check_table`` decides it (cox when ``--time`` and ``--event`` are
    given, else from the target column).  Raises ConfigError naming the options to change.
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
    for name, what in ((target, "target"), (time, "--time"), (event, "--event"),
                       (id_column, "--id")):
        if name is not None and name not in columns:
            if len(columns) == 1:  # a text table read with the wrong separator, most likely
                raise DataError(f"{what} column {name!r} is not in the table, which has only "
                                f"one column {columns[0]!r}: name the field separator with "
                                "--sep (e.g. --sep ' ')")
            raise _unknown_column(name, columns, what)
    if time is not None and time == event:
        raise DataError(f"--time and --event name the same column {time!r}")
    selection = Selection(target=target, features=[], id=id_column, time=time, event=event)
    candidates = _expand(features, columns, "--features") if features else columns
    dropped = set(_expand(exclude, columns, "--exclude")) if exclude else set()
    roles = set(selection.roles)
    selection.features = [c for c in candidates if c not in dropped and c not in roles]
    if not selection.features:
        options = "--target" if target is not None else "--time/--event" if time else ""
        raise DataError("no feature columns are left after "
                        + "/".join(o for o in ("--features", "--exclude", options, "--id") if o))
    return selection


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


MAX_LEVELS = 50
# the smallest table the default 10% validation split can divide (1 held out, 4 to train)
MIN_ROWS = 5


@dataclass
class ColumnCode:
    """How one input column becomes model inputs.

    Attributes
    ----------
    name : the column
    kind : 'numeric' (one input) or 'categorical' (one-hot: one input per level)
    levels : the categorical levels seen in training, as text
    fill : value put into gaps (training median, or most frequent level); None: gaps are an error
    indicator : whether a 0/1 'missing' input follows, in the column's group
    """

    name: str
    kind: str
    levels: list[str] = field(default_factory=list)
    fill: float | str | None = None
    indicator: bool = False

    @property
    def input_names(self) -> list[str]:
        names = [self.name] if self.kind == "numeric" else [f"{self.name}={v}" for v in self.levels]
        return names + ([f"{self.name}:missing"] if self.indicator else [])

    def raw(self, series: pd.Series) -> tuple[np.ndarray, int]:
        """(n, inputs) unstandardised inputs, and the number of unseen levels (categorical)."""
        if self.kind == "numeric":
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
            gaps = ~np.isfinite(values)
            if self.fill is not None:
                values = np.where(gaps, self.fill, values)
            columns = [values]
            unseen = 0
        else:
            gaps = series.isna().to_numpy()
            text = level_text(series)
            if self.fill is not None:
                text = np.where(gaps, str(self.fill), text)
            onehot = (text[:, None] == np.asarray(self.levels, dtype=object)[None, :])
            unseen = int((~onehot.any(axis=1) & ~gaps).sum())
            columns = list(onehot.T.astype(np.float64))
        if self.indicator:
            columns.append(gaps.astype(np.float64))
        return np.column_stack(columns), unseen

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "levels": list(self.levels),
                "fill": self.fill, "indicator": self.indicator}


@dataclass
class Encoder:
    """Training-set preprocessing of the feature columns, applied the same way at predict time.

    Every input of the model is standardised with training statistics: numeric columns, the
    one-hot levels of categorical columns and the missing-indicators alike.

    Attributes
    ----------
    codes : one ColumnCode per input column, in model order
    mean, scale : (inputs,) standardisation statistics from the training rows
    """

    codes: list[ColumnCode]
    mean: np.ndarray
    scale: np.ndarray

    @property
    def columns(self) -> list[str]:
        """The input table's columns the model uses (one selectable unit each)."""
        return [c.name for c in self.codes]

    @property
    def input_names(self) -> list[str]:
        return [name for c in self.codes for name in c.input_names]

    @property
    def unit_of_input(self) -> list[int]:
        """For every model input, the index of the column it comes from."""
        return [j for j, c in enumerate(self.codes) for _ in c.input_names]

    def inputs_of(self, units) -> np.ndarray:
        """Model-input indices of the given columns (by index)."""
        owner = np.asarray(self.unit_of_input)
        return np.flatnonzero(np.isin(owner, np.asarray(units, dtype=np.int64)))

    def raw(self, df: pd.DataFrame) -> tuple[np.ndarray, int]:
        """(n, inputs) unstandardised matrix and the count of rows with an unseen level."""
        if all(c.kind == "numeric" and c.fill is None and not c.indicator for c in self.codes):
            # plain numeric tables (the common, and the wide, case): one conversion, no loop
            return df[self.columns].to_numpy(dtype=np.float64), 0
        parts, unseen = [], np.zeros(len(df), dtype=bool)
        for code in self.codes:
            block, n_unseen = code.raw(df[code.name])
            parts.append(block)
            if n_unseen:
                unseen |= _unseen_rows(code, df[code.name])
        return np.column_stack(parts), int(unseen.sum())

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """(n, inputs) float32 matrix of standardised inputs (computed in row chunks, so a tall
        table needs no float64 copy of itself).

        A value beyond float32's range after standardising (1e300 in a column that was
        constant in the training rows, so not scaled) is clipped to the largest float32, not
        turned into inf.
        """
        out = np.empty((len(df), len(self.mean)), dtype=np.float32)
        largest = np.finfo(np.float32).max
        for rows in row_chunks(len(df), len(self.mean)):
            raw = self.raw(df.iloc[rows])[0]
            with np.errstate(over="ignore"):  # beyond float64 is beyond float32: clipped
                z = (raw - self.mean) / self.scale
                # -1e308 - 1e308 overflows though its standardised value need not: scale first
                lost = np.isinf(z) & np.isfinite(raw)
                if lost.any():
                    z[lost] = (raw / self.scale - self.mean / self.scale)[lost]
            out[rows] = np.clip(z, -largest, largest, out=z)
        return out

    def to_dict(self) -> dict:
        return {
            "columns": self.columns,
            "codes": [c.to_dict() for c in self.codes],
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
        }

    @classmethod
    def from_dict(cls, spec: dict) -> Encoder:
        codes = [ColumnCode(name=c["name"], kind=c["kind"], levels=list(c["levels"]),
                            fill=c["fill"], indicator=bool(c["indicator"]))
                 for c in spec["codes"]]
        encoder = cls(codes, np.asarray(spec["mean"], dtype=np.float64),
                      np.asarray(spec["scale"], dtype=np.float64))
        if len(encoder.mean) != len(encoder.input_names) or len(encoder.scale) != len(encoder.mean):
            raise ValueError("encoder statistics do not match its columns")
        return encoder


def level_text(series: pd.Series) -> np.ndarray:
    """Category levels as text; numbers the same whether read as int or float (1 and 1.0)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64)
        finite = np.isfinite(values)
        integral = finite & (values == np.round(values)) & (np.abs(values) < 2.0**62)
        out = np.full(len(values), "", dtype=object)
        out[integral] = values[integral].astype(np.int64).astype(str)
        out[finite & ~integral] = values[finite & ~integral].astype(str)
        return out
    return series.astype(str).to_numpy()


def _unseen_rows(code: ColumnCode, series: pd.Series) -> np.ndarray:
    text = level_text(series)
    return ~np.isin(text, code.levels) & ~series.isna().to_numpy()


def is_categorical(series: pd.Series) -> bool:
    """Text, boolean and pandas ``category`` columns are categorical."""
    return (
        not pd.api.types.is_numeric_dtype(series)
        or pd.api.types.is_bool_dtype(series)
        or isinstance(series.dtype, pd.CategoricalDtype)
    )


@dataclass
class Prepared:
    """A checked table ready for training.

    ``y``: the target column (regression, classification), the (time, event) columns as float
    and 0/1 (cox), or None (reconstruction: the targets are the features).  ``constant``:
    feature columns kept in ``X`` that carry nothing (``constant_columns``); the estimator sets
    them aside and ranks them last.
    """

    X: pd.DataFrame
    y: pd.Series | pd.DataFrame | None
    task: str
    notes: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    gappy: list[str] = field(default_factory=list)
    constant: list[str] = field(default_factory=list)

    @property
    def target(self) -> np.ndarray | None:
        """``y`` as the array ``LassoNetSelector.fit`` takes."""
        return None if self.y is None else self.y.to_numpy()


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
        raise DataError(lambda s: f"the {s('time')} column {time_name!r} is not numeric (e.g. "
                        f"{_plain(time.iloc[0])!r}): it must hold follow-up times")
    times = time.to_numpy(dtype=np.float64)
    if not np.isfinite(times).all():
        raise DataError(lambda s: f"the {s('time')} column {time_name!r} has infinite values")
    if (times < 0).any():
        raise DataError(lambda s: f"the {s('time')} column {time_name!r} has "
                        f"{int((times < 0).sum())} negative value(s) (smallest "
                        f"{times.min():g}): times must be >= 0")
    if pd.api.types.is_bool_dtype(event):
        events = event.to_numpy(dtype=np.float64)
    else:
        numeric = pd.api.types.is_numeric_dtype(event)
        values = event.to_numpy(dtype=np.float64) if numeric else None
        if values is None or not np.isin(values, (0.0, 1.0)).all():
            odd = event[~event.isin([0, 1])] if numeric else event
            shown = ", ".join(repr(_plain(v)) for v in pd.unique(odd)[:3])
            raise DataError(lambda s: f"the {s('event')} column {event_name!r} must be 0/1 or "
                            f"true/false (1 = event observed, 0 = censored); it has {shown}")
        events = values
    if not events.any():
        raise DataError(lambda s: f"the {s('event')} column {event_name!r} has no events (all "
                        "0): Cox needs at least one observed event")
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


def task_target(
    task: str, X: pd.DataFrame, y, categorical: list[str] | None = None
) -> tuple[str, pd.DataFrame, np.ndarray]:
    """(task, X, target) for the Python API's ``fit(X, y)``: the task resolved, the rows kept and
    the raw target array a task is fitted on (see ``tasks``).

    * regression, classification: ``y`` (n,); rows whose target is missing are dropped.
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
        forced = set(categorical or [])
        cats = [c for c in X.columns if c in forced or is_categorical(X[c])]
        gappy = [] if cats else [c for c in X.columns
                                 if X[c].isna().any() or np.isinf(X[c].to_numpy(float)).any()]
        check_reconstruction(cats, gappy, X.shape[1])
        return task, X, X.to_numpy(dtype=np.float64)
    if y is None:
        raise ConfigError(f"task={task!r} needs y (or use task='reconstruction', which "
                          "needs none)")
    if task == "cox":
        time, event = _survival_columns(y, len(X))
        return task, X, survival_target(time, event)
    target = np.asarray(y)
    if target.ndim != 1 or len(target) != len(X):
        hint = " (a (time, event) pair per row needs task='cox')" if target.ndim == 2 else ""
        raise ConfigError(f"y must be one-dimensional with one value per row of X{hint}")
    known = ~pd.isna(pd.Series(target)).to_numpy()
    if not known.all():  # rows without a target teach nothing (the CLI says so on stderr)
        X, target = X[known].reset_index(drop=True), target[known]
    if task == "auto":
        task = infer_task(pd.Series(target))
    if task == "regression" and np.issubdtype(target.dtype, np.number):
        values = target.astype(np.float64)
        if np.isfinite(values).all():
            check_target_spread(values, "the target y")
    return task, X, target


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
    of an image, where every column has its place).
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
    if task == "auto" and sel.time is not None:
        task = "cox"
        notes.append("task: cox (from --time and --event; override with --task)")
    if task == "cox":
        if sel.time is None or sel.event is None:
            raise DataError("--task cox needs --time and --event")
        values = survival_target(df[sel.time], df[sel.event], sel.time, sel.event)
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

    forced = set(categorical or [])
    unknown = forced - set(sel.features)
    if unknown:
        raise DataError(f"--categorical names column(s) that are not features: "
                        f"{', '.join(sorted(unknown))}")
    features = set(sel.features)
    for name, dtype in zip(df.columns, df.dtypes, strict=True):
        if name in features and dtype.kind not in "iufb":  # numbers, booleans: as they are
            check_column_kind(df[name], f"column {name!r}", forced=name in forced,
                              levels=f"--categorical {name} if it is categories",
                              exclude=name)
    if sel.target is not None and task in ("auto", "regression"):
        check_column_kind(df[sel.target], f"the target column {sel.target!r}",
                          levels="--task classification if it holds class labels")
    kinds = {c: "categorical" if c in forced or is_categorical(X[c]) else "numeric"
             for c in sel.features}
    cats = [c for c in sel.features if kinds[c] == "categorical"]
    nested = [c for c in cats if _is_nested(X[c])]
    if nested:
        raise DataError(f"column(s) holding lists or records cannot be features: "
                        f"{', '.join(nested[:5])}; drop them with --exclude")
    many = [(c, X[c].nunique()) for c in cats if X[c].nunique() > max_levels]
    if many:
        listed = ", ".join(f"{c} ({n} levels)" for c, n in many)
        raise DataError(f"too many levels to one-hot encode: {listed}; drop the column with "
                        f"--exclude (e.g. an ID) or raise --max-levels (now {max_levels})")

    gaps = {c: int(n) for c, n in X.isna().sum().items()}
    numeric = [c for c in sel.features if kinds[c] == "numeric"]
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
    if task == "reconstruction":
        check_reconstruction(cats, [c for c in sel.features if gaps[c] or infinite.get(c, 0)],
                             len(sel.features))
    if missing == "error":
        bad = {c: n for c, n in gaps.items() if n}
        if bad:
            listed = ", ".join(f"{c} ({n} missing)" for c, n in bad.items())
            raise DataError(f"missing values in feature column(s): {listed}; "
                            "fill them, drop the columns with --exclude, or use --missing impute")
        inf_cols = [c for c, n in infinite.items() if n]
        if inf_cols:
            raise DataError(f"infinite values in feature column(s): {', '.join(inf_cols)}; "
                            "use --missing impute to treat them as missing")
    gappy = [c for c in sel.features if gaps[c] or infinite.get(c, 0)]

    if task == "auto":
        task = infer_task(y)
        notes.append(f"task: {task} (from the target column {sel.target!r}; override with --task)")
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise DataError(f"--task regression needs a numeric target; {sel.target!r} is not")
        if not np.isfinite(y.to_numpy(dtype=np.float64)).all():
            raise DataError(f"the target column {sel.target!r} has infinite values")
        check_target_spread(y.to_numpy(dtype=np.float64), f"the target column {sel.target!r}")
    if len(X) == 1:  # say so before "the target is constant", which would mislead
        raise DataError(f"a single row{' with a target' if y is not None else ''} is too few: "
                        f"training and validation need at least {MIN_ROWS} rows")
    if isinstance(y, pd.Series) and y.nunique() < 2:
        raise DataError(
            f"the target column {sel.target!r} is constant ({_plain(y.iloc[0])!r}): "
            "nothing to predict"
        )

    flat = [] if constant == "keep" else constant_columns(X, cats)
    if flat:
        shown = ", ".join(flat[:10]) + (" ..." if len(flat) > 10 else "")
        if constant == "drop":
            notes.append(f"dropped {len(flat)} constant column(s): {shown}")
            X = X.drop(columns=flat)
        else:
            notes.append(f"set aside {len(flat)} constant column(s), ranked last with "
                         f"importance 0: {shown}")
        if len(flat) == len(sel.features):
            raise DataError("every feature column is constant: there is nothing to select")
        if task == "reconstruction":
            check_reconstruction([], [], len(sel.features) - len(flat))
    gappy = [c for c in gappy if c not in flat]
    if gappy:
        notes.append(f"imputed gaps in {len(gappy)} column(s) with training medians (most "
                     "frequent level for categories), each with a missing-indicator")
    return Prepared(X=X, y=y, task=task, notes=notes,
                    categorical=[c for c in cats if c in X.columns and c not in flat],
                    gappy=gappy, constant=flat if constant == "set_aside" else [])


def constant_columns(X: pd.DataFrame, categorical: list[str] | None = None) -> list[str]:
    """The columns of ``X`` that carry nothing: one value in every row, or a gap in every row
    (a gap is a missing or, in a numeric column, an infinite value), in table order.

    A column with one value and some gaps is not constant: under ``--missing impute`` its
    missing-indicator varies.  ``categorical``: the columns compared as levels (numeric
    columns are compared as numbers, in row chunks, without copying the table).
    """
    forced = set(categorical or [])
    levels = [c for c in X.columns if c in forced or is_categorical(X[c])]
    compared_as_levels = set(levels)
    numeric = [c for c in X.columns if c not in compared_as_levels]
    flat = set()
    for name in levels:
        gaps = int(X[name].isna().sum())
        if gaps == len(X) or (gaps == 0 and X[name].nunique() <= 1):
            flat.add(name)
    if numeric:
        low, high = np.full(len(numeric), np.inf), np.full(len(numeric), -np.inf)
        gaps = np.zeros(len(numeric), dtype=np.int64)
        part = X[numeric]
        for rows in row_chunks(len(X), len(numeric)):
            values = part.iloc[rows].to_numpy(dtype=np.float64)
            finite = np.isfinite(values)
            gaps += (~finite).sum(axis=0)
            low = np.minimum(low, np.where(finite, values, np.inf).min(axis=0, initial=np.inf))
            high = np.maximum(high, np.where(finite, values, -np.inf).max(axis=0,
                                                                          initial=-np.inf))
        one_value = (gaps == 0) & (low == high)
        flat.update(c for c, empty, same in zip(numeric, gaps == len(X), one_value, strict=True)
                    if empty or same)
    return [c for c in X.columns if c in flat]


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


def check_column_kind(series: pd.Series, what: str, forced: bool = False,
                      levels: str | None = None, exclude: str | None = None) -> None:
    """Refuse a column that would be misread: dates, times and durations (neither numbers nor
    categories), and text that is mostly numbers (a stray '?' or '-', or a decimal comma),
    which one-hot encoding would turn into one level per number.

    ``what``: the column in messages; ``forced``: the column was named in ``--categorical``, so
    its text is levels by choice; ``levels``: how to keep mostly-numeric text as levels;
    ``exclude``: the column's name, for a hint to leave it out (features only).
    """
    leave_out = f", or leave it out with --exclude {exclude}" if exclude is not None else ""
    kind = _time_kind(series)
    if kind is not None:
        dtype = "" if series.dtype.kind == "O" else f" ({series.dtype})"
        raise DataError(f"{what} holds {kind}{dtype}, which are neither numbers nor "
                        f"categories: convert it to numbers first (e.g. days since a start "
                        f"date, or seconds){leave_out}")
    if forced or not is_categorical(series) or pd.api.types.is_bool_dtype(series) \
            or isinstance(series.dtype, pd.CategoricalDtype):
        return
    counts = series.dropna().astype(str).value_counts(sort=False)
    if not len(counts):
        return
    cells = pd.Series(counts.index, dtype=object)
    number = pd.to_numeric(cells, errors="coerce").notna().to_numpy()
    total = int(counts.sum())
    n_numbers = int(counts.to_numpy()[number].sum())
    comma = cells.str.contains(",", regex=False).to_numpy() & pd.to_numeric(
        cells.str.replace(",", ".", regex=False), errors="coerce").notna().to_numpy()
    n_comma = int(counts.to_numpy()[comma & ~number].sum())
    if n_comma and 2 * (n_numbers + n_comma) > total:
        example = cells[comma & ~number].iloc[0]
        raise DataError(f"{what} holds numbers with a decimal comma ({example!r}, row "
                        f"{_first_row(series, example)}): read the table with --decimal ,")
    n_text = total - n_numbers
    if not n_text or 2 * n_numbers <= total:
        return
    text = [v for v in _in_order(series, set(cells[~number]))]
    shown = ", ".join(f"{v!r} (row {_first_row(series, v)})" for v in text[:3])
    more = ", ..." if len(text) > 3 else ""
    # values that --na-values can name as they are (it splits at commas and strips spaces)
    nameable = all(v == v.strip() and v.isprintable() and not set(v) & set(",'") for v in text)
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


def _is_nested(series: pd.Series) -> bool:
    values = series.dropna()
    return len(values) > 0 and isinstance(values.iloc[0], list | tuple | dict | np.ndarray)


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if hasattr(value, "item") else value


def check_features(df: pd.DataFrame, encoder: Encoder) -> None:
    """The input has every column a saved model needs, usable as the model was trained."""
    columns = encoder.columns
    absent = [c for c in columns if c not in df.columns]
    if absent:
        shown = ", ".join(absent[:5]) + (" ..." if len(absent) > 5 else "")
        raise DataError(f"the input lacks {len(absent)} column(s) the model needs: {shown}")
    problems = []
    for code in encoder.codes:
        series = df[code.name]
        if code.kind == "numeric":
            if is_categorical(series) and not series.isna().all():
                # a stray '?' or a decimal comma: say which cells, as at training
                check_column_kind(series, f"column {code.name!r}")
                problems.append(f"{code.name} (not numeric)")
                continue
            values = series.to_numpy(dtype=np.float64)
            bad = int((~np.isfinite(values)).sum())
        else:
            bad = int(series.isna().sum())
        if bad and code.fill is None:
            problems.append(f"{code.name} ({bad} missing or infinite)")
    if problems:
        raise DataError(f"unusable values in column(s): {', '.join(problems)}; the model was "
                        "trained without gaps there")


def fit_encoder(
    X: pd.DataFrame,
    categorical: list[str] | None = None,
    gappy: list[str] | None = None,
    rows: np.ndarray | None = None,
    channels: int | None = None,
) -> Encoder:
    """Codes and standardisation statistics from the training rows.

    ``categorical``: columns to one-hot encode (levels seen in these rows, sorted as text);
    ``gappy``: columns that get a fill value (median / most frequent level) and an indicator;
    ``rows``: the training rows of ``X`` (default all), read in chunks rather than copied;
    ``channels``: the columns are the pixels of images with this many channels (channel-major):
    one mean and scale per channel instead of per column, so that the pixels of one image keep
    their relative values (a near-constant border pixel is not blown up to unit variance).
    """
    categorical, gappy = set(categorical or []), set(gappy or [])
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)
    codes = []
    for name in X.columns:
        if name in categorical:
            series = X[name].iloc[rows]
            text = pd.Series(level_text(series.dropna()), dtype=object)
            levels = sorted(text.unique().tolist())
            fill = None
            if name in gappy:  # the most frequent level; ties go to the first in sorted order
                fill = text.value_counts().sort_index().idxmax() if len(text) else ""
            codes.append(ColumnCode(name, "categorical", levels, fill, name in gappy))
        else:
            fill = None
            if name in gappy:
                series = X[name].iloc[rows]
                values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
                finite = values[np.isfinite(values)]
                fill = float(np.median(finite)) if len(finite) else 0.0
            codes.append(ColumnCode(name, "numeric", [], fill, name in gappy))
    encoder = Encoder(codes, np.zeros(0), np.zeros(0))
    mean, std, constant = _column_moments(encoder, X, rows)
    scale = std.copy()
    scale[constant] = 1.0
    if channels is not None:
        # pooled over each channel's pixels (every column has the same rows); a channel whose
        # statistics reach 1e150 is pooled in units of its largest, so that squares of values
        # near 1e300 do not overflow (other channels: unit 1, the same arithmetic as ever)
        width = len(mean) // channels
        pixel_mean, pixel_std = mean.reshape(channels, width), std.reshape(channels, width)
        unit = np.maximum(np.abs(pixel_mean), pixel_std).max(axis=1, keepdims=True)
        unit[~(unit > 1e150)] = 1.0
        pixel_mean, pixel_std = pixel_mean / unit, pixel_std / unit
        channel_mean = pixel_mean.mean(axis=1)
        channel_var = (pixel_std**2 + pixel_mean**2).mean(axis=1) - channel_mean**2
        mean = np.repeat(channel_mean * unit[:, 0], width)
        scale = np.repeat(np.sqrt(np.maximum(channel_var, 0.0)) * unit[:, 0], width)
        scale[~(scale > 0)] = 1.0
    encoder.mean, encoder.scale = mean, scale
    return encoder


def _column_moments(encoder: Encoder, X: pd.DataFrame, rows: np.ndarray) -> tuple[
    np.ndarray, np.ndarray, np.ndarray
]:
    """Mean, standard deviation and constancy of every encoded input over ``rows``, in row
    chunks.

    Three passes (largest magnitude and range, mean, variance), each over chunks of the
    encoded rows; values are divided by the column's largest magnitude first so that values
    near 1e300 do not overflow.  A column is constant when its range is 0 (its std is 0 only up
    to rounding: 1e-17 for 0.1, 0.1, 0.1).
    """
    width = len(encoder.input_names)
    if not len(rows):
        return np.zeros(width), np.ones(width), np.zeros(width, dtype=bool)
    chunks = list(row_chunks(len(rows), width))

    def blocks():
        for part in chunks:
            yield encoder.raw(X.iloc[rows[part]])[0]

    low, high = np.full(width, np.inf), np.full(width, -np.inf)
    for values in blocks():
        low, high = np.minimum(low, values.min(axis=0)), np.maximum(high, values.max(axis=0))
    magnitude = np.maximum(np.abs(low), np.abs(high))
    magnitude[~(magnitude > 0)] = 1.0
    total = np.zeros(width)
    for values in blocks():
        total += (values / magnitude).sum(axis=0)
    centre = total / len(rows)
    squares = np.zeros(width)
    for values in blocks():
        squares += ((values / magnitude - centre) ** 2).sum(axis=0)
    mean = centre * magnitude
    std = np.sqrt(squares / len(rows)) * magnitude
    return mean, std, high == low


def read_groups(path: str, features: list[str]) -> dict[str, str]:
    """``--groups FILE``: a CSV with columns ``feature,group`` -> {feature: group}."""
    table = read_table(path, "csv" if not path.lower().endswith(".parquet") else None,
                       what="groups")
    if not {"feature", "group"} <= set(table.columns):
        raise DataError(f"{path}: a groups file needs the columns feature,group "
                        f"(found {', '.join(table.columns[:5])})")
    table = table.dropna(subset=["feature", "group"])
    names = table["feature"].astype(str)
    repeated = sorted(set(names[names.duplicated()]))
    if repeated:
        raise DataError(f"{path}: feature(s) listed twice: {', '.join(repeated[:5])}")
    unknown = [n for n in names if n not in features]
    if unknown:
        raise _unknown_column(unknown[0], features, f"{path}: feature")
    return dict(zip(names, table["group"].astype(str), strict=True))


def split_task_rows(
    task, target: np.ndarray, fraction: float, rng: np.random.Generator, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """``split_rows`` of a task's raw target, stratified by ``task.strata`` (classes for
    classification, the event indicator for cox, none otherwise)."""
    strata = task.strata(target)
    return split_rows(target if strata is None else strata, fraction, strata is not None, rng,
                      what)


def split_rows(
    y: np.ndarray, fraction: float, stratify: bool, rng: np.random.Generator, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out) with ``fraction`` of the rows held out, stratified by class.

    Stratified: every class with at least two rows contributes to both parts, in proportion.
    """
    n = len(y)
    if not 0 < fraction < 1:
        raise DataError(f"{what} must be between 0 and 1 (exclusive), got {fraction}")
    n_out = int(round(n * fraction))
    if n_out < 1 or n - n_out < 2:
        need = next(m for m in range(n + 1, n + 10_000)
                    if round(m * fraction) >= 1 and m - round(m * fraction) >= 2)
        raise DataError(
            f"{n} row(s) are too few for {what} {fraction}: need at least {need} rows"
        )
    if not stratify:
        order = rng.permutation(n)
        return np.sort(order[n_out:]), np.sort(order[:n_out])
    held: list[np.ndarray] = []
    _, codes = np.unique(y, return_inverse=True)
    for c in range(codes.max() + 1):
        members = rng.permutation(np.flatnonzero(codes == c))
        take = int(round(len(members) * fraction))
        if len(members) >= 2:
            take = min(max(take, 1), len(members) - 1)
        else:
            take = 0
        held.append(members[:take])
    out = np.sort(np.concatenate(held))
    if len(out) == 0:
        raise DataError(f"too few rows per class to hold out {what} {fraction}: a class "
                        "needs at least 2 rows to appear on both sides of the split")
    keep = np.setdiff1d(np.arange(n), out)
    return keep, out
