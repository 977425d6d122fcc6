"""xaibench: a benchmark and evaluation harness for explanation (XAI) methods.

The notebook API::

    import xaibench
    task = xaibench.load_task("breast_cancer", "mlp", "logit", seed=0, device="cpu")
    method = xaibench.get_method("integrated_gradients", n_steps=64)
    phi = method.explain(task, task.inputs[:10], seed=0)
    scores = xaibench.get_metric("deletion_auc")(task, task.inputs[:10], phi, method, seed=0)
    records = xaibench.run("quick")
    task = xaibench.task_from_module(my_net, my_x, background=my_train, target="logit")  # your own model
    print(xaibench.leaderboard(xaibench.evaluate(task, ["saliency", "lime"], ["deletion_auc"])))

Attributes are imported lazily so that ``import xaibench`` and ``xaibench --help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_LAZY = {
    "Task": "task",
    "BoundTarget": "task",
    "Method": "method",
    "register_method": "method",
    "get_method": "method",
    "Metric": "metric",
    "MetricOutput": "metric",
    "register_metric": "metric",
    "get_metric": "metric",
    "Dataset": "dataset",
    "Oracle": "dataset",
    "register_dataset": "dataset",
    "load_dataset": "dataset",
    "ModelSpec": "model",
    "TargetSpec": "model",
    "register_model": "model",
    "load_task": "tasks",
    "task_from_module": "byom",
    "evaluate": "byom",
    "run": "api",
    "leaderboard": "api",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover  (re-exports for type checkers; resolved lazily below)
    from .api import leaderboard, run  # noqa: F401
    from .byom import evaluate, task_from_module  # noqa: F401
    from .dataset import Dataset, Oracle, load_dataset, register_dataset  # noqa: F401
    from .method import Method, get_method, register_method  # noqa: F401
    from .metric import Metric, MetricOutput, get_metric, register_metric  # noqa: F401
    from .model import ModelSpec, TargetSpec, register_model  # noqa: F401
    from .task import BoundTarget, Task  # noqa: F401
    from .tasks import load_task  # noqa: F401


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'xaibench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
