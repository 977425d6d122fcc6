"""The runner: a :class:`~xaibench.suite.Plan` → cells → a backend → records in a run folder.

Orchestration only: what a cell does is :mod:`xaibench.backends.cell`, where it runs is the
backend's business (:mod:`xaibench.backends.local`: a worker process by default), how records are
stored is :mod:`xaibench.store`. The runner checks the device, locks the run folder and writes
the manifest, hands the backend the cells (task by task, then method, then seed) and the keys
already done (``resume``: recorded ok or skipped; failed cells are retried), appends records as
they arrive, shows a progress bar, logs skipped and failed cells, and writes ``leaderboard.md``
at the end.

SIGTERM is handled like Ctrl-C: the run stops between two records with
:class:`RunTerminated` (a ``KeyboardInterrupt``), the folder is unlocked and every record
written so far is kept, so ``xaibench run --resume --out DIR`` continues it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .attributions import AttributionStore, describe_attributions
from .backends import Backend, get_backend
from .backends.cell import SAVED_ATTRIBUTIONS, Cell, RunContext
from .errors import DeviceError
from .metrics.cost import device_name
from .store import LEADERBOARD, RunStore, command_line, now, versions
from .suite import Plan
from .tasks import float32_precision, full_float32

log = logging.getLogger(__name__)


class RunTerminated(KeyboardInterrupt):
    """The run received SIGTERM; like Ctrl-C, it stops with every record written so far kept."""


@dataclass(frozen=True)
class RunResult:
    directory: Path
    written: int

    @property
    def leaderboard_path(self) -> Path:
        return self.directory / LEADERBOARD

    @property
    def records(self) -> list[dict[str, Any]]:
        """The latest record of every key in the folder (earlier runs' too on resume); read (all of
        them) when asked for."""
        return RunStore(self.directory).latest()

    def statuses(self) -> Counter:
        """How many keys have each status (``ok``, ``error``, ``skipped``), streamed."""
        return Counter(RunStore(self.directory).statuses().values())


def run_plan(plan: Plan, out: str | Path, *, device: str = "cpu", resume: bool = False, retrain: bool = False,
             backend: str | Backend = "local", isolation: str = "process", workers: int | None = None,
             threads: int | None = None, address: str | None = None, progress: bool = True,
             warmup: bool = True, save_attributions: int = 0) -> RunResult:
    """Execute ``plan`` into the run folder ``out`` (see the module docstring).

    ``backend``: a backend name, or a :class:`~xaibench.backends.Backend` object (submissions run
    in a confined one); ``workers``, ``threads`` and ``address`` go to a named backend
    (:mod:`xaibench.backends`) when given. ``save_attributions``: save the first that many
    instances' attributions of every cell (:mod:`xaibench.attributions`).
    """
    executor = backend if isinstance(backend, Backend) else get_backend(
        backend, isolation=isolation, cell_timeout=plan.cell_timeout, workers=workers, threads=threads,
        address=address)
    device = check_device(device, here=executor.runs_here)
    context = RunContext(suite=plan.suite.name, suite_version=plan.suite.version, n_instances=plan.n_instances,
                         n_background=plan.n_background, model_seed=plan.model_seed, device=device,
                         versions=versions(), retrain=retrain, warmup=warmup, save_attributions=save_attributions)
    name = getattr(executor, "name", str(backend))
    with executor.session(device):  # a cluster is reached before the run folder is made
        described = {**manifest(plan, context, name, isolation, here=executor.runs_here), **executor.describe()}
        with terminated_as_interrupt(), RunStore.open(out, described, resume=resume) as store:
            done = store.done
            cells = [Cell(t, m, metrics, s, context) for t, m, metrics, s in plan.cell_specs()]
            written = _execute(cells, done, store, executor, progress=progress, title=plan.suite.name,
                               attributions=AttributionStore(store.directory) if save_attributions else None)
            from .tables import leaderboard  # noqa: PLC0415 - pandas, only at the end

            store.write_text(LEADERBOARD, leaderboard(store.directory, "markdown") + "\n")
    return RunResult(store.directory, written)


def _execute(cells: list[Cell], done: frozenset[str], store: RunStore, backend, *, progress: bool, title: str,
             attributions: AttributionStore | None = None) -> int:
    from tqdm.auto import tqdm  # noqa: PLC0415
    from tqdm.contrib.logging import logging_redirect_tqdm  # noqa: PLC0415

    written = 0
    skipped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    failures: set[tuple[str, str]] = set()
    capped: dict[str, tuple[int, int]] = {}  # task → (instances it has, instances requested)
    bar = tqdm(total=len(cells), desc=title, unit="cell", disable=not progress, dynamic_ncols=True)

    def on_record(record: dict[str, Any]) -> None:
        nonlocal written
        saved = record.pop(SAVED_ATTRIBUTIONS, None)
        if saved is not None and attributions is not None:
            attributions.write(record, saved)
        store.append(record)
        written += 1
        where = f"{record['task']} × {record['method']} × {record['metric']} (seed {record['seed']})"
        requested = record.get("n_instances_requested")
        if requested is not None and record["n_instances"] < requested:
            capped.setdefault(record["task"], (record["n_instances"], requested))
        if record["status"] == "skipped":
            skipped.setdefault((record["task"], record["metric"]), []).append(record)
            log.debug("skipped %s: %s", where, record["error"])
        elif record["status"] == "error" and (record["task"], record["error"]) not in failures:
            failures.add((record["task"], record["error"]))  # once per task and message, not per cell and metric
            log.warning("error in %s: %s: %s", where, record["error_type"], record["error"])

    def on_cell_done(cell: Cell) -> None:
        bar.set_postfix_str(f"{cell.task.name} {cell.method.label}", refresh=False)
        bar.update(1)

    try:
        with logging_redirect_tqdm([logging.getLogger("xaibench")]):
            backend.execute(cells, done, on_record, on_cell_done)
    finally:
        bar.close()
        if capped:
            log.warning("%s", _capped_line(capped))
        for line in _skip_lines(skipped):
            log.info("%s", line)
    return written


def _skip_lines(skipped: dict[tuple[str, str], list[dict[str, Any]]]) -> list[str]:
    """One line per reason (the task's name and the metric's prefix taken out of it): the metrics,
    tasks and methods it was skipped for — a few lines for a whole suite, not one per cell."""
    grouped: dict[str, tuple[dict[str, None], dict[str, None], set[str]]] = {}
    for (task, metric), records in skipped.items():
        first = records[0]
        reason = str(first["error"]).removeprefix(f"{first.get('metric_name', metric)}: ").replace(task, "the task")
        metrics, tasks, methods = grouped.setdefault(reason, ({}, {}, set()))
        metrics[metric] = tasks[task] = None
        methods.update(r["method"] for r in records)
    return [f"skipped {_few(list(metrics))} on {len(tasks)} task{'s' if len(tasks) != 1 else ''} "
            f"({_few(list(tasks))}) for {len(methods)} method(s): {reason}"
            for reason, (metrics, tasks, methods) in grouped.items()]


def _capped_line(capped: dict[str, tuple[int, int]]) -> str:
    """One line for the tasks whose test split is smaller than the instances asked of them."""
    by_dataset: dict[tuple[str, int, int], list[str]] = {}
    for task, (n, requested) in capped.items():
        by_dataset.setdefault((task.split("/")[0], n, requested), []).append(task)
    parts = [f"{dataset} {n} of {requested} ({len(tasks)} task{'s' if len(tasks) != 1 else ''})"
             for (dataset, n, requested), tasks in by_dataset.items()]
    return ("fewer test instances than requested, so all of them are explained (the records say n_instances): "
            + "; ".join(parts))


def _few(names: list[str], shown: int = 3) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


@contextlib.contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`RunTerminated` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame) -> None:  # noqa: ARG001
        raise RunTerminated("SIGTERM")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_device(device: str, *, here: bool = True) -> str:
    """A valid torch device string that exists here (``here``; else where the backend runs
    cells, which checks it), or a typed error saying what to do."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DeviceError(f"--device {device!r} is not a torch device; use cpu or cuda") from exc
    if here and parsed.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"--device {device}: no CUDA device is available here "
                                    "(torch.cuda.is_available() is False); use --device cpu, "
                                    "or install a CUDA build of torch on a machine with a GPU")
    if parsed.type not in ("cpu", "cuda"):
        raise DeviceError(f"--device {device}: only cpu and cuda are supported")
    if parsed.type == "cuda":
        full_float32()  # TF32 off, so CUDA results equal the CPU's (xaibench.tasks.full_float32)
    return str(parsed)


def manifest(plan: Plan, context: RunContext, backend: str, isolation: str = "process", *,
             here: bool = True) -> dict[str, Any]:
    suite = plan.suite
    return {
        "suite": {"name": suite.name, "version": suite.version, "description": suite.description,
                  "source": suite.source, "sha256": suite.sha256, "text": suite.text},
        "plan": plan.describe(),
        "versions": dict(context.versions),
        "device": context.device,
        "device_name": device_name(context.device) if here else None,  # a cluster's: in each record
        "float32_precision": float32_precision(),
        "backend": backend,
        "isolation": isolation,
        "retrain": context.retrain,
        **({"attributions": describe_attributions(context.save_attributions)} if context.save_attributions else {}),
        "start_time": now(),
        "command_line": command_line(),
    }
