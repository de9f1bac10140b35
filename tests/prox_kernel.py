"""The compiled HIER-PROX kernel in the tests: required where it can be built."""

import functools
import os
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

import pytest

from lassonet_cli import prox


@functools.lru_cache(maxsize=1)
def c_compiler_present() -> bool:
    """Whether the C compiler that ``pip install`` would use (``CC``, else Python's own) is
    on this machine and compiles: ``CC=false``, as a CI run without a compiler sets it, is
    none."""
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    if shutil.which(cc[0]) is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "probe.c"
        source.write_text("int probe(void) { return 0; }\n")
        try:
            done = subprocess.run([*cc, "-c", str(source), "-o", str(source.with_suffix(".o"))],
                                  capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0


def needs_kernel() -> None:
    """A test of the compiled kernel: where a C compiler is present the install builds it, so
    a missing kernel fails the test (a broken install); on a machine without one the kernel is
    optional (the torch prox runs instead) and the test is skipped, with this reason."""
    if prox._compiled is not None:
        return
    if c_compiler_present():
        pytest.fail("the compiled HIER-PROX kernel (lassonet_cli/_hierprox.c) is not built "
                    "although a C compiler is present: reinstall (pip install -e .)")
    pytest.skip("no C compiler on this machine: the optional HIER-PROX kernel is not built")
