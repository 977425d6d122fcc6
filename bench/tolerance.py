"""One rule for when a computed number counts as zero, constant, degenerate or tied.

A floating-point result is only as exact as the numbers it was computed from: ``f(x) − f(b)`` of
two outputs near 10⁸ carries rounding errors near 10⁸·ε, an exact Shapley value of an irrelevant
feature comes out as ±1e-15 next to values of order 1, and a float32 network is good to a few
parts in 10⁷ of its activations. So xaibench never compares a computed quantity with an absolute
cut-off (``1e-5``, ``1e-12``). Everywhere a metric or a method must decide whether something
vanishes, it asks this module, which judges it **relative to the scale of the quantity at hand**:

    negligible(v, scale)  ⇔  |v| ≤ rtol(dtype) · scale,    rtol(dtype) = RTOL_ULPS · ε(dtype)

with ``ε`` the machine epsilon of the dtype the quantity was computed in (float32: 1.2e-7,
float64: 2.2e-16) and the scale chosen by the caller as the natural size of the quantity:

* attributions (ties, zeros): ``max |φ|`` over the players of the instance (:func:`snap`);
* an explained change ``f(x) − f(x')``: ``max(|f(x)|, |f(x')|)`` (:func:`negligible`);
* a sample that should vary (the output drops of random subsets, a regression target, the output
  over the background): the largest magnitude among the numbers it was computed from
  (:func:`is_constant`).

Because every threshold is a fixed multiple of a scale of the same quantity, multiplying ``f``
and ``φ`` by a common factor never changes a decision (exactly so for powers of two), which is
what makes the scale-free metrics scale-free in floating point, not only on paper.
"""

from __future__ import annotations

import torch
from torch import Tensor

RTOL_ULPS = 64
"""Rounding slack in units of the dtype's machine epsilon: float32 7.6e-6, float64 1.4e-14 of the scale.

Wide enough for the accumulated error of the sums behind attributions and outputs (an exact
Shapley value of 2^G float32 outputs; a Gaussian-elimination solve), narrow enough that genuinely
different values (0.2 versus 2.0; 1 versus 1 + 1e-4) stay different."""


def rtol(dtype: torch.dtype) -> float:
    """The relative tolerance of quantities computed in ``dtype`` (floating point; integers count as exact)."""
    if not dtype.is_floating_point:
        return 0.0
    return RTOL_ULPS * torch.finfo(dtype).eps


def negligible(values: Tensor, scale: Tensor | float, dtype: torch.dtype | None = None) -> Tensor:
    """``|values| ≤ rtol(dtype) · scale`` elementwise (``dtype`` defaults to ``values.dtype``).

    A zero scale makes only exact zeros negligible, so an all-zero quantity is always "zero".
    """
    return values.abs() <= rtol(dtype or values.dtype) * scale


def magnitude(values: Tensor, dim: int = -1) -> Tensor:
    """``max |values|`` along ``dim`` (kept), the scale of a vector of attributions or outputs."""
    if values.shape[dim] == 0:
        return values.abs().sum(dim, keepdim=True)
    return values.abs().amax(dim, keepdim=True)


def is_constant(values: Tensor, scale: Tensor | None = None, dtype: torch.dtype | None = None) -> Tensor:
    """Whether each row (last dimension) is constant up to rounding: ``max − min ≤ rtol · scale``.

    ``scale`` ``(..., 1)`` or ``(...)`` is the magnitude of the numbers the row was computed from
    (default: ``max |row|``, right for a row of computed values; pass the size of the inputs when
    the row is a difference of larger numbers, as output drops ``f(x) − f(x')`` are).
    """
    scale = magnitude(values) if scale is None else torch.as_tensor(scale, dtype=values.dtype, device=values.device)
    if scale.dim() == values.dim() - 1:
        scale = scale.unsqueeze(-1)
    if values.shape[-1] == 0:
        return torch.ones(values.shape[:-1], dtype=torch.bool, device=values.device)
    spread = values.amax(-1, keepdim=True) - values.amin(-1, keepdim=True)
    return negligible(spread, scale, dtype or values.dtype).squeeze(-1)


def snap(values: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """``values`` with rounding-level differences removed along the last dimension.

    Judged against ``s = max |values|`` of the row and ``t = rtol(dtype) · s``:

    * entries with ``|v| ≤ t`` become exactly 0 ("zero");
    * the remaining entries are sorted, and a run of neighbours each within ``t`` of the next
      becomes one value, the run's mean ("tied"); a run that contains a zero stays 0.

    Rankings computed from the snapped values treat rounding noise as the tie it is (an exact
    Shapley value of an irrelevant feature, ±1e-15, ties with the true 0). The result depends only
    on the multiset of values in the row, so it commutes with permuting the row, and it commutes
    with multiplying the row by a power of two. ``dtype`` (default ``values.dtype``) is the dtype
    the values were computed in, when they have since been promoted (float32 attributions summed
    in float64 carry float32 rounding).
    """
    if values.numel() == 0 or values.shape[-1] == 0:
        return values.clone()
    tol = rtol(dtype or values.dtype) * magnitude(values)
    v = torch.where(values.abs() <= tol, torch.zeros_like(values), values)
    ordered, order = v.sort(-1)
    new_run = torch.ones_like(ordered, dtype=torch.bool)
    new_run[..., 1:] = ordered.diff(dim=-1) > tol
    run = new_run.long().cumsum(-1) - 1
    total = torch.zeros_like(ordered).scatter_add_(-1, run, ordered)
    count = torch.zeros_like(ordered).scatter_add_(-1, run, torch.ones_like(ordered))
    has_zero = torch.zeros_like(ordered).scatter_add_(-1, run, (ordered == 0).to(ordered.dtype)) > 0
    mean = torch.where(has_zero, torch.zeros_like(total), total / count.clamp(min=1))
    return torch.empty_like(v).scatter_(-1, order, mean.gather(-1, run))
