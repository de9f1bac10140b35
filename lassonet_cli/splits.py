"""Splitting rows: a held-out part (validation, test) and cross-validation folds.

Both shuffle the rows the same way (``_shuffled``): stratified, the rows of each class apart,
so that every class is dealt to every part in proportion.  They remain two splitters, because
they cut the shuffled rows differently: ``split_rows`` takes a share of each class, at least
one row of any class of two or more; ``fold_rows`` deals the rows out in turn.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ConfigError, DataError


def split_task_rows(
    task, target: np.ndarray, fraction: float, rng: np.random.Generator, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """``split_rows`` of a task's raw target, stratified by ``task.strata`` (classes for
    classification, the event indicator for cox, none otherwise)."""
    strata = task.strata(target)
    return split_rows(target if strata is None else strata, fraction, strata is not None, rng,
                      what)


class TooFewRows(DataError):
    """A split that leaves a side too few rows (``split_rows``), or held-out rows on which
    the task's score is undefined (``check_scorable``; ``finding`` then says that without
    the remedy, for callers whose remedy differs)."""

    finding = None
    which = None  # (``check_scorable``: the rows named, e.g. 'validation'; and their remedy)
    remedy = None


def check_scorable(task, y: np.ndarray, rows: np.ndarray, which: str, remedy) -> None:
    """Raise ``TooFewRows`` when ``task``'s score is undefined on the held-out ``rows`` of
    the raw target ``y`` (``task.unscorable``): a score there would be a constant that chose
    or ranked nothing.  ``which`` names the rows ('validation', 'test', 'cv fold 2/5's
    held-out'); ``remedy(s)`` says what to change."""
    reason = task.unscorable(y[rows])
    if reason is not None:
        error = TooFewRows(lambda s: f"the {len(rows)} {which} row(s) {reason}: {remedy(s)}")
        error.finding = f"the {len(rows)} {which} row(s) {reason}"
        error.which, error.remedy = which, remedy
        raise error


def split_rows(
    y: np.ndarray, fraction: float, stratify: bool, rng: np.random.Generator, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out) with ``fraction`` of the rows held out, stratified by class.

    Stratified: every class with at least two rows contributes to both parts, in proportion.
    ``what`` names the fraction in messages: a parameter name ('val_fraction', which the
    command line spells --val-fraction) or a flag as it is ('--test-fraction').
    """
    n = len(y)

    def name(s) -> str:
        return what if what.startswith("-") else s(what)

    if not 0 < fraction < 1:
        raise DataError(lambda s: f"{name(s)} must be between 0 and 1 (exclusive), got "
                                  f"{fraction}")
    check_split_size(n, fraction, what)
    n_out = int(round(n * fraction))
    shuffled = _shuffled(y, stratify, rng)
    if not stratify:
        (order,) = shuffled
        return np.sort(order[n_out:]), np.sort(order[:n_out])
    held: list[np.ndarray] = []
    for members in shuffled:
        take = int(round(len(members) * fraction))
        if len(members) >= 2:
            take = min(max(take, 1), len(members) - 1)
        else:
            take = 0
        held.append(members[:take])
    out = np.sort(np.concatenate(held))
    if len(out) == 0:
        raise DataError(lambda s: f"too few rows per class to hold out {name(s)} {fraction}: "
                                  "a class needs at least 2 rows to appear on both sides of the "
                                  "split")
    keep = np.setdiff1d(np.arange(n), out)
    return keep, out


def check_split_size(n: int, fraction: float, what: str) -> None:
    """``TooFewRows`` unless holding out ``fraction`` of ``n`` rows holds out at least one
    and keeps at least two (``what`` as ``split_rows`` takes it)."""
    n_out = int(round(n * fraction))
    if n_out < 1 or n - n_out < 2:
        need = _rows_needed(n, fraction)
        raise TooFewRows(lambda s: f"{n} row(s) are too few for "
                                   f"{what if what.startswith('-') else s(what)} {fraction}: "
                                   f"need at least {need} rows")


def _rows_needed(n: int, fraction: float) -> int:
    """The fewest rows, above ``n``, that hold out at least one and keep at least two."""
    # (rounded) about 0.5 / fraction rows hold one out, 1.5 / (1 - fraction) keep two
    estimate = max(0.5 / fraction, 1.5 / (1 - fraction))
    start = max(n + 1, int(estimate) - 3)
    for m in range(start, start + 10_000):
        if round(m * fraction) >= 1 and m - round(m * fraction) >= 2:
            return m
    return int(math.ceil(estimate))


def fold_rows(y: np.ndarray, k: int, stratify: bool, seed: int) -> list[np.ndarray]:
    """k disjoint held-out index sets covering every row (stratified: classes dealt evenly).

    The rows are shuffled by a generator of their own, ``default_rng([seed, 2])``, and dealt
    out in turn: fold f holds the f-th, (f + k)-th, ... of them, so fold sizes differ by at
    most one, within each class too.
    """
    rng = np.random.default_rng([seed, 2])
    if len(y) < k:
        raise ConfigError(lambda s: f"{s('cv', str(k))} needs at least {k} rows, the data have "
                          f"{len(y)}")
    order = np.concatenate(_shuffled(y, stratify, rng))
    return [np.sort(order[f::k]) for f in range(k)]


def _shuffled(y: np.ndarray, stratify: bool, rng: np.random.Generator) -> list[np.ndarray]:
    """The row indices of ``y`` shuffled by ``rng``: all rows as one array, or stratified one
    array per class, in sorted class order (the order ``rng`` is drawn in)."""
    if not stratify:
        return [rng.permutation(len(y))]
    _, codes = np.unique(y, return_inverse=True)
    return [rng.permutation(np.flatnonzero(codes == c)) for c in range(codes.max() + 1)]


def half_samples(y: np.ndarray, stratify: bool, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Two complementary halves of the rows (sorted indices; with an odd count the first has
    one more), the shuffled rows dealt out in turn, so that each class is split evenly."""
    order = np.concatenate(_shuffled(y, stratify, rng))
    return np.sort(order[0::2]), np.sort(order[1::2])
