"""The ``Method`` protocol: an explanation method is a frozen dataclass of hyper-parameters.

``dataclasses.asdict(method)`` goes into every record, so a record says exactly what ran.
Methods are stateless: ``explain`` may be called on any task, any batch, any seed.

Contract, tested for every registered method (``tests/contract``, ``tests/properties``):

* ``explain(task, x, seed=s)`` returns a tensor of ``x``'s shape, dtype and device, finite;
* the same seed gives the same result;
* an instance's attribution does not depend on the other instances in the batch
  (use :mod:`xaibench.rng` draws: shared across the batch, or private to each instance);
* relabelling the features permutes the attributions (no method may favour a column index).

The batch is checked where it enters, for every subclass (built-in or third-party) without code
of its own: :class:`Method` wraps each subclass's ``explain`` so that a non-floating-point or
misshapen ``x`` raises :class:`~xaibench.errors.InvalidInputError` / ``ShapeError`` naming the
fix, and an **empty batch** (``N = 0``) returns an empty ``(0, *F)`` result after ``check(task)``
— the one zero-instance behaviour of every method and metric.
"""

from __future__ import annotations

import dataclasses
import functools
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from torch import Tensor

from .errors import InvalidParameterError, NotApplicableError
from .registries import methods

if TYPE_CHECKING:
    from .task import Task

FAMILIES = ("gradient", "perturbation", "surrogate", "control", "reference")


@dataclasses.dataclass(frozen=True)
class Method(ABC):
    """Base class of explanation methods. Subclass as ``@register_method @dataclass(frozen=True)``.

    Class attributes:
        name: registry name.
        family: one of :data:`FAMILIES`.
        description: one line for ``xaibench list methods``.
        stochastic: whether the result depends on ``seed``.
        requires: task capabilities needed (see :attr:`Task.capabilities`).
    """

    name: ClassVar[str]
    family: ClassVar[str]
    description: ClassVar[str] = ""
    stochastic: ClassVar[bool] = False
    requires: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        explain = cls.__dict__.get("explain")
        if explain is not None and not getattr(explain, "__isabstractmethod__", False):
            cls.explain = _checked_explain(explain)

    @abstractmethod
    def explain(self, task: "Task", x: Tensor, *, seed: int = 0) -> Tensor:
        """Attributions for the instances ``x`` ``(N, *F)`` → ``(N, *F)``."""

    def check(self, task: "Task") -> None:
        """Raise :class:`NotApplicableError` if this method cannot explain ``task``."""
        missing = self.requires - task.capabilities
        if missing:
            raise NotApplicableError(f"{self.name} needs {sorted(missing)}, which {task.name} does not offer")

    @property
    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _checked_explain(explain):
    """``explain`` behind the batch contract (see the module docstring); applied once per class."""
    if getattr(explain, "__xaibench_checked__", False):
        return explain

    @functools.wraps(explain)
    def checked(self: Method, task: "Task", x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        from .task import check_batch  # noqa: PLC0415 - task imports nothing from here; avoids a cycle

        check_batch(task, x, who=self.name)
        if x.shape[0] == 0:
            self.check(task)
            return x.detach().clone()
        return explain(self, task, x, *args, **kwargs)

    checked.__xaibench_checked__ = True
    return checked


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator adding a method to the registry (apply above ``@dataclass``)."""
    _check_entry_class(cls, Method, "family", FAMILIES)
    methods.add(cls.name, cls)
    return cls


def get_method(name: str, **params: Any) -> Method:
    """Instantiate a registered method with hyper-parameters, e.g. ``get_method("integrated_gradients", n_steps=64)``."""
    return instantiate(methods.get(name), params)


def instantiate(cls: type, params: dict[str, Any]):
    """``cls(**params)``, the params checked by type and range first (:mod:`xaibench.params`)."""
    from .params import validate_params  # noqa: PLC0415

    params = validate_params(cls, params)
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        raise InvalidParameterError(message if message.startswith(f"{cls.name}:") else f"{cls.name}: {message}") from exc


def _check_entry_class(cls: type, base: type, group_attr: str, allowed: tuple[str, ...]) -> None:
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"{cls!r} must subclass {base.__name__}")
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} must be a dataclass (apply @register_* above @dataclass(frozen=True))")
    if not isinstance(getattr(cls, "name", None), str):
        raise TypeError(f"{cls.__name__} needs a class attribute `name: ClassVar[str] = ...`")
    if getattr(cls, group_attr, None) not in allowed:
        raise TypeError(f"{cls.__name__}.{group_attr} must be one of {allowed}, got {getattr(cls, group_attr, None)!r}")
