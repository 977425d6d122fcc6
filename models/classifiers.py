"""Classifiers: ``logreg`` and ``mlp`` (tabular data, or images flattened), ``cnn`` (images).
Targets ``logit`` and ``prob``.

Targets (see :mod:`._targets` for why ``logit`` is the log-odds of the predicted class):

* ``logit``: ``z_c(x) − logsumexp_{j≠c} z_j(x)``, ``c`` the class predicted at the explained instance;
* ``prob``: ``softmax(z(x))_c``.

Decision ``label_fn``: the argmax class. Representation: the penultimate layer (``mlp``, ``cnn``;
``logreg`` has none). Ground truth on synthetic data: the oracle's attributions oriented to ``c``.

Recipes (deterministic, CPU, seconds each), all with cross-entropy loss:

* ``logreg``: ``z = W x + b``, L2 penalty ``½ λ ‖W‖²`` with ``λ = 1e-3`` added to the mean loss,
  full-batch L-BFGS (strong-Wolfe line search, at most 500 iterations): a convex problem solved
  to its unique optimum, so the weights hardly depend on the seed.
* ``mlp``: ``d → 64 → 64 → K``, ReLU; AdamW (lr 1e-3, weight decay 1e-2), 3,000 steps of 128 rows
  (about 13 epochs of adult, 850 of breast_cancer).
* ``cnn``: conv 3×3 (16) → ReLU → max-pool 2 → conv 3×3 (32) → ReLU → max-pool 2 → linear 64
  → ReLU → linear K; AdamW (lr 1e-3), 700 steps of 64 rows (about 11 epochs of mnist_5k).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xaibench.dataset import Dataset
from xaibench.model import TargetSpec, register_model

from ._nets import mlp, seeded
from ._quality import accuracy
from ._spec import ZooModel
from ._targets import CLASS_TARGETS, class_target
from ._train import Schedule, chunked, train


class ClassifierNet(nn.Module):
    """``logits = head(features(x))``; ``features`` is the penultimate representation."""

    def __init__(self, features: nn.Module, head: nn.Linear, has_representation: bool = True):
        super().__init__()
        self.features = features
        self.head = head
        self.has_representation = has_representation

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class Classifier(ZooModel):
    """Shared recipe of the zoo's classifiers (subclasses give the architecture and schedule)."""

    targets = CLASS_TARGETS
    schedule: ClassVar[Schedule]

    def supports(self, dataset: Dataset) -> bool:
        return dataset.kind in self.kinds and dataset.n_classes >= 2

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        net = self.build(dataset, seed)
        x, y = dataset.x_train, dataset.y_train
        return train(net, lambda idx, _g: F.cross_entropy(net(x[idx]), y[idx]), len(x), self.schedule, seed)

    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        predicted = chunked(module, dataset.x_test).argmax(1)
        return {"test_accuracy": accuracy(predicted, dataset.y_test)}

    def target(self, name: str, module: nn.Module, dataset: Dataset) -> TargetSpec:
        representation = module.features if module.has_representation else None
        return class_target(name, module, dataset, representation)


@register_model
class LogisticRegression(Classifier):
    name = "logreg"
    description = "multinomial logistic regression (L2, L-BFGS); targets logit (log-odds), prob"
    kinds = frozenset({"tabular", "image"})
    l2 = 1e-3

    def architecture(self, dataset: Dataset) -> nn.Module:
        d = math.prod(dataset.feature_shape)
        return ClassifierNet(nn.Flatten(), nn.Linear(d, dataset.n_classes), has_representation=False)

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        net = self.build(dataset, seed)
        x, y = dataset.x_train, dataset.y_train
        optimiser = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=500, tolerance_grad=1e-9,
                                      tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

        def closure() -> Tensor:
            optimiser.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x), y) + 0.5 * self.l2 * net.head.weight.square().sum()
            loss.backward()
            return loss

        with seeded(seed):
            optimiser.step(closure)
        return net.eval()


@register_model
class MLPClassifier(Classifier):
    name = "mlp"
    description = "MLP d-64-64-K (ReLU, AdamW; images flattened); targets logit (log-odds), prob"
    kinds = frozenset({"tabular", "image"})
    hidden = 64
    schedule = Schedule(steps=3000, batch_size=128, lr=1e-3, weight_decay=1e-2)

    def architecture(self, dataset: Dataset) -> nn.Module:
        d = math.prod(dataset.feature_shape)
        features = nn.Sequential(nn.Flatten(), mlp([d, self.hidden, self.hidden]), nn.ReLU())
        return ClassifierNet(features, nn.Linear(self.hidden, dataset.n_classes))


@register_model
class ConvClassifier(Classifier):
    name = "cnn"
    description = "small CNN (2 conv + max-pool, 64 hidden units); targets logit (log-odds), prob"
    kinds = frozenset({"image"})
    channels = (16, 32)
    hidden = 64
    schedule = Schedule(steps=700, batch_size=64, lr=1e-3)

    def architecture(self, dataset: Dataset) -> nn.Module:
        c, h, w = dataset.feature_shape
        c1, c2 = self.channels
        features = nn.Sequential(
            nn.Conv2d(c, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(c2 * (h // 4) * (w // 4), self.hidden), nn.ReLU(),
        )
        return ClassifierNet(features, nn.Linear(self.hidden, dataset.n_classes))
