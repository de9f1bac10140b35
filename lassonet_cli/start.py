"""Estimates made at the dense model before the path starts: its first lambda and its step size.

Both read at most ``START_ROWS`` training rows and train nothing.

The first lambda (``auto_lambda_start``).  After the dense phase, for every unit j (a feature, or
a group) we compute the smallest penalty at which theta_j = 0, W_j = 0 is a stationary point of
the penalised problem when everything else stays at the dense solution.  Linearising the loss
around the model with unit j removed, the subproblem in (theta_j, W_j) is
``g_theta . theta_j + <g_W, W_j> + lam ||theta_j||`` under ``||W_j||_inf <= M ||theta_j||``, whose
minimum is 0 exactly when

    lam >= ||g_theta||_2 + M * ||g_W||_1,                                            (*)

with g_theta and g_W the loss gradients for the unit's skip and input-layer weights, taken with
the unit's columns zeroed.  (For the lasso with orthogonal inputs (*) is exactly |beta_j|, the
point where feature j leaves.)  Zeroing one unit changes the input layer by a rank-|unit| term,
so all units are evaluated in a few batched forward/backward passes on at most ``START_ROWS``
rows.  The smallest positive value of (*) is a lower bound on the first exit (the other units
shrink too as lambda grows, and a saturated fit makes the gradients small), so the driver raises
lambda from it until a unit leaves (``path._climb_to_first_exit``).

The step size (``auto_lr``): ``STEP_FACTOR / L``, with L the curvature of the training loss.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .model import LassoNet

START_ROWS = 2048
STEP_FACTOR = 2.0


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
    step (``training.Stepper``).
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
