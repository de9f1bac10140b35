"""Module-level run functions for tests/test_runs.py: a run sent to another process must be
importable there by name."""

from __future__ import annotations

import multiprocessing
import os
import time

import torch

from lassonet_cli.errors import DataError


def draw(shared: dict, task: int) -> tuple[float, int]:
    """A seeded draw from torch's global generator, plus the thread count the run had."""
    torch.manual_seed(shared["seed"] + task)
    return float(torch.randn(1000, dtype=torch.float64).sum()), torch.get_num_threads()


def draw_where(shared: dict, task: int) -> tuple[float, int, bool]:
    """``draw``, and whether a worker process ran it."""
    return (*draw(shared, task), in_a_worker())


def draw_once_a_worker_has(shared: dict, task: int) -> tuple[float, int, bool]:
    """``draw_where``; in the caller's process only once a worker has done a run (its
    marker file), so that both sides do some of the runs."""
    if in_a_worker():
        open(shared["marker"], "a").close()
    else:
        deadline = time.monotonic() + 120
        while not os.path.exists(shared["marker"]) and time.monotonic() < deadline:
            time.sleep(0.05)
    return draw_where(shared, task)


def in_a_worker() -> bool:
    """Whether this is a process started by multiprocessing (a pool's or Dask's worker)."""
    return multiprocessing.parent_process() is not None


def _first(marker: str) -> bool:
    """Whether this call creates ``marker``: true once, whichever process asks first (two
    workers that start together must not both die)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def dies_once(shared: dict, task: int) -> tuple[float, int]:
    """In a worker process, the first call of all ends its process (a marker file remembers);
    in the caller's process (which runs some of the runs itself) it takes its time, so that
    the workers get runs too."""
    if in_a_worker() and _first(shared["marker"]):
        os._exit(1)
    if not in_a_worker():
        time.sleep(2)
    return draw(shared, task)


def always_dies(shared: dict, task: int) -> None:
    """Ends any worker process that runs it; slow in the caller's process."""
    if in_a_worker():
        os._exit(1)
    time.sleep(2)


def bad_input(shared: dict, task: int) -> None:
    if task == 1:
        raise DataError(lambda s: f"run {task} found bad data: see {s('val_fraction')}")


def crashes(shared: dict, task: int) -> None:
    raise ZeroDivisionError("division by zero in a run")


def nested(jobs: int | None) -> list:
    """The draws of ``Runner(jobs).map``, called where this runs (a pool's worker)."""
    from lassonet_cli.runs import Runner

    return Runner(jobs=jobs).map(draw, {"seed": 0}, list(range(6)),
                                 [f"run {i}" for i in range(6)])
