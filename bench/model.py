"""The ``ModelSpec`` protocol: an architecture, a deterministic training recipe, and targets.

A model registry entry turns a :class:`~xaibench.dataset.Dataset` into a trained ``nn.Module``
and exposes named **targets**, each a :class:`TargetSpec` that makes the network a scalar
function to explain. :func:`xaibench.load_task` combines them with the data into a ``Task``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from torch import Tensor, nn

from .dataset import Dataset
from .registries import models
from .task import TargetFn, no_selection


@dataclass(frozen=True)
class TargetSpec:
    """What a model target contributes to a task.

    Data-space targets leave ``inputs``/``background``/``baseline``/``kind`` as ``None`` (the
    dataset's test rows, training sample and baseline are used). Targets on another space — the
    GAN generator explains latent codes — set them.
    """

    f: TargetFn
    label_fn: Callable[[Tensor], Tensor]
    select: Callable[[Tensor], Tensor] = no_selection
    representation_fn: Callable[[Tensor], Tensor] | None = None
    ground_truth: Callable[[Tensor], Tensor] | None = None
    ground_truth_signed: bool = True
    inputs: Tensor | None = None
    background: Tensor | None = None
    baseline: Tensor | None = None
    kind: str | None = None
    feature_names: tuple[str, ...] | None = None
    groups: Tensor | None = None
    use_dataset_groups: bool = True


class ModelSpec(ABC):
    """Base class of model registry entries (register with :func:`register_model`).

    Class attributes:
        name, description: registry name and one line for ``xaibench list models``.
        kinds: dataset kinds the model applies to.
        targets: target name → one-line description.
        weights_dir: folder of shipped weights with ``manifest.json`` (``None``: train on demand).
        cache_weights: ``False`` for models that come from outside the zoo (a user's factory, the
            Hugging Face hub): ``fit`` loads them on every use and nothing is cached; their
            weight hash is :func:`xaibench.weights.parameters_sha256`.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    kinds: ClassVar[frozenset[str]] = frozenset()
    targets: ClassVar[Mapping[str, str]] = {}
    weights_dir: ClassVar[Path | None] = None
    cache_weights: ClassVar[bool] = True

    def supports(self, dataset: Dataset) -> bool:
        return dataset.kind in self.kinds

    @abstractmethod
    def build(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        """The untrained architecture for ``dataset``, initialised from ``seed``."""

    @abstractmethod
    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        """Train deterministically on ``dataset``'s training split (CPU); returns the module."""

    @abstractmethod
    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        """Measured quality on the test split, e.g. ``{"test_accuracy": 0.97}``."""

    @abstractmethod
    def target(self, name: str, module: nn.Module, dataset: Dataset) -> TargetSpec:
        """The named target of the trained ``module``."""


def register_model(cls: type[ModelSpec]) -> type[ModelSpec]:
    """Class decorator adding a model spec to the registry."""
    if not (isinstance(cls, type) and issubclass(cls, ModelSpec)):
        raise TypeError(f"{cls!r} must subclass ModelSpec")
    if not cls.targets:
        raise TypeError(f"{cls.__name__} must name at least one target")
    models.add(cls.name, cls)
    return cls


def register_model_family(prefix: str, resolve: Callable[[str], type[ModelSpec]]) -> None:
    """Model names ``<prefix>:<argument>`` resolve to the spec class ``resolve(argument)``, built once
    per name (``hf:gpt2``, ``hf:./my-checkpoint``). ``resolve`` raises a typed error for a bad argument."""
    head = f"{prefix}:"
    models.add_resolver(lambda name: name.startswith(head) and len(name) > len(head),
                        lambda name: resolve(name[len(head):]))
