"""The compiled HIER-PROX kernel in the tests: required where it can be built."""

import os
import shutil
import sysconfig

import pytest

from lassonet_cli import prox


def c_compiler_present() -> bool:
    """Whether the C compiler that ``pip install`` would use (``CC``, else Python's own) is
    on this machine."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shutil.which(cc.split()[0]) is not None


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
