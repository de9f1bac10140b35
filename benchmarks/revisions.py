"""Two revisions of lassonet_cli side by side: the same selections, byte for byte and in time.

A refactor must not change a single number, and must not cost time.  This script checks both:
it exports each git revision into a scratch folder (``git archive``; the optional HIER-PROX
kernel is built there when a C compiler is present, as at install), then runs a fixed set of
``lassonet select`` commands with each, alternating between the revisions ``--repeats`` times,
and reports for every command whether the ranking, the path table and stderr are identical,
and the median wall time of each revision (the whole command, start-up included).  Each run is
a fresh process of this venv's python with the revision's folder first on ``sys.path``.

The commands cover the regimes the path treats differently: a small regression and a
classification table (settled exits, relaxed fits), Adam without relaxed fits, minibatches,
cross-validation, Cox, reconstruction, a synthetic wide table (more columns than rows:
the SGD dense fit, no settling), a grid of M, and text columns with gaps imputed.  Run from
the project root::

    .venv/bin/python benchmarks/revisions.py 113c6c4 HEAD

Exit status 1 when any output differs.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _run_header import print_run_header  # noqa: E402

SAMPLE, TESTS = ROOT / "sample_data", ROOT / "tests" / "data"


def wide_table(folder: Path) -> Path:
    """A synthetic wide table: 80 rows x 400 columns, y from 5 of them (one an interaction)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 400))
    y = X[:, 3] - 2 * X[:, 17] + X[:, 101] * X[:, 250] + 0.5 * X[:, 333]
    y = y + 0.3 * rng.standard_normal(80)
    path = folder / "wide.csv"
    header = ",".join([f"x{j:03d}" for j in range(400)] + ["y"])
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="",
               fmt="%.6g")
    return path


def commands(scratch: Path) -> dict[str, list[str]]:
    """Name -> arguments of ``lassonet select`` (input first)."""
    toy, bc = str(SAMPLE / "toy_regression.csv"), str(SAMPLE / "breast_cancer.csv")
    return {
        "toy": [toy, "--target", "y"],
        "breast_cancer": [bc, "--target", "diagnosis"],
        "toy_adam_no_relax": [toy, "--target", "y", "--optimizer", "adam", "--no-relax"],
        "breast_cancer_minibatch": [bc, "--target", "diagnosis", "--batch-size", "64"],
        "toy_cv3_1se": [toy, "--target", "y", "--cv", "3", "--rule", "1se"],
        "whas500_cox": [str(TESTS / "whas500.csv"), "--task", "cox", "--time", "time",
                        "--event", "event"],
        "breast_cancer_reconstruction": [bc, "--task", "reconstruction", "--exclude",
                                         "diagnosis", "--k", "10"],
        "wide_synthetic": [str(wide_table(scratch)), "--target", "y"],
        "toy_M_grid": [toy, "--target", "y", "--M", "1,10", "--cv", "3"],
        "mice_text_gaps": [str(TESTS / "mice_protein_slice.csv"), "--target", "class", "--id",
                           "MouseID", "--missing", "impute"],
    }


def export(revision: str, folder: Path) -> str:
    """The revision's files in ``folder``, its kernel built where possible; its short hash."""
    sha = subprocess.run(["git", "rev-parse", "--short", revision], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", sha], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    if (folder / "setup.py").exists():  # the optional kernel; without a compiler: numpy
        subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"],
                       cwd=folder, capture_output=True)
    return sha


RUNNER = ("import sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'lassonet'; "
          "from lassonet_cli.cli import main; main()")


def run(tree: Path, args: list[str], out: Path, threads: int) -> tuple[float, str]:
    """Wall seconds of one ``lassonet select`` and a digest of what it wrote."""
    out.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-c", RUNNER, str(tree), "select", *args, "--threads",
            str(threads), "-o", str(out / "ranking.csv"), "--path-out", str(out / "path.csv")]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - start
    digest = hashlib.sha1()
    digest.update(f"{done.returncode}\n{done.stderr}".encode())
    for name in ("ranking.csv", "path.csv"):
        path = out / name
        digest.update(path.read_bytes() if path.exists() else b"(none)")
    if done.returncode:
        print(f"  (exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]})",
              flush=True)
    return wall, digest.hexdigest()[:12]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="the revision before (any git revision)")
    parser.add_argument("new", help="the revision after (HEAD: the last commit)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each command per "
                        "revision, alternating (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="run only these commands (default: all)")
    args = parser.parse_args(argv)
    print_run_header()
    with tempfile.TemporaryDirectory(prefix="lassonet-revisions-") as tmp:
        scratch = Path(tmp)
        trees = {}
        for label, revision in (("old", args.old), ("new", args.new)):
            sha = export(revision, scratch / label)
            trees[label] = (sha, scratch / label)
        print(f"old: {args.old} = {trees['old'][0]}   new: {args.new} = {trees['new'][0]}\n")
        table = commands(scratch)
        names = args.only or list(table)
        rows, differ = [], []
        for name in names:
            walls = {"old": [], "new": []}
            digests = {"old": set(), "new": set()}
            for r in range(args.repeats):
                for label in ("old", "new") if r % 2 == 0 else ("new", "old"):
                    wall, digest = run(trees[label][1], table[name], scratch / "out" / label
                                       / name / str(r), args.threads)
                    walls[label].append(wall)
                    digests[label].add(digest)
            same = digests["old"] == digests["new"] and len(digests["old"]) == 1
            if not same:
                differ.append(name)
            old_s, new_s = statistics.median(walls["old"]), statistics.median(walls["new"])
            rows.append((name, "yes" if same else "NO", old_s, new_s, old_s / new_s))
            print(f"  {name}: identical {rows[-1][1]}, old {old_s:.2f} s, new {new_s:.2f} s",
                  flush=True)
    print(f"\n{'command':<30} {'identical':>9} {'old_s':>7} {'new_s':>7} {'old/new':>8}")
    for name, same, old_s, new_s, ratio in rows:
        print(f"{name:<30} {same:>9} {old_s:7.2f} {new_s:7.2f} {ratio:7.2f}x")
    total_old = sum(r[2] for r in rows)
    total_new = sum(r[3] for r in rows)
    print(f"{'all (sum of medians)':<30} {'':>9} {total_old:7.2f} {total_new:7.2f} "
          f"{total_old / total_new:7.2f}x")
    print(f"(median wall of {args.repeats} run(s) per revision, whole command with start-up; "
          "identical: ranking, path table, stderr and exit status byte for byte)")
    if differ:
        print(f"outputs differ: {', '.join(differ)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
