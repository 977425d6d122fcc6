"""Class-score targets of any classifier: the ``logit`` (log-odds) and ``prob`` of the predicted class.

Shared by the zoo's classifiers (``xaibench.models``) and by models users bring
(:func:`xaibench.task_from_module`, ``file.py:factory`` models), so both explain exactly the same
quantity. (The zoo adds ground truth from synthetic datasets' oracles: ``xaibench.models._targets``.)

``logit`` is the log-odds of the predicted class ``c``, ``z_c − log Σ_{j≠c} exp z_j`` (gauge-free,
unlike the raw logit ``z_c``; why, at length: :mod:`xaibench.models._targets`); ``prob`` is ``p_c``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

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

