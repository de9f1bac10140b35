"""When a training step restricted to the alive input columns pays: with the index, or without.

Along the path most columns are out and their weights are zero; ``LassoNet.forward(x,
columns)`` can then read only the alive ones, at the cost of gathering their weights (and, in
the backward, scattering the gradients back).  This times one training step (forward, loss,
backward, our SGD update) on the network and training batch of ``compare_reference.py``
(seed 0 split, 90% of the training rows), restricted to the first ``share`` of the columns and
on all of them, the variants interleaved round by round, and prints for each share the columns
left out, the multiply-adds that leaves out per step (columns out x rows x the widths of the
layers that read the input) and the restricted step's time minus the full one's.  It sets
``model.MIN_SAVED_PRODUCTS``, below which the path does not restrict.  Only full-batch steps
are timed; with minibatches the rule takes the batch's rows, and a restricted minibatch also
copies its columns out of the batch (not measured here).  Usage::

    .venv/bin/python benchmarks/column_index.py
    .venv/bin/python benchmarks/column_index.py --datasets madelon --shares 0.95 0.9
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare_reference as cr  # noqa: E402  (the same datasets, splits and backbone)
from _run_header import print_run_header  # noqa: E402

from lassonet_cli.backbones import BackboneSpec  # noqa: E402
from lassonet_cli.model import MIN_SAVED_PRODUCTS, LassoNet  # noqa: E402
from lassonet_cli.optim import HeavyBall  # noqa: E402
from lassonet_cli.tasks import make_task  # noqa: E402

SHARES = {"breast_cancer": [0.9, 0.5, 0.2], "diabetes": [0.9, 0.5, 0.2],
          "toy_regression": [0.9, 0.5, 0.2], "digits": [0.9, 0.7, 0.5, 0.3],
          "madelon": [0.95, 0.9, 0.7, 0.5, 0.1]}


def seconds_per_step(step, repeats: int) -> float:
    for _ in range(repeats // 5):  # warm-up
        step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def measure(name: str, shares: list[float], rounds: int, repeats: int) -> None:
    spec = cr.DATASETS[name]
    split = cr.make_split(spec, *cr.load_dataset(spec), 0)
    task = make_task(split.task).fit(split.y_train)
    n_fit = int(round(len(split.Z_train) * 0.9))
    X, y = torch.from_numpy(split.Z_train[:n_fit]), task.encode(split.y_train[:n_fit])
    torch.manual_seed(0)
    d, c = X.shape[1], task.n_outputs
    model = LassoNet(d, c, BackboneSpec.parse(cr.BACKBONE).build(d, c))
    model.eval()
    opt = HeavyBall(model.parameters(), lr=1e-4)
    width = c + model.backbone.input_layer.out_features

    def step_on(X_in: torch.Tensor, columns: torch.Tensor | None):
        def step() -> None:
            opt.zero_grad()
            task.loss(model(X_in, columns), y).backward()
            opt.step()
        return step

    variants = {"all": step_on(X, None)}
    for share in shares:
        columns = torch.arange(max(1, int(share * d)))
        variants[share] = step_on(X[:, columns], columns)
    times: dict = {key: [] for key in variants}
    for _ in range(rounds):
        for key, step in variants.items():
            times[key].append(seconds_per_step(step, repeats))
    full = statistics.median(times["all"])
    print(f"{name}: {len(X)} rows, {d} columns, step on all columns {full * 1e3:.3f} ms")
    for share in shares:
        out = d - max(1, int(share * d))
        saved = out * len(X) * width
        delta = statistics.median(times[share]) - full
        print(f"  alive {share:4.2f}: {out:4d} columns out, {saved / 1e6:6.2f} M multiply-adds "
              f"left out, restricted step {delta * 1e6:+7.1f} us  "
              f"(the path restricts: {'yes' if saved >= MIN_SAVED_PRODUCTS else 'no'})",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(SHARES), default=list(SHARES))
    parser.add_argument("--shares", nargs="+", type=float,
                        help="shares of the columns alive (default: per dataset)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print_run_header()
    print(f"MIN_SAVED_PRODUCTS = {MIN_SAVED_PRODUCTS:,}; {args.rounds} rounds x "
          f"{args.repeats} steps, the variants interleaved\n")
    for name in args.datasets:
        measure(name, args.shares or SHARES[name], args.rounds, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
