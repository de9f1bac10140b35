"""The training engine: every path point, relaxed fit and refit is a call of ``Trainer.fit``.

``Trainer.fit`` trains a model at one penalty with prox-gradient steps and early stopping on the
validation objective; ``Trainer.dense`` trains the path's unpenalised first point.  ``Data``
serves the training and validation rows restricted to the features still in the model.
``Stepper`` is the path's optimiser, which retries a point that diverges at half the step.
``train_dense`` and ``train_at_lambda`` train one model outside a path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from .errors import TrainingError
from .model import LassoNet
from .optim import Adam, HeavyBall
from .pathconfig import PathConfig, default_batch_size
from .pathresult import PathPoint
from .start import START_ROWS, auto_lr

MAX_HALVINGS = 10
MIN_PROGRESS = 1e-3
RUNAWAY_FACTOR = 100.0
DIVERGED_LOSS_FACTOR = 10.0


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
    trainer = Trainer(model, task, Data(X, y, X_val, y_val, config, generator), config)
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
    trainer = Trainer(model, task, Data(X, y, X_val, y_val, config, generator), config)
    opt = _path_optimizer(model, config.optimizer, lr)
    fit = trainer.fit(opt, lam, lr, config.max_epochs, config.patience)
    return trainer.point(lam, fit, None)


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


def _path_optimizer(model: LassoNet, name: str, lr: float) -> HeavyBall | Adam:
    if name == "sgd":
        return HeavyBall(model.parameters(), lr=lr, momentum=0.9)
    return Adam(model.parameters(), lr=lr)


class Data:
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
class Trainer:
    """Trains one model on fixed data; every path point and refit goes through ``fit``."""

    model: LassoNet
    task: object
    data: Data
    config: PathConfig
    # train()/eval() walk every submodule and only dropout makes them matter: the model is
    # switched to train() for the steps only when it has dropout, and otherwise stays in eval()
    has_dropout: bool = field(init=False)
    params: list[torch.nn.Parameter] = field(init=False)  # the ones the optimiser updates
    n_weights: int = field(init=False)  # their entries
    first_train_loss: float = field(init=False)  # the last fit's first epoch's training loss

    def __post_init__(self):
        self.has_dropout = any(isinstance(m, torch.nn.Dropout) for m in self.model.modules())
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.n_weights = sum(p.numel() for p in self.params)
        self.first_train_loss = math.nan
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
        limit = self.loss_limit()
        for _ in range(MAX_HALVINGS):
            opt = HeavyBall(self.model.parameters(), lr=lr)
            fit = self.fit(opt, 0.0, 0.0, cfg.dense_max_epochs, cfg.dense_patience)
            if not self.diverged(fit, limit) and math.isfinite(_largest_weight(self.model)):
                break
            self.model.load_state_dict(initial)
            lr /= 2
        return self.point(0.0, fit, None)

    def loss_limit(self) -> float:
        """``DIVERGED_LOSS_FACTOR`` times the loss of all-zero outputs on the first
        ``START_ROWS`` training rows: a fit whose training loss ends above this, and above
        ``DIVERGED_LOSS_FACTOR`` times its first epoch's, has diverged though finite
        (``diverged``).

        At a minimum of the penalised objective the training loss is at most the empty
        model's (the penalty can only add to it), and the empty model does at least as well as
        zero outputs: the mean of a standardised target, equal class logits, equal risks.  A
        step too long for the curvature can grow the loss for many steps before it overflows
        (a reconstruction of COIL-20 reached a training loss of 4,311 against about 1 at one
        point and NaN at the next), and by then the next point starts from broken weights.
        The factor is 10, not 1: short overshoots that the path recovers from are left alone
        (breast_cancer's path has one at 2.4 times the zero outputs' loss, and at 2 its
        ranking changed).  A fit may also start above the limit and be right to: where a
        separable label collapses to one unit, the prox leaves a confident constant output
        whose loss is many times that of zero outputs until training moves it.
        """
        X_head, y_head = self.data.head(START_ROWS)
        n_outputs = self.task.n_outputs
        zeros = torch.zeros(len(X_head), n_outputs, dtype=X_head.dtype, device=X_head.device)
        with torch.no_grad():
            return DIVERGED_LOSS_FACTOR * float(self.task.loss(zeros, y_head))

    def diverged(self, fit: tuple, limit: float) -> bool:
        """Whether ``fit`` (``fit``'s result, just returned) ended with a training loss that
        is not finite, or above both ``limit`` (``loss_limit``) and ``DIVERGED_LOSS_FACTOR``
        times the loss of its own first epoch."""
        growth = DIVERGED_LOSS_FACTOR * self.first_train_loss
        return not fit[1] <= max(limit, growth)

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
        train_loss = first_train = torch.zeros((), device=X_val.device)

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
                if epoch == 0 and i == 0:  # the first epoch's, to tell divergence (diverged)
                    first_train = total / n_batches
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
                copy_into(params, best_state[0])
            evaluated = best_state[1]
        val_loss, out = evaluated if evaluated is not None else validate()
        read = [train_loss, val_loss, first_train.to(val_loss.dtype)]
        if score:
            read.append(task.score(out, y_val).to(val_loss.dtype))
        values = torch.stack(read).tolist()
        self.first_train_loss = values[2]
        return epoch, values[0], values[1], values[3] if score else math.nan

    def _view(self, keep: torch.Tensor | None) -> tuple:
        """(columns, batches, X_val) for the features ``keep`` leaves in: the input columns a
        forward reads (``model.alive_columns`` for this data's step rows) and ``Data.view``'s
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


class Stepper:
    """The path's optimiser at step size ``lr``; a point that diverges is retried at half the
    step (from the state before it, with fresh momentum), up to ``MAX_HALVINGS`` times.  A
    point has diverged when its training loss is above ``Trainer.loss_limit`` (or not finite),
    its validation loss is not finite, or a weight ran away (``RUNAWAY_FACTOR``).

    1 / L is measured at the dense model; the curvature can grow along the path.  ``start``
    is the state before the last ``fit`` (for the path to retry a point with a finer step).
    """

    def __init__(self, trainer: Trainer, lr: float):
        self.trainer, self.lr = trainer, lr
        self.opt = _path_optimizer(trainer.model, trainer.config.optimizer, lr)
        # the penalty only shrinks: a weight far beyond the dense model's largest is a runaway
        self.limit = RUNAWAY_FACTOR * max(1.0, _largest_weight(trainer.model))
        self.loss_limit = trainer.loss_limit()
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
            diverged = self.trainer.diverged(fit, self.loss_limit)
            if not diverged and math.isfinite(fit[2]) and largest < self.limit:
                return fit
            if largest < self.limit and not math.isfinite(fit[2]):
                self.trainer.blame_validation_rows(lam, keep)  # raises if they are the cause
            self.restore(saved)
            self.lr /= 2
            self.opt = _path_optimizer(model, config.optimizer, self.lr)
        raise TrainingError(lambda s: f"training diverged at lambda {lam:.4g} even with step "
                            f"size {self.lr:.3g}: set a smaller {s('lr')}")


def _largest_weight(model: LassoNet) -> float:
    """max |w| over the model's weights (inf or nan when training has diverged).

    A separable classification lets a too-long step throw the weights far out where the loss
    and its gradient are zero; nothing would bring them back, so such a point is retried.
    """
    with torch.no_grad():  # one copy of every weight and two operations, not two operations
        # per parameter: this runs after every fit, where the per-operation cost is what counts
        largest = torch.cat([p.reshape(-1) for p in model.parameters()]).abs_().max()
    value = float(largest)
    return value if math.isfinite(value) else math.inf


def copy_into(params: list[torch.Tensor], values: list[torch.Tensor]) -> None:
    """Copy ``values`` into ``params`` in place, one by one (call under ``no_grad``)."""
    for param, value in zip(params, values, strict=True):
        param.copy_(value)


def state_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``model``'s state dict (its tensors cloned; cheaper than ``copy.deepcopy``)."""
    return {name: t.detach().clone() for name, t in model.state_dict().items()}
