"""Bring your own model: explain and score a user's trained network without writing a plugin.

Two ways in:

* **Python API.** :func:`task_from_module` wraps an ``nn.Module`` and the user's tensors into a
  :class:`~xaibench.task.Task` (the class targets of the zoo's classifiers, or any scalar);
  :func:`evaluate` runs methods × metrics on it and returns records in the run schema, which
  :func:`xaibench.leaderboard` renders::

      task = xaibench.task_from_module(net, x_test[:64], background=x_train[:200], target="logit")
      records = xaibench.evaluate(task, methods=["saliency", "integrated_gradients", "kernel_shap"],
                                  metrics=["deletion_auc", "local_fidelity"])
      print(xaibench.leaderboard(records))

* **Suites.** A suite names ``model = "path/to/file.py:factory"`` beside any registered dataset;
  :mod:`xaibench.models.from_file` resolves such names.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from .errors import InvalidParameterError, ModelError, ShapeError
from .targets import CLASS_TARGETS, class_score
from .task import KINDS, Task
from .testing import task_from_function
from .weights import parameters_sha256

if TYPE_CHECKING:
    import pandas as pd

    from .method import Method
    from .metric import Metric

RANDOMIZED_SEED = 10_007  # as xaibench.tasks: initialisation seed of the weight-randomized copy
DIMS_TO_KIND = {2: "tabular", 3: "sequence", 4: "image"}


# -- the Python API -----------------------------------------------------------------------------
def task_from_module(
    module: nn.Module,
    inputs: Tensor,
    *,
    background: Tensor | None = None,
    target: str | Callable[[nn.Module, Tensor], Tensor] = "logit",
    kind: str | None = None,
    groups: Tensor | None = None,
    baseline: Tensor | None = None,
    labels: Tensor | None = None,
    label_fn: Callable[[Tensor], Tensor] | None = None,
    representation: Callable[[Tensor], Tensor] | None = None,
    name: str = "my_data",
) -> Task:
    """A task explaining ``module`` on ``inputs``.

    Args:
        module: the trained network, on ``inputs``' device; put in eval mode (nothing else is changed).
        inputs: ``(N, *F)`` float instances to explain.
        background: ``(M, *F)`` sample of the training data (expected gradients, SHAP, distillation
            fidelity); default: ``inputs``.
        target: ``"logit"`` (log-odds of the predicted class) or ``"prob"`` (its probability) for a
            classifier whose output is ``(B, K)`` logits, ``K ≥ 2``, the class pinned at each explained
            instance; or a callable ``target(module, x) -> (B,)`` for any other scalar.
        kind: ``"tabular" | "image" | "sequence" | "latent"``; default from ``inputs.dim()``
            (2: tabular, 3: sequence, 4: image).
        groups: ``(*F)`` long feature → player ids (patches, one-hot blocks, positions), or ``None``.
        baseline: ``(*F)`` the "absent" input; default: the background mean for tabular data, zeros otherwise.
        labels: ``(N,)`` true classes of ``inputs``; gives ``task.quality = {"accuracy": ...}``
            (class targets only).
        label_fn: the model's decision ``(B, *F) -> (B,)`` long; default: the predicted class for
            class targets, ``target > 0`` for a callable.
        representation: a hidden representation ``(B, *F) -> (B, H)`` (for ``rrs``), if any.
        name: the dataset name shown in records and the leaderboard.

    Returns a :class:`~xaibench.task.Task` with ``randomized`` (the same module with re-drawn
    weights, for the ``randomization`` sanity check) and provenance in ``task.meta`` (SHA-256 of
    the parameters and of the inputs).

    Raises:
        ShapeError: inputs of an unknown kind, or a classifier output that is not ``(B, K)``.
        InvalidParameterError: an unknown target name.
    """
    if not isinstance(module, nn.Module):
        raise InvalidParameterError(f"task_from_module needs a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(inputs, Tensor) or not inputs.is_floating_point() or inputs.dim() < 2 or len(inputs) == 0:
        raise ShapeError("inputs must be a floating-point tensor (N, *F) with at least one instance")
    kind = kind or DIMS_TO_KIND.get(inputs.dim())
    if kind not in KINDS:
        raise ShapeError(f"cannot tell the kind of {inputs.dim()}-D inputs; pass kind= one of {KINDS}")
    module.eval()
    background = inputs if background is None else background
    if baseline is None:
        baseline = background.mean(0) if kind == "tabular" else torch.zeros_like(inputs[0])
    f, select, decision = _scalar(module, target, inputs)
    quality = {}
    if labels is not None and isinstance(target, str):
        with torch.no_grad():
            quality["accuracy"] = float((decision(inputs) == labels.to(inputs.device)).double().mean())

    def randomized() -> Task:
        return dataclasses.replace(task_from_module(
            reinitialised(module, RANDOMIZED_SEED), inputs, background=background, target=target, kind=kind,
            groups=groups, baseline=baseline, label_fn=label_fn, representation=None, name=name,
        ), randomized=None, meta={**task.meta, "randomized": True})

    task = task_from_function(
        lambda x: f(x, select(x)), inputs, baseline=baseline, background=background, kind=kind, groups=groups,
        label_fn=label_fn or decision, representation_fn=representation, randomized=randomized, name=name,
    )
    task = dataclasses.replace(
        task, model=type(module).__name__, target=target if isinstance(target, str) else _callable_name(target),
        f=f, select=select, quality=quality,
        meta={"dataset_version": _tensor_sha256(inputs)[:12], "weights_sha256": parameters_sha256(module),
              "weights_source": "external"},
    )
    return task


def _scalar(module: nn.Module, target, inputs: Tensor):
    """``(f(x, s), select, decision)`` of a class target name or a callable ``target(module, x)``."""
    if callable(target):
        def value(x: Tensor) -> Tensor:
            return target(module, x)

        with torch.no_grad():
            out = value(inputs[:1])
        if not isinstance(out, Tensor) or out.shape != (1,):
            raise ShapeError(f"target(module, x) must return one value per row, shape (B,); got "
                             f"{tuple(getattr(out, 'shape', ())) or type(out).__name__} for one row")
        return (lambda x, _s: value(x)), _no_selection, (lambda x: (value(x) > 0).long())
    if target not in CLASS_TARGETS:
        raise InvalidParameterError(f"target {target!r}: expected one of {sorted(CLASS_TARGETS)} or a callable "
                                    "target(module, x) -> (B,)")
    check_logits(module, inputs[:2])

    def predicted(x: Tensor) -> Tensor:
        return module(x).argmax(1)

    return class_score(target, module), predicted, predicted


def _no_selection(x: Tensor) -> Tensor:
    return torch.zeros(len(x), dtype=torch.long, device=x.device)


def check_logits(module: nn.Module, x: Tensor, n_classes: int | None = None) -> None:
    """Raise :class:`ShapeError` unless ``module(x)`` is ``(B, K)`` class logits (``K = n_classes`` if given)."""
    with torch.no_grad():
        out = module(x)
    if not isinstance(out, Tensor) or out.dim() != 2 or out.shape[0] != len(x) or out.shape[1] < 2:
        raise ShapeError(f"{type(module).__name__} must map inputs (B, *F) to class logits (B, K) with K >= 2; "
                         f"it returned {tuple(getattr(out, 'shape', ())) or type(out).__name__}. For another "
                         "output, pass target=callable(module, x) -> (B,)")
    if n_classes is not None and out.shape[1] != n_classes:
        raise ShapeError(f"{type(module).__name__} returns {out.shape[1]} logits; the dataset has {n_classes} classes")


def _callable_name(fn: Callable) -> str:
    return getattr(fn, "__name__", "custom").replace("<lambda>", "custom")


def _tensor_sha256(x: Tensor) -> str:
    data = x.detach().cpu().contiguous()
    return hashlib.sha256(data.reshape(-1).view(torch.uint8).numpy().data).hexdigest()


def reinitialised(module: nn.Module, seed: int) -> nn.Module:
    """A deep copy of ``module`` whose layers re-drew their parameters (``reset_parameters``) from ``seed``.

    Raises :class:`ModelError` if no layer can reset itself (nothing would be randomized).
    """
    clone = copy.deepcopy(module)
    layers = [m for m in clone.modules() if callable(getattr(m, "reset_parameters", None))]
    if not layers:
        raise ModelError(f"{type(module).__name__} has no layer with reset_parameters(); cannot randomize its weights")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with torch.no_grad():
            for layer in layers:
                layer.reset_parameters()
    return clone.eval()


def evaluate(
    task: Task,
    methods: Sequence[str | "Method"],
    metrics: Sequence[str | "Metric"],
    *,
    seeds: Sequence[int] = (0,),
    progress: bool = False,
) -> "pd.DataFrame":
    """Explain ``task`` with every method and seed and score every metric: records as a DataFrame.

    The records have the run schema (``xaibench.run``'s), with ``suite = "evaluate"``; each
    (method, seed) is explained once, timed, and fed to every metric, exactly as a suite cell.
    Methods and metrics are registry names (default parameters) or instances
    (``xaibench.get_method("lime", n_samples=500)``). Cost columns are added.
    """
    import pandas as pd  # noqa: PLC0415

    from . import __version__  # noqa: PLC0415
    from .backends.cell import Cell, RunContext, execute_loaded_cell  # noqa: PLC0415
    from .method import Method, get_method  # noqa: PLC0415
    from .metric import get_metric  # noqa: PLC0415
    from .metrics.cost import COST_METRICS  # noqa: PLC0415
    from .store import versions  # noqa: PLC0415
    from .suite import MethodEntry, MetricEntry, TaskRef  # noqa: PLC0415

    method_objs = [get_method(m) if isinstance(m, str) else m for m in methods]
    metric_objs = [get_metric(m) if isinstance(m, str) else m for m in metrics]
    if not method_objs or not all(isinstance(m, Method) for m in method_objs):
        raise InvalidParameterError("methods: give at least one method name or Method instance")
    metric_objs += [cls() for cls in COST_METRICS if cls not in {type(m) for m in metric_objs}]
    metric_entries = tuple(MetricEntry(getattr(m, "label", m.name), m) for m in metric_objs)
    context = RunContext(suite="evaluate", suite_version=__version__, n_instances=len(task.inputs),
                         n_background=len(task.background), model_seed=0, device=str(task.device),
                         versions=versions(), warmup=True)
    ref = TaskRef(task.dataset, task.model, task.target)
    records = []
    for method in method_objs:
        for seed in seeds:
            cell = Cell(ref, MethodEntry(method.name, method), metric_entries, int(seed), context)
            records += list(execute_loaded_cell(cell, task))
            if progress:
                print(f"{task.name} × {method.name} × seed {seed}: done", file=sys.stderr)
    return pd.DataFrame.from_records(records)


__all__ = ["task_from_module", "evaluate", "reinitialised"]
