"""``oracle``: the synthetic dataset's own generating function as the model (no training).

Target ``value``: ``f(x) = oracle.score(x)`` (the true log-odds of class 1 on the synthetic
tabular sets; the evidence of the winning class on ``synthetic_patch``; marker × copied-token
indicator on ``synthetic_copy``). Ground truth: ``oracle.attributions(x, b)`` with ``b`` the
dataset baseline, exactly — the baseline Shapley values of ``f`` (signed), or the relevance mask
(unsigned). This is the model for exact checks: ``exact_shapley`` on ``oracle`` must return the
analytic Shapley values to float precision. Decision: ``oracle.label(x)`` where the dataset
defines it, else ``score(x) > 0``. No representation. Applies only to datasets with an oracle.

Whose truth: on the oracle, the data-generating process's truth *is* the model's own, so the
ground-truth metrics' ``truth="process"`` and ``truth="model"`` agree (for signed truths). The
process truth of a trained classifier's ``prob`` target is the exact Shapley values of the
Bayes-optimal probability ``σ(±s(x))`` (:func:`._targets.probability_truth`).

Randomization (``Task.randomized``, sanity checks): an oracle has no weights to re-draw, so the
"untrained architecture" ``build(dataset, seed)`` is the oracle composed with a **random
permutation of the input features** drawn from ``seed``: ``f(x) = score(x_π)`` with
``(x_π)_j = x_{π(j)}`` over flattened features. "Training" (``fit``) sets ``π`` to the identity.
The ground truth follows the permutation exactly (``φ_f(x)_{π(j)} = φ_score(x_π)_j``), so the
randomized task still carries correct ground truth for its own function.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from xaibench.dataset import Dataset, Oracle
from xaibench.model import ModelSpec, TargetSpec, register_model
from xaibench.task import GroundTruth

from ._nets import seeded
from ._quality import accuracy
from ._train import chunked


class PermutedInputs(nn.Module):
    """Reorders the flattened features of ``(B, *F)`` inputs: ``out[:, j] = x[:, π(j)]``."""

    def __init__(self, permutation: Tensor):
        super().__init__()
        self.register_buffer("permutation", permutation)

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(1)[:, self.permutation].reshape(x.shape)

    def pull_back(self, attributions: Tensor) -> Tensor:
        """Attributions of ``score(x_π)`` from attributions of ``score`` at ``x_π`` (inverse reordering)."""
        flat = attributions.flatten(1)
        return torch.empty_like(flat).index_copy_(1, self.permutation, flat).reshape(attributions.shape)


def oracle_decision(oracle: Oracle):
    return oracle.label if oracle.label is not None else (lambda x: (oracle.score(x) > 0).long())


@register_model
class OracleModel(ModelSpec):
    name = "oracle"
    description = "the synthetic dataset's generating function (exact ground truth; no training)"
    kinds = frozenset({"tabular", "image", "sequence"})
    targets = {"value": "oracle score: the true log-odds / evidence that generated the labels"}
    weights_dir = None  # nothing to ship: the "weights" are the identity permutation

    def supports(self, dataset: Dataset) -> bool:
        return dataset.oracle is not None

    def build(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        with seeded(seed):
            return PermutedInputs(torch.randperm(math.prod(dataset.feature_shape)))

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        return PermutedInputs(torch.arange(math.prod(dataset.feature_shape)))

    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        decide = oracle_decision(dataset.oracle)
        return {"test_accuracy": accuracy(chunked(lambda x: decide(module(x)), dataset.x_test), dataset.y_test)}

    def target(self, name: str, module: nn.Module, dataset: Dataset) -> TargetSpec:
        oracle = dataset.oracle
        decide = oracle_decision(oracle)
        baseline = dataset.baseline

        def truth(x: Tensor) -> Tensor:
            b = baseline.to(x)
            return module.pull_back(oracle.attributions(module(x), module(b[None])[0]).to(x.dtype))

        note = ("baseline Shapley values of the generating function (data-generating process, realised exactly)"
                if oracle.signed else f"the planted relevance mask of {dataset.name} (0/1, unsigned)")
        return TargetSpec(f=lambda x, _s: oracle.score(module(x)).to(x.dtype), label_fn=lambda x: decide(module(x)),
                          ground_truth=GroundTruth(truth, "process", note), ground_truth_signed=oracle.signed)
