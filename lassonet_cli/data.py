"""Reading tables, choosing columns, checking and encoding them, and splitting rows.

Everything a user can get wrong about the input is detected here and raised as ``DataError``
with a message that says what is wrong and how to fix it.
"""

from __future__ import annotations

import difflib
import fnmatch
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

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


def read_table(path: str, fmt: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV (optionally gzipped) or Parquet table from a path or ``-`` (stdin)."""
    kind = input_format(path, fmt)
    if path == "-":
        raw = sys.stdin.buffer.read()
        source: object = io.BytesIO(raw)
        compression = "gzip" if raw[:2] == b"\x1f\x8b" else None
    else:
        p = Path(path)
        if not p.exists():
            raise DataError(f"input file {path!r} does not exist")
        if p.is_dir():
            raise DataError(f"input {path!r} is a directory, not a table")
        source = p
        compression = "infer"
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(source)
            _check_unique(path, table.column_names)
            df = table.to_pandas()
        else:
            df = pd.read_csv(
                source,
                sep="\t" if kind == "tsv" else ",",
                compression=compression,
                encoding="utf-8-sig",
            )
    except DataError:
        raise
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: the file is not valid UTF-8 text ({e.reason})") from None
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
        names = _raw_header(source, kind, compression) or names
    _check_unique(path, names)
    df.columns = [str(c) for c in df.columns]
    return df


def _raw_header(source, kind: str, compression) -> list[str] | None:
    """The header row as written (pandas renames repeated names to 'x.1', hiding them)."""
    if isinstance(source, io.BytesIO):
        source.seek(0)
    try:
        row = pd.read_csv(
            source, sep="\t" if kind == "tsv" else ",", compression=compression,
            encoding="utf-8-sig", header=None, nrows=1, dtype=str, keep_default_na=False,
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
    """Which columns of the table play which role."""

    target: str
    features: list[str]
    id: str | None = None


def select_columns(
    df: pd.DataFrame,
    target: str,
    features: str | None = None,
    exclude: str | None = None,
    id_column: str | None = None,
) -> Selection:
    """Resolve ``--target``, ``--features``, ``--exclude`` and ``--id`` against the table."""
    columns = list(df.columns)
    if target not in columns:
        raise _unknown_column(target, columns, "target")
    if id_column is not None and id_column not in columns:
        raise _unknown_column(id_column, columns, "--id")
    candidates = _expand(features, columns, "--features") if features else columns
    dropped = set(_expand(exclude, columns, "--exclude")) if exclude else set()
    chosen = [c for c in candidates if c not in dropped and c != target and c != id_column]
    if not chosen:
        raise DataError("no feature columns are left after --features/--exclude/--target/--id")
    return Selection(target=target, features=chosen, id=id_column)


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


@dataclass
class Encoder:
    """Training-set preprocessing of the feature columns, applied the same way at predict time.

    Attributes
    ----------
    columns : input column names, in model order
    mean, scale : (d,) standardisation statistics from the training rows
    """

    columns: list[str]
    mean: np.ndarray
    scale: np.ndarray

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """(n, d) float32 matrix of standardised features."""
        X = df[self.columns].to_numpy(dtype=np.float64)
        return ((X - self.mean) / self.scale).astype(np.float32)

    def to_dict(self) -> dict:
        return {
            "columns": list(self.columns),
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
        }


@dataclass
class Prepared:
    """A checked table ready for training."""

    X: pd.DataFrame
    y: pd.Series
    task: str
    notes: list[str] = field(default_factory=list)


def check_table(df: pd.DataFrame, sel: Selection, task: str = "auto") -> Prepared:
    """Check the chosen columns and infer the task; raise DataError on anything unusable."""
    if len(df) == 0:
        raise DataError("the table has no rows")
    notes: list[str] = []
    y = df[sel.target]
    X = df[sel.features]

    non_numeric = [
        c for c in sel.features
        if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])
    ]
    if non_numeric:
        shown = ", ".join(non_numeric[:5]) + (" ..." if len(non_numeric) > 5 else "")
        raise DataError(
            f"non-numeric feature column(s): {shown}; this version needs numeric features: "
            "drop them with --exclude"
        )
    gaps = X.isna().sum()
    gaps = gaps[gaps > 0]
    if len(gaps):
        listed = ", ".join(f"{c} ({n} missing)" for c, n in gaps.items())
        raise DataError(f"missing values in feature columns: {listed}; remove or fill them")
    values = X.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        bad = [c for c in sel.features if not np.isfinite(X[c].to_numpy(dtype=np.float64)).all()]
        raise DataError(f"infinite values in feature column(s): {', '.join(bad)}")
    if y.isna().any():
        raise DataError(
            f"the target column {sel.target!r} has {int(y.isna().sum())} missing value(s)"
        )

    if task == "auto":
        task = infer_task(y)
        notes.append(f"task: {task} (from the target column {sel.target!r}; override with --task)")
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise DataError(f"--task regression needs a numeric target; {sel.target!r} is not")
        if not np.isfinite(y.to_numpy(dtype=np.float64)).all():
            raise DataError(f"the target column {sel.target!r} has infinite values")

    if y.nunique() < 2:
        raise DataError(
            f"the target column {sel.target!r} is constant ({_plain(y.iloc[0])!r}): "
            "nothing to predict"
        )

    constant = [c for c in sel.features if X[c].nunique() <= 1]
    if constant:
        notes.append(f"dropped {len(constant)} constant column(s): {', '.join(constant[:10])}"
                     + (" ..." if len(constant) > 10 else ""))
        X = X.drop(columns=constant)
        if X.shape[1] == 0:
            raise DataError("every feature column is constant: there is nothing to select")
    return Prepared(X=X, y=y, task=task, notes=notes)


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if hasattr(value, "item") else value


def check_features(df: pd.DataFrame, columns: list[str]) -> None:
    """The columns a saved model needs are present, numeric, complete and finite."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DataError(f"the input lacks {len(missing)} column(s) the model needs: {shown}")
    X = df[columns]
    non_numeric = [
        c for c in columns
        if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])
    ]
    if non_numeric:
        raise DataError(f"non-numeric values in column(s): {', '.join(non_numeric[:5])}")
    gaps = X.isna().sum()
    gaps = gaps[gaps > 0]
    if len(gaps):
        listed = ", ".join(f"{c} ({n} missing)" for c, n in gaps.items())
        raise DataError(f"missing values in column(s): {listed}")
    finite = np.isfinite(X.to_numpy(dtype=np.float64))
    if not finite.all():
        bad = [c for c, ok in zip(columns, finite.all(axis=0), strict=True) if not ok]
        raise DataError(f"infinite values in column(s): {', '.join(bad)}")


def fit_encoder(X: pd.DataFrame) -> Encoder:
    """Standardisation statistics from the training rows (constant-in-training -> scale 1)."""
    values = X.to_numpy(dtype=np.float64)
    mean = values.mean(axis=0)
    scale = values.std(axis=0)
    # a column constant in training has std 0 up to rounding (1e-17 for 0.1, 0.1, 0.1)
    scale[np.ptp(values, axis=0) == 0] = 1.0
    return Encoder(columns=list(X.columns), mean=mean, scale=scale)


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
        raise DataError(f"too few rows per class to hold out {what} {fraction}")
    keep = np.setdiff1d(np.arange(n), out)
    return keep, out
