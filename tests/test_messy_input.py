"""Messy input (issue 16): numbers with stray text, extreme magnitudes, typed Parquet columns,
Parquet on stdin, a separator that splits nothing, blank header names and groups files.

Each case either reads correctly or stops with one `error:` line (exit 2) that names the column
and says how to fix it; none trains silently on a misread table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from clitools import assert_clean_error, invoke

from lassonet_cli.data import (
    Selection,
    check_table,
    fit_encoder,
)

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
                       "1e+308")


def test_target_on_a_huge_scale_is_fine():
    df = good_frame()
    df["y"] = df["y"] * 1e300
    assert check(df).task == "regression"

