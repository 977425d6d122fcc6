"""Deterministic training: Adam over mini-batches in a seeded order, a fixed number of steps.

Recipes specify a **step budget** rather than epochs, so that datasets of 133 rows (wine) and
30,000 rows (adult) both get enough, and not too many, updates. Batches are consecutive slices of
one seeded permutation per epoch (``torch.randperm`` on a CPU generator seeded with the model
seed); noise drawn during training (VAE reparameterisation, GAN latents) comes from the same
generator, so training is a function of (data, seed) alone. Bit-exact reproduction additionally
needs the same torch build and thread count (float reductions); retraining reproduces the
quality within a small tolerance on any machine. Training runs on one CPU thread
(:func:`._nets.one_thread`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ._nets import one_thread, seeded


@dataclass(frozen=True)
class Schedule:
    """How long and how fast to train: ``steps`` Adam updates of ``batch_size`` rows at ``lr``."""

    steps: int
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0


def batches(n: int, schedule: Schedule, generator: torch.Generator) -> Iterator[Tensor]:
    """``schedule.steps`` index tensors: consecutive slices of a fresh seeded permutation per epoch.

    The last, short slice of an epoch is dropped (unless the data are smaller than one batch).
    """
    size = min(schedule.batch_size, n)
    done = 0
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - size + 1, size):
            if done == schedule.steps:
                return
            yield order[start : start + size]
            done += 1


def train(module: nn.Module, loss: Callable[[Tensor, torch.Generator], Tensor], n: int, schedule: Schedule,
          seed: int) -> nn.Module:
    """Minimise ``loss(batch_indices, generator)`` with AdamW over :func:`batches`; returns ``module`` in eval mode."""
    module.train()
    optimiser = torch.optim.AdamW(module.parameters(), lr=schedule.lr, weight_decay=schedule.weight_decay)
    generator = torch.Generator().manual_seed(int(seed))
    with seeded(seed), one_thread():
        for idx in batches(n, schedule, generator):
            optimiser.zero_grad(set_to_none=True)
            loss(idx, generator).backward()
            optimiser.step()
    return module.eval()


@torch.no_grad()
def chunked(fn: Callable[[Tensor], Tensor], x: Tensor, size: int = 2048) -> Tensor:
    """``fn`` applied to ``x`` in row chunks (no gradients), outputs concatenated."""
    return torch.cat([fn(x[i : i + size]) for i in range(0, len(x), size)])
