"""Ground-truth metrics: agreement of φ with the true attributions of a synthetic task.

``task.ground_truth(x)`` gives the true attributions ``(N, *F)``; when ``task.ground_truth_signed``
is false it is a 0/1 relevance mask (planted patch, copied position) and only ``|φ|`` is compared.
Everything works on **players**: when the task has groups, attributions and truth are summed
within each group first (``Φ = players.total(φ)``), so a patch-level method and a pixel-level
gradient are judged on the same units. Without groups a player is a feature.

Top-k metrics follow OpenXAI (Agarwal et al. 2022, "OpenXAI: Towards a Transparent Evaluation of
Model Explanations", ``openxai/metrics.py``): FA, RA, SA, SRA; ``k`` defaults to 0.25 of the
players, OpenXAI's default fraction (``k >= 1`` is a count). The order of the top-k is
``argsort(−|Φ|)``, ties broken by player index (OpenXAI's ``np.argsort`` leaves ties in an
unspecified order). OpenXAI's truth is one global coefficient vector flipped by the predicted
class; ours is per instance and already oriented by the explained output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

import torch
from torch import Tensor

from xaibench.errors import NotApplicableError, ShapeError
from xaibench.metric import Metric, check_attributions, register_metric
from xaibench.params import Gt
from xaibench.tensorstats import rankdata, spearman

from ._perturb import player_scores, resolve_k

PAIR_BLOCK = 1 << 24  # elements of one (n, G, G) block of pairwise comparisons


def _players(task, x: Tensor, attributions: Tensor) -> tuple[Tensor, Tensor]:
    """Per-player attributions and truth, ``(N, G)`` each, in float64."""
    check_attributions(x, attributions)
    truth = task.ground_truth(x)
    if truth.shape != x.shape:
        raise ShapeError(f"{task.name}: ground_truth returned shape {tuple(truth.shape)} for inputs {tuple(x.shape)}")
    return player_scores(task, attributions).double(), player_scores(task, truth.to(attributions)).double()


@dataclass(frozen=True)
class _GroundTruthMetric(Metric):
    category: ClassVar[str] = "ground_truth"
    higher_is_better: ClassVar[bool] = True
    requires: ClassVar[frozenset[str]] = frozenset({"ground_truth"})


@register_metric
@dataclass(frozen=True)
class GroundTruthRankCorrelation(_GroundTruthMetric):
    """Spearman rank correlation between the attribution and the true attribution (per instance).

    ``ρ(Φ, Φ*)`` with average ranks for ties, over players. Signed truth: the signed values are
    compared, so an explanation with flipped signs scores −1. Mask truth (``ground_truth_signed``
    false) or ``absolute=True``: ``ρ(|Φ|, |Φ*|)``, importance order only — this is OpenXAI's RC
    (``rankcorr``: Pearson of dense ranks of −|φ| and −|truth|), equal to ours when neither side has
    ties (dense and average ranks differ on ties). A constant Φ has no ranking and scores 0.
    Default ``absolute = False``. Higher is better.
    """

    name: ClassVar[str] = "gt_rank_correlation"
    description: ClassVar[str] = "Spearman correlation of φ with the true attributions"

    absolute: bool = False

    def __call__(self, task, x, attributions, method, *, seed=0):
        phi, truth = _players(task, x, attributions)
        if self.absolute or not task.ground_truth_signed:
            phi, truth = phi.abs(), truth.abs()
        return spearman(phi, truth).to(attributions.dtype)


@dataclass(frozen=True)
class _TopKAgreement(_GroundTruthMetric):
    k: Annotated[float, Gt(0)] = 0.25

    @property
    def label(self) -> str:
        return f"{self.name}@{self.k:g}"

    def __call__(self, task, x, attributions, method, *, seed=0):
        phi, truth = _players(task, x, attributions)
        k = resolve_k(self.k, phi.shape[-1])
        order_phi = phi.abs().argsort(dim=-1, descending=True, stable=True)[:, :k]
        order_truth = truth.abs().argsort(dim=-1, descending=True, stable=True)[:, :k]
        return (self._agreeing(phi, truth, order_phi, order_truth).sum(-1) / k).to(attributions.dtype)

    def _agreeing(self, phi: Tensor, truth: Tensor, order_phi: Tensor, order_truth: Tensor) -> Tensor:
        """``(N, ·)`` boolean: which of the top-k agree."""
        raise NotImplementedError


def _members(order: Tensor, n: int) -> Tensor:
    return torch.zeros(order.shape[0], n, dtype=torch.bool, device=order.device).scatter_(1, order, True)


class _SignedTruthOnly:
    def check(self, task, method) -> None:
        super().check(task, method)
        if not task.ground_truth_signed:
            raise NotApplicableError(f"{self.name} compares signs; {task.name}'s ground truth is an unsigned mask")


@register_metric
@dataclass(frozen=True)
class GroundTruthFeatureAgreement(_TopKAgreement):
    """Feature agreement, FA (OpenXAI): ``|T_k(|Φ|) ∩ T_k(|Φ*|)| / k``.

    The share of the k most important players (by |Φ|) that are among the k truly most important.
    With a mask truth of r < k relevant players the maximum is r/k (as in OpenXAI); compare methods
    at equal k. Default ``k = 0.25`` (a quarter of the players, rounded up). Higher is better.
    """

    name: ClassVar[str] = "gt_feature_agreement"
    description: ClassVar[str] = "share of the top-k players that are truly top-k (OpenXAI FA)"

    def _agreeing(self, phi, truth, order_phi, order_truth):
        n = phi.shape[-1]
        return _members(order_phi, n) & _members(order_truth, n)


@register_metric
@dataclass(frozen=True)
class GroundTruthRankAgreement(_TopKAgreement):
    """Rank agreement, RA (OpenXAI): ``(1/k) Σ_{j ≤ k} [π_j(|Φ|) = π_j(|Φ*|)]``.

    The share of the top-k positions holding the same player in both orders (π_j: the j-th most
    important player). Default ``k = 0.25``. Higher is better. OpenXAI also requires equal dense
    ranks at that position, which only differs when values tie.
    """

    name: ClassVar[str] = "gt_rank_agreement"
    description: ClassVar[str] = "share of the top-k positions with the same player as the truth (OpenXAI RA)"

    def _agreeing(self, phi, truth, order_phi, order_truth):
        return order_phi == order_truth


@register_metric
@dataclass(frozen=True)
class GroundTruthSignAgreement(_SignedTruthOnly, _TopKAgreement):
    """Sign agreement, SA (OpenXAI): ``|{i ∈ T_k(|Φ|) ∩ T_k(|Φ*|) : sign Φ_i = sign Φ*_i}| / k``.

    FA counting only players whose sign is right too. Signed ground truth only. Default ``k = 0.25``.
    Higher is better.
    """

    name: ClassVar[str] = "gt_sign_agreement"
    description: ClassVar[str] = "share of the top-k players truly top-k with the right sign (OpenXAI SA)"

    def _agreeing(self, phi, truth, order_phi, order_truth):
        n = phi.shape[-1]
        return _members(order_phi, n) & _members(order_truth, n) & (phi.sign() == truth.sign())


@register_metric
@dataclass(frozen=True)
class GroundTruthSignedRankAgreement(_SignedTruthOnly, _TopKAgreement):
    """Signed rank agreement, SRA (OpenXAI): RA counting only positions whose player has the right sign.

    ``(1/k) Σ_{j ≤ k} [π_j(|Φ|) = π_j(|Φ*|) and sign Φ_{π_j} = sign Φ*_{π_j}]``. Signed ground truth only.
    Default ``k = 0.25``. Higher is better.
    """

    name: ClassVar[str] = "gt_signed_rank_agreement"
    description: ClassVar[str] = "RA counting only positions with the right sign (OpenXAI SRA)"

    def _agreeing(self, phi, truth, order_phi, order_truth):
        same_sign = phi.gather(1, order_phi).sign() == truth.gather(1, order_phi).sign()
        return (order_phi == order_truth) & same_sign


@register_metric
@dataclass(frozen=True)
class GroundTruthPairwiseRankAgreement(_GroundTruthMetric):
    """Pairwise rank agreement, PRA (OpenXAI): the share of player pairs ordered as the truth orders them.

    ``PRA = Σ_{i<j, |Φ*_i| ≠ |Φ*_j|} c_ij / #{i<j : |Φ*_i| ≠ |Φ*_j|}`` with ``c_ij = 1`` when
    ``sign(|Φ_i| − |Φ_j|) = sign(|Φ*_i| − |Φ*_j|)``, ``½`` when ``|Φ_i| = |Φ_j|``, else 0; 0.5 when
    the truth orders no pair. Higher is better.

    Versus OpenXAI's ``pairwise_comp``: it counts all d(d−1)/2 pairs and compares the booleans
    ``rank_i < rank_j`` (dense ranks of −|·|), so a pair the truth ties "agrees" exactly when the
    explanation ranks the lower-indexed player no higher — an order-dependent score. We count only
    the pairs the truth orders (for a mask truth this makes PRA the AUROC of |Φ| against the mask).
    The two coincide when neither side has ties.
    """

    name: ClassVar[str] = "gt_pairwise_rank_agreement"
    description: ClassVar[str] = "share of player pairs ordered as by the truth (OpenXAI PRA)"

    def __call__(self, task, x, attributions, method, *, seed=0):
        phi, truth = _players(task, x, attributions)
        phi, truth = phi.abs(), truth.abs()
        g = phi.shape[-1]
        rows = max(1, PAIR_BLOCK // (g * g))
        agree, ordered = [], []
        for i in range(0, phi.shape[0], rows):  # blocks of instances bound the (n, G, G) memory
            d_phi = (phi[i : i + rows, :, None] - phi[i : i + rows, None, :]).sign()
            d_truth = (truth[i : i + rows, :, None] - truth[i : i + rows, None, :]).sign()
            credit = torch.where(d_phi == 0, 0.5, (d_phi == d_truth).double())
            strict = d_truth != 0  # each unordered pair appears twice, with the same credit
            agree.append((credit * strict).sum((1, 2)))
            ordered.append(strict.sum((1, 2)).double())
        agree, ordered = torch.cat(agree), torch.cat(ordered)
        return torch.where(ordered > 0, agree / ordered.clamp(min=1), 0.5).to(attributions.dtype)


@register_metric
@dataclass(frozen=True)
class GroundTruthMaskAUROC(_GroundTruthMetric):
    """ROC-AUC of |Φ| against the true relevance mask ``Φ* ≠ 0`` (per instance, over players).

    Mann–Whitney form: ``AUC = (Σ_{i relevant} rank(|Φ|)_i − P(P+1)/2) / (P·Q)`` with average ranks
    (ties count ½), P relevant and Q irrelevant players; 0.5 when either class is empty (no ranking
    to judge). For a signed truth the mask is its support. Higher is better; 0.5 is chance.
    """

    name: ClassVar[str] = "gt_mask_auroc"
    description: ClassVar[str] = "ROC-AUC of |φ| against the true relevance mask"

    def __call__(self, task, x, attributions, method, *, seed=0):
        phi, truth = _players(task, x, attributions)
        relevant = truth != 0
        pos = relevant.sum(-1).double()
        neg = relevant.shape[-1] - pos
        rank_sum = (rankdata(phi.abs()) * relevant).sum(-1)
        auc = (rank_sum - pos * (pos + 1) / 2) / (pos * neg).clamp(min=1)
        return torch.where((pos > 0) & (neg > 0), auc, 0.5).to(attributions.dtype)
