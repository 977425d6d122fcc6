"""Per task and metric: which methods are not significantly worse than the best one.

The **best** method of a column is the one with the best summary value (mean, or median for
heavy-tailed metrics) in the metric's direction; ties go to the first in table order. Every other
method with values on the same instances is compared with it by a two-sided **Wilcoxon
signed-rank test** on the per-instance differences (``scipy.stats.wilcoxon``, ``zero_method =
"wilcox"``: zero differences are dropped). For n ≤ 50 the p-value comes from the exact null
distribution; with ties, scipy rounds the statistic conservatively (scipy issue 19872) rather than
running its permutation test, which costs seconds per comparison. For n > 50, the normal
approximation with tie and continuity corrections. The ``k − 1`` p-values of a
column are adjusted by **Holm**'s step-down procedure (Holm 1979), which controls the family-wise
error rate at α without assuming independence. A method is **significantly worse** than the best
when its adjusted p-value is below α and the median of its per-instance differences from the best
favours the best. The column's **top group** is the best method plus every method not
significantly worse (a multiple comparison with the best, in the spirit of Hsu 1996): a method
that the test finds *better* than the "best" in signed-rank terms (its median difference favours
it while the mean does not) stays in the group.

Two-sided, not one-sided in the direction of the observed means: the best is chosen by the same
data, so a one-sided test in the direction the data already point to would reject a null
difference twice as often as α (measured in ``tests/stats/test_paired.py``).

A pair whose differences are all zero (or all missing) has p = 1 (no evidence of a difference).
Only metrics with per-instance values are tested (set-level and cost metrics are not).
"""

from __future__ import annotations

import numpy as np

ALPHA = 0.05
EXACT_MAX_N = 50


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (same order as given): ``p₍ᵢ₎ · (m − i + 1)`` made monotone by a
    running maximum over the sorted p-values, capped at 1; NaN entries are left out of the
    family and stay NaN."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return adjusted
    order = ok[np.argsort(p[ok], kind="stable")]
    stepped = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def wilcoxon_p(differences: np.ndarray) -> np.ndarray:
    """Two-sided Wilcoxon signed-rank p-values, one per row of ``differences`` ``(pairs, n)``
    (NaN = missing instance, dropped pairwise); 1 where every difference is zero or missing."""
    from scipy.stats import wilcoxon  # noqa: PLC0415

    d = np.asarray(differences, dtype=np.float64)
    p = np.ones(d.shape[0])
    if d.size == 0:
        return p
    complete = np.isfinite(d).all(axis=1)
    nonzero = (np.where(np.isfinite(d), d, 0.0) != 0).any(axis=1)
    magnitudes = np.sort(np.abs(d), axis=1)
    tied = (magnitudes[:, 0] == 0) | (np.diff(magnitudes, axis=1) == 0).any(axis=1)
    method = "exact" if d.shape[1] <= EXACT_MAX_N else "asymptotic"
    for group in (complete & nonzero & ~tied, complete & nonzero & tied):
        # scipy picks the method for a whole batch, and for small tied samples a permutation test
        # (seconds per row): batches of like rows and an explicit method keep it exact and fast
        rows = np.flatnonzero(group)
        if rows.size:
            with np.errstate(all="ignore"):
                p[rows] = wilcoxon(d[rows], axis=1, zero_method="wilcox", method=method).pvalue
    for row in np.flatnonzero(~complete & nonzero):  # rare: some instance had no finite value
        x = d[row][np.isfinite(d[row])]
        if (x != 0).any():
            p[row] = wilcoxon(x, zero_method="wilcox", method="exact" if x.size <= EXACT_MAX_N else "asymptotic").pvalue
    return np.where(np.isfinite(p), p, 1.0)


def top_group(per_instance: np.ndarray, best: int, higher_is_better: bool, alpha: float = ALPHA) -> tuple[
        np.ndarray, np.ndarray]:
    """For one column: ``per_instance`` ``(methods, n)`` values (NaN = missing), the index of the
    best method and the metric's direction. Returns the Holm-adjusted two-sided p-values (NaN for
    the best) and the top-group mask."""
    (adjusted,), (members,) = top_groups([(per_instance, best, higher_is_better)], alpha)
    return adjusted, members


def top_groups(columns: list[tuple[np.ndarray, int, bool]], alpha: float = ALPHA) -> tuple[
        list[np.ndarray], list[np.ndarray]]:
    """:func:`top_group` for many columns at once (one batched Wilcoxon call per instance count)."""
    blocks: dict[int, list[tuple[int, np.ndarray]]] = {}  # n → (column, oriented differences of its other methods)
    for c, (values, best, higher) in enumerate(columns):
        differences = (1.0 if higher else -1.0) * (values[best][None, :] - values)  # > 0: the other is worse
        blocks.setdefault(values.shape[1], []).append((c, np.delete(differences, best, axis=0)))
    raw = [np.full(values.shape[0], np.nan) for values, _, _ in columns]
    favours_best = [np.zeros(values.shape[0], bool) for values, _, _ in columns]
    for block in blocks.values():
        stacked = np.concatenate([d for _, d in block])
        p = wilcoxon_p(stacked)
        with np.errstate(all="ignore"):
            worse = _nanmedian_rows(stacked) > 0
        at = 0
        for c, d in block:
            others = np.delete(np.arange(columns[c][0].shape[0]), columns[c][1])
            raw[c][others] = p[at:at + d.shape[0]]
            favours_best[c][others] = worse[at:at + d.shape[0]]
            at += d.shape[0]
    adjusted = [holm(r) for r in raw]
    members = [np.isnan(a) | (a >= alpha) | ~f for a, f in zip(adjusted, favours_best)]  # NaN: the best itself
    return adjusted, members


def _nanmedian_rows(x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return np.zeros(x.shape[0])
    finite = np.isfinite(x)
    out = np.zeros(x.shape[0])
    rows = finite.any(axis=1)
    out[rows] = np.nanmedian(x[rows], axis=1)
    return out
