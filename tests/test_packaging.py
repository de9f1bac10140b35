"""The package's metadata (what pip reads from pyproject.toml), its build without a C compiler,
and the layers of its modules (docs/architecture.md)."""

from __future__ import annotations

import ast
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


ROOT = PYPROJECT.parent
# makes ``import lassonet_cli._hierprox`` fail, as on an install that could not compile it
NO_KERNEL = "import sys; sys.modules['lassonet_cli._hierprox'] = None; "


def test_the_package_builds_without_a_c_compiler(tmp_path):
    """Issue 17: with no C compiler (``CC=false``: every compile fails) the build succeeds
    and the wheel holds no kernel, only the Python package (the kernel is optional)."""
    import os
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "source"  # a copy: the build writes build/ and egg-info beside it
    skip = shutil.ignore_patterns("__pycache__", "*.so", "*.egg-info")
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "MANIFEST.in"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("lassonet_cli", "man", "docs"):
        shutil.copytree(ROOT / name, source / name, ignore=skip)
    env = {**os.environ, "CC": "false", "LDSHARED": "false"}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path / "wheels"), str(source)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (tmp_path / "wheels").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "lassonet_cli/prox.py" in names
    assert not [n for n in names if "_hierprox" in n and not n.endswith((".c", ".h"))], names


def test_a_selection_and_the_prox_tests_run_without_the_kernel(tmp_path):
    """Issue 17: where the kernel could not be built, the CPU runs the torch HIER-PROX: a
    selection ranks the toy table's informative columns on top, and test_prox passes with the
    kernel's own tests skipped (no compiler) rather than failed."""
    import os
    import subprocess
    import sys

    script = NO_KERNEL + (
        "from lassonet_cli import prox; assert prox._compiled is None; "
        "import pandas as pd; from lassonet_cli.estimator import Selector; "
        f"t = pd.read_csv({str(ROOT / 'sample_data' / 'toy_regression.csv')!r}); "
        "s = Selector(task='regression', seed=0)"
        ".fit(t.drop(columns='y'), t['y']); print(' '.join(s.ranking_[:5]))"
    )
    ranked = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert ranked.returncode == 0, ranked.stderr[-2000:]
    assert set(ranked.stdout.split()) == {"x1", "x2", "x3", "x4", "x5"}, ranked.stdout

    # the prox tests with the kernel hidden and no working compiler (CC=false)
    (tmp_path / "sitecustomize.py").write_text(NO_KERNEL.replace("; ", "\n"))
    env = {**os.environ, "CC": "false", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         str(ROOT / "tests" / "test_prox.py")],
        env=env, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    summary = tested.stdout.strip().splitlines()[-1] if tested.stdout.strip() else ""
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert "skipped" in summary and "failed" not in summary, summary


def _layers() -> dict[str, int]:
    """Module -> its place in docs/architecture.md's layout: the index of the list item that
    names it (the modules of one item share a place)."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    layout = text.split("## The tests")[0]
    place, item = {}, 0
    for line in layout.splitlines():
        if line.startswith("- "):
            item += 1
        elif not line.startswith("  "):
            continue
        for name in re.findall(r"`(\w+)\.py`", line):
            place.setdefault(name, item)
    return place


def test_every_module_imports_only_modules_listed_above_it_in_the_architecture():
    """docs/architecture.md lists the package's modules in layers; each module may import (at
    the top or inside a function) only modules listed above it or on its own line, and every
    module is listed."""
    place = _layers()
    package = ROOT / "lassonet_cli"
    modules = sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
    assert [m for m in modules if m not in place] == []
    upward = []
    for module in modules:
        tree = ast.parse((package / f"{module}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
                for name in names:
                    target = name.split(".")[0]
                    if place.get(target, -1) > place[module]:
                        upward.append(f"{module} imports {target} (line {node.lineno})")
    assert upward == []
