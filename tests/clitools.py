"""Helpers shared by the command-line tests: run the app in-process and check its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from lassonet_cli.cli import app

runner = CliRunner()


def invoke(*args, input: bytes | None = None):
    """Run ``lassonet ARGS`` through typer's runner (stdout and stderr kept apart)."""
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_clean_error(result, *fragments: str) -> str:
    """Exit 2, exactly one stderr line 'error: ...', no traceback, nothing on stdout.

    Returns the line; each fragment must occur in it.
    """
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def write_long_named_table(folder: Path, n_columns: int = 3000) -> Path:
    """A 30-row CSV with ``n_columns`` long-named random features and a target ``y``: its
    ranking is larger than a pipe's buffer (the tests of readers that close early)."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.standard_normal((30, n_columns)),
                         columns=[f"feature_with_a_long_name_{i:05d}" for i in range(n_columns)])
    table["y"] = rng.standard_normal(30)
    path = folder / "wide.csv"
    table.to_csv(path, index=False)
    return path


def with_a_test_only_column(df: pd.DataFrame, task: str, target: str, folder: Path) -> Path:
    """``df`` with a column 'rare' that varies only among the test rows `lassonet path` holds
    out by default (--test-fraction 0.2, --seed 0), written to ``folder``/rare.csv."""
    from lassonet_cli.splits import split_task_rows
    from lassonet_cli.tasks import make_task

    _, test_rows = split_task_rows(make_task(task), df[target].to_numpy(), 0.2,
                                   np.random.default_rng([0, 1]), "--test-fraction")
    df = df.assign(rare=0.0)
    df.loc[test_rows[:2], "rare"] = 1.0
    path = folder / "rare.csv"
    df.to_csv(path, index=False)
    return path
