"""The canonical suite a submission is scored on, and where the published results live.

The leaderboard's built-in results are ``RESULTS/standard`` (default ``results/standard`` in a
clone of the repository): a results folder (:mod:`xaibench.results`, or a run folder) whose
``manifest.json`` holds the suite's text (``suite.text``, ``suite.name``, as the run wrote it). The
canonical suite is exactly that text — same name, version and SHA-256 — so a submission is run
with the very settings the built-in methods were (tasks, metric parameters, seeds, instance and
background counts, shipped weights). Without published results it is the built-in ``standard``
suite. Submitted records go to ``RESULTS/submissions/<name>/``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..backends.cell import RunContext
    from ..suite import Plan, Suite, TaskRef

DEFAULT_RESULTS = Path("results")
STANDARD = "standard"
SUBMISSIONS = "submissions"


def standard_dir(results: str | Path | None = None) -> Path:
    return Path(results or DEFAULT_RESULTS) / STANDARD


def standard_manifest(results: str | Path | None = None) -> dict[str, Any] | None:
    """The published standard results' manifest, or ``None`` when there is none."""
    from ..store import MANIFEST  # noqa: PLC0415

    path = standard_dir(results) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def published_threads(results: str | Path | None = None) -> int | None:
    """The torch threads per worker the published standard run used (``None``: unknown, or none)."""
    threads = (standard_manifest(results) or {}).get("threads_per_worker")
    return threads if isinstance(threads, int) and threads > 0 else None


def canonical_suite(suite: str | Path | None = None, results: str | Path | None = None) -> Suite:
    """``suite`` when given (a name or a file); else the published results' suite; else ``standard``."""
    from ..suite import load_suite, parse_suite  # noqa: PLC0415

    if suite is not None:
        return load_suite(suite)
    manifest = standard_manifest(results)
    recorded = (manifest or {}).get("suite") or {}
    if isinstance(recorded.get("text"), str):
        return parse_suite(recorded["text"], source=str(standard_dir(results) / "manifest.json"),
                           default_name=str(recorded.get("name") or STANDARD))
    return load_suite(STANDARD)


def canonical_plan(suite: str | Path | None = None, *, results: str | Path | None = None,
                   tasks: Sequence[str] | None = None, methods: Sequence[str] | None = None) -> Plan:
    """The canonical suite resolved against the registries (``tasks`` selects a slice)."""
    from ..suite import resolve  # noqa: PLC0415

    return resolve(canonical_suite(suite, results), tasks=list(tasks) if tasks else None,
                   methods=list(methods) if methods else None)


def submission_seeds(plan: Mapping[str, Any], stochastic: bool) -> list[int]:
    """The seeds a submitted method runs at, from the canonical plan as its manifest describes it:
    a deterministic method the suite's seeds; a stochastic one the most any method entry of the
    suite is given (the standard suite's stochastic built-ins run 3 seeds), so that it is averaged
    over as many draws as they are."""
    default = list(plan.get("seeds") or [0])
    if not stochastic:
        return default
    given = [list(m.get("seeds") or default) for m in plan.get("methods") or [] if isinstance(m, Mapping)]
    return max(given, key=len, default=default)


def run_context(plan: Plan, *, device: str = "cpu", n_instances: int | None = None) -> RunContext:
    from ..backends.cell import RunContext  # noqa: PLC0415
    from ..runner import check_device  # noqa: PLC0415
    from ..store import versions  # noqa: PLC0415

    return RunContext(suite=plan.suite.name, suite_version=plan.suite.version,
                      n_instances=n_instances if n_instances is not None else plan.n_instances,
                      n_background=plan.n_background, model_seed=plan.model_seed, device=check_device(device),
                      versions=versions())


def validation_tasks(plan: Plan, *, explicit: bool = False) -> list[TaskRef]:
    """The tasks ``validate`` checks: all of ``plan``'s when they were chosen explicitly, else the
    first task of each data kind (tabular, image, sequence ...) and of each latent-space target."""
    if explicit:
        return list(plan.tasks)
    from ..registries import datasets  # noqa: PLC0415

    chosen: dict[str, TaskRef] = {}
    for ref in plan.tasks:
        kind = "latent" if ref.target == "generator" else datasets.get(ref.dataset).kind
        chosen.setdefault(kind, ref)
    return list(chosen.values())
