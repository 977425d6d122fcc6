"""Small tasks with hand-set functions, so expected attributions and scores are checkable by hand.

Used by the test-suite and available to plugin authors for their own tests.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .errors import InvalidInputError, ShapeError
from .task import Task, check_floating, no_selection


def task_from_function(
    fn: Callable[[Tensor], Tensor],
    inputs: Tensor,
    *,
    baseline: Tensor | None = None,
    background: Tensor | None = None,
    kind: str = "tabular",
    groups: Tensor | None = None,
    ground_truth: Callable[[Tensor], Tensor] | None = None,
    ground_truth_signed: bool = True,
    label_fn: Callable[[Tensor], Tensor] | None = None,
    representation_fn: Callable[[Tensor], Tensor] | None = None,
    randomized: Callable[[], Task] | None = None,
    name: str = "toy",
) -> Task:
    """A task explaining ``fn: (B, *F) -> (B,)`` (no output selection).

    The Task contract is checked here (typed errors): floating-point ``inputs`` (and baseline,
    background), valid integer ``groups``, and ``fn`` returning one floating-point value per row
    (probed once on one row).
    """
    check_floating("inputs", inputs, who="task_from_function")
    if inputs.dim() < 2:
        raise ShapeError(f"task_from_function: inputs must be (N, *F), got shape {tuple(inputs.shape)}")
    baseline = torch.zeros_like(inputs[0]) if baseline is None else baseline
    background = baseline.unsqueeze(0) if background is None else background
    _probe(fn, inputs[:1] if len(inputs) else baseline.unsqueeze(0))
    return Task(
        dataset=name, model="function", target="value", f=lambda x, _s: fn(x), inputs=inputs,
        background=background, baseline=baseline, kind=kind, select=no_selection,
        label_fn=label_fn or (lambda x: (fn(x) > 0).long()), groups=groups,
        representation_fn=representation_fn, ground_truth=ground_truth, randomized=randomized,
        ground_truth_signed=ground_truth_signed,
    )


def _probe(fn: Callable[[Tensor], Tensor], row: Tensor) -> None:
    """Typed error unless ``fn`` maps one row ``(1, *F)`` to one floating-point value ``(1,)``."""
    with torch.no_grad():
        out = fn(row)
    if not isinstance(out, Tensor) or tuple(out.shape) != (1,):
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ShapeError(f"task_from_function: fn must map (B, *F) inputs to (B,) values; one row gave {shape}")
    if not out.dtype.is_floating_point:
        raise InvalidInputError(f"task_from_function: fn returned dtype {out.dtype}; return floating-point values")


def linear_task(weights: Tensor, inputs: Tensor, *, bias: float = 0.0, baseline: Tensor | None = None,
                background: Tensor | None = None, groups: Tensor | None = None, kind: str = "tabular") -> Task:
    """``f(x) = ⟨w, x⟩ + bias``; ground truth ``w ⊙ (x − b)`` (every attribution method's exact answer).

    ``randomized()`` gives the same task with weights drawn from N(0, 1) (seed 0).
    """
    weights = weights.to(inputs.dtype)
    baseline = torch.zeros_like(inputs[0]) if baseline is None else baseline

    def fn(x: Tensor) -> Tensor:
        return (x * weights).reshape(x.shape[0], -1).sum(1) + bias

    def randomized() -> Task:
        g = torch.Generator().manual_seed(0)
        w = torch.randn(weights.shape, generator=g, dtype=weights.dtype)
        return linear_task(w, inputs, bias=bias, baseline=baseline, background=background, groups=groups, kind=kind)

    return task_from_function(
        fn, inputs, baseline=baseline, background=background, kind=kind, groups=groups,
        ground_truth=lambda x: weights * (x - baseline), randomized=randomized, name="linear",
        representation_fn=lambda x: x.reshape(x.shape[0], -1) * weights.reshape(1, -1),
    )


def mlp_task(n_features: int = 8, *, n_instances: int = 6, n_classes: int = 3, hidden: int = 16, seed: int = 0,
             groups: Tensor | None = None, dtype: torch.dtype = torch.float32, kind: str = "tabular") -> Task:
    """A fixed random 2-layer tanh MLP classifier; target = logit of the class predicted at each instance.

    Exercises output selection: ``f(x, s)`` is the logit of class ``s``, ``select`` the argmax.
    """
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(n_features, hidden, generator=g, dtype=dtype) / n_features**0.5
    w2 = torch.randn(hidden, n_classes, generator=g, dtype=dtype) / hidden**0.5
    inputs = torch.randn(n_instances, n_features, generator=g, dtype=dtype)
    background = torch.randn(32, n_features, generator=g, dtype=dtype)

    def logits(x: Tensor) -> Tensor:
        return torch.tanh(x @ w1) @ w2

    return Task(
        dataset="toy_mlp", model="mlp", target="logit", f=lambda x, s: logits(x).gather(1, s[:, None]).squeeze(1),
        inputs=inputs, background=background, baseline=background.mean(0), kind=kind,
        select=lambda x: logits(x).argmax(1), label_fn=lambda x: logits(x).argmax(1), groups=groups,
        representation_fn=lambda x: torch.tanh(x @ w1),
    )
