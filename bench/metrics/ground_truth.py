"""Ground-truth metrics: agreement of φ with true attributions, and whose truth that is.

**Whose truth** (parameter ``truth``, carried into every record's ``metric_params``):

* ``truth="process"`` (default): the data-generating process's attributions,
  ``task.ground_truth(x)`` — on the synthetic datasets, what the dataset's ``oracle`` model
  realises exactly (baseline Shapley values of the true log-odds for ``logit`` targets, of the
  Bayes-optimal probability for ``prob`` targets, the planted mask for ``synthetic_patch`` and
  ``synthetic_copy``). On a *trained* model this scores "recovers the process": it also charges
  the model's own error (a perfect explanation of an imperfect model scores below 1).
* ``truth="model"``: the explained model's own exact Shapley values — baseline Shapley values of
  the task's ``f`` (output pinned at x) against ``task.baseline`` over the task's players,
  enumerated (:mod:`xaibench.shapley`; at most 14 players, otherwise ``NotApplicable``). This
  scores "explains the model" and applies to any task that small, synthetic or not. It is signed.

When ``task.ground_truth_signed`` is false the process truth is a 0/1 relevance mask (planted
patch, copied position) and only ``|φ|`` is compared. Everything works on **players**: when the
task has groups, attributions and truth are summed within each group first
(``Φ = players.total(φ)``), so a patch-level method and a pixel-level gradient are judged on the
same units. Without groups a player is a feature.

**Ties and zeros.** Both sides are snapped first (:func:`xaibench.tolerance.snap`, relative to
each side's ``max |Φ|``): rounding noise is a tie, ±1e-15 on an irrelevant feature is 0. Then
attribution ties are *shared* (the expectation over their orders) and truth ties are
*indifference* (the best order consistent with the truth); see :mod:`._agreement`. Every metric
here is deterministic, and an all-zero attribution scores exactly the chance level — what a
uniformly random ranking scores in expectation.

Top-k metrics follow OpenXAI (Agarwal et al. 2022, "OpenXAI: Towards a Transparent Evaluation of
Model Explanations", ``openxai/metrics.py``): FA, RA, SA, SRA; ``k`` defaults to 0.25 of the
players, OpenXAI's default fraction (``k >= 1`` is a count). Where neither side ties they equal
OpenXAI's; OpenXAI's ``np.argsort`` instead leaves ties in an unspecified (index) order. OpenXAI's
truth is one global coefficient vector flipped by the predicted class; ours is per instance and
already oriented by the explained output. Every metric needs at least 2 players.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError, NotApplicableError, ShapeError
from xaibench.metric import Metric, check_attributions, register_metric
from xaibench.params import Gt, OneOf
from xaibench.shapley import MAX_PLAYERS, baseline_shapley
from xaibench.task import TRUTHS
from xaibench.tensorstats import rankdata, spearman, tie_blocks
from xaibench.tolerance import snap

from ._agreement import expected_position_agreement, expected_topk_overlap
from ._perturb import player_scores, resolve_k

Truth = Annotated[str, OneOf(TRUTHS)]
"""The ``truth`` parameter of every ground-truth metric: ``"process"`` or ``"model"`` (module docstring)."""

PAIR_BLOCK = 1 << 24  # elements of one (n, G, G) block of pairwise comparisons

_MODEL_TRUTH: list = []  # one entry (task, x, x version, values): the GT metrics of a cell share one enumeration


def model_truth(task, x: Tensor) -> Tensor:
    """``(N, G)`` float64 exact baseline Shapley values of the task's own ``f`` at ``x`` (truth="model").

    The game ``v(S) = f(x_S, b_¬S)`` with ``b = task.baseline``, the output pinned at ``x``, over
    ``task.players``. The last result is kept for the same task and inputs, so the ground-truth
    metrics of one runner cell enumerate once.
    """
    if _MODEL_TRUTH and _MODEL_TRUTH[0][0] is task and _MODEL_TRUTH[0][1] is x and _MODEL_TRUTH[0][2] == x._version:
        return _MODEL_TRUTH[0][3]
    bound = task.bind(x)
    values = baseline_shapley(lambda z, part: bound.rows(part)(z), x, task.baseline, task.players,
                              max_rows=task.max_batch)
    _MODEL_TRUTH[:] = [(task, x, x._version, values)]
    return values


@dataclass(frozen=True)
class _GroundTruthMetric(Metric):
    """Shared plumbing; every subclass declares the parameter ``truth: Truth = "process"`` ("process" |
    "model", see the module docstring) after its own parameters, so their positions stay stable."""

    category: ClassVar[str] = "ground_truth"
    higher_is_better: ClassVar[bool] = True
    min_players: ClassVar[int] = 2

    def __post_init__(self) -> None:
        if self.truth not in TRUTHS:
            raise InvalidParameterError(f"{self.name}: truth must be one of {TRUTHS}, got {self.truth!r}")

    @property
    def label(self) -> str:
        return self.name if self.truth == "process" else f"{self.name}[{self.truth}]"

    def check(self, task, method) -> None:
        super().check(task, method)
        if self.truth == "process" and task.ground_truth is None:
            raise NotApplicableError(
                f"{self.name}: {task.name} has no data-generating ground truth (synthetic datasets only); "
                f"truth='model' scores against the model's own exact Shapley values (at most {MAX_PLAYERS} players)")
        if self.truth == "model" and task.players.n > MAX_PLAYERS:
            raise NotApplicableError(
                f"{self.name}: truth='model' enumerates 2^G coalitions, at most {MAX_PLAYERS} players; "
                f"{task.name} has {task.players.n}")

    def signed(self, task) -> bool:
        """Whether the truth's signs mean something (a process mask does not; model truth always does)."""
        return self.truth == "model" or task.ground_truth_signed

    def players(self, task, x: Tensor, attributions: Tensor) -> tuple[Tensor, Tensor]:
        """Per-player attributions and truth, ``(N, G)`` each, float64 (not yet snapped)."""
        check_attributions(x, attributions)
        phi = player_scores(task, attributions).double()
        if self.truth == "model":
            truth = model_truth(task, x)
        else:
            per_feature = task.ground_truth(x)
            if per_feature.shape != x.shape:
                raise ShapeError(
                    f"{task.name}: ground_truth returned shape {tuple(per_feature.shape)} for inputs {tuple(x.shape)}")
            truth = player_scores(task, per_feature.to(attributions)).double()
        return phi, truth

    def __call__(self, task, x, attributions, method, *, seed=0):
        phi, truth = self.players(task, x, attributions)
        return self.compare(task, phi, truth, attributions.dtype).to(attributions.dtype)

    def compare(self, task, phi: Tensor, truth: Tensor, dtype: torch.dtype) -> Tensor:
        """``(N,)`` values from per-player attributions and truth ``(N, G)`` (float64; computed in ``dtype``).

        Implementations snap what they compare (:func:`xaibench.tolerance.snap` with ``dtype``):
        the signed values, or the magnitudes, so that rounding noise ties either way."""
        raise NotImplementedError


_TRUTH_DOC = """

    Parameters:
        truth: ``"process"`` (default; the data-generating process's truth, synthetic tasks) or
            ``"model"`` (the model's own exact Shapley values, tasks of at most 14 players); see the
            module docstring. The record's ``metric_params`` carry it."""


@register_metric
@dataclass(frozen=True)
class GroundTruthRankCorrelation(_GroundTruthMetric):
    __doc__ = """Spearman rank correlation between the attribution and the true attribution (per instance).

    ``ρ(Φ, Φ*)`` over players, average ranks for ties (each tied player gets the mean of the
    positions the tie spans: credit shared, independent of the players' order) after snapping
    both sides (rounding noise ties, so the exact Shapley values score 1 where the truth has exact
    zeros). Signed truth: the signed values are compared, so an explanation with flipped signs
    scores −1. Mask truth (``ground_truth_signed`` false) or ``absolute=True``: ``ρ(|Φ|, |Φ*|)``,
    importance order only — this is OpenXAI's RC (``rankcorr``: Pearson of dense ranks of −|φ|
    and −|truth|), equal to ours when neither side has ties (dense and average ranks differ on
    ties). A constant Φ has no ranking and scores 0, the expectation of a random ranking.
    Default ``absolute = False``. Higher is better.""" + _TRUTH_DOC

    name: ClassVar[str] = "gt_rank_correlation"
    description: ClassVar[str] = "Spearman correlation of φ with the true attributions"

    absolute: bool = False
    truth: Truth = "process"

    def compare(self, task, phi, truth, dtype):
        if self.absolute or not self.signed(task):
            phi, truth = phi.abs(), truth.abs()
        return spearman(phi, truth, dtype)


@dataclass(frozen=True)
class _TopKAgreement(_GroundTruthMetric):
    """FA / RA / SA / SRA: ``positional`` (RA, SRA) or set overlap (FA, SA), ``with_sign`` (SA, SRA)."""

    positional: ClassVar[bool]
    with_sign: ClassVar[bool]

    k: Annotated[float, Gt(0)] = 0.25
    truth: Truth = "process"

    @property
    def label(self) -> str:
        base = f"{self.name}@{self.k:g}"
        return base if self.truth == "process" else f"{base}[{self.truth}]"

    def check(self, task, method) -> None:
        super().check(task, method)
        if self.with_sign and not self.signed(task):
            raise NotApplicableError(f"{self.name} compares signs; {task.name}'s ground truth is an unsigned mask")

    def compare(self, task, phi, truth, dtype):
        k = resolve_k(self.k, phi.shape[-1])
        blocks = tie_blocks(snap(phi.abs(), dtype)), tie_blocks(snap(truth.abs(), dtype))
        agree = sign_agreement(snap(phi, dtype), snap(truth, dtype)) if self.with_sign else torch.ones_like(phi)
        if self.positional:
            return expected_position_agreement(*blocks, k, agree)
        # agreement weights are 0, 1/2 or 1: the best truth completion credits the 1s before the 1/2s,
        # which is the mean of the two 0/1 problems "w = 1" and "w >= 1/2"
        return (expected_topk_overlap(*blocks, k, agree == 1) + expected_topk_overlap(*blocks, k, agree >= 0.5)) / 2


def sign_agreement(phi: Tensor, truth: Tensor) -> Tensor:
    """``(N, G)`` float64 weight of a player's sign agreement: 1 when the signs match or the truth is 0
    (no sign to get wrong: indifference), ½ when only the attribution is 0 (its sign is undetermined:
    the expectation over ±), 0 when they differ."""
    p, t = phi.sign(), truth.sign()
    return torch.where(t == 0, 1.0, torch.where(p == 0, 0.5, (p == t).double()))


_TOPK_DOC = """

    Ties (module docstring, :mod:`._agreement`): tied attributions share credit as the
    expectation over their orders, tied truth values are completed in the order most favourable
    to the attribution; computed exactly, so the metric is deterministic. An all-zero attribution
    scores the chance level (for FA, ``k/G`` when the truth's top-k is unambiguous). Signs (SA,
    SRA): a zero attribution's sign is undetermined and agrees half the time (the expectation
    over ±); where the truth is 0 any sign agrees."""


@register_metric
@dataclass(frozen=True)
class GroundTruthFeatureAgreement(_TopKAgreement):
    __doc__ = """Feature agreement, FA (OpenXAI): ``|T_k(|Φ|) ∩ T_k(|Φ*|)| / k``.

    The share of the k most important players (by |Φ|) that are among the k truly most important.
    With a mask truth of r < k relevant players, any of the tied irrelevant players completes the
    truth's top-k (so the exact explanation scores 1). Default ``k = 0.25`` (a quarter of the
    players, rounded up). Higher is better.""" + _TOPK_DOC + _TRUTH_DOC

    name: ClassVar[str] = "gt_feature_agreement"
    description: ClassVar[str] = "share of the top-k players that are truly top-k (OpenXAI FA)"
    positional: ClassVar[bool] = False
    with_sign: ClassVar[bool] = False


@register_metric
@dataclass(frozen=True)
class GroundTruthRankAgreement(_TopKAgreement):
    __doc__ = """Rank agreement, RA (OpenXAI): ``(1/k) Σ_{j ≤ k} [π_j(|Φ|) = π_j(|Φ*|)]``.

    The share of the top-k positions holding the same player in both orders (π_j: the j-th most
    important player). Default ``k = 0.25``. Higher is better. OpenXAI also requires equal dense
    ranks at that position, which only differs when values tie.""" + _TOPK_DOC + _TRUTH_DOC

    name: ClassVar[str] = "gt_rank_agreement"
    description: ClassVar[str] = "share of the top-k positions with the same player as the truth (OpenXAI RA)"
    positional: ClassVar[bool] = True
    with_sign: ClassVar[bool] = False


@register_metric
@dataclass(frozen=True)
class GroundTruthSignAgreement(_TopKAgreement):
    __doc__ = """Sign agreement, SA (OpenXAI): ``|{i ∈ T_k(|Φ|) ∩ T_k(|Φ*|) : sign Φ_i = sign Φ*_i}| / k``.

    FA counting only players whose sign is right too. Signed ground truth only (``truth="model"``
    is always signed). Default ``k = 0.25``. Higher is better.""" + _TOPK_DOC + _TRUTH_DOC

    name: ClassVar[str] = "gt_sign_agreement"
    description: ClassVar[str] = "share of the top-k players truly top-k with the right sign (OpenXAI SA)"
    positional: ClassVar[bool] = False
    with_sign: ClassVar[bool] = True


@register_metric
@dataclass(frozen=True)
class GroundTruthSignedRankAgreement(_TopKAgreement):
    __doc__ = """Signed rank agreement, SRA (OpenXAI): RA counting only positions whose player has the right sign.

    ``(1/k) Σ_{j ≤ k} [π_j(|Φ|) = π_j(|Φ*|) and sign Φ_{π_j} = sign Φ*_{π_j}]``. Signed ground truth only.
    Default ``k = 0.25``. Higher is better.""" + _TOPK_DOC + _TRUTH_DOC

    name: ClassVar[str] = "gt_signed_rank_agreement"
    description: ClassVar[str] = "RA counting only positions with the right sign (OpenXAI SRA)"
    positional: ClassVar[bool] = True
    with_sign: ClassVar[bool] = True


@register_metric
@dataclass(frozen=True)
class GroundTruthPairwiseRankAgreement(_GroundTruthMetric):
    __doc__ = """Pairwise rank agreement, PRA (OpenXAI): the share of player pairs ordered as the truth orders them.

    ``PRA = Σ_{i<j, |Φ*_i| ≠ |Φ*_j|} c_ij / #{i<j : |Φ*_i| ≠ |Φ*_j|}`` with ``c_ij = 1`` when
    ``sign(|Φ_i| − |Φ_j|) = sign(|Φ*_i| − |Φ*_j|)``, ``½`` when ``|Φ_i| = |Φ_j|`` (a tie: the
    expectation over its two orders), else 0; 0.5 when the truth orders no pair. Pairs the truth
    ties are indifferent and not counted. Both sides snapped first (module docstring). Higher is
    better; an all-zero attribution scores 0.5, the chance level.

    Versus OpenXAI's ``pairwise_comp``: it counts all d(d−1)/2 pairs and compares the booleans
    ``rank_i < rank_j`` (dense ranks of −|·|), so a pair the truth ties "agrees" exactly when the
    explanation ranks the lower-indexed player no higher — an order-dependent score. We count only
    the pairs the truth orders (for a mask truth this makes PRA the AUROC of |Φ| against the mask).
    The two coincide when neither side has ties.""" + _TRUTH_DOC

    name: ClassVar[str] = "gt_pairwise_rank_agreement"
    description: ClassVar[str] = "share of player pairs ordered as by the truth (OpenXAI PRA)"

    truth: Truth = "process"

    def compare(self, task, phi, truth, dtype):
        phi, truth = snap(phi.abs(), dtype), snap(truth.abs(), dtype)
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
        return torch.where(ordered > 0, agree / ordered.clamp(min=1), 0.5)


@register_metric
@dataclass(frozen=True)
class GroundTruthMaskAUROC(_GroundTruthMetric):
    __doc__ = """ROC-AUC of |Φ| against the true relevance mask ``Φ* ≠ 0`` (per instance, over players).

    Mann–Whitney form: ``AUC = (Σ_{i relevant} rank(|Φ|)_i − P(P+1)/2) / (P·Q)`` with average ranks
    (ties count ½: the expectation over their orders), P relevant and Q irrelevant players; 0.5
    when either class is empty (no ranking to judge). For a signed truth the mask is its support,
    zero judged relative to the truth's scale (snapped). Higher is better; 0.5 is chance, and an
    all-zero attribution scores exactly 0.5.""" + _TRUTH_DOC

    name: ClassVar[str] = "gt_mask_auroc"
    description: ClassVar[str] = "ROC-AUC of |φ| against the true relevance mask"

    truth: Truth = "process"

    def compare(self, task, phi, truth, dtype):
        relevant = snap(truth.abs(), dtype) != 0
        pos = relevant.sum(-1).double()
        neg = relevant.shape[-1] - pos
        rank_sum = (rankdata(snap(phi.abs(), dtype)) * relevant).sum(-1)
        auc = (rank_sum - pos * (pos + 1) / 2) / (pos * neg).clamp(min=1)
        return torch.where((pos > 0) & (neg > 0), auc, 0.5)
