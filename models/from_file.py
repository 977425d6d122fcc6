"""``path/to/file.py:factory``: a user's own trained classifier as a model, named in a suite.

A suite names ``model = "path/to/file.py:factory"`` beside any registered dataset (the path is
relative to the current directory, or absolute). The file is imported like a plugin — it is the
user's own code, run in-process — and ``factory(dataset)`` must return the **trained**
``nn.Module`` mapping the dataset's inputs ``(B, *F)`` to class logits ``(B, n_classes)``.

The model offers the zoo classifiers' targets ``logit`` (log-odds of the predicted class) and
``prob`` (:mod:`xaibench.targets`), with ground truth on synthetic datasets like any zoo
classifier (:func:`._targets.class_target`); its quality is the test accuracy and its weight
hash the SHA-256 of its parameters. Nothing is cached: the factory runs once per process and
dataset. The weight-randomized copy (sanity checks) re-draws every parameter with the layers'
own ``reset_parameters`` (:func:`xaibench.byom.reinitialised`). Bad files, factories and modules
raise :class:`~xaibench.errors.ModelError` saying what to fix.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from xaibench.byom import check_logits, reinitialised
from xaibench.dataset import Dataset
from xaibench.errors import ModelError, ShapeError
from xaibench.model import ModelSpec, TargetSpec
from xaibench.registries import models

from ._targets import CLASS_TARGETS, class_target


class ModuleModel(ModelSpec):
    """A user's trained classifier: ``factory(dataset) -> nn.Module`` (class logits); see the module docstring."""

    kinds = frozenset({"tabular", "image", "sequence"})
    targets = CLASS_TARGETS
    cache_weights = False
    factory: ClassVar[Callable[[Dataset], nn.Module]]
    _trained: ClassVar[dict[tuple[str, str], nn.Module]]

    def supports(self, dataset: Dataset) -> bool:
        return dataset.kind in self.kinds and dataset.n_classes >= 2

    def _module(self, dataset: Dataset) -> nn.Module:
        key = (dataset.name, dataset.version)
        if key not in self._trained:
            module = self.factory(dataset)
            if not isinstance(module, nn.Module):
                raise ModelError(f"model {self.name!r}: the factory returned {type(module).__name__}, "
                                 "expected the trained torch.nn.Module")
            try:
                check_logits(module.cpu().eval(), dataset.x_test[:2].float(), dataset.n_classes)
            except ShapeError as exc:
                raise ModelError(f"model {self.name!r} on {dataset.name}: {exc}") from exc
            self._trained[key] = module
        return self._trained[key]

    def build(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        return reinitialised(self._module(dataset), seed)

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        return copy.deepcopy(self._module(dataset))

    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        device = next((p.device for p in module.parameters()), torch.device("cpu"))
        predicted = torch.cat([module(x.to(device)).argmax(1).cpu() for x in dataset.x_test.float().split(1024)])
        return {"test_accuracy": float((predicted == dataset.y_test).double().mean())}

    def target(self, name: str, module: nn.Module, dataset: Dataset) -> TargetSpec:
        return class_target(name, module, dataset)


def user_model_spec(name: str) -> type[ModelSpec]:
    """The model spec class of ``"path/to/file.py:factory"`` (the models registry resolves such names here)."""
    path_text, _, attribute = name.rpartition(":")
    factory = _load_attribute(name, Path(path_text).expanduser(), attribute)
    return type(f"ModuleModel[{name}]", (ModuleModel,), {
        "name": name, "factory": staticmethod(factory), "_trained": {},
        "description": f"your model: {attribute}(dataset) from {path_text}",
    })


def _load_attribute(name: str, path: Path, attribute: str) -> Callable:
    resolved = path if path.is_absolute() else Path(os.getcwd()) / path
    if not resolved.is_file():
        raise ModelError(f"model {name!r}: no file {resolved} (a relative path is taken from the current directory; "
                         "give an absolute path if the suite runs elsewhere)")
    module_name = f"xaibench_user_{hashlib.sha256(str(resolved.resolve()).encode()).hexdigest()[:12]}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, resolved)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise ModelError(f"model {name!r}: importing {resolved} failed: {type(exc).__name__}: {exc}") from exc
    module = sys.modules[module_name]
    factory = getattr(module, attribute, None)
    if not callable(factory):
        found = sorted(n for n, v in vars(module).items()
                       if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module_name)
        raise ModelError(f"model {name!r}: {resolved} has no function {attribute!r}; its functions: "
                         f"{', '.join(found) or '(none)'}. Name a factory(dataset) -> torch.nn.Module")
    if len(inspect.signature(factory).parameters) < 1:
        raise ModelError(f"model {name!r}: {attribute} must take the dataset: def {attribute}(dataset) -> nn.Module")
    return factory


def names_user_file(name: str) -> bool:
    """``path/to/file.py:factory`` names a user's model factory."""
    path, sep, attribute = name.rpartition(":")
    return bool(sep) and path.endswith(".py") and attribute.isidentifier()


models.add_resolver(names_user_file, user_model_spec)
