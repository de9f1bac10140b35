"""Evaluating a selection: the backbone refitted densely on a chosen set of features."""

from __future__ import annotations

import numpy as np
import torch

from .backbones import BackboneSpec
from .model import LassoNet
from .path import PathConfig, train_dense


def refit_score(
    task,
    X_train: torch.Tensor,
    y_train: torch.Tensor,
    X_val: torch.Tensor,
    y_val: torch.Tensor,
    X_test: torch.Tensor,
    y_test: torch.Tensor,
    features: np.ndarray,
    backbone: BackboneSpec,
    config: PathConfig | None = None,
    seed: int = 0,
    dropout: float = 0.0,
) -> float:
    """Test score of the skip layer + backbone trained without penalty on ``features`` only.

    Parameters
    ----------
    task : a fitted task (``tasks``)
    X_train, X_val, X_test : (n, d) standardised features; y_* encoded targets
    features : indices of the columns to keep
    backbone : the network to refit
    config : training options (the dense-phase ones are used); defaults if None
    seed : seeds the initialisation and minibatch order
    """
    config = config or PathConfig()
    cols = torch.as_tensor(np.asarray(features, dtype=np.int64), device=X_train.device)
    torch.manual_seed(seed)
    k = len(cols)
    model = LassoNet(k, task.n_outputs, backbone.build(k, task.n_outputs, dropout))
    model = model.to(X_train.device)
    generator = torch.Generator().manual_seed(seed)
    train_dense(model, task, X_train[:, cols], y_train, X_val[:, cols], y_val, config, generator)
    model.eval()
    with torch.no_grad():
        return float(task.score(model(X_test[:, cols]), y_test))
