"""How close a whole path comes to the cost of its bare optimiser steps.

For each dataset (those of ``compare_reference.py``, same 70/30 split and backbone) this fits
``LassoNetSelector`` at its defaults, counts every optimiser step it takes (dense phase, start
search, path points, retried points and relaxed fits), and measures in the same process the
time of one *bare* step of the same network on the same full training batch: forward, loss,
backward and the optimiser's update, nothing else.  The figure of merit is

    overhead = path wall time / (steps x bare step time)

so 1.0 means HIER-PROX, validation, early stopping, the start search, snapshots and all
bookkeeping cost nothing beyond the steps themselves (target: at most 1.5).  The bare step is
timed with our optimiser (``lassonet_cli.optim.HeavyBall``, which the path uses) and, for
comparison, with ``torch.optim.SGD``, each before and after the path (the mean of the two).
The machine's speed drifts between and within runs (two runs back to back have given medians
1.32 and 1.70), so each path is fitted ``--repeats`` times (default 3), each between its own
bare-step timings, and the round with the median overhead (the lower middle one for an even
count) is reported with the range of all.
Usage::

    .venv/bin/python benchmarks/overhead.py                      # all datasets, seed 0
    .venv/bin/python benchmarks/overhead.py --datasets digits --seeds 0 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare_reference as cr  # noqa: E402  (the same datasets, splits and backbone)
from _run_header import print_run_header  # noqa: E402

from lassonet_cli import LassoNetSelector  # noqa: E402
from lassonet_cli import model as model_module  # noqa: E402
from lassonet_cli import path as path_module  # noqa: E402
from lassonet_cli import relax as relax_module  # noqa: E402
from lassonet_cli import start as start_module  # noqa: E402
from lassonet_cli import training as training_module  # noqa: E402
from lassonet_cli.backbones import BackboneSpec  # noqa: E402
from lassonet_cli.model import LassoNet  # noqa: E402
from lassonet_cli.optim import Adam, HeavyBall  # noqa: E402
from lassonet_cli.tasks import make_task  # noqa: E402


class StepCounter:
    """Counts the ``step`` calls of our two optimisers while active."""

    def __init__(self):
        self.steps = 0
        self._saved = {}

    def __enter__(self) -> StepCounter:
        for cls in (HeavyBall, Adam):
            original = cls.step
            self._saved[cls] = original

            def counted(opt, _original=original):
                self.steps += 1
                return _original(opt)

            cls.step = counted
        return self

    def __exit__(self, *exc) -> None:
        for cls, original in self._saved.items():
            cls.step = original


class PhaseTimer:
    """Splits the path's wall time into phases while active, each call's time going to the
    innermost phase it runs in (a relaxed fit's prox calls count as prox, not as relax).

    Phases: ``dense`` (the dense model), ``start`` (step size, lambda_start estimate and the
    climb to the first exit), ``relax`` (relaxed fits), ``thresholds`` (exit thresholds that
    order units leaving together, and the start estimate's), ``prox`` (HIER-PROX calls);
    the rest of the wall time is the path's own steps and bookkeeping.
    """

    # a function is patched in the module that looks it up: ``auto_lr`` in the driver's and in
    # the training engine's (the SGD dense fit), ``exit_thresholds`` in ``start``'s
    TARGETS = [
        (training_module.Trainer, "dense", "dense"),
        (path_module, "auto_lr", "start"),
        (training_module, "auto_lr", "start"),
        (path_module, "auto_lambda_start", "start"),
        (path_module, "_climb_to_first_exit", "start"),
        (relax_module.Relaxer, "__call__", "relax"),
        (start_module, "exit_thresholds", "thresholds"),
        (model_module, "hier_prox_features_", "prox"),
    ]
    # functions whose *returned* function is timed (a fit's per-step prox)
    FACTORIES = [(model_module.LassoNet, "prox_step", "prox")]
    PHASES = ["dense", "start", "relax", "thresholds", "prox"]

    def __init__(self):
        self.seconds = dict.fromkeys(self.PHASES, 0.0)
        self._inner: list[float] = []  # time spent in nested phases, per open call
        self._saved = []

    def _wrap(self, function, phase):
        def timed(*args, **kwargs):
            self._inner.append(0.0)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                inner = self._inner.pop()
                self.seconds[phase] += elapsed - inner
                if self._inner:
                    self._inner[-1] += elapsed
        return timed

    def _wrap_factory(self, factory, phase):
        def timed_factory(*args, **kwargs):
            return self._wrap(factory(*args, **kwargs), phase)
        return timed_factory

    def __enter__(self) -> PhaseTimer:
        for targets, wrap in ((self.TARGETS, self._wrap), (self.FACTORIES, self._wrap_factory)):
            for owner, name, phase in targets:
                original = getattr(owner, name)
                self._saved.append((owner, name, original))
                setattr(owner, name, wrap(original, phase))
        return self

    def __exit__(self, *exc) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)


def bare_step_time(split: cr.Split, optimizer: str, repeats: int = 300) -> float:
    """Seconds per bare training step of the benchmark network on the full training batch."""
    task = make_task(split.task).fit(split.y_train)
    n_fit = int(round(len(split.Z_train) * 0.9))  # the selector trains on 90% of its rows
    X = torch.from_numpy(split.Z_train[:n_fit])
    y = task.encode(split.y_train[:n_fit])
    torch.manual_seed(0)
    d, c = X.shape[1], task.n_outputs
    model = LassoNet(d, c, BackboneSpec.parse(cr.BACKBONE).build(d, c))
    if optimizer == "ours":
        opt = HeavyBall(model.parameters(), lr=1e-3, momentum=0.9)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def step() -> None:
        opt.zero_grad()
        loss = task.loss(model(X), y)
        loss.backward()
        opt.step()

    for _ in range(30):
        step()
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        rounds.append((time.perf_counter() - start) / repeats)
    return min(rounds)


def measure(name: str, seed: int, repeats: int) -> dict:
    """Fits the path ``repeats`` times, each between two timings of the bare steps; returns
    the round with the median overhead, and the spread of the rounds' overheads."""
    spec = cr.DATASETS[name]
    X, y = cr.load_dataset(spec)
    split = cr.make_split(spec, X, y, seed)
    rounds = []
    for _ in range(repeats):
        selector = LassoNetSelector(task=split.task, backbone=cr.BACKBONE, seed=seed, cv=0)
        # the bare step is timed before and after the path and the two are averaged: this
        # machine's speed drifts by tens of percent within minutes (see RESULTS.md)
        before = bare_step_time(split, "ours"), bare_step_time(split, "torch")
        with StepCounter() as counter, PhaseTimer() as phases:
            start = time.perf_counter()
            selector.fit(split.train_raw, split.y_train)
            wall = time.perf_counter() - start
        after = bare_step_time(split, "ours"), bare_step_time(split, "torch")
        bare, bare_torch = ((b + a) / 2 for b, a in zip(before, after, strict=True))
        rounds.append({
            "dataset": name, "seed": seed, "wall": wall, "steps": counter.steps,
            "bare_ms": bare * 1e3, "bare_torch_ms": bare_torch * 1e3,
            "overhead": wall / (counter.steps * bare),
            "overhead_torch": wall / (counter.steps * bare_torch),
            "shares": {phase: seconds / wall for phase, seconds in phases.seconds.items()}})
    rounds.sort(key=lambda r: r["overhead"])
    median = rounds[(len(rounds) - 1) // 2]
    median["spread"] = (rounds[0]["overhead"], rounds[-1]["overhead"])
    return median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(cr.DATASETS),
                        default=list(cr.DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3,
                        help="paths per dataset and seed, each between bare-step timings; the "
                             "round with the median overhead is reported (default 3)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print_run_header()
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print()
    header = (f"{'dataset':15s} {'seed':>4s} {'wall_s':>7s} {'steps':>6s} {'bare_ms':>8s} "
              f"{'overhead':>8s} {'(rounds)':>11s}   {'bare_ms(torch.optim)':>20s} "
              f"{'overhead':>8s}")
    print(header)
    rows = []
    for name in args.datasets:
        for seed in args.seeds:
            r = measure(name, seed, args.repeats)
            rows.append(r)
            print(f"{r['dataset']:15s} {r['seed']:4d} {r['wall']:7.2f} {r['steps']:6d} "
                  f"{r['bare_ms']:8.3f} {r['overhead']:8.2f} "
                  f"{r['spread'][0]:5.2f}-{r['spread'][1]:<5.2f}   {r['bare_torch_ms']:20.3f} "
                  f"{r['overhead_torch']:8.2f}", flush=True)
    print(f"\nmedian overhead: {statistics.median(r['overhead'] for r in rows):.2f} "
          f"(against torch.optim.SGD steps: "
          f"{statistics.median(r['overhead_torch'] for r in rows):.2f})")
    print("\nwhere the wall time goes (share; the rest is the path's own steps and bookkeeping):")
    print(f"{'dataset':15s} {'seed':>4s} " + " ".join(f"{p:>10s}" for p in PhaseTimer.PHASES)
          + f" {'rest':>10s}")
    for r in rows:
        rest = 1 - sum(r["shares"].values())
        print(f"{r['dataset']:15s} {r['seed']:4d} "
              + " ".join(f"{r['shares'][p]:10.2f}" for p in PhaseTimer.PHASES)
              + f" {rest:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
