"""Our optimisers against torch.optim: the same updates, step for step."""

import pytest
import torch

from lassonet_cli.optim import Adam, HeavyBall


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))


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
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "foreach"])
def test_updates_equal_torch_optim(ours, theirs, fused):
    a, b = _net(0).double(), _net(0).double()
    opt_a, opt_b = ours(a.parameters()), theirs(b.parameters())
    assert opt_a.fused  # torch's fused kernels exist for CPU float64 parameters
    opt_a.fused = fused
    got = _train(a, opt_a, 25, opt_a.zero_grad)
    want = _train(b, opt_b, 25, lambda: opt_b.zero_grad(set_to_none=True))
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-12)
    assert not torch.equal(got[0], _net(0).double()[0].weight.detach())  # it did move


@pytest.mark.parametrize("before_first_step", [False, True], ids=["after", "before"])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "foreach"])
@pytest.mark.parametrize("make", [lambda ps: HeavyBall(ps, lr=0.05),
                                  lambda ps: HeavyBall(ps, lr=0.05, momentum=0.0),
                                  lambda ps: Adam(ps, lr=0.01)],
                         ids=["heavy_ball", "sgd", "adam"])
def test_state_dict_restores_the_trajectory(make, fused, before_first_step):
    net = _net(2).double()
    opt = make(net.parameters())
    opt.fused = fused
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
