"""Options of the path driver (SPEC section 4): ``PathConfig``, checked by ``validate`` and made
concrete for a table's training rows by ``resolved``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from . import defaults
from .errors import ConfigError


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
    # "sgd" or "adam"; None: by table shape (``training.dense_optimizer``)
    dense_optimizer: str | None = None
    batch_size: int | None = None
    tol: float = 0.99
    relax: bool = defaults.RELAX
    relax_lr: float = 1e-2
    relax_max_epochs: int | None = None  # None: by batch mode (``resolved``)
    relax_patience: int = defaults.RELAX_PATIENCE
    # exits at points whose lambda is within this factor of a group's first exit are ordered
    # together (``exits.ExitGroup``); None: one path step (``path_multiplier``), 1: one point's
    # exits
    exit_window: float | None = None
    # rounds of ``max_epochs`` more at a point where units left (``exits.settle``); None: by
    # batch mode and table shape (``exits.settle_rounds``)
    settle_rounds: int | None = None

    def validate(self) -> None:
        if not 0 <= self.M <= defaults.MAX_M:
            raise ConfigError(lambda s: f"{s('M')} must be a number from 0 to "
                                        f"{defaults.MAX_M:,.0f}, got {self.M:g}")
        low, high = defaults.PATH_MULTIPLIER_RANGE
        if not low <= self.path_multiplier <= high:
            raise ConfigError(lambda s: f"{s('path_multiplier')} must be a number from {low:g} "
                                        f"to {high:g}, got {self.path_multiplier}")
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


def default_batch_size(n_rows: int) -> int | None:
    """Full batch (None) while the training set is small, else minibatches."""
    return None if n_rows <= 16384 else 1024
