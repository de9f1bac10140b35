"""The LassoNet path: dense training, then a geometric lambda path with warm starts.

``lassonet_path`` trains and returns a :class:`Path`, a plain value (points, eliminations,
scores).  Ranking, choosing a point and the path table are pure functions of it.  Progress is
reported through a callback; nothing here prints.

Choosing lambda_start (``lambda_start=None``).  After the dense phase, for every unit j (a
feature, or a group) we compute the smallest penalty at which theta_j = 0, W_j = 0 is a stationary
point of the penalised problem when everything else stays at the dense solution.  Linearising the
loss around the model with unit j removed, the subproblem in (theta_j, W_j) is
``g_theta . theta_j + <g_W, W_j> + lam ||theta_j||`` under ``||W_j||_inf <= M ||theta_j||``, whose
minimum is 0 exactly when

    lam >= ||g_theta||_2 + M * ||g_W||_1,                                            (*)

with g_theta and g_W the loss gradients for the unit's skip and input-layer weights, taken with
the unit's columns zeroed.  (For the lasso with orthogonal inputs (*) is exactly |beta_j|, the
point where feature j leaves.)  Zeroing one unit changes the input layer by a rank-|unit| term,
so all units are evaluated in a few batched forward/backward passes on at most ``START_ROWS``
rows.  The smallest positive value of (*) is a lower bound on the first exit (the other units
shrink too as lambda grows, and a saturated fit makes the gradients small), so from it lambda is
raised by ``START_STEP`` per short fit (at most ``CLIMB_EPOCHS`` epochs) until a unit leaves; the
path then starts at the last lambda where none had left, from the model as it was there.

Following the path.  Each point trains ``max_epochs`` epochs from the previous point's weights
(default: 5 full-batch epochs, or 1 epoch of minibatches, see ``PathConfig.resolved``); lambda
then grows by ``path_multiplier`` (default 1.05).  While more than ``SPLIT_BELOW`` units are
in, a full-batch point where units left trains on at its lambda until a round of epochs
changes no unit (``_settle``; at most ``settle_rounds`` rounds, none on a wide table).  Where
more than ``EXIT_SHARE`` of the units (at least one) would leave at one point, the point is
retried from the previous one with the square root of the factor, so the path is fine exactly
where units leave (``_allowed_exits``).  Near the sparse end (below ``SPLIT_BELOW``) units that
leave at one point, or within one path step of each other, are ordered by backward
elimination on the model before they left (``_backward_order``, ``_ExitGroup``) and get a point
each.  Every point's model is then *relaxed*: trained on its own features without penalty, so
its validation score says what those features can do (``_Relaxer``).

Step size.  Along the path the optimiser is SGD with momentum at ``lr = 2 / L`` (``auto_lr``),
and the prox shrinks by ``lr * lam / (1 - momentum)`` so that the iteration's fixed point solves
the penalised problem at ``lam`` (``optim.HeavyBall.prox_scale``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from . import defaults
from .errors import ConfigError, TrainingError
from .model import LassoNet
from .optim import Adam, HeavyBall

START_ROWS = 2048
MAX_POINTS = 5000
START_STEP = 1.25
MAX_CLIMB = 200
MAX_HALVINGS = 10
EXIT_SHARE = 0.05
MAX_REFINE = 16
SPLIT_BELOW = 100
CLIMB_EPOCHS = 10
MIN_PROGRESS = 1e-3
STEP_FACTOR = 2.0
RUNAWAY_FACTOR = 100.0


@dataclass
class PathConfig:
    """Options of the path driver (see SPEC section 4)."""

    M: float = defaults.M
    lambda_start: float | None = None
    path_multiplier: float = defaults.PATH_MULTIPLIER
    max_epochs: int | None = None  # per point; None: by batch mode (``resolved``)
    patience: int = defaults.PATIENCE
    dense_max_epochs: int = 1000
    dense_patience: int = 10
    optimizer: str = "sgd"
    lr: float | None = None
    dense_lr: float = 1e-2
    dense_optimizer: str | None = None  # "sgd" or "adam"; None: by table shape (dense_optimizer)
    batch_size: int | None = None
    tol: float = 0.99
    relax: bool = defaults.RELAX
    relax_lr: float = 1e-2
    relax_max_epochs: int | None = None  # None: by batch mode (``resolved``)
    relax_patience: int = defaults.RELAX_PATIENCE
    # exits at points whose lambda is within this factor of a group's first exit are ordered
    # together (``_ExitGroup``); None: one path step (``path_multiplier``), 1: one point's exits
    exit_window: float | None = None
    # rounds of ``max_epochs`` more at a point where units left (``_settle``); None: by batch
    # mode and table shape (``settle_rounds``)
    settle_rounds: int | None = None

    def validate(self) -> None:
        if not (self.M >= 0 and math.isfinite(self.M)):
            raise ConfigError(lambda s: f"{s('M')} must be a finite number >= 0, got {self.M}")
        if not (self.path_multiplier > 1 and math.isfinite(self.path_multiplier)):
            raise ConfigError(lambda s: f"{s('path_multiplier')} must be a finite number > 1, "
                                        f"got {self.path_multiplier}")
        if self.lambda_start is not None and not (self.lambda_start > 0
                                                  and math.isfinite(self.lambda_start)):
            raise ConfigError(lambda s: f"{s('lambda_start')} must be 'auto' or a finite number "
                                        f"> 0, got {self.lambda_start}")
        if (self.max_epochs is not None and self.max_epochs < 1) or self.patience < 1:
            raise ConfigError(lambda s: f"{s('max_epochs')} and {s('patience')} must be at "
                                        "least 1")
        relax_epochs = self.relax_max_epochs if self.relax_max_epochs is not None else 1
        if relax_epochs < 1 or self.relax_patience < 1 or not self.relax_lr > 0:
            raise ConfigError("the relaxed fit needs epochs >= 1, patience >= 1 and lr > 0")
        if self.optimizer not in ("sgd", "adam"):
            raise ConfigError(lambda s: f"{s('optimizer')} must be 'sgd' or 'adam', got "
                                        f"{self.optimizer!r}")
        if self.dense_optimizer not in (None, "sgd", "adam"):
            raise ConfigError("the dense optimizer must be 'sgd' or 'adam', got "
                              f"{self.dense_optimizer!r}")
        if self.lr is not None and not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(lambda s: f"{s('lr')} must be a finite number > 0, got {self.lr}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(lambda s: f"{s('batch_size')} must be at least 1, got "
                                        f"{self.batch_size}")
        if self.settle_rounds is not None and self.settle_rounds < 0:
            raise ConfigError(f"the settle rounds must be >= 0, got {self.settle_rounds}")
        if self.exit_window is not None and not self.exit_window >= 1:
            raise ConfigError(f"the exit window must be >= 1, got {self.exit_window}")

    def minibatches(self, n_rows: int) -> bool:
        """Whether an epoch over ``n_rows`` training rows takes more than one step."""
        batch = self.batch_size if self.batch_size is not None else default_batch_size(n_rows)
        return batch is not None and batch < n_rows

    def resolved(self, n_rows: int) -> PathConfig:
        """A copy with the automatic epoch budgets made concrete for ``n_rows`` training rows.

        A full-batch epoch is one optimiser step, a minibatch epoch many: a point gets
        ``defaults.MAX_EPOCHS`` full-batch epochs, or ``defaults.MINIBATCH_EPOCHS`` epochs of
        minibatches (see ``defaults``).
        """
        minibatches = self.minibatches(n_rows)
        point = defaults.MINIBATCH_EPOCHS if minibatches else defaults.MAX_EPOCHS
        relax = defaults.MINIBATCH_RELAX_EPOCHS if minibatches else defaults.RELAX_EPOCHS
        return dataclasses.replace(
            self,
            max_epochs=self.max_epochs if self.max_epochs is not None else point,
            relax_max_epochs=(self.relax_max_epochs if self.relax_max_epochs is not None
                              else relax),
        )



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
        ``PathConfig.relax`` (see ``_Relaxer``), else the penalised one.
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


ProgressCallback = Callable[[PathPoint, LassoNet], None]


def default_batch_size(n_rows: int) -> int | None:
    """Full batch (None) while the training set is small, else minibatches."""
    return None if n_rows <= 16384 else 1024


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
    data = _Data(X, y, X_val, y_val, config, generator, rows)
    trainer = _Trainer(model, task, data, config)
    points = [trainer.dense(dense_optimizer(config, len(unit_names), len(y)))]
    rounds = settle_rounds(config, len(unit_names), len(y))
    if on_point:
        on_point(points[-1], model)

    X_head, y_head = data.head(START_ROWS)  # the rows the start, step and exit estimates use
    lr = config.lr if config.lr is not None else auto_lr(model, task, X_head, y_head)
    stepper = _Stepper(trainer, lr)

    search_epochs = 0
    grid = iter(lambdas) if lambdas is not None else None
    if grid is not None:
        lam = next(grid, None)
        if lam is None:
            return Path(list(unit_names), points, task.score_name, 0.0)
    elif config.lambda_start is not None:
        lam = config.lambda_start
    else:
        estimate = auto_lambda_start(model, task, X_head, y_head, config.M)
        lam, search_epochs = _climb_to_first_exit(stepper, estimate)
    lambda_start = lam

    relaxer = _Relaxer(trainer) if config.relax else None

    def emit(steps: list[PathPoint]) -> None:
        for step in steps:
            points.append(step)
            delivered = model
            if relaxer is not None and step.k > 0:
                alive = torch.as_tensor(step.active, device=X.device)
                delivered = relaxer(step, model.feature_mask(alive))
            if on_point:
                on_point(step, delivered)

    # exits near the sparse end wait in `group` until lambda has grown past `window` times the
    # group's first one, then are ordered together (see _ExitGroup); without relaxed models each
    # point's (penalised) model is delivered as soon as it is trained, so only one point's exits
    window = (config.exit_window or config.path_multiplier) if relaxer is not None else 1.0
    group: _ExitGroup | None = None

    def order_group(exits: _ExitGroup) -> None:
        if exits.relax_start is not None and not relaxer.started:
            relaxer.start(exits.relax_start)
        order = exits.units()
        if len(order) > 1:
            order = _backward_order(exits.model, task, X_head, y_head, config.M,
                                    exits.before.active, tuple(order), unit_names)
        emit(exits.reordered(order))

    keep = None  # input features of the units not yet eliminated
    last = points[-1]  # the last point trained (the penalised model's state)
    factor, previous = config.path_multiplier, lam / config.path_multiplier
    discarded = 0  # epochs of refined-away attempts, counted in the next point's epochs
    while last.k > 0 and len(points) + (len(group.points) if group else 0) < MAX_POINTS:
        # a relaxed path delivers each point with its relaxed model's score: the penalised
        # fit's is needed only for the empty model, which is not relaxed
        fit = stepper.fit(lam, keep, score=relaxer is None)
        start = stepper.start  # the state before this point (settling fits again)
        point = trainer.point(lam, fit, last.active)
        if point.eliminated and rounds and last.k > SPLIT_BELOW:
            point = _settle(stepper, trainer, point, keep, last.active, rounds,
                            score=relaxer is None)
        if (grid is None and len(point.eliminated) > _allowed_exits(last.k)
                and factor > 1 + (config.path_multiplier - 1) / MAX_REFINE):
            # too many units left at once: retry with a finer step from the previous point
            stepper.restore(start)
            discarded += point.epochs
            factor = math.sqrt(factor)
            lam = previous * factor
            continue
        point.epochs += discarded
        discarded = 0
        if relaxer is not None and point.k == 0:
            point.val_score = trainer.validation_score(keep)
        if group is not None and point.lambda_ > group.window_end * (1 + 1e-9):
            order_group(group)
            group = None
        if grid is None and last.k <= SPLIT_BELOW and (group is not None or point.eliminated):
            if group is None:
                # the model as it was before these units left: the last point's relaxed model,
                # or (no relaxed model yet) the penalised weights before this point's fit
                chained = relaxer is not None and relaxer.started
                before = relaxer.model if chained else _scratch(model, start[0])
                group = _ExitGroup(last, before, point.lambda_ * window)
                if relaxer is not None and not chained:
                    # the relaxed chain starts from this point's penalised weights, not from
                    # those of the later point trained before the group is ordered
                    group.relax_start = state_copy(model)
            group.points.append(point)
        else:
            emit([point])
        last = point
        keep = model.feature_mask(torch.as_tensor(point.active, device=X.device))
        if grid is None:
            previous, factor = lam, config.path_multiplier
            lam *= factor
        else:
            lam = next(grid, None)
            if lam is None:
                break
        if group is not None and (last.k == 0 or window <= 1):
            # (otherwise a later point can still join: refining may bring lambda back into the
            # window)
            order_group(group)
            group = None
    if group is not None:
        order_group(group)
    if len(points) > 1:
        lambda_start = points[1].lambda_  # the first point may have been refined
    return Path(list(unit_names), points, task.score_name, lambda_start, search_epochs)


@dataclass
class _ExitGroup:
    """Path points whose exits are ordered together, by backward elimination.

    Near the sparse end (at most ``SPLIT_BELOW`` units alive) the last units often leave within
    a few percent of lambda: a few epochs at a slightly larger penalty empty the model, and which
    unit goes first is decided by the step's transient, not by what the units do (on the toy
    regression, x3 left 2.5% of lambda before x1, x4 and x5 in one of three splits, and refit
    alone it explains half of y, the others almost nothing).  So the exits of all points whose
    lambda lies within ``PathConfig.exit_window`` (default: one path step, ``path_multiplier``)
    of the first exit's are taken as leaving together: they are ordered by ``_backward_order``
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


def _backward_order(
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
                _copy_into(params, current)
            weakest = remaining.pop(int(np.argmin(torch.stack(losses).cpu().numpy())))
            order.append(weakest)
            keep_units[weakest] = False
            model.prox_(0.0, M, model.feature_mask(torch.as_tensor(keep_units, device=X.device)))
        _copy_into(params, original)
    return order + remaining


def _copy_into(params: list[torch.Tensor], values: list[torch.Tensor]) -> None:
    """Copy ``values`` into ``params`` in place, one by one (call under ``no_grad``)."""
    for param, value in zip(params, values, strict=True):
        param.copy_(value)


def state_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``model``'s state dict (its tensors cloned; cheaper than ``copy.deepcopy``)."""
    return {name: t.detach().clone() for name, t in model.state_dict().items()}


def _scratch(model: LassoNet, state: dict) -> LassoNet:
    """A copy of ``model`` holding ``state``."""
    copy_ = copy.deepcopy(model)
    copy_.load_state_dict(state)
    return copy_


def _allowed_exits(alive: int) -> int:
    """Most units one path point may eliminate before the step is refined (``MAX_REFINE``).

    Units leaving at the same point get no lambdas of their own (below ``SPLIT_BELOW`` they
    are only ordered by backward elimination, ``_backward_order``), so where many units leave
    together the lambda step is made finer (square root of the factor, at most
    log2(MAX_REFINE) times) and the path itself separates them.
    """
    return max(1, int(EXIT_SHARE * alive))


class _Relaxer:
    """The relaxed model of each path point: the point's features, trained without penalty.

    A penalised point is shrunk towards zero, most at the sparse end of the path, so as a
    predictor it is much worse than its features allow (on digits at 10% of the features,
    0.3 below a dense refit).  As in the relaxed lasso (Meinshausen 2007), each point delivers
    a model trained with lambda = 0 on the point's features only: the other features held at
    zero and the hierarchy constraint kept by the prox, Adam at ``relax_lr`` with early stopping
    on the validation loss (``relax_patience``, at most ``relax_max_epochs``), keeping the
    weights of the best epoch, the starting ones included (``restore_best``).  The relaxed
    models form a chain: the first starts from the penalised weights, each later one from the
    previous relaxed model with the features that left removed, which needs only a few epochs.
    The path itself continues from the penalised weights.  A point with the same features as
    the previous one reuses its relaxed model.
    """

    def __init__(self, trainer: _Trainer):
        self.trainer = trainer
        self.model = copy.deepcopy(trainer.model)
        self.relaxed = dataclasses.replace(trainer, model=self.model)
        self.opt: Adam | None = None
        self.active: np.ndarray | None = None
        self.scores = (0.0, 0.0)

    @property
    def started(self) -> bool:
        """Whether a relaxed model exists (the chain has started)."""
        return self.opt is not None

    def start(self, state: dict) -> None:
        """Start the chain from the penalised weights ``state`` (a state dict, copied in)."""
        self.model.load_state_dict(state)
        self.opt = Adam(self.model.parameters(), lr=self.trainer.config.relax_lr)

    def __call__(self, point: PathPoint, keep: torch.Tensor) -> LassoNet:
        config = self.trainer.config
        if self.active is None or not np.array_equal(self.active, point.active):
            if self.opt is None:
                self.start(self.trainer.model.state_dict())  # load_state_dict copies
            epochs, _, val_loss, val_score = self.relaxed.fit(
                self.opt, 0.0, 0.0, config.relax_max_epochs, config.relax_patience, keep,
                restore_best=True,
            )
            self.active, self.scores = point.active.copy(), (val_loss, val_score)
            point.relax_epochs = epochs
        point.val_loss, point.val_score = self.scores
        return self.model


class _Stepper:
    """The path's optimiser at step size ``lr``; a point that diverges is retried at half the
    step (from the state before it, with fresh momentum), up to ``MAX_HALVINGS`` times.

    1 / L is measured at the dense model; the curvature can grow along the path.  ``start``
    is the state before the last ``fit`` (for the path to retry a point with a finer step).
    """

    def __init__(self, trainer: _Trainer, lr: float):
        self.trainer, self.lr = trainer, lr
        self.opt = _path_optimizer(trainer.model, trainer.config.optimizer, lr)
        # the penalty only shrinks: a weight far beyond the dense model's largest is a runaway
        self.limit = RUNAWAY_FACTOR * max(1.0, _largest_weight(trainer.model))
        # the model's state tensors themselves, for the snapshot before every point (walking
        # the module tree for its state dict each time cost as much as the copies)
        self.state = list(trainer.model.state_dict(keep_vars=True).items())

    def snapshot(self) -> tuple[dict, dict, float]:
        state = {name: t.detach().clone() for name, t in self.state}
        return state, self.opt.state_dict(), self.lr

    def restore(self, saved: tuple[dict, dict, float]) -> None:
        self.trainer.model.load_state_dict(saved[0])
        self.lr = saved[2]
        self.opt = _path_optimizer(self.trainer.model, self.trainer.config.optimizer, self.lr)
        self.opt.load_state_dict(saved[1])

    def fit(self, lam: float, keep: torch.Tensor | None = None,
            max_epochs: int | None = None, score: bool = True) -> tuple:
        config, model = self.trainer.config, self.trainer.model
        max_epochs = config.max_epochs if max_epochs is None else min(max_epochs, config.max_epochs)
        self.start: tuple[dict, dict, float] | None = None
        for _ in range(MAX_HALVINGS):
            saved = self.snapshot()
            self.start = self.start or saved
            fit = self.trainer.fit(self.opt, lam, self.lr, max_epochs, config.patience, keep,
                                   score=score)
            largest = _largest_weight(model)
            if math.isfinite(fit[1]) and math.isfinite(fit[2]) and largest < self.limit:
                return fit
            if largest < self.limit and not math.isfinite(fit[2]):
                self.trainer.blame_validation_rows(lam, keep)  # raises if they are the cause
            self.restore(saved)
            self.lr /= 2
            self.opt = _path_optimizer(model, config.optimizer, self.lr)
        raise TrainingError(lambda s: f"training diverged at lambda {lam:.4g} even with step "
                            f"size {self.lr:.3g}: set a smaller {s('lr')}")


def _settle(stepper: _Stepper, trainer: _Trainer, point: PathPoint, keep: torch.Tensor | None,
            was_active: np.ndarray, rounds: int, score: bool) -> PathPoint:
    """Train on at ``point``'s lambda, ``max_epochs`` at a time, while its units change.

    A full-batch point is a few optimiser steps, so where units leave the rest of the model
    has not yet adapted to their loss when the path moves on, and the units leaving later are
    chosen by a transient; at most ``rounds`` more rounds let it adapt, and a round that
    changes no unit ends them.  The point's epochs include them.  The path settles only while
    more than ``SPLIT_BELOW`` units are in: below, units leaving within one path step are
    ordered together by backward elimination on the model before them (``_ExitGroup``), and
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


def _largest_weight(model: LassoNet) -> float:
    """max |w| over the model's weights (inf or nan when training has diverged).

    A separable classification lets a too-long step throw the weights far out where the loss
    and its gradient are zero; nothing would bring them back, so such a point is retried.
    """
    params = [p for p in model.parameters() if p.numel()]
    with torch.no_grad():
        largest = torch.stack([p.abs().amax() for p in params]).max()
    value = float(largest)
    return value if math.isfinite(value) else math.inf


def _climb_to_first_exit(stepper: _Stepper, lam: float) -> tuple[float, int]:
    """From the estimate (*), raise lambda by START_STEP per point until a unit leaves.

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


def dense_optimizer(config: PathConfig, n_units: int, n_rows: int) -> str:
    """The optimiser of the dense fit: ``config.dense_optimizer``, or by default "sgd" when
    the units outnumber the training rows and "adam" otherwise.

    With more columns than rows the dense model interpolates its rows and the problem has many
    solutions; which one the optimiser reaches decides the norms that order the path's first
    mass exits.  Adam scales each weight's step by its own gradient history, so a sparse,
    heavy-tailed column whose gradient comes from the few rows it spikes on grows as fast as
    a column that tracks the target: on arcene (140 x 10,000) the 50 largest skip weights of
    the Adam-trained dense model had a median |correlation| with the target of 0.06 (all
    columns: 0.11) and a kurtosis of 5.5, and the path's top 5 refit no better than random
    columns.  Plain gradient steps keep the weights in the span of the rows, where a column's
    weight follows its correlation with the residual (the minimum-norm interpolant for the
    skip layer): median |correlation| 0.16 there, and 0.38 among the columns that survive
    the first mass exit (benchmarks/wide_dense_fit.py, RESULTS.md).  With fewer columns than
    rows the fit is determined by the data rather than by the optimiser, and Adam reaches it in
    fewer epochs.
    """
    if config.dense_optimizer is not None:
        return config.dense_optimizer
    return "sgd" if n_units > n_rows else "adam"


def settle_rounds(config: PathConfig, n_units: int, n_rows: int) -> int:
    """Rounds of ``max_epochs`` more at a point where units left (``_settle``):
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


def train_dense(
    model: LassoNet,
    task,
    X: torch.Tensor,
    y: torch.Tensor,
    X_val: torch.Tensor,
    y_val: torch.Tensor,
    config: PathConfig,
    generator: torch.Generator,
) -> PathPoint:
    """Train ``model`` without penalty (a refit): Adam, unless ``config.dense_optimizer`` says
    otherwise (the path chooses its own, see ``dense_optimizer``)."""
    trainer = _Trainer(model, task, _Data(X, y, X_val, y_val, config, generator), config)
    return trainer.dense(config.dense_optimizer or "adam")


def train_at_lambda(
    model: LassoNet,
    task,
    X: torch.Tensor,
    y: torch.Tensor,
    X_val: torch.Tensor,
    y_val: torch.Tensor,
    lam: float,
    config: PathConfig,
    generator: torch.Generator,
    lr: float | None = None,
) -> PathPoint:
    """Train ``model`` at one fixed penalty ``lam`` (prox-gradient steps, early stopping).

    ``lr`` defaults to ``config.lr``, else 1 / L at the model's current state (``auto_lr``).
    """
    config.validate()
    config = config.resolved(len(X))
    if lr is None:
        lr = config.lr if config.lr is not None else auto_lr(model, task, X, y)
    trainer = _Trainer(model, task, _Data(X, y, X_val, y_val, config, generator), config)
    opt = _path_optimizer(model, config.optimizer, lr)
    fit = trainer.fit(opt, lam, lr, config.max_epochs, config.patience)
    return trainer.point(lam, fit, None)


def _path_optimizer(model: LassoNet, name: str, lr: float) -> HeavyBall | Adam:
    if name == "sgd":
        return HeavyBall(model.parameters(), lr=lr, momentum=0.9)
    return Adam(model.parameters(), lr=lr)


class _Data:
    """Training and validation rows, served restricted to the features still in the model.

    ``view(columns)`` returns (batches, X_val): a function giving one epoch's (inputs, targets)
    batches, and the validation inputs, both holding only ``columns`` (all when None).  The
    full-batch inputs and the validation rows are restricted once per set of columns and kept
    until the set changes; minibatches take their columns as they are cut from the rows.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, X_val: torch.Tensor,
                 y_val: torch.Tensor, config: PathConfig, generator: torch.Generator,
                 rows: torch.Tensor | None = None):
        n = len(y)
        size = config.batch_size if config.batch_size is not None else default_batch_size(n)
        self.batch_size = None if size is None or size >= n else size
        if rows is not None and self.batch_size is None:
            X, rows = X[rows], None  # full batch: the training rows once
        self.X, self.rows, self.y, self.X_val, self.y_val = X, rows, y, X_val, y_val
        self.generator = generator
        self.step_rows = self.batch_size or n  # the rows a training step reads
        self._columns: torch.Tensor | None = None
        self._restricted: tuple[torch.Tensor, torch.Tensor] = (X, X_val)

    def head(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first ``n`` training rows (inputs, targets)."""
        X = self.X[self.rows[:n]] if self.rows is not None else self.X[:n]
        return X, self.y[:n]

    def view(self, columns: torch.Tensor | None) -> tuple[
        Callable[[], Iterator[tuple[torch.Tensor, torch.Tensor]]], torch.Tensor
    ]:
        if not _same(columns, self._columns):
            full = self.batch_size is None
            self._restricted = (self.X, self.X_val) if columns is None else (
                self.X[:, columns] if full else self.X, self.X_val[:, columns])
            self._columns = columns
        X, X_val = self._restricted
        y = self.y
        if self.batch_size is None:
            return (lambda: iter(((X, y),))), X_val
        n, size, generator, rows = len(y), self.batch_size, self.generator, self.rows

        def epoch() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            order = torch.randperm(n, generator=generator).to(X.device)
            for start in range(0, n, size):
                idx = order[start : start + size]
                batch = X[idx if rows is None else rows[idx]]
                yield (batch if columns is None else batch[:, columns]), y[idx]

        return epoch, X_val


def _same(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(torch.equal(a, b))


@dataclass
class _Trainer:
    """Trains one model on fixed data; every path point and refit goes through ``fit``."""

    model: LassoNet
    task: object
    data: _Data
    config: PathConfig
    # train()/eval() walk every submodule and only dropout makes them matter: the model is
    # switched to train() for the steps only when it has dropout, and otherwise stays in eval()
    has_dropout: bool = field(init=False)
    params: list[torch.nn.Parameter] = field(init=False)  # the ones the optimiser updates
    n_weights: int = field(init=False)  # their entries

    def __post_init__(self):
        self.has_dropout = any(isinstance(m, torch.nn.Dropout) for m in self.model.modules())
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.n_weights = sum(p.numel() for p in self.params)
        self.model.eval()

    def dense(self, optimizer: str = "adam") -> PathPoint:
        """Train without penalty: the path's first point (and a refit's only one).

        "adam": Adam at ``config.dense_lr``.  "sgd" (the path's choice on a wide table, see
        ``dense_optimizer``): heavy-ball SGD at ``auto_lr``'s step, so that the skip weights
        move only in the span of the loss gradients; a fit that diverges is retried from the
        initial weights at half the step.  (Starting the skip layer at zero as well was tried:
        mean rank 3.57 against 3.23 from the usual initialisation on colon, glioma and
        linear_c, benchmarks/RESULTS.md.)
        """
        cfg = self.config
        if optimizer == "adam":
            opt = Adam(self.model.parameters(), lr=cfg.dense_lr)
            return self.point(0.0, self.fit(opt, 0.0, 0.0, cfg.dense_max_epochs,
                                            cfg.dense_patience), None)
        initial = state_copy(self.model)
        X_head, y_head = self.data.head(START_ROWS)
        lr = auto_lr(self.model, self.task, X_head, y_head)
        for _ in range(MAX_HALVINGS):
            opt = HeavyBall(self.model.parameters(), lr=lr)
            fit = self.fit(opt, 0.0, 0.0, cfg.dense_max_epochs, cfg.dense_patience)
            if math.isfinite(fit[1]) and math.isfinite(_largest_weight(self.model)):
                break
            self.model.load_state_dict(initial)
            lr /= 2
        return self.point(0.0, fit, None)

    def point(self, lam: float, fit: tuple, was_active: np.ndarray | None) -> PathPoint:
        epochs, train_loss, val_loss, val_score = fit
        norms = self.model.unit_norms().cpu().numpy()
        if np.isfinite(norms).all() and not math.isfinite(val_loss):
            self.blame_validation_rows(lam, None)
        if not (np.isfinite(norms).all() and math.isfinite(train_loss)
                and math.isfinite(val_loss)):
            # a NaN norm would otherwise read as "eliminated" and fake the ranking
            raise TrainingError(
                lambda s: f"training diverged at lambda {lam:.4g} (train loss "
                f"{train_loss:.3g}): set a smaller {s('lr')}"
            )
        active = norms > 0
        if was_active is None:
            was_active = np.ones_like(active)
        return PathPoint(
            lambda_=float(lam),
            k=int(active.sum()),
            train_loss=train_loss,
            val_loss=val_loss,
            val_score=val_score,
            epochs=epochs,
            eliminated=tuple(int(i) for i in np.flatnonzero(was_active & ~active)),
            norms=norms,
        )

    def blame_validation_rows(self, lam: float, keep: torch.Tensor | None) -> None:
        """Raise the error for a non-finite validation loss whose cause is the validation rows:
        the loss of the training rows at the current weights is finite (computed here, since
        a fit reports the mean over its last epoch's steps, taken before each step).  Returns
        when the training loss is not finite either: then training diverged."""
        columns, batches, _ = self._view(keep)
        self.model.eval()
        with torch.no_grad():
            losses = [self.task.loss(self.model(xb, columns), yb) for xb, yb in batches()]
        train_loss = float(torch.stack(losses).mean())
        if math.isfinite(train_loss):
            raise TrainingError(
                f"the validation loss is not finite at lambda {lam:.4g} although the training "
                f"loss is ({train_loss:.3g}): some validation rows hold values far outside the "
                "range of the training rows"
            )

    def fit(
        self,
        opt: HeavyBall | Adam,
        lam: float,
        lr: float,
        max_epochs: int,
        patience: int,
        keep: torch.Tensor | None = None,
        restore_best: bool = False,
        score: bool = True,
    ) -> tuple[int, float, float, float]:
        """Train at penalty ``lam`` (prox step ``lr * lam``) with early stopping.

        Stops after ``patience`` epochs in which the validation objective (loss + lam * sum_j
        ||theta_j||) did not fall below ``tol`` times its best value (and by at least
        ``MIN_PROGRESS`` times its first value).  When ``keep`` is given
        (a relaxed fit) the prox holds the other features at zero even without a penalty.
        ``restore_best``: the starting weights count as epoch 0, and the model ends with the
        weights of its best epoch rather than its last (the relaxed fits: on a small
        validation set, a few more epochs can already overfit).
        Returns (epochs, train loss of the last epoch, validation loss, validation score);
        the score is NaN, and not computed, when ``score`` is False.
        """
        model, task, y_val = self.model, self.task, self.data.y_val
        has_dropout, params = self.has_dropout, self.params
        columns, batches, X_val = self._view(keep)
        step_lam, M, tol = lr * lam * opt.prox_scale, self.config.M, self.config.tol
        prox = model.prox_step(step_lam, M, keep) if lam > 0 or keep is not None else None
        best, since_best, epoch, first = math.inf, 0, 0, None
        train_loss = torch.zeros((), device=X_val.device)

        def validate() -> tuple[torch.Tensor, torch.Tensor]:
            """(loss, outputs) of the validation rows at the current weights."""
            with torch.no_grad():
                out = model(X_val, columns)
                return task.loss(out, y_val), out

        # validate() at the current weights while it is known: the last monitored epoch's
        # serves as the fit's result when nothing changed since; with restore_best a state is
        # (weights, their validate()), so restoring the best epoch needs no new pass, unless
        # the validation outputs outweigh the weights (a reconstruction of many validation
        # rows): then a state keeps only the weights, and the best epoch is validated again
        evaluated = None

        def kept(evaluated: tuple) -> tuple | None:
            return evaluated if evaluated[1].numel() <= self.n_weights else None

        best_state = latest_state = None
        if has_dropout:
            model.eval()  # (a caller may have switched it) the validation passes need eval()
        if restore_best:
            if keep is not None:  # the starting weights as they can be delivered
                model.prox_(0.0, M, keep)
            evaluated = validate()
            best = first = float(evaluated[0])
            best_state = latest_state = ([p.detach().clone() for p in params], kept(evaluated))
        while epoch < max_epochs:
            # no stopping decision is possible before `patience - since_best` more epochs, so
            # the losses are read back only then: no overshoot, and no wait on the device per
            # step; when fewer epochs are left than that, nothing needs monitoring at all
            chunk = min(patience - since_best, max_epochs - epoch)
            monitor = restore_best or patience - since_best < max_epochs - epoch
            losses, penalties, states = [], [], []
            for i in range(chunk):
                if has_dropout:
                    model.train()
                total, n_batches, norms = None, 0, None
                for xb, yb in batches():
                    opt.zero_grad()
                    loss = task.loss(model(xb, columns), yb)
                    loss.backward()
                    opt.step()
                    if prox is not None:
                        norms = prox()
                    total = loss.detach() if total is None else total + loss.detach()
                    n_batches += 1
                if i == chunk - 1:  # the fit reports the last epoch's training loss
                    train_loss = total / n_batches
                if has_dropout:
                    model.eval()
                evaluated = None
                if monitor:
                    evaluated = validate()
                    losses.append(evaluated[0])
                    if lam > 0:
                        penalties.append(norms)  # (a new tensor per prox call)
                    if restore_best:
                        states.append(([p.detach().clone() for p in params], kept(evaluated)))
            epoch += chunk
            if not monitor:
                break
            latest_state = states[-1] if states else latest_state
            # the validation objective of each epoch, loss + lam * sum_j ||theta_j||, formed
            # for the whole chunk at once (a few operations per chunk instead of per epoch)
            objectives = torch.stack(losses)
            if penalties:
                objectives = objectives + lam * torch.stack(penalties).sum(dim=1)
            for i, value in enumerate(objectives.tolist()):
                first = value if first is None else first
                # progress is 1% of the best value, and at least MIN_PROGRESS of the first:
                # a loss falling towards 0 (a separable fit) makes 1% steps forever
                if value < min(tol * best, best - MIN_PROGRESS * abs(first)):
                    best, since_best = value, 0
                    if restore_best:
                        best_state = states[i]
                else:
                    since_best += 1
            if since_best >= patience:
                break
        if best_state is not None and best_state is not latest_state:
            with torch.no_grad():
                _copy_into(params, best_state[0])
            evaluated = best_state[1]
        val_loss, out = evaluated if evaluated is not None else validate()
        if not score:
            values = torch.stack([train_loss, val_loss]).tolist()
            return epoch, values[0], values[1], math.nan
        val_score = task.score(out, y_val)
        values = torch.stack([train_loss, val_loss, val_score.to(val_loss.dtype)]).tolist()
        return epoch, values[0], values[1], values[2]

    def _view(self, keep: torch.Tensor | None) -> tuple:
        """(columns, batches, X_val) for the features ``keep`` leaves in: the input columns a
        forward reads (``model.alive_columns`` for this data's step rows) and ``_Data.view``'s
        epoch batches and validation inputs restricted to them."""
        columns = self.model.alive_columns(keep, self.data.step_rows)
        return (columns, *self.data.view(columns))

    def validation_score(self, keep: torch.Tensor | None) -> float:
        """The validation score at the current weights (what ``fit`` with this ``keep``
        reports when it ends here)."""
        columns, _, X_val = self._view(keep)
        with torch.no_grad():
            out = self.model(X_val, columns)
        return float(self.task.score(out, self.data.y_val))


def auto_lambda_start(model: LassoNet, task, X: torch.Tensor, y: torch.Tensor, M: float) -> float:
    """Smallest positive exit threshold (*) over the units (module docstring)."""
    thresholds = exit_thresholds(model, task, X[:START_ROWS], y[:START_ROWS], M)
    positive = thresholds[thresholds > 0]
    if len(positive) == 0:
        return 1e-3
    return float(positive.min())


def auto_lr(model: LassoNet, task, X: torch.Tensor, y: torch.Tensor, iterations: int = 20) -> float:
    """Step size ``STEP_FACTOR / L`` for the path, from two estimates of the curvature L.

    L is the larger of (a) the top Hessian eigenvalue of the training loss at the dense model
    (power iteration on Hessian-vector products) and (b) the curvature of the loss along the
    skip layer in the worst case, ``task.output_curvature * top eigenvalue of Z^T Z / n`` with Z
    what the skip layer reads (``model.skip_inputs``: X itself, or a conv net's filter maps).  (b)
    matters where the dense model fits the training rows almost perfectly: a saturated softmax
    makes (a) tiny, but the curvature returns as soon as the penalty pulls the weights in.  Both
    use at most ``START_ROWS`` rows.  Heavy-ball momentum 0.9 is stable on a quadratic for steps
    below 2 (1 + 0.9) / L = 3.8 / L; ``STEP_FACTOR = 2`` stays well inside that and follows the
    path with half the epochs of 1 / L.  A point that diverges anyway is retried at half the
    step (``_Stepper``).
    """
    model.eval()
    X, y = X[:START_ROWS], y[:START_ROWS]
    params = [p for p in model.parameters() if p.requires_grad]
    loss = task.loss(model(X), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)

    def hessian_times(vec: list[torch.Tensor]) -> list[torch.Tensor]:
        # the gradient of the scalar <grad, vec>: passing vec as grad_outputs instead would
        # import sympy (half a second) inside torch.autograd
        inner = sum((g * v).sum() for g, v in zip(grads, vec, strict=True))
        hv = torch.autograd.grad(inner, params, retain_graph=True)
        return [h.detach() for h in hv]

    hessian = _top_eigenvalue(hessian_times, [p.detach() for p in params], iterations)
    with torch.no_grad():
        Z = model.skip_inputs(X)
        gram = _top_eigenvalue(lambda v: [Z.T @ (Z @ v[0]) / len(Z)], [Z[0]], iterations)
    top = max(hessian, task.output_curvature * gram)
    return STEP_FACTOR / top if top > 0 and math.isfinite(top) else 1e-3


def _top_eigenvalue(apply, like: list[torch.Tensor], iterations: int) -> float:
    """Largest eigenvalue of the symmetric operator ``apply`` by power iteration (seeded)."""
    gen = torch.Generator().manual_seed(0)
    vec = [torch.randn(t.shape, generator=gen).to(t) for t in like]
    eigen = 0.0
    for _ in range(iterations):
        norm = torch.sqrt(sum((v**2).sum() for v in vec))
        vec = [v / norm for v in vec]
        image = apply(vec)
        eigen = sum((h * v).sum() for h, v in zip(image, vec, strict=True))
        vec = image
    return float(eigen)


def exit_thresholds(
    model: LassoNet, task, X: torch.Tensor, y: torch.Tensor, M: float,
    units: np.ndarray | None = None,
) -> np.ndarray:
    """The threshold (*) of the module docstring for every unit, or for ``units`` only.

    The model computes it (``model.exit_thresholds``): which weights form a unit's skip and
    constrained-layer blocks is its business.

    Parameters
    ----------
    X : (n, d) rows to evaluate on; y : their encoded targets
    units : optional indices of the units to evaluate (default all)

    Returns
    -------
    (n_units,) or (len(units),) ndarray
    """
    return model.exit_thresholds(task, X, y, M, units)


# --- pure functions of a Path -------------------------------------------------------------


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
    units leaving together are split into points in order, see ``_ExitGroup``); ties broken
    by the unit's ||theta|| just before it left (larger first), then by name.
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
            "eliminated": ";".join(names[j] for j in p.eliminated),
        }
        for p in path.points
    ]


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
