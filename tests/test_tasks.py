"""Task scores at their edges."""

import warnings

import numpy as np
import pytest
import torch

from lassonet_cli.errors import DataError
from lassonet_cli.tasks import Reconstruction, Regression


def test_r2_of_constant_targets_is_finite():
    """A validation split can hold one target value only: R^2 is then 1 for an exact fit, else
    0 (scikit-learn's convention), never -inf."""
    task = Regression()
    y = torch.zeros(3, 1)
    assert float(task.score(torch.zeros(3, 1), y)) == 1.0
    assert float(task.score(torch.full((3, 1), 0.2), y)) == 0.0


def test_r2_of_a_constant_target_whose_mean_rounds_is_zero_not_huge():
    """7 copies of 0.1 in float32 have a mean that is not exactly 0.1: the rounding residue
    must not become SS_tot (R^2 was -4e14 from LassoNetSelector.score(X, constant y))."""
    y = torch.full((7, 1), 0.1)
    assert float(((y - y.mean(dim=0)) ** 2).sum()) > 0  # the residue this guards against
    assert float(Regression().score(torch.zeros(7, 1), y)) == 0.0
    assert float(Regression().score(y.clone(), y)) == 1.0
    pooled = torch.cat([y, torch.tensor([[0.0], [1.0], [0.0], [1.0], [0.0], [1.0], [0.0]])], 1)
    r2 = float(Reconstruction(columns=("a", "b")).score(torch.zeros(7, 2), pooled))
    assert abs(r2 - (1 - (7 * 0.01 + 3) / (3 * 16 / 49 + 4 * 9 / 49))) < 1e-5


def test_r2_matches_its_definition():
    task = Regression()
    y = torch.tensor([[1.0], [2.0], [4.0]])
    out = torch.tensor([[1.5], [2.0], [3.0]])
    expected = 1 - (0.25 + 0 + 1) / ((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2)
    assert abs(float(task.score(out, y)) - expected) < 1e-6


def test_standardising_huge_targets_neither_overflows_nor_warns():
    """Regression and reconstruction targets near 1e200 are finite doubles: their scale must
    be too (squaring them overflows), with no RuntimeWarning on the way."""
    y = np.array([0.0, 1e200, 2e200, 4e200])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        task = Regression().fit(y)
        rec = Reconstruction(columns=["a", "b"]).fit(np.column_stack([y, y / 1e200]))
    assert task.mean == pytest.approx(np.mean(y / 1e200) * 1e200, rel=1e-12)
    assert task.scale == pytest.approx(np.std(y / 1e200) * 1e200, rel=1e-12)
    np.testing.assert_allclose(rec.scale, [task.scale, task.scale / 1e200], rtol=1e-12)
    np.testing.assert_allclose(rec.mean, [task.mean, task.mean / 1e200], rtol=1e-12)
    encoded = task.encode(y)
    assert torch.isfinite(encoded).all() and abs(float(encoded.mean())) < 1e-6


def test_a_held_out_value_far_outside_the_training_range_encodes_to_inf_quietly():
    """A validation row whose target is -1e308 while the training rows' scale is 0.2 (found by
    test_fuzz): encoding overflows to inf without a RuntimeWarning, so that the path can name
    the rows (``Trainer.blame_validation_rows``) instead of ending in an internal error."""
    task = Regression().fit(np.array([0.0, 0.5, 0.0, 0.0]))
    rec = Reconstruction(columns=["a"]).fit(np.array([[0.0], [0.5], [0.0], [0.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        far = task.encode(np.array([-1e308, 0.5]))
        far_rec = rec.encode(np.array([[-1e308], [0.5]]))
    for encoded in (far, far_rec):
        assert torch.isinf(encoded[0]).all() and torch.isfinite(encoded[1]).all()


def test_constant_target_is_still_refused():
    with pytest.raises(DataError, match="constant"):
        Regression().fit(np.full(5, 3e250))


@pytest.mark.parametrize("name, undefined, defined", [
    ("regression", [[2.0], [2.0, 2.0, 2.0]], [[1.0, 2.0]]),
    ("classification", [], [["a"], ["a", "a"]]),
    # (time, event): no event; the only event at the latest time; then an orderable pair
    ("cox", [[[1, 0], [2, 0]], [[1, 0], [3, 1], [3, 0]]], [[[1, 1], [2, 0]]]),
    ("reconstruction", [[[1.0, 2.0]], [[1.0, 2.0], [1.0, 2.0]]], [[[1.0, 2.0], [1.0, 3.0]]]),
])
def test_held_out_rows_say_when_their_score_is_undefined(name, undefined, defined):
    """``unscorable``: R^2 needs two distinct rows, the C-index an event before another row's
    time; accuracy is defined on any row."""
    from lassonet_cli.tasks import make_task

    task = make_task(name, columns=["a", "b"])
    for y in undefined:
        assert isinstance(task.unscorable(np.asarray(y)), str)
    for y in defined:
        assert task.unscorable(np.asarray(y)) is None
