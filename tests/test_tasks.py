"""Task scores at their edges."""

import torch

from lassonet_cli.tasks import Regression


def test_r2_of_constant_targets_is_finite():
    """A validation split can hold one target value only: R^2 is then 1 for an exact fit, else
    0 (scikit-learn's convention), never -inf."""
    task = Regression()
    y = torch.zeros(3, 1)
    assert float(task.score(torch.zeros(3, 1), y)) == 1.0
    assert float(task.score(torch.full((3, 1), 0.2), y)) == 0.0


def test_r2_matches_its_definition():
    task = Regression()
    y = torch.tensor([[1.0], [2.0], [4.0]])
    out = torch.tensor([[1.5], [2.0], [3.0]])
    expected = 1 - (0.25 + 0 + 1) / ((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2)
    assert abs(float(task.score(out, y)) - expected) < 1e-6
