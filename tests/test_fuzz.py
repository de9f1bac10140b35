"""Malformed and odd tables: every run ends with exit 0 or 2, never a traceback or a NaN.

Hypothesis builds small tables (random column types, gaps, empty strings, huge and tiny numbers,
infinities, separators, numeric columns with a few stray text cells, values near 1e308), writes
them as text or as Parquet (with decimal, date, timestamp and duration columns), and runs
`lassonet select` on them with fast options.  Whatever the table, the run must either succeed
with a clean, NaN-free ranking (one row per feature column) and path table, or fail with exit 2
and one `error:` line, and leave no partial output file.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lassonet_cli.cli import app

runner = CliRunner()

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, 1.0, -1.0, 1e300, -1e300, 1e-300, 5e-324, 1e18]),
    st.integers(-(10**12), 10**12).map(float),
)
TEXT = st.one_of(st.sampled_from(["", "a", "b", "NA", "null", "1,5", '"q"', " ", "ß", "x;y"]),
                 st.text(alphabet="abc,;\t\"' \n", max_size=4))
CELL = st.one_of(NUMBERS, TEXT, st.booleans(), st.none())
HUGE = st.sampled_from([1e308, -1e308, 1.7976931348623157e308, 1e300, -1e300])
STRAY = st.sampled_from(["?", "unknown", "-", "1,5", "x", "--", " "])


def with_strays(draw, values: list, cells) -> list:
    """``values`` with a few cells (at least one if there are any) replaced by ``cells``."""
    if not values:
        return values
    values = list(values)
    for row in draw(st.lists(st.integers(0, len(values) - 1), min_size=1, max_size=3)):
        values[row] = draw(cells)
    return values


def normal_floats(draw, n_rows: int) -> list[float]:
    return draw(st.lists(st.floats(-10, 10, allow_nan=False), min_size=n_rows,
                         max_size=n_rows))


@st.composite
def tables(draw):
    n_rows = draw(st.integers(0, 25))
    n_cols = draw(st.integers(1, 4))
    columns = {}
    for j in range(n_cols):
        kind = draw(st.sampled_from(["float", "int", "text", "bool", "mixed", "stray",
                                     "huge"]))
        if kind == "float":
            values = draw(st.lists(NUMBERS, min_size=n_rows, max_size=n_rows))
        elif kind == "stray":  # numbers with a stray "?" or "unknown" cell
            values = with_strays(draw, normal_floats(draw, n_rows), STRAY)
        elif kind == "huge":  # ordinary numbers with a few near the top of float64
            values = with_strays(draw, normal_floats(draw, n_rows), HUGE)
        elif kind == "int":
            values = draw(st.lists(st.integers(-5, 5), min_size=n_rows, max_size=n_rows))
        elif kind == "text":
            values = draw(st.lists(TEXT, min_size=n_rows, max_size=n_rows))
        elif kind == "bool":
            values = draw(st.lists(st.booleans(), min_size=n_rows, max_size=n_rows))
        else:
            values = draw(st.lists(CELL, min_size=n_rows, max_size=n_rows))
        columns[f"c{j}"] = values
    target_kind = draw(st.sampled_from(["float", "labels", "mixed", "constant", "stray",
                                        "huge"]))
    if target_kind == "float":
        target = draw(st.lists(NUMBERS, min_size=n_rows, max_size=n_rows))
    elif target_kind == "stray":
        target = with_strays(draw, normal_floats(draw, n_rows), STRAY)
    elif target_kind == "huge":
        target = with_strays(draw, normal_floats(draw, n_rows), HUGE)
    elif target_kind == "labels":
        target = draw(st.lists(st.sampled_from(["u", "v", "w"]), min_size=n_rows,
                               max_size=n_rows))
    elif target_kind == "constant":
        target = [1.0] * n_rows
    else:
        target = draw(st.lists(CELL, min_size=n_rows, max_size=n_rows))
    columns["target"] = target
    sep = draw(st.sampled_from([",", ";", "\t"]))
    return pd.DataFrame(columns), sep


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(tables(), st.sampled_from(["error", "impute"]))
def test_odd_tables_end_cleanly(tmp_path, table_and_sep, missing):
    df, sep = table_and_sep
    data = tmp_path / "table.csv"
    data.write_text(df.to_csv(index=False, sep=sep))
    assert_ends_cleanly(tmp_path, data, [c for c in df.columns if c != "target"], missing)


PARQUET_TYPES = {  # Arrow type, values (gaps are added to half the columns)
    "float": (pa.float64(), st.one_of(st.floats(-10, 10), HUGE)),
    "decimal": (pa.decimal128(9, 3),
                st.decimals(-1000, 1000, places=3, allow_nan=False, allow_infinity=False)),
    "timestamp": (pa.timestamp("us"),
                  st.datetimes(datetime.datetime(1900, 1, 1), datetime.datetime(2100, 1, 1))),
    "date": (pa.date32(), st.dates()),
    "duration": (pa.duration("s"), st.integers(0, 10**8).map(
        lambda s: datetime.timedelta(seconds=s))),
    "text": (pa.string(), st.sampled_from(["1", "2.5", "?", "a"])),
}


@st.composite
def parquet_tables(draw):
    """A Parquet table of typed columns: floats (some near 1e308), decimals, dates, times,
    durations and text; the target is a float or a decimal column."""
    n_rows = draw(st.one_of(st.integers(0, 4), st.integers(5, 25)))  # too few, enough
    # numbers twice as often as each other type, so that some tables can be trained on
    often = ["float", "float", "decimal", "decimal", "timestamp", "date", "duration", "text"]
    kinds = [draw(st.sampled_from(often)) for _ in range(draw(st.integers(1, 3)))]
    kinds.append(draw(st.sampled_from(["float", "decimal"])))
    arrays = []
    for kind in kinds:
        type_, cells = PARQUET_TYPES[kind]
        if draw(st.booleans()):
            cells = st.one_of(cells, st.none())
        arrays.append(pa.array(draw(st.lists(cells, min_size=n_rows, max_size=n_rows)),
                               type=type_))
    names = [f"c{j}" for j in range(len(kinds) - 1)] + ["target"]
    return pa.table(arrays, names=names)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(parquet_tables(), st.sampled_from(["error", "impute"]))
def test_typed_parquet_tables_end_cleanly(tmp_path, table, missing):
    data = tmp_path / "table.parquet"
    pq.write_table(table, data)
    features = [c for c in table.column_names if c != "target"]
    assert_ends_cleanly(tmp_path, data, features, missing)
    kinds = {str(table.schema.field(c).type).split("[")[0].split("(")[0] for c in features}
    event(f"feature types {', '.join(sorted(kinds))}")


def test_fuzz_strategies_make_what_they_say():
    """The strategies above make the cases they are meant to cover (a stray text cell in a
    numeric column, a target near 1e308, decimal and timestamp features): ``find`` raises
    NoSuchExample when a strategy cannot make its case."""
    from hypothesis import find

    find(tables(), lambda t: any(isinstance(v, str) and v in ("?", "unknown")
                                 for c in t[0].columns for v in t[0][c]))
    find(tables(), lambda t: any(isinstance(v, float) and abs(v) >= 1e300
                                 for v in t[0]["target"]))
    find(parquet_tables(), lambda t: {"decimal128(9, 3)", "timestamp[us]"}
         <= {str(f.type) for f in t.schema if f.name != "target"})


def assert_ends_cleanly(tmp_path, data, features: list[str], missing: str) -> None:
    """`lassonet select DATA` ends with exit 0 and clean outputs, or exit 2 and one line."""
    out = tmp_path / "out" / "ranking.csv"
    path_out = tmp_path / "out" / "path.csv"
    out.parent.mkdir(exist_ok=True)
    for stale in out.parent.iterdir():
        stale.unlink()
    result = runner.invoke(app, [
        "select", str(data), "-t", "target", "--missing", missing, "--backbone", "linear",
        "--max-epochs", "3", "--patience", "1", "--path-multiplier", "2", "--threads", "1",
        "-o", str(out), "--path-out", str(path_out), "-q",
    ])
    assert "Traceback" not in result.stderr
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    event(f"exit {result.exit_code}")
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert list(out.parent.iterdir()) == []  # no partial output
        return
    ranking = pd.read_csv(out)
    path = pd.read_csv(path_out, keep_default_na=False)
    assert not ranking.isna().any().any()
    numeric = path[["lambda", "k", "train_loss", "val_loss", "val_score", "epochs"]]
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()
    assert sorted(ranking["feature"]) == sorted(features)  # one row per column
    assert sorted(p.name for p in out.parent.iterdir()) == ["path.csv", "ranking.csv"]


def test_fuzz_reader_accepts_what_pandas_wrote(tmp_path):
    """The separator sniffing reads back a table written with each separator."""
    from lassonet_cli.read import read_table

    df = pd.DataFrame({"a": [1.5, 2.5], "b c": ["x;y", "z"], "target": [0, 1]})
    for sep in (",", ";", "\t"):
        path = tmp_path / f"sep_{ord(sep)}.csv"
        path.write_text(df.to_csv(index=False, sep=sep))
        back = read_table(str(path))
        assert list(back.columns) == ["a", "b c", "target"], sep
        assert back["a"].tolist() == [1.5, 2.5] and back["b c"].tolist() == ["x;y", "z"]


# --- odd output paths ---------------------------------------------------------------------------

# what the output name is: each ends as a written file, one error line, or a refusal, and
# nothing else in the directory changes (no temporary file left, no link or FIFO replaced)
PLACES = ["new", "existing", "link_to_existing", "dangling_link", "link_to_dir", "link_loop",
          "missing_dir", "is_dir", "under_a_file", "fifo", "dev_null", "proc"]


@st.composite
def output_places(draw):
    place = draw(st.sampled_from(PLACES))
    name = draw(st.sampled_from(["out", "out.csv", "out.tsv", "out.json", "out.csv.gz",
                                 "out.parquet", "out.xlsx", "out.txt", ".hidden.csv"]))
    fmt = draw(st.sampled_from([None, None, "csv", "jsonl"]))
    return place, name, fmt


def _make_place(root, place: str, name: str) -> str:
    """Build ``place`` under ``root``; returns the path to give the writer."""
    import os

    target = root / name
    if place == "existing":
        target.write_text("old\n")
    elif place == "link_to_existing":
        (root / "real").write_text("old\n")
        target.symlink_to("real")
    elif place == "dangling_link":
        target.symlink_to("real")
    elif place == "link_to_dir":
        (root / "real").mkdir()
        target.symlink_to("real")
    elif place == "link_loop":
        target.symlink_to(name)
    elif place == "missing_dir":
        return str(root / "missing" / name)
    elif place == "is_dir":
        target.mkdir()
    elif place == "under_a_file":
        (root / "file").write_text("x\n")
        return str(root / "file" / name)
    elif place == "fifo":
        os.mkfifo(target)
    elif place == "dev_null":
        return "/dev/null"
    elif place == "proc":
        return f"/proc/{name}"
    return str(target)


def _state(root) -> dict:
    """Each entry of ``root``: its kind, a link's target, a file's bytes."""
    import os
    import stat

    state = {}
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            state[entry] = ("link", os.readlink(path))
        elif stat.S_ISFIFO(info.st_mode):
            state[entry] = ("fifo", None)
        elif stat.S_ISDIR(info.st_mode):
            state[entry] = ("dir", None)
        else:
            with open(path, "rb") as handle:
                state[entry] = ("file", handle.read())
    return state


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(output_places())
def test_odd_output_paths_write_or_refuse_cleanly(tmp_path_factory, monkeypatch, case):
    import os
    import stat

    from lassonet_cli.errors import DataError
    from lassonet_cli.io import check_writable, output_format, write_table

    place, name, fmt = case
    root = tmp_path_factory.mktemp("out")
    path = _make_place(root, place, name)
    before = _state(root)
    real_replace = os.replace

    def guarded(src, dst, *args, **kwargs):  # never rename over a device, even as root
        assert not str(dst).startswith("/dev/"), dst
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", guarded)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK) if place == "fifo" else None
    df = pd.DataFrame({"feature": ["a", "b"], "importance": [1.5, 0.25]})
    try:
        try:
            kind = output_format(path, fmt)
            check_writable(path, kind)
            write_table(df, path, fmt)
        except DataError as e:
            event(f"{place}: refused")
            assert str(e).strip() and "\n" not in str(e)
            assert _state(root) == before  # nothing written, replaced or left behind
            return
        event(f"{place}: written")
        after = _state(root)
        # links stay links (to the same target), FIFOs stay FIFOs, no temporary file is left
        assert {k: v for k, v in after.items() if v[0] in ("link", "fifo")} == {
            k: v for k, v in before.items() if v[0] in ("link", "fifo")}
        assert not [entry for entry in after if entry.endswith(".tmp")]
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
        if place in ("new", "existing", "link_to_existing", "dangling_link"):
            written = os.path.realpath(path)
            assert os.path.isfile(written) and os.path.getsize(written) > 0
            if kind == "csv" and not name.endswith(".gz"):
                assert pd.read_csv(written).equals(df)
        else:
            assert place in ("fifo", "dev_null"), place  # nothing else may succeed
    finally:
        if reader is not None:
            os.close(reader)
