"""Writing tables atomically, in the format the user asked for."""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from .errors import DataError

OUTPUT_FORMATS = ("csv", "tsv", "json", "jsonl", "parquet", "table")
_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "table",
}


def output_format(path: str | None, fmt: str | None) -> str:
    """``--format`` if given, else from the output file's extension, else csv."""
    if fmt:
        if fmt not in OUTPUT_FORMATS:
            raise DataError(f"unknown --format {fmt!r}: use one of {', '.join(OUTPUT_FORMATS)}")
        return fmt
    if path and path != "-":
        name = path[:-3] if path.lower().endswith(".gz") else path
        return _BY_SUFFIX.get(Path(name).suffix.lower(), "csv")
    return "csv"


def check_writable(path: str | None) -> None:
    """Fail before any work is done when ``path`` cannot be written (stdout always can)."""
    if path is None or path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise DataError(f"cannot write {path!r}: it is a directory")
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise DataError(f"cannot write {path!r}: directory {str(directory)!r} does not exist")
    if not os.access(directory, os.W_OK):
        raise DataError(f"cannot write {path!r}: directory {str(directory)!r} is not writable")


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` only if the block completes.

    The data go to a temporary file beside ``path``, renamed over it at the end; on any error
    (or Ctrl-C) the temporary file is removed and an existing ``path`` is left untouched.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise DataError(f"cannot write {path!r}: directory {str(directory)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise DataError(f"cannot write {path!r}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def table_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """Serialise a table; floats keep full precision so outputs are reproducible."""
    if fmt == "csv":
        return df.to_csv(index=False, lineterminator="\n").encode()
    if fmt == "tsv":
        return df.to_csv(index=False, sep="\t", lineterminator="\n").encode()
    if fmt in ("json", "jsonl"):
        records = [
            {key: _json_value(value) for key, value in row.items()}
            for row in df.to_dict(orient="records")
        ]
        if fmt == "json":
            return (json.dumps(records, indent=1) + "\n").encode()
        return "".join(json.dumps(r) + "\n" for r in records).encode()
    if fmt == "table":
        return (df.to_string(index=False) + "\n").encode()
    if fmt == "parquet":
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()
    raise DataError(f"unknown format {fmt!r}")


def _json_value(value):
    """Python scalars for json (repr keeps every float bit); non-finite numbers become null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_table(df: pd.DataFrame, path: str | None, fmt: str | None = None) -> None:
    """Write ``df`` to ``path`` atomically, or to stdout when ``path`` is None or ``-``."""
    kind = output_format(path, fmt)
    data = table_bytes(df, kind)
    if path is None or path == "-":
        if kind == "parquet" and sys.stdout.isatty():
            raise DataError("refusing to write parquet to a terminal: use -o FILE.parquet")
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            # the reader (e.g. `head`) has gone: end quietly, with no second error at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return
    if path.lower().endswith(".gz"):
        data = gzip.compress(data, mtime=0)  # mtime 0: same input, same bytes
    with atomic_output(path) as handle:
        handle.write(data)
