"""Proximal operators of LassoNet: HIER-PROX and the plain soft-threshold.

HIER-PROX (Lemhadri, Ruan, Abraham and Tibshirani, "LassoNet: A Neural Network with Feature
Sparsity", JMLR 22, 2021, Algorithm 2) is the exact solution of the per-unit problem

    minimise_{b, W}  1/2 ||v - b||_2^2 + 1/2 ||u - W||_2^2 + lam * ||b||_2
    subject to       ||W||_inf <= M * ||b||_2                                       (eq. 4.1)

where, for a feature j, ``v`` is its column of skip weights theta (one entry per output) and ``u``
its column of the input layer W^(0) (one entry per hidden unit), both after the optimiser's step,
and ``lam`` is the step-scaled penalty.  For a feature *group* g the same problem is solved with
``v`` the flattened skip block theta_g and ``u`` the flattened input-layer block W^(0)_g, so the
group enters and leaves as one (constraint ||W_g||_inf <= M ||theta_g||_2).

Derivation used here.  Write b = t * v / ||v|| with t = ||b|| >= 0.  For fixed t the W-part is
separable: W_i = sign(u_i) * min(|u_i|, M t).  What is left is the convex 1-D problem

    f(t) = 1/2 (t - ||v||)^2 + lam * t + 1/2 * sum_i (|u_i| - M t)_+^2 ,  t >= 0,

whose derivative f'(t) = t - ||v|| + lam - M * sum_i (|u_i| - M t)_+ is strictly increasing.  With
|u|_(1) >= ... >= |u|_(K) sorted and S_m the sum of the m largest, the minimiser has exactly
m* = #{k : f'(|u|_(k) / M) > 0} active entries (those with |u_i| > M t*), and then

    t* = (||v|| + M S_m* - lam)_+ / (1 + m* M^2)           (Algorithm 2's w_m divided by M)

which is the closed form of Algorithm 2, step 3.  Counting m* directly (instead of searching for
the first m whose interval condition holds) needs no branch per unit, treats ties in |u| exactly and
stays valid for M = 0, where it reduces to the group soft-threshold with W = 0.

Zero skip column.  When ||v|| = 0 the optimal *size* t* is still given above (it can be positive
when M * ||u||_1 > lam) but every direction of b is optimal; we return b along the first output
axis, b = (t*, 0, ..., 0), so the result is deterministic and the constraint holds.

All functions are pure tensor functions, except ``hier_prox_features_``, the training loop's
in-place version: they do not modify their arguments, work in float32 and float64 on any device
and loop over neither features nor groups.  On the CPU ``hier_prox_features_`` runs on the
parameters' memory in a compiled kernel (``_hierprox.c``, built at install where a C compiler
is present; 1.2-1.7x faster on a whole path of the small tables, ``benchmarks/prox_speed.py``)
and else, as on every other device, in torch.  The kernel first tries, for a clipped unit, the
solution with every entry of u active (m* = q), the usual case along the path; where that
fails it runs Newton's method on f' from that candidate: f' is concave and piecewise linear,
so each step (the closed form above on the current active set {i : |u_i| > M t}) stays at or
below t*, the set only shrinks, and t* is reached when it stops changing, in at most q steps
and, along the path, in two or three.  The torch version sorts every unit and counts m*.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch

try:  # the compiled kernel, built by setup.py where a C compiler is present
    from . import _hierprox as _compiled
except ImportError:  # pragma: no cover - depends on the install
    _compiled = None

__all__ = [
    "GroupLayout",
    "hier_prox",
    "hier_prox_features",
    "hier_prox_features_",
    "hier_prox_features_step",
    "hier_prox_groups",
    "soft_threshold",
]


def _check_M(M: float) -> None:
    if not (M >= 0 and M < float("inf")):
        raise ValueError(f"M must be finite and >= 0, got {M}")


def soft_threshold(x: torch.Tensor, lam: float | torch.Tensor) -> torch.Tensor:
    """Prox of ``lam * ||x||_1``: ``sign(x) * max(|x| - lam, 0)``, elementwise.

    Parameters
    ----------
    x : tensor of any shape
    lam : float or tensor broadcastable to ``x``, >= 0 (already multiplied by the step size)
    """
    return torch.sign(x) * torch.clamp(x.abs() - lam, min=0)


def hier_prox(
    v: torch.Tensor, u: torch.Tensor, lam: float | torch.Tensor, M: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """HIER-PROX for ``n`` independent units, one per row.

    Parameters
    ----------
    v : (n, p) tensor
        Skip weights of each unit (p = outputs, or outputs x group size).
    u : (n, q) tensor
        Input-layer weights of each unit (q = hidden units, or hidden units x group size);
        q may be 0 (linear backbone: the result is the group soft-threshold of ``v``).
    lam : float or (n,) tensor, >= 0
        Step-scaled penalty.
    M : float, >= 0
        Hierarchy multiplier.

    Returns
    -------
    b : (n, p) tensor
    W : (n, q) tensor
        The exact minimiser of eq. 4.1 for every row.
    """
    _check_M(M)
    n, q = u.shape
    lam_t = torch.as_tensor(lam, dtype=v.dtype, device=v.device).expand(n)
    v_norm = _norm(v, dim=1)  # (n,)
    # m* = 0 (no entry of u clipped) gives the soft-threshold of ||v||; it is the answer
    # exactly when max|u| <= M * t, which holds for most units at most steps.
    t = torch.clamp(v_norm - lam_t, min=0)
    if q == 0:
        return _along(v, v_norm, t), u.clone()
    a = u.abs()
    # ||v|| + M ||u||_1 <= lam: the unit is out (t* = 0, and already t = 0 above)
    out = v_norm + M * a.sum(dim=1) <= lam_t
    clipped = (a.amax(dim=1) > M * t) & ~out
    if v.device.type == "cpu":
        # sort only the rows that need it; on the CPU the index costs no device round trip
        rows = clipped.nonzero().squeeze(1)
        if len(rows):
            t[rows] = _clipped_size(v_norm[rows], a[rows], lam_t[rows], M)
    else:
        t = torch.where(clipped, _clipped_size(v_norm, a, lam_t, M), t)
    bound = (M * t).unsqueeze(1)
    W = torch.minimum(torch.maximum(u, -bound), bound)
    return _along(v, v_norm, t), W


def _norm(v: torch.Tensor, dim: int) -> torch.Tensor:
    """Euclidean norm along ``dim``, scaled by the largest entry first.

    The squares of tiny entries (below about 1e-154 in float64, 1e-19 in float32) underflow,
    and an unscaled norm of such a vector is off by far more than rounding: the result would
    break the constraint by that much.
    """
    big = v.abs().amax(dim=dim, keepdim=True)
    big = torch.where(big > 0, big, torch.ones_like(big))
    return torch.linalg.vector_norm(v / big, dim=dim) * big.squeeze(dim)


def _clipped_size(
    v_norm: torch.Tensor, a: torch.Tensor, lam: torch.Tensor, M: float
) -> torch.Tensor:
    """(n,) optimal ||b|| = t* from the counting rule of the module docstring; a = |u|: (n, q)."""
    n, q = a.shape
    a_sorted = torch.sort(a, dim=1, descending=True).values
    top_sum = torch.cumsum(a_sorted, dim=1)  # S_k, k = 1..q
    k = torch.arange(1, q + 1, dtype=a.dtype, device=a.device)
    excess = top_sum - k * a_sorted  # sum_i (|u_i| - |u|_(k))_+
    slack = (v_norm - lam).unsqueeze(1)
    # sign of M * f'(|u|_(k) / M); for M >= 1 divide by M^2 so that huge M cannot overflow
    if M >= 1:
        positive = a_sorted / (M * M) - slack / M - excess > 0
    else:
        positive = a_sorted - M * slack - (M * M) * excess > 0
    m = positive.sum(dim=1)
    s_m = torch.cat([a.new_zeros(n, 1), top_sum], dim=1).gather(1, m.unsqueeze(1)).squeeze(1)
    m = m.to(a.dtype)
    if M >= 1:
        return torch.clamp(v_norm / M + s_m - lam / M, min=0) / (1 / M + m * M)
    return torch.clamp(v_norm + M * s_m - lam, min=0) / (1 + m * M * M)


def _along(v: torch.Tensor, v_norm: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Rows of length ``t`` in the direction of the rows of ``v`` (first axis where v = 0)."""
    direction = v / torch.where(v_norm > 0, v_norm, torch.ones_like(v_norm)).unsqueeze(1)
    b = direction * t.unsqueeze(1)
    if v.shape[1]:
        b[:, 0] = torch.where(v_norm > 0, b[:, 0], t)
    return b


def hier_prox_features(
    theta: torch.Tensor, W: torch.Tensor | None, lam: float | torch.Tensor, M: float
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """HIER-PROX applied to every input feature of a LassoNet layer pair.

    Parameters
    ----------
    theta : (c, d) tensor
        Skip-layer weight (c outputs, d features), laid out as ``torch.nn.Linear.weight``.
    W : (K, d) tensor or None
        Constrained input-layer weight; None for a linear backbone.
    lam : float or (d,) tensor
        Step-scaled penalty.
    M : float

    Returns
    -------
    theta_new : (c, d) tensor
    W_new : (K, d) tensor or None
    """
    u = W.T if W is not None else theta.new_zeros(theta.shape[1], 0)
    b, w = hier_prox(theta.T, u, lam, M)
    return b.T, (w.T if W is not None else None)


def hier_prox_features_(
    theta: torch.Tensor,
    W: torch.Tensor | None,
    lam: float | torch.Tensor,
    M: float,
    keep: torch.Tensor | None = None,
) -> torch.Tensor:
    """In-place ``hier_prox_features``, for the training loop; returns the new ||theta_j||.

    Same result as ``hier_prox_features`` (a test holds them equal) with about half the
    operations: the direction of theta_j is kept by one multiplication per column and W^(0) is
    clipped in place.  On the CPU, where it is built, the compiled kernel
    (``_hier_prox_features_compiled``) runs on the parameters' own memory: the arrays are small
    (hidden x d), so the cost is the per-operation overhead, lowest in one compiled call
    (``benchmarks/prox_speed.py``); elsewhere torch (``_hier_prox_features_torch``).

    Parameters
    ----------
    theta : (c, d) skip weight, modified in place
    W : (K, d) input-layer weight or None, modified in place
    lam : float or (d,) tensor, step-scaled penalty
    M : float
    keep : optional (d,) 0/1 float mask; features with 0 are set to zero (eliminated)

    Returns
    -------
    (d,) tensor: ||theta_j||_2 after the prox (0 = the feature is out)
    """
    _check_M(M)
    if _compiled is not None and _in_cpu_memory(theta, W):
        return _hier_prox_features_compiled(theta, W, lam, M, keep)
    return _hier_prox_features_torch(theta, W, lam, M, keep)


def _in_cpu_memory(theta: torch.Tensor, W: torch.Tensor | None) -> bool:
    """Whether the compiled kernel can work on the weights' own memory: contiguous
    float32 or float64 CPU tensors, W (if any) of theta's dtype with theta's columns."""
    return (theta.device.type == "cpu" and theta.dtype in (torch.float32, torch.float64)
            and theta.dim() == 2 and theta.is_contiguous()
            and (W is None or (W.device == theta.device and W.dtype == theta.dtype
                               and W.dim() == 2 and W.shape[1] == theta.shape[1]
                               and W.is_contiguous())))


def _hier_prox_features_compiled(
    theta: torch.Tensor,
    W: torch.Tensor | None,
    lam: float | torch.Tensor,
    M: float,
    keep: torch.Tensor | None = None,
) -> torch.Tensor:
    """``hier_prox_features_`` by the compiled kernel (``_hierprox.c``), on contiguous CPU
    float32 or float64 ``theta`` and ``W``: the steps of the torch version in one call, except
    that a clipped column's active set is found by Newton's method on f' from the all-active
    candidate (module docstring) rather than by sorting.

    Diverged weights come out non-finite, as in the torch version, though not always the same
    way: a column with a non-finite entry in W, where torch may still return a finite length,
    gets NaN (the path sees either and retries the point).
    """
    return _CompiledStep(theta, W, lam, M, keep)()


class _CompiledStep:
    """One call of the compiled kernel with its arguments prepared: calling it runs the kernel
    on ``theta`` and ``W`` as they are then (``hier_prox_features_step``).

    The kernel takes the tensors' data addresses, so every argument is checked or made a
    contiguous CPU tensor of the dtype and length the kernel reads; the penalty and keep mask
    are copied into tensors held here (a caller's tensor could be resized).  A call first checks
    that theta and W still have the memory, dtype, shape and strides they had (an optimiser
    updates them in place; ``module.to`` or assigning ``.data`` would change them): if not, it
    prepares the arguments again, for the tensors as they are then.
    """

    def __init__(self, theta: torch.Tensor, W: torch.Tensor | None,
                 lam: float | torch.Tensor, M: float, keep: torch.Tensor | None):
        self.inputs = (theta, W, lam, M, keep)
        self._prepare()

    def _prepare(self) -> None:
        theta, W, lam, M, keep = self.inputs
        if not _in_cpu_memory(theta, W):
            raise ValueError("the kernel needs contiguous float32 or float64 CPU tensors theta "
                             "(c, d) and W (K, d) of one dtype")
        c, d = theta.shape
        lam0, lam_t = 0.0, None
        if isinstance(lam, torch.Tensor) and lam.ndim:
            lam_t = _per_feature(lam, d, torch.float64)  # the kernel reads penalties in float64
        else:
            lam0 = float(lam)
        keep_t = None if keep is None else _per_feature(keep, d, theta.dtype)
        self.held = (lam_t, keep_t)  # the memory the kernel reads
        self.where = self._where()
        self.args = (
            theta.data_ptr(), c, d,
            None if W is None else W.data_ptr(), 0 if W is None else W.shape[0],
            None if lam_t is None else lam_t.data_ptr(), lam0, float(M),
            None if keep_t is None else keep_t.data_ptr(),
        )
        self.d, self.dtype, self.double = d, theta.dtype, theta.dtype == torch.float64

    def _where(self) -> tuple:
        """What the prepared arguments depend on: theta's and W's address and layout."""
        theta, W = self.inputs[:2]
        return (theta.data_ptr(), theta.dtype, theta.shape, theta.stride(),
                None if W is None else (W.data_ptr(), W.dtype, W.shape, W.stride()))

    def __call__(self) -> torch.Tensor:
        if self._where() != self.where:
            self._prepare()
        out = torch.empty(self.d, dtype=self.dtype)
        _compiled.features(*self.args, out.data_ptr(), self.double)
        return out


def hier_prox_features_step(
    theta: torch.Tensor,
    W: torch.Tensor | None,
    lam: float | torch.Tensor,
    M: float,
    keep: torch.Tensor | None = None,
) -> Callable[[], torch.Tensor]:
    """``hier_prox_features_(theta, W, lam, M, keep)`` as a function of no arguments, for a
    training loop that applies the same prox after every step.

    With the compiled kernel the checks and the kernel's arguments are prepared once, here,
    and each call costs the kernel and one small allocation: on the small tables the checks
    cost as much as the kernel itself.  Elsewhere each call is ``hier_prox_features_``'s.
    """
    _check_M(M)
    if _compiled is not None and _in_cpu_memory(theta, W):
        return _CompiledStep(theta, W, lam, M, keep)
    return functools.partial(hier_prox_features_, theta, W, lam, M, keep)


def _per_feature(values: torch.Tensor, d: int, dtype: torch.dtype) -> torch.Tensor:
    """``values`` (a penalty or keep mask, one entry or d) copied into a new contiguous (d,)
    CPU tensor of ``dtype`` (never the caller's memory, which the caller could change)."""
    values = values.detach().reshape(-1)
    if values.numel() not in (1, d):
        raise ValueError(f"expected 1 or {d} values, got {values.numel()}")
    return torch.empty(d, dtype=dtype).copy_(values.expand(d))


@torch.no_grad()
def _hier_prox_features_torch(
    theta: torch.Tensor,
    W: torch.Tensor | None,
    lam: float | torch.Tensor,
    M: float,
    keep: torch.Tensor | None = None,
) -> torch.Tensor:
    """``hier_prox_features_`` in torch: on other devices than the CPU, and on the CPU where
    the compiled kernel is not built.

    Every column is sorted and the clipped ones take the counting rule's length: selecting the
    clipped columns first would wait on the device at every step.
    """
    v_norm = _norm(theta, dim=0)
    t = (v_norm - lam).clamp_(min=0)
    if W is not None and W.shape[0]:
        biggest = W.abs().amax(dim=0)
        clipped = biggest > M * t
        lam_t = torch.as_tensor(lam, dtype=theta.dtype, device=theta.device).expand_as(t)
        t = torch.where(clipped, _clipped_size(v_norm, W.abs().T, lam_t, M), t)
        # an infinite weight (diverged) must not be clipped back to a finite column
        t = torch.where(torch.isinf(biggest), torch.nan, t)
    if keep is not None:
        t.mul_(keep)
    positive = v_norm > 0
    theta.mul_(torch.where(positive, t / torch.where(positive, v_norm, 1.0), 0.0))
    if theta.shape[0]:
        # a zero column has no direction: its length goes on the first output axis
        theta[0] = torch.where(positive, theta[0], t)
    if W is not None:
        bound = M * t
        torch.clamp(W, min=-bound, max=bound, out=W)
    return t


@dataclass(frozen=True)
class GroupLayout:
    """Which features form which group, padded so groups are processed without a loop.

    Attributes
    ----------
    index : (G, s) long tensor
        Feature indices of each group, padded with ``n_features`` (a zero column).
    n_features : int
        d, the number of input features.
    names : tuple of str
        Group names, in the order of ``index`` rows.
    """

    index: torch.Tensor
    n_features: int
    names: tuple[str, ...]

    @classmethod
    def from_assignment(cls, group_of: list[int], names: list[str]) -> GroupLayout:
        """Build from ``group_of[j]`` = group number (0..G-1) of feature j."""
        d, G = len(group_of), len(names)
        members: list[list[int]] = [[] for _ in range(G)]
        for j, g in enumerate(group_of):
            members[g].append(j)
        if any(not m for m in members):
            raise ValueError("every group needs at least one feature")
        width = max(len(m) for m in members)
        index = torch.full((G, width), d, dtype=torch.long)
        for g, m in enumerate(members):
            index[g, : len(m)] = torch.tensor(m, dtype=torch.long)
        return cls(index=index, n_features=d, names=tuple(names))

    @property
    def n_groups(self) -> int:
        return self.index.shape[0]

    def group_of(self) -> torch.Tensor:
        """(d,) long tensor: the group number of each feature."""
        g = torch.arange(self.n_groups).unsqueeze(1).expand_as(self.index)
        valid = self.index < self.n_features
        out = torch.empty(self.n_features, dtype=torch.long)
        out[self.index[valid]] = g[valid]
        return out


def hier_prox_groups(
    theta: torch.Tensor,
    W: torch.Tensor | None,
    layout: GroupLayout,
    lam: float | torch.Tensor,
    M: float,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Group HIER-PROX: each group's skip block and input-layer block move together.

    Parameters
    ----------
    theta : (c, d) tensor
    W : (K, d) tensor or None
    layout : GroupLayout over the d features
    lam : float or (G,) tensor
        Step-scaled penalty per group.
    M : float

    Returns
    -------
    theta_new : (c, d) tensor
    W_new : (K, d) tensor or None
    """
    index = layout.index.to(theta.device)
    G, s = index.shape

    def gather(mat: torch.Tensor) -> torch.Tensor:  # (r, d) -> (G, s * r)
        padded = torch.cat([mat, mat.new_zeros(mat.shape[0], 1)], dim=1)
        return padded[:, index].permute(1, 2, 0).reshape(G, -1)

    def scatter(block: torch.Tensor, rows: int) -> torch.Tensor:  # (G, s * r) -> (r, d)
        out = block.new_zeros(rows, layout.n_features + 1)
        out[:, index.reshape(-1)] = block.reshape(G, s, rows).permute(2, 0, 1).reshape(rows, -1)
        return out[:, : layout.n_features]

    c = theta.shape[0]
    u = gather(W) if W is not None else theta.new_zeros(G, 0)
    b, w = hier_prox(gather(theta), u, lam, M)
    return scatter(b, c), (scatter(w, W.shape[0]) if W is not None else None)
