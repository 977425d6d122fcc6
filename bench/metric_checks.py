"""How far metrics can be trusted: their agreement with each other, and a sanity check.

**Agreement** (Kendall τ-b between the method rankings of each pair of metrics): in each task,
every quality metric ranks the methods it scored; for metrics A and B, τ-b over the methods both
scored (``scipy.stats.kendalltau``'s τ-b: ties in either ranking count as neither concordant nor
discordant, and the denominator counts untied pairs), then the mean of τ over the tasks where
both ranked at least 3 methods with at least one untied pair each. Computed for every pair at
once from the signs of the pairwise rank differences: with ``S[m, p]`` the sign of pair p's rank
difference under metric m (0 for a tie or a missing method) and ``M[m, p]`` whether both methods
of pair p have a rank under m, ``τ_b(A, B) = Σₚ S_A S_B / √(Σₚ S_A² M_B · Σₚ S_B² M_A)``.

**Sanity** (is the ``random`` control ranked last?): on every synthetic task (dataset name
starting with ``synthetic``), each quality metric that scored ``random`` and at least one other
method should rank ``random`` last (a tie for last counts). A metric that fails on any synthetic
task is flagged: it cannot tell an explanation from noise there, or it rewards noise (the model
randomisation metric does, by design: noise ignores the model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RANDOM = "random"


@dataclass(frozen=True)
class Agreement:
    metrics: list[str]
    tau: np.ndarray  # (m, m) mean Kendall τ-b over tasks, NaN where no task qualifies
    tasks: np.ndarray  # (m, m) number of tasks averaged


def kendall_agreement(metrics: list[str], blocks: list[np.ndarray]) -> Agreement:
    """``blocks``: per task a ``(len(metrics), k)`` matrix of method ranks (NaN: not ranked)."""
    m = len(metrics)
    total, count = np.zeros((m, m)), np.zeros((m, m))
    for ranks in blocks:
        tau = _tau_b(ranks)
        ok = np.isfinite(tau)
        total[ok] += tau[ok]
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return Agreement(metrics, mean, count.astype(int))


def _tau_b(ranks: np.ndarray) -> np.ndarray:
    """``(m, m)`` Kendall τ-b between the rows of ``ranks`` ``(m, k)`` over jointly ranked columns;
    NaN where fewer than 3 columns are jointly ranked or a row is constant on them."""
    m, k = ranks.shape
    i, j = np.triu_indices(k, 1)
    present = np.isfinite(ranks)
    both = (present[:, i] & present[:, j]).astype(np.float64)  # (m, pairs)
    sign = np.sign(np.where(both > 0, ranks[:, i] - ranks[:, j], 0.0))
    numerator = sign @ sign.T
    untied = (sign * sign) @ both.T  # [a, b]: pairs untied under a, present under b
    denominator = np.sqrt(untied * untied.T)
    jointly = present.astype(np.float64) @ present.T.astype(np.float64)  # methods ranked by both
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = numerator / denominator
    return np.where((denominator > 0) & (jointly >= 3), tau, np.nan)


@dataclass(frozen=True)
class Sanity:
    metric: str
    last: int  # synthetic tasks where random was ranked last
    tasks: int  # synthetic tasks where the metric ranked random and another method
    failures: list[str]  # the tasks where it was not

    @property
    def flagged(self) -> bool:
        return self.last < self.tasks


def random_is_last(ranks: np.ndarray, methods: list[str]) -> list[bool | None]:
    """Per row of ``ranks`` ``(metrics, k)`` (NaN: not ranked): whether the method named
    ``random`` has the worst rank (ties for worst count), ``None`` where it or every other method
    is unranked."""
    if RANDOM not in methods:
        return [None] * ranks.shape[0]
    r = methods.index(RANDOM)
    out: list[bool | None] = []
    for row in ranks:
        if not np.isfinite(row[r]) or np.isfinite(row).sum() < 2:
            out.append(None)
        else:
            out.append(bool(row[r] >= np.nanmax(row)))
    return out


def is_synthetic(dataset: str) -> bool:
    return dataset.startswith("synthetic")
