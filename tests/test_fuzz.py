"""Malformed and odd tables: every run ends with exit 0 or 2, never a traceback or a NaN.

Hypothesis builds small tables (random column types, gaps, empty strings, huge and tiny numbers,
infinities, separators), writes them as text, and runs `lassonet select` on them with fast
options.  Whatever the table, the run must either succeed with a clean, NaN-free ranking and path
table, or fail with exit 2 and one `error:` line, and leave no partial output file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
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


@st.composite
def tables(draw):
    n_rows = draw(st.integers(0, 25))
    n_cols = draw(st.integers(1, 4))
    columns = {}
    for j in range(n_cols):
        kind = draw(st.sampled_from(["float", "int", "text", "bool", "mixed"]))
        if kind == "float":
            values = draw(st.lists(NUMBERS, min_size=n_rows, max_size=n_rows))
        elif kind == "int":
            values = draw(st.lists(st.integers(-5, 5), min_size=n_rows, max_size=n_rows))
        elif kind == "text":
            values = draw(st.lists(TEXT, min_size=n_rows, max_size=n_rows))
        elif kind == "bool":
            values = draw(st.lists(st.booleans(), min_size=n_rows, max_size=n_rows))
        else:
            values = draw(st.lists(CELL, min_size=n_rows, max_size=n_rows))
        columns[f"c{j}"] = values
    target_kind = draw(st.sampled_from(["float", "labels", "mixed", "constant"]))
    if target_kind == "float":
        target = draw(st.lists(NUMBERS, min_size=n_rows, max_size=n_rows))
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
    features = [c for c in df.columns if c != "target"]
    assert set(ranking["feature"]) <= set(features)
    assert sorted(p.name for p in out.parent.iterdir()) == ["path.csv", "ranking.csv"]


def test_fuzz_reader_accepts_what_pandas_wrote(tmp_path):
    """The separator sniffing reads back a table written with each separator."""
    from lassonet_cli.data import read_table

    df = pd.DataFrame({"a": [1.5, 2.5], "b c": ["x;y", "z"], "target": [0, 1]})
    for sep in (",", ";", "\t"):
        path = tmp_path / f"sep_{ord(sep)}.csv"
        path.write_text(df.to_csv(index=False, sep=sep))
        back = read_table(str(path))
        assert list(back.columns) == ["a", "b c", "target"], sep
        assert back["a"].tolist() == [1.5, 2.5] and back["b c"].tolist() == ["x;y", "z"]
