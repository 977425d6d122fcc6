"""Players: the units a perturbation acts on — single features, or groups of features.

Perturbation methods and coalition-based metrics switch features on and off together when the
task defines ``groups`` (image patches, the one-hot block of one categorical attribute, one
sequence position). A coalition is a 0/1 tensor over players, shape ``(..., G)``;
:meth:`Players.expand` turns it into a feature mask ``(..., *F)``.

Convention for per-feature attributions of grouped methods: a group's value is spread evenly
over its features (:meth:`Players.spread`), so the sum over features equals the sum over groups
and completeness survives. captum's feature masks instead repeat the group value on every
feature; we divide so that summed attributions stay comparable with gradient methods.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .errors import ShapeError


class Players:
    """Maps between per-feature tensors ``(..., *F)`` and per-player tensors ``(..., G)``."""

    def __init__(self, feature_shape: tuple[int, ...], groups: Tensor | None = None, device=None):
        self.feature_shape = tuple(int(s) for s in feature_shape)
        self.n_features = math.prod(self.feature_shape)
        if groups is None:
            self.index = torch.arange(self.n_features, device=device)
            self.grouped = False
        else:
            if tuple(groups.shape) != self.feature_shape:
                raise ShapeError(
                    f"groups has shape {tuple(groups.shape)} but features have shape {self.feature_shape}; "
                    "give one group id per feature"
                )
            index = groups.reshape(-1).long().to(device)
            ids = torch.unique(index)
            if ids.numel() == 0 or ids[0] != 0 or ids[-1] != ids.numel() - 1:
                raise ShapeError("group ids must be the integers 0..G-1, each used at least once")
            self.index = index
            self.grouped = True
        self.n = int(self.index.max()) + 1
        self.sizes = torch.bincount(self.index, minlength=self.n)

    def expand(self, coalitions: Tensor) -> Tensor:
        """``(..., G)`` player values → ``(..., *F)`` feature values (each feature takes its group's)."""
        if coalitions.shape[-1] != self.n:
            raise ShapeError(f"expected {self.n} players in the last dimension, got {coalitions.shape[-1]}")
        lead = coalitions.shape[:-1]
        out = coalitions if not self.grouped else coalitions[..., self.index]
        return out.reshape(*lead, *self.feature_shape)

    def total(self, values: Tensor) -> Tensor:
        """``(..., *F)`` per-feature values → ``(..., G)`` sums within each player."""
        lead = values.shape[: values.dim() - len(self.feature_shape)]
        flat = values.reshape(*lead, self.n_features)
        if not self.grouped:
            return flat
        out = torch.zeros(*lead, self.n, dtype=values.dtype, device=values.device)
        return out.index_add_(-1, self.index, flat)

    def spread(self, player_values: Tensor) -> Tensor:
        """``(..., G)`` → ``(..., *F)``: each feature gets its group's value divided by the group size."""
        if not self.grouped:
            return self.expand(player_values)
        return self.expand(player_values / self.sizes.to(player_values.dtype))


def mix(x: Tensor, baseline: Tensor, mask: Tensor) -> Tensor:
    """``mask ⊙ x + (1 − mask) ⊙ baseline``, aligning a ``(N, K, *F)`` mask with ``(N, *F)`` inputs.

    ``baseline`` may be ``(*F)``, ``(N, *F)`` or ``(N, K, *F)``.
    """
    if mask.dim() == x.dim() + 1:
        x = x.unsqueeze(1)
        if baseline.dim() == x.dim() - 1:  # (N, *F) baseline per instance
            baseline = baseline.unsqueeze(1)
    mask = mask.to(x.dtype)
    return baseline + mask * (x - baseline)
