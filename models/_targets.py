"""Target pieces shared across the zoo: class scores, oracle ground truth, the anomaly decision.

The classifier targets ``logit`` (log-odds of the predicted class) and ``prob``, with the oracle
ground truth of synthetic datasets, are defined in the core, :mod:`xaibench.targets`, which also
serves models users bring (see there for why ``logit`` is the log-odds rather than the raw
logit); they are re-exported here for the zoo's modules.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from xaibench.targets import CLASS_TARGETS, class_target, log_odds, oracle_ground_truth

__all__ = ["CLASS_TARGETS", "log_odds", "class_target", "oracle_ground_truth", "above"]

Fn = Callable[[Tensor], Tensor]


def above(score: Fn, threshold: Tensor) -> Fn:
    """The decision ``score(x) > threshold`` as a long 0/1 flag."""

    def flag(x: Tensor) -> Tensor:
        return (score(x) > threshold).long()

    return flag
