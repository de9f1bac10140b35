"""Stability selection and the independent runs: wall time and memory by executor, and what the
stable set holds on synthetic tables with known informative columns.

Part ``speed`` (the commands as a user runs them): ``lassonet select --cv 5`` and ``lassonet
stability --pairs 50`` on breast_cancer (569 x 30) and prostate_ge (102 x 5,966), each with
``--jobs 1``, ``--jobs 2`` and ``--scheduler`` on a Dask cluster of two single-threaded
workers started here with ``dask scheduler`` / ``dask worker``, as a user would.  Reports wall
time, peak memory (the sum of the resident sizes of the command's processes, and of the
cluster's, sampled every 0.1 s), the speed-up over ``--jobs 1``, and whether the outputs are
byte-identical.

Part ``synthetic``: tables of 500 standard normal columns, 10 of them informative through
nonlinear terms (y = sin(2 x1) + x2^2 - 1 + x3 x4 + |x5| - 0.8 + tanh(2 x6) + x7 + 0.5 x8 x9 +
cos(2 x10) - 0.14 + noise), n = 200 and n = 2,000: the stable set of ``lassonet stability``
at its defaults (50 pairs, pi_thr 0.6, q the median size of the chosen models): informative and
noise columns in it.

    python benchmarks/stability.py --part speed [--repeats 3]
    python benchmarks/stability.py --part synthetic
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _run_header import ROOT, print_run_header  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
LASSONET = str(Path(sys.executable).parent / "lassonet")
DASK = str(Path(sys.executable).parent / "dask")


def tree_rss(pids: list[int]) -> int:
    """Bytes resident in the processes ``pids`` and all their descendants."""
    total, seen, todo = 0, set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measured(command: list[str], also: list[int]) -> tuple[float, int, bytes, str]:
    """Run ``command``: (wall seconds, peak bytes of it and of ``also``, stdout, stderr)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]

    def sample():
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss([process.pid, *also]))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = process.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{err.decode()}")
    return wall, peak[0], out, err.decode()


class Cluster:
    """``dask scheduler`` and ``dask worker --nworkers 2 --nthreads 1``, as a user starts them."""

    def __enter__(self):
        self.folder = tempfile.TemporaryDirectory()
        scheduler_file = Path(self.folder.name) / "scheduler.json"
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes = [subprocess.Popen(
            [DASK, "scheduler", "--scheduler-file", str(scheduler_file), "--port", "0",
             "--no-dashboard"], **quiet)]
        while not scheduler_file.exists():
            time.sleep(0.2)
        self.processes.append(subprocess.Popen(
            [DASK, "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "2",
             "--nthreads", "1", "--no-dashboard"], **quiet))
        import json

        from distributed import Client

        time.sleep(0.5)
        self.address = json.loads(scheduler_file.read_text())["address"]
        with Client(self.address) as client:
            client.wait_for_workers(2, timeout=60)
        return self

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def __exit__(self, *exc):
        for process in reversed(self.processes):
            process.terminate()
            process.wait()
        self.folder.cleanup()


def speed(tables: list[str], pairs: int, options: list[str],
          which: tuple[str, ...] = ("select", "stability"), repeats: int = 1) -> None:
    """Each command with each executor ``repeats`` times (the executors in turn): the median
    wall time (every time, in brackets, where more than one), the largest peak memory, the
    speed-up of the medians over ``--jobs 1``'s, and whether every output equals the first."""
    jobs = [("--jobs 1", ["--jobs", "1"]), ("--jobs 2", ["--jobs", "2"])]
    print(f"\n{'table':14} {'command':22} {'runs on':16} {'wall_s':>7} {'peak_MiB':>9} "
          f"{'speed-up':>8}  same output")
    with Cluster() as cluster:
        executors = jobs + [("dask, 2 workers", ["--scheduler", cluster.address])]
        for table in tables:
            data = table if Path(table).is_file() else str(DATA / f"{table}.parquet")
            table = Path(table).stem
            commands = [("select --cv 5", ["select", data, "-t", "target", "--cv", "5"]),
                        (f"stability --pairs {pairs}",
                         ["stability", data, "-t", "target", "--pairs", str(pairs)])]
            for label, command in (c for c in commands if c[1][0] in which):
                walls = {where: [] for where, _ in executors}
                peaks = dict.fromkeys(walls, 0)
                same = dict.fromkeys(walls, True)
                first = None
                for _ in range(repeats):  # the executors in turn, so that drift hits each
                    for where, extra in executors:
                        also = cluster.pids if where.startswith("dask") else []
                        wall, peak, out, _ = measured(
                            [LASSONET, *command, *extra, *options, "-q"], also)
                        first = out if first is None else first
                        walls[where].append(wall)
                        peaks[where] = max(peaks[where], peak)
                        same[where] = same[where] and out == first
                base = float(np.median(walls[executors[0][0]]))
                for where, _ in executors:
                    print(speed_row(table, label, where, walls[where], peaks[where], base,
                                    same[where]), flush=True)


def speed_row(table: str, label: str, where: str, walls: list[float], peak: int, base: float,
              same: bool) -> str:
    """One row of the speed table: the median of ``walls`` and every time where there are
    several, ``peak`` bytes in MiB, the speed-up of ``base`` seconds over the median."""
    wall = float(np.median(walls))
    times = f"  ({' '.join(f'{w:.1f}' for w in walls)})" if len(walls) > 1 else ""
    return (f"{table:14} {label:22} {where:16} {wall:7.1f} {peak / 2**20:9.0f} "
            f"{base / wall:7.2f}x  {'yes' if same else 'NO'}{times}")


def synthetic_table(n: int, d: int = 500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray,
                                                                    list[int]]:
    """(X, y, the informative columns' positions) of the nonlinear table in the docstring."""
    rng = np.random.default_rng([seed, n])
    X = rng.standard_normal((n, d))
    informative = [int(j) for j in rng.permutation(d)[:10]]
    x = X[:, informative]
    y = (np.sin(2 * x[:, 0]) + x[:, 1] ** 2 - 1 + x[:, 2] * x[:, 3] + np.abs(x[:, 4]) - 0.8
         + np.tanh(2 * x[:, 5]) + x[:, 6] + 0.5 * x[:, 7] * x[:, 8] + np.cos(2 * x[:, 9]) - 0.14
         + 0.3 * rng.standard_normal(n))
    return pd.DataFrame(X, columns=[f"x{j:03d}" for j in range(d)]), y, informative


def synthetic(rows: list[int], pairs: int, jobs: int | None, columns: int = 500) -> None:
    from lassonet_cli import LassoNetSelector

    print(f"\n{'n':>6} {'q':>4} {'stable':>6} {'informative':>11} {'noise':>5}  wall_s  "
          "informative columns' max_probability")
    for n in rows:
        X, y, informative = synthetic_table(n, columns)
        started = time.perf_counter()
        result = LassoNetSelector(n_jobs=jobs).stability(X, y, pairs=pairs)
        wall = time.perf_counter() - started
        stable = set(np.flatnonzero(result.stable))
        hits = len(stable & set(informative))
        probs = " ".join(f"{result.max_probability[j]:.2f}" for j in informative)
        print(f"{n:6d} {result.q:4d} {len(stable):6d} {hits:11d} {len(stable) - hits:5d}  "
              f"{wall:6.0f}  {probs}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["speed", "synthetic"], required=True)
    parser.add_argument("--tables", nargs="+", default=["breast_cancer", "prostate_ge"],
                        help="speed: names in ../shared/data, or Parquet files with a "
                             "'target' column")
    parser.add_argument("--rows", nargs="+", type=int, default=[200, 2000])
    parser.add_argument("--columns", type=int, default=500, help="synthetic: columns (>= 10)")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=None, help="synthetic: --jobs of the runs")
    parser.add_argument("--commands", nargs="+", choices=["select", "stability"],
                        default=["select", "stability"], help="speed: the commands timed")
    parser.add_argument("--options", default="",
                        help="speed: more options for every command, e.g. '--max-epochs 5' "
                             "(the smoke test's; the figures in RESULTS use none)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="speed: runs of each command and executor (the median is shown)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    print(f"# stability: part {args.part}")
    print_run_header()
    if args.part == "speed":
        speed(args.tables, args.pairs, shlex.split(args.options), tuple(args.commands),
              args.repeats)
    else:
        synthetic(args.rows, args.pairs, args.jobs, args.columns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
