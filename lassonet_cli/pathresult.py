"""The trained path as a value, and pure functions of it.

A :class:`Path` holds its points in order of increasing lambda, the first one dense; a
:class:`PathPoint` says its lambda, the units still in, its losses and scores and the units that
left there.  The units' ranking, the lambda at which each leaves, the chosen point (best, 1-SE, at
most k units) and the path table (SPEC 3.2) are functions of a path alone: nothing here trains.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .columns import join_names
from .errors import ConfigError


@dataclass
class PathPoint:
    """One point of the path.

    Attributes
    ----------
    lambda_ : float
        Penalty of this point (0 for the dense model).
    k : int
        Units (features or groups) with a nonzero skip weight at the end of training.
    train_loss : float
        Mean training loss on the last epoch of the penalised fit.
    val_loss, val_score : float
        Loss and score on the validation rows of the point's model: the relaxed model when
        ``PathConfig.relax`` (see ``relax.Relaxer``), else the penalised one.
    epochs : int
        Epochs of the penalised fit at this point.
    relax_epochs : int
        Epochs of the relaxed fit made at this point (0 when the point reuses the relaxed
        model of an earlier point with the same features).
    eliminated : tuple of int
        Units alive at the previous point and out at this one.
    norms : (n_units,) ndarray
        ||theta_unit||_2 at the end of this point (0 = out).
    """

    lambda_: float
    k: int
    train_loss: float
    val_loss: float
    val_score: float
    epochs: int
    eliminated: tuple[int, ...]
    norms: np.ndarray = field(repr=False)
    val_score_se: float | None = None
    relax_epochs: int = 0

    @property
    def active(self) -> np.ndarray:
        return self.norms > 0


@dataclass
class Path:
    """A trained path: its points in order of increasing lambda, the first one dense."""

    unit_names: list[str]
    points: list[PathPoint]
    score_name: str
    lambda_start: float
    search_epochs: int = 0


def _last_alive(path: Path) -> np.ndarray:
    """(n_units,) index of the last point where each unit is alive (-1: never)."""
    alive = np.stack([p.active for p in path.points])  # (P, n)
    n_points = len(path.points)
    ever = alive.any(axis=0)
    return np.where(ever, n_points - 1 - np.argmax(alive[::-1], axis=0), -1)


def elimination_lambdas(path: Path) -> np.ndarray:
    """(n_units,) lambda at which each unit leaves the model for good (its importance).

    A unit that leaves and comes back is credited with its last exit: the lambda of the point
    after the last point where it is alive.  Units alive at the end of a truncated path get
    ``inf``.
    """
    lambdas = np.array([p.lambda_ for p in path.points] + [np.inf])
    return lambdas[_last_alive(path) + 1]


def ranking(path: Path) -> list[int]:
    """Unit indices, most important first.

    Order: later elimination first (a larger lambda, or at the same lambda a later point:
    units leaving together are split into points in order, see ``exits.ExitGroup``);
    ties broken by the unit's ||theta|| just before it left (larger first), then by name.
    """
    lambdas = elimination_lambdas(path)
    exit_point = _last_alive(path)
    n = len(path.unit_names)
    last_norm = np.zeros(n)
    for point in path.points:
        alive = point.active
        last_norm[alive] = point.norms[alive]
    return sorted(range(n), key=lambda j: (-lambdas[j], -exit_point[j], -last_norm[j],
                                           path.unit_names[j]))


def choose_point(path: Path, rule: str = "best", k: int | None = None) -> int:
    """Index of the chosen path point.

    ``k``: only points with the most units among those with at most ``k`` are candidates.
    ``rule='best'``: the candidate with the best validation score.  ``rule='1se'`` (needs
    ``val_score_se``, from cross-validation): glmnet's rule, the sparsest candidate whose mean
    score is within one standard error of the best mean.  Remaining ties go to the sparser, then
    the later point.  Raises ConfigError when no point has at most ``k`` units.
    """
    if rule not in ("best", "1se"):
        raise ConfigError(f"unknown rule {rule!r}: use best or 1se")
    points = path.points
    candidates = list(range(len(points)))
    if k is not None:
        candidates = [i for i in candidates if points[i].k <= k]
        if not candidates:
            raise ConfigError(f"no path point has at most {k} features")
        top = max(points[i].k for i in candidates)
        candidates = [i for i in candidates if points[i].k == top]
    best = max(candidates, key=lambda i: (points[i].val_score, -points[i].k, i))
    if rule == "best":
        return best
    if points[best].val_score_se is None:
        raise ConfigError(lambda s: f"the 1se rule needs cross-validation: add {s('cv', 'K')}")
    threshold = points[best].val_score - points[best].val_score_se
    within = [i for i in candidates if points[i].val_score >= threshold]
    return max(within, key=lambda i: (-points[i].k, i))


def path_records(path: Path) -> list[dict]:
    """The path table (SPEC 3.2): one record per point."""
    names = path.unit_names
    return [
        {
            "lambda": p.lambda_,
            "k": p.k,
            "train_loss": p.train_loss,
            "val_loss": p.val_loss,
            "val_score": p.val_score,
            **({"val_score_se": p.val_score_se} if p.val_score_se is not None else {}),
            "epochs": p.epochs,
            "relax_epochs": p.relax_epochs,
            "eliminated": join_names(names[j] for j in p.eliminated),
        }
        for p in path.points
    ]
