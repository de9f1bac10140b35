"""Splitting rows into a kept and a held-out part (validation, test), stratified by class."""

from __future__ import annotations

import numpy as np

from .errors import DataError


def split_task_rows(
    task, target: np.ndarray, fraction: float, rng: np.random.Generator, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """``split_rows`` of a task's raw target, stratified by ``task.strata`` (classes for
    classification, the event indicator for cox, none otherwise)."""
    strata = task.strata(target)
    return split_rows(target if strata is None else strata, fraction, strata is not None, rng,
                      what)


def split_rows(
    y: np.ndarray, fraction: float, stratify: bool, rng: np.random.Generator, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out) with ``fraction`` of the rows held out, stratified by class.

    Stratified: every class with at least two rows contributes to both parts, in proportion.
    """
    n = len(y)
    if not 0 < fraction < 1:
        raise DataError(f"{what} must be between 0 and 1 (exclusive), got {fraction}")
    n_out = int(round(n * fraction))
    if n_out < 1 or n - n_out < 2:
        need = next(m for m in range(n + 1, n + 10_000)
                    if round(m * fraction) >= 1 and m - round(m * fraction) >= 2)
        raise DataError(
            f"{n} row(s) are too few for {what} {fraction}: need at least {need} rows"
        )
    if not stratify:
        order = rng.permutation(n)
        return np.sort(order[n_out:]), np.sort(order[:n_out])
    held: list[np.ndarray] = []
    _, codes = np.unique(y, return_inverse=True)
    for c in range(codes.max() + 1):
        members = rng.permutation(np.flatnonzero(codes == c))
        take = int(round(len(members) * fraction))
        if len(members) >= 2:
            take = min(max(take, 1), len(members) - 1)
        else:
            take = 0
        held.append(members[:take])
    out = np.sort(np.concatenate(held))
    if len(out) == 0:
        raise DataError(f"too few rows per class to hold out {what} {fraction}: a class "
                        "needs at least 2 rows to appear on both sides of the split")
    keep = np.setdiff1d(np.arange(n), out)
    return keep, out
