"""Writing tables atomically, in the format the user asked for.

An output path names one of three things, told apart before anything is written
(``_destination``):

- a regular file, or a name not yet taken: the data go to a temporary file beside it, renamed
  over it once complete, so a failed or interrupted run leaves no half file and never clobbers
  the old one.  A symbolic link is followed: its target is replaced, the link stays.
- a FIFO, a character device (``/dev/null``, a terminal) or an open file descriptor
  (``/dev/stdout``, ``/dev/fd/N``, what ``>(cmd)`` names): the data are written straight
  through to it, once complete; renaming a file over it would destroy it.
- anything else (a directory, a block device, a socket): refused.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import math
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .errors import DataError
from .signals import interruptible

if TYPE_CHECKING:  # the writers take frames; the stdout helpers that cli uses need no pandas
    import pandas as pd

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


def output_format(path: str | None, fmt: str | None, override: str | None = "--format") -> str:
    """``fmt`` if given, else from the output file's extension; csv for stdout and for a name
    without an extension (``/dev/null``, a FIFO).

    An extension that names no known format (``out.xlsx``) is refused rather than guessed:
    ``override`` is the option that would set the format, named in the message (None: none).
    """
    if fmt:
        if fmt not in OUTPUT_FORMATS:
            raise DataError(f"unknown format {fmt!r}: use one of {', '.join(OUTPUT_FORMATS)}")
        kind = fmt
    elif not path or path == "-":
        return "csv"
    else:
        suffix = Path(_without_gz(path)).suffix.lower()
        if suffix and suffix not in _BY_SUFFIX:
            text = ", ".join(s for s, kind in _BY_SUFFIX.items() if kind != "parquet")
            parquet = ", ".join(s for s, kind in _BY_SUFFIX.items() if kind == "parquet")
            choose = f", or choose the format with {override}" if override else ""
            raise DataError(f"cannot tell the format of {path!r} from its extension {suffix!r}: "
                            f"name it {text} (optionally + .gz) or {parquet}{choose}")
        kind = _BY_SUFFIX.get(suffix, "csv")
    if kind == "parquet" and path and path.lower().endswith(".gz"):
        # Parquet compresses its own columns; a gzipped one is read by few tools, this one not
        raise DataError(f"{path!r}: a Parquet file compresses its own columns and is not "
                        f"gzipped: name it {_without_gz(path)!r}")
    return kind


def check_model_name(path: str | None) -> None:
    """Refuse a ``--model-out`` (or ``save``) named as a table (``model.csv``,
    ``ranking.parquet``): the file would be safetensors whatever its name, most likely meant
    for ``-o`` (or ``ranking_table()``)."""
    if not path:
        return
    name = Path(_without_gz(path))
    fmt = _BY_SUFFIX.get(name.suffix.lower())
    if fmt not in (None, "table"):  # (.txt, aligned text, is no table format)
        raise DataError(lambda s: (
            f"{'--model-out' if s.cli else 'save'} {path!r} is named as a {fmt} table, but a "
            f"model file is safetensors: name it {str(name.with_suffix('.safetensors'))!r} "
            f"(the ranking {'goes to -o' if s.cli else 'is ranking_table()'})"))


def _without_gz(path: str) -> str:
    """``path`` without a final '.gz' (any case): the name whose extension says the format."""
    return path[:-3] if path.lower().endswith(".gz") else path


def _through_proc(path: str) -> bool:
    """True when resolving ``path`` passes through /proc, as /dev/stdout, /dev/fd/N and
    /proc/self/fd/N do: such a name is an open file descriptor, not an entry of a directory
    one could put a temporary file in (and its "target" may be a file open for appending)."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links followed
        parent = os.path.realpath(os.path.dirname(current))
        if parent == "/proc" or parent.startswith("/proc/"):
            return True
        current = os.path.join(parent, os.path.basename(current))
        if not os.path.islink(current):
            return False
        current = os.path.normpath(os.path.join(parent, os.readlink(current)))
    return False


def _destination(path: str) -> tuple[str, str]:
    """How ``path`` is written: ('file', the real path to replace atomically) or ('stream',
    ``path``, written straight through).  Raises DataError for what cannot be written."""
    if not path:
        raise DataError("cannot write '': the output needs a file name")
    try:
        info = os.stat(path)  # follows links
    except FileNotFoundError:
        info = None
    except OSError as e:  # a parent that is a file, a loop of links, no permission
        raise DataError(f"cannot write {path!r}: {e.strerror}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise DataError(f"cannot write {path!r}: it is a directory")
    if path.endswith(os.sep):  # 'results/': a directory meant, and none there to write in
        raise DataError(f"cannot write {path!r}: a name ending in {os.sep!r} is a directory, "
                        "and there is none; name the file (e.g. results/ranking.csv)")
    if info is not None and (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
        return "stream", path
    if _through_proc(path):
        if info is None:
            raise DataError(f"cannot write {path!r}: no such file, and none can be created "
                            "under /proc")
        return "stream", path
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise DataError(f"cannot write {path!r}: it is neither a regular file, a FIFO nor a "
                        "character device")
    return "file", os.path.realpath(path)


def _directory(real: str) -> str:
    return os.path.dirname(real) or "."


def write_failure(what: str, e: OSError) -> DataError:
    """One line for an OSError met while writing ``what`` (a quoted path, or 'stdout')."""
    if e.errno == errno.ENOSPC:
        return DataError(f"no space left writing {what}")
    if e.errno == errno.EDQUOT:
        return DataError(f"disk quota exceeded writing {what}")
    return DataError(f"cannot write {what}: {e.strerror or e}")


def check_writable(path: str | None, fmt: str | None = None) -> None:
    """Fail before any work is done when ``path`` cannot be written.

    stdout can unless it is closed (``>&-``), and parquet (``fmt``) is not written to a
    terminal.  For a file,
    the directory must exist and take a new file: a temporary one is created and removed at
    once (``os.access`` says yes to root anywhere, and to /proc).  A FIFO is not opened (that
    waits for a reader, and closing it would end the reader's input).
    """
    if path is None or path == "-":
        if sys.stdout is None:
            raise DataError("cannot write stdout: it is closed")
        if fmt == "parquet" and sys.stdout.isatty():
            raise DataError("refusing to write parquet to a terminal: use -o FILE.parquet")
        return
    kind, where = _destination(path)
    if kind == "stream":
        if not os.access(where, os.W_OK):
            raise DataError(f"cannot write {path!r}: permission denied")
        return
    fd, probe = _temporary_beside(path, where)
    os.close(fd)
    os.unlink(probe)


# the optional outputs that are tables, which may go to stdout ('-') where -o does not
TABLE_OUTPUTS = ("--path-out",)


def check_outputs(inputs: dict[str, str | None], output: str | None, fmt: str | None,
                  files: dict[str, str | None] | None = None) -> None:
    """Before any work: the main table's destination ``output`` (None or '-': stdout) takes
    ``fmt``, each optional file output that is given ({flag: path}) can be written, at most
    one input ({role: path}) reads stdin, and no output names an input or another output
    (``check_distinct``)."""
    files = files or {}
    from_stdin = [role for role, path in inputs.items() if path == "-"]
    if len(from_stdin) > 1:
        raise DataError(f"{' and '.join(from_stdin)} both read stdin ('-'), which can be read "
                        "once: give one of them as a file")
    check_writable(output, fmt)
    for flag, path in files.items():
        if path == "-":
            if flag not in TABLE_OUTPUTS:
                raise DataError(f"{flag} cannot be '-': it writes a file, not stdout: name one")
            if output is None or output == "-":
                raise DataError(f"{flag} - and the main table (-o) would both go to stdout: "
                                "write one of them to a file")
        if path is not None:
            check_writable(path)
    check_distinct(inputs, {"-o": output, **files})


def write_outputs(outputs: list[tuple[str | None, Callable[[], None]]]) -> None:
    """Write a command's outputs, each (path: None or '-' for stdout; its writer), the main
    table first.  What cannot be taken back goes first (stdout, a FIFO, a device: written
    straight through), so that if one of those fails no file has been written or replaced;
    then the files, each atomically, the main table's last (a failing other output leaves
    none of it)."""
    def is_stream(path: str | None) -> bool:
        return path is None or path == "-" or _destination(path)[0] == "stream"

    streams = [write for path, write in outputs if is_stream(path)]
    files = [write for path, write in outputs[1:] + outputs[:1] if not is_stream(path)]
    for write in streams + files:
        write()


def check_distinct(inputs: dict[str, str | None], outputs: dict[str, str | None]) -> None:
    """Refuse an output that names the same file as an input or another output (by role,
    e.g. {'the input': 'data.csv'} and {'-o': 'out.csv', '--path-out': 'path.csv'}): the
    write would replace the input, or one output the other.  Through links and hard links
    too; stdout, devices and FIFOs are streams, which several outputs may share."""
    seen: dict[object, str] = {}
    for role, path in [*inputs.items(), *outputs.items()]:
        if path is None or path == "-":
            continue
        try:
            info = os.stat(path)
        except OSError:
            key: object = os.path.realpath(path)
        else:
            if not stat.S_ISREG(info.st_mode):
                continue
            key = (info.st_dev, info.st_ino)
        if key in seen and role in outputs:
            raise DataError(f"{role} names the same file as {seen[key]} ({path}): write it "
                            "elsewhere")
        seen.setdefault(key, role)


def _temporary_beside(path: str, where: str) -> tuple[int, str]:
    """A new empty file (descriptor, name) in the directory of ``where``, the real path that
    ``path`` names; DataError if that directory is missing or takes no new file."""
    directory = _directory(where)
    if not os.path.isdir(directory):
        given = _directory(path)  # name the directory as the user did, unless a link moved it
        shown = given if os.path.realpath(given) == directory else directory
        raise DataError(f"cannot write {path!r}: directory {shown!r} does not exist")
    try:
        return tempfile.mkstemp(prefix=f".{os.path.basename(where)}.", suffix=".tmp",
                                dir=directory)
    except OSError as e:
        raise DataError(f"cannot write {path!r}: {e.strerror or e}") from None


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[BinaryIO]:
    """A binary file whose content reaches ``path`` only if the block completes.

    For a file (``_destination``) the data go to a temporary file beside the real path, renamed
    over it at the end; on any error (or Ctrl-C) the temporary file is removed and an existing
    file is left untouched.  For a FIFO or a device the data are gathered and written through
    once the block completes.  An OSError while writing becomes one DataError line.
    """
    kind, where = _destination(path)
    if kind == "stream":
        buffer = io.BytesIO()
        yield buffer
        try:
            # no O_CREAT (nothing is created), no O_TRUNC (a file behind /dev/stdout opened
            # with >> keeps what it has); a FIFO waits here for a reader, nothing written yet
            with interruptible():
                fd = os.open(where, os.O_WRONLY | os.O_APPEND | os.O_NOCTTY)
            with os.fdopen(fd, "wb") as handle:
                _write_all(handle, buffer.getvalue())
        except BrokenPipeError:
            pass  # the reader has gone, as in `-o /dev/stdout | head`: end quietly
        except OSError as e:
            raise write_failure(repr(path), e) from None
        return
    fd, tmp = _temporary_beside(path, where)
    try:
        with os.fdopen(fd, "wb") as handle:
            try:
                yield handle
                handle.flush()
            except OSError as e:
                raise write_failure(repr(path), e) from None
        os.chmod(tmp, 0o644)
        os.replace(tmp, where)
    except OSError as e:  # closing (the last flush), the mode, the rename
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if e.errno in (errno.ENOSPC, errno.EDQUOT) or not os.path.lexists(where):
            raise write_failure(repr(path), e) from None
        # e.g. an immutable file, or a directory that takes no new names
        raise DataError(f"cannot replace {path!r}: {e.strerror or e}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def table_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """Serialise a table; floats keep full precision so outputs are reproducible."""
    if fmt in ("csv", "tsv", "table"):
        df = _bytes_as_text(df)
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
        import numpy as np

        # pandas compares a float16 column (a Parquet column passed through by --keep) with
        # 1e6 in float16, which warns of the overflow on stderr
        with np.errstate(over="ignore"):
            return (_printable_frame(df).to_string(index=False) + "\n").encode()
    if fmt == "parquet":
        buf = io.BytesIO()
        try:
            df.to_parquet(buf, index=False)
        except Exception as e:  # pyarrow's own errors: a column it cannot store (--keep)
            if not type(e).__module__.startswith("pyarrow"):
                raise
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DataError(f"cannot write the table as parquet ({first}): choose another "
                            "format, e.g. --format jsonl") from None
        return buf.getvalue()
    raise DataError(f"unknown format {fmt!r}")


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``), for output read on a
    terminal: a name holding a line break would split its line, an escape sequence would drive
    the terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _printable_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with control characters in its column names and text cells escaped
    (``printable``; pandas escapes only tabs and line breaks), as ``--format table`` shows it."""
    df = df.rename(columns=lambda c: printable(c) if isinstance(c, str) else c)
    text = [c for c in range(df.shape[1]) if df.dtypes.iloc[c].kind not in "biufcmM"]
    if text:
        df = df.copy()
        for c in text:
            df.isetitem(c, df.iloc[:, c].map(lambda v: printable(v) if isinstance(v, str) else v))
    return df


def _bytes_as_text(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the bytes cells of its text columns (a binary column that predict --keep
    passes through) decoded (``_bytes_text``), rather than written as "b'...'"."""
    binary = [c for c in df.columns if df[c].dtype == object
              and df[c].map(lambda v: isinstance(v, bytes)).any()]
    if not binary:
        return df
    df = df.copy()
    for c in binary:
        df[c] = df[c].map(lambda v: _bytes_text(v) if isinstance(v, bytes) else v)
    return df


def _bytes_text(value: bytes) -> str:
    """A bytes cell as text: UTF-8, undecodable bytes escaped (\\xff)."""
    return value.decode("utf-8", errors="backslashreplace")


def _json_value(value):
    """A cell as json writes it: Python scalars (repr keeps every float bit), non-finite
    numbers and missing values as null, dates and times in ISO 8601, durations as ISO 8601
    durations, bytes as text (undecodable bytes escaped), decimals as numbers, and the
    lists and mappings of nested columns (passed through by --keep) element by element."""
    import datetime
    import decimal

    import numpy as np
    import pandas as pd

    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timedelta | datetime.timedelta | np.timedelta64):
        delta = pd.Timedelta(value)
        return None if delta is pd.NaT else delta.isoformat()
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
        return None if value is pd.NaT else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):  # (pandas' Timestamp too)
        return value.isoformat()
    if isinstance(value, bytes):
        return _bytes_text(value)
    if isinstance(value, decimal.Decimal):
        value = float(value)
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
        check_writable(path, kind)
        write_stdout(data)
        return
    if path.lower().endswith(".gz"):
        data = gzip.compress(data, mtime=0)  # mtime 0: same input, same bytes
    write_file(path, data)


def write_file(path: str, data: bytes) -> None:
    """Write ``data`` to the file ``path`` atomically (``atomic_output``)."""
    with atomic_output(path) as handle:
        handle.write(data)


def write_stdout(data: bytes) -> None:
    """Write ``data`` to stdout and flush it (``b""``: flush what print() left buffered).

    A reader that has gone (``| head``) ends it quietly; a full disk or another failure is a
    DataError.
    """
    if sys.stdout is None:  # started with stdout closed (`>&-`): only writing it fails
        if data:
            raise DataError("cannot write stdout: it is closed")
        return
    try:
        sys.stdout.flush()  # text printed before goes first
        if data:
            _write_all(sys.stdout.buffer, data)
            sys.stdout.buffer.flush()
    except BrokenPipeError:
        detach_stdout()
    except OSError as e:
        detach_stdout()
        raise write_failure("stdout", e) from None


def _write_all(handle: BinaryIO, data: bytes) -> None:
    """Write all of ``data``: a buffered write to a pipe or a device that a signal interrupts
    returns the bytes written so far (the signal being held, ``signals.committing``), which
    ended a run with exit 0 and the first 64 KiB of its output."""
    view = memoryview(data)
    while view:
        view = view[handle.write(view):]


def detach_stdout() -> None:
    """Point stdout at /dev/null, so that what is still buffered goes nowhere at exit instead
    of failing a second time (Python would print an 'Exception ignored' report)."""
    try:
        fileno = sys.stdout.fileno()
    except (OSError, ValueError):  # not a real file (a test's capture): nothing is left over
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)
