"""Where units leave the path: how many may leave at one point, settling, and their order.

A point where more than ``EXIT_SHARE`` of the units (at least one) would leave is retried with a
finer step (``allowed_exits``).  While more than ``SPLIT_BELOW`` units are in, a full-batch point
where units left trains on at its lambda until its units stop changing (``settle``, as many
rounds as ``settle_rounds`` says).  Below, units that leave at one point, or within one path step
of each other, are ordered by backward elimination on the model before they left
(``ExitGroup``, ``backward_order``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from . import defaults
from .model import LassoNet
from .pathconfig import PathConfig
from .pathresult import PathPoint
from .training import Stepper, Trainer, copy_into

EXIT_SHARE = 0.05
MAX_REFINE = 16
SPLIT_BELOW = 100
EXIT_WINDOW_STEPS = 2  # path steps an exit group reaches past its last exit (where d <= n)


def allowed_exits(alive: int) -> int:
    """Most units one path point may eliminate before the step is refined (``MAX_REFINE``).

    Units leaving at the same point get no lambdas of their own (below ``SPLIT_BELOW`` they
    are only ordered by backward elimination, ``backward_order``), so where many units leave
    together the lambda step is made finer (square root of the factor, at most
    log2(MAX_REFINE) times) and the path itself separates them.
    """
    return max(1, int(EXIT_SHARE * alive))


def settle_rounds(config: PathConfig, n_units: int, n_rows: int) -> int:
    """Rounds of ``max_epochs`` more at a point where units left (``settle``):
    ``config.settle_rounds``, or by default ``defaults.SETTLE_ROUNDS`` on a full-batch path
    with fewer units than training rows and none otherwise.

    On ISOLET (1,560 x 617) two rounds raised the top-10 refit over random columns from +0.12
    to +0.15 (mean of three splits).  A minibatch epoch is already hundreds of steps.  On a
    wide table the exits before the model stops interpolating its rows are its collapse to at
    most as many units as rows, and settling them lowered the refits on three of four wide
    tables (benchmarks/settle_wide.py; benchmarks/RESULTS.md, "Settling the points where
    columns leave").
    """
    if config.settle_rounds is not None:
        return config.settle_rounds
    if config.minibatches(n_rows) or n_units > n_rows:
        return 0
    return defaults.SETTLE_ROUNDS


def exit_window(config: PathConfig, n_units: int, n_rows: int,
                task: str) -> tuple[float, bool]:
    """(window, chained) of the exit groups (``ExitGroup``): how far in lambda a group reaches
    past its first exit (``chained``: past its last one).  ``config.exit_window`` when given
    (not chained); by default, for classification and regression on a table with at most as
    many units as training rows, two path steps, chained; else one step from the first exit
    (Cox and reconstruction keep it until their own benchmarks decide, as with ``settle``).

    On the toy regression (split 2 of ``compare_reference.py``, on one CPU) the last exits
    came at lambda 19.68 (x2), 20.66 (x3), 20.73 (x4, x5) and 22.85 (x1) as the penalised
    model collapsed; a window of one step from the first exit ordered x3 with x2 alone, and
    ranked it fourth of five.  Two chained steps order all five together on the last model
    before them: the toy's top-3 refit R^2 rose from 0.545 to 0.691 (mean of three splits),
    compare_rankers moved by -0.005 to +0.008 elsewhere, and on four wide tables the same
    window lowered the refits (glioma by 0.024), so wide tables keep one step
    (benchmarks/RESULTS.md, "Exit groups by regime").
    """
    if config.exit_window is not None:
        return config.exit_window, False
    if n_units <= n_rows and task in defaults.SETTLED_TASKS:
        return config.path_multiplier ** EXIT_WINDOW_STEPS, True
    return config.path_multiplier, False


def settle(stepper: Stepper, trainer: Trainer, point: PathPoint, keep: torch.Tensor | None,
           was_active: np.ndarray, rounds: int, score: bool) -> PathPoint:
    """Train on at ``point``'s lambda, ``max_epochs`` at a time, while its units change.

    A full-batch point is a few optimiser steps, so where units leave the rest of the model
    has not yet adapted to their loss when the path moves on, and the units leaving later are
    chosen by a transient; at most ``rounds`` more rounds let it adapt, and a round that
    changes no unit ends them.  The point's epochs include them.  The path settles only while
    more than ``SPLIT_BELOW`` units are in: below, units leaving within one path step are
    ordered together by backward elimination on the model before them (``ExitGroup``), and
    settling, which moves exits apart, lowered the toy table's top-3 refit R^2 from 0.78 to
    0.61 (mean of three splits, benchmarks/compare_reference.py).
    """
    lam, epochs = point.lambda_, point.epochs
    for _ in range(rounds):
        fit = stepper.fit(lam, keep, score=score)
        epochs += fit[0]
        settled = trainer.point(lam, (epochs, *fit[1:]), was_active)
        if settled.k == point.k:
            return settled
        point = settled
    return point


@dataclass
class ExitGroup:
    """Path points whose exits are ordered together, by backward elimination.

    Near the sparse end (at most ``SPLIT_BELOW`` units alive) the last units often leave within
    a few percent of lambda: a few epochs at a slightly larger penalty empty the model, and which
    unit goes first is decided by the step's transient, not by what the units do (on the toy
    regression, x3 left 2.5% of lambda before x1, x4 and x5 in one of three splits, and refit
    alone it explains half of y, the others almost nothing).  So the exits of all points whose
    lambda lies within a window (``exit_window``: two path steps of the last exit before it on
    a table with at most as many units as rows, one step of the first exit on a wider one) are
    taken as leaving together: they are ordered by ``backward_order``
    on the model before the first of them left (``before``'s relaxed model; the penalised
    weights before the first point's fit when nothing has been relaxed yet), and the points are
    rebuilt with the units leaving in that order (``reordered``).  The penalised path itself is
    not changed.  Without relaxing, only the exits of a single point are grouped (its model is
    delivered at once), and so with a conv backbone (``defaults.exit_window``).
    """

    before: PathPoint  # the last point before the group
    model: LassoNet  # the model the exits are ordered on
    window_end: float  # points with a lambda up to this join the group
    points: list[PathPoint] = field(default_factory=list)
    relax_start: dict | None = None  # penalised weights to start the relaxed chain from

    def units(self) -> list[int]:
        """The units that left, in the path's order."""
        return [unit for point in self.points for unit in point.eliminated]

    def reordered(self, order: list[int]) -> list[PathPoint]:
        """The group's points with the units leaving in ``order`` (weakest first), one point per
        unit: a point that eliminated several units becomes as many points (the extra ones share
        its lambda and losses and train no path epochs); the sequence of k is the path's.  A unit
        still alive where the penalised path had already dropped it keeps its norm from
        ``before``."""
        alive = self.before.active.copy()
        order_left = iter(order)
        steps = []
        for point in self.points:
            leaving = [next(order_left) for _ in point.eliminated]
            for i, unit in enumerate(leaving):
                alive[unit] = False
                extra = {} if i == len(leaving) - 1 else {"epochs": 0, "relax_epochs": 0}
                steps.append(dataclasses.replace(
                    point, k=int(alive.sum()), eliminated=(unit,),
                    norms=self._norms(point, alive), **extra))
            if not leaving:
                steps.append(dataclasses.replace(point, norms=self._norms(point, alive)))
        return steps

    def _norms(self, point: PathPoint, alive: np.ndarray) -> np.ndarray:
        kept = np.where(point.norms > 0, point.norms, self.before.norms)
        return np.where(alive, kept, 0.0)


def backward_order(
    model: LassoNet, task, X: torch.Tensor, y: torch.Tensor, M: float,
    alive: np.ndarray, units: tuple[int, ...], names: list[str],
) -> list[int]:
    """Units that left the path together, weakest first, by backward elimination.

    ``model`` holds every unit alive before they left (``alive``).  Repeatedly, the unit whose
    removal (its skip and first-layer weights zeroed, nothing retrained) raises the training
    loss on ``X`` least is taken out, until one is left: the last one standing is the unit
    that does most on its own next to the units that stay.  A feature that acts only together
    with another (x4 in x4 * x5) goes as soon as its partner has gone, while a linear
    first-order threshold at the emptied model could rank it first.  Costs
    len(units)^2 / 2 forward passes; ties go to the name (later name out first).  ``model``
    is left as it came.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    original = [p.detach().clone() for p in params]
    keep_units = alive.copy()
    columns = model.alive_columns(model.feature_mask(torch.as_tensor(keep_units,
                                                                      device=X.device)))
    Xc = X if columns is None else X[:, columns]
    remaining = sorted(units, key=lambda j: names[j], reverse=True)
    order: list[int] = []
    model.eval()
    with torch.no_grad():
        while len(remaining) > 1:
            current = [p.detach().clone() for p in params]
            losses = []
            for unit in remaining:
                keep_units[unit] = False
                model.prox_(0.0, M, model.feature_mask(torch.as_tensor(keep_units,
                                                                       device=X.device)))
                losses.append(task.loss(model(Xc, columns), y))
                keep_units[unit] = True
                copy_into(params, current)
            weakest = remaining.pop(int(np.argmin(torch.stack(losses).cpu().numpy())))
            order.append(weakest)
            keep_units[weakest] = False
            model.prox_(0.0, M, model.feature_mask(torch.as_tensor(keep_units, device=X.device)))
        copy_into(params, original)
    return order + remaining
