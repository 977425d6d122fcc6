"""Test-only plugins for the harness, registered by the ``toys`` fixture through the public
decorators (exactly as a third-party package would) and removed again afterwards, so other test
modules never see them.

The toy task explains ``f(x) = ⟨w, x⟩`` (a linear model whose weights are set, not trained) on a
tabular dataset whose oracle is the same linear function, so every expected value is known:
``toy_exact`` returns the exact attributions ``w ⊙ (x − b)`` and scores 0 on ``toy_gt_error``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from xaibench.dataset import Dataset, Oracle, register_dataset
from xaibench.errors import ModelError
from xaibench.method import Method, register_method
from xaibench.metric import Metric, MetricOutput, register_metric
from xaibench.model import ModelSpec, TargetSpec, register_model
from xaibench.registries import datasets, methods, metrics, models
from xaibench.rng import instance_normal

W = torch.tensor([2.0, -1.0, 0.5, 0.0, 1.5, -0.5])
N_TEST = 10


def load_toy_linear(data_dir: Path) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x_train, x_test = torch.randn(64, 6, generator=g), torch.randn(N_TEST, 6, generator=g)
    oracle = Oracle(score=lambda x: x @ W, attributions=lambda x, b: W * (x - b))
    return Dataset(name="toy_linear", version="1.0", kind="tabular", x_train=x_train, y_train=(x_train @ W > 0).long(),
                   x_test=x_test, y_test=(x_test @ W > 0).long(), n_classes=2,
                   feature_names=tuple(f"f{i}" for i in range(6)), baseline=torch.zeros(6), oracle=oracle)


class ToyLinearModel(ModelSpec):
    name: ClassVar[str] = "toy_linear_model"
    description: ClassVar[str] = "test-only linear model with set weights"
    kinds: ClassVar[frozenset[str]] = frozenset({"tabular"})
    targets: ClassVar[dict[str, str]] = {"value": "w·x", "broken": "a target that fails to build"}

    def build(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        torch.manual_seed(seed)
        return nn.Linear(dataset.feature_shape[0], 1, bias=False)

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        module = self.build(dataset, seed)
        with torch.no_grad():
            module.weight.copy_(W[None, :])
        return module

    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        pred = (module(dataset.x_test).squeeze(1) > 0).long()
        return {"test_accuracy": float((pred == dataset.y_test).float().mean())}

    def target(self, name: str, module: nn.Module, dataset: Dataset) -> TargetSpec:
        if name == "broken":
            raise ModelError("the broken toy target cannot be built")
        return TargetSpec(f=lambda x, s: module(x).squeeze(1), label_fn=lambda x: (module(x).squeeze(1) > 0).long(),
                          ground_truth=lambda x: dataset.oracle.attributions(x, dataset.baseline))


class ToyImageModel(ToyLinearModel):
    name: ClassVar[str] = "toy_image_model"
    kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    targets: ClassVar[dict[str, str]] = {"value": "w·x"}


@dataclasses.dataclass(frozen=True)
class ToyExact(Method):
    """Gradient × (x − b): exact for the linear toy."""

    name: ClassVar[str] = "toy_exact"
    family: ClassVar[str] = "gradient"
    description: ClassVar[str] = "test-only exact linear attribution"

    def explain(self, task, x, *, seed=0):
        _, grad = task.bind(x).value_and_grad(x)
        return grad * (x - task.baseline)


@dataclasses.dataclass(frozen=True)
class ToyNoisy(Method):
    """Exact attributions plus seeded noise private to each instance."""

    name: ClassVar[str] = "toy_noisy"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "test-only stochastic method"
    stochastic: ClassVar[bool] = True
    scale: float = 0.5

    def explain(self, task, x, *, seed=0):
        return ToyExact().explain(task, x) + self.scale * instance_normal(x, seed, task.feature_shape)


@dataclasses.dataclass(frozen=True)
class ToyNaN(Method):
    name: ClassVar[str] = "toy_nan"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "test-only method returning NaN"

    def explain(self, task, x, *, seed=0):
        return torch.full_like(x, float("nan"))


@dataclasses.dataclass(frozen=True)
class ToyBoom(Method):
    name: ClassVar[str] = "toy_boom"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "test-only method that raises"

    def explain(self, task, x, *, seed=0):
        raise RuntimeError("boom")


@dataclasses.dataclass(frozen=True)
class ToyImagesOnly(Method):
    name: ClassVar[str] = "toy_images_only"
    family: ClassVar[str] = "control"
    description: ClassVar[str] = "test-only method requiring image tasks"
    requires: ClassVar[frozenset[str]] = frozenset({"image"})

    def explain(self, task, x, *, seed=0):
        return x


@dataclasses.dataclass(frozen=True)
class ToyGtError(Metric):
    """Mean absolute error between φ and the ground truth (0 for exact attributions); lower is better."""

    name: ClassVar[str] = "toy_gt_error"
    category: ClassVar[str] = "ground_truth"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "test-only"
    requires: ClassVar[frozenset[str]] = frozenset({"ground_truth"})

    def __call__(self, task, x, attributions, method, *, seed=0):
        return (attributions - task.ground_truth(x)).abs().reshape(len(x), -1).mean(1)


@dataclasses.dataclass(frozen=True)
class ToyCompleteness(Metric):
    """−|Σφ − (f(x) − f(b))| plus global-RNG noise of size ``noise`` (tests the runner's seeding)."""

    name: ClassVar[str] = "toy_completeness"
    category: ClassVar[str] = "faithfulness"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "test-only"
    noise: float = 0.0

    def evaluate(self, task, x, attributions, method, *, seed=0):
        bound = task.bind(x)
        gap = attributions.reshape(len(x), -1).sum(1) - (bound(x) - bound(task.baseline.expand_as(x)))
        return MetricOutput(-gap.abs() + self.noise * torch.rand(len(x)), {"answer": 42.0})

    def __call__(self, task, x, attributions, method, *, seed=0):
        return self.evaluate(task, x, attributions, method, seed=seed).values


@dataclasses.dataclass(frozen=True)
class ToyRaising(Metric):
    name: ClassVar[str] = "toy_raising"
    category: ClassVar[str] = "stability"
    higher_is_better: ClassVar[bool] = False
    description: ClassVar[str] = "test-only metric that raises"

    def __call__(self, task, x, attributions, method, *, seed=0):
        raise ValueError("metric exploded")


INTERRUPT = {"at": None, "calls": 0}
"""``toy_interrupt`` raises KeyboardInterrupt on its ``at``-th call (counting from 1) when set."""


@dataclasses.dataclass(frozen=True)
class ToyInterrupt(Metric):
    name: ClassVar[str] = "toy_interrupt"
    category: ClassVar[str] = "stability"
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "test-only metric simulating Ctrl-C"

    def __call__(self, task, x, attributions, method, *, seed=0):
        INTERRUPT["calls"] += 1
        if INTERRUPT["at"] is not None and INTERRUPT["calls"] >= INTERRUPT["at"]:
            raise KeyboardInterrupt
        return attributions.reshape(len(x), -1).abs().sum(1)


METHODS = (ToyExact, ToyNoisy, ToyNaN, ToyBoom, ToyImagesOnly)
METRICS = (ToyGtError, ToyCompleteness, ToyRaising, ToyInterrupt)
MODELS = (ToyLinearModel, ToyImageModel)


def register_all() -> None:
    register_dataset("toy_linear", kind="tabular", description="test-only linear data")(load_toy_linear)
    for cls in METHODS:
        register_method(cls)
    for cls in METRICS:
        register_metric(cls)
    for cls in MODELS:
        register_model(cls)


def unregister_all() -> None:
    """Remove the toys from the registries."""
    names = [(datasets, "toy_linear")] + [(methods, c.name) for c in METHODS] + [(metrics, c.name) for c in METRICS]
    names += [(models, c.name) for c in MODELS]
    for registry, name in names:
        registry.remove(name)


TOY_SUITE = """
name = "toy"
version = "3"
description = "harness test suite"
seeds = [0, 1]
n_instances = 4
n_background = 8

methods = ["toy_exact", { name = "toy_noisy", params = { scale = 0.25 } }, "toy_nan", "toy_boom", "toy_images_only"]
metrics = ["toy_gt_error", { name = "toy_completeness", params = { noise = 0.1 }, label = "completeness" }, "toy_raising"]

[[tasks]]
dataset = "toy_linear"
models = ["toy_linear_model", "toy_image_model"]
target = "value"
"""
