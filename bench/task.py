"""The explanation problem: a scalar function of the input, the instances to explain, and context.

Departure from the design sketch, and why: the sketch types ``f`` as ``(N, *F) -> (N,)``. Targets
such as "the logit of the predicted class" must keep the class chosen **at the explained
instance** when they are evaluated on perturbed copies of it — otherwise a deletion curve follows
whichever class wins after deletion. So a task's ``f`` takes a selector, ``f(x, s)`` with ``s`` a
``(B,)`` long tensor (class, token ...), and :meth:`Task.select` picks ``s`` at the explained
instances (captum's ``target``, in one canonical form). Methods and metrics never handle selectors
themselves: :meth:`Task.bind` returns a :class:`BoundTarget` that evaluates ``f`` on an instance
and its perturbations with the right selector, chunked to ``max_batch`` rows.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import torch
from torch import Tensor

from .chunking import map_chunks, pass_key
from .errors import InvalidInputError, ShapeError
from .players import Players, check_groups

TargetFn = Callable[[Tensor, Tensor], Tensor]
"""``f(x, selector)``: ``(B, *F)`` inputs and ``(B,)`` long selectors → ``(B,)`` scalars; differentiable."""

KINDS = ("tabular", "image", "sequence", "latent")

GPU_MAX_BATCH = 8192
CPU_BATCH_BYTES = {"image": 1 << 18, "other": 1 << 20}
"""Input bytes per CPU thread in one forward pass. Images get less: a convolution's activations are
many times its input, and passes that outgrow the cache slow down (zoo MNIST CNN, 2 threads:
deletion_auc over 100 images took 185 ms in passes of 256 rows, 275 ms in passes of 668). Other
inputs get more: an MLP's per-pass overhead dominates (integrated_gradients on the breast_cancer
MLP, 5,000 points: 1.0x its floor in one pass, 1.13-1.24x in passes of 4,369 rows)."""


def default_max_batch(inputs: Tensor, kind: str = "tabular") -> int:
    """Rows per forward pass for instances like ``inputs`` of ``kind`` on their device (see ``Task.max_batch``)."""
    if inputs.device.type != "cpu":
        return GPU_MAX_BATCH
    row_bytes = max(1, math.prod(inputs.shape[1:]) * inputs.element_size())
    budget = CPU_BATCH_BYTES["image" if kind == "image" else "other"] * max(1, torch.get_num_threads())
    return max(1, min(GPU_MAX_BATCH, budget // row_bytes))


def check_floating(name: str, t: object, *, who: str = "task") -> None:
    """Typed error unless ``t`` is a floating-point tensor of finite values (the Task contract)."""
    if not isinstance(t, Tensor):
        raise InvalidInputError(f"{who}: {name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.dtype.is_floating_point:
        raise InvalidInputError(
            f"{who}: {name} has dtype {t.dtype}, but attributions and perturbations need floating-point inputs "
            f"(an integer input rounds every interpolation and attribution); convert it with {name}.float() "
            f"or {name}.double()"
        )
    if t.numel() and not torch.isfinite(t).all():
        raise InvalidInputError(f"{who}: {name} contains NaN or infinite values; clean or impute them first")


def check_batch(task: "Task", x: object, who: str) -> None:
    """The contract of a batch entering ``Method.explain`` or ``Metric.__call__``: a finite
    floating-point tensor ``(N, *F)`` with the task's feature shape (``N = 0`` allowed)."""
    check_floating("x", x, who=who)
    if x.dim() < 1 or tuple(x.shape[1:]) != task.feature_shape:
        raise ShapeError(
            f"{who}: instances have shape {tuple(x.shape)}, {task.name} expects (N, *{task.feature_shape})")


@dataclass(frozen=True)
class GroundTruth:
    """True attributions ``(N, *F) → (N, *F)`` that say whose truth they are.

    Attributes:
        fn: the attributions of a batch of instances.
        whose: ``"process"`` — the data-generating process's (what the synthetic dataset's oracle
            realises exactly; on a trained model it also charges the model's own error), or
            ``"model"`` — the explained model's own exact Shapley values.
        note: one line saying exactly what the values are (shown in docs and records).
    """

    fn: Callable[[Tensor], Tensor]
    whose: str
    note: str

    def __post_init__(self) -> None:
        if self.whose not in TRUTHS:
            raise ValueError(f"GroundTruth.whose must be one of {TRUTHS}, got {self.whose!r}")

    def __call__(self, x: Tensor) -> Tensor:
        return self.fn(x)


TRUTHS = ("process", "model")
"""Whose truth a ground-truth metric scores: the data-generating process's, or the model's own."""


def no_selection(x: Tensor) -> Tensor:
    """Selector for targets that choose no output (reconstruction error, ELBO ...)."""
    return torch.zeros(x.shape[0], dtype=torch.long, device=x.device)


@dataclass(frozen=True, eq=False)
class Task:
    """One explanation problem: what is explained (``f``), on which instances, against what.

    Attributes:
        dataset, model, target: names in the registries.
        f: the scalar being explained, ``f(x, selector) -> (B,)`` (see module docstring).
        inputs: ``(N, *F)`` instances to explain (test data, or latent codes).
        background: ``(M, *F)`` sample of the training distribution.
        baseline: ``(*F)`` the default "absent" value.
        kind: ``"tabular" | "image" | "sequence" | "latent"``.
        label_fn: the model's decision on ``(B, *F)`` inputs → ``(B,)`` long (class, anomaly flag,
            next token); used by label-preserving stability metrics.
        select: ``(N, *F) -> (N,)`` long, the output pinned at the explained instance.
        groups: ``(*F)`` long feature → group id, or ``None`` (every feature its own player).
        representation_fn: hidden representation ``(B, *F) -> (B, H)`` for RRS, if the model has one.
        ground_truth: ``(N, *F) -> (N, *F)`` true attributions (synthetic tasks only); a
            :class:`GroundTruth` says whose truth they are (plain callables are taken as the
            data-generating process's).
        ground_truth_signed: ``False`` when the ground truth is a 0/1 relevance mask (compare |φ|).
        randomized: returns the same task on a weight-randomized model (sanity checks).
        quality: the model's measured quality, e.g. ``{"test_accuracy": 0.97}``.
        feature_names: one name per feature (flattened order), when meaningful.
        meta: provenance (dataset version, weight hash, seed ...), copied into records.
        max_batch: rows per forward pass when evaluating many perturbations; ``0`` (default)
            chooses by device: :data:`GPU_MAX_BATCH` rows on accelerators, and on the CPU
            cache-sized passes of :data:`CPU_BATCH_BYTES` of input per thread (at most
            :data:`GPU_MAX_BATCH` rows; measurements in :data:`CPU_BATCH_BYTES`).
    """

    dataset: str
    model: str
    target: str
    f: TargetFn
    inputs: Tensor
    background: Tensor
    baseline: Tensor
    kind: str
    label_fn: Callable[[Tensor], Tensor]
    select: Callable[[Tensor], Tensor] = no_selection
    groups: Tensor | None = None
    representation_fn: Callable[[Tensor], Tensor] | None = None
    ground_truth: Callable[[Tensor], Tensor] | None = None
    ground_truth_signed: bool = True
    randomized: Callable[[], "Task"] | None = None
    quality: Mapping[str, float] = field(default_factory=dict)
    feature_names: tuple[str, ...] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    max_batch: int = 0

    def __post_init__(self) -> None:
        self._check_contract()
        if self.max_batch <= 0:
            object.__setattr__(self, "max_batch", default_max_batch(self.inputs, self.kind))

    def _check_contract(self) -> None:
        """The Task contract, checked where a task is built (typed errors that say what to do)."""
        who = f"task {self.dataset}/{self.model}/{self.target}"
        if self.kind not in KINDS:
            raise ShapeError(f"{who}: kind must be one of {KINDS}, got {self.kind!r}")
        for name in ("inputs", "background", "baseline"):
            check_floating(name, getattr(self, name), who=who)
        if self.inputs.dim() < 2:
            raise ShapeError(
                f"{who}: inputs must be (N, *F) with at least one feature dimension, got {tuple(self.inputs.shape)}")
        shape = tuple(self.inputs.shape[1:])
        if math.prod(shape) == 0:
            raise ShapeError(f"{who}: instances have no features (feature shape {shape})")
        if tuple(self.background.shape[1:]) != shape:
            raise ShapeError(f"{who}: background rows have shape {tuple(self.background.shape[1:])}, inputs {shape}")
        if self.background.shape[0] == 0:
            raise ShapeError(
                f"{who}: background needs at least one row (pass baseline.unsqueeze(0) if you have no data)")
        if tuple(self.baseline.shape) != shape:
            raise ShapeError(f"{who}: baseline has shape {tuple(self.baseline.shape)}, expected one input row {shape}")
        if self.groups is not None:
            check_groups(self.groups, shape)

    # -- derived properties -----------------------------------------------------------------
    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.model}/{self.target}"

    @property
    def feature_shape(self) -> tuple[int, ...]:
        return tuple(self.inputs.shape[1:])

    @property
    def n_features(self) -> int:
        return math.prod(self.feature_shape)

    @property
    def device(self) -> torch.device:
        return self.inputs.device

    @property
    def dtype(self) -> torch.dtype:
        return self.inputs.dtype

    @cached_property
    def players(self) -> Players:
        """Features, or the task's groups of features, as perturbation units."""
        return Players(self.feature_shape, self.groups, device=self.device)

    @property
    def capabilities(self) -> frozenset[str]:
        """What this task offers; a metric or method ``requires`` a subset of these."""
        caps = {self.kind, "reexplain"}
        if self.ground_truth is not None:
            caps.add("ground_truth")
        if self.randomized is not None:
            caps.add("randomized")
        if self.representation_fn is not None:
            caps.add("representation")
        if self.groups is not None:
            caps.add("groups")
        return frozenset(caps)

    # -- evaluation -------------------------------------------------------------------------
    @property
    def truth_whose(self) -> str | None:
        """Whose truth ``ground_truth`` is (``"process"`` unless a :class:`GroundTruth` says otherwise)."""
        if self.ground_truth is None:
            return None
        return getattr(self.ground_truth, "whose", "process")

    def bind(self, x: Tensor) -> "BoundTarget":
        """``f`` pinned to the outputs selected at the instances ``x``."""
        return BoundTarget(self, x)

    def with_inputs(self, inputs: Tensor) -> "Task":
        return dataclasses.replace(self, inputs=inputs)

    def to(self, device: torch.device | str) -> "Task":
        """Move the task's tensors (not its model: build the task on the device instead)."""
        move = {k: getattr(self, k).to(device) for k in ("inputs", "background", "baseline")}
        if self.groups is not None:
            move["groups"] = self.groups.to(device)
        return dataclasses.replace(self, **move, max_batch=0)


class BoundTarget:
    """``f`` evaluated on instances ``x`` and on perturbations of them, with pinned selectors.

    ``bound(z)`` accepts ``z`` of shape ``(N, *F)`` → ``(N,)`` or ``(N, K, *F)`` → ``(N, K)``,
    where row ``n`` (and ``z[n, k]``) is scored with the selector chosen at ``x[n]``.
    """

    def __init__(self, task: Task, x: Tensor):
        if tuple(x.shape[1:]) != task.feature_shape:
            raise ShapeError(
                f"{task.name}: instances have shape {tuple(x.shape[1:])}, the task expects {task.feature_shape}"
            )
        self.task = task
        self.x = x
        with torch.no_grad():
            self.selector = task.select(x).long()

    @property
    def n(self) -> int:
        return self.x.shape[0]

    def rows(self, index: slice | Tensor) -> "BoundTarget":
        """The same target restricted to instances ``x[index]``, keeping their pinned selectors."""
        sub = object.__new__(BoundTarget)
        sub.task, sub.x, sub.selector = self.task, self.x[index], self.selector[index]
        return sub

    def _flatten(self, z: Tensor) -> tuple[Tensor, Tensor, tuple[int, ...]]:
        nf = len(self.task.feature_shape)
        if tuple(z.shape[z.dim() - nf :]) != self.task.feature_shape or z.shape[0] != self.n or z.dim() not in (nf + 1, nf + 2):
            raise ShapeError(
                f"expected perturbations of shape ({self.n}, *F) or ({self.n}, K, *F) with F={self.task.feature_shape}, "
                f"got {tuple(z.shape)}"
            )
        lead = tuple(z.shape[: z.dim() - nf])
        k = lead[1] if len(lead) == 2 else 1
        return z.reshape(-1, *self.task.feature_shape), self.selector.repeat_interleave(k), lead

    def __call__(self, z: Tensor) -> Tensor:
        """``f`` on every row of ``z``, in chunks of at most ``max_batch`` rows (halved on out-of-memory:
        :func:`xaibench.chunking.map_chunks`)."""
        flat, sel, lead = self._flatten(z)
        out = map_chunks(lambda i, j: self.task.f(flat[i:j], sel[i:j]), flat.shape[0], self.task,
                         pass_key(self.task, "forward", flat))
        return torch.cat(out).reshape(lead)

    def value_and_grad(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """``f`` and ``∂f/∂z`` for every row of ``z``, chunked as :meth:`__call__`; no graph is kept."""
        flat, sel, lead = self._flatten(z)

        def chunk_pass(i: int, j: int) -> tuple[Tensor, Tensor]:
            with torch.enable_grad():
                chunk = flat[i:j].detach().requires_grad_(True)
                y = self.task.f(chunk, sel[i:j])
                if not y.requires_grad:
                    raise TypeError(f"{self.task.name}: the target is not differentiable; use a perturbation method")
                (g,) = torch.autograd.grad(y.sum(), chunk, allow_unused=True)
                g = torch.zeros_like(chunk) if g is None else g
            return y.detach(), g

        values, grads = zip(*map_chunks(chunk_pass, flat.shape[0], self.task, pass_key(self.task, "backward", flat)))
        return torch.cat(values).reshape(lead), torch.cat(grads).reshape(z.shape)
