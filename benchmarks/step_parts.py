"""What one training step and its companions cost, timed apart, on one table.

``overhead.py`` times whole paths; this times the pieces of one path epoch in isolation, on
the network and training batch of ``compare_reference.py`` (seed 0 split, 90% of the training
rows as the selector uses them, the rest as validation rows), or of one of ``wide.py``'s real
tables.  With ``--alive 0.1`` the bare steps read only a tenth of the columns, as a path's steps
do once most columns are out:

* ``step sgd kernel`` / ``step sgd functional`` / ``step sgd foreach``: forward, loss,
  backward and our heavy-ball update, by calling torch's fused kernel directly (as the path
  runs where ``optim``'s probe allows), through the public ``torch.optim.sgd.sgd`` with the
  fused kernel (the fallback), and through its unfused foreach form;
* ``step adam kernel`` / ``step adam functional`` / ``step adam foreach``: the same with our
  Adam (the dense phase and the relaxed fits);
* ``step + prox``: the fused SGD step followed by HIER-PROX (``--prox``: the compiled kernel,
  the CPU default, or torch where the kernel is not built);
* ``step + prox + validation``: and a validation pass, as a monitored path epoch does;
* ``validation``: the validation pass alone;
* ``step with validation rows``: the validation rows appended to the training batch, so one
  forward serves both (the loss and gradient over the training rows only);
* ``prox in sequence`` / ``prox replayed``: HIER-PROX timed inside a run of steps, and the same
  calls' inputs (copied before each call) replayed once each, back to back.

Each figure is the median over rounds of the mean over repeats, the rounds alternating
between the variants.  Usage::

    .venv/bin/python benchmarks/step_parts.py                      # breast_cancer
    .venv/bin/python benchmarks/step_parts.py --dataset madelon --prox torch
    .venv/bin/python benchmarks/step_parts.py --dataset prostate_ge --alive 0.1 --threads 1
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
import wide  # noqa: E402  (its real tables)
from _run_header import print_run_header  # noqa: E402

from lassonet_cli import prox  # noqa: E402
from lassonet_cli.backbones import BackboneSpec  # noqa: E402
from lassonet_cli.model import LassoNet  # noqa: E402
from lassonet_cli.optim import Adam, HeavyBall  # noqa: E402
from lassonet_cli.tasks import make_task  # noqa: E402

LAM, M = 1e-4, 10.0  # a small step-scaled penalty: columns are clipped as along the path


def build(name: str):
    spec = cr.DATASETS.get(name) or wide.real_table_spec(name)
    split = cr.make_split(spec, *cr.load_dataset(spec), 0)
    task = make_task(split.task).fit(split.y_train)
    n_fit = int(round(len(split.Z_train) * 0.9))
    X, X_val = (torch.from_numpy(a) for a in (split.Z_train[:n_fit], split.Z_train[n_fit:]))
    y, y_val = task.encode(split.y_train[:n_fit]), task.encode(split.y_train[n_fit:])
    torch.manual_seed(0)
    d, c = X.shape[1], task.n_outputs
    model = LassoNet(d, c, BackboneSpec.parse(cr.BACKBONE).build(d, c))
    model.eval()
    return task, model, X, y, X_val, y_val


def variants(task, model, X, y, X_val, y_val, alive: float = 1.0) -> dict:
    optimisers = {}
    for way in ("kernel", "functional", "foreach"):
        for name, make in (("sgd", lambda: HeavyBall(model.parameters(), lr=1e-3)),
                           ("adam", lambda: Adam(model.parameters(), lr=1e-4))):
            opt = make()
            opt.direct = opt.direct and way == "kernel"
            opt.fused = opt.fused and way != "foreach"
            optimisers[f"{name} {way}"] = opt
    sgd = HeavyBall(model.parameters(), lr=1e-3)  # as the path steps
    both, n = torch.cat([X, X_val]), len(X)

    # the bare steps read only the first share ``alive`` of the columns, as a path's steps do
    # once most columns are out (``LassoNet.alive_columns``)
    columns = torch.arange(max(1, int(alive * X.shape[1]))) if alive < 1 else None
    X_step = X if columns is None else X[:, columns].contiguous()

    def step(opt) -> None:
        opt.zero_grad()
        task.loss(model(X_step, columns), y).backward()
        opt.step()

    def validation() -> torch.Tensor:
        with torch.no_grad():
            return task.loss(model(X_val), y_val)

    prox_step = model.prox_step(LAM, M)  # as a path fit calls it

    def step_prox() -> None:
        step(sgd)
        prox_step()

    def step_prox_validation() -> None:
        step_prox()
        validation()

    def step_with_validation_rows() -> None:
        sgd.zero_grad()
        out = model(both)
        task.loss(out[:n], y).backward()
        sgd.step()
        with torch.no_grad():
            task.loss(out[n:], y_val)

    timed = {f"step {name}": (lambda o=opt: step(o)) for name, opt in optimisers.items()}
    timed.update({"step + prox": step_prox, "step + prox + validation": step_prox_validation,
                  "validation": validation, "step with validation rows": step_with_validation_rows})
    return timed


def prox_in_sequence_and_replayed(task, model, X, y, calls: int) -> tuple[float, float]:
    """Mean seconds of one prox call between steps, and of the same calls replayed."""
    opt = HeavyBall(model.parameters(), lr=1e-3)
    theta, W = model.skip.weight, model.backbone.input_layer.weight
    prox_step = model.prox_step(LAM, M)
    inline, saved = [], []
    for _ in range(calls):
        opt.zero_grad()
        task.loss(model(X), y).backward()
        opt.step()
        saved.append((theta.detach().clone(), W.detach().clone()))
        start = time.perf_counter()
        prox_step()
        inline.append(time.perf_counter() - start)
    replayed = []
    with torch.no_grad():
        for t, w in saved:
            theta.copy_(t)
            W.copy_(w)
            start = time.perf_counter()
            prox_step()
            replayed.append(time.perf_counter() - start)
    return statistics.median(inline), statistics.median(replayed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(cr.DATASETS) + sorted(wide.REAL_TABLES),
                        default="breast_cancer")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--alive", type=float, default=1.0,
                        help="the bare steps read only this share of the columns (default 1)")
    parser.add_argument("--prox", choices=["compiled", "torch"], default="compiled",
                        help="the CPU implementation of HIER-PROX to time (default: compiled)")
    args = parser.parse_args(argv)
    if not 0 < args.alive <= 1:
        parser.error(f"--alive must be a share in (0, 1], got {args.alive:g}")
    if args.prox == "compiled" and prox._compiled is None:
        raise SystemExit("the compiled HIER-PROX kernel is not built (pip install -e .)")
    # the kernel switch and the thread count are the process's: given back after the run, so
    # that calling main in a process (the smoke tests) changes nothing for what runs next
    kernel, threads = prox._compiled, torch.get_num_threads()
    try:
        if args.prox == "torch":
            prox._compiled = None  # as where the kernel is not built
        torch.set_num_threads(args.threads)
        return _run(args)
    finally:
        prox._compiled = kernel
        torch.set_num_threads(threads)


def _run(args: argparse.Namespace) -> int:
    print_run_header()
    alive = "" if args.alive >= 1 else f", bare steps on {args.alive:g} of the columns"
    print(f"dataset: {args.dataset}, HIER-PROX {args.prox}, {args.rounds} rounds x "
          f"{args.repeats} repeats{alive}\n")
    parts = build(args.dataset)
    timed = variants(*parts, alive=args.alive)
    seconds: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(args.rounds):
        for name, run in timed.items():
            for _ in range(args.repeats // 5):  # warm-up
                run()
            start = time.perf_counter()
            for _ in range(args.repeats):
                run()
            seconds[name].append((time.perf_counter() - start) / args.repeats)
    for name, values in seconds.items():
        print(f"{name:28s} {statistics.median(values) * 1e3:7.3f} ms")
    inline, replayed = prox_in_sequence_and_replayed(*parts[:4], calls=args.rounds * 100)
    print(f"{'prox in sequence':28s} {inline * 1e3:7.3f} ms  (median of single calls)")
    print(f"{'prox replayed':28s} {replayed * 1e3:7.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
