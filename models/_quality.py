"""Quality measures reported by ``ModelSpec.quality`` (test split, torch only)."""

from __future__ import annotations

import torch
from torch import Tensor

from xaibench.tensorstats import rankdata


def accuracy(predicted: Tensor, y: Tensor) -> float:
    return float((predicted == y).double().mean())


def auroc(scores: Tensor, positive: Tensor) -> float:
    """Area under the ROC curve of ``scores`` for the boolean labels ``positive`` (Mann–Whitney U,
    ties counted one half); NaN when one class is absent."""
    positive = positive.bool()
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores.double())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def shuffle_features(x: Tensor, generator: torch.Generator) -> Tensor:
    """``x`` with every feature (pixel, column) permuted independently across the rows: same
    marginals, no dependence between features — synthetic anomalies for ``anomaly_auroc``."""
    flat = x.flatten(1)
    order = torch.rand(flat.shape, generator=generator).argsort(0).to(x.device)
    return flat.gather(0, order).view_as(x)


def sample_quality(probabilities: Tensor) -> dict[str, float]:
    """Generated samples judged by a fixed classifier's ``(S, K)`` class probabilities.

    ``class_coverage``: how many classes are the top class of at least one sample; ``mean_top_prob``:
    mean probability of each sample's top class (confidence, a proxy for realism);
    ``class_entropy``: entropy (nats) of the top-class histogram (log K when perfectly balanced).
    """
    top = probabilities.argmax(1)
    share = torch.bincount(top, minlength=probabilities.shape[1]).double() / len(top)
    entropy = -(share[share > 0] * share[share > 0].log()).sum()
    return {"class_coverage": float((share > 0).sum()), "mean_top_prob": float(probabilities.max(1).values.mean()),
            "class_entropy": float(entropy)}
