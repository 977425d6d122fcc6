"""Helpers shared by the stability, fidelity, ground-truth, sanity and complexity metrics.

* :func:`input_noise` — shared noise ``(K, *F)`` (the same K draws for every instance: common
  random numbers, so an instance's value does not depend on its batch mates; the same numbers on
  every device and in every dtype, :mod:`xaibench.rng`).
* :func:`reexplain` — the method on an ``(N, K, *F)`` batch of perturbed inputs in one call,
  explaining the output selected at the unperturbed instance.
* :func:`player_scores` — attributions summed within the task's players ``(N, G)``.
* :func:`resolve_k` — a top-k size given as a count or as a fraction of the players.
* :func:`rank_similarity` — Spearman ρ per row, 1 for identical rows (even constant ones).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError
from xaibench.rng import instance_keys, shared_normal, shared_uniform
from xaibench.tensorstats import spearman
from xaibench.tolerance import snap

if TYPE_CHECKING:
    from xaibench.method import Method
    from xaibench.task import Task

NOISES = ("uniform", "gaussian")


def input_noise(x: Tensor, n: int, *, kind: str, scale: float, seed: int) -> Tensor:
    """``(n, *F)`` noise shared by every instance of ``x``: U[−scale, scale] or N(0, scale²)."""
    if kind not in NOISES:
        raise InvalidParameterError(f"noise must be one of {NOISES}, got {kind!r}")
    if n < 1 or scale <= 0:
        raise InvalidParameterError(f"need n_samples >= 1 and a positive noise scale, got {n} and {scale}")
    shape = (n, *x.shape[1:])
    if kind == "uniform":
        return (2 * shared_uniform(seed, shape, device=x.device).to(x.dtype) - 1) * scale
    return shared_normal(seed, shape, device=x.device).to(x.dtype) * scale


def reexplain(method: "Method", task: "Task", x: Tensor, z: Tensor, *, seed: int) -> Tensor:
    """Attributions of the perturbed inputs ``z`` ``(N, K, *F)`` of ``x``, explained in one batched call.

    The explained output stays the one selected at the original instance (captum's expanded
    ``target``, Quantus' ``y_batch``): the method sees the task with a :class:`PinnedSelect`.
    """
    flat = z.reshape(-1, *z.shape[2:])
    with torch.no_grad():
        pinned = task.select(x).long().repeat_interleave(z.shape[1])
    select = PinnedSelect(task.select, flat, pinned)
    return method.explain(dataclasses.replace(task, select=select), flat, seed=seed).reshape(z.shape)


class PinnedSelect:
    """``select`` that gives the rows of a perturbed batch the selectors of their instances.

    Rows of ``flat`` reach ``select`` as the batch itself or as row slices of it (methods chunk
    their input; recognised by storage offset, free), or as copies (found by a content hash of the
    row's bits, computed only if needed). Any other rows get the task's own selection.
    """

    def __init__(self, own, flat: Tensor, pinned: Tensor):
        self.own, self.flat, self.pinned = own, flat, pinned
        self._index: tuple[Tensor, Tensor] | None = None

    def __call__(self, rows: Tensor) -> Tensor:
        start = self._slice_start(rows)
        if start is not None:
            return self.pinned[start : start + rows.shape[0]]
        return self._lookup(rows)

    def _slice_start(self, rows: Tensor) -> int | None:
        flat = self.flat
        if (rows.dtype != flat.dtype or rows.device != flat.device or rows.shape[1:] != flat.shape[1:]
                or not rows.is_contiguous() or rows.untyped_storage().data_ptr() != flat.untyped_storage().data_ptr()):
            return None
        row_bytes = flat[0].numel() * flat.element_size()
        start, rest = divmod(rows.data_ptr() - flat.data_ptr(), row_bytes)
        return start if rest == 0 and 0 <= start <= flat.shape[0] - rows.shape[0] else None

    def _lookup(self, rows: Tensor) -> Tensor:
        if rows.shape[1:] != self.flat.shape[1:]:
            return self.own(rows)
        if self._index is None:
            self._index = instance_keys(self.flat, 0, exact=True).sort()
        keys, order = self._index
        wanted = instance_keys(rows.to(self.flat.dtype), 0, exact=True)
        at = torch.searchsorted(keys, wanted).clamp(max=keys.numel() - 1)
        found = keys[at] == wanted
        if found.all():
            return self.pinned[order[at]]
        return torch.where(found, self.pinned[order[at]], self.own(rows).long())


def flat_norm(v: Tensor, lead: int) -> Tensor:
    """Euclidean (Frobenius) norm over all but the first ``lead`` dimensions."""
    return torch.linalg.vector_norm(v.reshape(*v.shape[:lead], -1), dim=-1)


def player_scores(task: "Task", attributions: Tensor) -> Tensor:
    """Per-player attributions ``(N, G)``: the sum of the features' values within each player."""
    return task.players.total(attributions)


def resolve_k(k: float, n_players: int) -> int:
    """``k >= 1``: that many players (at most all); ``0 < k < 1``: that fraction, rounded up."""
    if k <= 0:
        raise InvalidParameterError(f"k must be a count >= 1 or a fraction in (0, 1), got {k}")
    count = math.ceil(k * n_players) if k < 1 else int(k)
    return max(1, min(count, n_players))


def rank_similarity(a: Tensor, b: Tensor) -> Tensor:
    """Spearman ρ along the last dimension, except that identical rows score 1.

    Both sides are snapped (:func:`xaibench.tolerance.snap`): equal to rounding counts as identical.

    ``tensorstats.spearman`` gives 0 for a constant row (no ranking); when both sides are the
    same constant (a zero attribution twice) the explanation has not changed at all, which a
    stability or randomisation check must read as perfect agreement.
    """
    same = (snap(a) == snap(b)).all(-1) | (a == b).all(-1)
    rho = spearman(a, b)
    return torch.where(same, torch.ones_like(rho), rho)
