#!/usr/bin/env bash
# Create the reference venv used by compare_reference.py: the PyPI package lassonet==0.0.21
# (the authors' implementation) in a venv of its own, benchmarks/.refvenv by default.
#
#   bash benchmarks/setup_reference.sh [VENV_DIR]
#
# torch is installed first and pinned to 2.13.0, the version our own .venv uses: any other
# version would make pip download several GB.  PYTHON selects the interpreter (default python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-$here/.refvenv}"
python="${PYTHON:-python3}"

if [ -x "$venv/bin/python" ]; then
    echo "reusing existing venv $venv"
else
    echo "creating venv $venv"
    "$python" -m venv "$venv"
fi

"$venv/bin/pip" install torch==2.13.0
# repeat the torch pin so that resolving lassonet's requirements cannot replace it
"$venv/bin/pip" install lassonet==0.0.21 pandas pyarrow torch==2.13.0

"$venv/bin/python" - <<'PY'
from importlib import metadata

import torch

import lassonet  # noqa: F401

print(f"reference venv ready: lassonet {metadata.version('lassonet')}, torch {torch.__version__}")
PY
echo "use it with: .venv/bin/python benchmarks/compare_reference.py --ref-python $venv/bin/python"
