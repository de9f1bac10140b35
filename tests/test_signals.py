"""Ctrl-C before a command runs: while the command line's modules load and the app is built,
before ``signals.signals_handled`` takes over (as a real process: signals are process-wide)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

# Ctrl-C is sent where the process stands when typer is first imported (cli.py's imports), or
# when the app is built into click's command (in main, before the command runs)
AT_IMPORT = """
class Hook:
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, Hook())
from lassonet_cli.cli import main
"""
AT_BUILD = """
from lassonet_cli.cli import main
import typer.main

build = typer.main.get_command
def get_command(app):
    os.kill(os.getpid(), signal.SIGINT)
    return build(app)
typer.main.get_command = get_command
"""


@pytest.mark.parametrize("where", [AT_IMPORT, AT_BUILD], ids=["import", "build"])
def test_a_ctrl_c_before_the_command_runs_is_130_without_a_traceback(where):
    """It was a KeyboardInterrupt traceback (typer alone takes a tenth of a second to load,
    more on a cold start)."""
    script = ("import os, signal, sys\nsys.argv = ['lassonet', '--version']\n" + where
              + "main()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "error: interrupted\n")
