"""Building blocks shared by the zoo's architectures: seeded construction, MLPs, conv stacks.

Every conv stack uses 4×4 kernels with stride 2 and padding 1, which halve (encoder) or double
(decoder) the spatial size exactly for even sizes; decoders start from ``ceil(H/4) × ceil(W/4)``
and crop, so any image size works (8×8 digits, 28×28 MNIST, ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

Activation = Callable[[], nn.Module]
Norm = Callable[[int], nn.Module]  # channels -> normalisation layer


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with the global torch RNG seeded by ``seed``, restoring the caller's RNG state after.

    Used around parameter initialisation (``build``) and training (``fit``): a model's weights are
    a function of ``seed`` alone, whatever the caller drew before.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


@contextmanager
def one_thread() -> Iterator[None]:
    """Run a block with one intra-op CPU thread (restored after): how the zoo trains.

    The zoo's networks are small, so each op is too short to split across threads; extra threads
    only add synchronisation, and when other processes compete for the cores their spin-waiting
    is ruinous (mlp on breast_cancer, 2 busy cores: 4.3 s with one thread, 81 s with two). One
    thread also makes training bit-reproducible across machines with different core counts.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def mlp(sizes: Sequence[int], activation: Activation = nn.ReLU) -> nn.Sequential:
    """``Linear(sizes[0], sizes[1]) → act → … → Linear(sizes[-2], sizes[-1])`` (no activation after the last)."""
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(activation())
        layers.append(nn.Linear(d_in, d_out))
    return nn.Sequential(*layers)


def _halved(size: int, times: int) -> int:
    for _ in range(times):
        size = (size - 2) // 2 + 1  # a 4×4, stride-2, padding-1 convolution
    return size


def conv_encoder(shape: Sequence[int], channels: Sequence[int], out_dim: int,
                 activation: Activation = nn.ReLU, norm: Norm | None = None) -> nn.Sequential:
    """``(B, C, H, W) → (B, out_dim)``: stride-2 convolutions, each followed by ``norm`` (except the
    first, as in DCGAN) and ``activation``, then a linear map."""
    c, h, w = shape
    layers: list[nn.Module] = []
    for i, (c_in, c_out) in enumerate(zip((c, *channels[:-1]), channels)):
        layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1))
        if norm is not None and i:
            layers.append(norm(c_out))
        layers.append(activation())
    n = len(channels)
    layers += [nn.Flatten(), nn.Linear(channels[-1] * _halved(h, n) * _halved(w, n), out_dim)]
    return nn.Sequential(*layers)


class Crop(nn.Module):
    """Keep the top-left ``height × width`` pixels."""

    def __init__(self, height: int, width: int):
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: Tensor) -> Tensor:
        return x[..., : self.height, : self.width]


def conv_decoder(in_dim: int, shape: Sequence[int], channels: Sequence[int],
                 activation: Activation = nn.ReLU, norm: Norm | None = None) -> nn.Sequential:
    """``(B, in_dim) → (B, C, H, W)``: a linear map to ``channels[0]`` maps of size ``⌈H/2ⁿ⌉ × ⌈W/2ⁿ⌉``,
    stride-2 transposed convolutions through ``channels`` down to ``C``, crop (no output activation).
    Every hidden map is followed by ``norm`` (if given) and ``activation``."""
    c, h, w = shape
    n = len(channels)
    h0, w0 = math.ceil(h / 2**n), math.ceil(w / 2**n)
    layers: list[nn.Module] = [nn.Linear(in_dim, channels[0] * h0 * w0), nn.Unflatten(1, (channels[0], h0, w0))]
    for c_in, c_out in zip(channels, (*channels[1:], c)):
        if norm is not None:
            layers.append(norm(c_in))
        layers += [activation(), nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)]
    if (h0 * 2**n, w0 * 2**n) != (h, w):
        layers.append(Crop(h, w))
    return nn.Sequential(*layers)


class Bounded(nn.Module):
    """``lo + (hi − lo) · sigmoid(x)``: outputs in the data's range (generators of bounded data)."""

    def __init__(self, lo: Tensor, hi: Tensor):
        super().__init__()
        self.register_buffer("lo", lo.detach().clone().float())
        self.register_buffer("hi", hi.detach().clone().float())

    def forward(self, x: Tensor) -> Tensor:
        return self.lo + (self.hi - self.lo) * torch.sigmoid(x)


def module_device(module: nn.Module) -> tuple[torch.device, torch.dtype]:
    """Device and floating dtype of a module's first parameter or buffer (CPU float32 if it has none)."""
    for t in (*module.parameters(), *module.buffers()):
        if t.is_floating_point():
            return t.device, t.dtype
    return torch.device("cpu"), torch.float32


def frozen(module: nn.Module) -> nn.Module:
    """``module`` in eval mode with gradients switched off for its parameters (inputs can still take them)."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


@torch.no_grad()
def reestimate_batchnorm(module: nn.Module, batches: Iterable[Tensor], forward: Callable[[Tensor], Tensor]) -> None:
    """Replace the running statistics of every batch-norm layer of ``module`` by their exact average
    over ``forward(batch)`` calls (train-mode statistics, cumulative average), then switch to eval.

    Training leaves exponential moving averages of recent batches; re-estimating them on fixed data
    makes the evaluation-mode network a well-defined function of that data (and of no training noise).
    """
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    module.train()
    for batch in batches:
        forward(batch)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    module.eval()
