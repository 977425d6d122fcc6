"""Reproducible randomness that does not depend on batch composition.

Two kinds of draws, both keyed by the caller's ``seed``:

* :func:`generator` — a ``torch.Generator`` for draws **shared by every instance of a batch**
  (common random numbers: the same coalitions or noise for each row). An instance's result then
  does not depend on which other instances share its batch, and shared designs allow one batched
  solve (KernelSHAP, LIME).
* :func:`instance_uniform` / :func:`instance_normal` — draws **private to each instance**, derived
  from a hash of the instance's content and the seed (SplitMix64 in int64 tensor arithmetic, on
  the instance's device). Explaining a row alone or inside any batch gives the same numbers.
"""

from __future__ import annotations

import math
import zlib

import torch
from torch import Tensor


def derived_seed(seed: int, name: str) -> int:
    """A seed for the draws of component ``name`` (a metric), a function of ``seed`` and the name.

    Methods draw from ``generator(seed)`` too; offsetting by a hash of the name keeps a metric's
    perturbations independent of the randomness of the method it scores (the ``random`` control
    must not meet its own numbers again).
    """
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) & 0x7FFF_FFFF_FFFF_FFFF


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed) & 0x7FFF_FFFF_FFFF_FFFF)


def _signed(c: int) -> int:
    return c - (1 << 64) if c >= 1 << 63 else c


_GOLDEN = _signed(0x9E3779B97F4A7C15)
_M1 = _signed(0xBF58476D1CE4E5B9)
_M2 = _signed(0x94D049BB133111EB)


def _srl(v: Tensor, s: int) -> Tensor:
    """Logical right shift of int64 values."""
    return (v >> s) & ((1 << (64 - s)) - 1)


def _mix(z: Tensor) -> Tensor:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014), wrapping int64 arithmetic."""
    z = z + _GOLDEN
    z = (z ^ _srl(z, 30)) * _M1
    z = (z ^ _srl(z, 27)) * _M2
    return z ^ _srl(z, 31)


def instance_keys(x: Tensor, seed: int) -> Tensor:
    """``(N,)`` int64 key per row of ``x``, a function of the row's bits and ``seed`` only."""
    flat = x.detach().reshape(x.shape[0], -1).contiguous()
    if flat.is_floating_point():
        flat = flat + 0.0  # turn -0.0 into 0.0
        bits = {2: torch.int16, 4: torch.int32, 8: torch.int64}[flat.element_size()]
        flat = flat.view(bits)
    flat = flat.to(torch.int64)
    position = torch.arange(flat.shape[1], device=x.device, dtype=torch.int64)
    h = _mix(flat ^ _mix(position)).sum(dim=1)
    return _mix(h ^ _mix(torch.full_like(h, int(seed))))


def instance_uniform(x: Tensor, seed: int, shape: tuple[int, ...], *, stream: int = 0, dtype=None) -> Tensor:
    """``(N, *shape)`` uniform draws in the open interval (0, 1), private to each row of ``x``."""
    dtype = dtype or (x.dtype if x.is_floating_point() else torch.get_default_dtype())
    keys = instance_keys(x, seed) ^ _mix(torch.tensor(int(stream), device=x.device, dtype=torch.int64))
    counters = _mix(torch.arange(math.prod(shape), device=x.device, dtype=torch.int64))
    bits = _mix(keys[:, None] ^ counters[None, :])
    mantissa = 53 if dtype == torch.float64 else 24
    u = (_srl(bits, 64 - mantissa).to(torch.float64) + 0.5) / float(1 << mantissa)
    return u.to(dtype).reshape(x.shape[0], *shape)


def instance_normal(x: Tensor, seed: int, shape: tuple[int, ...], *, stream: int = 0, dtype=None) -> Tensor:
    """``(N, *shape)`` standard normal draws private to each row (Box–Muller)."""
    u1 = instance_uniform(x, seed, shape, stream=2 * stream, dtype=torch.float64)
    u2 = instance_uniform(x, seed, shape, stream=2 * stream + 1, dtype=torch.float64)
    z = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
    return z.to(dtype or (x.dtype if x.is_floating_point() else torch.get_default_dtype()))
