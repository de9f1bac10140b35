"""The two optimisers the path uses: SGD with heavy-ball momentum, and Adam.

They perform the updates of ``torch.optim.SGD(momentum=m)`` (no dampening, no Nesterov) and
``torch.optim.Adam`` (a test holds them equal).  They are not the ``torch.optim`` classes
because constructing one imports ``torch._dynamo``, which costs more than a second, as much as
a whole small path.

On the CPU and CUDA a step is one call of torch's fused kernel.  The public way to it is the
functional optimiser, ``torch.optim.sgd.sgd`` or ``torch.optim.adam.adam`` with ``fused=True``
(in those modules' ``__all__``), whose bookkeeping (grouping the tensors by device and dtype,
checks) made a whole training step on breast_cancer's network 5-8% dearer than calling the
kernel itself (``benchmarks/step_parts.py``, ``step sgd kernel`` against ``step sgd
functional``, and the same for Adam).  So a step calls the kernels behind it,
``torch._fused_sgd_`` and ``torch._fused_adam_`` (with ``torch._foreach_add_`` for Adam's
step count), directly, but only where a probe found them in
agreement with the public call: once per device and dtype, three steps of each optimiser on a
few tensors, both ways, must give the same numbers to the bit.  A torch without the kernels,
with a changed signature or with a different result falls back to the public functions; a
non-fused device or dtype always uses them (``tests/test_optim.py`` runs every way).

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

# the private kernels a step calls directly where the probe allows (None: this torch lacks one)
_FUSED_SGD = getattr(torch, "_fused_sgd_", None)
_FUSED_ADAM = getattr(torch, "_fused_adam_", None)


class _Optimizer:
    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float):
        self.params = [p for p in params if p.requires_grad]
        self.lr = lr
        self.fused = _fused_kernels_for(self.params)
        # call the fused kernel directly (see the module's docstring)
        self.direct = self.fused and _direct_kernels_agree(self.params[0])

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
        # None before the first step; then one tensor per parameter (None without momentum)
        self.buffers: list[torch.Tensor | None] | None = None

    @property
    def prox_scale(self) -> float:
        return 1.0 / (1.0 - self.momentum)

    @torch.no_grad()
    def step(self) -> None:
        grads = self._grads()
        if not self.direct:
            if self.buffers is None:
                self.buffers = [None] * len(self.params)  # sgd makes them on its first step
            sgd(self.params, grads, self.buffers, fused=self.fused or None, weight_decay=0.0,
                momentum=self.momentum, lr=self.lr, dampening=0.0, nesterov=False,
                maximize=False)
            return
        first = self.buffers is None
        if first:  # the kernel fills them with the gradients
            self.buffers = [torch.empty_like(g) if self.momentum else None for g in grads]
        _FUSED_SGD(self.params, grads, self.buffers if self.momentum else [],
                   weight_decay=0.0, momentum=self.momentum, lr=self.lr, dampening=0.0,
                   nesterov=False, maximize=False, is_first_step=first)

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
        if not self.direct:
            # the step count, one tensor per parameter, is advanced by adam itself
            adam(self.params, self._grads(), self.m, self.v, [], self.counts,
                 fused=self.fused or None, amsgrad=False, beta1=beta1, beta2=beta2,
                 lr=self.lr, weight_decay=0.0, eps=self.eps, maximize=False)
            return
        torch._foreach_add_(self.counts, 1)  # as adam does before the kernel
        _FUSED_ADAM(self.params, self._grads(), self.m, self.v, [], self.counts, amsgrad=False,
                    lr=self.lr, beta1=beta1, beta2=beta2, weight_decay=0.0, eps=self.eps,
                    maximize=False)

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


# (device, dtype) -> whether the direct kernel calls agree with the public ones there
_AGREE: dict[tuple[torch.device, torch.dtype], bool] = {}


def _direct_kernels_agree(like: torch.Tensor) -> bool:
    """Whether both optimisers, calling the fused kernels directly, update tensors of
    ``like``'s device and dtype exactly as the public functional calls do (probed once)."""
    key = (like.device, like.dtype)
    if key not in _AGREE:
        _AGREE[key] = False  # (the probe's own optimisers are told which way to step)
        _AGREE[key] = _probe(like.device, like.dtype)
    return _AGREE[key]


def _probe(device: torch.device, dtype: torch.dtype) -> bool:
    """Three steps of each optimiser on two small tensors, once by the direct calls and once
    by the public ones (the probe's own generator: torch's global seed is left alone)."""
    gen = torch.Generator().manual_seed(0)
    start = [torch.randn(shape, generator=gen, dtype=dtype) for shape in ((3, 4), (3,))]
    grads = [[torch.randn(t.shape, generator=gen, dtype=dtype) for t in start]
             for _ in range(3)]
    for make in (lambda ps: HeavyBall(ps, lr=0.1), lambda ps: HeavyBall(ps, lr=0.1, momentum=0),
                 lambda ps: Adam(ps, lr=0.1)):
        finals = []
        for direct in (True, False):
            params = [torch.nn.Parameter(t.to(device, copy=True)) for t in start]
            opt = make(params)
            opt.direct = direct
            try:
                for step_grads in grads:
                    for p, g in zip(params, step_grads, strict=True):
                        p.grad = g.to(device)
                    opt.step()
            except Exception:  # noqa: BLE001 - a private kernel that fails in any way is not used
                return False
            finals.append(params)
        if not all(torch.equal(a, b) for a, b in zip(*finals, strict=True)):
            return False
    return True
