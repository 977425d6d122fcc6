"""Target pieces shared across the zoo: class scores, oracle ground truth, the anomaly decision.

Classifier ``logit`` — decision and why (``log_odds`` and ``class_score`` live in the core,
:mod:`xaibench.targets`, shared with models users bring). captum's convention explains the raw
logit ``z_c`` of the predicted class ``c``. Raw logits are not identifiable: adding the same function ``g(x)`` to
every class's logit leaves the softmax, the predictions and the training loss unchanged but moves
every attribution of ``z_c`` by the attribution of ``g``; with two output units the gauge is fully
free and ``z_c`` alone means nothing. We therefore explain the **log-odds of the predicted class**

    logit_c(x) = z_c(x) − log Σ_{j≠c} exp z_j(x)  = log p_c(x) − log(1 − p_c(x)),

which is a function of the probabilities only (gauge-free), equals the usual logit ``z_1 − z_0``
(oriented to ``c``) for two classes, and is the quantity the synthetic oracles define (their
``score`` is the log-odds of class 1). ``prob`` is the softmax probability ``p_c(x)``.

Ground truth — whose truth, for each target (a :class:`~xaibench.task.GroundTruth` with
``whose="process"`` and a one-line ``note``): the **data-generating process's**, which the
dataset's ``oracle`` model realises exactly. Explaining a trained model against it scores
"recovers the process" and charges the model's own error too; the ground-truth metrics'
``truth="model"`` scores against the trained model's own exact Shapley values instead.

* ``logit`` (binary signed oracles: ``synthetic_linear/additive/interaction``): the baseline
  Shapley values of the true log-odds ``s(x)`` against the dataset baseline ``b``, oriented to the
  explained class ``c``: ``(2c − 1) · φ_s(x; b)`` — exactly the Shapley values of the Bayes-optimal
  log-odds of ``c``.
* ``prob`` (same datasets): the exact baseline Shapley values of the Bayes-optimal probability of
  the explained class, ``p*_c(x) = σ((2c − 1) s(x))``, by enumerating the 2^10 coalitions of the 10
  features (:func:`xaibench.shapley.baseline_shapley`). Not the log-odds values: σ is not linear,
  so the probability's Shapley values differ in size *and order* from the log-odds ones.
* unsigned oracles (``synthetic_patch``, ``synthetic_copy``): the 0/1 relevance mask, whichever
  output is explained.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from xaibench.dataset import Dataset
from xaibench.model import TargetSpec
from xaibench.players import Players
from xaibench.shapley import baseline_shapley
from xaibench.targets import CLASS_TARGETS, class_score, log_odds  # shared with models users bring
from xaibench.task import GroundTruth

__all__ = ["CLASS_TARGETS", "log_odds", "class_target", "oracle_ground_truth", "above"]

Fn = Callable[[Tensor], Tensor]


def class_target(name: str, logits: Fn, dataset: Dataset, representation: Fn | None = None) -> TargetSpec:
    """``logit`` or ``prob`` (see :data:`CLASS_TARGETS`) of a classifier with ``logits: (B, *F) → (B, K)``.

    The explained class, the decision and the pinned selector are all the argmax class; the
    ground truth, where the dataset has an oracle, is :func:`oracle_ground_truth` for the target
    (the process's truth of *that* target: log-odds values for ``logit``, probability values for
    ``prob``; module docstring).
    """

    def predicted(x: Tensor) -> Tensor:
        return logits(x).argmax(1)

    truth, signed = oracle_ground_truth(dataset, predicted, target=name)
    return TargetSpec(f=class_score(name, logits), label_fn=predicted, select=predicted,
                      representation_fn=representation, ground_truth=truth, ground_truth_signed=signed)


def oracle_ground_truth(dataset: Dataset, explained_class: Fn,
                        target: str = "logit") -> tuple[GroundTruth | None, bool]:
    """The process's true attributions of a class score, from the dataset's oracle: ``(truth or None, signed)``.

    * unsigned oracles (a relevance mask: planted patch, copied position): the mask, whichever
      class is explained;
    * signed oracles of binary problems (``score`` = log-odds of class 1), ``target="logit"``: the
      oracle's baseline Shapley values oriented to the explained class ``c``,
      ``(2c − 1) · φ_oracle(x, b)``, with ``b`` the dataset baseline (the task's default baseline);
    * the same, ``target="prob"``: the exact Shapley values of the Bayes-optimal probability of
      ``c`` (:func:`probability_truth`);
    * signed oracles of multi-class problems: no ground truth (an oracle score per class would be
      needed).
    """
    oracle = dataset.oracle
    if oracle is None:
        return None, True
    baseline = dataset.baseline

    def attributions(x: Tensor) -> Tensor:
        return oracle.attributions(x, baseline.to(x)).to(x.dtype)

    if not oracle.signed:
        note = f"the planted relevance mask of {dataset.name} (0/1, unsigned)"
        return GroundTruth(attributions, "process", note), False
    if dataset.n_classes != 2:
        return None, True
    if target == "prob":
        return probability_truth(oracle.score, baseline, explained_class), True

    def oriented(x: Tensor) -> Tensor:
        with torch.no_grad():
            sign = 2 * explained_class(x) - 1
        return sign.to(x.dtype).reshape(-1, *[1] * (x.dim() - 1)) * attributions(x)

    return GroundTruth(oriented, "process", LOG_ODDS_NOTE), True


LOG_ODDS_NOTE = "baseline Shapley values of the true log-odds of the explained class (data-generating process)"
PROBABILITY_NOTE = ("exact baseline Shapley values of the Bayes-optimal probability of the explained class, "
                    "sigmoid(+-s(x)) (data-generating process)")


def probability_truth(score: Fn, baseline: Tensor, explained_class: Fn) -> GroundTruth:
    """Exact baseline Shapley values of the Bayes-optimal probability ``p*_c(x) = σ((2c − 1) s(x))``.

    ``score`` is the true log-odds of class 1 on ``(B, *F)`` inputs, ``explained_class`` the class
    ``c`` pinned at each explained instance. The game ``v(S) = p*_c(x_S, b_¬S)`` is enumerated over
    every coalition of the features (:func:`xaibench.shapley.baseline_shapley`, float64, so the
    truth of float32 inputs is exact to float32 rounding); per-feature values ``(N, *F)``.
    """

    def truth(x: Tensor) -> Tensor:
        with torch.no_grad():
            sign = (2 * explained_class(x) - 1).to(torch.float64)

        def probability(z: Tensor, part: slice) -> Tensor:
            flat = z.reshape(-1, *z.shape[2:]).double()
            return torch.sigmoid(sign[part, None] * score(flat).reshape(z.shape[:2]))

        players = Players(tuple(x.shape[1:]), device=x.device)
        values = baseline_shapley(probability, x, baseline.to(x), players)
        return values.to(x.dtype).reshape(x.shape)

    return GroundTruth(truth, "process", PROBABILITY_NOTE)



def above(score: Fn, threshold: Tensor) -> Fn:
    """The decision ``score(x) > threshold`` as a long 0/1 flag."""

    def flag(x: Tensor) -> Tensor:
        return (score(x) > threshold).long()

    return flag
