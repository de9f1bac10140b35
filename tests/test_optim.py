"""Our optimisers against torch.optim: the same updates, step for step, whichever way a step
goes (the fused kernel called directly, the public functional call, its foreach form)."""

import pytest
import torch

from lassonet_cli.optim import Adam, HeavyBall


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))


WAYS = ["direct", "functional", "foreach"]


def _step_by(opt, way: str) -> None:
    """Make ``opt`` step by the fused kernel called directly, by the public functional call
    with the fused kernel, or by the functional call's foreach form."""
    opt.direct = way == "direct"
    opt.fused = way != "foreach"


def _train(net, opt, steps: int, zero) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(20, 6, generator=gen, dtype=torch.float64)
        zero()
        loss = (net(x) ** 2).mean()
        loss.backward()
        opt.step()
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda ps: HeavyBall(ps, lr=0.05, momentum=0.9),
         lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
        (lambda ps: HeavyBall(ps, lr=0.05, momentum=0.0),
         lambda ps: torch.optim.SGD(ps, lr=0.05)),
        (lambda ps: Adam(ps, lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    ],
)
@pytest.mark.parametrize("way", WAYS)
def test_updates_equal_torch_optim(ours, theirs, way):
    a, b = _net(0).double(), _net(0).double()
    opt_a, opt_b = ours(a.parameters()), theirs(b.parameters())
    assert opt_a.fused  # torch's fused kernels exist for CPU float64 parameters
    _step_by(opt_a, way)
    got = _train(a, opt_a, 25, opt_a.zero_grad)
    want = _train(b, opt_b, 25, lambda: opt_b.zero_grad(set_to_none=True))
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    assert not torch.equal(got[0], _net(0).double()[0].weight.detach())  # it did move


@pytest.mark.parametrize("before_first_step", [False, True], ids=["after", "before"])
@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("make", [lambda ps: HeavyBall(ps, lr=0.05),
                                  lambda ps: HeavyBall(ps, lr=0.05, momentum=0.0),
                                  lambda ps: Adam(ps, lr=0.01)],
                         ids=["heavy_ball", "sgd", "adam"])
def test_state_dict_restores_the_trajectory(make, way, before_first_step):
    net = _net(2).double()
    opt = make(net.parameters())
    _step_by(opt, way)
    if not before_first_step:
        _train(net, opt, 5, opt.zero_grad)
    params, state = [p.detach().clone() for p in net.parameters()], opt.state_dict()
    first = _train(net, opt, 5, opt.zero_grad)
    with torch.no_grad():
        for p, saved in zip(net.parameters(), params, strict=True):
            p.copy_(saved)
    opt.load_state_dict(state)
    again = _train(net, opt, 5, opt.zero_grad)
    for g, w in zip(again, first, strict=True):
        assert torch.equal(g, w)


def test_prox_scale():
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert HeavyBall(params, lr=1.0, momentum=0.9).prox_scale == pytest.approx(10.0)
    assert HeavyBall(params, lr=1.0, momentum=0.0).prox_scale == 1.0
    assert Adam(params, lr=1.0).prox_scale == 1.0


def test_fused_kernels_only_for_one_floating_cpu_or_cuda_device():
    from lassonet_cli.optim import _fused_kernels_for

    assert _fused_kernels_for([torch.zeros(2), torch.zeros(3)])
    assert not _fused_kernels_for([])
    assert not _fused_kernels_for([torch.zeros(2), torch.zeros(3, dtype=torch.float64)])
    assert not _fused_kernels_for([torch.zeros(2, dtype=torch.float16)])
    assert not _fused_kernels_for([torch.zeros(2, device="meta")])


def test_on_the_torch_ci_installs_a_step_calls_the_fused_kernels_directly():
    """The probe finds the direct calls in agreement on this torch, so the paths get the
    cheaper step (if this fails after a torch upgrade, the paths are correct but slower)."""
    for dtype in (torch.float32, torch.float64):
        params = [torch.nn.Parameter(torch.zeros(3, dtype=dtype))]
        assert HeavyBall(params, lr=0.1).direct and Adam(params, lr=0.1).direct


def _broken(kind: str):
    def kernel(*args, **kwargs):
        if kind == "raises":
            raise TypeError("_fused_sgd_() got an unexpected keyword argument 'lr'")
        # "differs": a kernel that returns without updating anything
    return kernel


@pytest.mark.parametrize("kind", ["missing", "raises", "differs"])
@pytest.mark.parametrize("kernel", ["_FUSED_SGD", "_FUSED_ADAM"])
def test_a_private_kernel_that_is_missing_fails_or_differs_is_not_used(monkeypatch, kernel,
                                                                       kind):
    """The direct calls are private API: on a torch where one is gone, takes other
    arguments or computes something else, the optimisers probe it, step by the public
    functional calls instead, and still equal torch.optim."""
    from lassonet_cli import optim

    monkeypatch.setattr(optim, "_AGREE", {})
    # what a step calls directly changes; the public functions still call torch's own kernel
    monkeypatch.setattr(optim, kernel, None if kind == "missing" else _broken(kind))
    a, b = _net(0).double(), _net(0).double()
    opt_a = HeavyBall(a.parameters(), lr=0.05) if "SGD" in kernel else Adam(a.parameters(),
                                                                          lr=0.01)
    opt_b = (torch.optim.SGD(b.parameters(), lr=0.05, momentum=0.9) if "SGD" in kernel
             else torch.optim.Adam(b.parameters(), lr=0.01))
    assert opt_a.fused and not opt_a.direct
    got = _train(a, opt_a, 10, opt_a.zero_grad)
    want = _train(b, opt_b, 10, lambda: opt_b.zero_grad(set_to_none=True))
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
