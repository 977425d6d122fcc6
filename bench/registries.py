"""The four registries. Built-ins are imported lazily on first lookup; plugins come from entry points.

Once the built-in models are loaded, the models registry also resolves ``<file.py>:<factory>``
(a user's own model, :mod:`xaibench.models.from_file`) and ``hf:<hub name or path>``
(:mod:`xaibench.models.hf`).
"""

from __future__ import annotations

from .registry import Registry

methods: Registry = Registry("method", ("xaibench.methods",), "xaibench.methods")
metrics: Registry = Registry("metric", ("xaibench.metrics",), "xaibench.metrics")
models: Registry = Registry("model", ("xaibench.models",), "xaibench.models")
datasets: Registry = Registry("dataset", ("xaibench.datasets",), "xaibench.datasets")

