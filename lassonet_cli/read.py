"""Reading tables: CSV, TSV (optionally gzipped) and Parquet, from a path or stdin; the
``--groups`` file.

The format comes from ``--input-format`` or the file name, the separator of a text table from
``--sep`` or its header line.  Everything a user can get wrong about reading the input (a
missing file, the wrong encoding, separator or decimal mark, unnamed or repeated columns) is
raised as ``DataError`` with a message that says what is wrong and how to fix it.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import io
import lzma
import stat
import sys
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .columns import is_categorical, unknown_column
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
    text: bool = False,
    as_text: Callable[[list[str]], list[str]] | None = None,
) -> pd.DataFrame:
    """Read a CSV, TSV (optionally gzipped) or Parquet table from a path or ``-`` (stdin).

    ``sep``: the field separator of text tables; by default tab for .tsv, and for .csv the one
    of ``, ; tab |`` that occurs most often in the header line.  ``encoding``: of text tables
    (a UTF-8 byte-order mark is always skipped).  ``na_values``: cells that mean "missing"
    besides the empty cell and pandas' usual NA, NaN, null, ... (in Parquet, text cells equal
    to one of them).  ``decimal``: the decimal mark of numbers in text tables.  ``what``: the
    file's role in messages ("input", "groups").  ``text``: every cell of a text table is read
    as the text it holds, an empty cell as '' (a groups file's labels '007' and '7' stay two,
    and 'NA' or 'null' is a label, not a gap).  ``as_text``: given the header of a text table,
    the columns to read as the text they hold (gaps stay gaps): IDs passed through, whose
    '007' or 9007199254740993 a number would change.  Parquet bytes on stdin are
    recognised by their magic number; decimal Parquet columns are read as float64.
    """
    p = Path(path)
    if not path:  # (Path('') is the working directory: not 'a directory' to the user)
        raise DataError(f"{what} file name is empty: name a table, or - for stdin")
    if path != "-" and not p.exists():
        raise DataError(f"{what} file {path!r} does not exist")
    if path != "-" and p.is_dir():
        raise DataError(f"{what} file {path!r} is a directory, not a table")
    if path == "-" or _is_stream(p):
        # stdin, a pipe (`<(zcat t.csv.gz)`) or a FIFO can be read once: read it into memory
        kind = _stream_format(path, fmt)
        raw = _read_stream(path, encoding)
        source: object = io.BytesIO(raw)
        head = raw[:HEAD_BYTES]
        compression = "gzip" if head.startswith(GZIP_MAGIC) else None
        if fmt is None and head.startswith(PARQUET_MAGIC):
            kind = "parquet"
    else:
        kind = input_format(path, fmt)
        source = p
        head = _first_bytes(p, HEAD_BYTES)  # (its magic numbers and text encoding)
        if kind != "parquet":  # (a .parquet name without its magic number is said as such)
            _refuse_binary(path, head, encoding)
        # gzip by its first bytes too: a gzipped table named .csv
        compression = "gzip" if head.startswith(GZIP_MAGIC) else "infer"
        refused = next((what for ext, what in _REFUSED_COMPRESSION.items()
                        if path.lower().endswith(ext)), None)
        # (a gzipped table named .zst is read as gzip; a .tar.gz is an archive all the same)
        if refused and kind != "parquet" and (compression != "gzip" or refused == "a tar"):
            raise DataError(f"{path}: {refused} file: decompress it first (a table compressed "
                            "with gzip, bzip2, xz or zip is read as it is)")
        if kind == "parquet" and fmt is None and not head.startswith(PARQUET_MAGIC):
            if compression == "gzip":  # (t.parquet.gz: Parquet compresses inside the file)
                raise DataError(f"{path}: a gzipped file, not a Parquet file: gunzip it "
                                "first (a gzipped CSV reads with --input-format csv)")
            raise DataError(f"{path}: not a Parquet file (it does not start with "
                            f"{PARQUET_MAGIC.decode()}): if it is text, read it with "
                            "--input-format csv")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"unknown --encoding {encoding!r} (try utf-8, latin-1, cp1252)") from None
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    text_encoding = "utf-8-sig" if utf8 else encoding
    if utf8 and compression != "gzip" and head.startswith(UTF32_BOMS):
        text_encoding = "utf-32"  # (before UTF-16: UTF-32-LE's mark starts with UTF-16-LE's)
    elif utf8 and compression != "gzip" and head.startswith(UTF16_BOMS):
        text_encoding = "utf-16"  # (its byte-order mark says so; --encoding is the default)
    elif utf8 and compression != "gzip" and kind != "parquet":
        text_encoding = _utf16_without_bom(head) or text_encoding
    excel_sep = None
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            df = _read_parquet(pq.ParquetFile(source), path, na_values)
        else:
            # Excel writes the separator as a first line of its own, "sep=;"
            excel_sep = _excel_separator(_first_line(source, compression, text_encoding))
            if sep is None:
                sep = excel_sep or ("\t" if kind == "tsv" else
                                    _sniff_separator(source, compression, text_encoding))
            # a decimal mark that is also the separator reads only inside quoted cells
            # ("0,35","1,2"): a bare one splits the number, and the rows outgrow the header
            shared = decimal == sep
            if shared and not _quotes_decimal(_head(source, compression, text_encoding),
                                              decimal):
                raise _shared_mark(path, decimal)

            dtype: object = str if text else None

            def read_csv(**more):
                return pd.read_csv(source, sep=sep, compression=compression,
                                   encoding=text_encoding, na_values=na_values or None,
                                   decimal=decimal, dtype=dtype,
                                   keep_default_na=not text,
                                   skiprows=1 if excel_sep else None, **more)

            if as_text is not None and not text:
                chosen = as_text([str(c) for c in read_csv(nrows=0).columns])
                if isinstance(source, io.BytesIO):
                    source.seek(0)
                dtype = {name: str for name in chosen} or None
            df = read_csv()
            if shared and not isinstance(df.index, pd.RangeIndex):
                raise _shared_mark(path, decimal)
            if not isinstance(df.index, pd.RangeIndex) and _trailing_separator(
                    _head(source, compression, text_encoding), sep, 1 if excel_sep else 0):
                # rows one field longer than the header: pandas takes the first field for row
                # names (as R writes them), which shifts every column of a file whose rows end
                # in a separator; read it without row names instead (the empty last field
                # goes)
                if isinstance(source, io.BytesIO):
                    source.seek(0)
                with warnings.catch_warnings():  # (pandas warns of the field it drops)
                    warnings.simplefilter("ignore", pd.errors.ParserWarning)
                    df = read_csv(index_col=False)
    except DataError:
        raise
    except UnicodeDecodeError as e:
        if head.startswith(PARQUET_MAGIC):
            raise DataError(f"{path}: this is a Parquet file, not {kind} text: read it with "
                            "--input-format parquet") from None
        packed = next((name for magic, name in OTHER_COMPRESSION if head.startswith(magic)), None)
        if packed:  # (--encoding latin-1, the advice below, would read its bytes as text)
            raise DataError(f"{path}: {packed} file, not {kind} text: decompress it first "
                            "(a gzipped table is read as it is)") from None
        raise DataError(
            f"{path}: the file is not valid {'UTF-8' if utf8 else encoding} text ({e.reason}); "
            "name its encoding with --encoding, e.g. --encoding latin-1"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the table is empty") from None
    except EOFError:  # (click would take it for Ctrl-D, an interruption)
        raise DataError(f"{path}: damaged compressed file: it ends before its end-of-stream "
                        "marker (truncated?)") from None
    except zlib.error as e:
        raise DataError(f"{path}: damaged compressed file ({e})") from None
    except pd.errors.ParserError as e:
        first = str(e).strip().splitlines()[0]
        raise DataError(f"{path}: cannot parse as {kind}: {first}") from None
    except (OSError, ValueError, LookupError) as e:  # (KeyError: pandas metadata that lies)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"{path}: cannot read as {kind}: {first}") from None
    except Exception as e:  # pyarrow raises its own error types for corrupt files
        if type(e).__module__.startswith("pyarrow"):
            first = str(e).strip().splitlines()[0]
            raise DataError(f"{path}: cannot read as {kind}: {first}") from None
        raise
    if kind != "parquet" and decimal != "." and not text:
        _check_points(path, df.drop(columns=list(dtype or ()) if as_text else []), decimal)
    names = [str(c) for c in df.columns]
    if kind != "parquet":
        names = _raw_header(source, sep, compression, text_encoding,
                            skip=1 if excel_sep else 0) or names
        if len(names) == 1:
            _check_separator(path, names[0], sep)
    _check_named(path, names)
    _check_unique(path, names)
    df.columns = [str(c) for c in df.columns]
    df.attrs["format"] = kind  # (predict writes a text table's integers with gaps as integers)
    return df


PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"
OTHER_COMPRESSION = ((b"BZh", "a bzip2-compressed"), (b"\xfd7zXZ\x00", "an xz-compressed"),
                     (b"PK\x03\x04", "a zip"), (b"\x28\xb5\x2f\xfd", "a zstd-compressed"))
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
HEAD_BYTES = 64  # the first bytes read_table looks at (magic numbers, text encoding)


def _check_points(path: str, df: pd.DataFrame, decimal: str) -> None:
    """DataError naming a text column of numbers written with '.' in a table read with
    another ``decimal`` mark: they are text to it (and every one its own level)."""
    for name in df.columns:
        if pd.api.types.is_numeric_dtype(df[name]) or pd.api.types.is_bool_dtype(df[name]):
            continue
        cells = df[name].dropna().astype(str)
        pointed = cells.str.contains(".", regex=False).to_numpy()
        if pointed.any() and pd.to_numeric(cells, errors="coerce").notna().all():
            example = cells[pointed].iloc[0]
            raise DataError(f"{path}: column {name!r} holds numbers written with '.' "
                            f"({example!r}), which --decimal {decimal} reads as text: leave "
                            "--decimal out if '.' is their decimal mark, or remove the "
                            "thousands separators")


def _shared_mark(path: str, decimal: str) -> DataError:
    return DataError(f"{path}: --decimal {decimal!r} is also the field separator, and its "
                     "numbers are not all quoted: name another separator with --sep (e.g. "
                     "--sep ';')")


def _is_stream(path: Path) -> bool:
    """A pipe, FIFO, socket or character device: what can be read only once."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _read_stream(path: str, encoding: str = "utf-8") -> bytes:
    """Every byte of stdin (``-``) or a pipe, once its first bytes show no binary file."""
    if path == "-":
        if sys.stdin is None:  # started with stdin closed (`<&-`)
            raise DataError("cannot read stdin: it is closed")
        head = sys.stdin.buffer.read(HEAD_BYTES)
        _refuse_binary("stdin", head, encoding)  # (before the rest: < /dev/zero never ends)
        return head + sys.stdin.buffer.read()
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
            _refuse_binary(path, head, encoding)
            return head + handle.read()
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror or e}") from None


def _refuse_binary(path: str, head: bytes, encoding: str = "utf-8") -> None:
    """DataError where ``head`` holds a NUL byte and starts no compressed file, Parquet file or
    UTF-16/32 text: a binary file (an image, /dev/zero) read as text was one header of NULs,
    named in an error line of 100,000 characters (and stdin from /dev/zero never ended).
    Only for UTF-8, the default: text in another ``--encoding`` (UTF-16 without its mark,
    say) holds NULs."""
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return
    known = (PARQUET_MAGIC, GZIP_MAGIC, *UTF16_BOMS, *UTF32_BOMS,
             *(magic for magic, _ in OTHER_COMPRESSION))
    if b"\x00" in head and not head.startswith(known) and _utf16_without_bom(head) is None:
        raise DataError(f"{path}: holds NUL bytes, as a binary file does, not text: give a CSV, "
                        "TSV or Parquet table (or name a text table's encoding, e.g. "
                        "--encoding utf-16)")


def _stream_format(path: str, fmt: str | None) -> str:
    """A stream's format: --input-format, else its name's extension if it has a known one
    (a FIFO named t.tsv), else csv for stdin and pipes (``-``, ``/dev/fd/63``; Parquet is told
    by its bytes).  A character device needs one of the first two (/dev/zero never ends)."""
    if fmt is not None or path == "-" or not stat.S_ISFIFO(Path(path).stat().st_mode):
        return input_format(path, fmt)
    name = path.lower()[:-3] if path.lower().endswith(".gz") else path.lower()
    return FORMATS.get(Path(name).suffix, "csv")


def _first_bytes(source, n: int) -> bytes:
    """The first ``n`` bytes of a path or an in-memory stream (b"" where unreadable)."""
    if isinstance(source, io.BytesIO):
        return source.getvalue()[:n]
    try:
        with open(source, "rb") as handle:
            return handle.read(n)
    except OSError:
        return b""


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' where ``head`` reads as UTF-16 text without a byte-order
    mark (a NUL beside every ASCII character: 'y\\x00,\\x00'), else None."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    odd, even = head[1:2 * pairs:2], head[0:2 * pairs:2]
    if odd.count(0) == pairs and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) == pairs and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _check_separator(path: str, header: str, sep: str) -> None:
    """A one-column text table whose header holds another separator was split with the wrong
    one (``--sep x`` on a comma table): say so, rather than miss every column later."""
    if header.lstrip().startswith("#"):  # (a comment's spaces are no separator)
        raise DataError(f"{path}: the first line {header!r} reads as a comment, not a header: "
                        "remove the comment lines above the header")
    others = [s for s in SEPARATORS if s != sep and s in header]
    if not others:
        return  # a table of one column (columns.select_columns hints if a name is then missing)
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


def _nested_as_written(table) -> dict:
    """{name: object array} for ``table``'s nested columns (structs, lists, maps), their
    integers kept as integers: converted with the rest, an integer field with a gap (or a row
    that is null) became a float, and ``predict --keep`` wrote 1.0 for 1.  Nested columns are
    never features, only passed through."""
    import pyarrow as pa

    return {field.name: table.column(field.name).to_pandas(integer_object_nulls=True)
            .to_numpy(dtype=object) for field in table.schema if pa.types.is_nested(field.type)}


def _read_parquet(file, path: str, na_values: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file as a DataFrame, read a few columns at a time.

    Reading the whole table and converting it holds the decoded Arrow table, the reader's
    buffers and the frame at once: about 3.5 times the data for a tall float table.  Reading
    groups of columns of about ``CHUNK_CELLS`` cells, each converted into its own blocks and
    released before the next, keeps that near 2 times.  A group's columns of one type share
    a block: a block per column made every later row slice of a wide table visit each column
    apart (seconds on 10,000 columns; ``benchmarks/prepare_time.py``).

    Decimal columns become float64 (pandas would hold them as Python objects, taken for text);
    text cells equal to one of ``na_values`` become missing, and a text column whose other
    cells are all numbers then becomes float64, as it would in a CSV.
    """
    schema = file.schema_arrow
    _check_unique(path, schema.names)
    # an unnamed pandas index saved as a column (__index_level_0__: row labels, such as the
    # rows kept by a filter) is not data; a named one (df.set_index('sample')) is a column
    try:
        meta = schema.pandas_metadata or {}
    except ValueError:  # (not JSON)
        meta = {}
    # pandas metadata that is not JSON, or names index columns the file lacks, is not used
    # (pandas fails on it): the columns are read as they are
    ignore_metadata = (b"pandas" in (schema.metadata or {}) and not meta) or any(
        isinstance(c, str) and c not in schema.names for c in meta.get("index_columns", []))
    index = {c for c in meta.get("index_columns", [])
             if isinstance(c, str) and c.startswith("__index_level_")}
    names = [n for n in schema.names if n not in index]
    per_read = max(1, CHUNK_CELLS // max(1, file.metadata.num_rows))
    frames = []
    if len(meta.get("column_indexes", [])) > 1:  # df.columns a MultiIndex
        raise DataError(f"{path}: its columns have names of {len(meta['column_indexes'])} "
                        "levels (a pandas MultiIndex): give them one-level names "
                        "(df.columns = ['_'.join(c) for c in df.columns]) before saving")
    for start in range(0, max(len(names), 1), per_read):
        table = _decimals_as_floats(file.read(columns=names[start : start + per_read]))
        if ignore_metadata:
            table = table.replace_schema_metadata(None)
        nested = _nested_as_written(table)
        frame = table.to_pandas(self_destruct=True)
        if any(level is not None for level in frame.index.names):  # a named index read back
            frame = frame.reset_index()
        for name, values in nested.items():
            frame[name] = values
        frames.append(frame)
        del table
    df = frames[0] if len(frames) == 1 else pd.concat(frames, axis=1)
    if list(df.columns) != names and len(names):  # (in the file's order)
        df = df[names]
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
    head = _head(source, compression, encoding)
    return head.splitlines()[0] if head else ""


def _head(source, compression, encoding: str) -> str:
    """The first 64 KiB of a text table, decoded (undecodable bytes replaced)."""
    import gzip

    if isinstance(source, io.BytesIO):
        head = source.getvalue()[: 1 << 16]
        if compression == "gzip":
            head = gzip.decompress(source.getvalue())[: 1 << 16]
    else:
        # as pandas reads it: gzip by its first bytes, the others by the name's extension
        name = str(source).lower()
        opener = (gzip.open if compression == "gzip" or name.endswith(".gz") else
                  next((o for ext, o in _DECOMPRESSING.items() if name.endswith(ext)), open))
        with opener(source, "rb") as handle:
            head = handle.read(1 << 16)
    return head.decode(encoding, errors="replace")


@contextlib.contextmanager
def _zip_member(path, mode: str = "rb"):
    """The first file of a zip archive, opened for reading (what pandas reads of it)."""
    import zipfile

    with zipfile.ZipFile(path) as archive, archive.open(archive.namelist()[0]) as handle:
        yield handle


# the extensions by which pandas decompresses a text table (compression="infer"), beside gzip,
# and how to read the head it sniffs the separator in; .zst and .tar are refused by read_table
_DECOMPRESSING = {".bz2": bz2.open, ".xz": lzma.open, ".zip": _zip_member}
_REFUSED_COMPRESSION = {".zst": "a zstd-compressed", ".tar": "a tar", ".tar.gz": "a tar",
                        ".tgz": "a tar", ".tar.bz2": "a tar", ".tar.xz": "a tar"}


def _trailing_separator(head: str, sep: str, skip: int) -> bool:
    """Whether the data lines in ``head`` (after ``skip`` lines and the header) all end in
    ``sep`` and the header does not: a writer that ends every row with a separator."""
    lines = head.splitlines()[skip:]
    if len(head) >= 1 << 16:
        lines = lines[:-1]  # (the last one may be cut short)
    data = [line for line in lines[1:] if line.strip()]
    return (bool(data) and not lines[0].endswith(sep)
            and all(line.endswith(sep) for line in data))


def _excel_separator(first_line: str) -> str | None:
    """The separator a first line "sep=X" names (Excel's convention), or None."""
    line = first_line.strip()
    return line[4] if len(line) == 5 and line.lower().startswith("sep=") else None


def _quotes_decimal(head: str, mark: str) -> bool:
    """Whether ``head`` holds a quoted number written with ``mark`` as its decimal mark
    ("0,35"): a separator that is also the decimal mark can then be read."""
    import re

    return re.search(r'"\s*[-+]?\d*' + re.escape(mark) + r'\d+\s*"', head) is not None


def _raw_header(source, sep: str, compression, encoding: str,
                skip: int = 0) -> list[str] | None:
    """The header row as written (pandas renames repeated names to 'x.1', hiding them)."""
    if isinstance(source, io.BytesIO):
        source.seek(0)
    try:
        row = pd.read_csv(
            source, sep=sep, compression=compression, encoding=encoding, header=None,
            nrows=1, dtype=str, keep_default_na=False, skiprows=skip or None,
        )
    except Exception:  # noqa: BLE001 - the full read already succeeded; this is a check only
        return None
    return [str(v) for v in row.iloc[0].tolist()] if len(row) else None


def _check_unique(path: str, names: list[str]) -> None:
    seen: set[str] = set()
    dups = sorted({str(n) for n in names if n in seen or seen.add(n)})
    if dups:
        raise DataError(f"{path}: duplicate column names: {', '.join(dups)}")
    # the options find a column by its name without the spaces around it ('a, b' names ' b')
    first: dict[str, str] = {}
    for name in map(str, names):
        other = first.setdefault(name.strip(), name)
        if other != name:
            raise DataError(f"{path}: the column names {other!r} and {name!r} differ only in "
                            "the spaces around them, which the options cannot tell apart: "
                            "rename one")


def read_groups(path: str, features: list[str],
                roles: dict[str, str] | None = None) -> dict[str, str]:
    """``--groups FILE``: a CSV with columns ``feature,group`` -> {feature: group}.
    ``roles``: {column: its option} of the columns that are no features (--target, --id)."""
    table = read_table(path, "csv" if not path.lower().endswith(".parquet") else None,
                       what="groups", text=True)
    if not {"feature", "group"} <= set(table.columns):
        raise DataError(f"{path}: a groups file needs the columns feature,group "
                        f"(found {', '.join(table.columns[:5])})")
    # the cells as written ('NA' is a group name; a Parquet null is an empty cell)
    cells = table[["feature", "group"]].map(lambda v: "" if pd.isna(v) else str(v))
    empty = cells.apply(lambda column: column.str.strip() == "")
    cells, empty = cells[~empty.all(axis=1)], empty[~empty.all(axis=1)]  # (blank lines)
    if cells.empty:
        raise DataError(f"{path}: the groups file lists no feature (a row feature,group per "
                        "grouped column)")
    if empty.any(axis=None):
        row = empty.any(axis=1).idxmax()
        feature, group = cells.loc[row]
        if empty.loc[row, "feature"]:
            raise DataError(f"{path}: row {row + 1} (after the header) has group {group!r} "
                            "but no feature: name the feature, or delete the row")
        raise DataError(f"{path}: feature {feature!r} (row {row + 1} after the header) has no "
                        "group: give it one, or delete its row to leave it ungrouped")
    table = cells
    names = table["feature"]
    repeated = sorted(set(names[names.duplicated()]))
    if repeated:
        raise DataError(f"{path}: feature(s) listed twice: {', '.join(repeated[:5])}")
    unknown = [n for n in names if n not in features]
    if unknown and unknown[0] in (roles or {}):  # (not 'did you mean' a feature like it)
        raise DataError(f"{path}: {unknown[0]!r} is the {roles[unknown[0]]} column, not a "
                        "feature: leave it out of the groups file")
    if unknown:
        raise unknown_column(unknown[0], features, f"{path}: feature",
                             "among the feature columns (the target, --time and --event, "
                             "the id and excluded columns are not features)")
    spellings: dict[str, list[str]] = {}
    for group in table["group"].unique():
        spellings.setdefault(group.strip(), []).append(group)
    twins = next((both for both in spellings.values() if len(both) > 1), None)
    if twins:  # ('G1' and 'G1 ' read as two groups that print alike)
        raise DataError(f"{path}: the group names {twins[0]!r} and {twins[1]!r} differ only "
                        "in spaces around them, which would make them two groups: spell them "
                        "alike")
    return dict(zip(names, table["group"], strict=True))
