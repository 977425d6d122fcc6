"""The ``Dataset`` type, its registry entry, and the data cache location.

A dataset is fixed tensors with a fixed, seeded split and a version string; loaders live in
``xaibench.datasets``. Synthetic datasets carry an :class:`Oracle`: the function that generated
their labels, with its exact attributions, from which tasks derive ground truth.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .errors import ShapeError
from .registries import datasets

DATA_KINDS = ("tabular", "image", "sequence", "text")


@dataclass(frozen=True)
class Oracle:
    """The known function behind a synthetic dataset.

    Attributes:
        score: ``(B, *F) -> (B,)`` the true scalar (log-odds of class 1 for binary labels, the
            class-determining evidence otherwise), differentiable.
        attributions: ``(x (N, *F), baseline (*F)) -> (N, *F)`` exact attributions of ``score``
            relative to ``baseline`` (baseline Shapley values), or a 0/1 relevance mask when
            ``signed`` is false (planted patch, copied position).
        signed: whether the sign of ``attributions`` is meaningful (oriented by the explained class).
        label: ``(B, *F) -> (B,)`` long, the true label as a deterministic function of the input,
            where the dataset defines one (the copied token of ``synthetic_copy``), else ``None``.
    """

    score: Callable[[Tensor], Tensor]
    attributions: Callable[[Tensor, Tensor], Tensor]
    signed: bool = True
    label: Callable[[Tensor], Tensor] | None = None
    description: str = ""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Fixed train/test tensors of one dataset version.

    ``x_*`` are float tensors ``(N, *F)`` (images ``(N, C, H, W)``, sequences one-hot ``(N, L, V)``);
    ``y_*`` are long class labels (``n_classes >= 2``) or float targets (``n_classes == 0``).
    ``groups`` maps each feature to a group (one-hot block, patch, position); ``baseline`` is the
    default "absent" value (training mean for tabular data, zeros for images and one-hot).
    """

    name: str
    version: str
    kind: str
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    n_classes: int
    feature_names: tuple[str, ...]
    groups: Tensor | None = None
    group_names: tuple[str, ...] | None = None
    baseline: Tensor | None = None
    oracle: Oracle | None = None
    description: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in DATA_KINDS:
            raise ShapeError(f"{self.name}: kind must be one of {DATA_KINDS}, got {self.kind!r}")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ShapeError(f"{self.name}: train rows {tuple(self.x_train.shape[1:])} != test rows {tuple(self.x_test.shape[1:])}")
        if len(self.x_train) != len(self.y_train) or len(self.x_test) != len(self.y_test):
            raise ShapeError(f"{self.name}: features and labels have different lengths")
        if self.baseline is None:
            default = self.x_train.mean(0) if self.kind == "tabular" else torch.zeros_like(self.x_train[0])
            object.__setattr__(self, "baseline", default)

    @property
    def feature_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


@dataclass(frozen=True)
class DatasetEntry:
    """Registry entry: a loader plus what ``xaibench list datasets`` shows."""

    name: str
    kind: str
    description: str
    loader: Callable[[Path], Dataset]


def register_dataset(name: str, *, kind: str, description: str) -> Callable:
    """Decorator for ``loader(data_dir: Path) -> Dataset``."""

    def decorate(loader: Callable[[Path], Dataset]) -> Callable[[Path], Dataset]:
        datasets.add(name, DatasetEntry(name, kind, description, loader))
        return loader

    return decorate


def data_dir() -> Path:
    """Cache of downloaded files: ``$XAIBENCH_DATA_DIR``, else ``~/.cache/xaibench/data``."""
    return Path(os.environ.get("XAIBENCH_DATA_DIR") or Path.home() / ".cache" / "xaibench" / "data")


def cache_dir() -> Path:
    """Cache of trained weights and other derived files: ``$XAIBENCH_CACHE_DIR``, else ``~/.cache/xaibench``."""
    return Path(os.environ.get("XAIBENCH_CACHE_DIR") or Path.home() / ".cache" / "xaibench")


def load_dataset(name: str, directory: Path | str | None = None) -> Dataset:
    """Load a registered dataset (cached per process)."""
    return _load(name, str(Path(directory) if directory else data_dir()))


@lru_cache(maxsize=32)
def _load(name: str, directory: str) -> Dataset:
    entry: DatasetEntry = datasets.get(name)
    return entry.loader(Path(directory))
