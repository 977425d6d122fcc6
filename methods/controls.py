"""Control methods, always in the table: any method worth using must beat them.

* ``random``: attributions that carry no information about ``f``;
* ``input``: attributions that know the input but not the model.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from torch import Tensor

from xaibench import rng
from xaibench.method import Method, register_method
from xaibench.task import Task

from ._batched import BASELINES, reference_point, require_choice


@register_method
@dataclasses.dataclass(frozen=True)
class RandomAttribution(Method):
    """Random control: ``φ_i ~ N(0, 1)`` independently per feature, private to each instance.

    Drawn with :func:`xaibench.rng.instance_normal` (stream 0), so the same seed gives the same
    attributions whatever the batch. Ignores the task's groups (no method should look at them for
    this control). Quantus's ``Random`` explainer draws U(0, 1); a symmetric law also randomises
    signs, so signed metrics see no bias either.
    """

    name: ClassVar[str] = "random"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "independent N(0, 1) attributions (control)"
    stochastic: ClassVar[bool] = True

    def explain(self, task: Task, x: Tensor, *, seed: int = 0) -> Tensor:
        self.check(task)
        return rng.instance_normal(x, seed, tuple(x.shape[1:]))


@register_method
@dataclasses.dataclass(frozen=True)
class InputAttribution(Method):
    """Input control: ``φ = x − b`` with the task's baseline (``baseline="task"``, the default),
    or ``φ = x`` (``baseline="zero"``).

    Model-agnostic: it is what every "difference from the reference" method would return for a
    model with all-one weights. With the default, it scores the input's displacement from the
    same reference the perturbation metrics remove features to, so it is a fair trivial rival.
    """

    name: ClassVar[str] = "input"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "x − baseline, ignoring the model (control)"

    baseline: str = "task"

    def __post_init__(self) -> None:
        require_choice(self.name, "baseline", self.baseline, BASELINES)

    def explain(self, task: Task, x: Tensor, *, seed: int = 0) -> Tensor:
        self.check(task)
        return x - reference_point(task, self.baseline, x)
