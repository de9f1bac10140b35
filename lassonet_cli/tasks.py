"""Task definitions: target encoding, output size, loss and validation score.

A task is fitted on the training target (``fit``), then maps targets to tensors (``encode``),
network outputs to a mean loss (``loss``), a score where higher is better (``score``) and
predictions in the user's units (``decode``, and ``prediction_columns`` for the predict table).
The path driver only uses this contract; besides, every task has

* ``n_outputs``: the network's output size c;
* ``output_curvature``: an upper bound of the loss's second derivative in the network outputs,
  per row (the loss's Hessian in the (n, c) outputs is at most ``output_curvature / n`` times the
  identity); ``start.auto_lr`` multiplies it by the top eigenvalue of X^T X / n for a step size;
* ``loss_of_copies(out, y)``: out (m, n, c) holds m sets of outputs for the same n rows; the sum
  over the m sets of ``loss(out[k], y)`` (``start.exit_thresholds`` scores m models at once);
* ``strata(y)``: labels to stratify row splits by (validation, test, folds), or None;
* ``unscorable(y)``: why ``score`` is undefined on held-out rows with raw target ``y`` (R^2
  on rows of one value, a C-index on rows no pair of which it can order), or None;
* ``to_dict()`` / ``task_from_dict``: the fitted task in the model file.

The raw target a task is fitted on (``targets.task_target``): a (n,) array of numbers or labels
(regression, classification), a (n, 2) array of (time, event) (cox), or the (n, p) numeric
feature matrix itself (reconstruction).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .cox import TIES, concordance_index, cox_loss
from .errors import DataError

TASKS = ("regression", "classification", "cox", "reconstruction")
# Standard deviations of a reconstruction error beyond which its loss grows linearly
# (Reconstruction.loss; benchmarks/unsupervised.py, RESULTS.md "Unsupervised selection")
HUBER_DELTA = 1.0


def _repeated_loss(loss, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over m of ``loss(out[k], y)`` for a loss that is a mean over rows: one call on the m
    copies stacked as m * n rows, times m."""
    m, n = out.shape[:2]
    return loss(out.reshape(m * n, -1), y.repeat(m, *([1] * (y.dim() - 1)))) * m


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
        mean, sd = _mean_std(np.asarray(y, dtype=np.float64))
        self.mean = float(mean)
        sd = float(sd)
        if not np.isfinite(sd) or sd == 0:
            raise DataError("the target is constant: there is nothing to predict")
        self.scale = sd
        return self

    @property
    def n_outputs(self) -> int:
        return 1

    def encode(self, y: np.ndarray) -> torch.Tensor:
        # a value far outside the training rows' range (held-out rows only) becomes inf here,
        # quietly: the path then names those rows (``Trainer.blame_validation_rows``)
        with np.errstate(over="ignore"):
            z = (np.asarray(y, dtype=np.float64) - self.mean) / self.scale
        return torch.as_tensor(z, dtype=torch.float32).unsqueeze(1)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out, y)

    def loss_of_copies(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _repeated_loss(self.loss, out, y)

    def strata(self, y: np.ndarray) -> None:
        return None

    def unscorable(self, y: np.ndarray) -> str | None:
        if len(np.unique(np.asarray(y, dtype=np.float64))) < 2:
            return "hold a single target value, on which R^2 is undefined"
        return None

    def score(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """R^2 of ``out`` against ``y`` (both standardised, so units cancel).

        Constant ``y`` (possible on a few validation rows) leaves R^2 undefined; as
        scikit-learn's ``r2_score`` does, it is then 1 for an exact fit and 0 otherwise, never
        -inf.
        """
        return _r2(out, y)

    def decode(self, out: torch.Tensor) -> np.ndarray:
        return out[:, 0].double().cpu().numpy() * self.scale + self.mean

    def prediction_columns(self, out: torch.Tensor) -> dict[str, np.ndarray]:
        return {"prediction": self.decode(out)}

    def to_dict(self) -> dict:
        return {"name": self.name, "mean": self.mean, "scale": self.scale}


@dataclass
class Classification:
    """Cross-entropy over the classes seen in training; score accuracy."""

    classes: list = field(default_factory=list)
    # dtype of the training labels (None after loading a model file: inferred from the classes)
    label_dtype: np.dtype | None = field(default=None, compare=False)
    name: str = field(default="classification", init=False)
    score_name: str = field(default="accuracy", init=False)
    # the softmax cross-entropy Hessian in the logits is at most 1/2 (two equally likely classes)
    output_curvature: float = field(default=0.5, init=False)

    def fit(self, y: np.ndarray) -> Classification:
        y = np.asarray(y)
        values = np.unique(y)
        self.label_dtype = y.dtype
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

    @property
    def labels(self) -> np.ndarray:
        """(classes,) the class labels as an array of the training labels' dtype."""
        return np.asarray(self.classes, dtype=self.label_dtype)

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

    def loss_of_copies(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _repeated_loss(self.loss, out, y)

    def strata(self, y: np.ndarray) -> np.ndarray:
        return y

    def unscorable(self, y: np.ndarray) -> None:
        return None

    def score(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (out.argmax(dim=1) == y).to(out.dtype).mean()

    def decode(self, out: torch.Tensor) -> np.ndarray:
        codes = out.argmax(dim=1).cpu().numpy()
        return self.labels[codes]

    def proba(self, out: torch.Tensor) -> np.ndarray:
        return torch.softmax(out.double(), dim=1).cpu().numpy()

    def prediction_columns(self, out: torch.Tensor) -> dict[str, np.ndarray]:
        proba = self.proba(out)
        columns = {"prediction": self.decode(out)}
        columns.update({f"proba_{label}": proba[:, i] for i, label in enumerate(self.classes)})
        return columns

    def to_dict(self) -> dict:
        return {"name": self.name, "classes": list(self.classes)}


@dataclass
class Cox:
    """Cox proportional hazards on right-censored (time, event) targets; score Harrell's C-index.

    The network's single output is the risk score eta (log relative hazard).  The loss is the
    negative partial log-likelihood per event (``cox.cox_loss``) with Efron's or Breslow's
    handling of tied event times.  It is invariant to adding a constant to eta, so the bias of the
    backbone's last layer is harmless.  On a minibatch it is the partial likelihood of the
    batch's rows (risk sets within the batch), which is the usual stochastic estimate; a batch
    without events contributes 0.

    Targets are encoded as (time rank, event) in float32: both the partial likelihood and the
    C-index depend on the times only through their order, and ranks keep ties exact.
    """

    ties: str = "efron"
    n_train: int = 0
    name: str = field(default="cox", init=False)
    score_name: str = field(default="c_index", init=False)

    def fit(self, y: np.ndarray) -> Cox:
        y = np.asarray(y, dtype=np.float64)
        if self.ties not in TIES:
            raise DataError(f"unknown ties method {self.ties!r}: use efron or breslow")
        if not (y[:, 1] > 0).any():
            raise DataError("no events in the training rows: the Cox model needs at least one "
                            "observed event (event = 1)")
        self.n_train = len(y)
        return self

    @property
    def n_outputs(self) -> int:
        return 1

    @property
    def output_curvature(self) -> float:
        # In the risk scores eta (n,), the loss is (1/D) sum over the D events i of
        # log sum_{j in R_i} w_j exp(eta_j) - eta_i, with weights w_j = 1, except for the tied
        # events in Efron's l-th term (w = 1 - l/d).  The Hessian of a weighted log-sum-exp is
        # the covariance matrix of the indicator e_J, J drawn with probability proportional to
        # w_j exp(eta_j); for a unit vector f, f' Cov f = Var(f_J) <= (max f - min f)^2 / 4
        # <= 1/2 (Popoviciu; (f_a - f_b)^2 <= 2 (f_a^2 + f_b^2) <= 2).  So the Hessian of the
        # loss is at most (1/D) * D * 1/2 = 1/2 times the identity, for any eta, and this bound
        # is attained (two rows of equal risk left in every risk set).  Unlike a mean over rows
        # it does not shrink with n: in the per-row convention of the contract that is n / 2,
        # with n the rows of one batch, at most the training rows.
        return max(self.n_train, 1) / 2

    def encode(self, y: np.ndarray) -> torch.Tensor:
        y = np.asarray(y, dtype=np.float64)
        ranks = np.unique(y[:, 0], return_inverse=True)[1].reshape(-1)
        encoded = np.column_stack([ranks, y[:, 1] > 0]).astype(np.float32)
        return torch.from_numpy(encoded)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return cox_loss(out[:, 0], y[:, 0], y[:, 1], self.ties)

    def loss_of_copies(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # risk sets must not mix the copies: one loss per copy, sorted once
        return cox_loss(out[..., 0], y[:, 0], y[:, 1], self.ties).sum()

    def strata(self, y: np.ndarray) -> np.ndarray:
        """Splits keep events on both sides: stratify on the event indicator."""
        return np.asarray(y, dtype=np.float64)[:, 1] > 0

    def unscorable(self, y: np.ndarray) -> str | None:
        """The C-index orders pairs of rows in which one has an event before the other's
        time: without such a pair it is undefined (``concordance_index`` gives it 0.5)."""
        y = np.asarray(y, dtype=np.float64)
        events = y[:, 1] > 0
        if not events.any():
            return "hold no event, and the C-index orders rows by their events"
        if not (y[events, 0] < y[:, 0].max()).any():
            return ("hold no event before another row's time, and the C-index orders rows by "
                    "their events")
        return None

    def score(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return concordance_index(out[:, 0], y[:, 0], y[:, 1])

    def decode(self, out: torch.Tensor) -> np.ndarray:
        """(n,) risk scores: log relative hazard up to a constant (higher = earlier event)."""
        return out[:, 0].double().cpu().numpy()

    def prediction_columns(self, out: torch.Tensor) -> dict[str, np.ndarray]:
        return {"prediction": self.decode(out)}

    def to_dict(self) -> dict:
        return {"name": self.name, "ties": self.ties, "n_train": self.n_train}


@dataclass
class Reconstruction:
    """Reconstruct every (standardised) feature column from the selected ones; score R^2.

    The target is the (n, p) numeric feature matrix itself, standardised with the training rows'
    statistics (``fit``), so validation and test rows are scaled as the inputs are.  The loss is
    the squared error where it is below ``HUBER_DELTA`` standard deviations and grows linearly
    beyond (twice the Huber loss, a mean over all rows and columns): a nearly constant column,
    such as a border pixel with ink in a few images, standardises to values of 10-40 on those
    rows, and under the squared error alone their error outweighed everything the other columns
    share, so keeping such a column, which only it can rebuild, ranked it first (on digits, four
    of the top 10 pixels were ink on 1-3 of 1,257 training images).  The score is R^2 pooled
    over columns,
    ``1 - sum_ij (y_ij - out_ij)^2 / sum_ij (y_ij - mean_i' y_i'j)^2`` over the scored rows i
    and columns j in standardised units, so every column counts about equally.
    """

    columns: list = field(default_factory=list)
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.ones(0))
    name: str = field(default="reconstruction", init=False)
    score_name: str = field(default="r2", init=False)

    def fit(self, y: np.ndarray) -> Reconstruction:
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 2 or y.shape[1] != len(self.columns):
            raise DataError("the reconstruction target must hold one column per feature")
        self.mean, scale = _mean_std(y, axis=0)
        scale[y.max(axis=0) == y.min(axis=0)] = 1.0  # constant in training: nothing to scale
        self.scale = scale
        return self

    @property
    def n_outputs(self) -> int:
        return len(self.columns)

    @property
    def output_curvature(self) -> float:
        # per row the loss is (1/p) sum_j (out_j - y_j)^2: Hessian (2/p) I in the p outputs
        return 2.0 / max(len(self.columns), 1)

    def encode(self, y: np.ndarray) -> torch.Tensor:
        with np.errstate(over="ignore"):  # (as Regression.encode)
            z = (np.asarray(y, dtype=np.float64) - self.mean) / self.scale
        return torch.as_tensor(z, dtype=torch.float32)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # (twice Huber's: the squared error itself below the threshold, so its curvature
        # bound, output_curvature, is the squared error's)
        return 2.0 * F.huber_loss(out, y, delta=HUBER_DELTA)

    def loss_of_copies(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _repeated_loss(self.loss, out, y)

    def strata(self, y: np.ndarray) -> None:
        return None

    def unscorable(self, y: np.ndarray) -> str | None:
        y = np.asarray(y, dtype=np.float64)
        if not np.any(y != y[:1]):
            return "are all alike, and R^2 is undefined on rows of one value"
        return None

    def score(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Pooled R^2 of ``out`` (n, p) against ``y`` (n, p), in standardised units."""
        return _r2(out, y)

    def decode(self, out: torch.Tensor) -> np.ndarray:
        """(n, p) reconstructed feature values in the table's units."""
        return out.double().cpu().numpy() * self.scale + self.mean

    def prediction_columns(self, out: torch.Tensor) -> dict[str, np.ndarray]:
        values = self.decode(out)
        return {f"{c}_hat": values[:, j] for j, c in enumerate(self.columns)}

    def to_dict(self) -> dict:
        return {"name": self.name, "columns": [str(c) for c in self.columns],
                "mean": [float(v) for v in self.mean], "scale": [float(v) for v in self.scale]}


Task = Regression | Classification | Cox | Reconstruction


def task_from_dict(spec: dict) -> Task:
    """Rebuild a fitted task from ``to_dict``'s output (the model file)."""
    name = spec.get("name")
    if name == "regression":
        return Regression(mean=float(spec["mean"]), scale=float(spec["scale"]))
    if name == "classification":
        return Classification(classes=list(spec["classes"]))
    if name == "cox":
        ties = spec.get("ties", "efron")
        if ties not in TIES:
            raise ValueError(f"unknown ties method {ties!r}")
        return Cox(ties=ties, n_train=int(spec.get("n_train", 0)))
    if name == "reconstruction":
        columns = [str(c) for c in spec["columns"]]
        mean = np.asarray(spec["mean"], dtype=np.float64)
        scale = np.asarray(spec["scale"], dtype=np.float64)
        if not len(columns) == len(mean) == len(scale):
            raise ValueError("reconstruction statistics do not match its columns")
        return Reconstruction(columns=columns, mean=mean, scale=scale)
    raise ValueError(f"unknown task {name!r}")


def make_task(name: str, ties: str = "efron", columns: list[str] | None = None) -> Task:
    """An unfitted task.  ``ties``: for cox; ``columns``: the features, for reconstruction."""
    if name == "regression":
        return Regression()
    if name == "classification":
        return Classification()
    if name == "cox":
        if ties not in TIES:
            raise ValueError(f"unknown ties method {ties!r}: use efron or breslow")
        return Cox(ties=ties)
    if name == "reconstruction":
        return Reconstruction(columns=list(columns or []))
    raise ValueError(f"unknown task {name!r}")


def _mean_std(y: np.ndarray, axis: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation along ``axis`` of finite values, computed on y / max|y| so
    that values near 1e300 do not overflow (their squares would)."""
    big = np.abs(y).max(axis=axis, keepdims=True) if y.size else np.ones((1,) * y.ndim)
    big = np.where(big > 0, big, 1.0)
    z = y / big
    big = big.squeeze() if axis is None else big.squeeze(axis)
    return z.mean(axis=axis) * big, z.std(axis=axis) * big


def _r2(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """R^2 pooled over the columns of ``y`` (n, p): 1 - SS_res / SS_tot around column means.

    Constant ``y`` (possible on a few validation rows) leaves R^2 undefined; as scikit-learn's
    ``r2_score`` does, it is then 1 for an exact fit and 0 otherwise, never -inf.
    """
    ss_res = ((y - out) ** 2).sum()
    # a constant column's float32 mean need not equal its value (0.1 x 40 rows): count its
    # spread as exactly 0, or a rounding residue would become the denominator
    constant = (y == y[:1]).all(dim=0)
    ss_tot = torch.where(constant, 0.0, ((y - y.mean(dim=0)) ** 2).sum(dim=0)).sum()
    ratio = ss_res / ss_tot.clamp_min(torch.finfo(y.dtype).tiny)
    undefined = (ss_res > 0).to(ratio.dtype)
    return 1 - torch.where(ss_tot > 0, ratio, undefined)
