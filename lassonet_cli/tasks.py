"""Task definitions: target encoding, output size, loss and validation score.

A task is fitted on the training target (``fit``), then maps targets to tensors (``encode``),
network outputs to a mean loss (``loss``), a score where higher is better (``score``) and
predictions in the user's units (``decode``).  The path driver only uses this contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .errors import DataError

TASKS = ("regression", "classification")


@dataclass
class Regression:
    """Squared error on the standardised target; score R^2."""

    mean: float = 0.0
    scale: float = 1.0
    name: str = field(default="regression", init=False)
    score_name: str = field(default="r2", init=False)
    # largest second derivative of the loss in the network output: d^2/do^2 mean (o - y)^2
    output_curvature: float = field(default=2.0, init=False)

    def fit(self, y: np.ndarray) -> Regression:
        y = np.asarray(y, dtype=np.float64)
        self.mean = float(y.mean())
        sd = float(y.std())
        if not np.isfinite(sd) or sd == 0:
            raise DataError("the target is constant: there is nothing to predict")
        self.scale = sd
        return self

    @property
    def n_outputs(self) -> int:
        return 1

    def encode(self, y: np.ndarray) -> torch.Tensor:
        z = (np.asarray(y, dtype=np.float64) - self.mean) / self.scale
        return torch.as_tensor(z, dtype=torch.float32).unsqueeze(1)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out, y)

    def score(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """R^2 of ``out`` against ``y`` (both standardised, so units cancel).

        Constant ``y`` (possible on a few validation rows) leaves R^2 undefined; as
        scikit-learn's ``r2_score`` does, it is then 1 for an exact fit and 0 otherwise, never
        -inf.
        """
        ss_res = ((y - out) ** 2).sum()
        ss_tot = ((y - y.mean()) ** 2).sum()
        ratio = ss_res / ss_tot.clamp_min(torch.finfo(y.dtype).tiny)
        undefined = (ss_res > 0).to(ratio.dtype)
        return 1 - torch.where(ss_tot > 0, ratio, undefined)

    def decode(self, out: torch.Tensor) -> np.ndarray:
        return out[:, 0].double().cpu().numpy() * self.scale + self.mean

    def to_dict(self) -> dict:
        return {"name": self.name, "mean": self.mean, "scale": self.scale}


@dataclass
class Classification:
    """Cross-entropy over the classes seen in training; score accuracy."""

    classes: list = field(default_factory=list)
    name: str = field(default="classification", init=False)
    score_name: str = field(default="accuracy", init=False)
    # the softmax cross-entropy Hessian in the logits is at most 1/2 (two equally likely classes)
    output_curvature: float = field(default=0.5, init=False)

    def fit(self, y: np.ndarray) -> Classification:
        values = np.unique(np.asarray(y))
        if len(values) < 2:
            only = values[0] if len(values) else "nothing"
            raise DataError(
                f"the target has a single class ({only!r}): classification needs at least two"
            )
        self.classes = [v.item() if hasattr(v, "item") else v for v in values]
        return self

    @property
    def n_outputs(self) -> int:
        return len(self.classes)

    def encode(self, y: np.ndarray) -> torch.Tensor:
        codes = {c: i for i, c in enumerate(self.classes)}
        y = np.asarray(y)
        try:
            idx = [codes[v.item() if hasattr(v, "item") else v] for v in y]
        except KeyError as e:
            raise DataError(f"target value {e.args[0]!r} was not seen in training") from None
        return torch.as_tensor(idx, dtype=torch.long)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, y)

    def score(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (out.argmax(dim=1) == y).to(out.dtype).mean()

    def decode(self, out: torch.Tensor) -> np.ndarray:
        codes = out.argmax(dim=1).cpu().numpy()
        return np.asarray(self.classes, dtype=object)[codes]

    def proba(self, out: torch.Tensor) -> np.ndarray:
        return torch.softmax(out.double(), dim=1).cpu().numpy()

    def to_dict(self) -> dict:
        return {"name": self.name, "classes": list(self.classes)}


def task_from_dict(spec: dict) -> Regression | Classification:
    """Rebuild a fitted task from ``to_dict``'s output (the model file)."""
    if spec.get("name") == "regression":
        return Regression(mean=float(spec["mean"]), scale=float(spec["scale"]))
    if spec.get("name") == "classification":
        return Classification(classes=list(spec["classes"]))
    raise ValueError(f"unknown task {spec.get('name')!r}")


def make_task(name: str) -> Regression | Classification:
    if name == "regression":
        return Regression()
    if name == "classification":
        return Classification()
    raise ValueError(f"unknown task {name!r}")
