"""Class-score targets of any classifier: the ``logit`` (log-odds) and ``prob`` of the predicted class,
with ground truth from a synthetic dataset's oracle.

Shared by the zoo's classifiers (``xaibench.models``) and by models users bring
(:func:`xaibench.task_from_module`), so both explain exactly the same quantity.

Why log-odds rather than the raw logit: captum's convention explains the raw logit ``z_c`` of the
predicted class ``c``. Raw logits are not identifiable: adding the same function ``g(x)`` to
every class's logit leaves the softmax, the predictions and the training loss unchanged but moves
every attribution of ``z_c`` by the attribution of ``g``; with two output units the gauge is fully
free and ``z_c`` alone means nothing. We therefore explain the **log-odds of the predicted class**

    logit_c(x) = z_c(x) − log Σ_{j≠c} exp z_j(x)  = log p_c(x) − log(1 − p_c(x)),

which is a function of the probabilities only (gauge-free), equals the usual logit ``z_1 − z_0``
(oriented to ``c``) for two classes, and is the quantity the synthetic oracles define (their
``score`` is the log-odds of class 1). ``prob`` is the softmax probability ``p_c(x)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .dataset import Dataset
from .model import TargetSpec

Fn = Callable[[Tensor], Tensor]

CLASS_TARGETS = {
    "logit": "log-odds of the predicted class c: z_c - logsumexp_{j!=c} z_j (gauge-free; z_1 - z_0 for two classes)",
    "prob": "softmax probability of the predicted class",
}


def log_odds(logits: Tensor, c: Tensor) -> Tensor:
    """``z_c − logsumexp_{j≠c} z_j`` per row, for ``(B, K)`` logits and ``(B,)`` classes (K ≥ 2)."""
    c = c[:, None]
    others = logits.scatter(1, c, float("-inf"))
    return logits.gather(1, c).squeeze(1) - torch.logsumexp(others, dim=1)


def class_score(name: str, logits: Callable[[Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """``f(x, c)`` of the class target ``name`` (``"logit"`` or ``"prob"``) for ``logits: (B, *F) → (B, K)``."""
    if name == "logit":
        return lambda x, c: log_odds(logits(x), c)
    if name == "prob":
        return lambda x, c: logits(x).softmax(1).gather(1, c[:, None]).squeeze(1)
    raise KeyError(f"unknown class target {name!r}; expected one of {sorted(CLASS_TARGETS)}")


def class_target(name: str, logits: Fn, dataset: Dataset, representation: Fn | None = None) -> TargetSpec:
    """``logit`` or ``prob`` (see :data:`CLASS_TARGETS`) of a classifier with ``logits: (B, *F) → (B, K)``.

    The explained class, the decision and the pinned selector are all the argmax class; the
    ground truth, where the dataset has an oracle, is :func:`oracle_ground_truth`.
    """

    def predicted(x: Tensor) -> Tensor:
        return logits(x).argmax(1)

    truth, signed = oracle_ground_truth(dataset, predicted)
    return TargetSpec(f=class_score(name, logits), label_fn=predicted, select=predicted,
                      representation_fn=representation, ground_truth=truth, ground_truth_signed=signed)


def oracle_ground_truth(dataset: Dataset, explained_class: Fn) -> tuple[Fn | None, bool]:
    """True attributions of a class score, from the dataset's oracle: ``(function or None, signed)``.

    * unsigned oracles (a relevance mask: planted patch, copied position): the mask, whichever
      class is explained;
    * signed oracles of binary problems (``score`` = log-odds of class 1): the oracle's baseline
      Shapley values oriented to the explained class ``c``, ``(2c − 1) · φ_oracle(x, b)``, with
      ``b`` the dataset baseline (the task's default baseline). Used for ``prob`` as well: there
      the values are not the Shapley values of ``p_c`` (a sigmoid of the oracle score), but their
      signs and ranking are what the rank-based ground-truth metrics compare;
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
        return attributions, False
    if dataset.n_classes != 2:
        return None, True

    def oriented(x: Tensor) -> Tensor:
        with torch.no_grad():
            sign = 2 * explained_class(x) - 1
        return sign.to(x.dtype).reshape(-1, *[1] * (x.dim() - 1)) * attributions(x)

    return oriented, True
