"""Summary statistics of per-instance values: mean, standard error, 95 % bootstrap interval.

* ``value`` is the mean of the finite values; ``n`` counts them (non-finite values are dropped
  and counted apart, never averaged in).
* ``stderr`` = sample standard deviation (ddof = 1) / √n; ``None`` for n < 2.
* The interval is the **percentile bootstrap** (Efron & Tibshirani 1993, §13.3): B = 1,000
  resamples of the n values with replacement, the 2.5th and 97.5th percentiles (NumPy's linear
  interpolation) of the resample means. Resamples are drawn from a fixed seed
  (:data:`BOOTSTRAP_SEED`), so the same values always give the same interval, records are
  reproducible and a resumed run writes byte-identical intervals. ``None`` for n < 2.

Pooling seeds (the leaderboard): with ``S`` seeds each scoring the same ``n`` instances in the
same order, a cell's values form an ``S × n`` matrix. :func:`pooled` averages each instance over
its seeds (ignoring non-finite entries) and bootstraps over **instances**: instances are the
sampling unit, seeds only reduce the noise within an instance, so treating the ``S·n`` values
as independent would overstate the precision. Values that are not aligned per instance (set-level
metrics, cost measurements, or seeds that scored different numbers of values) are pooled as one
sample of independent values instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_SEED = 0
RESAMPLES = 1000
LEVEL = 0.95


@dataclass(frozen=True)
class Summary:
    n: int
    value: float | None
    stderr: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def half_width(self) -> float | None:
        """Half the interval's width (the "±" shown in tables)."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2


def finite(values: Sequence[float | None]) -> np.ndarray:
    array = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    return array[np.isfinite(array)]


def summarize(values: Sequence[float | None], *, resamples: int = RESAMPLES, level: float = LEVEL,
              seed: int = BOOTSTRAP_SEED) -> Summary:
    """Mean, standard error and percentile-bootstrap interval of the finite ``values``."""
    x = finite(values)
    n = int(x.size)
    if n == 0:
        return Summary(0, None, None, None, None)
    mean = float(x.mean())
    if n < 2:
        return Summary(1, mean, None, None, None)
    stderr = float(x.std(ddof=1) / math.sqrt(n))
    low, high = bootstrap_interval(x, resamples=resamples, level=level, seed=seed)
    return Summary(n, mean, stderr, low, high)


def bootstrap_interval(x: np.ndarray, *, resamples: int = RESAMPLES, level: float = LEVEL,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``x`` (1-D, finite)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(resamples, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.percentile(means, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def pooled(per_seed: Sequence[Sequence[float | None]], *, aligned: bool) -> Summary:
    """One summary of a cell's values over seeds (see module docstring)."""
    rows = [list(r) for r in per_seed if r is not None]
    if not rows:
        return Summary(0, None, None, None, None)
    if aligned and len(rows) > 1 and len({len(r) for r in rows}) == 1:
        matrix = np.asarray([[np.nan if v is None else v for v in r] for r in rows], dtype=np.float64)
        matrix[~np.isfinite(matrix)] = np.nan
        counts = np.isfinite(matrix).sum(axis=0)
        sums = np.nansum(matrix, axis=0)
        per_instance = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        return summarize(per_instance.tolist())
    return summarize([v for r in rows for v in r])
