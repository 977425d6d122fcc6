"""The ``Metric`` protocol: a frozen dataclass of parameters with class-level metadata.

Metadata lives on the class (as in Quantus): ``category``, ``higher_is_better`` (carried into the
leaderboard's ↑/↓), ``requires`` (task or method capabilities) and ``kinds`` (data kinds it applies
to). ``metric(task, x, attributions, method, seed=s)`` returns one value per instance, ``(N,)``.
A metric's per-instance values must not depend on which other instances share the batch.
Metrics that report more than one number (RIS/ROS/RRS report the kept fraction) override
:meth:`Metric.evaluate`.

The batch is checked where it enters, for every subclass without code of its own: :class:`Metric`
wraps each subclass's ``__call__`` and ``evaluate`` so that they first run :meth:`Metric.check`
(a task the metric does not apply to raises :class:`~xaibench.errors.NotApplicableError` with the
reason, also when called directly), then check ``x`` (finite floating point, the task's feature
shape) and the attributions (shaped like ``x``, finite). An **empty batch** (``N = 0``) gives an
empty ``(0,)`` result (``evaluate``: no extras) — the one zero-instance behaviour of every method
and metric.

Ties, zeros and degenerate denominators follow :mod:`xaibench.tolerance` (relative to the scale of
the quantity); a metric that ranks players says in its docstring how it treats ties.
"""

from __future__ import annotations

import dataclasses
import functools
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
    min_players: ClassVar[int] = 1
    """Fewest players (features or groups) the metric needs; a ranking of one player says nothing."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attr in ("__call__", "evaluate"):
            fn = cls.__dict__.get(attr)
            if fn is not None and not getattr(fn, "__isabstractmethod__", False):
                setattr(cls, attr, _checked_entry(fn, empty_output=attr == "evaluate"))

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
        stochastic = method is not None and method.stochastic
        offered = set(task.capabilities) | ({"stochastic"} if stochastic else set())
        missing = self.requires - offered
        if missing:
            who = f"{task.name} with {method.name}" if method is not None else task.name
            raise NotApplicableError(f"{self.name} needs {sorted(missing)}, which {who} lacks")
        if task.players.n < self.min_players:
            raise NotApplicableError(
                f"{self.name} ranks players and needs at least {self.min_players}; {task.name} has {task.players.n} "
                "(every attribution would score the same)")

    @property
    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _checked_entry(fn, *, empty_output: bool):
    """``__call__`` / ``evaluate`` behind the batch contract (module docstring); applied once per class."""
    if getattr(fn, "__xaibench_checked__", False):
        return fn

    @functools.wraps(fn)
    def checked(self: Metric, task: "Task", x: Tensor, attributions: Tensor, method: "Method" = None, *args: Any,
                **kwargs: Any):
        from .task import check_batch  # noqa: PLC0415 - task imports nothing from here; avoids a cycle

        self.check(task, method)
        check_batch(task, x, who=self.name)
        if self.category != "cost":  # cost metrics time the method themselves and ignore attributions
            check_attributions(x, attributions, who=f"attributions given to {self.name}")
        if x.shape[0] == 0:
            empty = x.new_zeros(0)
            return MetricOutput(empty) if empty_output else empty
        return fn(self, task, x, attributions, method, *args, **kwargs)

    checked.__xaibench_checked__ = True
    return checked


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
