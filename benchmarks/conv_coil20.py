"""Filter selection with a conv backbone on COIL-20: the figures quoted in docs/images.md.

``../shared/data/coil20.parquet``: 1440 greyscale 32 x 32 images of 20 objects (72 each), the
1024 pixel columns in row-major order, then ``target``.  20% of the rows are held out as the test
set (stratified by class, a numpy generator seeded by ``--seed``).  On the rest,
``LassoNetSelector(backbone=--backbone, image_shape="1x32x32")`` trains the LassoNet path over
conv1's filters (10% of the training rows for validation, as ``lassonet select`` does).

Every path point delivers its relaxed model (the point's filters, trained without penalty); the
test accuracy of each is recorded while the path runs, but only the validation accuracy chooses:

    chosen point = the sparsest point whose validation accuracy is within ``--tolerance``
                   (default 0.02) of the best validation accuracy on the path

(ties: the later point).  The path starts at ``--lambda-start`` 1.0 with ``--path-multiplier``
1.1 and ``--M`` 0.1 (docs/images.md): from the saturated dense model the automatic start
estimates 2.6e-5, and climbing from there to the first exit (lambda 2.15) costs about 60 short
fits, 4 of the 10 minutes this run may take on 2 cores.  The unconstrained network is the
path's first point: the same ConvLassoNet trained with lambda = 0, no prox at all.  Printed:
one row per number of alive filters (the last point with it), the chosen point, and the
comparison against the issue's target (fewer than half of conv1's filters alive, test accuracy
within 0.03 of the unconstrained network).

Run from the project root::

    nice -n 19 .venv/bin/python benchmarks/conv_coil20.py

``--data FILE`` (Parquet or CSV: pixel columns, then ``target``) with ``--image-shape CxHxW``
runs it on other images; the smoke test runs it on ``tests/data/bars_8x8.csv`` (120 8x8
images, the bar's shape as the class) with a small backbone.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _run_header import print_run_header

from lassonet_cli import LassoNetSelector
from lassonet_cli.splits import split_task_rows
from lassonet_cli.tasks import make_task

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "coil20.parquet"


class Recorder:
    """Keeps the delivered model of the last point with each number of alive filters, and
    the dense model (the first point)."""

    def __init__(self):
        self.start = time.perf_counter()
        self.points: list = []
        self.states: dict[int, tuple[int, dict]] = {}
        self.dense: dict | None = None

    def __call__(self, point, model) -> None:
        if not self.points:  # the first point: the network trained with lambda = 0
            self.dense = copy.deepcopy(model.state_dict())
        self.points.append(point)
        print(f"  point {len(self.points) - 1}: lambda {point.lambda_:.4g}, k {point.k}, "
              f"val {point.val_score:.4f}, epochs {point.epochs}+{point.relax_epochs}, "
              f"{time.perf_counter() - self.start:.0f} s", file=sys.stderr, flush=True)
        self.states[point.k] = (len(self.points) - 1, copy.deepcopy(model.state_dict()))


def choose(points: list, tolerance: float) -> int:
    """The sparsest point whose validation score is within ``tolerance`` of the best."""
    best = max(p.val_score for p in points)
    within = [i for i, p in enumerate(points) if p.val_score >= best - tolerance]
    return max(within, key=lambda i: (-points[i].k, i))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA),
                        help="pixel columns then target, Parquet or CSV (default: %(default)s)")
    parser.add_argument("--image-shape", default="1x32x32",
                        help="channels x height x width of --data's images (default 1x32x32)")
    parser.add_argument("--backbone", default="conv:16,32")
    parser.add_argument("--M", type=float, default=0.1)
    parser.add_argument("--path-multiplier", type=float, default=1.1)
    parser.add_argument("--lambda-start", default="1.0", help="a number, or auto")
    parser.add_argument("--tolerance", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print_run_header()

    df = pd.read_parquet(args.data) if args.data.endswith(".parquet") else pd.read_csv(args.data)
    X, y = df.drop(columns=["target"]), df["target"].to_numpy()
    task = make_task("classification")
    train, test = split_task_rows(task, y, 0.2, np.random.default_rng(args.seed),
                                  "test fraction")
    print(f"{Path(args.data).stem}: {len(df)} images, {X.shape[1]} pixels, "
          f"{len(np.unique(y))} classes; "
          f"{len(train)} training rows (10% of them for validation), {len(test)} test rows")

    recorder = Recorder()
    start = time.perf_counter()
    sel = LassoNetSelector(backbone=args.backbone, image_shape=args.image_shape, seed=args.seed,
                           M=args.M, path_multiplier=args.path_multiplier,
                           lambda_start=None if args.lambda_start == "auto"
                           else float(args.lambda_start))
    sel.fit(X.iloc[train], y[train], on_point=recorder)
    seconds = time.perf_counter() - start
    n_filters = sel.model_.n_units
    print(f"fit: {seconds:.0f} s, {len(recorder.points)} path points, backbone "
          f"{sel.options_.backbone}, M {args.M:g}, {n_filters} conv1 filters")

    test_x = torch.from_numpy(sel.encoder_.transform(X.iloc[test]))
    test_y = sel.task_.encode(y[test])
    model = copy.deepcopy(sel.model_)

    def test_accuracy(state: dict) -> float:
        model.load_state_dict(state)
        model.eval()
        with torch.no_grad():
            return float(sel.task_.score(model(test_x), test_y))

    rows = []
    for k, (index, state) in sorted(recorder.states.items(), reverse=True):
        point = recorder.points[index]
        rows.append({"point": index, "lambda": point.lambda_, "alive_filters": k,
                     "val_accuracy": point.val_score, "test_accuracy": test_accuracy(state)})
    table = pd.DataFrame(rows)
    print("last path point with each number of alive filters (relaxed models):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    chosen = choose(recorder.points, args.tolerance)
    point = recorder.points[chosen]
    # the relaxed model is the same for every point with the same filters
    chosen_test = table.loc[table["alive_filters"] == point.k, "test_accuracy"].iloc[0]
    dense_test = test_accuracy(recorder.dense)
    alive = [sel.units_.names[j] for j in np.flatnonzero(point.active)]
    print(f"chosen (sparsest point with validation accuracy within {args.tolerance} of the "
          f"best, {max(p.val_score for p in recorder.points):.4f}): point {chosen}, lambda "
          f"{point.lambda_:.4g}, {point.k} of {n_filters} filters alive ({', '.join(alive)})")
    print(f"test accuracy: chosen {chosen_test:.4f}, unconstrained network (lambda = 0) "
          f"{dense_test:.4f}, difference {dense_test - chosen_test:+.4f}")
    fewer = point.k < n_filters / 2
    close = dense_test - chosen_test <= 0.03
    print(f"target: fewer than half of the filters alive: {'yes' if fewer else 'no'} "
          f"({point.k} < {n_filters / 2:g}); within 0.03 of the unconstrained network: "
          f"{'yes' if close else 'no'}")


if __name__ == "__main__":
    main()
