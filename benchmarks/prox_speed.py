"""What the per-step HIER-PROX costs on the path: compiled (the CPU default) and torch.

For each dataset (those of ``compare_reference.py``: same split and backbone) this fits
``LassoNetSelector`` at its defaults several times, alternating the two implementations of
the per-step prox (``prox.hier_prox_features_step``) the model can use: the compiled kernel
the CPU takes, its arguments prepared once per fit (``prox._CompiledStep``), and the torch one
other devices, and the CPU without the kernel, take (``prox._hier_prox_features_torch``).
It reports per implementation the median wall time of the whole fit, the number of prox calls
and the mean time of one call, measured around every call, and ``replay_ms``: the same calls (a
copy of the inputs of every tenth) replayed back to back after the fit, without the training
step between them (the copies are taken during the fit, outside the timed calls but inside its
wall time). The two paths can differ in a few points, since the implementations round
differently. Only the per-step calls are swapped and counted: the few other calls of the
in-place prox (``model.prox_``: the opening projection of each relaxed fit, the backward
elimination at the sparse end) run the default implementation in every variant.

Usage::

    .venv/bin/python benchmarks/prox_speed.py                        # all datasets, 3 rounds
    .venv/bin/python benchmarks/prox_speed.py --datasets digits --rounds 5
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare_reference as cr  # noqa: E402  (the same datasets, splits and backbone)
from _run_header import print_run_header  # noqa: E402

from lassonet_cli import LassoNetSelector, prox  # noqa: E402
from lassonet_cli import model as model_module  # noqa: E402


def _each_call(implementation):
    """The factory of per-step prox functions (``hier_prox_features_step``'s signature) that
    calls ``implementation`` with the fixed arguments at every step."""
    return lambda theta, W, lam, M, keep=None: functools.partial(
        implementation, theta, W, lam, M, keep)


# factories with the signature of ``prox.hier_prox_features_step``: what a fit calls per step
IMPLEMENTATIONS = {
    "compiled": prox._CompiledStep,
    "torch": _each_call(prox._hier_prox_features_torch),
}


class TimedProx:
    """Stands in for ``hier_prox_features_step`` in the model module: the per-step functions
    it returns time every call and keep a copy of the inputs of every ``SAMPLE_EVERY``-th call
    (for ``replay``)."""

    def __init__(self, factory):
        self.factory, self.calls, self.seconds = factory, 0, 0.0
        self.samples: list[tuple] = []

    def __call__(self, theta, W, lam, M, keep=None):
        step = self.factory(theta, W, lam, M, keep)

        def timed() -> torch.Tensor:
            if self.calls % SAMPLE_EVERY == 0:
                self.samples.append(tuple(
                    a.detach().clone() if isinstance(a, torch.Tensor) else a
                    for a in (theta, W, lam, M, keep)))
            start = time.perf_counter()
            result = step()
            self.seconds += time.perf_counter() - start
            self.calls += 1
            return result

        return timed


SAMPLE_EVERY = 10


def replay(samples: list[tuple], factory, repeats: int = 5) -> float:
    """Mean seconds of one call on the sampled inputs, replayed back to back (the median of
    ``repeats`` calls on fresh copies of each input, each prepared before the clock starts):
    the prox without the training step around it, whose operations evict the prox's code and
    data from the caches."""
    if not samples:
        return float("nan")
    times = []
    for theta, W, lam, M, keep in samples:
        runs = []
        for _ in range(repeats):
            t, w = theta.clone(), None if W is None else W.clone()
            step = factory(t, w, lam, M, keep)
            start = time.perf_counter()
            step()
            runs.append(time.perf_counter() - start)
        times.append(statistics.median(runs))
    return statistics.fmean(times)


def fit_once(split: cr.Split, name: str) -> dict:
    timed = TimedProx(IMPLEMENTATIONS[name])
    original = model_module.hier_prox_features_step
    model_module.hier_prox_features_step = timed
    try:
        selector = LassoNetSelector(task=split.task, backbone=cr.BACKBONE, seed=0, cv=0)
        start = time.perf_counter()
        selector.fit(split.train_raw, split.y_train)
        wall = time.perf_counter() - start
    finally:
        model_module.hier_prox_features_step = original
    return {"wall": wall, "calls": timed.calls, "prox_s": timed.seconds,
            "points": len(selector.path_.points),
            "replay_s": replay(timed.samples, IMPLEMENTATIONS[name])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(cr.DATASETS),
                        default=list(cr.DATASETS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print_run_header()
    print()
    if prox._compiled is None:
        raise SystemExit("the compiled HIER-PROX kernel is not built (pip install -e .)")
    print(f"{'dataset':15s} {'prox':8s} {'wall_s':>7s} {'points':>6s} {'calls':>6s} "
          f"{'prox_ms':>8s} {'prox_share':>10s} {'replay_ms':>9s}")
    for dataset in args.datasets:
        spec = cr.DATASETS[dataset]
        X, y = cr.load_dataset(spec)
        split = cr.make_split(spec, X, y, 0)
        runs: dict[str, list[dict]] = {name: [] for name in IMPLEMENTATIONS}
        for _ in range(args.rounds):
            for name in IMPLEMENTATIONS:
                runs[name].append(fit_once(split, name))
        medians = {}
        for name, rs in runs.items():
            wall = statistics.median(r["wall"] for r in rs)
            calls = statistics.median(r["calls"] for r in rs)
            points = statistics.median(r["points"] for r in rs)
            per_call = sum(r["prox_s"] for r in rs) / sum(r["calls"] for r in rs)
            share = statistics.median(r["prox_s"] / r["wall"] for r in rs)
            replayed = statistics.median(r["replay_s"] for r in rs)
            medians[name] = (wall, per_call)
            print(f"{dataset:15s} {name:8s} {wall:7.2f} {points:6.0f} {calls:6.0f} "
                  f"{per_call * 1e3:8.3f} {share:10.2f} {replayed * 1e3:9.3f}", flush=True)
        for slower in ("torch",):
            print(f"{dataset:15s} {slower}/compiled: wall "
                  f"{medians[slower][0] / medians['compiled'][0]:.2f}x, one prox "
                  f"{medians[slower][1] / medians['compiled'][1]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
