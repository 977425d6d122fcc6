"""The result record: one flat row per (task, method, metric, seed), and its key.

A record is a JSON object with these fields (``None`` where not applicable):

* run: ``suite``, ``suite_version``, ``key``, ``status`` (``"ok" | "error" | "skipped"``),
  ``error_type``, ``error`` (message, or the reason a cell was skipped), ``traceback`` (short);
* task: ``dataset``, ``dataset_version``, ``model``, ``model_seed``, ``target``, ``task``
  (``dataset/model/target``), ``quality`` (dict of the model's measured quality),
  ``weights_sha256``, ``n_instances`` (requested; ``None`` = all), ``n_background``;
* method: ``method`` (row label), ``method_name``, ``family``, ``stochastic``, ``method_params``;
* metric: ``metric`` (column label), ``metric_name``, ``category``, ``higher_is_better``,
  ``per_instance``, ``metric_params``;
* value: ``seed``, ``n`` (finite values), ``value`` (mean of the finite values), ``stderr``,
  ``ci_low``/``ci_high`` (95 % percentile bootstrap, see :mod:`xaibench.stats`), ``values``
  (per-instance values, ``None`` where not finite, positions kept), ``extras`` (dict);
* cost: ``seconds`` (the timed explanation pass), ``explanations_per_second``,
  ``peak_memory_mb``, ``metric_seconds``, ``device``, ``device_name``;
* provenance: ``versions`` (xaibench, torch, python, numpy, git commit).

The key is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
:data:`KEY_FIELDS` — everything that determines the value and nothing that does not (the suite's
name, labels and timings are left out, so the same cell in two suites shares its key).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

STATUSES = ("ok", "error", "skipped")

KEY_FIELDS = (
    "dataset", "dataset_version", "model", "model_seed", "weights_sha256", "target",
    "method_name", "method_params", "metric_name", "metric_params",
    "seed", "n_instances", "n_background", "device_type", "xaibench_version",
)

TIMING_FIELDS = ("seconds", "explanations_per_second", "peak_memory_mb", "metric_seconds")
"""Fields that vary between two runs of the same cell (left out when comparing runs)."""


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: tuples → lists, non-finite floats → ``None``, tensors → lists."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "tolist"):  # numpy and torch scalars and arrays
        return jsonable(value.tolist())
    return repr(value)


def canonical_json(value: Any) -> str:
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def record_key(identity: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the :data:`KEY_FIELDS` of ``identity`` (all required)."""
    missing = [k for k in KEY_FIELDS if k not in identity]
    if missing:
        raise KeyError(f"record key needs {missing}")
    return hashlib.sha256(canonical_json({k: identity[k] for k in KEY_FIELDS}).encode()).hexdigest()


def dumps(record: Mapping[str, Any]) -> str:
    """One JSON line (no newline inside; key order kept for readability)."""
    return json.dumps(jsonable(record), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
