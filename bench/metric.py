"""The ``Metric`` protocol: a frozen dataclass of parameters with class-level metadata.

Metadata lives on the class (as in Quantus): ``category``, ``higher_is_better`` (carried into the
leaderboard's ↑/↓), ``requires`` (task or method capabilities) and ``kinds`` (data kinds it applies
to). ``metric(task, x, attributions, method, seed=s)`` returns one value per instance, ``(N,)``.
A metric's per-instance values must not depend on which other instances share the batch.
Metrics that report more than one number (RIS/ROS/RRS report the kept fraction) override
:meth:`Metric.evaluate`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import Tensor

from .errors import InvalidAttributionError, NotApplicableError, ShapeError
from .method import _check_entry_class, instantiate
from .registries import metrics

if TYPE_CHECKING:
    from .method import Method
    from .task import Task

CATEGORIES = ("faithfulness", "stability", "fidelity", "ground_truth", "sanity", "complexity", "cost")


@dataclasses.dataclass(frozen=True)
class MetricOutput:
    """Per-instance values plus named scalar extras (e.g. ``{"kept_fraction": 0.93}``)."""

    values: Tensor
    extras: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Metric(ABC):
    """Base class of metrics. Subclass as ``@register_metric @dataclass(frozen=True)``.

    Class attributes:
        name, description: registry name and one line for ``xaibench list metrics``.
        category: one of :data:`CATEGORIES`.
        higher_is_better: direction, used for ranks and the ↑/↓ header.
        requires: capabilities needed: task ones (``"ground_truth"``, ``"randomized"``,
            ``"representation"``) or ``"stochastic"`` (the method must be stochastic).
        kinds: task kinds it applies to, ``None`` for all.
        per_instance: ``True`` when value ``i`` belongs to instance ``i``. Set-level metrics
            (``global_distillation``) return terms over held-out points whose mean is the statistic.
        heavy_tailed: ``True`` when a few instances can dominate the mean (ratio metrics such as
            ROS or local Lipschitz constants); the leaderboard then summarises by the median with
            its order-statistic interval instead of the mean (see :mod:`xaibench.stats`).
    """

    name: ClassVar[str]
    category: ClassVar[str]
    higher_is_better: ClassVar[bool]
    description: ClassVar[str] = ""
    requires: ClassVar[frozenset[str]] = frozenset()
    kinds: ClassVar[frozenset[str] | None] = None
    per_instance: ClassVar[bool] = True
    heavy_tailed: ClassVar[bool] = False

    @property
    def label(self) -> str:
        """Column name in tables; override to show a defining parameter (``global_distillation@5``)."""
        return self.name

    @abstractmethod
    def __call__(self, task: "Task", x: Tensor, attributions: Tensor, method: "Method", *, seed: int = 0) -> Tensor:
        """``(N,)`` values for instances ``x`` ``(N, *F)`` with attributions ``(N, *F)``."""

    def evaluate(self, task: "Task", x: Tensor, attributions: Tensor, method: "Method", *, seed: int = 0) -> MetricOutput:
        return MetricOutput(self(task, x, attributions, method, seed=seed))

    def check(self, task: "Task", method: "Method") -> None:
        """Raise :class:`NotApplicableError` when this metric cannot score ``method`` on ``task``."""
        if self.kinds is not None and task.kind not in self.kinds:
            raise NotApplicableError(f"{self.name} applies to {sorted(self.kinds)} tasks, not {task.kind}")
        offered = set(task.capabilities) | ({"stochastic"} if method.stochastic else set())
        missing = self.requires - offered
        if missing:
            raise NotApplicableError(f"{self.name} needs {sorted(missing)}, which {task.name} with {method.name} lacks")

    @property
    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Class decorator adding a metric to the registry (apply above ``@dataclass``)."""
    _check_entry_class(cls, Metric, "category", CATEGORIES)
    if not isinstance(getattr(cls, "higher_is_better", None), bool):
        raise TypeError(f"{cls.__name__} needs `higher_is_better: ClassVar[bool]`")
    metrics.add(cls.name, cls)
    return cls


def get_metric(name: str, **params: Any) -> Metric:
    """Instantiate a registered metric, e.g. ``get_metric("deletion_auc", baseline="mean")``."""
    return instantiate(metrics.get(name), params)


def check_attributions(x: Tensor, attributions: Tensor, who: str = "method") -> None:
    """Raise a typed error unless ``attributions`` is a finite tensor shaped like ``x``."""
    if not isinstance(attributions, Tensor):
        raise InvalidAttributionError(f"{who} returned {type(attributions).__name__}, expected a torch.Tensor")
    if attributions.shape != x.shape:
        raise ShapeError(
            f"{who} returned attributions of shape {tuple(attributions.shape)}; they must match the inputs {tuple(x.shape)}"
        )
    bad = ~torch.isfinite(attributions)
    if bad.any():
        rows = bad.reshape(bad.shape[0], -1).any(1).nonzero().flatten().tolist()
        raise InvalidAttributionError(
            f"{who} returned NaN or infinite attributions for {len(rows)} instance(s) (rows {rows[:5]}...); "
            "check the method's numerics (division by zero, exploding gradients)"
        )
