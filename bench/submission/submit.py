"""``xaibench submit FILE.py:Class``: validate, run the canonical suite, write a bundle, print ranks.

1. :func:`xaibench.submission.validate.validate` on the canonical suite's tasks (stop if it fails).
2. The canonical suite (:mod:`xaibench.submission.canonical`: the published results' suite, with
   its shipped weights and parameters) is run for the method alone, with its default parameters,
   by the ordinary runner, in a confined worker (:class:`~xaibench.submission.sandbox.ConfinedBackend`):
   every cell has the suite's time limit, the worker has the memory limit, and writes outside a
   scratch folder are refused. Attributions of the first instances are saved for the gallery.
   The run folder is the bundle's folder; an interrupted submission continues with ``resume``.
   Once validation has passed, this process imports the file too (the runner builds its cells
   from the class and registers it); the method itself runs only in the worker.
3. The bundle (:mod:`xaibench.submission.bundle`) is completed: the source and ``bundle.json``.
   ``tasks`` (a slice of the suite) makes a *partial* bundle: a quick first look, which
   ``publish`` refuses for the main board.
4. The method's ranks against every built-in method (``RESULTS/standard``: a results folder, or a
   run folder; restricted to the bundle's tasks) and every published submission, with significance groups
   (:mod:`xaibench.submission.ranks`).
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import SubmissionError
from .loader import MethodSource, describe, load_class, parse_spec
from .sandbox import DEFAULT_MEMORY_MB, ConfinedBackend, Confinement
from .validate import DEFAULT_TIMEOUT, Report, validate

log = logging.getLogger(__name__)

DEFAULT_BUNDLES = Path("bundles")
SAVED_INSTANCES = 8
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass
class Submission:
    directory: Path
    bundle: dict[str, Any]
    report: Report
    ranks: list[str]
    canonical: bool = True  # run on the published results' suite (else publish refuses it)


def submit(spec: str, *, name: str | None = None, tasks: Sequence[str] | None = None, suite: str | None = None,
           results: str | Path | None = None, out: str | Path | None = None, device: str = "cpu",
           memory_mb: int | None = DEFAULT_MEMORY_MB, timeout: float = DEFAULT_TIMEOUT, resume: bool = False,
           save_attributions: int = SAVED_INSTANCES, progress: bool = True) -> Submission:
    """Submit ``FILE.py:Class`` (see the module docstring).

    Args:
        name: the leaderboard row (default: the method's ``name``); letters, digits, ``.``, ``_``, ``-``.
        tasks: ``dataset[/model[/target]]`` patterns: a partial bundle over these tasks only.
        suite: another suite than the canonical one (for development; publish refuses its bundle).
        results: the published results folder (default ``results``; built-in records in ``standard/``).
        out: the bundle folder (default ``bundles/<name>-<UTC time>``).

    Raises:
        SubmissionError: the method failed validation (the report says why), or a bad ``name``.
    """
    from ..records import _package_sha256  # noqa: PLC0415 - the value code's identity
    from ..runner import run_plan  # noqa: PLC0415
    from ..suite import MethodEntry  # noqa: PLC0415
    from .bundle import write_bundle  # noqa: PLC0415
    from .canonical import canonical_plan, canonical_suite, published_threads, submission_seeds  # noqa: PLC0415

    source = parse_spec(spec)
    if name is not None and not NAME.fullmatch(name):
        raise SubmissionError(f"--name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter "
                              "or digit")
    report = validate(source, suite=suite, results=results, tasks=tasks, device=device, memory_mb=memory_mb,
                      timeout=timeout)
    if not report.passed:
        raise SubmissionError(report.render() + "\nNothing was submitted: fix the method and submit again.")
    cls = load_class(source)
    label = name or cls.name
    base = canonical_plan(suite, results=results, tasks=tasks)
    seeds = tuple(submission_seeds(base.describe(), bool(getattr(cls, "stochastic", False))))
    plan = replace(base, methods=(MethodEntry(label, cls(), seeds),))
    folder = Path(out) if out else _default_out(label)
    scratch = tempfile.mkdtemp(prefix="xaibench-scratch-")
    confinement = Confinement(scratch, None if device.startswith("cuda") else memory_mb, guarded=(source.path,),
                              preload=(source.module_name, source.path))
    backend = ConfinedBackend(confinement, cell_timeout=plan.cell_timeout,
                              threads=published_threads(results) if device == "cpu" else None)
    try:
        run_plan(plan, folder, device=device, resume=resume, backend=backend, progress=progress,
                 save_attributions=save_attributions)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    sandbox = {**report.sandbox, "refused": sorted(set(backend.refused))}
    bundle = write_bundle(folder, name=label, source_path=source.path, method=describe(cls), partial=bool(tasks),
                          harness_sha256=_package_sha256(),
                          validation={"passed": True, "checks": sum(c.status == "ok" for c in report.checks)},
                          sandbox=sandbox)
    published = canonical_suite(None, results).identity
    canonical = published["sha256"] == bundle["suite"].get("sha256")
    ranks = rank_against(folder, bundle, results) if canonical else [_not_ranked(folder, bundle, published)]
    return Submission(folder, bundle, report, ranks, canonical)


def _not_ranked(folder: Path, bundle: dict[str, Any], published: dict[str, str]) -> str:
    """Why a bundle of another suite than ``published`` (its identity) gets no ranks."""
    ran = bundle["suite"]
    return (f"Not ranked: the bundle ran suite {ran.get('name')!r} v{ran.get('version')} (SHA-256 "
            f"{str(ran.get('sha256'))[:12]}...), not the published results' {published['name']!r} v{published['version']} "
            f"({published['sha256'][:12]}...); ranks compare runs of one suite. Its own leaderboard: "
            f"`xaibench leaderboard {folder}`.")


def rank_against(folder: Path, bundle: dict[str, Any], results: str | Path | None) -> list[str]:
    """The ranks of the bundle's method against the published leaderboard (see the module docstring)."""
    from ..recordset import read  # noqa: PLC0415
    from ..store import RECORDS, latest_per_key, read_records  # noqa: PLC0415
    from ..tables import build_board  # noqa: PLC0415
    from .canonical import standard_dir  # noqa: PLC0415
    from .published import board_view, has_records, leaderboard_sources  # noqa: PLC0415

    standard = standard_dir(results)
    published = _published_code(standard)
    records = board_view(latest_per_key(read_records(folder / RECORDS)), published or bundle["harness_sha256"])
    notes = []
    if not has_records(standard):
        notes.append(f"No published built-in results in {standard}: ranks are against nothing. Run from "
                     "a clone of the repository, or pass --results DIR.")
    elif published not in (None, bundle["harness_sha256"]):
        notes.append("WARNING: the published results were computed by other value code (another xaibench version) "
                     "than this submission; these ranks compare across code versions, and publish will refuse the "
                     "bundle: install the xaibench version the results were made with, and submit again.")
    tasks = set(bundle["plan"].get("tasks", [])) if bundle["partial"] else None
    with leaderboard_sources(standard, extra=records, tasks=tasks) as sources:
        board = build_board(read(sources))
    from .ranks import rank_lines  # noqa: PLC0415

    return notes + rank_lines(board, bundle["name"])


def _published_code(standard: Path) -> str | None:
    """The code identity of the published built-in records (``None`` when there are none or several)."""
    from ..results import iter_records  # noqa: PLC0415
    from .published import has_records  # noqa: PLC0415

    if not has_records(standard):
        return None
    codes = {r["code_sha256"] for r in iter_records(standard, ("code_sha256",))}
    return codes.pop() if len(codes) == 1 else None


def _default_out(label: str) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return DEFAULT_BUNDLES / f"{label}-{stamp}"


__all__ = ["MethodSource", "Submission", "rank_against", "submit"]
