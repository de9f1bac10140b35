"""`lassonet path` with its refits in one process and in two: wall time and the same table.

`lassonet path` trains one path and then refits a network on the top k and on
``--random-repeats`` random k-sets for every k of its grid; the refits are independent runs
and go wherever ``--jobs`` sends them (``evaluate.accuracy_vs_k``).  For each table this runs
the command as a user would, with ``--jobs 1`` and ``--jobs 2`` (and, with ``--baseline DIR``,
an older checkout's ``--jobs 1``, which refitted in the command's own process), each
``--repeats`` times, and prints the median wall time, the speed-up over ``--jobs 1`` and
whether the accuracy-vs-k table is byte-identical to ``--jobs 1``'s.

Run from the project root (needs ``../shared/data``)::

    .venv/bin/python benchmarks/path_jobs.py
    git worktree add /tmp/base HEAD~1
    .venv/bin/python benchmarks/path_jobs.py --baseline /tmp/base
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run_header import ROOT, print_run_header  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
TABLES = {  # name -> (file, target, extra options)
    "breast_cancer": ("breast_cancer.parquet", "target", []),
    "isolet": ("isolet_skf.parquet", "target", ["--k-grid", "10,25,50,100"]),
    "prostate_ge": ("prostate_ge.parquet", "target", ["--k-grid", "5,10,25,50,100"]),
}
CLI = "from lassonet_cli.cli import main; main()"


def run(table: str, jobs: int, out: Path, source: Path) -> float:
    """Wall seconds of one `lassonet path` run of ``source``'s checkout, its table to ``out``."""
    file, target, extra = TABLES[table]
    command = [sys.executable, "-c", CLI, "path", str(DATA / file), "--target", target,
               "--jobs", str(jobs), "-o", str(out), "--quiet", *extra]
    env = {**os.environ, "PYTHONPATH": str(source)}
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=source)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="+", choices=list(TABLES), default=list(TABLES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="an older checkout (git worktree) to time with --jobs 1")
    args = parser.parse_args(argv)
    print_run_header()
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"median of {args.repeats} run(s) each\n")
    runs = [("--jobs 1", 1, ROOT), ("--jobs 2", 2, ROOT)]
    if args.baseline is not None:
        runs.insert(0, (f"baseline {args.baseline.name}, --jobs 1", 1, args.baseline))
    print(f"{'table':<14} {'runs':<28} {'wall_s':>7} {'vs --jobs 1':>11}  same table")
    with tempfile.TemporaryDirectory() as tmp:
        for table in args.tables:
            walls, outputs = {}, {}
            for label, jobs, source in runs:
                out = Path(tmp) / f"{table}-{len(walls)}.csv"
                walls[label] = statistics.median(run(table, jobs, out, source)
                                                 for _ in range(args.repeats))
                outputs[label] = out.read_bytes()
            for label in walls:
                ratio = walls["--jobs 1"] / walls[label]
                same = "yes" if outputs[label] == outputs["--jobs 1"] else "no"
                print(f"{table:<14} {label:<28} {walls[label]:7.1f} {ratio:10.2f}x  {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
