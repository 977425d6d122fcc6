"""The one tolerance rule (``xaibench.tolerance``): zero, constant and tied are relative to the scale."""

from __future__ import annotations

import pytest
import torch

from xaibench.tolerance import RTOL_ULPS, is_constant, negligible, rtol, snap


def test_rtol_is_a_multiple_of_the_dtype_epsilon():
    assert rtol(torch.float64) == RTOL_ULPS * 2.0**-52
    assert rtol(torch.float32) == RTOL_ULPS * 2.0**-23
    assert rtol(torch.int64) == 0.0


def test_snap_zeroes_rounding_noise_and_ties_near_equal_values():
    # the exact Shapley values of an irrelevant feature come out as ±1e-15 next to values of order 1
    row = torch.tensor([[1.9566, -1e-15, 0.5115, 1e-15, 0.5115 + 1e-15, 0.0]], dtype=torch.float64)
    out = snap(row)
    assert out[0, 1] == 0 and out[0, 3] == 0 and out[0, 5] == 0
    assert out[0, 2] == out[0, 4]  # tied: one value, the run's mean
    assert out[0, 0] == row[0, 0]  # a distinct value is left alone
    # genuinely different small values stay different (1e-4 relative is far above rounding)
    assert snap(torch.tensor([1.0, 1.0001], dtype=torch.float64)).unique().numel() == 2


def test_snap_commutes_with_permutations_and_powers_of_two():
    g = torch.Generator().manual_seed(0)
    row = torch.randn(4, 9, generator=g, dtype=torch.float64)
    row[:, 3] = row[:, 5] + 1e-16  # a rounding-level tie
    row[:, 7] = 1e-17  # rounding-level zero
    perm = torch.randperm(9, generator=g)
    torch.testing.assert_close(snap(row)[:, perm], snap(row[:, perm]), rtol=0, atol=0)
    for c in (2.0**-27, 2.0**27):
        torch.testing.assert_close(snap(row * c), snap(row) * c, rtol=0, atol=0)


def test_snap_uses_the_dtype_the_values_were_computed_in():
    row = torch.tensor([1.0, 1.0 + 1e-7, 0.5], dtype=torch.float64)  # float32-level difference
    assert snap(row).unique().numel() == 3
    assert snap(row, torch.float32).unique().numel() == 2


def test_negligible_and_is_constant_are_relative():
    # f(x) − f(x') = 2e-6 between outputs of size 2e-6 is a real change; 1e-9 next to 1e4 is not
    assert not negligible(torch.tensor(2e-6), torch.tensor(2e-6))
    assert negligible(torch.tensor(1e-9, dtype=torch.float32), torch.tensor(1e4))
    assert negligible(torch.tensor(0.0), torch.tensor(0.0))
    drops = torch.tensor([[3e-3, 3e-3 * (1 + 1e-15), 3e-3], [1e-8, 2e-8, 3e-8]], dtype=torch.float64)
    assert is_constant(drops).tolist() == [True, False]
    # the same drops as differences of outputs near 1e8 are rounding noise
    assert is_constant(drops, scale=torch.tensor([1.0, 1e8], dtype=torch.float64)).tolist() == [True, True]


@pytest.mark.parametrize("shape", [(0,), (3, 0)])
def test_empty_rows(shape):
    assert snap(torch.zeros(shape)).shape == shape
    assert is_constant(torch.zeros(shape)).shape == shape[:-1]
