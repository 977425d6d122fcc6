"""Per-cell summaries: the mean (or the median) of per-instance values with a 95 % interval.

Which statistic
    A metric summarises by the **mean** of its finite values, unless its class declares
    ``heavy_tailed = True`` (ratio metrics such as ROS or local Lipschitz constants, whose means
    are dominated by a few huge values); those summarise by the **median**. Non-finite values are
    dropped and counted apart (``n`` counts the finite ones).

Interval of a mean: the symmetric studentized bootstrap (bootstrap-t)
    ``mean ± q·se`` where ``se = s/√n`` (``s`` with ``ddof = 1``) and ``q`` is the 95th percentile
    of ``|t*| = |mean* − mean| / se*`` over B = :data:`RESAMPLES` resamples of the n values with
    replacement (Hall 1988, "On symmetric bootstrap confidence intervals", JRSS-B 50:35-45;
    Davison & Hinkley 1997, §5.2.1): ``q`` is the ⌈0.95·(B + 1)⌉-th smallest ``|t*|``. Why this
    and not ``scipy.stats.bootstrap``: scipy offers percentile, basic and BCa intervals, and we
    measured their coverage of the mean at n = 16 (2,000 simulated samples each) at 0.93 (normal),
    0.88 (t with 3 d.f.) and 0.87 (lognormal) for BCa, below the 0.93 we require; the symmetric
    bootstrap-t gives 0.95, 0.98 and 0.89, and at n = 200 0.94, 0.96 and 0.94
    (``tests/stats/test_coverage.py`` keeps this measured). The resampling is done here, batched,
    because a leaderboard summarises ~10⁵ cells and one scipy call per cell costs milliseconds:
    the resample means of every cell with the same n come from one matrix product with a shared
    table of multinomial resampling counts (``X @ Wᵀ``). The counts are drawn from a generator
    seeded by (:data:`BOOTSTRAP_SEED`, n) and applied to the sorted values, so the same values, in
    any order, always give the same interval, whichever other cells are summarised with them. The
    test-suite checks the resampling and the interval against ``scipy.stats.bootstrap``.

    A resample whose values are all equal has ``se* = 0`` and counts as ``|t*| = ∞``; if more than
    5 % of the resamples are such, the interval is unbounded and reported as none — always the
    case for n ≤ 3 (at n = 4 the interval exists, and is wide: about ±3.4 standard deviations for
    normal data, with 98 % coverage). Constant data (``s = 0``, n ≥ 2) has the interval
    ``[mean, mean]``. A single value has no interval.

Interval of a median: the distribution-free order-statistic interval
    ``[x₍ₗ₎, x₍ₕ₎]`` with the indices of ``scipy.stats.quantile_test(...).confidence_interval()``
    (binomial(n, ½) quantiles; Conover 1999, §3.2): exact coverage ≥ 95 % for any continuous
    distribution, asymmetric around the median when the data are skewed. No resampling is needed,
    and no bootstrap interval of the median does better: its bootstrap distribution is discrete,
    and BCa's jackknife acceleration is inconsistent for the median. There is no interval for
    n < 6 (even ``[min, max]`` covers less than 95 %), except ``[m, m]`` for n ≥ 2 equal values.

Pooling seeds: with ``S`` seeds each scoring the same ``n`` instances in the same order, a cell's
values form an ``S × n`` matrix. :func:`per_instance_means` averages each instance over its seeds
(ignoring non-finite entries) and the interval is over **instances**: instances are the sampling
unit, seeds only reduce the noise within an instance, so treating the ``S·n`` values as
independent would overstate the precision. Values not aligned per instance (set-level metrics,
cost measurements, seeds that scored different numbers of values) are pooled as one sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

BOOTSTRAP_SEED = 0
RESAMPLES = 999
LEVEL = 0.95
_CHUNK_ELEMENTS = 1 << 20  # rows × resamples held at once per thread (8 MB of float64)


@dataclass(frozen=True)
class Summary:
    """One cell: ``value`` (the mean, or the median when ``statistic == "median"``) of ``n``
    finite values, the standard error of the mean (``None`` for a median), and a 95 % interval."""

    n: int
    value: float | None
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    statistic: str = "mean"

    @property
    def half_width(self) -> float | None:
        """Half the interval's width (the "±" shown in tables)."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2

    @property
    def symmetric(self) -> bool:
        """Whether ``value`` is the midpoint of the interval (to 1e-9 of its width); ``[lo, hi]``
        is shown otherwise."""
        if self.half_width is None or self.value is None:
            return True
        return abs((self.ci_low + self.ci_high) / 2 - self.value) <= 1e-9 * max(self.half_width, 1e-300)


def finite(values: Sequence[float | None]) -> np.ndarray:
    array = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    return array[np.isfinite(array)]


def summarize(values: Sequence[float | None], *, heavy_tailed: bool = False) -> Summary:
    """The summary of one sample (``None`` and non-finite values dropped); see the module docstring."""
    x = finite(values)
    (summary,) = summarize_rows(x[None, :], heavy_tailed=heavy_tailed)
    return summary


def summarize_rows(rows: np.ndarray, *, heavy_tailed: bool = False) -> list[Summary]:
    """One :class:`Summary` per row of ``rows`` ``(cells, n)``; NaN marks a missing value."""
    value, stderr, low, high, count = summarize_arrays(rows, heavy_tailed=heavy_tailed)
    statistic = "median" if heavy_tailed else "mean"
    return [Summary(int(c), _opt(v), _opt(s), _opt(lo), _opt(hi), statistic)
            for v, s, lo, hi, c in zip(value.tolist(), stderr.tolist(), low.tolist(), high.tolist(), count.tolist())]


def summarize_arrays(rows: np.ndarray, *, heavy_tailed: bool = False,
                     intervals: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Batched :func:`summarize`: arrays ``value, stderr, ci_low, ci_high`` (NaN where undefined)
    and ``n``, one entry per row of ``rows`` ``(cells, n)`` (NaN = missing value). ``intervals``
    (boolean, per row) limits the intervals computed to those rows (the others get NaN)."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"rows must be 2-D (cells, values), got shape {rows.shape}")
    rows = np.where(np.isfinite(rows), rows, np.nan)
    ordered = np.sort(rows, axis=1)  # NaN last: the first n of each row are its finite values, sorted
    counts = np.isfinite(rows).sum(axis=1)
    out = np.full((4, rows.shape[0]), np.nan)
    wanted = np.ones(rows.shape[0], bool) if intervals is None else np.asarray(intervals, bool)
    for n in np.unique(counts).tolist():
        for interval in (True, False):
            which = np.flatnonzero((counts == n) & (wanted == interval))
            if n == 0 or not which.size:
                continue
            x = ordered[which, :n]
            out[:, which] = (_median_interval if heavy_tailed else _mean_interval)(x, interval=interval)
    return out[0], out[1], out[2], out[3], counts


def _mean_interval(x: np.ndarray, *, interval: bool = True) -> np.ndarray:
    """Rows ``(mean, se, low, high)`` for the rows of ``x`` ``(cells, n)`` (finite, same n)."""
    cells, n = x.shape
    mean = x.mean(axis=1)
    if n < 2:
        return np.stack([mean, *np.full((3, cells), np.nan)])
    centred = x - mean[:, None]
    sd = np.sqrt((centred**2).sum(axis=1) / (n - 1))
    se = sd / math.sqrt(n)
    if not interval:
        return np.stack([mean, se, *np.full((2, cells), np.nan)])
    q = np.sqrt((n - 1) * _ratio_quantile(centred / np.where(sd > 0, sd, 1.0)[:, None]))
    q = np.where(q < _UNBOUNDED, q, np.nan)  # > 5 % of resamples with all values equal
    q = np.where(sd > 0, q, 0.0)
    return np.stack([mean, se, mean - q * se, mean + q * se])


def _ratio_quantile(z: np.ndarray) -> np.ndarray:
    """Per row of standardised values ``z`` ``(cells, n)``: the :data:`LEVEL` quantile over the
    resamples of ``(mean* − mean)² / var₀*`` (``var₀*`` the resample's variance with ddof = 0), so
    that ``|t*| = √((n − 1)·ratio)``. The ratios are computed in float64 and selected in float32
    (selection is the costly step; the quantile needs 6 digits, not 16). A resample whose values are
    all equal (``var₀* ≤ 1e-12``, z having unit variance) has an infinite ratio. Large batches are
    split between two threads (NumPy releases the GIL in these loops)."""
    cells = z.shape[0]
    out = np.empty(cells)
    step = max(1, min(cells, _CHUNK_ELEMENTS // RESAMPLES))
    starts = list(range(0, cells, step))
    if len(starts) < 4:  # one record, one small table: no threads
        _ratio_quantile_into(z, out, starts, step)
        return out
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    # the products are thin (n ≤ a few hundred): BLAS threads would only spin; two threads of ours share the work
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda part: _ratio_quantile_into(z, out, part, step), (starts[0::2], starts[1::2])))
    return out


def _ratio_quantile_into(z: np.ndarray, out: np.ndarray, starts: list[int], step: int) -> None:
    weights = _resampling_weights(z.shape[1])
    shift, second = np.empty((step, RESAMPLES)), np.empty((step, RESAMPLES))
    ratio = np.empty((step, RESAMPLES), np.float32)
    for start in starts:
        block = z[start:start + step]
        rows = block.shape[0]
        s, m2, r = shift[:rows], second[:rows], ratio[:rows]
        np.matmul(block, weights, out=s)  # mean* − mean
        np.matmul(block * block, weights, out=m2)  # mean* of z²
        np.multiply(s, s, out=s)
        np.subtract(m2, s, out=m2)  # var₀*
        r.fill(np.inf)
        np.divide(s, m2, out=r, where=m2 > 1e-12, casting="same_kind")
        out[start:start + rows] = np.partition(r, _QUANTILE_INDEX, axis=1)[:, _QUANTILE_INDEX]


_UNBOUNDED = 1e3  # a |t*| quantile this large means the resamples were mostly degenerate


_QUANTILE_INDEX = math.ceil(LEVEL * (RESAMPLES + 1)) - 1  # 0-based: the 950th smallest of 999


@lru_cache(maxsize=64)
def _resampling_weights(n: int) -> np.ndarray:
    """``(n, B)`` multinomial(n, 1/n) resampling counts divided by n, seeded by (seed, n)."""
    rng = np.random.default_rng([BOOTSTRAP_SEED, n])
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=RESAMPLES).T / n
    weights.setflags(write=False)
    return weights


def resampling_indices(n: int) -> np.ndarray:
    """``(B, n)`` index form of the resamples :func:`summarize` uses for samples of size ``n``
    (each row lists every drawn index as often as it was drawn), for checking against other code."""
    counts = np.rint(_resampling_weights(n) * n).astype(np.int64)
    return np.stack([np.repeat(np.arange(n), counts[:, b]) for b in range(RESAMPLES)])


def _median_interval(x: np.ndarray, *, interval: bool = True) -> np.ndarray:
    """Rows ``(median, nan, low, high)`` for sorted rows of ``x`` ``(cells, n)``."""
    cells, n = x.shape
    median = np.median(x, axis=1)
    low_index, high_index = median_interval_indices(n)
    nan = np.full(cells, np.nan)
    if low_index < 0 or high_index >= n or not interval:
        constant = np.where((x[:, 0] == x[:, -1]) & interval & (n >= 2), median, np.nan)
        return np.stack([median, nan, constant, constant])
    return np.stack([median, nan, x[:, low_index], x[:, high_index]])


@lru_cache(maxsize=256)
def median_interval_indices(n: int, level: float = LEVEL) -> tuple[int, int]:
    """0-based order-statistic indices of the two-sided interval of a median for n sorted values,
    as ``scipy.stats.quantile_test(x, p=0.5).confidence_interval(level)`` computes them."""
    from scipy.stats import binom  # noqa: PLC0415

    tail = (1 - level) / 2
    return int(binom.ppf(tail, n, 0.5)) - 1, int(binom.isf(tail, n, 0.5))


def per_instance_means(per_seed: np.ndarray) -> np.ndarray:
    """``(S, n)`` values of S seeds → ``(n,)`` per-instance means over the finite entries (NaN where none)."""
    per_seed = np.asarray(per_seed, dtype=np.float64)
    ok = np.isfinite(per_seed)
    counts = ok.sum(axis=0)
    sums = np.where(ok, per_seed, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def pooled(per_seed: Sequence[Sequence[float | None]], *, aligned: bool, heavy_tailed: bool = False) -> Summary:
    """One summary of a cell's values over seeds (see the module docstring)."""
    rows = [[np.nan if v is None else v for v in r] for r in per_seed if r is not None]
    if not rows:
        return Summary(0, None, None, None, None, "median" if heavy_tailed else "mean")
    if aligned and len({len(r) for r in rows}) == 1:
        return summarize(per_instance_means(np.asarray(rows, dtype=np.float64)).tolist(), heavy_tailed=heavy_tailed)
    return summarize([v for r in rows for v in r], heavy_tailed=heavy_tailed)


def _opt(value: float) -> float | None:
    return None if value != value else value  # NaN → None


INTERVALS = {"mean": "mean, symmetric bootstrap-t 95% (B=999, seed 0)", "median": "median, order statistics 95%"}
"""The ``interval`` a record names: a summary computed by other code (or an older version of this
module) has another name, and the leaderboard recomputes it instead of reusing it."""


def record_fields(values: Sequence[float | None], *, heavy_tailed: bool = False) -> dict[str, object]:
    """The summary fields of a record (see :mod:`xaibench.records`): ``n``, ``value``, ``stderr``,
    ``ci_low``, ``ci_high`` and ``interval`` (which statistic and interval they are)."""
    s = summarize(values, heavy_tailed=heavy_tailed)
    return {"n": s.n, "value": s.value, "stderr": s.stderr, "ci_low": s.ci_low, "ci_high": s.ci_high,
            "interval": INTERVALS[s.statistic]}
