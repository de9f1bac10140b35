"""The lines every benchmark script prints first: date, cores, versions, the command."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def print_run_header() -> None:
    """Date (UTC), cores, torch threads and versions, and the command line, one per line."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print(f"date: {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}")
    print(f"nproc: {os.cpu_count()}   torch threads: {torch.get_num_threads()}   "
          f"torch {torch.__version__}   lassonet_cli {commit}")
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
