"""``xaibench.rng``: draws are an exact integer function of (seed, stream, instance content, index).

Device independence is proved by construction: every draw equals, bit for bit, a pure-Python
computation on integers (:func:`py_bits`, SplitMix64 with its published first output as the anchor),
and integer arithmetic is the same on every device. The float steps after it are exact
(uniforms on a dyadic grid) or single correctly rounded-ish float32 functions (Box–Muller), done once.
Then the properties the benchmark relies on: the same draws in float32 and float64, for a row alone
or in any batch, independent rows and streams, and the right distributions.
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from xaibench import rng

from .toys import PROPERTY

MASK = (1 << 64) - 1
REPO = Path(__file__).resolve().parents[2]


def py_mix(z: int) -> int:
    """SplitMix64's output function on Python integers (Steele, Lea & Flood 2014), unsigned."""
    z = (z + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def py_row_key(values: list[float], seed: int) -> int:
    """The documented instance key: the row rounded to float32, each value's bits hashed with its position."""
    total = 0
    for j, v in enumerate(values):
        bits = struct.unpack("<i", struct.pack("<f", v + 0.0))[0] & MASK  # float32 bits, sign-extended to 64
        total = (total + py_mix(bits ^ py_mix(j))) & MASK
    return py_mix(total ^ py_mix(seed))


def py_bits(key: int, n: int, stream: int) -> list[int]:
    return [py_mix(key ^ py_mix(i ^ py_mix(stream))) for i in range(n)]


def py_uniform32(word: int) -> float:
    return (2 * (word >> 41) + 1) / 2.0**24


def signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def test_splitmix_anchor():
    """The first output of SplitMix64 seeded with 0 is 0xE220A8397B1DCDAF (the reference sequence)."""
    assert py_mix(0) == 0xE220A8397B1DCDAF
    assert rng._mix_int(0) == signed(0xE220A8397B1DCDAF)


@PROPERTY
@given(values=st.lists(st.integers(-(1 << 63), (1 << 63) - 1), min_size=1, max_size=20))
def test_tensor_hash_equals_integer_hash(values):
    out = rng._mix(torch.tensor(values, dtype=torch.int64))
    assert out.tolist() == [signed(py_mix(v & MASK)) for v in values]
    assert [rng._mix_int(v) for v in values] == out.tolist()


@PROPERTY
@given(seed=st.integers(0, 2**40), stream=st.integers(0, 2**20), n=st.integers(1, 9))
def test_shared_uniforms_are_the_integer_computation(seed, stream, n):
    key = rng.seed_key(seed) & MASK
    assert key == py_mix(py_mix(seed))
    u = rng.shared_uniform(seed, (n,), stream=stream)
    assert u.dtype == torch.float32
    assert u.tolist() == [py_uniform32(w) for w in py_bits(key, n, stream)]
    u64 = rng.shared_uniform(seed, (n,), stream=stream, dtype=torch.float64)
    assert u64.tolist() == [(2 * (w >> 12) + 1) / 2.0**53 for w in py_bits(key, n, stream)]


@PROPERTY
@given(rows=st.lists(st.lists(st.floats(-1e6, 1e6, width=32), min_size=3, max_size=3), min_size=1, max_size=4),
       seed=st.integers(0, 2**31))
def test_instance_uniforms_are_the_integer_computation(rows, seed):
    x = torch.tensor(rows, dtype=torch.float32)
    u = rng.instance_uniform(x, seed, (5,), stream=3)
    for r, row in enumerate(rows):
        key = py_row_key(row, seed)
        assert u[r].tolist() == [py_uniform32(w) for w in py_bits(key, 5, 3)]


def test_normals_are_box_muller_of_the_words():
    """Pair i: radius from the top 24 bits, angle from the next 24; cosine normals first, then sines."""
    z = rng.shared_normal(7, (5,)).double()
    words = py_bits(rng.seed_key(7) & MASK, 3, 0)
    radius = [math.sqrt(-2 * math.log(1 - (w >> 40) / 2.0**24)) for w in words]
    angle = [((w >> 16) & 0xFFFFFF) * 2 * math.pi / 2.0**24 for w in words]
    expected = [r * math.cos(a) for r, a in zip(radius, angle)] + [r * math.sin(a) for r, a in zip(radius, angle)][:2]
    torch.testing.assert_close(z, torch.tensor(expected, dtype=torch.float64), rtol=1e-6, atol=1e-6)


@PROPERTY
@given(n=st.integers(1, 5), d=st.integers(1, 7), seed=st.integers(0, 99), data=st.data())
def test_instance_draws_ignore_dtype_and_batch(n, d, seed, data):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed))
    order = torch.tensor(data.draw(st.permutations(range(n))))
    for draw in (rng.instance_normal, rng.instance_uniform):
        alone = torch.cat([draw(x[i : i + 1], seed, (3, 2)) for i in range(n)])
        batch = draw(x, seed, (3, 2))
        assert torch.equal(alone, batch)
        assert torch.equal(draw(x[order], seed, (3, 2)), batch[order])
        wide = draw(x.double(), seed, (3, 2))
        assert wide.dtype == torch.float64 and torch.equal(wide, batch.double())


def test_float64_rows_draw_as_their_float32_rounding():
    x32 = torch.tensor([[0.1, -0.0, 3.0]])
    x64 = torch.tensor([[0.1, 0.0, 3.0]], dtype=torch.float64) + torch.tensor([[1e-12, 0.0, 0.0]], dtype=torch.float64)
    assert torch.equal(rng.instance_keys(x64, 0), rng.instance_keys(x32, 0))  # rounding and -0.0 agree
    assert not torch.equal(rng.instance_keys(x64, 0, exact=True), rng.instance_keys(x32.double(), 0, exact=True))


def test_rows_seeds_and_streams_are_independent():
    x = torch.zeros(2, 4)
    x[1, 0] = 1.0
    a = rng.instance_uniform(x, 0, (4096,))
    assert not torch.equal(a[0], a[1])
    assert abs(torch.corrcoef(a)[0, 1]) < 0.06
    b = rng.instance_uniform(x, 1, (4096,))
    c = rng.instance_uniform(x, 0, (4096,), stream=1)
    for other in (b, c):
        assert abs(torch.corrcoef(torch.stack([a[0], other[0]]))[0, 1]) < 0.06


def test_distributions():
    u = rng.shared_uniform(1, (200_000,)).double()
    assert 0 < u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.001
    z = rng.shared_normal(2, (200_001,)).double()
    assert z.shape == (200_001,) and abs(z.mean()) < 0.01 and abs(z.var() - 1) < 0.01
    assert abs((z**4).mean() - 3) < 0.06  # Gaussian kurtosis
    half = z[:100_000], z[100_001:]
    assert abs(torch.corrcoef(torch.stack(half))[0, 1]) < 0.01  # cosine and sine halves uncorrelated
    assert abs(rng.shared_bernoulli(3, (100_000,), 0.3).double().mean() - 0.3) < 0.005
    assert (rng.shared_uniform(4, (2**16,)) < 0.5).double().mean() == pytest.approx(0.5, abs=0.01)


def test_categorical_and_permutation():
    weights = torch.tensor([[1.0, 0.0, 3.0], [5.0, 5.0, 0.0]])
    draws = rng.shared_categorical(0, weights, 40_000)
    assert draws.shape == (40_000, 2)
    freq = torch.stack([torch.bincount(draws[:, i], minlength=3) for i in range(2)]).double() / 40_000
    torch.testing.assert_close(freq, weights.double() / weights.sum(1, keepdim=True), atol=0.01, rtol=0)
    assert torch.equal(rng.shared_permutation(5, 50).sort().values, torch.arange(50))
    first = torch.stack([rng.shared_permutation(s, 4) for s in range(4000)])[:, 0]
    assert (torch.bincount(first, minlength=4).double() / 4000 - 0.25).abs().max() < 0.03


RANDOM_CALL = re.compile(r"torch\.(rand|randn|randint|randperm|multinomial|bernoulli|normal)\(|"
                         r"\.(normal_|uniform_|bernoulli_|random_|exponential_)\(|Generator\(device")


@pytest.mark.parametrize("folder", ["methods", "bench/metrics"])
def test_methods_and_metrics_draw_only_through_rng(folder):
    """No method or metric draws from torch's generators directly (they differ by device and dtype); the
    one exception draws KernelSHAP's and permutation SHAP's designs on the CPU from ``rng.generator``."""
    offenders = []
    for path in sorted((REPO / folder).glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if RANDOM_CALL.search(line) and not (path.name == "_coalitions.py" and "generator=generator" in line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "draw through xaibench.rng instead:\n" + "\n".join(offenders)
