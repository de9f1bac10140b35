"""The package's metadata: what pip reads from pyproject.toml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it():
    """The TOML-table form made setuptools warn three times at every install (issue 16); the
    SPDX string needs setuptools 77 or newer as the build requirement."""
    meta = tomllib.loads(PYPROJECT.read_text())
    assert meta["project"]["license"] == "MIT"
    (setuptools,) = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools)
    assert minimum and int(minimum.group(1)) >= 77, setuptools


def test_torch_requirement_allows_the_minor_version_ci_installs_and_no_other():
    """Issue 17: pyproject allows the torch that CI tests (the Makefile's pin), not a range of
    versions nobody ran (``optim.py`` calls torch's fused kernels, whose signatures move)."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    meta = tomllib.loads(PYPROJECT.read_text())
    (torch,) = [Requirement(r) for r in meta["project"]["dependencies"]
                if Requirement(r).name == "torch"]
    makefile = (PYPROJECT.parent / "Makefile").read_text()
    tested = Version(re.search(r"torch==([\d.]+)", makefile).group(1))
    assert torch.specifier.contains(tested)
    assert not torch.specifier.contains(Version(f"{tested.major}.{tested.minor - 1}.0"))
    assert not torch.specifier.contains(Version(f"{tested.major}.{tested.minor + 1}.0"))
