"""What ``lassonet select`` spends before it trains: reading the table, checking its columns,
setting constant ones aside, fitting the encoder (standardisation) and encoding the table.

On a wide table this is a share of the whole command that users wait through on every run:
pandas keeps a table read from Parquet, or with columns dropped, as one piece per column, and
every row slice then visits each piece (seconds on 10,000 columns).  Each table is prepared
in a fresh process (``--repeats`` times, the median reported), as ``select`` does it
(``cli_input.read_prepared``, ``prepare.checked_table`` and ``prepare.set_up_path``) or, with
``--api python``, as ``LassoNetSelector.fit`` does with a DataFrame that
``pandas.read_parquet`` read (``prepare.prepare_table``, then ``set_up_path``); reported
are the wall and CPU seconds of those steps (imports excluded) and the process's peak
resident memory (its VmHWM).  Tables: the wide ones in ``../shared/data`` and a tall synthetic one
(``--tall-rows`` x 100 float32 columns, written to a temporary Parquet file; 0 leaves it out).
Usage::

    .venv/bin/python benchmarks/prepare_time.py                     # all, 3 runs each
    .venv/bin/python benchmarks/prepare_time.py --tables arcene --tall-rows 0 --repeats 5
    .venv/bin/python benchmarks/prepare_time.py --api python

Before and after a change: run it once with ``PYTHONPATH`` pointing at a worktree of the
earlier commit (whose extension is built in place), once without.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _run_header import print_run_header

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
WIDE = ["prostate_ge", "tox171", "arcene", "glioma", "colon", "lymphoma"]


def child(path: str, target: str, api: str) -> None:
    """Prepare one table as ``select`` (``api`` 'cli') or ``LassoNetSelector.fit`` on a
    DataFrame from ``pandas.read_parquet`` ('python', the reading not timed) does; print
    {wall, cpu, peak_mib} as JSON."""
    import time

    import pandas as pd
    import torch  # noqa: F401  (imported before the clock starts, as by the command)

    from lassonet_cli.cli_input import read_prepared
    from lassonet_cli.cli_options import Missing
    from lassonet_cli.estimator import Selector
    from lassonet_cli.prepare import checked_table, prepare_table, set_up_path

    if api == "python":
        frame = pd.read_parquet(path)
        X, y = frame.drop(columns=target), frame[target]
    wall, cpu = time.perf_counter(), time.process_time()
    selector = Selector()
    options = selector.validate()
    if api == "python":  # as Selector.fit
        table = prepare_table(options, selector._checked(X, reset=True), y)
    else:
        prepared = read_prepared(path, None, target, None, None, None, "auto", None,
                                 Missing.error, None, options.max_levels, None, "utf-8",
                                 options=options)
        options = options.with_table(prepared.task, prepared.categorical, None)
        table = checked_table(prepared)
    set_up_path(options, table)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's across exec)
    status = Path("/proc/self/status").read_text()
    peak = int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("VmHWM:"))) / 1024
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": peak}))


def tall_table(folder: Path, rows: int) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, 100), dtype=np.float32)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(100)])
    frame["target"] = X[:, 0] + np.sin(X[:, 1])
    path = folder / "tall.parquet"
    frame.to_parquet(path)
    return path


def measure(path: Path, repeats: int, api: str) -> dict:
    runs = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, __file__, "--child", str(path), "target", api],
                              capture_output=True, text=True, check=True, env=os.environ)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]} | {
        "walls": [r["wall"] for r in runs]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="*", default=WIDE, help="tables of ../shared/data")
    parser.add_argument("--tall-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--api", choices=["cli", "python"], default="cli",
                        help="as select prepares a file, or as fit a DataFrame")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    print_run_header()
    import lassonet_cli

    print(f"lassonet_cli from: {Path(lassonet_cli.__file__).parent}")
    print(f"api: {args.api}   repeats: {args.repeats} (median; every run's wall seconds in "
          "brackets)\n")
    print(f"{'table':<14} {'rows x columns':>16} {'wall_s':>7} {'cpu_s':>7} {'peak_MiB':>9}")
    with tempfile.TemporaryDirectory() as folder:
        paths = [(name, DATA / f"{name}.parquet") for name in args.tables]
        if args.tall_rows:
            paths.append((f"tall {args.tall_rows // 1000}k", tall_table(Path(folder),
                                                                       args.tall_rows)))
        for name, path in paths:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            shape = f"{meta.num_rows} x {meta.num_columns - 1}"
            result = measure(path, args.repeats, args.api)
            walls = " ".join(f"{w:.2f}" for w in result["walls"])
            print(f"{name:<14} {shape:>16} {result['wall']:>7.2f} {result['cpu']:>7.2f} "
                  f"{result['peak_mib']:>9.0f}  ({walls})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
