"""Messy input (issue 16): numbers with stray text, extreme magnitudes, typed Parquet columns,
Parquet on stdin, a separator that splits nothing, blank header names and groups files.

Each case either reads correctly or stops with one `error:` line (exit 2) that names the column
and says how to fix it; none trains silently on a misread table.
"""

from __future__ import annotations

import datetime
import decimal
import io
import sys
import types

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clitools import assert_clean_error, invoke, with_a_test_only_column

from lassonet_cli.checks import check_table
from lassonet_cli.columns import Selection, select_columns
from lassonet_cli.encoding import fit_encoder
from lassonet_cli.errors import DataError
from lassonet_cli.read import read_table

FAST = ["--max-epochs", "15", "--patience", "3", "--threads", "1", "--cv", "0",
        "--backbone", "linear", "--path-multiplier", "1.5"]


def good_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """y depends on b strongly, on a weakly; c is noise."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.standard_normal(n), "b": rng.standard_normal(n),
                       "c": rng.standard_normal(n)})
    df["y"] = 3 * df["b"] + 0.3 * df["a"] + 0.05 * rng.standard_normal(n)
    return df


def check(df: pd.DataFrame, target: str = "y", **options):
    features = [c for c in df.columns if c != target]
    return check_table(df, Selection(target=target, features=features), **options)


# --------------------------------------------------------------------------------------------
# numbers with stray text cells (defect 5)


def test_question_mark_in_a_numeric_column_is_named_with_its_row(tmp_path):
    df = good_frame().astype({"b": object})
    df.loc[5, "b"] = "?"
    path = tmp_path / "q.csv"
    df.to_csv(path, index=False)
    line = assert_clean_error(invoke("select", path, "-t", "y", *FAST),
                              "column 'b': 59 numbers", "1 text cell", "'?'", "row 6",
                              "--na-values")
    assert "--max-levels" not in line


def test_na_values_reads_the_stray_cells_as_gaps(tmp_path):
    df = good_frame().astype({"b": object})
    df.loc[5, "b"] = "?"
    df.loc[9, "b"] = "-"
    path = tmp_path / "q.csv"
    df.to_csv(path, index=False)
    table = read_table(str(path), na_values=["?", "-"])
    assert table["b"].dtype == np.float64 and table["b"].isna().sum() == 2
    # the gaps are then an ordinary missing-value error, or imputed
    assert_clean_error(invoke("select", path, "-t", "y", "--na-values", "?,-", *FAST),
                       "b (2 missing)", "--missing impute")
    out = tmp_path / "ranking.csv"
    result = invoke("select", path, "-t", "y", "--na-values", "?,-", "--missing", "impute",
                    "-o", out, *FAST)
    assert result.exit_code == 0, result.stderr
    assert pd.read_csv(out)["feature"].iloc[0] == "b"


def test_several_text_cells_are_listed_first_few(tmp_path):
    df = good_frame().astype({"a": object})
    for row, text in ((2, "x"), (4, "missing"), (7, "x"), (11, "-"), (30, "z")):
        df.loc[row, "a"] = text
    line = pytest.raises(DataError, check, df).value.args[0]
    assert "column 'a': 55 numbers and 5 text cells" in line
    assert "'x' (row 3)" in line and "'missing' (row 5)" in line
    assert "'z'" not in line  # only the first few are shown


def test_mostly_numbers_target_is_named_too():
    df = good_frame()
    df["y"] = pd.Series([1, 2, 3] * (len(df) // 3), dtype=object)  # (class labels, as numbers)
    df.loc[0, "y"] = "unknown"
    with pytest.raises(DataError, match=r"the target column 'y': 59 numbers and 1 text cell "
                                        r"'unknown' \(row 1\).*--task classification"):
        check(df)
    # an explicit classification keeps the labels as they are
    assert check(df, task="classification").task == "classification"


def test_categorical_option_keeps_a_mostly_numeric_column_as_levels():
    df = good_frame(n=30)
    df["grade"] = pd.Series([1, 2, 3] * 9 + ["unknown"] * 3, dtype=object)
    with pytest.raises(DataError, match="--categorical grade"):
        check(df)
    assert check(df, categorical=["grade"]).categorical == ["grade"]


def test_a_text_column_of_words_is_still_categorical():
    df = good_frame(n=30)
    df["colour"] = ["red", "green", "3"] * 10  # a number among words: still levels
    assert check(df).categorical == ["colour"]


def test_predict_names_the_stray_cells_too(tmp_path):
    df = good_frame()
    data, model = tmp_path / "good.csv", tmp_path / "model.safetensors"
    df.to_csv(data, index=False)
    result = invoke("select", data, "-t", "y", "--model-out", model, *FAST)
    assert result.exit_code == 0, result.stderr
    new = df.drop(columns="y").astype({"c": object})
    new.loc[2, "c"] = "-"
    new.to_csv(data, index=False)
    assert_clean_error(invoke("predict", model, data), "column 'c'", "'-' (row 3)",
                       "--na-values '-'")


def test_decimal_comma_table_is_detected_and_read_with_decimal(tmp_path):
    df = good_frame()
    path = tmp_path / "comma.csv"
    df.to_csv(path, index=False, sep=";", decimal=",")
    assert_clean_error(invoke("select", path, "-t", "y", *FAST), "decimal comma",
                       "--decimal ,")
    table = read_table(str(path), decimal=",")
    np.testing.assert_array_equal(table.to_numpy(), df.to_numpy())
    out = tmp_path / "ranking.csv"
    result = invoke("select", path, "-t", "y", "--decimal", ",", "-o", out, *FAST)
    assert result.exit_code == 0, result.stderr
    assert pd.read_csv(out)["feature"].iloc[0] == "b"


@pytest.mark.parametrize(("cells", "fragments", "not_in"), [
    # 1,612 could be 1612 or 1.612: both readings are named
    (["1,612", "950", "2,100", "1,850"] * 10, ["'1,612', row 1", "thousands separator or as a "
                                               "decimal comma", "--decimal ,"], None),
    # with a decimal point or a second group it can only be thousands
    (["1,612.5", "950", "2,100.25", "1,000,000"] * 10, ["thousands separators",
                                                         "'1,612.5', row 1"], "--decimal"),
    (["0,35", "1,612", "2,5"] * 10, ["decimal comma", "'0,35', row 1", "--decimal ,"],
     "thousands"),
])
def test_numbers_with_thousands_separators_are_not_sent_to_a_decimal_comma(tmp_path, cells,
                                                                           fragments, not_in):
    """'1,612' (quoted, in a comma-separated table) was said to hold a decimal comma, and
    --decimal , then read 1.612 beside 950 and trained on that without a word."""
    frame = good_frame(n=len(cells))
    frame["a"] = cells
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False, quoting=1)  # csv.QUOTE_ALL
    line = assert_clean_error(invoke("select", path, "-t", "y", *FAST), "column 'a'",
                              *fragments)
    assert not_in is None or not_in not in line, line


def test_decimal_same_as_separator_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    good_frame().to_csv(path, index=False)
    assert_clean_error(invoke("select", path, "-t", "y", "--decimal", ",", *FAST),
                       "--decimal", "separator")


def test_quoted_decimal_commas_in_a_comma_separated_table_are_read(tmp_path):
    """"0,346","1,5": the advice went round in a circle (--decimal , -> "also the separator,
    use --sep ';'" -> "separated by ','" -> --decimal , ...) and the file could not be read.
    Quoted, the commas inside the numbers are unambiguous; bare ones still are refused."""
    quoted = tmp_path / "quoted.csv"
    good_frame().to_csv(quoted, index=False, decimal=",", quoting=1)  # csv.QUOTE_ALL
    assert_clean_error(invoke("select", quoted, "-t", "y", *FAST), "--decimal ,")
    result = invoke("select", quoted, "-t", "y", "--decimal", ",", *FAST)
    assert result.exit_code == 0, result.stderr
    assert pd.read_csv(io.StringIO(result.stdout))["feature"].iloc[0] == "b"
    bare = tmp_path / "bare.csv"
    bare.write_text("a,b,y\n0,5,1,5,2,5\n1,0,2,0,3,5\n")
    assert_clean_error(invoke("select", bare, "-t", "y", "--decimal", ",", *FAST),
                       "not all quoted")


# --------------------------------------------------------------------------------------------
# typed Parquet columns (defect 5)


def test_parquet_decimal128_columns_are_numbers(tmp_path):
    df = good_frame()
    table = pa.table({
        "a": df["a"], "c": df["c"],
        "b": pa.array([decimal.Decimal(f"{v:.6f}") for v in df["b"]], pa.decimal128(12, 6)),
        "y": pa.array([decimal.Decimal(f"{v:.6f}") for v in df["y"]], pa.decimal128(12, 6)),
    })
    path = tmp_path / "decimal.parquet"
    pq.write_table(table, path)
    read = read_table(str(path))
    assert read["b"].dtype == np.float64 and read["y"].dtype == np.float64
    np.testing.assert_allclose(read["b"], df["b"], atol=1e-6)
    out = tmp_path / "ranking.csv"
    result = invoke("select", path, "-t", "y", "-o", out, *FAST)
    assert result.exit_code == 0, result.stderr
    assert "task: regression" in result.stderr
    assert pd.read_csv(out)["feature"].iloc[0] == "b"


@pytest.mark.parametrize("values, kind", [
    ([datetime.datetime(2020, 1, 1) + datetime.timedelta(days=i) for i in range(60)],
     "dates or times"),
    ([datetime.date(2020, 1, 1) + datetime.timedelta(days=i) for i in range(60)],
     "dates or times"),
    ([datetime.timedelta(seconds=i) for i in range(60)], "durations"),
])
def test_parquet_date_and_duration_features_are_refused_by_name(tmp_path, values, kind):
    df = good_frame()
    table = pa.Table.from_pandas(df, preserve_index=False).append_column("when",
                                                                         pa.array(values))
    path = tmp_path / "dated.parquet"
    pq.write_table(table, path)
    assert_clean_error(invoke("select", path, "-t", "y", *FAST), "column 'when'", kind,
                       "--exclude when")
    # left out, or as an ID, the column is no problem
    out = tmp_path / "ranking.csv"
    result = invoke("select", path, "-t", "y", "--id", "when", "-o", out, *FAST)
    assert result.exit_code == 0, result.stderr
    assert "when" not in set(pd.read_csv(out)["feature"])


def test_datetime_target_is_refused():
    df = good_frame()
    df["y"] = pd.date_range("2020-01-01", periods=len(df), freq="D")
    with pytest.raises(DataError, match="the target column 'y' holds dates or times"):
        check(df)


# --------------------------------------------------------------------------------------------
# extreme magnitudes (defects 3 and 4)


def test_huge_values_in_a_feature_standardise_without_overflow():
    df = good_frame()
    df.loc[0, "b"], df.loc[1, "b"] = 1e308, -1e308
    encoder = fit_encoder(df[["a", "b", "c"]])  # RuntimeWarnings are errors under pytest
    assert np.isfinite(encoder.mean).all() and np.isfinite(encoder.scale).all()
    z = encoder.transform(df[["a", "b", "c"]])
    assert np.isfinite(z).all()
    # the exact standardisation: mean 0 over these rows, unit spread
    b = z[:, 1].astype(np.float64)
    assert abs(b.mean()) < 1e-6 and abs(b.std() - 1) < 1e-6


def test_one_sided_huge_values_do_not_overflow_in_transform():
    df = pd.DataFrame({"a": [1e308] * 9 + [-1e308], "b": np.arange(10.0)})
    encoder = fit_encoder(df)
    z = encoder.transform(df)
    assert np.isfinite(z).all()
    np.testing.assert_allclose(z[:, 0], [1 / 3] * 9 + [-3], rtol=1e-6)


def test_images_with_huge_pixels_pool_channels_without_overflow():
    df = pd.DataFrame({"p0": [1e308, -1e308, 0.0, 1.0], "p1": [0.0, 1.0, -1e308, 1e308]})
    encoder = fit_encoder(df, channels=1)
    assert np.isfinite(encoder.scale).all() and (encoder.scale > 1e307).all()


def test_feature_swamped_by_huge_values_gets_a_note_and_runs(tmp_path):
    df = good_frame()
    df.loc[0, "b"], df.loc[1, "b"] = 1e308, -1e308
    path = tmp_path / "huge.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "ranking.csv"
    result = invoke("select", path, "-t", "y", "-o", out, *FAST)
    assert result.exit_code == 0, result.stderr
    assert "RuntimeWarning" not in result.stderr
    notes = [line for line in result.stderr.splitlines() if "column 'b'" in line]
    assert len(notes) == 1 and "1e+308" in notes[0] and "--na-values" in notes[0]
    ranking = pd.read_csv(out)
    assert not ranking.isna().any().any() and sorted(ranking["feature"]) == ["a", "b", "c"]


def test_gaps_among_huge_values_are_imputed_with_a_finite_median(tmp_path):
    """Found by the Parquet fuzz: a gappy column whose two middle values are 1e308 had the
    imputation median of numpy, (a + b) / 2 = inf, and `select --missing impute` ended in an
    overflow warning and "training diverged ... set a smaller --lr". The median is 1e308."""
    df = good_frame()
    df["b"] = [np.nan, 0.0, 1e308, 1e308, 1e308, 0.0] * (len(df) // 6) + [1e308] * (len(df) % 6)
    encoder = fit_encoder(df[["a", "b", "c"]], gappy=["b"])  # RuntimeWarnings are errors here
    (code,) = [c for c in encoder.codes if c.name == "b"]
    assert code.fill == 1e308
    assert np.isfinite(encoder.transform(df[["a", "b", "c"]])).all()
    path = tmp_path / "gaps.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "ranking.csv"
    result = invoke("select", path, "-t", "y", "--missing", "impute", "-o", out, *FAST)
    assert result.exit_code == 0, result.stderr
    assert "Warning" not in result.stderr and "diverged" not in result.stderr
    assert sorted(pd.read_csv(out)["feature"]) == ["a", "b", "c"]


def test_the_imputation_median_is_numpys_where_numpys_is_finite():
    from lassonet_cli.encoding import _median

    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4, 7, 10, 101):
        for scale in (1e-300, 1.0, 1e300):
            values = rng.standard_normal(n) * scale
            assert _median(values) == np.median(values), (n, scale)
    assert _median(np.array([1e308, 1.7e308])) == pytest.approx(1.35e308, rel=1e-15)


def test_huge_values_on_the_scale_of_the_column_are_used():
    """A column whose values are all near 1e300 is standardised like any other: no note."""
    df = good_frame()
    df["b"] = df["b"] * 1e300
    prepared = check(df)
    assert not [n for n in prepared.notes if "column 'b'" in n]


def test_target_swamped_by_a_huge_value_is_an_error(tmp_path):
    df = good_frame()
    df.loc[3, "y"] = 1e308
    path = tmp_path / "target.csv"
    df.to_csv(path, index=False)
    assert_clean_error(invoke("select", path, "-t", "y", *FAST), "the target column 'y'",
                       "1e+308", "--na-values")


def test_target_wider_than_float64_is_an_error(tmp_path):
    """Found by the Parquet fuzz: -1e308 and 1.8e308 among zeros; centring such a target
    overflowed (a numpy warning, then a diverged fit)."""
    df = good_frame()
    df["y"] = 0.0
    df.loc[3, "y"], df.loc[7, "y"], df.loc[9, "y"] = -1e308, 1.7976931348623157e308, 1.5
    path = tmp_path / "target.csv"
    df.to_csv(path, index=False)
    assert_clean_error(invoke("select", path, "-t", "y", *FAST), "the target column 'y'",
                       "64-bit")


def test_swamped_target_in_python_names_no_flag():
    """The Python API has no --na-values: its message must not send users to a flag."""
    from lassonet_cli import LassoNetSelector

    df = good_frame()
    y = df.pop("y").to_numpy(dtype=float, copy=True)
    y[3] = 1e308
    with pytest.raises(ValueError, match="swamp") as error:
        LassoNetSelector(task="regression").fit(df, y)
    assert "--" not in str(error.value)


def test_target_on_a_huge_scale_is_fine():
    df = good_frame()
    df["y"] = df["y"] * 1e300
    assert check(df).task == "regression"


# --------------------------------------------------------------------------------------------
# Parquet on stdin (defect 12)


def test_parquet_on_stdin_is_recognised_by_its_magic_bytes(monkeypatch):
    df = good_frame(n=10)
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(buf.getvalue())))
    read = read_table("-")
    np.testing.assert_array_equal(read.to_numpy(), df.to_numpy())


def test_parquet_named_as_csv_says_input_format(tmp_path):
    path = tmp_path / "really.csv"
    good_frame(n=10).to_parquet(path, index=False)
    with pytest.raises(DataError, match="--input-format parquet"):
        read_table(str(path))


# --------------------------------------------------------------------------------------------
# a separator that splits nothing (defect 14)


def test_separator_that_splits_nothing_names_header_and_separator(tmp_path):
    path = tmp_path / "good.csv"
    good_frame(n=10).to_csv(path, index=False)
    assert_clean_error(invoke("select", path, "-t", "y", "--sep", ";", *FAST),
                       "';'", "one column", "'a,b,c,y'", "--sep ','")


def test_single_column_table_hints_at_the_separator():
    df = pd.DataFrame({"a b y": ["1 2 3", "4 5 6"]})
    with pytest.raises(DataError, match="only one column 'a b y'.*--sep"):
        select_columns(df, "y")


def test_a_long_single_column_header_is_cut_in_the_hint():
    """A header line of 5,000 characters was quoted whole in the one error line."""
    df = pd.DataFrame({"a" * 5000: [1, 2]})
    with pytest.raises(DataError, match=r"only one column 'a{77}\.\.\.': name the field "):
        select_columns(df, "y")


def test_a_genuine_one_column_table_reads():
    df = read_table_text("value\n1\n2\n")
    assert list(df.columns) == ["value"]


def read_table_text(text: str, **options) -> pd.DataFrame:
    raw = io.BytesIO(text.encode())
    saved = sys.stdin
    sys.stdin = types.SimpleNamespace(buffer=raw)
    try:
        return read_table("-", **options)
    finally:
        sys.stdin = saved


# --------------------------------------------------------------------------------------------
# blank header names, groups files (defect 17)


@pytest.mark.parametrize("header, position", [(",a,y", 1), ("a, ,y", 2), ("a,y,", 3)])
def test_blank_header_name_is_an_error(tmp_path, header, position):
    path = tmp_path / "blank.csv"
    path.write_text(header + "\n" + "\n".join(f"{i},{i % 3},{i}" + ("," if
                                              header.endswith(",") else "")
                                              for i in range(10)) + "\n")
    with pytest.raises(DataError, match=f"column {position} has no name"):
        read_table(str(path))
    assert_clean_error(invoke("select", path, "-t", "y", *FAST), "no name")


def test_missing_groups_file_is_called_the_groups_file(tmp_path):
    path = tmp_path / "good.csv"
    good_frame().to_csv(path, index=False)
    line = assert_clean_error(invoke("select", path, "-t", "y", "--groups",
                                     tmp_path / "nope.csv", *FAST), "groups file", "nope.csv")
    assert "input file" not in line


def test_choice_note_counts_the_columns_of_the_groups_in(tmp_path):
    df = good_frame()
    path = tmp_path / "good.csv"
    df.to_csv(path, index=False)
    groups = tmp_path / "groups.csv"
    groups.write_text("feature,group\na,ab\nb,ab\n")
    result = invoke("select", path, "-t", "y", "--groups", groups, "--k", "1", *FAST)
    assert result.exit_code == 0, result.stderr
    (note,) = [line for line in result.stderr.splitlines() if line.startswith("chose")]
    assert "1 group(s) (2 features)" in note, note
    assert "the most groups and features (a group counts once) <= 1" in note, note


def test_path_counts_a_group_once_in_k_and_refits_on_its_columns(tmp_path):
    """With --groups, k counted groups on the path (lassonet_k) and columns in the refits:
    the row k = 1 listed one column of a two-column group and refitted on it alone, scored
    beside the path model that held both.  Now k counts units everywhere: the top unit's
    columns, its refit and random sets of one unit."""
    df = good_frame()
    df["d"] = 1.0  # constant: dropped by path, and a groups file may still name it
    path, groups = tmp_path / "good.csv", tmp_path / "groups.csv"
    df.to_csv(path, index=False)
    groups.write_text("feature,group\na,ab\nb,ab\nd,dd\n")
    out = tmp_path / "acc.csv"
    result = invoke("path", path, "-t", "y", "--groups", groups, "--k-grid", "1,2",
                    "--random-repeats", "2", "-o", out, *FAST[:-4])
    assert result.exit_code == 0, result.stderr
    acc = pd.read_csv(out)
    assert acc["features"].tolist() == ["a;b", "a;b;c"]  # ab (b: the signal) first, then c
    assert (acc["lassonet_k"] <= acc["k"]).all()
    # ab alone explains y: the refit on it scores as well as the path model holding it
    assert acc.loc[0, "refit_score"] > 0.9 and acc.loc[0, "lassonet_score"] > 0.9
    # a grid beyond the units: 2 of them (ab and c; d dropped)
    assert_clean_error(invoke("path", path, "-t", "y", "--groups", groups, "--k-grid", "3",
                              *FAST[:-4]), "3 is more than the 2 groups and features left "
                       "after dropping 1 constant column(s)")


@pytest.mark.parametrize("name", ["dose, mg", 'say "hi"', "my col", "plain"])
def test_the_suggested_option_value_names_the_column(tmp_path, name):
    """The hint spelled '--categorical dose, mg', which the shell and the comma list split
    apart; the value it now gives, typed as it stands, names the column."""
    import re
    import shlex

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.standard_normal((60, 3)), columns=[name, "a", "y"]).astype(object)
    df.loc[4, name] = "?"
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    line = assert_clean_error(invoke("select", path, "-t", "y", *FAST), "'?'")
    typed = re.search(r"--categorical (.+) if it is categories", line).group(1)
    (value,) = shlex.split(typed)
    result = invoke("select", path, "-t", "y", *FAST, "--exclude", value)
    assert result.exit_code == 0, result.stderr
    assert list(pd.read_csv(io.StringIO(result.stdout))["feature"]) == ["a"]


# --- a file whose content is not what its name says (hunt of 2026-12-07) ---------------------


def test_content_not_as_named_is_read_by_its_first_bytes_or_named(tmp_path):
    """A gzipped table named .csv and a UTF-16 one (with its byte-order mark) were told to try
    --encoding latin-1; they are read.  Text named .parquet got pyarrow's words; a missing
    file without an extension was 'cannot tell the format'."""
    import gzip

    frame = good_frame()
    text = frame.to_csv(index=False)
    gz = tmp_path / "table.csv"
    gz.write_bytes(gzip.compress(text.encode()))
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(text.encode("utf-16"))  # (a byte-order mark first)
    rankings = []
    for path in (gz, utf16):
        result = invoke("select", path, "-t", "y", *FAST)
        assert result.exit_code == 0, result.stderr
        rankings.append(result.stdout)
    assert rankings[0] == rankings[1]
    fake = tmp_path / "text.parquet"
    fake.write_text(text)
    assert_clean_error(invoke("select", fake, "-t", "y", *FAST), "not a Parquet file",
                       "--input-format csv")
    # a gzipped Parquet file was told to read itself as text
    gzipped = tmp_path / "t.parquet.gz"
    buffer = io.BytesIO()
    good_frame().to_parquet(buffer, index=False)
    gzipped.write_bytes(gzip.compress(buffer.getvalue()))
    assert_clean_error(invoke("select", gzipped, "-t", "y", *FAST),
                       "a gzipped file, not a Parquet file: gunzip it first")
    assert_clean_error(invoke("select", tmp_path / "nothere", "-t", "y"), "does not exist")


def test_an_excel_separator_line_is_honoured(tmp_path):
    """Excel writes "sep=;" as a first line; it was read as the header (a misleading message
    about a column without a name)."""
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\n" + good_frame().to_csv(index=False, sep=";", decimal=","))
    result = invoke("select", path, "-t", "y", "--decimal", ",", *FAST)
    assert result.exit_code == 0, result.stderr
    ranking = pd.read_csv(io.StringIO(result.stdout))
    assert sorted(ranking["feature"]) == ["a", "b", "c"] and ranking["feature"].iloc[0] == "b"


def test_a_comment_line_above_the_header_is_named(tmp_path):
    """'# exported 2026' above the header was read as a one-column header, and the message
    advised --sep ' ' (its spaces)."""
    path = tmp_path / "commented.csv"
    path.write_text("# exported 2026\n" + good_frame().to_csv(index=False))
    line = assert_clean_error(invoke("select", path, "-t", "y", *FAST),
                              "'# exported 2026' reads as a comment",
                              "remove the comment lines above the header")
    assert "--sep" not in line


@pytest.mark.parametrize("stdin", [False, True])
def test_rows_ending_in_a_separator_the_header_lacks_are_not_shifted(tmp_path, stdin):
    """Every data row ending in ',' (the header not): pandas took each row's first field for
    its row name, and every column was read one to the left of its name (y's values under
    c's name, trained on without a word)."""
    frame = good_frame()
    lines = frame.to_csv(index=False).splitlines()
    text = "\n".join([lines[0]] + [line + "," for line in lines[1:]]) + "\n"
    path = tmp_path / "trailing.csv"
    path.write_text(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(text.encode())))
        read = read_table("-" if stdin else str(path))
    pd.testing.assert_frame_equal(read, frame, check_exact=True)


def test_row_names_as_r_writes_them_are_still_read_as_row_names(tmp_path):
    """(The other table whose rows are a field longer than the header: R's write.table puts
    row names first, and they are not data.)"""
    frame = good_frame(n=5)
    path = tmp_path / "r.csv"
    body = "\n".join(f"r{i}," + ",".join(repr(v) for v in row)
                     for i, row in enumerate(frame.itertuples(index=False)))
    path.write_text(",".join(frame.columns) + "\n" + body + "\n")
    read = read_table(str(path))
    pd.testing.assert_frame_equal(read.reset_index(drop=True), frame, check_exact=True)


def test_integers_beyond_64_bits_are_not_read_as_levels(tmp_path):
    """10**20 + i * 10**18 (a ramp): pandas keeps such integers as Python objects, which were
    one-hot encoded as 40 levels and ranked first, without a note."""
    frame = good_frame(n=40)
    frame["big"] = [str(10**20 + i * 10**18) for i in range(40)]
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    assert_clean_error(invoke("select", path, "-t", "y", *FAST), "column 'big'",
                       "integers too large for 64 bits", "--exclude big")
    X = frame.drop(columns="y").astype({"big": object})
    X["big"] = [10**20 + i * 10**18 for i in range(40)]
    from lassonet_cli import LassoNetSelector
    with pytest.raises(DataError, match="integers too large for 64 bits"):
        LassoNetSelector(max_epochs=2).fit(X, frame["y"])


def test_integers_float64_cannot_tell_apart_are_not_called_constant(tmp_path):
    """uint64 2**63 + 5 + i: one value as float64, so 'set aside 1 constant column(s)' of a
    column that is not constant."""
    frame = good_frame(n=40)
    frame["u"] = np.array([2**63 + 5 + i for i in range(40)], dtype=np.uint64)
    path = tmp_path / "u.parquet"
    frame.to_parquet(path, index=False)
    assert_clean_error(invoke("select", path, "-t", "y", *FAST), "column 'u'",
                       "too large to tell apart", "9223372036854775813 to 9223372036854775852")
    # a truly constant integer column is still set aside
    frame["u"] = np.full(40, 2**63 + 5, dtype=np.uint64)
    frame.to_parquet(path, index=False)
    result = invoke("select", path, "-t", "y", *FAST)
    assert result.exit_code == 0 and "constant" in result.stderr, result.stderr


def _with_pandas_metadata(frame: pd.DataFrame, path, metadata: bytes) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table.replace_schema_metadata({b"pandas": metadata}), path)


@pytest.mark.parametrize("metadata", [
    b"{not json",
    # an index column the file does not hold
    b'{"index_columns": ["zz"], "column_indexes": [], "columns": []}',
])
def test_parquet_whose_pandas_metadata_is_wrong_is_read_as_its_columns(tmp_path, metadata):
    """Wrong pandas metadata (another tool's, edited) failed the read with
    "unknown --encoding 'utf-8'", as its KeyError was taken for an unknown encoding."""
    frame = good_frame()
    path = tmp_path / "t.parquet"
    _with_pandas_metadata(frame, path, metadata)
    pd.testing.assert_frame_equal(read_table(str(path)), frame, check_exact=True)


def test_parquet_with_multi_level_column_names_is_named(tmp_path):
    frame = good_frame()
    frame.columns = pd.MultiIndex.from_tuples([("x", c) for c in frame.columns])
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    line = assert_clean_error(invoke("select", path, "-t", "y", *FAST),
                              "names of 2 levels (a pandas MultiIndex)")
    assert "encoding" not in line
    assert_clean_error(invoke("select", path, "-t", "y", "--encoding", "nonsense", *FAST),
                       "unknown --encoding 'nonsense'")


def test_decimal_comma_asked_for_a_table_of_decimal_points_is_named(tmp_path):
    """--decimal , on a table written with '.': every number became text, and the message
    was that the target had a different value in each row ('is it an ID?')."""
    path = tmp_path / "points.csv"
    good_frame().to_csv(path, index=False, sep=";")
    line = assert_clean_error(invoke("select", path, "-t", "y", "--decimal", ",", *FAST),
                              "holds numbers written with '.'", "leave --decimal out")
    assert "ID" not in line
    result = invoke("select", path, "-t", "y", *FAST)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_names_that_differ_only_in_spaces_around_them_are_refused(tmp_path, suffix):
    """'a' and ' a': --exclude ' a' (and --features '" a"') named 'a', as the options strip
    the spaces around a name: the wrong column was left out."""
    frame = good_frame().rename(columns={"c": " a"})
    path = tmp_path / f"t{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    assert_clean_error(invoke("select", path, "-t", "y", "--exclude", " a", *FAST),
                       "'a' and ' a' differ only in the spaces around them", "rename one")


def test_predict_names_an_input_column_that_differs_in_spaces_around_it(tmp_path):
    """A model trained on a header written 'a, b, c, y' reads ' b'; predict on a cleaned
    table said only 'the input lacks 1 column(s) the model needs:  b', the space unseen."""
    frame = good_frame()
    spaced = tmp_path / "spaced.csv"
    spaced.write_text(frame.to_csv(index=False).replace(",", ", "))
    model = tmp_path / "m.safetensors"
    result = invoke("select", spaced, "-t", "y", "--k", "3", "--model-out", model,
                    "-o", tmp_path / "r.csv", *FAST)
    assert result.exit_code == 0, result.stderr
    clean = tmp_path / "clean.csv"
    frame.to_csv(clean, index=False)
    assert_clean_error(invoke("predict", model, clean), "the input has 'b' for the model's ' b'",
                       "spaces included")


@pytest.mark.parametrize("codec", ["bz2", "lzma", "zip"])
def test_a_table_compressed_otherwise_than_gzip_is_named_as_such(tmp_path, codec):
    """A bzip2, xz or zip file named .csv (or piped in) was 'not valid UTF-8 text ... name
    its encoding with --encoding, e.g. --encoding latin-1', which reads its bytes as text."""
    import bz2
    import lzma
    import zipfile

    text = good_frame().to_csv(index=False).encode()
    path = tmp_path / "t.csv"
    if codec == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("t.csv", text)
    else:
        path.write_bytes({"bz2": bz2, "lzma": lzma}[codec].compress(text))
    line = assert_clean_error(invoke("select", path, "-t", "y", *FAST), "decompress it first")
    assert "--encoding" not in line


def test_path_with_every_column_constant_in_the_training_rows_says_so(tmp_path):
    """A table whose one varying column varies only among the test rows was 'X has 48 row(s)
    and 0 column(s): LassoNet needs at least one of each' (the Python API's words)."""
    rng = np.random.default_rng(0)
    data = with_a_test_only_column(pd.DataFrame({"y": rng.standard_normal(60).round(3)}),
                                   "regression", "y", tmp_path)
    assert_clean_error(invoke("path", data, "-t", "y", *FAST, "--random-repeats", "1"),
                       "every feature column is constant in the training rows that "
                       "--test-fraction 0.2 leaves (only test rows vary: rare): there is "
                       "nothing to select; lower --test-fraction")
