"""Why the wide table's top 10 misses: the path's mass exits, and two ways to order them.

On ``scale.py``'s wide table (200 rows x 20,000 log-normal columns, 10 informative: 5 linear,
5 through squares) the path collapses: thousands of columns leave at one point even at the
finest refined step (``exits.MAX_REFINE``), and ``pathresult.ranking`` orders the columns leaving
together by ||theta_j|| just before they left.  This fits ``LassoNetSelector`` at its defaults
(seed 0) and, at every fit where more than ``--min-exits`` columns leave (accepted points,
attempts refined away, and the climb to the first exit, which is restored after), records
where the informative columns among them fall when the leaving columns are ordered

* by ||theta_j|| before the point (what the ranking does now), and
* by the exit threshold (*) of ``start.exit_thresholds`` at the model before the point (the
  linearised penalty at which the column would leave, which also orders the start estimate).

It prints those positions (0 = the column that stays longest), and the informative columns'
final ranks.  Diagnostic only: nothing here changes the path.

``--reentry`` adds an experiment: two paths without relaxed fits (``relax=False``, so the two
differ only in the penalised path), one as the product runs it, where an eliminated column is
held at zero for the rest of the path, and one where every column stays under the prox and
can come back when its gradient grows (``LassoNet.feature_mask`` patched to keep every
column), each column then ranked by the lambda at which it left for good.  Usage::

    .venv/bin/python benchmarks/wide_collapse.py             # about a minute on 2 cores
    .venv/bin/python benchmarks/wide_collapse.py --reentry   # and about 2.5 minutes more

``--features N`` narrows the table (default 20,000); the smoke test runs ``--features 300
--min-exits 5`` in a few seconds (``--reentry`` there would take about 40 s more: the path
where columns come back has thousands of points).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale  # noqa: E402  (the wide table)
from _run_header import print_run_header  # noqa: E402

from lassonet_cli import LassoNetSelector  # noqa: E402
from lassonet_cli.model import LassoNet  # noqa: E402
from lassonet_cli.path import _scratch  # noqa: E402
from lassonet_cli.pathresult import ranking  # noqa: E402
from lassonet_cli.start import START_ROWS, exit_thresholds  # noqa: E402
from lassonet_cli.training import Stepper  # noqa: E402


def positions(order: np.ndarray, wanted: list[int]) -> list[int]:
    """Positions in ``order`` of the entries of ``wanted`` that it holds, ascending."""
    where = {int(j): i for i, j in enumerate(order)}
    return sorted(where[j] for j in wanted if j in where)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-exits", type=int, default=50)
    parser.add_argument("--features", type=int, default=20_000,
                        help="columns of the wide table (default 20,000, scale.py's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reentry", action="store_true",
                        help="also fit paths where eliminated columns can come back")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print_run_header()
    with tempfile.TemporaryDirectory(prefix="lassonet-wide-") as work:
        table = Path(work) / "wide.parquet"
        informative_names = scale.wide_table(table, 200, args.features)
        frame = pd.read_parquet(table)
    y = frame.pop("label").to_numpy()
    names = list(frame.columns)
    informative = [names.index(n) for n in informative_names]

    collapses = []
    fit = Stepper.fit

    def recording_fit(stepper, lam, keep=None, max_epochs=None, score=True):
        model = stepper.trainer.model
        before = model.unit_norms() > 0
        result = fit(stepper, lam, keep, max_epochs, score)
        leaving = np.flatnonzero((before & ~(model.unit_norms() > 0)).numpy())
        if len(leaving) > args.min_exits:
            state = stepper.start[0]  # the weights before this fit
            scratch = _scratch(model, state)
            X, y_head = stepper.trainer.data.head(START_ROWS)
            thresholds = exit_thresholds(scratch, stepper.trainer.task, X, y_head,
                                         stepper.trainer.config.M, leaving)
            norms = torch.linalg.vector_norm(state["skip.weight"], dim=0).numpy()[leaving]
            collapses.append((lam, int(before.sum()), leaving,
                              leaving[np.argsort(-norms, kind="stable")],
                              leaving[np.argsort(-thresholds, kind="stable")]))
        return result

    Stepper.fit = recording_fit
    try:
        start = time.perf_counter()
        selector = LassoNetSelector(task="classification", seed=0, cv=0).fit(frame, y)
        wall = time.perf_counter() - start
    finally:
        Stepper.fit = fit
    print(f"\nfit: {wall:.1f} s, {len(selector.path_.points)} points")
    print("accepted and refined-away fits where more than "
          f"{args.min_exits} columns left (in the order fitted);")
    print("positions of the informative columns among those leaving, 0 = stays longest:")
    print(f"{'lambda':>8s} {'alive':>6s} {'leaving':>7s}  {'by norm':30s} {'by threshold':30s}")
    for lam, alive, leaving, by_norm, by_threshold in collapses:
        print(f"{lam:8.4f} {alive:6d} {len(leaving):7d}  "
              f"{str(positions(by_norm, informative)):30s} "
              f"{str(positions(by_threshold, informative)):30s}")
    order = np.asarray(ranking(selector.path_))
    found = positions(order, informative)
    print(f"\ninformative columns' final ranks (0 = first): {found}")
    print(f"in the top 10: {sum(r < 10 for r in found)} of 10")
    if args.reentry:
        print("\nwithout relaxed fits: eliminated columns held at zero, or free to come back")
        for held in (True, False):
            print(reentry_run(frame, y, informative, held), flush=True)
    return 0


def reentry_run(frame: pd.DataFrame, y: np.ndarray, informative: list[int], held: bool) -> str:
    mask = LassoNet.feature_mask
    if not held:  # every column stays under the prox, so an eliminated one can come back
        LassoNet.feature_mask = lambda model, alive: torch.ones_like(mask(model, alive))
    try:
        start = time.perf_counter()
        selector = LassoNetSelector(task="classification", seed=0, relax=False, cv=0).fit(frame, y)
        wall = time.perf_counter() - start
    finally:
        LassoNet.feature_mask = mask
    found = positions(np.asarray(ranking(selector.path_)), informative)
    label = "held at zero" if held else "can come back"
    return (f"{label:14s} {wall:6.1f} s  {len(selector.path_.points):4d} points  "
            f"top 10: {sum(r < 10 for r in found)}  top 50: {sum(r < 50 for r in found)}  "
            f"ranks {found}")


if __name__ == "__main__":
    sys.exit(main())
