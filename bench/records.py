"""The result record: one flat row per (task, method, metric, seed), and its key.

A record is a JSON object with these fields (``None`` where not applicable):

* run: ``suite``, ``suite_version``, ``key``, ``status`` (``"ok" | "error" | "skipped"``),
  ``error_type``, ``error`` (message, or the reason a cell was skipped), ``traceback`` (short);
* task: ``dataset``, ``dataset_version``, ``model``, ``model_seed``, ``target``, ``task``
  (``dataset/model/target``), ``quality`` (dict of the model's measured quality),
  ``weights_sha256``, ``n_instances`` (explained), ``n_instances_requested`` (``None`` = all),
  ``n_background``;
* method: ``method`` (row label), ``method_name``, ``family``, ``stochastic``, ``method_params``;
* metric: ``metric`` (column label), ``metric_name``, ``category``, ``higher_is_better``,
  ``per_instance``, ``heavy_tailed``, ``metric_params``, ``metric_n_instances`` (the suite's
  budget for it; ``None`` = every explained instance), ``n_instances_scored`` (how many it scored);
* value: ``seed``, ``n`` (finite values), ``value`` (the mean of the finite values, or their
  median for a heavy-tailed metric), ``stderr``, ``ci_low``/``ci_high`` (95 % interval) and
  ``interval`` (which statistic and interval: :data:`xaibench.stats.INTERVALS`), ``values``
  (per-instance values, ``None`` where not finite, positions kept), ``extras`` (dict);
* cost: ``seconds`` (the timed explanation pass), ``explanations_per_second``,
  ``peak_memory_mb``, ``metric_seconds``, ``device``, ``device_name``; and, for planning a suite's
  cost on a shared machine, the CPU seconds of this process: ``explain_cpu_seconds`` (the
  explanation pass, its one-instance warm-up included) and ``metric_cpu_seconds``;
* provenance: ``versions`` (xaibench, torch, python, numpy, git commit), ``code_sha256``
  (:func:`code_sha256`).

The key is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
:data:`KEY_FIELDS` — everything that determines the value and nothing that does not (the suite's
name, labels and timings are left out, so the same cell in two suites shares its key) — plus
``n_instances_scored`` when a budget made a metric score fewer instances than were explained
(left out otherwise, so records without budgets keep their keys).

The code's identity in the key is :func:`code_sha256`, a hash of the source files, rather than
the git commit: a commit also changes with edits that cannot change a value (documentation,
tests), which would throw away every cached record of a long run, and it misses uncommitted
edits (``+dirty`` says only that some exist, not which), which would reuse stale records. The
hash covers the Python files of the installed package that can change a value — built-in
methods, metrics, models, datasets and the harness's computing core (tasks, players, Shapley
enumeration, tolerances, seeding, the cell that runs them, the record's statistics) — plus the
files defining third-party method and metric classes. Modules that only orchestrate or present
(:data:`PRESENTATION`: the command line, suite parsing, the run folder, backends' scheduling, the
leaderboard's statistics and rendering, submission and site code) are left out by an explicit
list, so a new module counts as value code until it is listed: the rule errs towards recomputing.
Leaving them out lets a published leaderboard (``results/``) outlive edits to how it is shown, and
lets a submission made with a later release be compared with it. The hash stays the same across
runs of the same code wherever it is installed. The package's hash is computed once per process;
a plugin's file is hashed again when its modification time or size changes (a notebook that
edits and re-imports its plugin gets a new key).
"""

from __future__ import annotations

import dataclasses
import enum
import fnmatch
import functools
import hashlib
import importlib.util
import inspect
import json
import math
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

STATUSES = ("ok", "error", "skipped")

KEY_FIELDS = (
    "dataset", "dataset_version", "model", "model_seed", "weights_sha256", "target",
    "method_name", "method_params", "metric_name", "metric_params",
    "seed", "n_instances", "n_background", "device_type", "xaibench_version", "code_sha256",
)

TIMING_FIELDS = ("seconds", "explanations_per_second", "peak_memory_mb", "metric_seconds", "explain_cpu_seconds",
                 "metric_cpu_seconds")
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
    payload = {k: identity[k] for k in KEY_FIELDS}
    scored = identity.get("n_instances_scored")
    if scored is not None and scored != identity["n_instances"]:
        payload["n_instances_scored"] = scored
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def dumps(record: Mapping[str, Any]) -> str:
    """One JSON line (no newline inside; key order kept for readability)."""
    return json.dumps(jsonable(record), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


PACKAGES = ("xaibench", "xaibench.methods", "xaibench.models", "xaibench.datasets")

PRESENTATION = (
    "xaibench/__init__.py", "xaibench/__main__.py", "xaibench/api.py", "xaibench/cli.py", "xaibench/errors.py",
    "xaibench/suite.py", "xaibench/suite_schema.py", "xaibench/store.py", "xaibench/runner.py",
    "xaibench/tables.py", "xaibench/render.py", "xaibench/export.py", "xaibench/recordset.py", "xaibench/cells.py",
    "xaibench/across_tasks.py", "xaibench/ranking.py", "xaibench/paired.py", "xaibench/metric_checks.py",
    "xaibench/throughput.py", "xaibench/plan.py", "xaibench/results.py", "xaibench/backends/__init__.py",
    "xaibench/backends/local.py", "xaibench/backends/worker.py", "xaibench/backends/ray.py", "xaibench/perf/*",
    "xaibench/site/*", "xaibench/submission/*", "xaibench/*/templates/*", "xaibench/attributions.py",
)
"""Package files (glob patterns over the names of :func:`_package_files`) that cannot change a
record's value: orchestration, parsing, storage and presentation. Everything else is value code."""


def code_sha256(*classes: type, base: str | None = None) -> str:
    """SHA-256 of the package's Python sources (or of ``base``, a hash this function returned) and
    of the source files of ``classes`` (a record's method and metric) that live outside the package
    (third-party plugins); see the module docstring."""
    inside = {path for _, path in _package_files()}
    files = sorted({f for f in (_source_file(c) for c in classes) if f is not None and f not in inside})
    stamped = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)  # an edited file: a new hash
    return _combined(base or _package_sha256(), stamped)


@functools.lru_cache(maxsize=None)
def _package_files() -> tuple[tuple[str, Path], ...]:
    """``(module path, file)`` of every Python file of :data:`PACKAGES`, named the same whether the
    package is installed as a wheel (subpackages nested) or editable (subpackages side by side)."""
    files: dict[str, Path] = {}
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        for root in (spec.submodule_search_locations or []) if spec else []:
            for path in Path(root).rglob("*.py"):
                files[f"{name.replace('.', '/')}/{path.relative_to(root).as_posix()}"] = path.resolve()
    return tuple(sorted(files.items()))


def value_files() -> tuple[tuple[str, Path], ...]:
    """The package files :func:`code_sha256` hashes: all but :data:`PRESENTATION`."""
    return tuple((name, path) for name, path in _package_files()
                 if not any(fnmatch.fnmatch(name, pattern) for pattern in PRESENTATION))


@functools.lru_cache(maxsize=1)
def _package_sha256() -> str:
    digest = hashlib.sha256()
    for name, path in value_files():
        digest.update(f"{name}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=256)
def _combined(package: str, extra: tuple[tuple[str, int, int], ...]) -> str:
    if not extra:
        return package
    digest = hashlib.sha256(package.encode())
    for name, _, _ in extra:
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()


def _source_file(cls: type) -> Path | None:
    try:
        source = inspect.getsourcefile(cls)
    except TypeError:  # a built-in or dynamically created class
        return None
    return Path(source).resolve() if source else None
