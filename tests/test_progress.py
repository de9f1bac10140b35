"""The progress display on stderr: plain lines off a terminal, every stage shown, the cursor
given back on Ctrl-C and SIGTERM.

On an interactive terminal the display is rich's bar, which hides the cursor while it runs; with
``--progress`` and stderr to a file or a pipe, or on a terminal with ``TERM=dumb``, it is plain
lines.  Stages: the path, each cross-validation fold, the rerun to the chosen point and, for
``lassonet path``, the refits.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from clitools import invoke

LASSONET = str(Path(sys.executable).parent / "lassonet")
FAST = ["--backbone", "linear", "--max-epochs", "3", "--patience", "1", "--path-multiplier",
        "2", "--threads", "1"]
HIDE, SHOW = b"\x1b[?25l", b"\x1b[?25h"


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.standard_normal((60, 3)), columns=["a", "b", "c"])
    df["y"] = 2 * df["a"] + np.sin(df["b"]) + 0.1 * rng.standard_normal(60)
    path = tmp_path_factory.mktemp("good") / "good.csv"
    df.to_csv(path, index=False)
    return path


def stages(stderr: str) -> list[str]:
    """The stage of each plain progress line ('path: point 3 ...' -> 'path')."""
    return [line.split(":")[0] for line in stderr.splitlines()
            if line.endswith(" s]") and ": " in line]


def test_progress_off_a_terminal_is_plain_lines(good, tmp_path):
    result = invoke("select", good, "-t", "y", *FAST, "--cv", "0", "--progress",
                    "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.stderr
    assert stages(result.stderr)[0] == "path"
    first = next(line for line in result.stderr.splitlines() if line.startswith("path: "))
    assert first.startswith("path: dense model [")
    assert "\x1b" not in result.stderr and "\n\n" not in result.stderr


def test_no_progress_without_the_option_off_a_terminal(good, tmp_path):
    result = invoke("select", good, "-t", "y", *FAST, "--cv", "0", "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.stderr
    assert stages(result.stderr) == []


def test_progress_shows_the_folds_after_the_path(good, tmp_path):
    result = invoke("select", good, "-t", "y", *FAST, "--cv", "3", "--progress",
                    "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.stderr
    shown = stages(result.stderr)
    assert shown[0] == "path" and shown[-1] == "cv folds"  # the folds run apart (runs.Runner)
    # the chosen point's model was kept as the path ran: the path does not run again for it
    assert "chosen point" not in shown
    assert "cv folds: 3 of 3 done [" in result.stderr


def test_path_progress_shows_the_refits(good, tmp_path):
    result = invoke("path", good, "-t", "y", *FAST, "--k-grid", "1,2", "--random-repeats", "2",
                    "--progress", "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.stderr
    assert stages(result.stderr)[0] == "path" and "refits" in stages(result.stderr)
    assert "refits: 0 of 6 models [" in result.stderr
    # the last state too, as the folds' and subsamples' (it was left out within the second)
    assert "refits: 6 of 6 models [" in result.stderr


def test_progress_callbacks_do_not_change_the_results(good, tmp_path):
    runs = {}
    for name, extra in (("quiet", ["-q"]), ("shown", ["--progress"])):
        out, path_out = tmp_path / f"{name}.csv", tmp_path / f"{name}_path.csv"
        result = invoke("select", good, "-t", "y", *FAST, "--cv", "2", *extra, "-o", out,
                        "--path-out", path_out)
        assert result.exit_code == 0, result.stderr
        runs[name] = out.read_bytes() + path_out.read_bytes()
    assert runs["quiet"] == runs["shown"]


# --- on a terminal (a pseudo-terminal for stderr) ----------------------------------------------


def run_on_a_terminal(args: list[str], term: str, stop: int | None = None,
                      timeout: float = 120) -> tuple[int, bytes]:
    """Run lassonet with stderr on a pseudo-terminal; with ``stop``, send that signal once the
    progress display has started (the cursor hidden, or a first plain line)."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [LASSONET, *args], stdout=subprocess.DEVNULL, stderr=follower,
        stdin=subprocess.DEVNULL, env=dict(os.environ, TERM=term),
        # a shell without job control starts background jobs with Ctrl-C ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(follower)
    output, sent, started = b"", False, time.monotonic()
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the process has gone and closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if stop is not None and not sent and (HIDE in output or b"path: " in output):
                proc.send_signal(stop)
                sent = True
            assert time.monotonic() - started < timeout, output
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    return proc.wait(), output


LONG = ["--max-epochs", "100000", "--patience", "100000", "--threads", "1"]


@pytest.mark.parametrize("stop, status, message", [
    (signal.SIGTERM, 143, b"error: terminated"),
    (signal.SIGINT, 130, b"error: interrupted"),
])
def test_signal_gives_the_cursor_back(good, tmp_path, stop, status, message):
    out = tmp_path / "ranking.csv"
    code, output = run_on_a_terminal(["select", str(good), "-t", "y", *LONG, "-o", str(out)],
                                     "xterm", stop)
    assert code == status, output
    assert HIDE in output
    assert output.rindex(SHOW) > output.rindex(HIDE), output[-200:]
    assert output.rstrip().endswith(message)
    assert b"Traceback" not in output
    assert list(tmp_path.iterdir()) == []


def test_dumb_terminal_gets_plain_lines(good, tmp_path):
    code, output = run_on_a_terminal(["select", str(good), "-t", "y", *FAST, "--cv", "2",
                                      "-o", str(tmp_path / "out.csv")], "dumb")
    assert code == 0, output
    assert b"\x1b" not in output
    assert b"path: dense model [" in output and b"cv folds: 2 of 2 done [" in output
