"""Tests for reading tables, choosing columns, checking, encoding and splitting rows (read,
columns, targets, checks, encoding, splits).

Expected values are derived independently of the implementation (the tables are written with
pandas/pyarrow/gzip directly, statistics are computed with the ``statistics`` module, split
sizes from the fraction by hand).
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import statistics
import sys
import types

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lassonet_cli.checks import Prepared, check_features, check_table, constant_columns
from lassonet_cli.columns import Selection, comma_list, join_names, select_columns
from lassonet_cli.encoding import Encoder, fit_encoder
from lassonet_cli.errors import DataError, LassoNetError
from lassonet_cli.read import read_table
from lassonet_cli.splits import split_rows
from lassonet_cli.targets import infer_task

# --------------------------------------------------------------------------------------------
# helpers


def one_line(exc: pytest.ExceptionInfo) -> str:
    """The message of a raised DataError, checked to be a single, non-empty line."""
    assert issubclass(exc.type, DataError)
    msg = str(exc.value)
    assert msg.strip(), "empty error message"
    assert "\n" not in msg and "\r" not in msg, f"multi-line error message: {msg!r}"
    return msg


def sample_frame(n: int = 25) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1, dtype=np.int64),
            "x1": rng.normal(size=n),  # full 17-digit floats
            "x2": rng.normal(size=n) * 1e-7,
            "x3": rng.normal(size=n) * 1e12,
            "city": [f"c{i % 3} é, \"q\"" for i in range(n)],  # unicode, comma, quotes
            "y": rng.integers(0, 3, size=n).astype(np.int64),
        }
    )


def fake_stdin(monkeypatch: pytest.MonkeyPatch, raw: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(raw)))


def csv_bytes(df: pd.DataFrame, sep: str = ",") -> bytes:
    return df.to_csv(index=False, sep=sep).encode("utf-8")


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_exact=True)


# --------------------------------------------------------------------------------------------
# read_table: formats


def test_read_csv_round_trips_exactly(tmp_path):
    df = sample_frame()
    p = tmp_path / "t.csv"
    p.write_bytes(csv_bytes(df))
    assert_same(read_table(str(p)), df)


def test_read_tsv_round_trips_exactly(tmp_path):
    df = sample_frame()
    p = tmp_path / "t.tsv"
    p.write_bytes(csv_bytes(df, sep="\t"))
    assert_same(read_table(str(p)), df)


def test_read_csv_gz_round_trips_exactly(tmp_path):
    df = sample_frame()
    p = tmp_path / "t.csv.gz"
    p.write_bytes(gzip.compress(csv_bytes(df)))
    assert_same(read_table(str(p)), df)


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_read_parquet_round_trips_exactly(tmp_path, suffix):
    df = sample_frame()
    p = tmp_path / f"t{suffix}"
    df.to_parquet(p, index=False)
    assert_same(read_table(str(p)), df)


def test_a_named_parquet_index_is_a_column_and_an_unnamed_one_is_not(tmp_path):
    """df.set_index('x0').to_parquet(...) keeps x0 as a column of the file: it was dropped
    silently (and `-t x0` said it was not in the table); a filtered frame's unnamed index
    (__index_level_0__) holds row labels, not data."""
    df = pd.DataFrame({"x0": [1.0, 2.0, 3.0], "x1": [4.0, 5.0, 6.0]})
    named = tmp_path / "named.parquet"
    df.set_index("x0").to_parquet(named)
    assert sorted(read_table(str(named)).columns) == ["x0", "x1"]
    unnamed = tmp_path / "unnamed.parquet"
    df[df["x0"] > 1].to_parquet(unnamed)  # index [1, 2]: saved as __index_level_0__
    assert list(read_table(str(unnamed)).columns) == ["x0", "x1"]


def test_read_csv_floats_round_trip_bit_exact(tmp_path):
    rng = np.random.default_rng(3)
    vals = np.concatenate(
        [rng.normal(size=2000), np.exp(rng.uniform(-300, 300, size=2000)), [0.1, 1 / 3, -0.0]]
    )
    p = tmp_path / "f.csv"
    p.write_bytes(csv_bytes(pd.DataFrame({"v": vals})))
    got = read_table(str(p))["v"].to_numpy()
    assert got.dtype == np.float64
    assert np.array_equal(got, vals)


def test_read_returns_string_column_names(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("1,2,y\n3,4,5\n")
    df = read_table(str(p))
    assert list(df.columns) == ["1", "2", "y"]
    assert all(isinstance(c, str) for c in df.columns)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read(tmp_path, codec):
    """Windows tools write UTF-16 without a BOM too: its header read with a NUL in every
    other byte, and '--target y' was 'not in the table'."""
    df = sample_frame()
    p = tmp_path / "u16.csv"
    p.write_bytes(csv_bytes(df).decode("utf-8").encode(codec))
    assert_same(read_table(str(p)), df)


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-be"])
def test_utf32_with_a_byte_order_mark_is_read(tmp_path, codec):
    """UTF-32-LE's mark (FF FE 00 00) starts with UTF-16-LE's: the file was read as UTF-16,
    its header a string of NULs, and '--target y' was 'not in the table'."""
    df = sample_frame()
    p = tmp_path / "u32.csv"
    text = csv_bytes(df).decode("utf-8")
    p.write_bytes(text.encode(codec) if codec == "utf-32" else b"\x00\x00\xfe\xff"
                  + text.encode(codec))
    assert_same(read_table(str(p)), df)


def test_utf8_bom_is_stripped_from_header(tmp_path):
    df = sample_frame()
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbf" + csv_bytes(df))
    got = read_table(str(p))
    assert got.columns[0] == "id"
    assert_same(got, df)


def test_utf8_bom_is_stripped_from_tsv_header(tmp_path):
    p = tmp_path / "bom.tsv"
    p.write_bytes(b"\xef\xbb\xbfa\tb\n1\t2\n")
    assert list(read_table(str(p)).columns) == ["a", "b"]


# --------------------------------------------------------------------------------------------
# read_table: stdin


def test_stdin_dash_reads_csv(monkeypatch):
    df = sample_frame()
    fake_stdin(monkeypatch, csv_bytes(df))
    assert_same(read_table("-"), df)


def test_stdin_gzipped_bytes_are_detected(monkeypatch):
    df = sample_frame()
    fake_stdin(monkeypatch, gzip.compress(csv_bytes(df)))
    assert_same(read_table("-"), df)


def test_stdin_gzipped_tsv_with_input_format(monkeypatch):
    df = sample_frame()
    fake_stdin(monkeypatch, gzip.compress(csv_bytes(df, sep="\t")))
    assert_same(read_table("-", "tsv"), df)


def test_stdin_with_bom(monkeypatch):
    fake_stdin(monkeypatch, b"\xef\xbb\xbfa,b\n1,2\n")
    got = read_table("-")
    assert list(got.columns) == ["a", "b"]
    assert got.to_numpy().tolist() == [[1, 2]]


def test_stdin_parquet_with_input_format(monkeypatch):
    df = sample_frame()
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    fake_stdin(monkeypatch, buf.getvalue())
    assert_same(read_table("-", "parquet"), df)


def test_stdin_empty_is_data_error(monkeypatch):
    fake_stdin(monkeypatch, b"")
    with pytest.raises(DataError) as e:
        read_table("-")
    assert "empty" in one_line(e).lower()


def test_stdin_latin1_is_data_error(monkeypatch):
    fake_stdin(monkeypatch, "name,größe\n1,2\n".encode("latin-1"))
    with pytest.raises(DataError) as e:
        read_table("-")
    assert "utf-8" in one_line(e).lower()


# --------------------------------------------------------------------------------------------
# read_table: --input-format


def test_input_format_override_reads_txt_as_tsv(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("a\tb\tc\n1\t2\t3\n4\t5\t6\n")
    got = read_table(str(p), "tsv")
    assert list(got.columns) == ["a", "b", "c"]
    assert got.to_numpy().tolist() == [[1, 2, 3], [4, 5, 6]]


def test_input_format_override_wins_over_extension(tmp_path):
    df = sample_frame()
    p = tmp_path / "really_parquet.csv"
    df.to_parquet(p, index=False)
    assert_same(read_table(str(p), "parquet"), df)


def test_input_format_override_on_unknown_extension(tmp_path):
    p = tmp_path / "t.data"
    p.write_text("a,b\n1,2\n")
    assert list(read_table(str(p), "csv").columns) == ["a", "b"]


def test_unknown_input_format_override_is_data_error(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(DataError) as e:
        read_table(str(p), "xlsx")
    msg = one_line(e)
    assert "xlsx" in msg
    for fmt in ("csv", "tsv", "parquet"):
        assert fmt in msg


def test_unknown_extension_suggests_input_format(tmp_path):
    p = tmp_path / "t.xlsx"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(DataError) as e:
        read_table(str(p))
    msg = one_line(e)
    assert "--input-format" in msg
    assert "t.xlsx" in msg


# --------------------------------------------------------------------------------------------
# read_table: errors


def test_missing_file_names_the_path(tmp_path):
    p = tmp_path / "nope" / "missing.csv"
    with pytest.raises(DataError) as e:
        read_table(str(p))
    msg = one_line(e)
    assert str(p) in msg
    assert "not exist" in msg


def test_directory_is_data_error(tmp_path):
    d = tmp_path / "folder.csv"
    d.mkdir()
    with pytest.raises(DataError) as e:
        read_table(str(d))
    msg = one_line(e)
    assert "directory" in msg
    assert str(d) in msg


def test_directory_without_extension_is_data_error(tmp_path):
    d = tmp_path / "folder"
    d.mkdir()
    with pytest.raises(DataError) as e:
        read_table(str(d))
    one_line(e)


@pytest.mark.parametrize("content", [b"", b"\n", b"\n\n  \n"])
def test_empty_csv_is_data_error(tmp_path, content):
    p = tmp_path / "empty.csv"
    p.write_bytes(content)
    with pytest.raises(DataError) as e:
        read_table(str(p))
    msg = one_line(e)
    assert "empty" in msg.lower()
    assert str(p) in msg


def test_empty_gz_is_data_error(tmp_path):
    p = tmp_path / "empty.csv.gz"
    p.write_bytes(gzip.compress(b""))
    with pytest.raises(DataError) as e:
        read_table(str(p))
    one_line(e)


def test_empty_parquet_file_is_data_error(tmp_path):
    p = tmp_path / "empty.parquet"
    p.write_bytes(b"")
    with pytest.raises(DataError) as e:
        read_table(str(p))
    assert str(p) in one_line(e)


@pytest.mark.parametrize("size", [2000, 3000])
def test_latin1_text_is_data_error(tmp_path, size):
    # the undecodable byte comes early (header) or late (after many rows)
    p = tmp_path / "latin.csv"
    if size == 2000:
        text = "näme,y\n1,2\n"
    else:
        text = "a,y\n" + "1,2\n" * size + "é,3\n"
    p.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError) as e:
        read_table(str(p))
    msg = one_line(e)
    assert "UTF-8" in msg
    assert str(p) in msg


def test_garbage_parquet_is_data_error(tmp_path):
    p = tmp_path / "bad.parquet"
    p.write_bytes(b"this is not a parquet file at all, just some text\n" * 3)
    with pytest.raises(DataError) as e:
        read_table(str(p))
    msg = one_line(e)
    assert "parquet" in msg
    assert e.value.__cause__ is None


def test_truncated_parquet_is_data_error(tmp_path):
    df = sample_frame(200)
    p = tmp_path / "cut.parquet"
    df.to_parquet(p, index=False)
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError) as e:
        read_table(str(p))
    one_line(e)


def test_gz_that_is_not_gzip_is_data_error(tmp_path):
    p = tmp_path / "fake.csv.gz"
    p.write_bytes(b"a,b\n1,2\n")
    with pytest.raises(DataError) as e:
        read_table(str(p))
    one_line(e)


def test_ragged_csv_is_data_error(tmp_path):
    p = tmp_path / "ragged.csv"
    p.write_text("a,b\n1,2\n3,4,5,6\n7,8\n")
    with pytest.raises(DataError) as e:
        read_table(str(p))
    msg = one_line(e)
    assert "csv" in msg


@pytest.mark.parametrize("suffix,sep", [(".csv", ","), (".tsv", "\t")])
def test_duplicate_column_names_in_csv_are_data_error(tmp_path, suffix, sep):
    p = tmp_path / f"dup{suffix}"
    p.write_text(sep.join(["dupcol", "other", "dupcol", "y"]) + "\n" + sep.join("1234") + "\n")
    try:
        df = read_table(str(p))
    except DataError as e:
        msg = str(e)
        assert "\n" not in msg
        assert "dupcol" in msg
        assert "duplicate" in msg.lower()
    else:
        raise AssertionError(f"read silently, columns renamed to {list(df.columns)}")


def test_duplicate_column_names_in_parquet_are_data_error(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_arrays(
        [pa.array([1, 2]), pa.array([3, 4]), pa.array([5, 6])], names=["dupcol", "y", "dupcol"]
    )
    p = tmp_path / "dup.parquet"
    pq.write_table(table, p)
    with pytest.raises(DataError) as e:
        read_table(str(p))
    assert "dupcol" in one_line(e)


def test_data_error_is_a_lassonet_error():
    assert issubclass(DataError, LassoNetError)


# --------------------------------------------------------------------------------------------
# select_columns


@pytest.fixture
def wide() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3],
            "x1": [1.0, 2.0, 3.0],
            "age": [30, 40, 50],
            "x2": [0.5, 0.1, 0.2],
            "target": [0, 1, 0],
            "xa": [9.0, 8.0, 7.0],
            "z": [1.0, 1.5, 2.0],
        }
    )


def test_default_features_are_all_but_target_in_table_order(wide):
    sel = select_columns(wide, "target")
    assert isinstance(sel, Selection)
    assert sel.target == "target"
    assert sel.features == ["id", "x1", "age", "x2", "xa", "z"]
    assert sel.id is None


def test_id_is_never_a_feature(wide):
    sel = select_columns(wide, "target", id_column="id")
    assert sel.id == "id"
    assert sel.features == ["x1", "age", "x2", "xa", "z"]


def test_target_and_id_named_in_features_are_not_features(wide):
    """(As from a header pasted into --features.)  They are left out with a note each; a
    glob that matches them leaves them out without one."""
    sel = select_columns(wide, "target", features="target,id,x1,z", id_column="id")
    assert sel.features == ["x1", "z"]
    assert sel.not_features == {"target": "--target", "id": "--id"}
    assert select_columns(wide, "target", features="*", id_column="id").not_features == {}


def test_unknown_target_suggests_close_match(wide):
    with pytest.raises(DataError) as e:
        select_columns(wide, "tagret")
    msg = one_line(e)
    assert "'tagret'" in msg
    assert "did you mean" in msg
    assert "target" in msg.split("did you mean", 1)[1]


def test_a_name_that_differs_in_case_alone_is_suggested_first(wide):
    """'-t Y' for a column 'y' had no suggestion (difflib scores one letter apart low)."""
    frame = pd.DataFrame({"y": [1.0, 2.0], "yield": [3.0, 4.0], "x": [0.0, 1.0]})
    with pytest.raises(DataError, match=r"did you mean 'y'\?"):
        select_columns(frame, "Y")
    with pytest.raises(DataError, match=r"did you mean 'Target'"):
        select_columns(wide.rename(columns={"target": "Target"}), "TARGET")


def test_unknown_target_without_close_match_has_no_suggestion(wide):
    with pytest.raises(DataError) as e:
        select_columns(wide, "qqqqqq")
    msg = one_line(e)
    assert "'qqqqqq'" in msg
    assert "did you mean" not in msg


def test_unknown_feature_suggests_close_match(wide):
    with pytest.raises(DataError) as e:
        select_columns(wide, "target", features="x1,agee")
    msg = one_line(e)
    assert "'agee'" in msg
    assert "age" in msg.split("did you mean", 1)[1]


def test_unknown_id_column_is_error(wide):
    with pytest.raises(DataError) as e:
        select_columns(wide, "target", id_column="idd")
    msg = one_line(e)
    assert "'idd'" in msg
    assert "id" in msg.split("did you mean", 1)[1]


def test_unknown_exclude_name_is_error(wide):
    with pytest.raises(DataError) as e:
        select_columns(wide, "target", exclude="zz9")
    assert "'zz9'" in one_line(e)


def test_features_comma_list_follows_table_order(wide):
    sel = select_columns(wide, "target", features=" z , x1,age ")
    assert sel.features == ["x1", "age", "z"]


def test_features_glob(wide):
    sel = select_columns(wide, "target", features="x*")
    assert sel.features == ["x1", "x2", "xa"]


def test_features_glob_question_mark_and_class(wide):
    assert select_columns(wide, "target", features="x?").features == ["x1", "x2", "xa"]
    assert select_columns(wide, "target", features="x[0-9]").features == ["x1", "x2"]


def test_features_glob_and_name_overlap_not_duplicated(wide):
    sel = select_columns(wide, "target", features="x1,x*,z")
    assert sel.features == ["x1", "x2", "xa", "z"]


def test_exclude_glob(wide):
    sel = select_columns(wide, "target", exclude="x*,id")
    assert sel.features == ["age", "z"]


def test_features_and_exclude_together(wide):
    sel = select_columns(wide, "target", features="x*,age", exclude="x2")
    assert sel.features == ["x1", "age", "xa"]


@pytest.mark.parametrize("option", ["features", "exclude"])
def test_glob_matching_nothing_is_error(wide, option):
    with pytest.raises(DataError) as e:
        select_columns(wide, "target", **{option: "pixel_*"})
    msg = one_line(e)
    assert "'pixel_*'" in msg
    assert "match" in msg


def test_nothing_left_is_error(wide):
    with pytest.raises(DataError) as e:
        select_columns(wide, "target", exclude="*")
    one_line(e)


def test_only_target_and_id_in_features_is_error(wide):
    with pytest.raises(DataError) as e:
        select_columns(wide, "target", features="target,id", id_column="id")
    one_line(e)


def test_table_with_only_target_is_error():
    with pytest.raises(DataError):
        select_columns(pd.DataFrame({"y": [1, 2]}), "y")


def test_column_name_with_glob_characters_selected_by_exact_name():
    df = pd.DataFrame({"x[0]": [1.0, 2.0], "x[1]": [3.0, 4.0], "y": [0, 1]})
    assert select_columns(df, "y", features="x[0]").features == ["x[0]"]
    assert select_columns(df, "y", exclude="x[1]").features == ["x[0]"]


# --------------------------------------------------------------------------------------------
# infer_task


@pytest.mark.parametrize(
    "values",
    [
        ["a", "b", "a", "c"],
        ["yes", "no"] * 30,
        [True, False, True],
        [str(i) for i in range(100)],  # many distinct labels, still text
    ],
)
def test_text_and_bool_targets_are_classification(values):
    assert infer_task(pd.Series(values)) == "classification"


def test_categorical_target_is_classification():
    assert infer_task(pd.Series(["lo", "hi", "lo"], dtype="category")) == "classification"


@pytest.mark.parametrize(
    "values",
    [
        [0, 1, 0, 1],
        [-1, 1, -1],
        [3, 7, 11, 3, 7],
        list(range(20)) * 3,  # exactly 20 distinct integers
        list(range(100, 120)),
    ],
)
def test_few_distinct_integers_are_classification(values):
    assert infer_task(pd.Series(values, dtype=np.int64)) == "classification"


@pytest.mark.parametrize(
    "values",
    [
        [0.5, 1.25, 3.75],
        [0.1, 0.2, 0.3, 0.1],
        list(np.random.default_rng(0).normal(size=50)),
        list(range(21)),  # 21 distinct integers
        list(range(1000)),
    ],
)
def test_floats_or_many_integers_are_regression(values):
    assert infer_task(pd.Series(values)) == "regression"


# --------------------------------------------------------------------------------------------
# check_table


def prepare(df: pd.DataFrame, target: str = "y", task: str = "auto") -> Prepared:
    features = [c for c in df.columns if c != target]
    return check_table(df, Selection(target=target, features=features), task)


def test_no_rows_is_error():
    df = pd.DataFrame({"a": pd.Series([], dtype=float), "y": pd.Series([], dtype=float)})
    with pytest.raises(DataError) as e:
        prepare(df)
    assert "no rows" in one_line(e)


def test_a_text_feature_with_a_level_per_row_is_taken_for_an_id():
    """A text column with a different value in each of 40 rows (id0, id1, ...) was one-hot
    encoded into one column per row, which the network fits: it ranked first."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.standard_normal(40), "tag": [f"id{i}" for i in range(40)],
                       "y": rng.standard_normal(40)})
    with pytest.raises(DataError) as e:
        prepare(df, task="regression")
    assert "'tag' has a different value in each of its 40 rows" in one_line(e)
    from lassonet_cli import LassoNetSelector
    with pytest.raises(DataError, match="is it an ID"):
        LassoNetSelector(max_epochs=2).fit(df[["a", "tag"]], df["y"])
    df.loc[1, "tag"] = "id0"  # a level shared by two rows: levels, not an ID
    assert prepare(df, task="regression").categorical == ["tag"]


def test_text_feature_is_categorical():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "city": ["x", "y", "z"], "y": [0.1, 0.5, 0.9]})
    prep = prepare(df, task="regression")
    assert prep.categorical == ["city"]
    assert list(prep.X.columns) == ["a", "city"]
    assert prep.gappy == []


def test_bool_and_category_features_are_categorical():
    df = pd.DataFrame({"flag": [True, False, True], "n": [1, 2, 3],
                       "size": pd.Categorical(["s", "l", "s"]), "y": [0.1, 0.5, 0.9]})
    prep = prepare(df, task="regression")
    assert prep.categorical == ["flag", "size"]


def test_categorical_option_forces_a_numeric_column():
    df = pd.DataFrame({"n": [1, 2, 3, 1], "m": [4, 5, 6, 7], "y": [0.1, 0.5, 0.9, 0.3]})
    prep = check_table(df, Selection("y", ["n", "m"]), "regression", categorical=["n"])
    assert prep.categorical == ["n"]


def test_categorical_option_naming_a_non_feature_is_error():
    df = pd.DataFrame({"n": [1, 2, 3], "y": [0.1, 0.5, 0.9]})
    with pytest.raises(DataError) as e:
        check_table(df, Selection("y", ["n"]), "regression", categorical=["zz"])
    assert "zz" in one_line(e)


def test_too_many_levels_names_the_column_and_suggests_exclude():
    df = pd.DataFrame({"code": [f"c{i}" for i in range(12)] * 2, "few": ["p", "q"] * 12,
                       "y": np.arange(24.0)})
    with pytest.raises(DataError) as e:
        check_table(df, Selection("y", ["code", "few"]), "regression", max_levels=10)
    msg = one_line(e)
    assert "code (12 levels)" in msg and "--exclude" in msg and "--max-levels" in msg
    assert "few" not in msg
    prep = check_table(df, Selection("y", ["code", "few"]), "regression", max_levels=12)
    assert prep.categorical == ["code", "few"]


def test_missing_values_name_each_column_with_count():
    df = pd.DataFrame(
        {
            "a": [1.0, np.nan, 3.0, np.nan, 5.0],
            "b": [1.0, 2.0, 3.0, 4.0, 5.0],
            "c": [np.nan, 2.0, 3.0, 4.0, 5.0],
            "y": [0.1, 0.2, 0.3, 0.4, 0.5],
        }
    )
    with pytest.raises(DataError) as e:
        prepare(df)
    msg = one_line(e)
    assert "a (2 missing)" in msg
    assert "c (1 missing)" in msg
    assert "b (" not in msg
    assert "--missing impute" in msg


def test_missing_text_values_are_counted_too():
    df = pd.DataFrame({"city": ["u", None, "v", None], "y": [0.1, 0.2, 0.3, 0.4]})
    with pytest.raises(DataError) as e:
        prepare(df, task="regression")
    assert "city (2 missing)" in one_line(e)


def test_impute_keeps_gappy_columns_and_notes_them():
    df = pd.DataFrame(
        {
            "a": [1.0, np.nan, 3.0, 4.0],
            "city": ["u", None, "v", "u"],
            "b": [1.0, 2.0, np.inf, 4.0],
            "c": [4.0, 3.0, 2.0, 1.0],
            "k": [7.0, 7.0, 7.0, np.nan],  # constant apart from a gap: kept (its indicator)
            "y": [0.1, 0.2, 0.3, 0.4],
        }
    )
    prep = check_table(df, Selection("y", ["a", "city", "b", "c", "k"]), "regression",
                       missing="impute")
    assert prep.gappy == ["a", "city", "b", "k"]  # an infinite value is a gap
    assert prep.categorical == ["city"]
    assert list(prep.X.columns) == ["a", "city", "b", "c", "k"]
    assert any("imputed gaps in 4 column(s)" in n for n in prep.notes)


def test_impute_sets_aside_a_column_with_a_gap_in_every_row():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "empty": [np.nan] * 4,
                       "y": [0.1, 0.2, 0.3, 0.4]})
    prep = check_table(df, Selection("y", ["a", "empty"]), "regression", missing="impute")
    assert prep.constant == ["empty"] and prep.gappy == ["a"]
    assert any("imputed gaps in 1 column(s)" in n for n in prep.notes)
    assert any(n.startswith("set aside 1 constant column(s)") for n in prep.notes)


def test_unknown_missing_mode_is_error():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [0.1, 0.2, 0.9]})
    with pytest.raises(DataError) as e:
        check_table(df, Selection("y", ["a"]), "regression", missing="drop")
    assert "drop" in one_line(e)


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_feature_is_named(bad):
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, bad, 3.0], "y": [0.1, 0.2, 0.9]})
    with pytest.raises(DataError) as e:
        prepare(df)
    msg = one_line(e)
    assert "infinite" in msg
    named = msg.split(":", 1)[1].split(";")[0]
    assert named.strip() == "b"
    assert "--missing impute" in msg


def test_rows_with_missing_target_are_dropped_with_a_note():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [0.5, np.nan, 1.5, np.nan, 2.5]})
    prep = prepare(df, task="regression")
    assert prep.X["a"].tolist() == [1.0, 3.0, 5.0]
    assert prep.y.tolist() == [0.5, 1.5, 2.5]
    dropped = [n for n in prep.notes if "dropped" in n]
    assert len(dropped) == 1 and "2 row(s)" in dropped[0] and "'y'" in dropped[0]


def test_text_target_with_missing_values_drops_the_row():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": ["u", None, "v", "u"]})
    prep = prepare(df)
    assert prep.y.tolist() == ["u", "v", "u"]
    assert any("dropped 1 row(s)" in n for n in prep.notes)


def test_all_missing_target_is_error():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [np.nan, np.nan, np.nan]})
    with pytest.raises(DataError) as e:
        prepare(df)
    msg = one_line(e)
    assert "'y'" in msg and "empty" in msg


def test_infinite_regression_target_is_error():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [0.5, np.inf, 1.5]})
    with pytest.raises(DataError) as e:
        prepare(df, task="regression")
    assert "infinite" in one_line(e)


def test_regression_needs_numeric_target():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": ["u", "v", "w"]})
    with pytest.raises(DataError) as e:
        prepare(df, task="regression")
    assert "numeric" in one_line(e)


@pytest.mark.parametrize("target", [[3.0, 3.0, 3.0], ["k", "k", "k"], [1, 1, 1]])
def test_constant_target_is_error(target):
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": target})
    with pytest.raises(DataError) as e:
        prepare(df)
    msg = one_line(e)
    assert "constant" in msg
    assert "'y'" in msg


def test_constant_target_message_shows_plain_value():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [3.0, 3.0, 3.0]})
    with pytest.raises(DataError) as e:
        prepare(df)
    msg = one_line(e)
    assert "np." not in msg and "numpy" not in msg
    assert "3.0" in msg


CONSTANTS = pd.DataFrame(
    {
        "k1": [5.0, 5.0, 5.0, 5.0],
        "a": [1.0, 2.0, 3.0, 4.0],
        "k2": [0, 0, 0, 0],
        "b": [4.0, 1.0, 3.0, 2.0],
        "y": [0.1, 0.7, 0.2, 0.9],
    }
)


def test_constant_features_are_set_aside_with_a_note():
    """select keeps them in X for the estimator, which ranks them last (SPEC 3.1)."""
    prep = prepare(CONSTANTS, task="regression")
    pd.testing.assert_frame_equal(prep.X, CONSTANTS[["k1", "a", "k2", "b"]])
    assert prep.constant == ["k1", "k2"]
    noted = [n for n in prep.notes if "constant" in n]
    assert noted == ["set aside 2 constant column(s), ranked last with importance 0: k1, k2"]


def test_constant_features_are_dropped_for_path_and_kept_for_images():
    features = ["k1", "a", "k2", "b"]
    dropped = check_table(CONSTANTS, Selection("y", features), "regression", constant="drop")
    pd.testing.assert_frame_equal(dropped.X, CONSTANTS[["a", "b"]])
    assert [n for n in dropped.notes if "constant" in n] == [
        "dropped 2 constant column(s): k1, k2"]
    kept = check_table(CONSTANTS, Selection("y", features), "regression", constant="keep")
    assert list(kept.X.columns) == features and kept.constant == [] and kept.notes == []


def test_long_list_of_constant_columns_is_cut_in_the_note():
    df = pd.DataFrame({f"k{i:02d}": [1.0] * 4 for i in range(12)}).assign(
        a=[1.0, 2.0, 3.0, 4.0], y=[0.1, 0.7, 0.2, 0.9])
    (note,) = [n for n in prepare(df, task="regression").notes if "constant" in n]
    assert note.startswith("set aside 12 constant column(s)")
    assert note.endswith("k08, k09 ...") and "k10" not in note


def test_constant_columns_are_one_value_or_a_gap_in_every_row():
    df = pd.DataFrame({
        "one": [2.5] * 4,
        "ints": [7, 7, 7, 7],
        "empty": [np.nan] * 4,
        "inf": [np.inf, -np.inf, np.nan, np.inf],  # infinite values are gaps
        "gappy": [1.0, 1.0, np.nan, 1.0],  # one value and a gap: the indicator varies
        "text": ["u"] * 4,
        "no_text": [None] * 4,
        "text_gap": ["u", None, "u", "u"],
        "flag": [True] * 4,
        "coded": [3, 3, 3, 3],  # forced categorical
        "varies": [1.0, 2.0, 1.0, 1.0],
        "levels": ["u", "v", "u", "u"],
        "big": [1e308, 1e308, 1e308, -1e308],
    })
    assert constant_columns(df, ["coded"]) == ["one", "ints", "empty", "inf", "text",
                                               "no_text", "flag", "coded"]


def test_no_note_when_nothing_constant_and_task_given():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [0.1, 0.5, 0.9]})
    prep = prepare(df, task="regression")
    assert prep.notes == []
    assert prep.task == "regression"


@pytest.mark.parametrize("mode", ["set_aside", "drop"])
def test_all_constant_features_is_error(mode):
    df = pd.DataFrame({"k1": [1.0, 1.0, 1.0], "k2": [2, 2, 2], "y": [0.1, 0.5, 0.9]})
    with pytest.raises(DataError) as e:
        check_table(df, Selection("y", ["k1", "k2"]), constant=mode)
    assert "constant" in one_line(e)


@pytest.mark.parametrize(
    "target,task",
    [([0, 1, 0, 1], "classification"), ([0.15, 2.5, -1.25, 7.0], "regression"),
     (["a", "b", "a", "b"], "classification")],
)
def test_auto_task_is_chosen_and_noted(target, task):
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": target})
    prep = prepare(df, task="auto")
    assert prep.task == task
    task_notes = [n for n in prep.notes if n.startswith("task")]
    assert len(task_notes) == 1
    assert task in task_notes[0]
    assert "'y'" in task_notes[0]
    assert "--task" in task_notes[0]


def test_explicit_task_is_kept_and_not_noted():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    prep = prepare(df, task="regression")
    assert prep.task == "regression"
    assert not any(n.startswith("task") for n in prep.notes)


def test_prepared_y_is_the_target_column():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": ["p", "q", "p", "q"], "b": [1, 3, 2, 4]})
    prep = check_table(df, Selection(target="y", features=["b", "a"]))
    assert prep.y.tolist() == ["p", "q", "p", "q"]
    assert list(prep.X.columns) == ["b", "a"]


# --------------------------------------------------------------------------------------------
# fit_encoder / Encoder


def test_encoder_uses_training_mean_and_std():
    rng = np.random.default_rng(11)
    train = pd.DataFrame({"a": rng.normal(3, 2, 40), "b": rng.uniform(-5, 5, 40)})
    enc = fit_encoder(train)
    assert isinstance(enc, Encoder)
    assert enc.columns == ["a", "b"]
    for j, col in enumerate(["a", "b"]):
        vals = train[col].tolist()
        assert enc.mean[j] == pytest.approx(statistics.fmean(vals), rel=1e-12)
        assert enc.scale[j] == pytest.approx(statistics.pstdev(vals), rel=1e-12)

    new = pd.DataFrame({"b": [0.0, 10.0], "a": [3.0, -1.0]})  # column order differs
    got = enc.transform(new)
    assert got.dtype == np.float32
    assert got.shape == (2, 2)
    for j, col in enumerate(["a", "b"]):
        vals = train[col].tolist()
        want = [(v - statistics.fmean(vals)) / statistics.pstdev(vals) for v in new[col]]
        np.testing.assert_allclose(got[:, j], want, rtol=1e-6)


def test_encoder_standardises_training_rows():
    train = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0], "b": [10.0, 10.0, 20.0, 20.0, 40.0]})
    z = fit_encoder(train).transform(train).astype(np.float64)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-6)
    # a: mean 3, population std sqrt(2)
    np.testing.assert_allclose(z[:, 0], np.array([-2, -1, 0, 1, 2]) / math.sqrt(2), rtol=1e-6)


def test_zero_variance_column_gets_scale_one():
    train = pd.DataFrame({"k": [5.0, 5.0, 5.0, 5.0], "a": [1.0, 2.0, 3.0, 4.0]})
    enc = fit_encoder(train)
    assert enc.scale[0] == 1.0
    assert enc.mean[0] == 5.0
    got = enc.transform(pd.DataFrame({"k": [5.0, 7.0, 2.0], "a": [1.0, 2.0, 3.0]}))
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got[:, 0], np.array([0.0, 2.0, -3.0], dtype=np.float32))


def test_constant_non_representable_value_gets_scale_one():
    train = pd.DataFrame({"k": [0.1, 0.1, 0.1], "a": [1.0, 2.0, 3.0]})
    enc = fit_encoder(train)
    assert enc.scale[0] == 1.0
    np.testing.assert_allclose(enc.transform(train)[:, 0], 0.0, atol=1e-6)
    got = enc.transform(pd.DataFrame({"k": [0.2], "a": [1.0]}))
    assert abs(got[0, 0] - 0.1) < 1e-6


def test_encoder_to_dict():
    enc = fit_encoder(pd.DataFrame({"a": [1.0, 3.0], "b": [2.0, 2.0]}))
    numeric = {"kind": "numeric", "levels": [], "fill": None, "indicator": False}
    assert enc.to_dict() == {
        "columns": ["a", "b"],
        "codes": [{"name": "a", **numeric}, {"name": "b", **numeric}],
        "mean": [2.0, 2.0],
        "scale": [1.0, 1.0],
    }


def test_categorical_encoder_one_hot_levels_and_statistics():
    train = pd.DataFrame({"c": ["v", "u", "w", "u"], "x": [1.0, 2.0, 3.0, 4.0]})
    enc = fit_encoder(train, categorical=["c"])
    assert enc.columns == ["c", "x"]
    assert enc.input_names == ["c=u", "c=v", "c=w", "x"]
    assert enc.unit_of_input == [0, 0, 0, 1]
    np.testing.assert_array_equal(enc.inputs_of([0]), [0, 1, 2])
    # each level's indicator standardised with its training share p: mean p, std sqrt(p(1-p))
    for j, p in enumerate([0.5, 0.25, 0.25]):
        assert enc.mean[j] == pytest.approx(p)
        assert enc.scale[j] == pytest.approx(math.sqrt(p * (1 - p)))
    new = pd.DataFrame({"c": ["w", "zz", "u"], "x": [0.0, 0.0, 0.0]})
    np.testing.assert_array_equal(enc.raw(new)[:, :3], [[0, 0, 1], [0, 0, 0], [1, 0, 0]])
    assert enc.unseen_levels(new) == (1, {"c": (["zz"], False)})


def test_imputing_encoder_fills_medians_and_most_frequent_level():
    train = pd.DataFrame({
        "x": [1.0, np.nan, 10.0, 2.0, np.inf],
        "c": ["v", "u", None, "v", "u"],  # a tie: the first level in sorted order
        "d": ["p", "q", "q", None, "q"],
    })
    enc = fit_encoder(train, categorical=["c", "d"], gappy=["x", "c", "d"])
    codes = {c.name: c for c in enc.codes}
    assert codes["x"].fill == statistics.median([1.0, 10.0, 2.0])
    assert codes["c"].fill == "u" and codes["d"].fill == "q"
    assert all(c.indicator for c in enc.codes)
    assert enc.input_names == ["x", "x:missing", "c=u", "c=v", "c:missing",
                               "d=p", "d=q", "d:missing"]
    raw = enc.raw(train)
    assert enc.unseen_levels(train) == (0, {}) and np.isfinite(raw).all()
    np.testing.assert_array_equal(raw[:, 0], [1.0, 2.0, 10.0, 2.0, 2.0])
    np.testing.assert_array_equal(raw[:, 1], [0, 1, 0, 0, 1])
    np.testing.assert_array_equal(raw[2, 2:5], [1, 0, 1])  # the gap as 'u', indicator on
    assert np.isfinite(enc.transform(train)).all()


def test_encoder_round_trips_through_its_dict():
    train = pd.DataFrame({"x": [1.0, np.nan, 3.0], "c": ["a", "b", None]})
    enc = fit_encoder(train, categorical=["c"], gappy=["x", "c"])
    again = Encoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert again.codes == enc.codes
    new = pd.DataFrame({"x": [np.nan, 2.0], "c": ["b", "zz"]})
    np.testing.assert_array_equal(again.transform(new), enc.transform(new))


def test_check_features_names_unusable_columns():
    train = pd.DataFrame({"x": [1.0, np.nan, 3.0], "z": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    enc = fit_encoder(train, categorical=["c"], gappy=["x"])
    check_features(pd.DataFrame({"x": [np.nan], "z": [1.0], "c": ["q"]}), enc)  # fine
    with pytest.raises(DataError) as e:
        check_features(pd.DataFrame({"x": [1.0], "z": [np.inf], "c": [None]}), enc)
    msg = one_line(e)
    assert "z (1 missing or infinite)" in msg and "c (1 missing" in msg and "x (" not in msg
    with pytest.raises(DataError) as e:
        check_features(pd.DataFrame({"x": [1.0], "c": ["a"]}), enc)
    assert "z" in one_line(e)
    with pytest.raises(DataError) as e:
        check_features(pd.DataFrame({"x": [1.0], "z": ["text"], "c": ["a"]}), enc)
    assert "column(s) z hold text or true/false (e.g. 'text' in z)" in one_line(e)
    # not a gap: filling gaps (predict --missing impute) is no remedy, and none is offered
    for encoder in (enc, enc.filling_gaps()):
        with pytest.raises(DataError) as e:
            check_features(pd.DataFrame({"x": [1.0], "z": [True], "c": ["a"]}), encoder)
        assert "trained on numbers: give them as numbers" in one_line(e)
        assert "impute" not in one_line(e) and "gaps" not in one_line(e)


# --------------------------------------------------------------------------------------------
# split_rows


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_partition(keep: np.ndarray, out: np.ndarray, n: int) -> None:
    assert len(set(keep.tolist()) & set(out.tolist())) == 0
    assert sorted(keep.tolist() + out.tolist()) == list(range(n))
    assert len(set(keep.tolist())) == len(keep) and len(set(out.tolist())) == len(out)


@pytest.mark.parametrize("n,fraction,n_out", [(100, 0.2, 20), (10, 0.1, 1), (7, 0.5, 4),
                                              (50, 0.75, 38), (33, 1 / 3, 11)])
def test_unstratified_sizes_match_fraction(n, fraction, n_out):
    keep, out = split_rows(np.zeros(n), fraction, False, rng(), "--val-fraction")
    assert len(out) == n_out
    assert len(keep) == n - n_out
    assert_partition(keep, out, n)


def test_stratified_every_class_in_both_parts_in_proportion():
    y = np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    np.random.default_rng(5).shuffle(y)
    keep, out = split_rows(y, 0.2, True, rng(1), "--test-fraction")
    assert_partition(keep, out, len(y))
    for label, size in (("a", 50), ("b", 30), ("c", 20)):
        assert (y[out] == label).sum() == round(size * 0.2)
        assert (y[keep] == label).sum() == size - round(size * 0.2)


def test_stratified_small_classes_appear_in_both_parts():
    y = np.array([0] * 40 + [1] * 2 + [2] * 3 + [3])
    keep, out = split_rows(y, 0.1, True, rng(2), "--val-fraction")
    assert_partition(keep, out, len(y))
    for c in (0, 1, 2):
        assert (y[keep] == c).any() and (y[out] == c).any(), c
    assert (y[keep] == 3).sum() == 1  # a singleton class stays in training
    assert (y[out] == 0).sum() == 4


def test_stratified_large_fraction_keeps_one_of_each_class():
    y = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    keep, out = split_rows(y, 0.7, True, rng(0), "--test-fraction")
    assert_partition(keep, out, len(y))
    assert set(y[keep].tolist()) == {0, 1}
    assert set(y[out].tolist()) == {0, 1}


@pytest.mark.parametrize("stratify", [False, True])
def test_split_is_deterministic_for_seed(stratify):
    y = np.repeat([0, 1, 2], 40)
    a = split_rows(y, 0.25, stratify, rng(42), "--val-fraction")
    b = split_rows(y, 0.25, stratify, rng(42), "--val-fraction")
    c = split_rows(y, 0.25, stratify, rng(43), "--val-fraction")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_unstratified_split_is_shuffled():
    keep, out = split_rows(np.zeros(100), 0.2, False, rng(0), "--val-fraction")
    assert out.tolist() != list(range(80, 100)) and out.tolist() != list(range(20))


@pytest.mark.parametrize("n,fraction", [(2, 0.2), (1, 0.5), (2, 0.5), (5, 0.1), (9, 0.9)])
def test_too_few_rows_says_how_many_are_needed(n, fraction):
    with pytest.raises(DataError) as e:
        split_rows(np.zeros(n), fraction, False, rng(), "--val-fraction")
    msg = one_line(e)
    assert "--val-fraction" in msg
    assert str(n) in msg
    m = re.search(r"need at least (\d+)", msg)
    assert m, msg
    need = int(m.group(1))
    assert need > n
    # the stated number really is enough
    keep, out = split_rows(np.zeros(need), fraction, False, rng(), "--val-fraction")
    assert len(out) >= 1 and len(keep) >= 2


@pytest.mark.parametrize("n,fraction", [(5, 0.1), (9, 0.9)])
def test_too_few_rows_states_the_minimum(n, fraction):
    with pytest.raises(DataError) as e:
        split_rows(np.zeros(n), fraction, False, rng(), "--val-fraction")
    need = int(re.search(r"need at least (\d+)", str(e.value)).group(1))
    try:
        split_rows(np.zeros(need - 1), fraction, False, rng(), "--val-fraction")
    except DataError:
        return
    raise AssertionError(f"{need - 1} rows split fine, but the message says {need} are needed")


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_fraction_outside_open_interval_is_error(fraction):
    with pytest.raises(DataError) as e:
        split_rows(np.zeros(50), fraction, False, rng(), "--test-fraction")
    msg = one_line(e)
    assert "--test-fraction" in msg
    assert str(fraction) in msg


def test_stratified_all_singleton_classes_is_error():
    with pytest.raises(DataError) as e:
        split_rows(np.arange(10), 0.2, True, rng(), "--val-fraction")
    one_line(e)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    labels=st.lists(st.integers(0, 4), min_size=1, max_size=60),
    fraction=st.floats(0.01, 0.99),
    stratify=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_partition_invariants(labels, fraction, stratify, seed):
    y = np.array(labels)
    n = len(y)
    try:
        keep, out = split_rows(y, fraction, stratify, np.random.default_rng(seed), "--x")
    except DataError as e:
        assert "\n" not in str(e)
        # refusing is only allowed when the rows really cannot be split
        n_out = round(n * fraction)
        counts = np.unique(y, return_counts=True)[1]
        assert n_out < 1 or n - n_out < 2 or (stratify and (counts < 2).all())
        return
    assert_partition(keep, out, n)
    assert np.all(np.diff(keep) > 0) and np.all(np.diff(out) > 0)  # sorted
    assert len(out) >= 1 and len(keep) >= 2
    if not stratify:
        assert len(out) == round(n * fraction)
    else:
        for c in np.unique(y):
            members = int((y == c).sum())
            in_out = int((y[out] == c).sum())
            if members >= 2:
                assert 1 <= in_out <= members - 1
                assert abs(in_out - members * fraction) <= 1.0 + 1e-9
            else:
                assert in_out == 0
    again = split_rows(y, fraction, stratify, np.random.default_rng(seed), "--x")
    np.testing.assert_array_equal(again[0], keep)
    np.testing.assert_array_equal(again[1], out)


# --------------------------------------------------------------------------------------------
# tall tables: reading, checking and encoding in chunks


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 60 cells, so that a small table takes many of them."""
    import lassonet_cli.read as read_module

    monkeypatch.setattr(read_module, "CHUNK_CELLS", 60)


def test_chunked_encoder_equals_whole_table_statistics(small_chunks):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(1e6, 3.0, 97), "b": rng.uniform(-1e300, 1e300, 97),
                          "c": np.full(97, 0.1), "d": rng.normal(0, 1, 97)})
    rows = rng.permutation(97)[:71]
    enc = fit_encoder(frame, rows=rows)
    values = frame.to_numpy()[rows]
    # exact oracles (statistics works in fractions: no overflow near 1e300)
    mean = [statistics.fmean(values[:, j]) for j in range(4)]
    std = [statistics.pstdev(values[:, j]) for j in range(4)]
    np.testing.assert_allclose(enc.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(enc.scale[[0, 1, 3]], np.asarray(std)[[0, 1, 3]], rtol=1e-12)
    assert enc.scale[2] == 1.0  # constant in training
    # the rows argument is the same as fitting on a copy of those rows
    copy = fit_encoder(frame.iloc[rows].reset_index(drop=True))
    np.testing.assert_allclose(enc.mean, copy.mean, rtol=1e-12)
    np.testing.assert_allclose(enc.scale, copy.scale, rtol=1e-12)
    want = ((values - enc.mean) / enc.scale).astype(np.float32)
    np.testing.assert_array_equal(enc.transform(frame.iloc[rows]), want)


def test_chunked_encoder_keeps_categorical_levels_of_training_rows_only(small_chunks):
    frame = pd.DataFrame({"g": ["a", "b", "c", "a", "b", "z"] * 5, "x": np.arange(30.0)})
    rows = np.flatnonzero(frame["g"] != "z")
    enc = fit_encoder(frame, categorical=["g"], rows=rows)
    assert enc.input_names[:3] == ["g=a", "g=b", "g=c"]
    z = enc.transform(frame.iloc[rows]).astype(np.float64)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-6)


def test_parquet_read_in_column_groups_equals_the_whole_table(tmp_path, small_chunks):
    rng = np.random.default_rng(4)
    df = pd.DataFrame({f"x{j}": rng.normal(size=20).astype(np.float32) for j in range(7)})
    df["label"] = rng.choice(["u", "v"], 20)
    df["k"] = pd.Categorical(rng.choice(["p", "q"], 20))
    df.index = np.arange(100, 120)  # a saved index column is not data
    p = tmp_path / "t.parquet"
    df.to_parquet(p)
    got = read_table(str(p))
    assert list(got.columns) == list(df.columns)
    assert_same(got, df.reset_index(drop=True))
    assert got["k"].dtype == "category"


def test_infinite_values_are_counted_in_every_chunk(small_chunks):
    frame = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0), "y": np.arange(40.0)})
    frame.loc[[3, 37], "b"] = np.inf
    with pytest.raises(DataError, match="infinite values in feature column.*: b"):
        check_table(frame, select_columns(frame, "y"), "regression")


@pytest.mark.parametrize("text, names", [
    ("a, b ,c", ["a", "b", "c"]),
    ('"dose, mg",age', ["dose, mg", "age"]),
    ("a,,b,", ["a", "b"]),
    # a line break (an option value pasted from a file) separates, unless quoted; it raised
    # csv.Error, an internal error
    ("x\ny", ["x", "y"]),
    ('"x\ny",z', ["x\ny", "z"]),
])
def test_comma_lists_of_names(text, names):
    assert comma_list(text) == names


@pytest.mark.parametrize("names", [
    ["a", "b"], ["dose;mg", "c"], ['say "hi"', "x"], ["two\nlines", "y"],
    ["car\rriage", "z"],  # a lone carriage return was left unquoted
    [" spaced ", "w"], ["only"],
])
def test_a_joined_cell_splits_back_into_its_names(names):
    import csv

    assert next(csv.reader([join_names(names)], delimiter=";")) == names


def test_na_values_are_split_at_commas_as_they_are():
    """Cell values are not column names: no CSV quoting, so a quote stays a value (it
    vanished when --na-values went through the names' parser)."""
    from lassonet_cli.cli_options import parse_values

    assert parse_values('",?, -999,?') == ['"', "?", "-999"]
    assert parse_values(None) == [] and parse_values(" , ") == []


@pytest.mark.parametrize("ext, pack", [
    (".bz2", lambda data: __import__("bz2").compress(data)),
    (".xz", lambda data: __import__("lzma").compress(data)),
    (".zip", None),
])
def test_a_table_compressed_by_its_extension_is_sniffed_decompressed(tmp_path, ext, pack):
    """pandas decompresses t.csv.bz2 / .xz / .zip by the extension, but the separator was
    guessed from the compressed bytes: a ';' table was split on '\\t' (or failed)."""
    text = b"a;b;y\n1;2;3\n4;5;6\n7;8;9\n"
    path = tmp_path / f"t.csv{ext}"
    if pack is None:
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("t.csv", text)
    else:
        path.write_bytes(pack(text))
    df = read_table(str(path), fmt="csv")
    assert list(df.columns) == ["a", "b", "y"] and df["y"].tolist() == [3, 6, 9]


@pytest.mark.parametrize("name", ["t.csv.zst", "t.tar", "t.tar.gz"])
def test_a_zstd_or_tar_table_is_refused_in_one_line(tmp_path, name):
    """A zstd-compressed table named .zst was an internal error (pandas' ImportError for
    zstandard); a tar archive is no table, gzipped or not."""
    path = tmp_path / name
    magic = gzip.compress(b"a,b\n1,2\n") if name.endswith(".gz") else b"\x28\xb5\x2f\xfd"
    path.write_bytes(magic + bytes(20))
    with pytest.raises(DataError, match="file: decompress it first"):
        read_table(str(path), fmt="csv")


@pytest.mark.parametrize("copy_below", [1 << 26, 1])
def test_without_leaves_the_other_columns_in_order_copied_or_not(monkeypatch, copy_below):
    """A small table is copied (one block, fast row slices), a large one dropped from (no
    second copy in memory); either way the same columns in the same order."""
    from lassonet_cli import columns

    monkeypatch.setattr(columns, "COPY_BELOW_CELLS", copy_below)
    X = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [3, 4], "d": [5.0, 6.0]})
    kept = columns.without(X, ["d", "b"])
    pd.testing.assert_frame_equal(kept, X[["a", "c"]])
    assert list(X.columns) == ["a", "b", "c", "d"]  # (the table itself untouched)


def test_constant_columns_of_some_rows_are_those_of_the_rows_taken_out(small_chunks):
    """``rows`` counts only those rows, chunk by chunk, as a copy of them would."""
    from lassonet_cli.checks import constant_columns

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=50), "b": 1.0, "c": ["u"] * 50, "d": np.nan,
                      "e": rng.normal(size=50)})
    rows = np.arange(0, 50, 2)
    X.loc[1::2, ["b", "c", "d"]] = [2.0, "v", 3.0]  # vary only among the rows left out
    X.loc[rows[:3], "e"] = np.nan  # one value or a gap is not constant
    assert constant_columns(X, ["c"]) == []
    assert constant_columns(X, ["c"], rows) == constant_columns(X.iloc[rows], ["c"]) \
        == ["b", "c", "d"]
