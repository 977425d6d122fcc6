"""The four registries. Built-ins are imported lazily on first lookup; plugins come from entry points.

The models registry also resolves ``<file.py>:<factory>`` (a user's own model, :mod:`xaibench.byom`)
and, once the built-in models are loaded, ``hf:<hub name or path>`` (:mod:`xaibench.models.hf`).
"""

from __future__ import annotations

from .registry import Registry

methods: Registry = Registry("method", ("xaibench.methods",), "xaibench.methods")
metrics: Registry = Registry("metric", ("xaibench.metrics",), "xaibench.metrics")
models: Registry = Registry("model", ("xaibench.models",), "xaibench.models")
datasets: Registry = Registry("dataset", ("xaibench.datasets",), "xaibench.datasets")


def _names_user_file(name: str) -> bool:
    """``path/to/file.py:factory`` names a user's model factory (see :mod:`xaibench.byom`)."""
    path, sep, attribute = name.rpartition(":")
    return bool(sep) and path.endswith(".py") and attribute.isidentifier()


def _user_model(name: str):
    from .byom import user_model_spec  # noqa: PLC0415 - torch, only when a user's model is named

    return user_model_spec(name)


models.add_resolver(_names_user_file, _user_model)
