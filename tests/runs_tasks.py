"""Module-level run functions for tests/test_runs.py: a run sent to another process must be
importable there by name."""

from __future__ import annotations

import os

import torch

from lassonet_cli.errors import DataError


def draw(shared: dict, task: int) -> tuple[float, int]:
    """A seeded draw from torch's global generator, plus the thread count the run had."""
    torch.manual_seed(shared["seed"] + task)
    return float(torch.randn(1000, dtype=torch.float64).sum()), torch.get_num_threads()


def dies_once(shared: dict, task: int) -> tuple[float, int]:
    """Ends its process on its first call for task 2 (a marker file remembers), else draws."""
    marker = shared["marker"]
    if task == 2 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return draw(shared, task)


def always_dies(shared: dict, task: int) -> None:
    os._exit(1)


def bad_input(shared: dict, task: int) -> None:
    if task == 1:
        raise DataError(lambda s: f"run {task} found bad data: see {s('val_fraction')}")


def crashes(shared: dict, task: int) -> None:
    raise ZeroDivisionError("division by zero in a run")
