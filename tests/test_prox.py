"""Tests of the proximal operators in ``lassonet_cli.prox``.

The reference used throughout is an independent solution of HIER-PROX's problem (eq. 4.1 of
Lemhadri et al., JMLR 2021)

    minimise_{b, W}  1/2 ||v - b||^2 + 1/2 ||u - W||^2 + lam ||b||   s.t.  ||W||_inf <= M ||b||.

For a fixed length t = ||b|| the problem separates: b = t v / ||v|| and
W_i = sign(u_i) min(|u_i|, M t), leaving the strictly convex 1-D problem

    f(t) = 1/2 (t - ||v||)^2 + lam t + 1/2 sum_i (|u_i| - M t)_+^2 ,   t >= 0.

The oracle below minimises f numerically (grid search + golden-section refinement, and a bisection
on the monotone derivative for a machine-precision minimiser) in float64 with numpy only; it shares
no code and no closed form with the implementation under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from prox_kernel import needs_kernel as _needs_kernel

from lassonet_cli import prox
from lassonet_cli.prox import (
    GroupLayout,
    _hier_prox_features_compiled,
    _hier_prox_features_torch,
    hier_prox,
    hier_prox_features,
    hier_prox_features_,
    hier_prox_features_step,
    hier_prox_groups,
    soft_threshold,
)

# --------------------------------------------------------------------------------------------
# Independent oracle (numpy, float64)
# --------------------------------------------------------------------------------------------


def _f(t, v_norm: float, a: np.ndarray, lam: float, M: float):
    """The 1-D objective f(t) for scalar or 1-D array ``t`` (a = |u|)."""
    t = np.asarray(t, dtype=np.float64)
    excess = np.clip(a[None, :] - M * t.reshape(-1, 1), 0.0, None)
    val = 0.5 * (t.reshape(-1) - v_norm) ** 2 + lam * t.reshape(-1) + 0.5 * (excess**2).sum(1)
    return val.reshape(t.shape)


def _fprime(t: float, v_norm: float, a: np.ndarray, lam: float, M: float) -> float:
    return t - v_norm + lam - M * float(np.clip(a - M * t, 0.0, None).sum())


def _upper_bracket(v_norm: float, a: np.ndarray, lam: float, M: float) -> float:
    """A t_max with f'(t) > 0 for all t > t_max, so the minimiser lies in [0, t_max]."""
    # f'(t) >= t - ||v|| + lam - M ||u||_1
    t_max = max(0.0, v_norm - lam + M * float(a.sum()))
    if M > 0 and a.size:
        # beyond max|u|/M no entry is active, and f'(t) = t - ||v|| + lam
        t_max = min(t_max, max(0.0, v_norm - lam, float(a.max()) / M))
    return t_max


def oracle(v: np.ndarray, u: np.ndarray, lam: float, M: float) -> tuple[float, float]:
    """(t*, f(t*)) for one unit, computed by search only (no closed form)."""
    v_norm = float(np.sqrt((v.astype(np.float64) ** 2).sum()))
    a = np.abs(u.astype(np.float64))
    t_max = _upper_bracket(v_norm, a, lam, M)
    if t_max == 0.0:
        return 0.0, float(_f(0.0, v_norm, a, lam, M))

    # 1) grid search: for a convex f the minimiser lies within one grid step of the grid argmin
    grid = np.linspace(0.0, t_max, 1025)
    k = int(np.argmin(_f(grid, v_norm, a, lam, M)))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]

    # 2) golden-section refinement of f on the bracket
    g = (math.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = float(_f(x1, v_norm, a, lam, M)), float(_f(x2, v_norm, a, lam, M))
    for _ in range(80):
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = float(_f(x1, v_norm, a, lam, M))
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = float(_f(x2, v_norm, a, lam, M))
    t_golden = 0.5 * (lo + hi)

    # 3) bisection on the strictly increasing derivative over the whole bracket [0, t_max]:
    #    gives the minimiser to (nearly) machine precision
    if _fprime(0.0, v_norm, a, lam, M) >= 0:
        t_bisect = 0.0
    else:
        lo, hi = 0.0, t_max
        while True:
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break
            if _fprime(mid, v_norm, a, lam, M) < 0:
                lo = mid
            else:
                hi = mid
        t_bisect = 0.5 * (lo + hi)

    f_golden = float(_f(t_golden, v_norm, a, lam, M))
    f_bisect = float(_f(t_bisect, v_norm, a, lam, M))
    f_star = min(f_golden, f_bisect, float(_f(grid[k], v_norm, a, lam, M)))
    # the two refinements must agree: same minimum value, and (as f'' >= 1, golden section only
    # resolving t to about sqrt(eps |f|)) nearby minimisers
    f_zero = float(_f(0.0, v_norm, a, lam, M))  # >= f*, sets the scale of rounding errors
    assert abs(f_golden - f_bisect) <= 1e-13 * f_zero, (f_golden, f_bisect)
    assert abs(t_golden - t_bisect) <= 1e-6 * (t_max + math.sqrt(f_zero)), (
        t_golden,
        t_bisect,
    )
    return t_bisect, f_star


def objective(v, u, b, W, lam: float) -> float:
    """Objective of eq. 4.1 at (b, W), float64."""
    v, u, b, W = (np.asarray(x, dtype=np.float64) for x in (v, u, b, W))
    return float(
        0.5 * ((v - b) ** 2).sum() + 0.5 * ((u - W) ** 2).sum() + lam * np.sqrt((b**2).sum())
    )


def group_soft_threshold(v: np.ndarray, lam: float) -> np.ndarray:
    n = float(np.sqrt((v**2).sum()))
    return np.zeros_like(v) if n <= lam else v * (1.0 - lam / n)


def _t64(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


# --------------------------------------------------------------------------------------------
# 1. Oracle comparison
# --------------------------------------------------------------------------------------------

SCENARIOS = ("generic", "ties", "zero_u", "v_zero", "lam_zero", "big_lam", "near_balance")
M_VALUES = (0.0, 1e-6, 0.05, 0.5, 1.0, 3.0, 40.0, 1e6)


def _random_row(rng: np.random.RandomState, p: int, q: int, M: float, scenario: str):
    scale = 10.0 ** rng.uniform(-2, 2)
    v = rng.randn(p) * scale
    u = rng.randn(q) * scale * 10.0 ** rng.uniform(-1, 1)
    lam = rng.uniform(0, 2) * scale
    if scenario == "ties":
        # deliberately repeated magnitudes, random signs
        levels = np.array([0.3, 1.0, 1.0, 2.5]) * scale
        u = rng.choice(levels[: rng.randint(1, 5)], size=q) * rng.choice([-1.0, 1.0], size=q)
    elif scenario == "zero_u":
        u = u * (rng.rand(q) < 0.5) if rng.rand() < 0.7 else np.zeros(q)
    elif scenario == "v_zero":
        v = np.zeros(p)
    elif scenario == "lam_zero":
        lam = 0.0
    elif scenario == "big_lam":
        lam = 1.5 * (np.sqrt((v**2).sum()) + M * np.abs(u).sum()) + scale
    elif scenario == "near_balance" and M > 0:
        # put |u| around M ||v|| so that some but not all entries of u end up active
        u = rng.choice([-1.0, 1.0], size=q) * rng.uniform(0.2, 3.0, size=q) * M * scale
        v = v / max(np.sqrt((v**2).sum()), 1e-300) * scale
        lam = rng.uniform(0, 0.5) * scale
    return v, u, lam


@pytest.mark.parametrize("M", M_VALUES, ids=lambda m: f"M={m:g}")
def test_hier_prox_matches_independent_oracle(M):
    """Objective, ||b||, W and direction of b all match a search-based solution of eq. 4.1.

    8 values of M x 36 shapes (p = 1..4, q = 0..8) x 7 scenarios = 2016 random cases, covering
    ties in |u|, zero u, v = 0, lam = 0, penalties that zero everything and |u| ~ M ||v||.
    """
    rng = np.random.RandomState(1234 + int(M_VALUES.index(M)))
    coverage = {"t_zero": 0, "t_pos": 0, "partly_active": 0}
    for p in range(1, 5):
        for q in range(0, 9):
            rows = [_random_row(rng, p, q, M, s) for s in SCENARIOS]
            V = _t64([r[0] for r in rows])
            U = _t64([r[1] for r in rows]).reshape(len(rows), q)
            lam = _t64([r[2] for r in rows])
            b, W = hier_prox(V, U, lam, M)
            assert b.shape == V.shape and W.shape == U.shape
            for i, (v, u, lam_i) in enumerate(rows):
                bi, Wi = b[i].numpy(), W[i].numpy()
                t_star, f_star = oracle(v, u, lam_i, M)
                ctx = dict(M=M, p=p, q=q, scenario=SCENARIOS[i], v=v, u=u, lam=lam_i)
                b_norm = float(np.sqrt((bi**2).sum()))
                v_norm = float(np.sqrt((v**2).sum()))
                # feasibility (up to rounding)
                if q:
                    assert np.abs(Wi).max() <= M * b_norm * (1 + 1e-12) + 1e-300, ctx
                # (a) optimal objective
                obj = objective(v, u, bi, Wi, lam_i)
                f_zero = 0.5 * float((v**2).sum() + (u**2).sum())  # f(0) >= f*
                assert abs(obj - f_star) <= 1e-9 * f_star + 1e-14 * f_zero, (obj, f_star, ctx)
                # (b) optimal length of b
                assert abs(b_norm - t_star) <= 1e-9 * t_star + 1e-13 * (v_norm + 1), (
                    b_norm,
                    t_star,
                    ctx,
                )
                # (c) W is u clipped to the box of half-width M t*
                W_exp = np.sign(u) * np.minimum(np.abs(u), M * t_star)
                assert np.allclose(
                    Wi, W_exp, rtol=1e-9, atol=1e-12 * (np.abs(u).max(initial=0) + 1)
                ), ctx
                # (d) direction of b
                if v_norm > 0:
                    assert np.allclose(
                        bi * v_norm, v * b_norm, rtol=1e-12, atol=1e-12 * v_norm * (b_norm + 1e-300)
                    ), ctx
                    assert float(bi @ v) >= 0, ctx
                else:  # documented: b = (t*, 0, ..., 0)
                    assert bi[0] == pytest.approx(t_star, rel=1e-9, abs=1e-13), ctx
                    assert np.all(bi[1:] == 0), ctx
                coverage["t_zero" if t_star == 0 else "t_pos"] += 1
                n_active = int((np.abs(u) > M * t_star).sum())
                if t_star > 0 and 0 < n_active < q:
                    coverage["partly_active"] += 1
    # the cases must actually exercise the interesting regimes
    assert coverage["t_zero"] >= 30 and coverage["t_pos"] >= 30, coverage
    if 0 < M < 1e6:
        assert coverage["partly_active"] >= 10, coverage


def test_hier_prox_zero_v_points_along_first_output_axis():
    """For v = 0 exactly, b = (t*, 0, ..., 0) with t* > 0 when M ||u||_1 > lam (documented)."""
    rng = np.random.RandomState(7)
    for _ in range(50):
        p, q = rng.randint(1, 5), rng.randint(1, 9)
        u = rng.randn(q)
        M = rng.uniform(0.1, 3.0)
        lam = rng.uniform(0, 0.9) * M * np.abs(u).sum()  # ensures t* > 0
        b, W = hier_prox(torch.zeros(1, p, dtype=torch.float64), _t64(u[None]), lam, M)
        t_star, _ = oracle(np.zeros(p), u, lam, M)
        assert t_star > 0
        assert b[0, 0].item() == pytest.approx(t_star, rel=1e-9)
        assert torch.all(b[0, 1:] == 0)
        np.testing.assert_allclose(
            W[0].numpy(), np.sign(u) * np.minimum(np.abs(u), M * t_star), rtol=1e-9
        )


def test_hier_prox_M_zero_is_group_soft_threshold_with_W_zero():
    """M = 0 forces W = 0 and leaves the group lasso prox of v: b = (1 - lam/||v||)_+ v."""
    rng = np.random.RandomState(11)
    V = rng.randn(200, 3)
    U = rng.randn(200, 5) * 10
    lam = rng.uniform(0, 3, size=200)
    b, W = hier_prox(_t64(V), _t64(U), _t64(lam), 0.0)
    assert torch.all(W == 0)
    expected = np.stack([group_soft_threshold(V[i], lam[i]) for i in range(200)])
    np.testing.assert_allclose(b.numpy(), expected, rtol=1e-12, atol=1e-14)
    assert (np.abs(expected).sum(1) == 0).sum() > 10  # some rows are actually thresholded


def test_hier_prox_lam_zero_feasible_input_is_unchanged():
    """With lam = 0 a point that already satisfies the constraint is its own projection."""
    rng = np.random.RandomState(3)
    for M in (1e-6, 0.1, 1.0, 25.0, 1e6):
        V = rng.randn(100, 3)
        U = rng.uniform(-0.9, 0.9, size=(100, 6)) * M * np.linalg.norm(V, axis=1, keepdims=True)
        b, W = hier_prox(_t64(V), _t64(U), 0.0, M)
        np.testing.assert_allclose(b.numpy(), V, rtol=1e-14, atol=0)
        np.testing.assert_allclose(W.numpy(), U, rtol=1e-14, atol=0)


def test_hier_prox_large_lam_zeroes_everything():
    """lam >= ||v|| + M ||u||_1 means f'(0) >= 0, so b = 0 and W = 0 exactly."""
    rng = np.random.RandomState(5)
    for M in (0.0, 1e-6, 0.5, 2.0, 1e6):
        V = rng.randn(100, 2)
        U = rng.randn(100, 4)
        lam = np.linalg.norm(V, axis=1) + M * np.abs(U).sum(1) + rng.uniform(0, 1, 100)
        b, W = hier_prox(_t64(V), _t64(U), _t64(lam), M)
        assert torch.all(b == 0) and torch.all(W == 0), M


def test_hier_prox_scalar_lam_equals_per_row_lam():
    """A float penalty behaves like the same value repeated for every row."""
    rng = np.random.RandomState(9)
    V, U = _t64(rng.randn(30, 2)), _t64(rng.randn(30, 5))
    b1, W1 = hier_prox(V, U, 0.7, 1.5)
    b2, W2 = hier_prox(V, U, torch.full((30,), 0.7, dtype=torch.float64), 1.5)
    assert torch.equal(b1, b2) and torch.equal(W1, W2)


# --------------------------------------------------------------------------------------------
# 2. Constraint, dtype, shape and purity as a property
# --------------------------------------------------------------------------------------------


@st.composite
def prox_inputs(draw, width: int):
    n = draw(st.integers(1, 6))
    p = draw(st.integers(1, 4))
    q = draw(st.integers(0, 7))
    elems = st.floats(-1e3, 1e3, width=width, allow_subnormal=False)
    v = draw(st.lists(elems, min_size=n * p, max_size=n * p))
    # allow exact zeros and repeated values by sometimes drawing from a tiny pool
    if draw(st.booleans()):
        pool = draw(st.lists(elems, min_size=1, max_size=3))
        u = draw(st.lists(st.sampled_from(pool), min_size=n * q, max_size=n * q))
    else:
        u = draw(st.lists(elems, min_size=n * q, max_size=n * q))
    lam = draw(st.floats(0, 1e3, allow_subnormal=False))
    M = draw(
        st.one_of(st.sampled_from([0.0, 1e-6, 1.0, 1e6]), st.floats(0, 1e6, allow_subnormal=False))
    )
    return np.array(v).reshape(n, p), np.array(u).reshape(n, q), lam, M


def _check_constraint(b: torch.Tensor, W: torch.Tensor, M: float, eps: float):
    """||W_row||_inf <= M ||b_row||_2, up to a few ulps, evaluated in float64."""
    if W.shape[1] == 0:
        return
    w_inf = W.double().abs().max(1).values
    b_norm = torch.linalg.vector_norm(b.double(), dim=1)
    assert torch.all(w_inf <= M * b_norm * (1 + 16 * eps) + 1e-30), (w_inf, M * b_norm)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_hier_prox_constraint_dtype_shape_and_purity(dtype, data):
    """Every output is feasible, keeps dtype/shape, and the inputs are left untouched."""
    width = 32 if dtype == torch.float32 else 64
    v, u, lam, M = data.draw(prox_inputs(width))
    V = torch.tensor(v, dtype=dtype)
    U = torch.tensor(u, dtype=dtype).reshape(v.shape[0], u.shape[1])
    V0, U0 = V.clone(), U.clone()
    b, W = hier_prox(V, U, lam, M)
    assert torch.equal(V, V0) and torch.equal(U, U0)
    assert b.dtype == dtype and W.dtype == dtype
    assert b.shape == V.shape and W.shape == U.shape
    assert torch.isfinite(b).all() and torch.isfinite(W).all()
    _check_constraint(b, W, M, torch.finfo(dtype).eps)
    # same property through the (c, d) / (K, d) layer layout
    theta, Wl = V.T.contiguous(), U.T.contiguous()
    th0, Wl0 = theta.clone(), Wl.clone()
    th_new, W_new = hier_prox_features(theta, Wl, lam, M)
    assert torch.equal(theta, th0) and torch.equal(Wl, Wl0)
    assert th_new.dtype == dtype and W_new.dtype == dtype
    assert th_new.shape == theta.shape and W_new.shape == Wl.shape
    _check_constraint(th_new.T, W_new.T, M, torch.finfo(dtype).eps)


# --------------------------------------------------------------------------------------------
# 3. Groups
# --------------------------------------------------------------------------------------------


def test_singleton_groups_equal_per_feature_prox_exactly():
    """Group HIER-PROX with one feature per group is the feature-wise operator, bit for bit."""
    gen = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64):
        for c, K, d in ((1, 4, 6), (3, 8, 10), (2, 1, 1)):
            theta = torch.randn(c, d, generator=gen, dtype=dtype)
            W = torch.randn(K, d, generator=gen, dtype=dtype)
            layout = GroupLayout.from_assignment(list(range(d)), [f"f{j}" for j in range(d)])
            for lam, M in ((0.3, 0.7), (0.0, 2.0), (1.5, 0.0), (0.1, 1e6)):
                a_th, a_W = hier_prox_groups(theta, W, layout, lam, M)
                e_th, e_W = hier_prox_features(theta, W, lam, M)
                assert torch.equal(a_th, e_th) and torch.equal(a_W, e_W)
            a_th, a_W = hier_prox_groups(theta, None, layout, 0.4, 1.0)
            e_th, e_W = hier_prox_features(theta, None, 0.4, 1.0)
            assert torch.equal(a_th, e_th) and a_W is None and e_W is None


def _random_grouping(rng, d: int, G: int) -> list[int]:
    """Unequal, interleaved (non-contiguous) groups, every group non-empty."""
    group_of = list(range(G)) + list(rng.randint(0, G, size=d - G))
    rng.shuffle(group_of)
    return [int(g) for g in group_of]


def test_groups_match_oracle_on_flattened_blocks():
    """Each group's block is the oracle solution of eq. 4.1 on its flattened (theta_g, W_g)."""
    rng = np.random.RandomState(21)
    checked_sizes = set()
    for trial in range(40):
        c, K = rng.randint(1, 4), rng.randint(1, 6)
        G = rng.randint(1, 5)
        d = G + rng.randint(0, 7)
        group_of = _random_grouping(rng, d, G)
        layout = GroupLayout.from_assignment(group_of, [f"g{g}" for g in range(G)])
        theta = rng.randn(c, d)
        W = rng.randn(K, d) * 10.0 ** rng.uniform(-1, 1)
        if trial % 5 == 0:  # a group with an all-zero skip block
            theta[:, np.array(group_of) == 0] = 0.0
        M = [0.0, 0.2, 1.0, 5.0][trial % 4]
        lam = rng.uniform(0, 3, size=G)
        th_new, W_new = hier_prox_groups(_t64(theta), _t64(W), layout, _t64(lam), M)
        th_new, W_new = th_new.numpy(), W_new.numpy()
        for g in range(G):
            cols = np.flatnonzero(np.array(group_of) == g)
            checked_sizes.add(cols.size)
            v, u = theta[:, cols].ravel(), W[:, cols].ravel()
            b, w = th_new[:, cols].ravel(), W_new[:, cols].ravel()
            t_star, f_star = oracle(v, u, lam[g], M)
            f_zero = 0.5 * float((v**2).sum() + (u**2).sum())
            assert abs(objective(v, u, b, w, lam[g]) - f_star) <= 1e-9 * f_star + 1e-14 * f_zero
            assert np.sqrt((b**2).sum()) == pytest.approx(t_star, rel=1e-9, abs=1e-13)
            np.testing.assert_allclose(
                w, np.sign(u) * np.minimum(np.abs(u), M * t_star), rtol=1e-9, atol=1e-13
            )
            v_norm = np.sqrt((v**2).sum())
            if v_norm > 0:
                np.testing.assert_allclose(b, v * (t_star / v_norm), rtol=1e-9, atol=1e-13)
    assert len(checked_sizes) >= 4  # unequal sizes, i.e. padding was exercised


def test_group_features_enter_and_leave_together():
    """A group is either entirely zero (skip and input-layer weights) or has a positive norm."""
    rng = np.random.RandomState(8)
    d, G, c, K = 12, 4, 2, 5
    group_of = _random_grouping(rng, d, G)
    layout = GroupLayout.from_assignment(group_of, list("abcd"))
    seen_zero = seen_live = 0
    for _ in range(60):
        theta, W = rng.randn(c, d), rng.randn(K, d)
        lam = rng.uniform(0, 20, size=G)
        th_new, W_new = hier_prox_groups(_t64(theta), _t64(W), layout, _t64(lam), 0.5)
        for g in range(G):
            cols = np.flatnonzero(np.array(group_of) == g)
            norm = np.linalg.norm(th_new[:, cols].numpy())
            if norm > 0:
                seen_live += 1
                # a live group keeps every skip entry that was non-zero in the input
                assert np.all(th_new[:, cols].numpy() != 0)
            else:
                seen_zero += 1
                assert np.all(W_new[:, cols].numpy() == 0)
    assert seen_zero > 10 and seen_live > 10


def test_group_layout_padding_and_group_of():
    """Unequal groups are padded with the out-of-range index d; group_of inverts the layout."""
    group_of = [2, 0, 2, 1, 2, 0]
    layout = GroupLayout.from_assignment(group_of, ["a", "b", "c"])
    assert layout.n_groups == 3 and layout.n_features == 6
    assert layout.index.tolist() == [[1, 5, 6], [3, 6, 6], [0, 2, 4]]
    assert layout.group_of().tolist() == group_of
    with pytest.raises(ValueError):
        GroupLayout.from_assignment([0, 0, 2], ["a", "b", "c"])


def test_groups_padding_does_not_leak_between_groups():
    """Changing one group's weights leaves every other group's result unchanged."""
    rng = np.random.RandomState(13)
    group_of = [0, 1, 1, 2, 2, 2, 1]
    layout = GroupLayout.from_assignment(group_of, ["a", "b", "c"])
    theta, W = rng.randn(2, 7), rng.randn(3, 7)
    th1, W1 = hier_prox_groups(_t64(theta), _t64(W), layout, 0.4, 1.0)
    theta2, W2in = theta.copy(), W.copy()
    theta2[:, 0] *= 50
    W2in[:, 0] = -W2in[:, 0] * 7
    th2, W2 = hier_prox_groups(_t64(theta2), _t64(W2in), layout, 0.4, 1.0)
    others = [1, 2, 3, 4, 5, 6]
    assert torch.equal(th1[:, others], th2[:, others]) and torch.equal(W1[:, others], W2[:, others])


# --------------------------------------------------------------------------------------------
# 4. Linear backbone and M = 0
# --------------------------------------------------------------------------------------------


def test_soft_threshold_matches_formula():
    """soft_threshold is sign(x) max(|x| - lam, 0), elementwise."""
    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.2, 1.0, 2.5])
    got = soft_threshold(_t64(x), 1.0).numpy()
    np.testing.assert_array_equal(got, [-2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5])


@pytest.mark.parametrize("M", [0.0, 1e-6, 1.0, 10.0, 1e6], ids=lambda m: f"M={m:g}")
def test_linear_backbone_single_output_is_lasso_soft_threshold(M):
    """With no hidden layer and one output, HIER-PROX is the lasso prox for any M."""
    gen = torch.Generator().manual_seed(1)
    for dtype in (torch.float32, torch.float64):
        theta = torch.randn(1, 50, generator=gen, dtype=dtype) * 2
        theta[0, :3] = 0.0
        th_new, W_new = hier_prox_features(theta, None, 0.8, M)
        assert W_new is None
        assert torch.equal(th_new, soft_threshold(theta, 0.8))


def test_M_zero_soft_thresholds_theta_and_zeroes_W():
    """M = 0 with a hidden layer: W^(0) is wiped out and theta gets the (group) lasso prox."""
    gen = torch.Generator().manual_seed(2)
    theta = torch.randn(1, 40, generator=gen, dtype=torch.float64)
    W = torch.randn(16, 40, generator=gen, dtype=torch.float64) * 5
    th_new, W_new = hier_prox_features(theta, W, 0.5, 0.0)
    assert torch.equal(th_new, soft_threshold(theta, 0.5))
    assert torch.all(W_new == 0)
    # several outputs: column-wise group soft-threshold
    theta3 = torch.randn(3, 40, generator=gen, dtype=torch.float64)
    th_new, W_new = hier_prox_features(theta3, W, 1.2, 0.0)
    expected = np.stack([group_soft_threshold(col, 1.2) for col in theta3.T.numpy()], axis=1)
    np.testing.assert_allclose(th_new.numpy(), expected, rtol=1e-12, atol=1e-15)
    assert torch.all(W_new == 0)


# --------------------------------------------------------------------------------------------
# 5. float32 vs float64
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("M", [0.0, 1e-6, 0.3, 1.0, 8.0, 1e6], ids=lambda m: f"M={m:g}")
def test_float32_agrees_with_float64(M):
    """The float32 path gives the float64 answer to single precision."""
    gen = torch.Generator().manual_seed(3)
    theta = torch.randn(3, 200, generator=gen, dtype=torch.float64)
    W = torch.randn(12, 200, generator=gen, dtype=torch.float64) * 0.5
    lam = torch.rand(200, generator=gen, dtype=torch.float64) * 2
    th64, W64 = hier_prox_features(theta, W, lam, M)
    th32, W32 = hier_prox_features(theta.float(), W.float(), lam.float(), M)
    assert th32.dtype == torch.float32 and W32.dtype == torch.float32
    torch.testing.assert_close(th32.double(), th64, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(W32.double(), W64, rtol=1e-5, atol=1e-5)
    # and the same through the group operator
    layout = GroupLayout.from_assignment([j % 7 for j in range(200)], [str(g) for g in range(7)])
    g64 = hier_prox_groups(theta, W, layout, 3.0, M)
    g32 = hier_prox_groups(theta.float(), W.float(), layout, 3.0, M)
    torch.testing.assert_close(g32[0].double(), g64[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(g32[1].double(), g64[1], rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------------------------
# 6. Invalid M
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("M", [-1e-9, -1.0, math.inf, -math.inf, math.nan], ids=str)
def test_invalid_M_raises_value_error(M):
    """A hierarchy multiplier must be finite and non-negative, on every entry point."""
    theta, W = torch.randn(2, 3), torch.randn(4, 3)
    with pytest.raises(ValueError):
        hier_prox(theta.T, W.T, 0.1, M)
    with pytest.raises(ValueError):
        hier_prox_features(theta, W, 0.1, M)
    with pytest.raises(ValueError):
        hier_prox_features(theta, None, 0.1, M)
    layout = GroupLayout.from_assignment([0, 1, 1], ["a", "b"])
    with pytest.raises(ValueError):
        hier_prox_groups(theta, W, layout, 0.1, M)


def test_constraint_holds_for_tiny_skip_weights():
    """Squares of entries below 1e-154 underflow in float64; the norm must not (a case
    hypothesis found: the constraint broke by 2e-5 relative)."""
    v = torch.tensor([[0.0, 2.04e-160]], dtype=torch.float64)
    u = torch.tensor([[1.0]], dtype=torch.float64)
    b, W = hier_prox(v, u, 0.0, 1e-6)
    assert W.abs().max() <= 1e-6 * torch.linalg.vector_norm(b) * (1 + 1e-12)
    theta, W_layer = v.T.clone(), u.T.clone().T  # (c=2, d=1) and (K=1, d=1)
    norms = hier_prox_features_(theta, W_layer, 0.0, 1e-6)
    assert W_layer.abs().max() <= 1e-6 * norms[0] * (1 + 1e-12)
    torch.testing.assert_close(norms[0], torch.linalg.vector_norm(theta), rtol=1e-12, atol=0)


# the in-place prox's implementations: the compiled kernel on the CPU (what the dispatcher
# picks there when it is built), torch on the CPU without it and on every other device; both
# are run here on the CPU
IN_PLACE = {
    "dispatch": hier_prox_features_,
    "compiled": _hier_prox_features_compiled,
    "torch": _hier_prox_features_torch,
}


@pytest.fixture(autouse=True)
def _compiled_kernel_is_built(request):
    """Every test of the compiled kernel (by name, or run with implementation 'compiled')
    needs it: see ``_needs_kernel``."""
    uses_kernel = "compiled" in request.node.name or "kernel" in request.node.originalname
    if uses_kernel:
        _needs_kernel()


def test_the_cpu_dispatch_takes_the_compiled_kernel(monkeypatch):
    _needs_kernel()
    calls = []
    real = prox._hier_prox_features_compiled

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(prox, "_hier_prox_features_compiled", spy)
    hier_prox_features_(torch.randn(2, 3), torch.randn(4, 3), 0.1, 1.0)
    assert len(calls) == 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("M", [0.3, 1.0, 10.0])
def test_compiled_kernel_partly_clipped_columns_match_the_oracle(M, dtype):
    """Columns whose entries spread over many levels, so that t* clips only some of them (the
    kernel's Newton iterations, several per column), and columns of ties: t* and the clipped W
    are the oracle's."""
    gen = torch.Generator().manual_seed(int(M * 10))
    K, d = 120, 16
    W = torch.rand(K, d, generator=gen, dtype=torch.float64) ** 3 * 4  # a few large entries
    W *= torch.where(torch.rand(K, d, generator=gen) > 0.5, 1.0, -1.0).to(torch.float64)
    W[:, 3] = 2.0  # all tied
    W[: K // 2, 4] = -1.5  # two levels of ties
    W[K // 2 :, 4] = 0.5
    theta = torch.randn(2, d, generator=gen, dtype=torch.float64) * 0.1
    for lam in (0.0, 0.05, 1.0):
        t_theta, t_W = theta.to(dtype, copy=True), W.to(dtype, copy=True)
        norms = _hier_prox_features_compiled(t_theta, t_W, lam, M)
        tol = 1e-12 if dtype == torch.float64 else 1e-5
        for j in range(d):
            t_star, _ = oracle(theta[:, j].numpy(), W[:, j].numpy(), lam, M)
            assert abs(float(norms[j]) - t_star) <= tol * (1 + t_star), (lam, j)
            u = W[:, j].numpy()
            w_star = np.sign(u) * np.minimum(np.abs(u), M * t_star)
            np.testing.assert_allclose(t_W[:, j].double().numpy(), w_star, rtol=tol, atol=tol)


def test_compiled_kernel_agrees_with_torch_along_a_path_step():
    """On a layer as the path leaves it (saturated, then moved by a step) the kernel and the
    torch implementation give the same float32 weights, to float32 rounding."""
    gen = torch.Generator().manual_seed(3)
    for step in (1e-6, 1e-3, 1e-1):
        theta, W = _saturated_layer(gen, 2, 100, 40, 10.0, torch.float32, step=step)
        lam = torch.rand(40, generator=gen) * 1e-3
        keep = (torch.rand(40, generator=gen) > 0.2).float()
        a_theta, a_W, b_theta, b_W = theta.clone(), W.clone(), theta.clone(), W.clone()
        a = _hier_prox_features_compiled(a_theta, a_W, lam, 10.0, keep)
        b = _hier_prox_features_torch(b_theta, b_W, lam, 10.0, keep)
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(a_theta, b_theta, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(a_W, b_W, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("implementation", ["compiled", "torch"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_cpu_prox_non_finite_columns_never_come_out_finite(implementation, dtype):
    """A diverged column (inf or nan in theta, in W, or in its penalty) never comes out
    finite: its length or one of its weights stays non-finite, so that the path detects the
    divergence and retries the point (a NaN weight in W can stay where it is, an infinite one
    must not be clipped back to a finite bound).  Also with a linear backbone (W None) and with
    a W column of zeros, where nothing is clipped.  The other columns are unaffected."""
    prox_ = IN_PLACE[implementation]
    gen = torch.Generator().manual_seed(6)
    theta = torch.randn(2, 4, generator=gen, dtype=dtype)
    for W in (torch.randn(9, 4, generator=gen, dtype=dtype), None,
              torch.zeros(9, 4, dtype=dtype)):
        want_theta = theta.clone()
        want_W = None if W is None else W.clone()
        prox_(want_theta, want_W, 0.1, 10.0)
        cases = [("theta", bad) for bad in (float("inf"), float("nan"))]
        if W is not None and W.abs().sum() > 0:
            cases += [("W", bad) for bad in (float("inf"), float("nan"))]
        for where, bad in cases:
            t, w = theta.clone(), None if W is None else W.clone()
            (t if where == "theta" else w)[0, 1] = bad
            norms = prox_(t, w, 0.1, 10.0)
            finite = (torch.isfinite(norms[1]) and torch.isfinite(t[:, 1]).all()
                      and (w is None or torch.isfinite(w[:, 1]).all()))
            assert not finite, (where, bad, W is None)
            if where == "theta" or bad == float("inf"):
                assert not torch.isfinite(norms[1]), (where, bad)
            torch.testing.assert_close(norms[[0, 2, 3]],
                                       torch.linalg.vector_norm(want_theta, dim=0)[[0, 2, 3]])
            torch.testing.assert_close(t[:, [0, 2, 3]], want_theta[:, [0, 2, 3]])
        lam = torch.full((4,), 0.1, dtype=dtype)
        lam[1] = float("nan")
        t, w = theta.clone(), None if W is None else W.clone()
        assert not torch.isfinite(prox_(t, w, lam, 10.0)[1])


def test_compiled_kernel_survives_weights_near_the_largest_double():
    """Sums that overflow in float64 (weights near 1e308) give a non-finite length, not a
    crash or a hang (the overflowed column must not be taken for one still being solved)."""
    theta = torch.tensor([[1e308, 1.0]], dtype=torch.float64)
    W = torch.tensor([[1e308, 0.5], [1e307, 0.1]], dtype=torch.float64)
    norms = _hier_prox_features_compiled(theta, W, 0.0, 0.9)
    assert not torch.isfinite(norms[0])
    want_theta, want_W = hier_prox_features(theta[:, 1:], W[:, 1:], 0.0, 0.9)
    torch.testing.assert_close(theta[:, 1:], want_theta)
    torch.testing.assert_close(W[:, 1:], want_W)


def test_compiled_kernel_reads_a_per_feature_penalty_in_float64():
    """A float64 penalty vector on float32 weights is not rounded to float32 first: a
    penalty a hair below ||theta_j|| leaves the column in, as in torch."""
    theta = torch.tensor([[1.0, 2.0]], dtype=torch.float32)
    lam = torch.tensor([1 - 1e-9, 0.5], dtype=torch.float64)
    a = _hier_prox_features_compiled(theta.clone(), None, lam, 10.0)
    b = _hier_prox_features_torch(theta.clone(), None, lam, 10.0)
    assert float(a[0]) > 0 and float(b[0]) > 0
    torch.testing.assert_close(a, b, check_dtype=False)


def test_compiled_kernel_rejects_what_it_cannot_take():
    theta = torch.randn(2, 3)
    with pytest.raises(ValueError):
        _hier_prox_features_compiled(theta, torch.randn(4, 3, dtype=torch.float64), 0.1, 1.0)
    with pytest.raises(ValueError):
        _hier_prox_features_compiled(theta, torch.randn(4, 2), 0.1, 1.0)
    with pytest.raises(ValueError):
        _hier_prox_features_compiled(theta, torch.randn(4, 3), torch.ones(2), 1.0)
    with pytest.raises(ValueError):
        _hier_prox_features_compiled(theta, torch.randn(3, 4).T, 0.1, 1.0)  # not contiguous
    with pytest.raises(ValueError):
        _hier_prox_features_compiled(torch.randn(3, 2).T, None, 0.1, 1.0)


def test_the_cpu_dispatch_falls_back_where_the_kernel_cannot_read_w(monkeypatch):
    """W of another dtype than theta (or on another device) goes to the torch version,
    never to the kernel, which reads raw memory."""
    monkeypatch.setattr(prox, "_hier_prox_features_compiled",
                        lambda *a: pytest.fail("the kernel was given a W it cannot read"))
    theta, W = torch.randn(2, 3, dtype=torch.float64), torch.randn(4, 3)
    want_theta, want_W = hier_prox_features(theta, W.double(), 0.1, 1.0)
    hier_prox_features_(theta, W, 0.1, 1.0)
    torch.testing.assert_close(theta, want_theta)
    torch.testing.assert_close(W, want_W.float())


def _step_case(gen, dtype=torch.float32):
    """A clipped layer with a per-feature penalty and a keep mask (one feature out)."""
    theta, W = _saturated_layer(gen, 2, 30, 12, 10.0, dtype, step=1e-3)
    lam = torch.rand(12, generator=gen, dtype=torch.float64) * 1e-3
    keep = torch.ones(12, dtype=dtype)
    keep[5] = 0
    return theta, W, lam, keep


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_the_per_step_prox_repeats_the_in_place_prox(dtype):
    """``hier_prox_features_step`` (the kernel's arguments prepared once) gives, call after
    call, what ``hier_prox_features_`` gives on the same weights, and writes into them."""
    _needs_kernel()
    gen = torch.Generator().manual_seed(11)
    theta, W, lam, keep = _step_case(gen, dtype)
    want_theta, want_W = theta.clone(), W.clone()
    step = hier_prox_features_step(theta, W, lam, 10.0, keep)
    assert isinstance(step, prox._CompiledStep)
    for _ in range(3):
        got = step()
        want = hier_prox_features_(want_theta, want_W, lam, 10.0, keep)
        torch.testing.assert_close(got, want, rtol=0, atol=0)
        torch.testing.assert_close(theta, want_theta, rtol=0, atol=0)
        torch.testing.assert_close(W, want_W, rtol=0, atol=0)
        assert float(got[5]) == 0 and float(theta[:, 5].abs().sum()) == 0
        # move the weights as a training step would, in place
        noise = torch.randn(W.shape, generator=gen, dtype=torch.float64).to(dtype) * 1e-2
        for t in (W, want_W):
            t.add_(noise)


@pytest.mark.parametrize("moved", ["theta and W", "W"])
def test_the_per_step_prox_reprepares_when_its_tensors_memory_moves(moved):
    """The tensors the per-step prox holds get new memory (``set_``), both or W alone: it
    prepares again and works on the new memory, never on the memory it was prepared on."""
    _needs_kernel()
    gen = torch.Generator().manual_seed(13)
    theta, W, lam, keep = _step_case(gen)
    step = hier_prox_features_step(theta, W, lam, 10.0, keep)
    old_W = W.clone()
    first_W = W.new_empty(0).set_(W.untyped_storage(), 0, W.shape)
    if moved == "theta and W":
        theta.set_(theta.clone() * 3)  # new memory under the same tensor
    W.set_(old_W.clone() * 2)
    want_theta, want_W = theta.clone(), W.clone()
    want = hier_prox_features_(want_theta, want_W, lam, 10.0, keep)
    frozen = first_W.clone()
    got = step()
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(theta, want_theta, rtol=0, atol=0)
    torch.testing.assert_close(W, want_W, rtol=0, atol=0)
    torch.testing.assert_close(first_W, frozen, rtol=0, atol=0)  # the old memory untouched


def test_the_per_step_prox_reprepares_when_the_shape_changes_in_place():
    """theta and W become narrower views of their own memory (same address, fewer columns):
    the step prepares again for the new shape and leaves the memory past it alone."""
    _needs_kernel()
    gen = torch.Generator().manual_seed(15)
    theta, W, _, _ = _step_case(gen)
    (c, d), K = theta.shape, W.shape[0]
    step = hier_prox_features_step(theta, W, 1e-3, 10.0)
    theta_all, W_all = theta.untyped_storage(), W.untyped_storage()
    theta.set_(theta_all, 0, (c, d - 2), (d - 2, 1))
    W.set_(W_all, 0, (K, d - 2), (d - 2, 1))
    want_theta, want_W = theta.clone(), W.clone()
    want = hier_prox_features_(want_theta, want_W, 1e-3, 10.0)
    tail_theta = torch.empty(0).set_(theta_all)[c * (d - 2):].clone()
    tail_W = torch.empty(0).set_(W_all)[K * (d - 2):].clone()
    got = step()
    assert got.shape == (d - 2,)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(theta, want_theta, rtol=0, atol=0)
    torch.testing.assert_close(W, want_W, rtol=0, atol=0)
    torch.testing.assert_close(torch.empty(0).set_(theta_all)[c * (d - 2):], tail_theta)
    torch.testing.assert_close(torch.empty(0).set_(W_all)[K * (d - 2):], tail_W)


def test_the_per_step_prox_holds_its_own_copy_of_the_mask():
    """The keep mask and penalty are copied when the step is prepared: a caller changing
    its mask afterwards does not change the step."""
    _needs_kernel()
    gen = torch.Generator().manual_seed(16)
    theta, W, lam, keep = _step_case(gen)
    want_theta, want_W = theta.clone(), W.clone()
    want = hier_prox_features_(want_theta, want_W, lam.clone(), 10.0, keep.clone())
    step = hier_prox_features_step(theta, W, lam, 10.0, keep)
    keep.zero_()
    lam.fill_(100.0)
    torch.testing.assert_close(step(), want, rtol=0, atol=0)
    torch.testing.assert_close(theta, want_theta, rtol=0, atol=0)


def test_the_per_step_prox_elsewhere_is_the_in_place_prox(monkeypatch):
    """Without the kernel (or for weights it cannot read) each per-step call is a call of
    ``hier_prox_features_`` with the fixed arguments."""
    gen = torch.Generator().manual_seed(14)
    theta, W, lam, keep = _step_case(gen)
    cases = [(theta.clone(), W.clone().double())]  # W of another dtype: never the kernel
    monkeypatch.setattr(prox, "_compiled", None)
    cases.append((theta.clone(), W.clone()))
    for t, w in cases:
        want_t, want_w = t.clone(), w.clone()
        step = hier_prox_features_step(t, w, lam, 10.0, keep)
        assert not isinstance(step, prox._CompiledStep)
        torch.testing.assert_close(step(), hier_prox_features_(want_t, want_w, lam, 10.0, keep))
        torch.testing.assert_close(t, want_t)
        torch.testing.assert_close(w, want_w)
    with pytest.raises(ValueError):
        hier_prox_features_step(theta, W, 0.1, float("inf"))


def test_in_place_prox_float32_tiny_and_huge_skip_weights():
    """float32 squares of 1e-25 underflow and of 1e25 overflow; the in-place prox's norms
    must not (the constraint would break, or every weight would be zeroed)."""
    for scale in (1e-25, 1e25):
        theta = torch.tensor([[3.0, 0.0], [4.0, 1.0]]) * scale  # column norms 5 and 1
        W = torch.tensor([[1.0, 1.0]]) * scale * 1e-3
        norms = hier_prox_features_(theta, W, 0.0, 1.0)
        torch.testing.assert_close(norms, torch.tensor([5.0, 1.0]) * scale, rtol=1e-6, atol=0)
        assert (W.abs() <= norms * (1 + 1e-6)).all()


@pytest.mark.parametrize("implementation", IN_PLACE)
@pytest.mark.parametrize("M", [0.0, 0.5, 1.0, 10.0, 1e5])
def test_in_place_prox_equals_the_pure_one(M, implementation):
    """The training loop's in-place HIER-PROX gives the pure function's result, with and
    without a keep mask, and returns the new column norms."""
    hier_prox_features_ = IN_PLACE[implementation]
    gen = torch.Generator().manual_seed(int(M * 7) + 1)
    for trial in range(200):
        c, K, d = (int(x) for x in torch.randint(1, 6, (3,), generator=gen))
        theta = torch.randn(c, d, generator=gen, dtype=torch.float64) * 2
        if trial % 4 == 0:
            theta[:, 0] = 0  # a zero column: its length goes on the first output axis
        W = torch.randn(K, d, generator=gen, dtype=torch.float64) * 2
        lam = float(torch.rand(1, generator=gen)) * 2
        keep = (torch.rand(d, generator=gen) > 0.3).to(torch.float64)
        want_theta, want_W = hier_prox_features(theta, W, lam, M)
        want_theta, want_W = want_theta * keep, want_W * keep
        got_theta, got_W = theta.clone(), W.clone()
        norms = hier_prox_features_(got_theta, got_W, lam, M, keep)
        torch.testing.assert_close(got_theta, want_theta, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(got_W, want_W, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(norms, torch.linalg.vector_norm(want_theta, dim=0),
                                   rtol=1e-12, atol=1e-12)


def _saturated_layer(gen: torch.Generator, c: int, K: int, d: int, M: float, dtype,
                     step: float | None = None):
    """(theta, W) as the path leaves them, then moved by a small step: every entry of W_j at
    +-M ||theta_j|| plus noise, so the constraint is active on all or nearly all entries (the
    case the CPU prox solves without sorting).  Column 0 has one exact zero in W (a hidden unit
    that never reads it), column 1 is eliminated (all zero)."""
    theta = torch.randn(c, d, generator=gen, dtype=torch.float64)
    signs = torch.randint(0, 2, (K, d), generator=gen).to(torch.float64) * 2 - 1
    W = signs * M * torch.linalg.vector_norm(theta, dim=0)
    step = 1e-3 * (1 + M) if step is None else step
    theta = theta + step * torch.randn(c, d, generator=gen, dtype=torch.float64)
    W = W + step * torch.randn(K, d, generator=gen, dtype=torch.float64)
    W[0, 0] = 0.0
    theta[:, 1], W[:, 1] = 0.0, 0.0
    return theta.to(dtype), W.to(dtype)


@pytest.mark.parametrize("implementation", IN_PLACE)
@pytest.mark.parametrize("M", [0.5, 1.0, 10.0])
def test_in_place_prox_on_saturated_columns_matches_the_oracle(M, implementation):
    """Where the constraint binds on every entry (the path's usual state) the in-place prox
    still finds the exact minimiser: t* equal to the oracle's, and the same (theta, W) as the
    pure prox, at penalties from none to one that removes some columns (the kernel tries the
    all-active candidate first)."""
    gen = torch.Generator().manual_seed(int(M * 13))
    for lam in (0.0, 1e-3, 0.1, 1.0, 5.0):
        theta, W = _saturated_layer(gen, 3, 40, 24, M, torch.float64)
        want_theta, want_W = hier_prox_features(theta, W, lam, M)
        got_theta, got_W = theta.clone(), W.clone()
        norms = IN_PLACE[implementation](got_theta, got_W, lam, M)
        torch.testing.assert_close(got_theta, want_theta, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(got_W, want_W, rtol=1e-12, atol=1e-12)
        for j in range(theta.shape[1]):
            t_star, _ = oracle(theta[:, j].numpy(), W[:, j].numpy(), lam, M)
            assert abs(float(norms[j]) - t_star) <= 1e-9 * (1 + t_star), (lam, j)


@pytest.mark.parametrize("implementation", IN_PLACE)
def test_in_place_prox_keeps_float32_and_its_accuracy(implementation):
    """float32 parameters stay float32 (weights, returned norms) and agree with the float64
    result to float32 rounding, saturated or not."""
    gen = torch.Generator().manual_seed(5)
    for saturated in (True, False):
        if saturated:
            theta, W = _saturated_layer(gen, 2, 100, 30, 10.0, torch.float32)
        else:
            theta, W = torch.randn(2, 30, generator=gen), torch.randn(100, 30, generator=gen)
        want_theta, want_W = hier_prox_features(theta.double(), W.double(), 0.05, 10.0)
        norms = IN_PLACE[implementation](theta, W, 0.05, 10.0)
        assert theta.dtype == W.dtype == norms.dtype == torch.float32
        torch.testing.assert_close(theta.double(), want_theta, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(W.double(), want_W, rtol=1e-4, atol=1e-5)


def test_in_place_prox_updates_parameters_through_their_memory():
    """The prox writes into the parameters' own memory: a model's prox_ changes the
    Parameters themselves (the ones the optimiser holds), and a per-feature penalty tensor
    works like the scalar."""
    gen = torch.Generator().manual_seed(2)
    theta = torch.nn.Parameter(torch.randn(2, 6, generator=gen))
    W = torch.nn.Parameter(torch.randn(5, 6, generator=gen) * 3)
    want_theta, want_W = hier_prox_features(theta.detach(), W.detach(), 0.3, 2.0)
    ids = (id(theta), theta.data_ptr(), id(W), W.data_ptr())
    hier_prox_features_(theta, W, torch.full((6,), 0.3), 2.0)
    assert (id(theta), theta.data_ptr(), id(W), W.data_ptr()) == ids
    torch.testing.assert_close(theta.detach(), want_theta)
    torch.testing.assert_close(W.detach(), want_W)


def test_in_place_prox_edge_inputs_warn_nothing():
    """No warning reaches the user: diverged (inf) weights pass through, a huge M and a
    one-element penalty array work (the latter like the scalar)."""
    gen = torch.Generator().manual_seed(4)
    theta, W = torch.randn(2, 5, generator=gen), torch.randn(7, 5, generator=gen)
    broken = theta.clone()
    broken[0, 1] = float("inf")
    norms = hier_prox_features_(broken, W.clone(), 0.1, 10.0)  # RuntimeWarnings are errors
    assert not torch.isfinite(norms[1]) and torch.isfinite(norms[[0, 2, 3, 4]]).all()
    for M in (0.0, 1e20):
        t, w = theta.clone(), W.clone()
        norms = hier_prox_features_(t, w, 0.1, M)
        assert torch.isfinite(norms).all() and (w.abs() <= M * norms * (1 + 1e-6)).all()
    want_theta, want_W = theta.clone(), W.clone()
    hier_prox_features_(want_theta, want_W, 0.1, 10.0)
    got_theta, got_W = theta.clone(), W.clone()
    hier_prox_features_(got_theta, got_W, torch.tensor([0.1]), 10.0)
    torch.testing.assert_close(got_theta, want_theta)
    torch.testing.assert_close(got_W, want_W)
