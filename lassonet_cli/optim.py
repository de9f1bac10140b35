"""The two optimisers the path uses: SGD with heavy-ball momentum, and Adam.

They perform the same updates as ``torch.optim.SGD(momentum=m)`` (no dampening, no Nesterov)
and ``torch.optim.Adam`` (a test holds them equal), written out here because constructing a
``torch.optim`` optimiser imports ``torch._dynamo``, which costs more than a second, as much as
a whole small path.  On the CPU and CUDA a step is one call of torch's fused kernel
(``torch._fused_sgd_``, ``torch._fused_adam_``, the kernels behind ``torch.optim``'s
``fused=True``); elsewhere, or on a torch without them, one ``torch._foreach_*`` call per term.
On the small networks of a path the step's cost is mostly per-operation overhead: with Adam's
seven foreach calls a whole training step on breast_cancer costs 0.39-0.40 ms, with the fused
kernel 0.32 ms (``benchmarks/step_parts.py``).

Both expose what the path driver needs and nothing else: ``zero_grad``, ``step``,
``state_dict``/``load_state_dict`` (to retry a point from a snapshot), ``lr`` and
``prox_scale``, the factor on the prox step that makes the iteration's fixed point solve the
penalised problem (see ``training.Stepper``).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


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
        grads = self._grads()
        if self.fused:
            first = self.buffers is None
            if first and self.momentum:  # (without momentum the kernel keeps no buffers)
                self.buffers = [torch.empty_like(g) for g in grads]
            torch._fused_sgd_(self.params, grads, self.buffers or [], weight_decay=0.0,
                              momentum=self.momentum, lr=self.lr, dampening=0.0,
                              nesterov=False, maximize=False, is_first_step=first)
            return
        if self.buffers is None:
            self.buffers = [g.clone() for g in grads]
        else:
            torch._foreach_mul_(self.buffers, self.momentum)
            torch._foreach_add_(self.buffers, grads)
        torch._foreach_add_(self.params, self.buffers, alpha=-self.lr)

    def state_dict(self) -> dict:
        buffers = None if self.buffers is None else [b.clone() for b in self.buffers]
        return {"lr": self.lr, "buffers": buffers}

    def load_state_dict(self, state: dict) -> None:
        self.lr = state["lr"]
        buffers = state["buffers"]
        self.buffers = None if buffers is None else [b.clone() for b in buffers]


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
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self) -> None:
        grads = self._grads()
        beta1, beta2 = self.betas
        self.steps += 1
        if self.fused:
            # the kernel reads the step count from a tensor per parameter (bias correction)
            count = torch.full((), float(self.steps), device=self.params[0].device)
            torch._fused_adam_(self.params, grads, self.m, self.v, [], [count] * len(grads),
                               lr=self.lr, beta1=beta1, beta2=beta2, weight_decay=0.0,
                               eps=self.eps, amsgrad=False, maximize=False)
            return
        torch._foreach_lerp_(self.m, grads, 1 - beta1)
        torch._foreach_mul_(self.v, beta2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1 - beta2)
        bias1 = 1 - beta1**self.steps
        bias2 = 1 - beta2**self.steps
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_div_(denom, bias2**0.5)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(self.params, self.m, denom, value=-self.lr / bias1)

    def state_dict(self) -> dict:
        return {"lr": self.lr, "steps": self.steps, "m": [t.clone() for t in self.m],
                "v": [t.clone() for t in self.v]}

    def load_state_dict(self, state: dict) -> None:
        self.lr, self.steps = state["lr"], state["steps"]
        self.m = [t.clone() for t in state["m"]]
        self.v = [t.clone() for t in state["v"]]


def _fused_kernels_for(params: list[torch.Tensor]) -> bool:
    """Whether torch's fused SGD and Adam kernels can update ``params``: this torch has them
    and the parameters are floating point on one CPU or CUDA device."""
    if not (params and hasattr(torch, "_fused_sgd_") and hasattr(torch, "_fused_adam_")):
        return False
    device, dtype = params[0].device, params[0].dtype
    return (device.type in ("cpu", "cuda") and dtype in (torch.float32, torch.float64)
            and all(p.device == device and p.dtype == dtype for p in params))
