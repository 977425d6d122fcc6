"""Ranking methods across tasks: Friedman test, Nemenyi critical difference, rank intervals.

Input: a ``(N, k)`` matrix of ranks — N tasks (blocks), k methods, rank 1 the best in each task,
ties sharing the average rank — as Demšar (2006), "Statistical comparisons of classifiers over
multiple data sets", JMLR 7:1-30, prescribes.

* **Friedman test** (Demšar §3.2.2): ``χ²_F`` and its p-value from ``scipy.stats.friedmanchisquare``
  (which corrects for ties), and Iman & Davenport's ``F_F = (N − 1)·χ²_F / (N(k − 1) − χ²_F)``
  with ``(k − 1, (k − 1)(N − 1))`` degrees of freedom, less conservative; the post-hoc grouping
  is done only when ``F_F``'s p-value is below α (Demšar's procedure). Needs k ≥ 3 and N ≥ 2.
* **Nemenyi critical difference**: ``CD = q_α √(k(k + 1) / (6N))`` with ``q_α`` the studentized
  range quantile for k groups and infinite degrees of freedom divided by √2
  (``scipy.stats.studentized_range``; Demšar's Table 5a: 1.960, 2.343, 2.569, … for k = 2, 3, 4).
  Two methods differ significantly when their mean ranks differ by at least CD.
* **CD groups** (the bars of a critical-difference diagram): with methods sorted by mean rank,
  every maximal run of consecutive methods whose mean ranks span less than CD. Each group gets a
  letter; methods sharing a letter are not significantly different. Every method is in at least
  one group (a method alone is its own). When the Friedman test is not significant, all methods
  form one group.
* **Rank intervals**: a 95 % BCa interval on each method's mean rank, resampling tasks with
  replacement (``scipy.stats.bootstrap``, 1,999 resamples, fixed seed); ranks stay the within-task
  ranks, so the interval says how much the mean rank depends on which tasks are in the suite.
  A method with the same rank in every task gets ``[r, r]``. Needs N ≥ 2.
"""

from __future__ import annotations

import math
import string
import warnings
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
RANK_RESAMPLES = 1999
RANK_SEED = 0


@dataclass(frozen=True)
class Friedman:
    chi2: float
    p_value: float
    f: float
    f_p_value: float


@dataclass(frozen=True)
class Ranking:
    """Mean ranks of k methods over N tasks, with the Friedman test and the Nemenyi groups."""

    n_tasks: int
    mean_rank: np.ndarray  # (k,)
    ci_low: np.ndarray  # (k,), NaN when N < 2
    ci_high: np.ndarray
    friedman: Friedman | None
    cd: float | None
    groups: list[list[int]]  # method indices per group, in rank order
    letters: list[str]  # per method: the letters of its groups

    @property
    def significant(self) -> bool:
        return self.friedman is not None and self.friedman.f_p_value < ALPHA


def friedman(ranks: np.ndarray) -> Friedman | None:
    """Friedman's χ² and Iman-Davenport's F for ``ranks`` ``(N, k)``; ``None`` if k < 3 or N < 2."""
    from scipy.stats import f as f_dist  # noqa: PLC0415
    from scipy.stats import friedmanchisquare  # noqa: PLC0415

    n, k = ranks.shape
    if k < 3 or n < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        chi2, p = friedmanchisquare(*ranks.T)
    if not math.isfinite(chi2):  # every task ranks every method the same (all ties)
        return Friedman(0.0, 1.0, 0.0, 1.0)
    denominator = n * (k - 1) - chi2
    f = math.inf if denominator <= 0 else (n - 1) * chi2 / denominator
    f_p = 0.0 if math.isinf(f) else float(f_dist.sf(f, k - 1, (k - 1) * (n - 1)))
    return Friedman(float(chi2), float(p), float(f), f_p)


def nemenyi_cd(k: int, n: int, alpha: float = ALPHA) -> float:
    """Critical difference of mean ranks for k methods over n tasks (Demšar 2006, §3.2.2)."""
    from scipy.stats import studentized_range  # noqa: PLC0415

    q = studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6 * n)))


def cd_groups(mean_rank: np.ndarray, cd: float) -> list[list[int]]:
    """Maximal runs of methods (sorted by mean rank) spanning less than ``cd``; see module docstring."""
    order = np.argsort(mean_rank, kind="stable")
    ranks = mean_rank[order]
    groups, last_end = [], -1
    for i in range(len(order)):
        end = i
        while end + 1 < len(order) and ranks[end + 1] - ranks[i] < cd:
            end += 1
        if end > last_end:
            groups.append(order[i:end + 1].tolist())
            last_end = end
    return groups


def mean_rank_intervals(ranks: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """BCa bootstrap interval over tasks of each column's mean (see module docstring)."""
    from scipy.stats import bootstrap  # noqa: PLC0415

    n, k = ranks.shape
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    if n < 2:
        return low, high
    constant = np.ptp(ranks, axis=0) == 0
    low[constant] = high[constant] = ranks[0, constant]
    varying = np.flatnonzero(~constant)
    if varying.size:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns when BCa degenerates; we fall back below
            result = bootstrap((ranks[:, varying],), np.mean, axis=0, vectorized=True, method="BCa",
                               confidence_level=level, n_resamples=RANK_RESAMPLES, rng=RANK_SEED)
            interval = result.confidence_interval
            lo, hi = np.asarray(interval.low, dtype=float), np.asarray(interval.high, dtype=float)
            bad = ~(np.isfinite(lo) & np.isfinite(hi))
            if bad.any():  # BCa undefined (e.g. a mean outside its bootstrap distribution): percentile
                alpha = (1 - level) / 2
                percentile = np.quantile(result.bootstrap_distribution, [alpha, 1 - alpha], axis=-1)
                lo[bad], hi[bad] = percentile[0][bad], percentile[1][bad]
        low[varying], high[varying] = lo, hi
    return low, high


def rank_methods(ranks: np.ndarray, alpha: float = ALPHA) -> Ranking:
    """Everything above for ``ranks`` ``(N tasks, k methods)``."""
    ranks = np.asarray(ranks, dtype=np.float64)
    n, k = ranks.shape
    mean = ranks.mean(axis=0)
    low, high = mean_rank_intervals(ranks)
    test = friedman(ranks)
    cd = nemenyi_cd(k, n, alpha) if k >= 2 and n >= 1 else None
    if test is not None and test.f_p_value < alpha and cd is not None:
        groups = cd_groups(mean, cd)
    else:
        groups = [np.argsort(mean, kind="stable").tolist()]
    letters = [""] * k
    for letter, group in zip(_letters(len(groups)), groups):
        for member in group:
            letters[member] += letter
    return Ranking(n, mean, low, high, test, cd, groups, letters)


def _letters(count: int) -> list[str]:
    alphabet = string.ascii_lowercase
    return [alphabet[i] if i < 26 else alphabet[i // 26 - 1] + alphabet[i % 26] for i in range(count)]
