"""Helpers shared by image datasets: patch groups and pixel names."""

from __future__ import annotations

import torch
from torch import Tensor


def patch_groups(channels: int, height: int, width: int, patch: int) -> Tensor:
    """``(C, H, W)`` long group ids of non-overlapping ``patch × patch`` squares, row-major.

    Every channel of a pixel shares its group. ``H`` and ``W`` must be multiples of ``patch``.
    """
    if height % patch or width % patch:
        raise ValueError(f"a {height}x{width} image does not tile into {patch}x{patch} patches")
    rows = torch.arange(height) // patch
    cols = torch.arange(width) // patch
    grid = rows[:, None] * (width // patch) + cols[None, :]
    return grid.expand(channels, height, width).clone()


def pixel_names(channels: int, height: int, width: int) -> tuple[str, ...]:
    """``"ch0_r3_c5"``-style names (channel, row, column) in flattened ``(C, H, W)`` order; ``"r3_c5"`` for one channel."""
    prefix = (lambda c: "") if channels == 1 else (lambda c: f"ch{c}_")
    return tuple(f"{prefix(c)}r{r}_c{k}" for c in range(channels) for r in range(height) for k in range(width))
