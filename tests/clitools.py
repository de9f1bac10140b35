"""Helpers shared by the command-line tests: run the app in-process and check its errors."""

from __future__ import annotations

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
