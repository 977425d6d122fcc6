"""Ablation methods: remove a part of the input, credit it with the drop of ``f``.

* ``feature_ablation`` removes one **player** at a time (a feature, or a group of the task:
  image patch, one-hot block, sequence position), captum's ``FeatureAblation`` with the task's
  groups as feature mask.
* ``occlusion`` slides a square **window** over an image (Zeiler & Fergus 2014; captum's
  ``Occlusion``); a pixel gets the mean drop over the windows that cover it.

"Removed" means set to the baseline (``baseline="task"``: the task's, or ``"zero"``). All
perturbations of a chunk of instances are scored in one batched pass.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.method import register_method
from xaibench.players import mix
from xaibench.task import Task

from ._batched import BASELINES, BatchedMethod, reference_point, require_choice, require_positive


def ablation_drops(task: Task, x: Tensor, baseline: Tensor, removed: Tensor) -> Tensor:
    """``f(x) − f(x with the features of removed[p] set to the baseline)`` → ``(N, P)``.

    ``removed`` is a ``(P, *F)`` 0/1 mask, one row per perturbation.
    """
    bound = task.bind(x)
    keep = 1 - removed.to(x.dtype)
    perturbed = mix(x, baseline, keep.unsqueeze(0).expand(x.shape[0], *keep.shape))
    with torch.no_grad():
        return bound(x).unsqueeze(1) - bound(perturbed)


@register_method
@dataclasses.dataclass(frozen=True)
class FeatureAblation(BatchedMethod):
    """Feature ablation: ``Δ_g = f(x) − f(x_{g←b})`` for each player ``g``, one at a time.

    Per-feature attributions spread ``Δ_g`` evenly over the ``|g|`` features of the group
    (:meth:`Players.spread`), so ``Σ_features φ = Σ_g Δ_g``. captum's ``FeatureAblation`` with
    ``feature_mask = groups`` instead repeats ``Δ_g`` on every feature of the group: ours equals
    captum's divided by the group size (identical without groups). Defaults: ``baseline="task"``
    (captum's default baseline is zero: ``baseline="zero"``). Cost: one evaluation per player.
    """

    name: ClassVar[str] = "feature_ablation"
    family: ClassVar[str] = "perturbation"
    description: ClassVar[str] = "drop of f when each player (feature or group) alone is set to the baseline"

    baseline: str = "task"

    def __post_init__(self) -> None:
        require_choice(self.name, "baseline", self.baseline, BASELINES)

    def points_per_instance(self, task: Task) -> int:
        return task.players.n

    def explain_chunk(self, task: Task, x: Tensor, *, seed: int) -> Tensor:
        players = task.players
        removed = players.expand(torch.eye(players.n, device=x.device, dtype=x.dtype))
        drops = ablation_drops(task, x, reference_point(task, self.baseline, x), removed)
        return players.spread(drops)


@register_method
@dataclasses.dataclass(frozen=True)
class Occlusion(BatchedMethod):
    """Occlusion (Zeiler & Fergus 2014, "Visualizing and understanding convolutional networks").

    Image tasks (features ``(..., H, W)``): a ``window × window`` square, spanning all channels,
    slides over ``H × W`` with step ``stride ≤ window``, starting at ``0, s, 2s, …`` — per axis
    ``⌈(L − w)/s⌉ + 1`` positions, the last one clipped at the border when ``s`` does not divide
    ``L − w``, so every pixel is covered. Each window ``p`` is set to the baseline and
    ``Δ_p = f(x) − f(x_{p←b})``; a pixel's attribution (on every channel) is the mean of ``Δ_p``
    over the windows covering it. This is captum's ``Occlusion(sliding_window_shapes=(C, w, w),
    strides=(1, s, s))`` exactly, window positions and clipping included (captum returns float32).

    Other task kinds have no spatial neighbourhood: there ``occlusion`` removes one player at a
    time and equals ``feature_ablation`` (``window``/``stride`` are unused).
    Defaults: ``window=3``, ``stride=1``, ``baseline="task"``.
    """

    name: ClassVar[str] = "occlusion"
    family: ClassVar[str] = "perturbation"
    description: ClassVar[str] = "mean drop of f when sliding windows covering a pixel are occluded (Zeiler & Fergus 2014)"

    window: int = 3
    stride: int = 1
    baseline: str = "task"

    def __post_init__(self) -> None:
        require_positive(self.name, "window", self.window)
        require_positive(self.name, "stride", self.stride)
        if self.stride > self.window:
            raise InvalidParameterError(f"occlusion: stride {self.stride} > window {self.window} would leave pixels "
                                        "that no window covers; use stride <= window")
        require_choice(self.name, "baseline", self.baseline, BASELINES)

    def _spatial(self, task: Task) -> bool:
        return task.kind == "image"

    def windows(self, task: Task) -> Tensor:
        """``(P, H, W)`` 0/1 masks of the window positions, row-major over (top, left)."""
        *_, h, w = task.feature_shape
        rows = self._strip(h, task.device)
        cols = self._strip(w, task.device)
        return (rows[:, None, :, None] & cols[None, :, None, :]).reshape(-1, h, w)

    def _starts(self, length: int) -> range:
        """Window starts along an axis of ``length``: ``⌈(length − window)/stride⌉ + 1`` of them."""
        return range(0, length - self.window + self.stride, self.stride)

    def _strip(self, length: int, device) -> Tensor:
        """``(positions, length)`` masks of the window along one axis, clipped at the border."""
        starts = torch.tensor(self._starts(length), device=device)
        pos = torch.arange(length, device=device)
        return (pos >= starts[:, None]) & (pos < starts[:, None] + self.window)

    def points_per_instance(self, task: Task) -> int:
        if not self._spatial(task):
            return task.players.n
        *_, h, w = task.feature_shape
        return len(self._starts(h)) * len(self._starts(w))

    def check(self, task: Task) -> None:
        super().check(task)
        if not self._spatial(task):
            return
        if len(task.feature_shape) < 2:
            raise NotApplicableError(f"occlusion needs image features (..., H, W), {task.name} has {task.feature_shape}")
        if self.window > min(task.feature_shape[-2:]):
            raise NotApplicableError(f"occlusion window {self.window} does not fit {task.feature_shape} images "
                                     f"of {task.name}; pass a smaller window")

    def explain_chunk(self, task: Task, x: Tensor, *, seed: int) -> Tensor:
        if not self._spatial(task):
            return FeatureAblation(baseline=self.baseline).explain_chunk(task, x, seed=seed)
        masks = self.windows(task).to(x.dtype)  # (P, H, W)
        channels = task.feature_shape[:-2]
        removed = masks.reshape(masks.shape[0], *[1] * len(channels), *masks.shape[1:]).expand(-1, *task.feature_shape)
        drops = ablation_drops(task, x, reference_point(task, self.baseline, x), removed)
        mean = torch.einsum("np,phw->nhw", drops, masks) / masks.sum(0)  # every pixel is covered (stride <= window)
        return mean.reshape(x.shape[0], *[1] * len(channels), *mean.shape[1:]).expand_as(x).contiguous()
