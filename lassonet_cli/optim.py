"""The two optimisers the path uses: SGD with heavy-ball momentum, and Adam.

They perform the updates of ``torch.optim.SGD(momentum=m)`` (no dampening, no Nesterov) and
``torch.optim.Adam`` by calling torch's functional optimisers, ``torch.optim.sgd.sgd`` and
``torch.optim.adam.adam`` (public: in those modules' ``__all__``), with ``fused=True`` on the
CPU and CUDA, where a step is one call of torch's fused kernel.  They are not the
``torch.optim`` classes because constructing one imports ``torch._dynamo``, which costs more
than a second, as much as a whole small path; the functional forms do not.

Both expose what the path driver needs and nothing else: ``zero_grad``, ``step``,
``state_dict``/``load_state_dict`` (to retry a point from a snapshot), ``lr`` and
``prox_scale``, the factor on the prox step that makes the iteration's fixed point solve the
penalised problem (see ``training.Stepper``).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.optim.adam import adam
from torch.optim.sgd import sgd


class _Optimizer:
    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float):
        self.params = [p for p in params if p.requires_grad]
        self.lr = lr
        self.fused = _fused_kernels_for(self.params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _grads(self) -> list[torch.Tensor]:
        # a parameter the loss does not reach has no gradient: it is a zero gradient
        return [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]


class HeavyBall(_Optimizer):
    """SGD with momentum: ``b <- m b + g``, ``w <- w - lr b`` (``b = g`` on the first step).

    Parameters
    ----------
    params : the parameters to update
    lr : step size
    momentum : m in [0, 1)

    ``prox_scale`` is 1 / (1 - m): at a fixed point the step moves by lr * g / (1 - m), so the
    prox must shrink by lr * lam / (1 - m) for the fixed point to satisfy
    0 in g + lam * d||theta||.
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, momentum: float = 0.9):
        super().__init__(params, lr)
        self.momentum = momentum
        self.buffers: list[torch.Tensor] | None = None

    @property
    def prox_scale(self) -> float:
        return 1.0 / (1.0 - self.momentum)

    @torch.no_grad()
    def step(self) -> None:
        if self.buffers is None:
            self.buffers = [None] * len(self.params)  # made by the first step
        sgd(self.params, self._grads(), self.buffers, fused=self.fused or None,
            weight_decay=0.0, momentum=self.momentum, lr=self.lr, dampening=0.0, nesterov=False,
            maximize=False)

    def state_dict(self) -> dict:
        buffers = None if self.buffers is None else [
            None if b is None else b.clone() for b in self.buffers]
        return {"lr": self.lr, "buffers": buffers}

    def load_state_dict(self, state: dict) -> None:
        self.lr = state["lr"]
        buffers = state["buffers"]
        self.buffers = None if buffers is None else [
            None if b is None else b.clone() for b in buffers]


class Adam(_Optimizer):
    """Adam (Kingma and Ba 2015) with bias correction, betas (0.9, 0.999), eps 1e-8.

    Adam rescales every coordinate, so with Adam lambda is only a relative scale
    (``prox_scale`` is 1).
    """

    prox_scale = 1.0

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        super().__init__(params, lr)
        self.betas, self.eps = betas, eps
        self.steps = 0
        self.counts = self._counts(0)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.betas
        self.steps += 1
        # the step count, one tensor per parameter, is advanced by adam itself
        adam(self.params, self._grads(), self.m, self.v, [], self.counts,
             fused=self.fused or None, amsgrad=False, beta1=beta1, beta2=beta2, lr=self.lr,
             weight_decay=0.0, eps=self.eps, maximize=False)

    def _counts(self, steps: int) -> list[torch.Tensor]:
        """The step count as adam reads it: a float32 scalar tensor per parameter (on the
        parameter's device for the fused kernel, on the CPU otherwise)."""
        return [torch.tensor(float(steps), dtype=torch.float32,
                             device=p.device if self.fused else "cpu") for p in self.params]

    def state_dict(self) -> dict:
        return {"lr": self.lr, "steps": self.steps, "m": [t.clone() for t in self.m],
                "v": [t.clone() for t in self.v]}

    def load_state_dict(self, state: dict) -> None:
        self.lr, self.steps = state["lr"], state["steps"]
        self.counts = self._counts(self.steps)
        self.m = [t.clone() for t in state["m"]]
        self.v = [t.clone() for t in state["v"]]


def _fused_kernels_for(params: list[torch.Tensor]) -> bool:
    """Whether torch's fused SGD and Adam kernels can update ``params``: floating point on one
    CPU or CUDA device (elsewhere the functional optimisers pick their own implementation)."""
    if not params:
        return False
    device, dtype = params[0].device, params[0].dtype
    return (device.type in ("cpu", "cuda") and dtype in (torch.float32, torch.float64)
            and all(p.device == device and p.dtype == dtype for p in params))
