"""Tests for lassonet_cli.io: output formats, writing tables, atomic output, writability checks."""

from __future__ import annotations

import io
import json
import os
import sys
import types
import warnings

import numpy as np
import pandas as pd
import pytest

from lassonet_cli.errors import DataError
from lassonet_cli.io import atomic_output, check_writable, output_format, write_table
from lassonet_cli.read import read_table


def one_line(exc: pytest.ExceptionInfo) -> str:
    assert exc.type is DataError
    msg = str(exc.value)
    assert msg.strip() and "\n" not in msg, repr(msg)
    return msg


def ranked() -> pd.DataFrame:
    """A table shaped like the ranked-features output, with exactly representable floats."""
    return pd.DataFrame(
        {
            "rank": np.array([1, 2, 3, 4], dtype=np.int64),
            "feature": ["x1", "age", "größe", "pixel_7"],
            "importance": [12.5, 3.25, 0.0625, -0.5],
            "selected": [True, True, False, False],
        }
    )


def listing(directory) -> list[str]:
    return sorted(os.listdir(directory))


# --------------------------------------------------------------------------------------------
# output_format


@pytest.mark.parametrize(
    "name,fmt",
    [
        ("out.csv", "csv"),
        ("out.tsv", "tsv"),
        ("out.json", "json"),
        ("out.jsonl", "jsonl"),
        ("out.ndjson", "jsonl"),
        ("out.parquet", "parquet"),
        ("out.pq", "parquet"),
        ("out.txt", "table"),
        ("OUT.CSV", "csv"),
        ("dir.v2/out.Parquet", "parquet"),
        ("out", "csv"),  # no extension (/dev/null, a FIFO): csv, as on stdout
    ],
)
def test_output_format_from_extension(name, fmt):
    assert output_format(name, None) == fmt


@pytest.mark.parametrize("path", [None, "-"])
def test_output_format_stdout_defaults_to_csv(path):
    assert output_format(path, None) == "csv"


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "parquet", "table"])
def test_explicit_format_wins(fmt):
    assert output_format("out.csv", fmt) == fmt
    assert output_format("out.parquet", fmt) == fmt
    assert output_format(None, fmt) == fmt


@pytest.mark.parametrize("fmt", ["xlsx", "CSV", "yaml"])
def test_unknown_explicit_format_is_data_error(fmt):
    with pytest.raises(DataError) as e:
        output_format("out.csv", fmt)
    msg = one_line(e)
    assert repr(fmt) in msg
    for known in ("csv", "tsv", "json", "jsonl", "parquet", "table"):
        assert known in msg


# --------------------------------------------------------------------------------------------
# write_table to files, read back


def test_write_csv_round_trip(tmp_path):
    df = ranked()
    p = tmp_path / "r.csv"
    write_table(df, str(p))
    pd.testing.assert_frame_equal(pd.read_csv(p), df, check_exact=True)
    assert p.read_bytes().startswith(b"rank,feature,importance,selected\n")
    assert b"\r" not in p.read_bytes()


def test_write_csv_keeps_full_float_precision(tmp_path):
    vals = np.concatenate([[1 / 3, 0.1 + 0.2, 1e-300, 2.0**60 + 0.5],
                           np.random.default_rng(0).normal(size=200)])
    df = pd.DataFrame({"v": vals})
    p = tmp_path / "f.csv"
    write_table(df, str(p))
    assert np.array_equal(pd.read_csv(p)["v"].to_numpy(), vals)
    assert np.array_equal(read_table(str(p))["v"].to_numpy(), vals)


def test_write_csv_read_back_with_read_table(tmp_path):
    df = ranked()
    p = tmp_path / "r.csv"
    write_table(df, str(p))
    pd.testing.assert_frame_equal(read_table(str(p)), df, check_exact=True)


def test_write_tsv_round_trip(tmp_path):
    df = ranked()
    p = tmp_path / "r.tsv"
    write_table(df, str(p))
    raw = p.read_bytes()
    assert raw.split(b"\n")[0] == b"rank\tfeature\timportance\tselected"
    pd.testing.assert_frame_equal(pd.read_csv(p, sep="\t"), df, check_exact=True)
    pd.testing.assert_frame_equal(read_table(str(p)), df, check_exact=True)


def test_write_json_records(tmp_path):
    df = ranked()
    p = tmp_path / "r.json"
    write_table(df, str(p))
    records = json.loads(p.read_text(encoding="utf-8"))
    assert records == [
        {"rank": 1, "feature": "x1", "importance": 12.5, "selected": True},
        {"rank": 2, "feature": "age", "importance": 3.25, "selected": True},
        {"rank": 3, "feature": "größe", "importance": 0.0625, "selected": False},
        {"rank": 4, "feature": "pixel_7", "importance": -0.5, "selected": False},
    ]
    assert p.read_bytes().endswith(b"\n")


def test_write_jsonl_records(tmp_path):
    df = ranked()
    p = tmp_path / "r.jsonl"
    write_table(df, str(p))
    raw = p.read_bytes()
    assert raw.endswith(b"\n") and not raw.endswith(b"\n\n")
    lines = raw.decode("utf-8").splitlines()
    assert len(lines) == len(df)
    assert [json.loads(line) for line in lines] == df.to_dict(orient="records")
    pd.testing.assert_frame_equal(pd.read_json(io.BytesIO(raw), lines=True), df)


def test_write_ndjson_is_jsonl(tmp_path):
    p = tmp_path / "r.ndjson"
    write_table(ranked(), str(p))
    assert len(p.read_text().splitlines()) == 4
    assert json.loads(p.read_text().splitlines()[0])["feature"] == "x1"


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_write_json_keeps_full_float_precision(tmp_path, fmt):
    vals = [1 / 3, 2 / 3, 0.1 + 0.2, np.pi]
    p = tmp_path / f"f.{fmt}"
    write_table(pd.DataFrame({"v": vals}), str(p))
    text = p.read_text()
    got = ([json.loads(line)["v"] for line in text.splitlines()] if fmt == "jsonl"
           else [r["v"] for r in json.loads(text)])
    assert got == vals


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_bytes_cells_are_written_as_text(tmp_path, fmt):
    """A binary column passed through by predict --keep was written as "b'ok'"."""
    out = tmp_path / f"t.{fmt}"
    write_table(pd.DataFrame({"raw": [b"ok", b"\xff", None], "x": [1.0, 2.0, 3.0]}), str(out))
    sep = "\t" if fmt == "tsv" else ","
    assert out.read_text().splitlines()[1:] == [f"ok{sep}1.0", f"\\xff{sep}2.0", f"{sep}3.0"]


def test_json_writes_the_cells_predict_keep_passes_through(tmp_path):
    """--keep passes any input column through: dates, times, durations, bytes, decimals and
    nested cells become JSON values (json.dumps refused them: an internal error), and the
    missing ones null."""
    import datetime
    import decimal

    df = pd.DataFrame({
        "when": [pd.Timestamp("2024-01-01 01:00", tz="UTC"), pd.NaT],
        "day": [datetime.date(2024, 1, 2), None],
        "at": [datetime.time(1, 2, 3), None],
        "took": pd.to_timedelta([90, None], unit="s"),
        "raw": [b"ok", b"\xff"],
        "price": [decimal.Decimal("1.25"), None],
        "tags": [np.array([1.0, 2.0]), [("k", 1)]],
    })
    out = tmp_path / "t.jsonl"
    write_table(df, str(out))
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert first == {"when": "2024-01-01T01:00:00+00:00", "day": "2024-01-02",
                     "at": "01:02:03", "took": "P0DT0H1M30S", "raw": "ok", "price": 1.25,
                     "tags": [1.0, 2.0]}
    assert second == {"when": None, "day": None, "at": None, "took": None, "raw": "\\xff",
                      "price": None, "tags": [["k", 1]]}


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_write_parquet_round_trip(tmp_path, suffix):
    df = ranked()
    p = tmp_path / f"r{suffix}"
    write_table(df, str(p))
    assert p.read_bytes()[:4] == b"PAR1"
    pd.testing.assert_frame_equal(pd.read_parquet(p), df, check_exact=True)
    pd.testing.assert_frame_equal(read_table(str(p)), df, check_exact=True)


def test_write_table_format_is_aligned_text(tmp_path):
    df = ranked()
    p = tmp_path / "r.txt"
    write_table(df, str(p))
    text = p.read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == len(df) + 1
    assert lines[0].split() == ["rank", "feature", "importance", "selected"]
    rows = [line.split() for line in lines[1:]]
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4]
    assert [r[1] for r in rows] == ["x1", "age", "größe", "pixel_7"]
    assert [float(r[2]) for r in rows] == [12.5, 3.25, 0.0625, -0.5]
    assert [r[3] for r in rows] == ["True", "True", "False", "False"]
    assert "," not in text and "\t" not in text


def test_explicit_format_overrides_extension_when_writing(tmp_path):
    df = ranked()
    p = tmp_path / "r.csv"
    write_table(df, str(p), "json")
    assert [r["feature"] for r in json.loads(p.read_text())] == ["x1", "age", "größe", "pixel_7"]


@pytest.mark.parametrize("name", ["r.out", "r.xlsx", "r.xlsx.gz"])
def test_unknown_extension_is_refused_and_writes_nothing(tmp_path, name):
    with pytest.raises(DataError) as e:
        write_table(ranked(), str(tmp_path / name))
    msg = one_line(e)
    assert ".csv" in msg and ".parquet" in msg and "--format" in msg
    assert listing(tmp_path) == []


def test_unknown_extension_is_written_in_an_explicit_format(tmp_path):
    p = tmp_path / "r.out"
    write_table(ranked(), str(p), "csv")
    pd.testing.assert_frame_equal(pd.read_csv(p), ranked())


def test_unknown_extension_message_names_the_override_option():
    with pytest.raises(DataError) as e:
        output_format("path.xlsx", None, override=None)
    assert "--format" not in one_line(e)


def test_write_overwrites_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("old content that is longer than the new one " * 50)
    df = ranked().head(1)
    write_table(df, str(p))
    pd.testing.assert_frame_equal(pd.read_csv(p), df)
    assert listing(tmp_path) == ["r.csv"]


def test_written_file_is_readable_by_others(tmp_path):
    p = tmp_path / "r.csv"
    write_table(ranked(), str(p))
    assert os.stat(p).st_mode & 0o444 == 0o444


def test_write_to_relative_path_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_table(ranked(), "rel.csv")
    assert listing(tmp_path) == ["rel.csv"]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "rel.csv"), ranked())


def test_write_into_missing_directory_is_data_error(tmp_path):
    p = tmp_path / "nope" / "r.csv"
    with pytest.raises(DataError) as e:
        write_table(ranked(), str(p))
    assert "nope" in one_line(e)
    assert not (tmp_path / "nope").exists()


def test_csv_gz_output_is_gzip_or_refused(tmp_path):
    df = ranked()
    p = tmp_path / "r.csv.gz"
    try:
        write_table(df, str(p))
    except DataError:
        return  # refusing to write a .gz name is acceptable
    pd.testing.assert_frame_equal(read_table(str(p)), df)


# --------------------------------------------------------------------------------------------
# write_table to stdout


@pytest.mark.parametrize("path", [None, "-"])
def test_write_csv_to_stdout(capsysbinary, path):
    df = ranked()
    write_table(df, path)
    out, err = capsysbinary.readouterr()
    assert err == b""
    assert out.startswith(b"rank,feature,importance,selected\n")
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(out)), df, check_exact=True)


def test_write_to_stdout_goes_to_fd1(capfdbinary):
    df = ranked()
    write_table(df, None, "tsv")
    out, err = capfdbinary.readouterr()
    assert err == b""
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(out), sep="\t"), df)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "table"])
def test_write_text_formats_to_stdout(capsysbinary, fmt):
    write_table(ranked(), None, fmt)
    out = capsysbinary.readouterr().out.decode("utf-8")
    assert out.endswith("\n")
    if fmt == "json":
        records = json.loads(out)
    elif fmt == "jsonl":
        records = [json.loads(line) for line in out.splitlines()]
    else:
        records = [{"feature": line.split()[1]} for line in out.splitlines()[1:]]
    assert [r["feature"] for r in records] == ["x1", "age", "größe", "pixel_7"]


def test_table_format_escapes_control_characters_in_names_and_cells(capsysbinary):
    """pandas escapes tabs and line breaks only: an escape sequence or a bell in a column
    name or a text cell reached the terminal raw; now every control character is escaped and
    each row stays on its line."""
    df = pd.DataFrame({"feature": ["\x1b[31mred", "bell\x07", "a\nb", "größe"],
                       "\x1b]0;title\x07": [1, 2, 3, 4]})
    write_table(df, None, "table")
    out = capsysbinary.readouterr().out.decode("utf-8")
    assert not any(c in out for c in "\x1b\x07\r\t")
    lines = out.splitlines()
    assert len(lines) == 5 and lines[0].split() == ["feature", "\\x1b]0;title\\x07"]
    assert [line.split()[0] for line in lines[1:]] == ["\\x1b[31mred", "bell\\x07", "a\\nb",
                                                        "größe"]


def test_table_format_of_a_float16_column_prints_no_warning(capfd):
    """pandas' layout compared float16 cells with 1e6 cast to float16: 'RuntimeWarning:
    overflow encountered in cast' on stderr of a successful predict --keep."""
    df = pd.DataFrame({"half": np.array([1.5, 60000], dtype=np.float16), "prediction": [0.1, 2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_table(df, None, "table")
    out, err = capfd.readouterr()
    assert err == "" and out.splitlines()[1].split() == ["1.5", "0.1"]


def test_write_parquet_to_piped_stdout(capsysbinary):
    df = ranked()
    write_table(df, None, "parquet")
    out = capsysbinary.readouterr().out
    assert out[:4] == b"PAR1"
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(out)), df, check_exact=True)


def test_parquet_to_terminal_is_refused(monkeypatch):
    buf = io.BytesIO()
    fake = types.SimpleNamespace(buffer=buf, isatty=lambda: True)
    monkeypatch.setattr(sys, "stdout", fake)
    with pytest.raises(DataError) as e:
        write_table(ranked(), None, "parquet")
    assert "parquet" in one_line(e)
    assert buf.getvalue() == b""


def test_stdout_does_not_create_a_file(tmp_path, monkeypatch, capsysbinary):
    monkeypatch.chdir(tmp_path)
    write_table(ranked(), "-")
    assert listing(tmp_path) == []
    assert capsysbinary.readouterr().out


# --------------------------------------------------------------------------------------------
# atomic_output


class Boom(Exception):
    pass


def test_atomic_output_success(tmp_path):
    p = tmp_path / "out.bin"
    with atomic_output(str(p)) as handle:
        handle.write(b"hello ")
        handle.write(b"world")
        assert not p.exists()  # only appears once the block completes
    assert p.read_bytes() == b"hello world"
    assert listing(tmp_path) == ["out.bin"]


def test_atomic_output_error_leaves_no_file(tmp_path):
    p = tmp_path / "out.csv"
    with pytest.raises(Boom):
        with atomic_output(str(p)) as handle:
            handle.write(b"partial data")
            raise Boom()
    assert not p.exists()
    assert listing(tmp_path) == []


def test_atomic_output_error_keeps_existing_content(tmp_path):
    p = tmp_path / "out.csv"
    p.write_bytes(b"precious\n")
    with pytest.raises(Boom):
        with atomic_output(str(p)) as handle:
            handle.write(b"half written")
            raise Boom()
    assert p.read_bytes() == b"precious\n"
    assert listing(tmp_path) == ["out.csv"]


def test_atomic_output_ctrl_c_keeps_existing_content(tmp_path):
    p = tmp_path / "out.csv"
    p.write_bytes(b"precious\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(str(p)) as handle:
            handle.write(b"half written")
            raise KeyboardInterrupt
    assert p.read_bytes() == b"precious\n"
    assert listing(tmp_path) == ["out.csv"]


def test_atomic_output_replaces_existing_on_success(tmp_path):
    p = tmp_path / "out.csv"
    p.write_bytes(b"old\n" * 100)
    with atomic_output(str(p)) as handle:
        handle.write(b"new\n")
    assert p.read_bytes() == b"new\n"
    assert listing(tmp_path) == ["out.csv"]


def test_atomic_output_missing_directory_is_data_error(tmp_path):
    p = tmp_path / "missing" / "out.csv"
    with pytest.raises(DataError) as e:
        with atomic_output(str(p)):
            pass
    assert "missing" in one_line(e)


# --------------------------------------------------------------------------------------------
# check_writable


@pytest.mark.parametrize("path", [None, "-"])
def test_stdout_is_always_writable(path):
    assert check_writable(path) is None


def test_writable_path_passes_and_creates_nothing(tmp_path):
    check_writable(str(tmp_path / "new.csv"))
    assert listing(tmp_path) == []


def test_existing_file_is_writable(tmp_path):
    p = tmp_path / "old.csv"
    p.write_text("x\n")
    check_writable(str(p))
    assert p.read_text() == "x\n"


def test_relative_name_in_cwd_is_writable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_writable("out.csv")


def test_missing_directory_is_data_error(tmp_path):
    p = tmp_path / "no_such_dir" / "out.csv"
    with pytest.raises(DataError) as e:
        check_writable(str(p))
    msg = one_line(e)
    assert str(p) in msg
    assert "no_such_dir" in msg and "does not exist" in msg


def test_target_is_a_directory_is_data_error(tmp_path):
    d = tmp_path / "out.csv"
    d.mkdir()
    with pytest.raises(DataError) as e:
        check_writable(str(d))
    msg = one_line(e)
    assert "directory" in msg
    assert str(d) in msg


def test_parent_is_a_file_is_data_error(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(DataError) as e:
        check_writable(str(f / "out.csv"))
    one_line(e)


class _ShortWrites(io.BytesIO):
    """A stream that takes at most 1000 bytes per write, as a pipe's buffered writer does when
    a signal interrupts it (it returns the bytes written so far)."""

    def write(self, data) -> int:
        return super().write(bytes(data[:1000]))


def test_a_write_cut_short_by_a_signal_is_finished(monkeypatch, tmp_path):
    """Ctrl-C or SIGTERM while the output waited on a slow reader: the run ended with exit 0
    and only the first 64 KiB of the table on stdout."""
    from lassonet_cli.io import write_stdout

    data = bytes(range(256)) * 100
    stream = _ShortWrites()
    monkeypatch.setattr(sys, "stdout", types.SimpleNamespace(buffer=stream, flush=lambda: None))
    write_stdout(data)
    assert stream.getvalue() == data
