"""Tiny hand-made datasets for the model tests (no training, no files)."""

from __future__ import annotations

import torch

from xaibench.dataset import Dataset, Oracle


def toy_dataset(x_train, y_train=None, *, n_classes: int = 2, oracle: Oracle | None = None, kind: str = "tabular",
                baseline=None) -> Dataset:
    """A dataset whose test split is its training split (enough for target definitions)."""
    x = torch.as_tensor(x_train, dtype=torch.float32)
    y = torch.zeros(len(x), dtype=torch.long) if y_train is None else torch.as_tensor(y_train)
    return Dataset(name="toy", version="0", kind=kind, x_train=x, y_train=y, x_test=x, y_test=y,
                   n_classes=n_classes, feature_names=tuple(f"f{i}" for i in range(x[0].numel())),
                   oracle=oracle, baseline=None if baseline is None else torch.as_tensor(baseline, dtype=torch.float32))


def linear_layer(weight, bias) -> torch.nn.Linear:
    """``nn.Linear`` with the given weight ``(out, in)`` and bias ``(out,)``."""
    weight = torch.as_tensor(weight, dtype=torch.float32)
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return layer
