"""Reproducible randomness: the same numbers on every device and in every dtype, whatever the batch.

Every draw in xaibench is keyed by the caller's ``seed`` and made by **counter-based hashing**
(SplitMix64, Steele, Lea & Flood 2014) in int64 tensor arithmetic on the device that needs the
numbers. Integer arithmetic is exact everywhere, so a CPU and a CUDA device produce the same bits;
the bits become uniforms on a fixed grid (2²³ points, exact in float32, unless a caller asks for
float64's 2⁵² points) and normals by Box–Muller in float32, so a float64 task gets exactly
the draws of a float32 task, cast. Nothing is drawn from a ``torch.Generator`` on the task's device
(CUDA's generators are other algorithms than the CPU's) or in the task's dtype (the CPU draws
other numbers for float32 and float64). Two kinds of draws:

* **shared** by every instance of a batch (common random numbers: the same coalitions or noise for
  each row): :func:`shared_uniform`, :func:`shared_normal`, :func:`shared_bernoulli`,
  :func:`shared_categorical`, :func:`shared_permutation`, keyed by the seed alone. An instance's
  result then does not depend on which other instances share its batch, and shared designs allow
  one batched solve (LIME, local fidelity).
* **private** to each instance: :func:`instance_uniform` / :func:`instance_normal`, keyed by a hash
  of the instance's content and the seed (:func:`instance_keys`). Explaining a row alone or inside
  any batch gives the same numbers, and rows are independent of each other.

The content hash reads the instance's values **rounded to float32** (documented here because it is
a choice): a float64 instance gets the draws of its float32 rounding, so a task built in float64
draws what the float32 task draws; two rows equal to float32 precision share their draws.

:func:`generator` remains for combinatorial designs drawn on the CPU and moved once (KernelSHAP's
coalitions, permutation orders: :mod:`xaibench.methods._coalitions`); it never lives on a device.
Each component should draw under its own seed: :func:`derived_seed` offsets a seed by a name.

Cost: one 64-bit hash per uniform, and one per **two** normals (24 bits for the radius, 24 for the
angle of Box–Muller, which gives a cosine and a sine normal); everything in place on the device,
with no host round trip (keys are scalars of the kernels, never copied from the host).
"""

from __future__ import annotations

import math
import zlib

import torch
from torch import Tensor

_MASK64 = (1 << 64) - 1


def derived_seed(seed: int, name: str) -> int:
    """A seed for the draws of component ``name`` (a metric), a function of ``seed`` and the name.

    Methods draw under ``seed`` too; offsetting by a hash of the name keeps a metric's
    perturbations independent of the randomness of the method it scores (the ``random`` control
    must not meet its own numbers again).
    """
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) & 0x7FFF_FFFF_FFFF_FFFF


def generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``, for designs drawn on the CPU and moved once."""
    return torch.Generator().manual_seed(int(seed) & 0x7FFF_FFFF_FFFF_FFFF)


# -- SplitMix64 in int64 arithmetic ---------------------------------------------------------------


def _signed(c: int) -> int:
    c &= _MASK64
    return c - (1 << 64) if c >= 1 << 63 else c


_GOLDEN = _signed(0x9E3779B97F4A7C15)
_M1 = _signed(0xBF58476D1CE4E5B9)
_M2 = _signed(0x94D049BB133111EB)
_STEPS = ((30, _M1), (27, _M2), (31, None))


def _srl(v: Tensor, s: int) -> Tensor:
    """Logical right shift of int64 values."""
    return (v >> s) & ((1 << (64 - s)) - 1)


def _mix(z: Tensor) -> Tensor:
    """SplitMix64 finaliser, wrapping int64 arithmetic (a new tensor)."""
    return _mix_(z.clone())


def _mix_(z: Tensor) -> Tensor:
    """SplitMix64 finaliser applied **in place** to ``z`` (int64), with one scratch tensor."""
    shifted = torch.empty_like(z)
    z.add_(_GOLDEN)
    for s, m in _STEPS:
        torch.bitwise_right_shift(z, s, out=shifted).bitwise_and_((1 << (64 - s)) - 1)
        z.bitwise_xor_(shifted)
        if m is not None:
            z.mul_(m)
    return z


def _mix_int(v: int) -> int:
    """:func:`_mix` of one Python integer (the same value, computed on the host without a tensor)."""
    z = (v + _GOLDEN) & _MASK64
    for s, m in _STEPS:
        z ^= z >> s
        if m is not None:
            z = (z * m) & _MASK64
    return _signed(z)


def seed_key(seed: int) -> int:
    """The int64 key of the shared draws of ``seed`` (a Python int, passed to kernels as a scalar)."""
    return _mix_int(_mix_int(int(seed)))


def instance_keys(x: Tensor, seed: int, *, exact: bool = False) -> Tensor:
    """``(N,)`` int64 key per row of ``x``, a function of the row's values and ``seed`` only.

    Floating-point rows are hashed **rounded to float32** (see the module docstring), with ``-0.0``
    read as ``0.0``; ``exact=True`` hashes the row's own bits instead (a content index that must
    tell float64 rows apart, :class:`xaibench.metrics._perturb.PinnedSelect`). Integer rows are
    hashed as they are.
    """
    flat = x.detach().reshape(x.shape[0], -1)
    if flat.is_floating_point():
        if not exact:
            flat = flat.to(torch.float32)
        flat = flat + 0.0  # a new contiguous tensor, -0.0 turned into 0.0
        bits = {2: torch.int16, 4: torch.int32, 8: torch.int64}[flat.element_size()]
        flat = flat.view(bits).to(torch.int64)  # a fresh tensor: hashed in place below
    else:
        flat = flat.to(torch.int64, copy=True)
    position = _mix(torch.arange(flat.shape[1], device=x.device, dtype=torch.int64))
    h = _mix_(flat.bitwise_xor_(position)).sum(dim=1)
    return _mix_(h.bitwise_xor_(_mix_int(int(seed))))


def _bits(keys: Tensor, n: int, stream: int) -> Tensor:
    """``(*keys.shape, n)`` int64 hashes of (key, stream, counter): one independent 64-bit word each."""
    counters = _mix_(torch.arange(n, device=keys.device, dtype=torch.int64).bitwise_xor_(_mix_int(int(stream))))
    return _mix_(keys.unsqueeze(-1) ^ counters)


def _uniform_from_bits(bits: Tensor, dtype: torch.dtype) -> Tensor:
    """Uniforms in (0, 1): ``(2k + 1) / 2^b`` with ``k`` the high ``b − 1`` bits, ``b`` = 24 (float32) or
    53 (float64): exact in ``dtype``, never 0 or 1, and symmetric about ½ (``P(u < ½)`` is exactly ½)."""
    b = 53 if dtype == torch.float64 else 24
    return _srl(bits, 65 - b).to(dtype).mul_(2.0).add_(1.0).mul_(2.0**-b)


def _uniform(keys: Tensor, shape: tuple[int, ...], stream: int, dtype: torch.dtype | None) -> Tensor:
    draw = torch.float64 if dtype == torch.float64 else torch.float32
    u = _uniform_from_bits(_bits(keys, math.prod(shape), stream), draw)
    return u.reshape(*keys.shape, *shape)


def _normal(keys: Tensor, shape: tuple[int, ...], stream: int) -> Tensor:
    """Box–Muller in float32 from one hash per pair: radius from the high 24 bits, angle from the next 24."""
    n = math.prod(shape)
    half = (n + 1) // 2
    bits = _bits(keys, half, stream)
    radius = _srl(bits, 40).to(torch.float32).mul_(-(2.0**-24)).add_(1.0)  # 1 − k/2^24 ∈ (0, 1], exact
    radius = radius.log_().mul_(-2.0).sqrt_()
    angle = (bits >> 16).bitwise_and_(0xFF_FFFF).to(torch.float32).mul_(2 * math.pi * 2.0**-24)
    out = torch.empty(*keys.shape, 2 * half, dtype=torch.float32, device=keys.device)
    torch.mul(radius, torch.cos(angle), out=out[..., :half])
    torch.mul(radius, angle.sin_(), out=out[..., half:])
    return out[..., :n].reshape(*keys.shape, *shape)


def _cast(draws: Tensor, dtype: torch.dtype | None, like: Tensor | None = None) -> Tensor:
    if dtype is None:
        dtype = like.dtype if like is not None and like.is_floating_point() else torch.get_default_dtype()
    return draws.to(dtype)


# -- private to each instance -----------------------------------------------------------------------


def instance_uniform(x: Tensor, seed: int, shape: tuple[int, ...], *, stream: int = 0, dtype=None) -> Tensor:
    """``(N, *shape)`` uniform draws in the open interval (0, 1), private to each row of ``x``.

    Drawn on float32's grid of 2²³ points and returned in ``dtype`` (default: ``x``'s floating dtype);
    ``dtype=torch.float64`` draws on a grid of 2⁵² points instead. Pass a fixed dtype, never the task's,
    so that the draws do not depend on it.
    """
    return _cast(_uniform(instance_keys(x, seed), shape, stream, dtype), dtype, x)


def instance_normal(x: Tensor, seed: int, shape: tuple[int, ...], *, stream: int = 0, dtype=None) -> Tensor:
    """``(N, *shape)`` standard normal draws private to each row (Box–Muller in float32, then cast to
    ``dtype``, default ``x``'s floating dtype). Tails are cut at 5.9σ (probability 2·10⁻⁹)."""
    return _cast(_normal(instance_keys(x, seed), shape, stream), dtype, x)


# -- shared by every instance -----------------------------------------------------------------------


def _scalar_key(seed: int, device) -> Tensor:
    return torch.full((), seed_key(seed), dtype=torch.int64, device=device)


def shared_uniform(seed: int, shape: tuple[int, ...], *, device=None, stream: int = 0,
                   dtype: torch.dtype = torch.float32) -> Tensor:
    """``shape`` uniform draws in (0, 1) on ``device``, a function of ``seed`` and ``stream`` only.

    On float32's grid of 2²³ points (the default); ``dtype=torch.float64`` draws on 2⁵² points. Cast the
    result to the task's dtype; never pass the task's dtype here.
    """
    return _uniform(_scalar_key(seed, device), tuple(shape), stream, dtype).to(dtype)


def shared_normal(seed: int, shape: tuple[int, ...], *, device=None, stream: int = 0) -> Tensor:
    """``shape`` standard normal draws (float32, Box–Muller) on ``device``; cast to the task's dtype."""
    return _normal(_scalar_key(seed, device), tuple(shape), stream)


def shared_bernoulli(seed: int, shape: tuple[int, ...], p: float = 0.5, *, device=None, stream: int = 0) -> Tensor:
    """``shape`` booleans, each True with probability ``p`` (a multiple of 2⁻²⁴: exactly ½ for ``p = 0.5``)."""
    return shared_uniform(seed, shape, device=device, stream=stream) < p


def shared_categorical(seed: int, weights: Tensor, k: int, *, stream: int = 0) -> Tensor:
    """``(k, *weights.shape[:-1])`` long: ``k`` independent draws from each row of ``weights`` ``(..., C)``.

    Category ``c`` is drawn with probability ``weights[c] / Σ weights`` (inverse CDF of float64
    uniforms against the float64 cumulative weights; integer counts as weights are exact).
    """
    cumulative = weights.to(torch.float64).cumsum(-1)
    rows = cumulative.reshape(-1, cumulative.shape[-1])
    u = shared_uniform(seed, (k, rows.shape[0]), device=weights.device, stream=stream, dtype=torch.float64)
    target = (u * rows[:, -1]).T.contiguous()  # (rows, k)
    index = torch.searchsorted(rows, target, right=True).clamp_(max=rows.shape[-1] - 1)
    return index.T.reshape(k, *weights.shape[:-1])


def shared_permutation(seed: int, n: int, *, device=None, stream: int = 0) -> Tensor:
    """A uniformly random permutation of ``0 .. n−1`` (argsort of 64-bit hashes; ties: probability ~n²/2⁶⁴)."""
    return _bits(_scalar_key(seed, device), n, stream).argsort()
