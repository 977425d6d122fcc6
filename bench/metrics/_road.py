"""ROAD's noisy linear imputation (Rong et al. 2022), batched on the images' device.

Rong, Leemann, Borisov, Kasneci & Kasneci, "A Consistent and Efficient Evaluation Strategy for
Attribution Methods", ICML 2022; reference code ``road/imputations.py``, ``NoisyLinearImputer``
(github.com/tleemann/road_evaluation). Every removed pixel ``i`` takes the weighted mean of its
in-image 8-neighbours ``N(i)`` (weight 1/6 for the four direct neighbours, 1/12 for the four
diagonal ones), kept or imputed alike::

    s_i · v_i − Σ_{j ∈ N(i), removed} w_ij v_j = Σ_{j ∈ N(i), kept} w_ij x_j,   s_i = Σ_{j ∈ N(i)} w_ij,

then Gaussian noise of standard deviation ``noise`` (ROAD: 0.01) is added to the imputed pixels.

Differences from the reference, and why:

* ROAD assembles a sparse system per image and calls ``scipy.sparse.linalg.spsolve`` on the CPU.
  We solve all systems of a batch at once with Jacobi-preconditioned conjugate gradients, the
  stencil applied as a convolution (the matrix is symmetric positive definite whenever every
  removed region touches a kept pixel), to a relative residual of ``tol`` (1e-6).
* ROAD's mask is per pixel, shared by the channels; ours is per feature, each channel solved
  on its own (the same thing when the channel masks agree, as for pixel players).
* Each system stops at the first iteration where its own residual meets the tolerance (its
  updates are masked from then on, on the device), so its result depends neither on its batch
  mates nor on how often the host looks: the host asks whether any system is still running only
  at iterations 0, 8, 16, 24, 36, 54, … (each gap half the iterations so far) on an accelerator,
  where every look is a synchronisation — a handful per solve instead of one every 8 iterations,
  at the price of at most ~50 % extra masked iterations — and at every iteration on the CPU,
  where a look is free.
* A removed region with no kept neighbour (e.g. the fully removed image) makes ROAD's system
  singular. Conjugate gradients started from ``fallback`` (the task baseline) converge there to
  the baseline's (s-weighted) mean over the region: for the usual zero baseline, zeros.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_DIRECT, _DIAGONAL = 1.0 / 6.0, 1.0 / 12.0


def _stencil(dtype: torch.dtype, device: torch.device) -> Tensor:
    k = torch.tensor([[_DIAGONAL, _DIRECT, _DIAGONAL], [_DIRECT, 0.0, _DIRECT], [_DIAGONAL, _DIRECT, _DIAGONAL]],
                     dtype=dtype, device=device)
    return k.reshape(1, 1, 3, 3)


def next_look(iteration: int, device: torch.device) -> int:
    """The next iteration at which the solver asks the host whether a system still runs (module docstring)."""
    return iteration + 1 if device.type == "cpu" else iteration + max(8, iteration // 2)


def noisy_linear_impute(x: Tensor, keep: Tensor, fallback: Tensor, *, noise: Tensor | None = None,
                        tol: float = 1e-6, max_iter: int | None = None) -> Tensor:
    """Impute the removed pixels (``keep == 0``) of ``(B, C, H, W)`` images ``x``.

    Args:
        x: images; only the kept pixels are read.
        keep: 0/1 mask of ``x``'s shape.
        fallback: starting values (the task baseline), ``x``'s shape or broadcastable.
        noise: added to the imputed pixels (already scaled), ``x``'s shape; ``None`` for none.
        tol: a system stops when its preconditioned residual norm is below ``tol`` times the
            larger of its right-hand side's and its initial residual's (see the module docstring).
        max_iter: iteration cap, default ``4 · (H + W) + 50``.
    """
    b, c, h, w = x.shape
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    stencil = _stencil(work, x.device)
    keep = keep.to(work)
    removed = 1.0 - keep

    def neighbours(v: Tensor) -> Tensor:
        return F.conv2d(v.reshape(b * c, 1, h, w), stencil, padding=1).reshape(b, c, h, w)

    weight_sum = F.conv2d(torch.ones(1, 1, h, w, dtype=work, device=x.device), stencil, padding=1)  # s_i

    def operator(v: Tensor) -> Tensor:
        return removed * (weight_sum * v - neighbours(removed * v))

    rhs = removed * neighbours(keep * x.to(work))
    v = removed * fallback.to(work).expand(b, c, h, w)
    r = rhs - operator(v)
    z = r / weight_sum
    p = z
    rz = (r * z).sum((2, 3), keepdim=True)
    scale = torch.maximum((rhs * rhs / weight_sum).sum((2, 3), keepdim=True), rz.clamp(min=0)).sqrt()
    target = tol * scale.clamp(min=torch.finfo(work).tiny)
    tiny = torch.finfo(work).tiny
    running = rz.clamp(min=0).sqrt() > target  # (B, C, 1, 1): systems not yet converged
    look = 0  # next iteration at which the host checks whether any system still runs
    for it in range(max_iter or 4 * (h + w) + 50):
        if it == look:
            if not bool(running.any()):
                break
            look = next_look(it, x.device)
        ap = operator(p)
        pap = (p * ap).sum((2, 3), keepdim=True)
        alpha = torch.where(running & (pap > 0), rz / pap.clamp(min=tiny), torch.zeros_like(rz))
        v = v + alpha * p
        r = r - alpha * ap
        z = r / weight_sum
        rz_next = (r * z).sum((2, 3), keepdim=True)
        beta = torch.where(rz > 0, rz_next / rz.clamp(min=tiny), torch.zeros_like(rz))
        p = torch.where(running, z + beta * p, p)
        rz = torch.where(running, rz_next, rz)
        running = running & (rz.clamp(min=0).sqrt() > target)
    if noise is not None:
        v = v + removed * noise.to(work)
    return (keep * x.to(work) + removed * v).to(x.dtype)
