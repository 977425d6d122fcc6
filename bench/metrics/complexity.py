"""Complexity metrics: how concentrated an explanation is (fewer important players = simpler).

Both work on player magnitudes ``a = |Φ|`` with ``Φ`` the attributions summed within the task's
groups (features when there are none), so a patch method and a pixel method are compared on the
same units; without groups they are Quantus' definitions on ``|φ|`` exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from xaibench.metric import Metric, check_attributions, register_metric

from ._perturb import player_scores


def _magnitudes(task, x, attributions):
    """``|Φ|`` ``(N, G)`` in float64: player attribution magnitudes."""
    check_attributions(x, attributions)
    return player_scores(task, attributions.detach()).abs().double()


@register_metric
@dataclass(frozen=True)
class Sparseness(Metric):
    """Sparseness: Gini index of |Φ| (Chalasani et al. 2020, "Concise Explanations of Neural Networks
    using Adversarial Training"; Hurley & Rickard 2009 for the Gini index).

    With ``a`` sorted ascending, ``G(a) = Σ_{i=1..d} (2i − d − 1) a_(i) / (d Σ_i a_i)``: 0 for a
    uniform attribution, ``1 − 1/d`` for a one-hot one. Higher is sparser (better). An all-zero
    attribution scores 0 (it singles out nothing). No parameters.

    Versus Quantus ``Sparseness``: the same formula; Quantus adds 1e-7 to every entry (to avoid
    0/0) after normalising by the maximum, which shifts values by ~1e-7·d/Σa; we handle the zero
    vector explicitly instead.
    """

    name: ClassVar[str] = "sparseness"
    category: ClassVar[str] = "complexity"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "Gini index of |φ| (Chalasani et al. 2020); higher is sparser"

    def __call__(self, task, x, attributions, method, *, seed=0):
        a = _magnitudes(task, x, attributions).sort(-1).values
        d = a.shape[-1]
        weights = 2 * torch.arange(1, d + 1, device=a.device, dtype=a.dtype) - d - 1
        total = a.sum(-1)
        gini = (weights * a).sum(-1) / (d * total).clamp(min=torch.finfo(a.dtype).tiny)
        return torch.where(total > 0, gini, 0.0).to(attributions.dtype)


@register_metric
@dataclass(frozen=True)
class Entropy(Metric):
    """Complexity as entropy (Bhatt et al. 2020, "Evaluating and Aggregating Feature-based Model
    Explanations"): the Shannon entropy of the attribution's share per player.

    ``H = −Σ_i p_i log p_i`` with ``p_i = |Φ_i| / Σ_j |Φ_j|`` (natural log, ``0 log 0 = 0``): 0 for a
    one-hot attribution, ``log d`` for a uniform one. Lower is better (simpler). An all-zero
    attribution scores ``log d`` (no concentration; not rewarded as simple). No parameters.

    Versus Quantus ``Complexity``: the same formula; Quantus evaluates ``log(p + 1e-12)``, which
    differs from the exact ``0 log 0 = 0`` by less than 1e-11 per entry, and returns NaN for a zero
    attribution.
    """

    name: ClassVar[str] = "entropy"
    category: ClassVar[str] = "complexity"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "entropy of |φ|/Σ|φ| (Bhatt et al. 2020); lower is simpler"

    def __call__(self, task, x, attributions, method, *, seed=0):
        a = _magnitudes(task, x, attributions)
        total = a.sum(-1, keepdim=True)
        p = a / total.clamp(min=torch.finfo(a.dtype).tiny)
        h = -torch.special.xlogy(p, p).sum(-1)
        return torch.where(total.squeeze(-1) > 0, h, math.log(a.shape[-1])).to(attributions.dtype)
