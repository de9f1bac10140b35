"""Text-table quirks and user feature groups, end to end."""

from __future__ import annotations

import io
import json
import sys
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clitools import assert_clean_error
from typer.testing import CliRunner

from lassonet_cli.cli import app
from lassonet_cli.errors import ConfigError, DataError
from lassonet_cli.read import read_table

runner = CliRunner()
# --cv 0: small tables are cross-validated by default; the tests here are not about that
FAST = ["--max-epochs", "15", "--patience", "3", "--threads", "1", "--cv", "0"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_crlf_line_endings_and_quoted_separators(tmp_path):
    path = tmp_path / "windows.csv"
    path.write_bytes(b'name,"x, with comma",y\r\n"a, b",1.5,0\r\n"c",2.5,1\r\n')
    df = read_table(str(path))
    assert list(df.columns) == ["name", "x, with comma", "y"]
    assert df["name"].tolist() == ["a, b", "c"] and df["y"].tolist() == [0, 1]


@pytest.mark.parametrize("sep, option", [(";", ";"), ("\t", "tab"), ("|", "|")])
def test_separator_is_sniffed_or_given(tmp_path, sep, option):
    path = tmp_path / "table.csv"
    path.write_text(sep.join(["a", "b", "y"]) + "\n" + sep.join(["1", "2", "3"]) + "\n")
    assert list(read_table(str(path)).columns) == ["a", "b", "y"]
    named = {"tab": "\t"}.get(option, option)
    assert list(read_table(str(path), sep=named).columns) == ["a", "b", "y"]


@pytest.mark.parametrize("damage, fragment", [
    ("truncated", "ends before its end-of-stream marker"),  # an EOFError, once taken for Ctrl-D
    ("corrupt", "damaged compressed file (Error -3"),
])
@pytest.mark.parametrize("stdin", [False, True])
def test_a_damaged_gzip_input_is_a_data_error_not_an_interruption(tmp_path, damage, fragment,
                                                                   stdin):
    import gzip

    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.standard_normal((400, 6)), columns=[*"abcde", "y"])
    packed = gzip.compress(table.to_csv(index=False).encode())
    cut = len(packed) // 2
    data = (packed[:cut] if damage == "truncated"
            else packed[:100] + bytes(rng.integers(0, 256, cut, dtype=np.uint8)))
    path = tmp_path / "t.csv.gz"
    path.write_bytes(data)
    args = ["select", "-" if stdin else path, "-t", "y", *FAST]
    result = runner.invoke(app, [str(a) for a in args], input=data if stdin else None)
    assert_clean_error(result, "damaged compressed file", fragment)


def test_other_encodings_read_with_encoding_option(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("caf\xe9,y\n1,2\n".encode("latin-1"))
    with pytest.raises(DataError, match="--encoding"):
        read_table(str(path))
    assert list(read_table(str(path), encoding="latin-1").columns) == ["caf\xe9", "y"]
    with pytest.raises(DataError, match="unknown --encoding"):
        read_table(str(path), encoding="no-such-codec")


def test_nested_parquet_column_is_named(tmp_path):
    path = tmp_path / "nested.parquet"
    table = pa.table({"a": [1.0, 2.0, 3.0, 4.0], "tags": [[1], [2, 3], [], [4]],
                      "y": [0.0, 1.0, 0.0, 1.0]})
    pq.write_table(table, path)
    result = invoke("select", path, "-t", "y")
    assert result.exit_code == 2 and "tags" in result.stderr and "--exclude" in result.stderr
    assert "Traceback" not in result.stderr


def test_plot_without_matplotlib_says_how_to_install(monkeypatch):
    from lassonet_cli.plot import accuracy_vs_k_figure

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    table = pd.DataFrame({"k": [1], "lassonet_score": [0.5], "refit_score": [0.5],
                          "random_score": [0.5], "random_score_sd": [0.0]})
    with pytest.raises(ConfigError, match="pip install"):
        accuracy_vs_k_figure(table, "accuracy", "t", "png")


def test_plot_of_one_random_set_per_k_draws_no_error_bars():
    """--random-repeats 1 gives no random_score_sd column: the figure is drawn without it."""
    from lassonet_cli.plot import accuracy_vs_k_figure

    table = pd.DataFrame({"k": [1, 2], "lassonet_score": [0.5, 0.6], "refit_score": [0.5, 0.7],
                          "random_score": [0.4, 0.5]})
    svg = accuracy_vs_k_figure(table, "accuracy", "t", "svg").decode()
    assert "refit on random k features" in svg and "mean ± sd" not in svg


@pytest.fixture(scope="module")
def grouped(tmp_path_factory):
    """y depends on a1 (group 'a' = a1, a2); b1, b2 and c are noise."""
    tmp = tmp_path_factory.mktemp("groups")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.standard_normal((200, 5)), columns=["a1", "a2", "b1", "b2", "c"])
    df["y"] = 2 * df["a1"] + 0.1 * rng.standard_normal(200)
    data = tmp / "data.csv"
    df.to_csv(data, index=False)
    groups = tmp / "groups.csv"
    groups.write_text("feature,group\na1,a\na2,a\nb1,b\nb2,b\n")
    ranking, path = tmp / "ranking.csv", tmp / "path.csv"
    result = invoke("select", data, "-t", "y", "--groups", groups, "-o", ranking,
                    "--path-out", path, *FAST)
    assert result.exit_code == 0, result.stderr
    return tmp, data, groups, pd.read_csv(ranking), pd.read_csv(path, keep_default_na=False)


def test_grouped_features_share_a_row_group_and_importance(grouped):
    _, _, _, ranking, _ = grouped
    assert list(ranking.columns) == ["rank", "feature", "importance", "selected", "group"]
    assert sorted(ranking["feature"]) == ["a1", "a2", "b1", "b2", "c"]
    by_group = ranking.groupby("group")
    assert by_group["importance"].nunique().max() == 1  # a group leaves as one
    assert by_group["selected"].nunique().max() == 1
    assert set(ranking["feature"].head(2)) == {"a1", "a2"}  # the informative group ranks first
    assert ranking.set_index("feature").loc["c", "group"] == "c"


def test_path_table_eliminates_groups(grouped):
    _, _, _, _, path = grouped
    left = [name for cell in path["eliminated"] for name in cell.split(";") if name]
    assert sorted(left) == ["a", "b", "c"]
    assert path["k"].iloc[0] == 3


def test_group_labels_are_text_as_written(grouped, tmp_path):
    """'007' and '7' are two groups (they were read as the number 7 and merged), a label
    keeps its spelling ('1', not '1.0'), and the names pandas reads as missing (NA, null,
    None, ...) are names: their columns were dropped from the groups, silently."""
    from lassonet_cli.read import read_groups

    groups = tmp_path / "groups.csv"
    groups.write_text("feature,group\na1,007\na2,7\nb1,1\nb2,NA\nc,null\n")
    assert read_groups(str(groups), ["a1", "a2", "b1", "b2", "c"]) == {
        "a1": "007", "a2": "7", "b1": "1", "b2": "NA", "c": "null"}


def test_a_groups_file_whose_rows_end_in_a_comma_reads_without_a_warning(tmp_path):
    """pandas' ParserWarning about the empty last field it drops reached stderr, with a
    source line of read.py, among select's notes."""
    from lassonet_cli.read import read_groups

    groups = tmp_path / "groups.csv"
    groups.write_text("feature,group\na1,a,\na2,a,\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_groups(str(groups), ["a1", "a2", "b1"]) == {"a1": "a", "a2": "a"}


@pytest.mark.parametrize("content, fragment", [
    ("feature,group\na1,a\nzz,a\n", "zz"),
    # the target is in the table but is no feature: the message says so, not "not in the table"
    ("feature,group\na1,a\ny,a\n", "'y' is the --target column, not a feature: leave it out "
                                   "of the groups file"),
    # an excluded column is no feature either
    ("feature,group\na1,a\nb9,a\n", "'b9' is not among the feature columns (the target"),
    ("name,team\na1,a\n", "feature,group"),
    ("feature,group\na1,a\na1,b\n", "twice"),
    ("feature,group\na1,c\n", "also an ungrouped column"),
    # a header alone ran with no groups at all, silently
    ("feature,group\n", "the groups file lists no feature"),
    ("feature,group\n,\n", "the groups file lists no feature"),
    # an empty cell dropped its row, silently
    ("feature,group\na1,a\nb1,\n", "feature 'b1' (row 2 after the header) has no group"),
    ("feature,group\na1,a\n,b\n", "row 2 (after the header) has group 'b' but no feature"),
    # 'a' and 'a ' made two groups that printed alike in the ranking, silently
    ("feature,group\na1,a\na2,a \n", "the group names 'a' and 'a ' differ only in spaces"),
])
def test_bad_groups_files(grouped, tmp_path, content, fragment):
    _, data, _, _, _ = grouped
    groups = tmp_path / "groups.csv"
    groups.write_text(content)
    result = invoke("select", data, "-t", "y", "--groups", groups, *FAST)
    assert result.exit_code == 2, result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("features", ["", " , "])
def test_an_empty_features_list_is_refused_not_read_as_every_column(tmp_path, features):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": range(30), "b": range(30), "y": range(30)}).to_csv(path, index=False)
    assert_clean_error(invoke("select", path, "-t", "y", "--features", features),
                       "--features is empty", "leave --features out to use every column")


@pytest.mark.parametrize("target, task, fragment", [
    (np.linspace(0.5, 9.5, 30), "classification", "if it is a number to predict, use --task "
                                                  "regression"),
    ([f"id{i}" for i in range(30)], "auto", "is it an ID? name the column to predict with "
                                             "--target"),
])
def test_a_target_with_a_value_per_row_is_no_classification(tmp_path, target, task, fragment):
    """It was refused as 'too few rows per class to hold out --val-fraction 0.1', which sent
    users to the fraction."""
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": range(30), "b": range(30, 0, -1), "y": target}).to_csv(path,
                                                                          index=False)
    assert_clean_error(invoke("select", path, "-t", "y", "--task", task),
                       "the target column 'y' has a different value in each of its 30 rows",
                       fragment)


@pytest.mark.parametrize("n_rows", [1, 3])
def test_too_few_rows_says_how_many_are_needed(tmp_path, n_rows):
    path = tmp_path / "tiny.csv"
    pd.DataFrame({"a": range(n_rows), "y": range(n_rows)}).to_csv(path, index=False)
    for command in ("select", "path"):
        line = assert_clean_error(invoke(command, path, "-t", "y"), "at least")
        assert "rows" in line


@pytest.mark.parametrize("option, fraction", [
    ("--val-fraction", "1e-9"), ("--val-fraction", "0.99999"), ("--test-fraction", "1e-9"),
    ("--test-fraction", "0.99999")])
def test_an_extreme_fraction_says_how_many_rows_it_would_need(tmp_path, option, fraction):
    """The count of rows needed lies far beyond the table: it was searched for only 10,000
    rows ahead (an internal error, StopIteration)."""
    path = tmp_path / "small.csv"
    pd.DataFrame({"a": range(40), "b": range(40, 0, -1), "y": range(40)}).to_csv(path,
                                                                             index=False)
    command = "path" if option == "--test-fraction" else "select"
    line = assert_clean_error(invoke(command, path, "-t", "y", "--cv", "0", option, fraction),
                              f"40 row(s) are too few for {option} {float(fraction):g}")
    need = int(line.rsplit("need at least ", 1)[1].split()[0])
    f = float(fraction)  # the fewest rows that hold out one (rounded) and keep two
    assert round(need * f) >= 1 and need - round(need * f) >= 2
    assert round((need - 1) * f) < 1 or (need - 1) - round((need - 1) * f) < 2


def _cox_table(n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    return pd.DataFrame({"time": rng.exponential(np.exp(-x[:, 0])) + 0.01,
                         "event": (rng.random(n) < 0.7).astype(int),
                         "a": x[:, 0], "b": x[:, 1], "c": x[:, 2]})


@pytest.mark.parametrize("codes", [{0: "0", 1: "1"}, {0: "false", 1: "TRUE"}])
def test_cox_event_codes_stored_as_text_read_as_their_numbers(tmp_path, codes):
    """A Parquet string column '1'/'0' or 'true'/'false' was refused by a message that named
    exactly those values as the ones it wanted; it now ranks as the 0/1 column does."""
    table = _cox_table()
    numeric, text = tmp_path / "numeric.parquet", tmp_path / "text.parquet"
    table.to_parquet(numeric)
    table.assign(event=table["event"].map(codes)).to_parquet(text)
    args = ["--task", "cox", "--time", "time", "--event", "event", *FAST]
    rankings = [invoke("select", path, *args) for path in (numeric, text)]
    assert all(r.exit_code == 0 for r in rankings), rankings[1].stderr
    assert rankings[0].stdout == rankings[1].stdout


def test_a_text_time_names_the_cell_that_is_no_number(tmp_path):
    table = _cox_table().astype({"time": object})
    table.loc[3, "time"] = "soon"  # (its example was the first cell, a number)
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    assert_clean_error(invoke("select", path, "--time", "time", "--event", "event", *FAST),
                       "'soon' in row 4")


@pytest.mark.parametrize("role", ["--target", "--event"])
def test_a_target_of_lists_is_one_line(tmp_path, role):
    """A list column as the target or the event was an internal error (unhashable type)."""
    table = _cox_table()
    table["z"] = [np.array([1.0, float(i % 2)]) for i in range(len(table))]
    path = tmp_path / "lists.parquet"
    table.to_parquet(path)
    args = (["-t", "z"] if role == "--target" else
            ["--time", "time", "--event", "z", "--exclude", "event"])
    assert_clean_error(invoke("select", path, *args, *FAST), f"the {role} column 'z' holds "
                       "lists or records")


# --- a network too large for the machine, refused before any weight is made ----------------------

def _machine_of(monkeypatch, gib: int) -> None:
    """This process sees a machine of ``gib`` GiB (4 KiB pages)."""
    pages = {"SC_PHYS_PAGES": gib * 2**18, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr("lassonet_cli.backbone_spec.os.sysconf", lambda name: pages[name])


def test_the_memory_check_counts_the_activations_of_a_step(monkeypatch):
    """On a 1 GiB machine an mlp:10000 on 10 inputs has 2 MB of weights state, but a
    full-batch step over 10,000 rows 1.6 GB of activations (it failed only when allocating);
    with 1,000-row minibatches it fits."""
    from lassonet_cli.backbone_spec import BackboneSpec, check_fits_memory
    from lassonet_cli.errors import ConfigError

    _machine_of(monkeypatch, 1)
    spec = BackboneSpec.parse("mlp:10000")
    check_fits_memory(spec, 10, 1, 1000)
    with pytest.raises(ConfigError, match=r"120,001 weights and steps over 10,000 rows, about 1 "
                                          r"GiB to train, more than this machine's 1 GiB"):
        check_fits_memory(spec, 10, 1, 10_000)
    check_fits_memory(BackboneSpec.parse("linear"), 10**9, 1, 10**9)  # no hidden layer


def test_select_refuses_an_mlp_too_large_before_training(tmp_path, monkeypatch):
    _machine_of(monkeypatch, 1)
    path = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.standard_normal((3000, 4)), columns=list("abcy")).to_csv(path, index=False)
    out = tmp_path / "ranking.csv"
    line = assert_clean_error(invoke("select", path, "-t", "y", "--backbone", "mlp:30000",
                                     "--cv", "0", "-o", out),
                              "--backbone mlp:30000 on 3 inputs", "steps over 3,000 rows",
                              "choose smaller hidden layers")
    assert "GiB of memory" in line and not out.exists()


def test_file_and_column_names_are_drawn_as_text_not_tex(monkeypatch):
    """A '$' pair in a file or column name was read as TeX: 'a$x^2$b' drawn as math, and an
    unparsable one ('$\\frac{1}{0$') failed the command with matplotlib's error (exit 1)."""
    from lassonet_cli import plot

    drawn = []
    real = plot._figure_bytes
    monkeypatch.setattr(plot, "_figure_bytes", lambda plt, fig, fmt: drawn.append(fig) or
                        real(plt, fig, fmt))
    table = pd.DataFrame({"k": [1, 2], "lassonet_score": [0.5, 0.6], "refit_score": [0.5, 0.7],
                          "random_score": [0.4, 0.5], "random_score_sd": [0.1, 0.1]})
    bad, mild = "a_$\\frac{1}{0$.csv", "a$x^2$b"
    assert plot.accuracy_vs_k_figure(table, "accuracy", f"{bad}: test score", "png")
    assert plot.stability_figure(np.array([1, 2]), np.array([[0.2, 0.9], [0.9, 1.0]]),
                                 [bad, mild], np.array([True, True]), 1, 0.6, bad, "svg")
    for fig in drawn:
        ax = fig.axes[0]
        texts = [ax.title, *ax.get_legend().get_texts()]
        assert [t.get_text() for t in texts if "$" in t.get_text()]
        assert not any(t.get_parse_math() for t in texts if "$" in t.get_text())


@pytest.mark.parametrize("top, labels", [(6, ["1", "2", "3", "4", "5", "6"]),
                                         (300, ["1", "2", "5", "10", "20", "50", "100", "200"])])
def test_stability_figures_label_k_with_plain_counts(top, labels):
    """A short log axis was labelled 10^0, 2×10^0, 3×10^0, ... (lassonet path's reads 1, 2,
    5)."""
    import re

    from lassonet_cli.plot import stability_figure

    ks = np.arange(1, top + 1)
    svg = stability_figure(ks, np.tile(ks / top, (2, 1)), ["a", "b"], np.array([True, False]),
                           1, 0.6, "t", "svg").decode()
    drawn = re.findall(r"<!-- (.*?) -->", svg)
    assert drawn[:len(labels)] == labels, drawn
    assert not any("mathdefault" in text for text in drawn)


def test_svg_figures_are_the_same_bytes_for_the_same_data():
    """The ids of an svg's clip paths and markers were random (matplotlib's svg.hashsalt
    unset): two runs with the same data and seed wrote different files."""
    from lassonet_cli.plot import accuracy_vs_k_figure, stability_figure

    table = pd.DataFrame({"k": [1, 2], "lassonet_score": [0.5, 0.6], "refit_score": [0.5, 0.7],
                          "random_score": [0.4, 0.5], "random_score_sd": [0.1, 0.1]})
    first, second = (accuracy_vs_k_figure(table, "accuracy", "t", "svg") for _ in range(2))
    assert first == second and b"clip-path" in first
    paths = [stability_figure(np.array([1, 2]), np.array([[0.2, 0.9], [0.1, 0.3]]), ["a", "b"],
                              np.array([True, False]), 1, 0.6, "t", "svg") for _ in range(2)]
    assert paths[0] == paths[1]


def test_predict_keeps_nested_integer_columns_as_integers(tmp_path):
    """``predict --keep`` of a struct column with an integer field wrote 1.0 for 1 once a row
    was null (and a list of integers with a gap became a list of floats): the Arrow to pandas
    conversion turned the integers with gaps into floats."""
    rng = np.random.default_rng(0)
    n = 40
    X = rng.standard_normal((n, 2))
    meta = pa.array([None if i == 3 else {"id": i, "tag": "t"} for i in range(n)],
                    type=pa.struct([("id", pa.int64()), ("tag", pa.string())]))
    counts = pa.array([[i, None] if i == 5 else [i] for i in range(n)], type=pa.list_(pa.int64()))
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "y": X[:, 0], "meta": meta,
                             "counts": counts}), tmp_path / "t.parquet")
    model = tmp_path / "m.safetensors"
    result = invoke("select", tmp_path / "t.parquet", "-t", "y", "--exclude", "meta,counts",
                    "--model-out", model, "-o", tmp_path / "r.csv", "-q", *FAST)
    assert result.exit_code == 0, result.output
    out = tmp_path / "p.parquet"
    result = invoke("predict", model, tmp_path / "t.parquet", "--keep", "meta,counts", "-o", out)
    assert result.exit_code == 0, result.output
    written = pq.read_table(out)
    assert written.schema.field("meta").type == meta.type
    assert written.schema.field("counts").type == counts.type
    assert written.column("meta").to_pylist() == meta.to_pylist()
    assert written.column("counts").to_pylist() == counts.to_pylist()


def test_predict_keeps_a_text_tables_integers_with_a_gap_as_integers(tmp_path):
    """A CSV ID column 100, 101, '' reads as floats: ``predict --keep id`` wrote 100.0, which
    no longer joins with the IDs as written."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.standard_normal(40), "b": rng.standard_normal(40)})
    table["y"] = table["a"]
    table["id"] = pd.array(range(100, 140), dtype="Int64")
    table.loc[3, "id"] = pd.NA
    table.to_csv(tmp_path / "t.csv", index=False)
    model = tmp_path / "m.safetensors"
    result = invoke("select", tmp_path / "t.csv", "-t", "y", "--exclude", "id",
                    "--model-out", model, "-o", tmp_path / "r.csv", "-q", *FAST)
    assert result.exit_code == 0, result.output
    result = invoke("predict", model, tmp_path / "t.csv", "--keep", "id")
    assert result.exit_code == 0, result.output
    ids = [line.split(",")[0] for line in result.stdout.splitlines()[1:6]]
    assert ids == ["100", "101", "102", "", "104"]


def test_predict_passes_a_text_tables_ids_through_as_written(tmp_path):
    """IDs passed through (the training --id, --keep) were read as numbers: '007' came out
    as 7, '2e3' as 2000.0, and 9007199254740993 beside a gap (floats) as 9007199254740992,
    so that the predictions no longer joined with the table.  Numbers written back as they
    read stay numbers (in JSON)."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.standard_normal(40), "b": rng.standard_normal(40)})
    table["y"] = table["a"]
    table["sample"] = [f"{i:03d}" for i in range(40)]
    table.loc[1, "sample"] = "2e3"
    table["big"] = [str(2**53 + 1 + 2 * i) for i in range(40)]
    table.loc[3, "big"] = ""
    table["n"] = [str(100 + i) for i in range(40)]
    table.to_csv(tmp_path / "t.csv", index=False)
    model = tmp_path / "m.safetensors"
    result = invoke("select", tmp_path / "t.csv", "-t", "y", "--id", "sample", "--exclude",
                    "big,n", "--model-out", model, "-o", tmp_path / "r.csv", "-q", *FAST)
    assert result.exit_code == 0, result.output
    result = invoke("predict", model, tmp_path / "t.csv", "--keep", "big,n")
    assert result.exit_code == 0, result.output
    rows = [line.split(",")[:3] for line in result.stdout.splitlines()[1:5]]
    assert rows == [["000", "9007199254740993", "100"], ["2e3", "9007199254740995", "101"],
                    ["002", "9007199254740997", "102"], ["003", "", "103"]]
    result = invoke("predict", model, tmp_path / "t.csv", "--keep", "big,n", "--format", "json")
    first = json.loads(result.stdout)[0]
    assert (first["sample"], first["big"], first["n"]) == ("000", 9007199254740993, 100)


@pytest.mark.parametrize("empty", [np.nan, np.inf])
def test_a_column_of_gaps_alone_is_set_aside_as_constant(tmp_path, empty):
    """A feature column empty in every row (or infinite in every row) carries nothing: it is
    constant, to be set aside and ranked last with importance 0 (as the docs and issue 15 say),
    but it was refused for its gaps, by the command line and by the Python API alike."""
    from lassonet_cli import LassoNetSelector

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.standard_normal(60), "b": rng.standard_normal(60),
                          "hollow": empty})
    table["y"] = 2 * table["a"] + 0.1 * rng.standard_normal(60)
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    result = invoke("select", path, "-t", "y", *FAST)
    assert result.exit_code == 0, result.output
    assert "set aside 1 constant column(s), ranked last with importance 0: hollow" in result.stderr
    ranking = pd.read_csv(io.StringIO(result.stdout))
    assert ranking.iloc[-1].tolist() == [3, "hollow", 0.0, False]
    selector = LassoNetSelector(max_epochs=15, patience=3, cv=0, seed=0).fit(
        table[["a", "b", "hollow"]], table["y"])
    assert list(selector.ranking_) == ranking["feature"].tolist()
    assert selector.set_aside_ == {"hollow": "constant"}


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_a_file_of_nul_bytes_is_refused_as_binary(tmp_path, where):
    """A binary file read as text was one header of NULs: the error line named that 'column'
    in 100,000 characters."""
    data = b"\x00" * 100_000
    path = tmp_path / "zeros.csv"
    path.write_bytes(data)
    result = CliRunner().invoke(app, ["select", "-" if where == "stdin" else str(path), "-t",
                                      "y"], input=data if where == "stdin" else None)
    line = assert_clean_error(result, "holds NUL bytes, as a binary file does, not text: give a "
                                      "CSV, TSV or Parquet table")
    assert len(line) < 300  # (the file named, not its 100,000 NULs)


def test_endless_binary_stdin_is_refused_at_its_first_bytes():
    """``< /dev/zero`` was read without end (24 GB, then the kernel's out-of-memory killer)."""
    import subprocess

    with open("/dev/zero", "rb") as zeros:
        from pathlib import Path

        lassonet = str(Path(sys.executable).parent / "lassonet")
        done = subprocess.run([lassonet, "select", "-", "-t", "y"],
                              stdin=zeros, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("error: stdin: holds NUL bytes, as a binary file does, not text: "
                           "give a CSV, TSV or Parquet table (or name a text table's encoding, "
                           "e.g. --encoding utf-16)\n")


def test_utf16_text_without_its_mark_reads_with_its_encoding_named(tmp_path):
    """NULs are text in UTF-16: a table whose header is all CJK has no NUL-beside-ASCII pattern
    to tell it by, and with --encoding utf-16-le it is read, not refused as binary."""
    text = "\u4e2d\u6587,y\n" + "".join(f"{i},{2 * i}\n" for i in range(30))
    path = tmp_path / "u16.csv"
    path.write_bytes(text.encode("utf-16-le"))
    assert_clean_error(CliRunner().invoke(app, ["select", str(path), "-t", "y"]),
                       "holds NUL bytes", "--encoding utf-16")
    table = read_table(str(path), encoding="utf-16-le")
    assert list(table.columns) == ["\u4e2d\u6587", "y"] and len(table) == 30
