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

from .errors import InvalidInputError, ShapeError


def check_groups(groups: Tensor, feature_shape: tuple[int, ...]) -> None:
    """Raise a typed error unless ``groups`` is a valid feature → group map for ``feature_shape``.

    Valid: a tensor of ``feature_shape``, an integer dtype (a float id such as 0.5 is refused, never
    truncated), and ids exactly ``0..G−1`` with every id used (no empty group, no negative id).
    """
    if not isinstance(groups, Tensor):
        raise InvalidInputError(f"groups must be a torch.Tensor of integer group ids, got {type(groups).__name__}")
    if tuple(groups.shape) != tuple(feature_shape):
        raise ShapeError(
            f"groups has shape {tuple(groups.shape)} but features have shape {tuple(feature_shape)}; "
            "give one group id per feature"
        )
    if groups.dtype.is_floating_point or groups.dtype.is_complex or groups.dtype == torch.bool:
        raise InvalidInputError(
            f"group ids must be integers, got dtype {groups.dtype}; pass groups.long() if every id is a whole "
            "number (fractional ids are refused, not truncated)"
        )
    if groups.numel() == 0:
        return
    ids = torch.unique(groups)
    if int(ids[0]) != 0 or int(ids[-1]) != ids.numel() - 1:
        used = ids.tolist()
        missing = sorted(set(range(max(0, int(ids[-1]) + 1))) - set(used))[:5]
        raise InvalidInputError(
            f"group ids must be the integers 0..G-1 with every id used (no empty group); got ids from "
            f"{used[0]} to {used[-1]}" + (f", missing {missing}" if missing else "") +
            ". Renumber them, e.g. torch.unique(groups, return_inverse=True)[1]"
        )


class Players:
    """Maps between per-feature tensors ``(..., *F)`` and per-player tensors ``(..., G)``.

    ``groups`` is validated by :func:`check_groups` (typed errors for float, out-of-range or
    unused ids).
    """

    def __init__(self, feature_shape: tuple[int, ...], groups: Tensor | None = None, device=None):
        self.feature_shape = tuple(int(s) for s in feature_shape)
        self.n_features = math.prod(self.feature_shape)
        if groups is None:
            self.index = torch.arange(self.n_features, device=device)
            self.grouped = False
        else:
            check_groups(groups, self.feature_shape)
            self.index = groups.reshape(-1).long().to(device)
            self.grouped = True
        self.n = int(self.index.max()) + 1 if self.index.numel() else 0
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
