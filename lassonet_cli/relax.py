"""Relaxed fits: each path point's model trained again on its own features, without penalty."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import torch

from .model import LassoNet
from .optim import Adam
from .pathresult import PathPoint
from .training import Trainer


class Relaxer:
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

    def __init__(self, trainer: Trainer):
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
