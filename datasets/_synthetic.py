"""Sampling shared by the synthetic tabular datasets: Gaussian features, Bernoulli labels, the split."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from xaibench.dataset import Dataset, Oracle

from ._split import split_rows

N_ROWS = 5_000
N_FEATURES = 10
TEST_FRACTION = 0.2
DATA_SEED = 0


def gaussian_logistic(name: str, version: str, oracle: Oracle, description: str, meta: dict) -> Dataset:
    """Draw ``x ~ N(0, I_d)`` and ``y ~ Bernoulli(sigmoid(oracle.score(x)))``, then split.

    Labels are **sampled**, not thresholded: the log-odds of class 1 given ``x`` is exactly
    ``oracle.score(x)``, so a well-fitted classifier's logit estimates the oracle's score (and
    its attributions the oracle's) everywhere, not only near the decision boundary. The price is
    label noise: the Bayes accuracy ``E[sigmoid(|score(x)|)]`` is recorded in ``meta``.
    Rows (``N_ROWS``) and labels come from one CPU generator seeded with ``DATA_SEED``, in float64.
    """
    g = torch.Generator().manual_seed(DATA_SEED)
    x = torch.randn(N_ROWS, N_FEATURES, generator=g, dtype=torch.float64)
    score = oracle.score(x)
    y = torch.bernoulli(torch.sigmoid(score), generator=g).long()
    x_train, y_train, x_test, y_test = split_rows(x.float(), y, TEST_FRACTION)
    bayes = float(torch.sigmoid(score.abs()).mean())
    return Dataset(
        name=name, version=version, kind="tabular",
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, n_classes=2,
        feature_names=tuple(f"x{i}" for i in range(N_FEATURES)), oracle=oracle, description=description,
        meta={"bayes_accuracy": bayes, "label_rule": "y ~ Bernoulli(sigmoid(score(x)))", **meta},
    )


def per_feature(functions: tuple[Callable[[Tensor], Tensor], ...], x: Tensor) -> Tensor:
    """``(..., d)`` → ``(..., d)``: ``functions[i]`` applied to feature ``i`` (vectorised over rows)."""
    return torch.stack([g(x[..., i]) for i, g in enumerate(functions)], dim=-1)
