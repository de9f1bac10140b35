"""The LassoNet path: dense training, then a geometric lambda path with warm starts.

``lassonet_path`` trains and returns a ``Path`` (``pathresult``), a plain value (points,
eliminations, scores): ranking, choosing a point and the path table are pure functions of it.
Progress is reported through a callback; nothing here prints.  What it drives lives apart: the
options (``pathconfig``), the training engine (``training``), the start-up estimates (``start``),
where units leave (``exits``) and the relaxed fits (``relax``).

Choosing lambda_start (``lambda_start=None``).  After the dense phase, the smallest penalty at
which some unit would leave with the rest of the model held at the dense solution ((*) in
``start``) is a lower bound on the first exit, so from it lambda is raised by ``START_STEP`` per
short fit (at most ``CLIMB_EPOCHS`` epochs) until a unit leaves; the path then starts at the last
lambda where none had left, from the model as it was there.

Following the path.  Each point trains ``max_epochs`` epochs from the previous point's weights
(default: 5 full-batch epochs, or 1 epoch of minibatches, see ``PathConfig.resolved``); lambda
then grows by ``path_multiplier`` (default 1.05).  While more than ``SPLIT_BELOW`` units are
in, a full-batch point where units left trains on at its lambda until a round of epochs
changes no unit (``exits.settle``; at most ``settle_rounds`` rounds, none on a wide table).
Where more than ``EXIT_SHARE`` of the units (at least one) would leave at one point, the point is
retried from the previous one with the square root of the factor, so the path is fine exactly
where units leave (``exits.allowed_exits``).  Near the sparse end (below ``SPLIT_BELOW``) units
that leave at one point, or within one path step of each other, are ordered by backward
elimination on the model before they left (``exits.backward_order``, ``exits.ExitGroup``) and
get a point each.  Every point's model is then *relaxed*: trained on its own features without
penalty, so its validation score says what those features can do (``relax.Relaxer``).

Step size.  Along the path the optimiser is SGD with momentum at ``lr = 2 / L``
(``start.auto_lr``), and the prox shrinks by ``lr * lam / (1 - momentum)`` so that the
iteration's fixed point solves the penalised problem at ``lam`` (``optim.HeavyBall.prox_scale``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
from collections.abc import Callable

import numpy as np
import torch

from .errors import ConfigError, TrainingError
from .exits import (
    MAX_REFINE,
    SPLIT_BELOW,
    ExitGroup,
    allowed_exits,
    backward_order,
    exit_window,
    settle,
    settle_rounds,
)
from .model import LassoNet, build_model
from .pathconfig import PathConfig
from .pathresult import Path, PathPoint, choose_point
from .relax import Relaxer
from .start import START_ROWS, auto_lambda_start, auto_lr
from .training import Data, Stepper, Trainer, dense_optimizer, state_copy

MAX_POINTS = 5000
START_STEP = 1.25
MAX_CLIMB = 200
CLIMB_EPOCHS = 10


ProgressCallback = Callable[[PathPoint, LassoNet], None]


def lassonet_path(
    model: LassoNet,
    task,
    X: torch.Tensor,
    y: torch.Tensor,
    X_val: torch.Tensor,
    y_val: torch.Tensor,
    unit_names: list[str],
    config: PathConfig,
    generator: torch.Generator,
    on_point: ProgressCallback | None = None,
    lambdas: list[float] | None = None,
    rows: torch.Tensor | None = None,
) -> Path:
    """Train the dense model, then the path until no unit is left.

    A unit eliminated at a point stays out for the rest of the path, so the selections are
    nested and k never increases.

    Parameters
    ----------
    model : LassoNet, freshly initialised, on the device of the data
    task : a task from ``tasks`` (loss, score)
    X : (n, d) float tensor; y : (n,) or (n, 1) encoded target
    X_val, y_val : validation rows, same layout
    unit_names : names of the model's units (features or groups)
    config : PathConfig
    generator : torch.Generator seeding minibatch order
    on_point : called after every point with the point and the model in that state
    lambdas : a fixed grid to follow instead of lambda_start * multiplier^k (used by
        cross-validation); the path stops at its end or when no unit is left
    rows : optional (n_train,) long index: X then holds every row of the table and the
        training rows are ``X[rows]``, taken batch by batch (no copy of a tall table); y holds
        the training rows' targets

    Returns
    -------
    Path
    """
    config.validate()
    config = config.resolved(len(y))
    data = Data(X, y, X_val, y_val, config, generator, rows)
    trainer = Trainer(model, task, data, config)
    points = [trainer.dense(dense_optimizer(config, len(unit_names), len(y)))]
    rounds = settle_rounds(config, len(unit_names), len(y))
    if on_point:
        on_point(points[-1], model)

    X_head, y_head = data.head(START_ROWS)  # the rows the start, step and exit estimates use
    lr = config.lr if config.lr is not None else auto_lr(model, task, X_head, y_head)
    stepper = Stepper(trainer, lr)

    search_epochs = 0
    given_start = None  # a lambda_start given by the user
    grid = iter(lambdas) if lambdas is not None else None
    if grid is not None:
        lam = next(grid, None)
        if lam is None:
            return Path(list(unit_names), points, task.score_name, 0.0)
    elif config.lambda_start is not None:
        lam = config.lambda_start
        given_start = lam
        _check_reachable(lam, auto_lambda_start(model, task, X_head, y_head, config.M),
                         config.path_multiplier)
    else:
        estimate = auto_lambda_start(model, task, X_head, y_head, config.M)
        lam, search_epochs = _climb_to_first_exit(stepper, estimate)
    lambda_start = lam

    relaxer = Relaxer(trainer) if config.relax else None
    delivery = _Delivery(trainer, relaxer, X_head, y_head, unit_names, on_point, points,
                         exit_window(config, len(unit_names), len(y), task.name))
    keep = None  # input features of the units not yet eliminated
    last = points[-1]  # the last point trained (the penalised model's state)
    factor, previous = config.path_multiplier, lam / config.path_multiplier
    discarded = 0  # epochs of refined-away attempts, counted in the next point's epochs
    while last.k > 0 and len(points) + delivery.waiting < MAX_POINTS:
        # a relaxed path delivers each point with its relaxed model's score: the penalised
        # fit's is needed only for the empty model, which is not relaxed
        fit = stepper.fit(lam, keep, score=relaxer is None)
        start = stepper.start  # the state before this point (settling fits again)
        point = trainer.point(lam, fit, last.active)
        if point.eliminated and rounds and last.k > SPLIT_BELOW:
            point = settle(stepper, trainer, point, keep, last.active, rounds,
                           score=relaxer is None)
        if (grid is None and len(point.eliminated) > allowed_exits(last.k)
                and factor > 1 + (config.path_multiplier - 1) / MAX_REFINE):
            # too many units left at once: retry with a finer step from the previous point
            stepper.restore(start)
            discarded += point.epochs
            factor = math.sqrt(factor)
            lam = previous * factor
            continue
        point.epochs += discarded
        discarded = 0
        if given_start is not None and last is points[0] and point.k == 0 and last.k > 1:
            _refuse_start_above_every_exit(given_start)
        if relaxer is not None and point.k == 0:
            point.val_score = trainer.validation_score(keep)
        delivery.add(point, last, start[0], grouped=grid is None and last.k <= SPLIT_BELOW)
        last = point
        keep = model.feature_mask(torch.as_tensor(point.active, device=X.device))
        if grid is None:
            previous, factor = lam, config.path_multiplier
            lam *= factor
        else:
            lam = next(grid, None)
            if lam is None:
                break
        if last.k == 0 or delivery.window <= 1:
            # (otherwise a later point can still join: refining may bring lambda back into the
            # window)
            delivery.order_group()
    delivery.order_group()
    if last.k > 0 and grid is None:
        raise TrainingError(lambda s: f"the path reached {MAX_POINTS} points with {last.k} "
                            f"unit(s) still in: {_endless_path_remedy(s, config, model)}")
    if len(points) > 1:
        lambda_start = points[1].lambda_  # the first point may have been refined
    return Path(list(unit_names), points, task.score_name, lambda_start, search_epochs)


def _check_reachable(lambda_start: float, first_exit: float, multiplier: float) -> None:
    """Refuse a given ``lambda_start`` so far below the first exit (estimated from the dense
    model) that half of ``MAX_POINTS`` steps of ``multiplier`` would not reach it."""
    steps = math.log(first_exit / lambda_start) / math.log(multiplier)
    if steps > MAX_POINTS / 2:
        raise ConfigError(lambda s: f"{s('lambda_start')} {lambda_start:g} lies about "
                          f"{steps:.0f} path steps below the first exit (near lambda "
                          f"{first_exit:.3g}): raise it, or leave it auto")


def _endless_path_remedy(s, config: PathConfig, model: LassoNet) -> str:
    """What shortens a path that did not end within ``MAX_POINTS`` points: a larger step,
    a higher given start, and less dropout (a network whose hidden units are nearly all
    dropped keeps its linear weights alive with noise)."""
    remedies = [f"raise {s('path_multiplier')}"]
    if config.lambda_start is not None:
        remedies.append(f"raise {s('lambda_start')} (or leave it auto)")
    if any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules()):
        remedies.append(f"lower {s('dropout')}")
    return ", ".join(remedies[:-1]) + f" or {remedies[-1]}" if len(remedies) > 1 else remedies[0]


def _refuse_start_above_every_exit(lambda_start: float) -> None:
    """A given ``lambda_start`` at which every unit left at the first point: they would all
    share one importance, their order arbitrary."""
    raise ConfigError(lambda s: f"{s('lambda_start')} {lambda_start:g} removes every feature at "
                      "the path's first point, which leaves them no order: lower it, or leave "
                      "it auto")


class _Delivery:
    """Appends the path's points to ``points`` and hands each to ``on_point`` with its model:
    its relaxed model (``relax.Relaxer``) when the path relaxes, else the penalised one.

    Exits near the sparse end wait in ``group`` until lambda has grown past ``window`` times
    the group's first one, then are ordered together (``exits.ExitGroup``).  Without relaxed
    models each point's (penalised) model is delivered as soon as it is trained, so only one
    point's exits are grouped.
    """

    def __init__(self, trainer: Trainer, relaxer: Relaxer | None, X_head: torch.Tensor,
                 y_head: torch.Tensor, unit_names: list[str],
                 on_point: ProgressCallback | None, points: list[PathPoint],
                 window: tuple[float, bool]):
        self.model, self.task, self.M = trainer.model, trainer.task, trainer.config.M
        self.relaxer, self.on_point, self.points = relaxer, on_point, points
        self.X_head, self.y_head, self.unit_names = X_head, y_head, unit_names  # (exit order)
        # (exits.exit_window; without relaxed models, only one point's exits)
        self.window, self.chained = window if relaxer is not None else (1.0, False)
        self.group: ExitGroup | None = None

    @property
    def waiting(self) -> int:
        """Points held back in the exit group."""
        return len(self.group.points) if self.group is not None else 0

    def add(self, point: PathPoint, last: PathPoint, before: dict, grouped: bool) -> None:
        """Deliver ``point``, trained after ``last`` from the weights ``before``, or hold it
        back in the exit group when ``grouped`` (near the sparse end of a path that is not a
        fixed grid) and units left or a group is open."""
        relaxer = self.relaxer
        if self.group is not None and point.lambda_ > self.group.window_end * (1 + 1e-9):
            self.order_group()
        if grouped and (self.group is not None or point.eliminated):
            if self.group is None:
                # the model as it was before these units left: the last point's relaxed model,
                # or (no relaxed model yet) the penalised weights before this point's fit
                chained = relaxer is not None and relaxer.started
                model = relaxer.model if chained else _scratch(self.model, before)
                self.group = ExitGroup(last, model, point.lambda_ * self.window)
                if relaxer is not None and not chained:
                    # the relaxed chain starts from this point's penalised weights, not from
                    # those of the later point trained before the group is ordered
                    self.group.relax_start = state_copy(self.model)
            self.group.points.append(point)
            if self.chained and point.eliminated:  # each exit extends the group's reach
                self.group.window_end = max(self.group.window_end, point.lambda_ * self.window)
        else:
            self.emit([point])

    def order_group(self) -> None:
        """Order the waiting exits by backward elimination and deliver their points (nothing
        when none wait)."""
        group, self.group = self.group, None
        if group is None:
            return
        if group.relax_start is not None and not self.relaxer.started:
            self.relaxer.start(group.relax_start)
        order = group.units()
        if len(order) > 1:
            order = backward_order(group.model, self.task, self.X_head, self.y_head, self.M,
                                   group.before.active, tuple(order), self.unit_names)
        self.emit(group.reordered(order))

    def emit(self, steps: list[PathPoint]) -> None:
        """Append ``steps`` to the path and deliver each."""
        for step in steps:
            self.points.append(step)
            delivered = self.model
            if self.relaxer is not None and step.k > 0:
                alive = torch.as_tensor(step.active, device=self.X_head.device)
                delivered = self.relaxer(step, self.model.feature_mask(alive))
            if self.on_point:
                self.on_point(step, delivered)


def _climb_to_first_exit(stepper: Stepper, lam: float) -> tuple[float, int]:
    """From the estimate (*) of ``start``, raise lambda by START_STEP per point until a unit
    leaves.

    Returns the last lambda at which every unit survived (the model and optimiser are put back
    in that state) and the epochs spent.  When the estimate itself removes a unit, the path
    starts at the estimate.  (Growing the factor after many fits, to reach a far estimate
    sooner, was tried and dropped: on a saturated fit each short fit shrinks all the weights
    by about the same amount, and bigger steps shrank them all to the edge together, so the
    first path point emptied a 20,000-column model.)
    """
    model = stepper.trainer.model
    n_alive = int((model.unit_norms() > 0).sum())
    saved, start, epochs = stepper.snapshot(), lam, 0
    for _ in range(MAX_CLIMB):
        epochs += stepper.fit(lam, max_epochs=CLIMB_EPOCHS, score=False)[0]
        if int((model.unit_norms() > 0).sum()) < n_alive:
            break
        saved, start = stepper.snapshot(), lam
        lam *= START_STEP
    stepper.restore(saved)
    return start, epochs


def _scratch(model: LassoNet, state: dict) -> LassoNet:
    """A copy of ``model`` holding ``state``."""
    copy_ = copy.deepcopy(model)
    copy_.load_state_dict(state)
    return copy_


class StateKeeper:
    """Keeps a copy of the model at the point ``choose_point`` picks, while the path runs.

    Used as the path's ``on_point`` callback so that no state is stored for other points.  The
    choice over a prefix of the path is the final choice whenever the final choice lies in that
    prefix, so copying when the newest point is the prefix's choice is enough.
    """

    def __init__(self, unit_names: list[str], rule: str = "best", k: int | None = None):
        self.rule, self.k = rule, k
        self.prefix = Path(list(unit_names), [], "", 0.0)
        self.index = -1
        self.state: dict | None = None

    def __call__(self, point: PathPoint, model: LassoNet) -> None:
        self.prefix.points.append(point)
        if self.k is not None and point.k > self.k:
            return
        newest = len(self.prefix.points) - 1
        if choose_point(self.prefix, self.rule, self.k) == newest:
            self.index = newest
            self.state = state_copy(model)


class PointStates:
    """Copies of the model at each point of a path, from the first, while they fit in
    ``budget`` bytes; none after the first that would not.

    Cross-validation chooses the point only after the folds: with the chosen point's copy kept
    here, the path need not be trained again up to it (``evaluate.cross_validated_point``).
    Used as (part of) the path's ``on_point`` callback.
    """

    def __init__(self, budget: int):
        self.budget, self.used, self.full = budget, 0, False
        self.states: list[dict[str, torch.Tensor]] = []

    def __call__(self, point: PathPoint, model: LassoNet) -> None:
        if self.full:
            return
        size = sum(t.numel() * t.element_size() for t in model.state_dict().values())
        if self.used + size > self.budget:
            self.full = True
            return
        self.states.append(state_copy(model))
        self.used += size

    def get(self, index: int) -> dict[str, torch.Tensor] | None:
        """The copy at point ``index``, or None where it was not kept."""
        return self.states[index] if 0 <= index < len(self.states) else None


# torch's seed (the initialisation, dropout) is the process's: one path run at a time, so that
# fits in threads of one process (joblib's threading backend) give what each gives alone
_SEEDED = threading.RLock()


@dataclasses.dataclass(frozen=True)
class PathRun:
    """Paths on subsets of the rows of one encoded table, with one model layout and one set of
    options: the selector's path and its cross-validation folds.  A plain value, so that the
    folds can run in other processes (``runs``); each run seeds torch with ``seed``.

    ``features`` (n, d) the encoded table; ``target`` the task's raw target (n, ...);
    ``task`` fitted; ``groups`` the layout of the units (``units.Units.layout``).
    """

    features: np.ndarray
    target: np.ndarray
    task: object
    spec: object
    dropout: float
    groups: object
    image_shape: tuple[int, int, int] | None
    unit_names: list[str]
    config: PathConfig
    device: torch.device
    seed: int

    def __call__(self, rows: np.ndarray, held: np.ndarray,
                 on_point: ProgressCallback | None = None,
                 lambdas: list[float] | None = None) -> tuple[Path, LassoNet]:
        """The path trained on ``rows`` (along ``lambdas`` if given) and scored on ``held``;
        the model as the path left it."""
        with _SEEDED:
            torch.manual_seed(self.seed)
            d = self.features.shape[1]
            net = build_model(self.spec, d, self.task.n_outputs, self.dropout, self.groups,
                              self.image_shape).to(self.device)
            generator = torch.Generator().manual_seed(self.seed)
            # the training rows are read from the whole table batch by batch, not copied
            X_all = torch.from_numpy(self.features).to(self.device)
            X_held = X_all[torch.from_numpy(held).to(self.device)]
            y_rows, y_held = (self.task.encode(self.target[r]).to(self.device)
                              for r in (rows, held))
            path = lassonet_path(
                net, self.task, X_all, y_rows, X_held, y_held, self.unit_names, self.config,
                generator, on_point=on_point, lambdas=lambdas,
                rows=torch.from_numpy(rows).to(self.device),
            )
        return path, net
