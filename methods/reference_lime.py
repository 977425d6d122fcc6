"""``lime_ref``: the lime package itself (0.2.0.1), wrapped as a method, for validation and the speed table.

Same hyper-parameters as :class:`~xaibench.methods.lime.Lime` (it subclasses it) and the same
conventions, handed to lime explicitly:

* tabular mode: ``LimeTabularExplainer(task.background, mode="regression",
  discretize_continuous=discretizer != "none", discretizer=..., kernel_width=..., sample_around_instance=...)``,
  ``explain_instance(x, f, num_features=d or k, num_samples=n_samples)``;
* segments mode: ``LimeImageExplainer(kernel_width=...)`` on the instance laid out as a ``(F, 1, 1)``
  "image" whose segmentation is the task's groups (lime_image only indexes pixels through the
  segment mask, so any grouping of any feature shape works this way), ``hide_color`` = the task
  baseline, cosine distance, ``num_samples=n_samples``, ``batch_size=n_samples``.

Feature selection: ``"none"`` when every feature is kept (lime's ``"auto"`` with ``num_features``
≥ the number of features keeps them all too, after a wasted fit), ``"highest_weights"`` for
``num_features=k``. ``f`` is the task's scalar with the output selector pinned at the instance
(lime's regression mode; coefficients read from ``local_exp[1]``).

Reproducibility: a fresh explainer seeded with ``seed`` per instance, so an instance's result does
not depend on its batch-mates (lime's own ``RandomState`` would otherwise run on across instances).
Slow by design: one instance at a time on the CPU, through NumPy, exactly as lime users run it.
lime_image's per-sample progress bar is silenced for the duration of the call.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar
from unittest import mock

import numpy as np
import torch
from torch import Tensor

from xaibench.method import register_method
from xaibench.methods.lime import Lime
from xaibench.task import Task


@register_method
@dataclass(frozen=True)
class LimeRef(Lime):
    """The lime package with :class:`Lime`'s conventions, one instance at a time (reference)."""

    name: ClassVar[str] = "lime_ref"
    family: ClassVar[str] = "reference"
    description: ClassVar[str] = "the lime package (LimeTabularExplainer / LimeImageExplainer over the task's groups), per instance"

    def explain(self, task: Task, x: Tensor, *, seed: int = 0) -> Tensor:
        self.check(task)
        bound = task.bind(x)
        explain_one = self._tabular if self.resolved_mode(task) == "tabular" else self._segments
        rows = []
        for n in range(bound.n):
            selector = bound.selector[n : n + 1]

            def predict(batch: np.ndarray, selector=selector) -> np.ndarray:
                points = torch.as_tensor(batch, dtype=task.dtype, device=task.device).reshape(-1, *task.feature_shape)
                with torch.no_grad():
                    values = task.f(points, selector.expand(points.shape[0]))
                return values.double().cpu().numpy()

            rows.append(explain_one(task, x[n], predict, seed))
        coef = torch.as_tensor(np.stack(rows), dtype=x.dtype, device=x.device)
        return coef.reshape(x.shape) if self.resolved_mode(task) == "tabular" else task.players.spread(coef)

    def _feature_selection(self, n_players: int) -> tuple[str, int]:
        if self.num_features is None or self.num_features >= n_players:
            return "none", n_players
        return "highest_weights", self.num_features

    def _tabular(self, task: Task, row: Tensor, predict, seed: int) -> np.ndarray:
        from lime.lime_tabular import LimeTabularExplainer  # noqa: PLC0415 - heavy, imported on use

        selection, k = self._feature_selection(task.n_features)
        explainer = LimeTabularExplainer(
            task.background.reshape(task.background.shape[0], -1).double().cpu().numpy(),
            mode="regression",
            discretize_continuous=self.discretizer != "none",
            discretizer=self.discretizer if self.discretizer != "none" else "quartile",
            kernel_width=self.resolved_kernel_width(task),
            feature_selection=selection,
            sample_around_instance=self.sample_around_instance,
            random_state=seed,
        )
        values = row.reshape(-1).double().cpu().numpy()
        explanation = explainer.explain_instance(values, predict, num_features=k, num_samples=self.n_samples)
        return _coefficients(explanation.local_exp[1], task.n_features)

    def _segments(self, task: Task, row: Tensor, predict, seed: int) -> np.ndarray:
        from lime import lime_image  # noqa: PLC0415 - heavy, imported on use

        players = task.players
        selection, k = self._feature_selection(players.n)
        segments = players.index.reshape(-1, 1).cpu().numpy()
        as_image = lambda t: t.reshape(-1, 1, 1).double().cpu().numpy()  # noqa: E731 - (F, 1, 1) "image"
        explainer = lime_image.LimeImageExplainer(
            kernel_width=self.resolved_kernel_width(task), feature_selection=selection, random_state=seed
        )
        with _quiet(lime_image):
            explanation = explainer.explain_instance(
                as_image(row), lambda images: predict(images)[:, None], labels=(0,), hide_color=as_image(task.baseline),
                top_labels=None, num_features=k, num_samples=self.n_samples, batch_size=self.n_samples,
                segmentation_fn=lambda _image: segments, random_seed=seed,
            )
        return _coefficients(explanation.local_exp[0], players.n)


def _coefficients(pairs: list[tuple[int, float]], n: int) -> np.ndarray:
    """lime's ``[(index, weight), ...]`` (unlisted indices were not selected) → a dense vector."""
    out = np.zeros(n)
    for index, weight in pairs:
        out[int(index)] = weight
    return out


@contextmanager
def _quiet(module):
    """Replace ``module.tqdm`` by a pass-through for the duration (lime_image prints a bar per call)."""
    with mock.patch.object(module, "tqdm", lambda iterable, *args, **kwargs: iterable):
        yield
