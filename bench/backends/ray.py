"""The Ray backend: cells run on a Ray cluster; the driver alone writes the run folder.

``xaibench run --backend ray [--address ADDR] [--workers N] [--threads T]`` connects to the
cluster at ``ADDR`` (default: Ray's own choice — ``RAY_ADDRESS``, else a cluster started on this
machine with ``ray start``, else a new local instance), starts ``N`` workers and hands them the
run's cells. The process running the command is the driver: it holds the run folder's lock,
writes the manifest and every record, and resumes exactly as with the local backend — the
backend only decides where cells run.

* **Workers are actors, not tasks.** A worker loads a task (data, model weights, background)
  once and keeps it for the next cells of that task (:func:`~xaibench.backends.cell.load_cached_task`).
  Ray tasks run on pooled processes that the scheduler picks, so consecutive cells of a task
  would land on cold processes; an actor is one process whose caches the driver can count on,
  so the driver feeds each actor the cells of one task (:class:`~xaibench.backends.dispatch.TaskQueue`)
  and can kill exactly the actor whose cell ran out of time.
* **Resources.** On ``--device cuda`` each actor asks for ``num_gpus=1`` (Ray sets its
  ``CUDA_VISIBLE_DEVICES``, so ``cuda`` is its own GPU) and ``T`` CPUs; default ``N``: the GPUs in
  the cluster. On the CPU each actor asks for ``num_cpus=T`` and runs torch with ``T`` threads
  (default ``T = 1``); default ``N``: the cluster's CPUs divided by ``T``. Actors that do not fit
  yet wait for resources (an autoscaling cluster adds nodes) while the others work.
* **Streaming.** An actor streams a cell's messages back (a Ray generator): the records still
  owed once its task is loaded, then each record as its metric finishes, and its log lines.
  Records are written as they arrive, so an interrupted driver keeps every finished metric.
* **Time limit.** ``--cell-timeout`` works as locally: per phase (loading; explaining and
  scoring), measured by the driver from the moment the cell reaches a started actor. Past it the
  actor is killed (``ray.kill``), the cell's missing records become ``CellTimeoutError`` records,
  and a new actor takes its place.
* **Dead workers.** An actor that dies mid-cell (a crash, the out-of-memory killer, a lost node)
  costs nothing: its cell runs again on a new actor, skipping the records already received, and
  only if that dies too do the missing records become ``WorkerCrashedError`` records. No record
  is lost, none is written twice.
* **Values.** Records equal the local backend's with the same threads per worker, bit for bit
  (``xaibench run --threads T``): the same keys, the same values for every deterministic cell.
  Between different thread counts, float32 values can differ in their last bits, because torch
  splits its CPU reductions by thread; between different CPU models they can too.
* **Plugins.** Built-in and installed (entry-point) plugins must be installed on every node, as
  xaibench itself. Plugins registered at run time travel by reference (module and class name),
  as to a local worker process: their module must be importable on the nodes (on this machine's
  cluster the driver's ``sys.path`` is used).

Without Ray, ``--backend ray`` is a :class:`~xaibench.errors.BackendUnavailableError` that says
``pip install "xaibench[ray]"``, raised before the run folder is made.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import BackendUnavailableError, DeviceError, InvalidParameterError, WorkerCrashedError
from . import Backend, CellSink, RecordSink
from .cell import Cell
from .local import check_count
from .progress import CellProgress
from .worker import (
    WorkerSetup,
    apply_setup,
    forward_logs,
    run_cell,
    runtime_plugins,
    unreceivable,
    warn_plugin_problems,
)

log = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "xaibench[ray]"'
ATTEMPTS = 2
"""Times a cell is started on a fresh actor when the one running it dies."""
_POLL = 1.0
CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the cluster's address to answer before ``ray.init``."""


def import_ray():
    """The ``ray`` module, or :class:`BackendUnavailableError` saying how to install it."""
    try:
        import ray  # noqa: PLC0415
    except ImportError as exc:
        raise BackendUnavailableError(f"--backend ray needs Ray, which is not installed here ({exc}); install it "
                                      f"with `{INSTALL_HINT}`, or run on this machine with --backend local") from None
    return ray


class RayBackend(Backend):
    """Cells as streaming calls to Ray actors (see the module docstring)."""

    name: ClassVar[str] = "ray"
    runs_here: ClassVar[bool] = False

    def __init__(self, isolation: str = "process", cell_timeout: float | None = None, workers: int | None = None,
                 threads: int | None = None, address: str | None = None):
        if isolation != "process":
            raise InvalidParameterError(f"--isolation {isolation}: the Ray backend always runs cells in Ray's worker "
                                        "processes; drop --isolation, or use --backend local --isolation none")
        self.ray = import_ray()
        self.cell_timeout = cell_timeout or None
        self.workers = check_count("workers", workers)
        self.threads = check_count("threads", threads) or 1
        self.address = address
        self.resources: dict[str, float] = {}
        self._cluster: dict[str, Any] = {}

    @contextlib.contextmanager
    def session(self, device: str) -> Iterator[None]:
        ray = self.ray
        started = not ray.is_initialized()
        if started:
            _check_reachable(self.address)
            try:
                ray.init(address=self.address)
            except Exception as exc:  # noqa: BLE001 - ConnectionError, ValueError, RuntimeError: all say "no cluster"
                where = f"at {self.address}" if self.address else "(none given: RAY_ADDRESS, this machine, or new)"
                raise BackendUnavailableError(
                    f"could not start or reach a Ray cluster {where}: {type(exc).__name__}: {exc}. Start one with "
                    "`ray start --head` and pass its address with --address HOST:6379 (or `auto`)") from None
        elif self.address:
            log.info("Ray is already initialised in this process; --address %s is not used", self.address)
        try:
            self._plan(ray, device)
            yield
        finally:
            if started:
                ray.shutdown()

    def describe(self) -> dict[str, Any]:
        return {"workers": self.workers, "threads_per_worker": self.threads, "ray": self._cluster}

    def _plan(self, ray, device: str) -> None:
        """Resources per actor and the number of actors, checked against the cluster."""
        total = ray.cluster_resources()
        gpu = device.startswith("cuda")
        self.resources = {"num_cpus": self.threads, **({"num_gpus": 1} if gpu else {})}
        nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
        fits = any(n.get("CPU", 0) >= self.threads and (not gpu or n.get("GPU", 0) >= 1) for n in nodes)
        if gpu and not total.get("GPU"):
            raise DeviceError("--device cuda: the Ray cluster has no GPU; add GPU nodes, or run with --device cpu")
        if not fits:
            raise InvalidParameterError(
                f"no node of the Ray cluster has {self.threads} CPU(s){' and a GPU' if gpu else ''} for one worker "
                f"(nodes: {[{k: n.get(k, 0) for k in ('CPU', 'GPU')} for n in nodes]}); lower --threads")
        if self.workers is None:
            self.workers = max(1, int(total.get("GPU", 0)) if gpu else int(total.get("CPU", 1)) // self.threads)
        self._cluster = {"address": ray.get_runtime_context().gcs_address, "nodes": len(nodes),
                         "resources": {k: total[k] for k in ("CPU", "GPU") if k in total},
                         "per_worker": dict(self.resources)}

    def execute(self, cells: Sequence[Cell], done: frozenset[str], on_record: RecordSink,
                on_cell_done: CellSink) -> None:
        if not cells:
            return
        setup = WorkerSetup(runtime_plugins(), frozenset(done), logging.getLogger("xaibench").getEffectiveLevel(),
                            tuple(sys.path), self.threads, cwd=os.getcwd())
        driver = _Driver(self.ray, self.ray.put(setup), self.resources, self.cell_timeout, done, cells,
                         on_record, on_cell_done)
        driver.run(min(self.workers or 1, len(cells)))


@dataclass(eq=False)
class _Slot:
    """One actor and what it is doing: starting (``ready``), idle, or running ``progress.cell``."""

    actor: Any
    ready: Any = None
    stream: Any = None
    progress: CellProgress | None = None
    started: float = field(default_factory=time.monotonic)


class _Driver:
    """The driver's loop: keep every actor busy, relay records, enforce deadlines, replace actors."""

    def __init__(self, ray, setup_ref, resources, timeout, done, cells, on_record, on_cell_done):
        from .dispatch import TaskQueue  # noqa: PLC0415

        self.ray, self.setup_ref, self.timeout, self.done = ray, setup_ref, timeout, done
        self.actor_class = ray.remote(CellActor).options(**resources, max_restarts=0, max_task_retries=0)
        self.cells = TaskQueue(cells)
        self.on_record, self.on_cell_done = on_record, on_cell_done
        self.slots: list[_Slot] = []
        self.attempts: dict[int, int] = {}
        self.retrying: dict[int, CellProgress] = {}
        self.any_ready = False

    def run(self, n_workers: int) -> None:
        try:
            self.slots = [self._new_slot() for _ in range(n_workers)]
            while True:
                self._assign()
                busy = [s for s in self.slots if s.stream is not None]
                starting = [s for s in self.slots if s.ready is not None]
                if not busy and not len(self.cells):
                    return
                if not busy and not starting:
                    raise WorkerCrashedError("every Ray worker of this run died while starting; see the errors above")
                self._wait(busy, starting)
        finally:
            for slot in self.slots:
                self.ray.kill(slot.actor, no_restart=True)

    # -- the loop's steps ----------------------------------------------------------------------
    def _new_slot(self) -> _Slot:
        actor = self.actor_class.remote(self.setup_ref)
        return _Slot(actor, ready=actor.ready.remote())

    def _assign(self) -> None:
        for slot in self.slots:
            if slot.ready is None and slot.stream is None:
                cell = self.cells.take(slot)
                if cell is None:
                    continue
                progress = self.retrying.pop(id(cell), None)
                if progress is None:
                    progress = CellProgress(cell, self.done, self.timeout)
                else:
                    progress.restart()
                slot.progress = progress
                slot.stream = slot.actor.run.remote(cell, frozenset(progress.written))

    def _wait(self, busy: list[_Slot], starting: list[_Slot]) -> None:
        deadlines = [s.progress.deadline for s in busy if s.progress.deadline is not None]
        wait = min([_POLL] + [max(0.0, d - time.monotonic()) for d in deadlines])
        waitables = {**{s.ready: s for s in starting}, **{s.stream: s for s in busy}}
        ready, _ = self.ray.wait(list(waitables), num_returns=1, timeout=wait)
        for item in ready:
            slot = waitables[item]
            if item is slot.ready:
                self._started(slot)
            else:
                self._message(slot)
        for slot in busy:
            if slot.stream is not None and slot.progress.expired:
                self._finish(slot, slot.progress.failure(slot.progress.timeout_error()))
                self._replace(slot)

    def _started(self, slot: _Slot) -> None:
        try:
            pid, problems = self.ray.get(slot.ready)
        except self.ray.exceptions.RayError as exc:
            self.slots.remove(slot)
            if not self.any_ready:
                raise WorkerCrashedError(f"a Ray worker could not start ({_first_line(exc)}); check that xaibench and "
                                         "the plugins are installed on every node") from None
            log.warning("a Ray worker could not start (%s); the run goes on with %d", _first_line(exc),
                        len(self.slots))
            return
        slot.ready = None
        if not self.any_ready:
            warn_plugin_problems(problems)
            self.any_ready = True
        log.debug("Ray worker pid %s ready after %.1f s", pid, time.monotonic() - slot.started)

    def _message(self, slot: _Slot) -> None:
        progress = slot.progress
        try:
            message = self.ray.get(next(slot.stream))
        except StopIteration:  # pragma: no cover - a stream always ends with a final message
            message = ("done",)
        except self.ray.exceptions.RayActorError as exc:
            self._died(slot, exc)
            return
        except self.ray.exceptions.RayError as exc:  # e.g. the cell could not be unpickled there
            self._finish(slot, progress.failure(unreceivable(progress.cell, _first_line(exc))))
            return
        kind = message[0]
        if kind == "done":
            self._finish(slot, [])
        elif kind == "interrupted":  # plugin code raised KeyboardInterrupt: as locally, the run stops
            raise KeyboardInterrupt
        elif kind == "crashed":
            self._died(slot, message[1])
        else:
            record = progress.receive(message)
            if record is not None:
                self.on_record(record)

    def _died(self, slot: _Slot, cause: Any) -> None:
        progress = slot.progress
        cell = progress.cell
        self.attempts[id(cell)] = attempts = self.attempts.get(id(cell), 0) + 1
        self._replace(slot)
        if attempts < ATTEMPTS:
            log.warning("the Ray worker running cell %s died (%s); the cell runs again on a new worker", cell.name,
                        _first_line(cause))
            self.retrying[id(cell)] = progress
            self.cells.put_back(cell)
            slot.stream = slot.progress = None
            return
        self._finish(slot, progress.failure(WorkerCrashedError(
            f"the Ray worker running cell {cell.name} died ({_first_line(cause)}), {attempts} times; "
            "the run goes on with a new worker")))

    def _finish(self, slot: _Slot, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.on_record(record)
        self.on_cell_done(slot.progress.cell)
        slot.stream = slot.progress = None

    def _replace(self, slot: _Slot) -> None:
        """Kill the slot's actor (stuck or dead) and start a new one in its place."""
        self.ray.kill(slot.actor, no_restart=True)
        fresh = self._new_slot()
        slot.actor, slot.ready, slot.started = fresh.actor, fresh.ready, fresh.started


def _check_reachable(address: str | None) -> None:
    """Fail fast on a ``HOST:PORT`` (or ``ray://HOST:PORT``) nobody listens on: ``ray.init``
    would retry it without end."""
    if not address or address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InvalidParameterError(f"--address {address!r}: expected HOST:PORT (e.g. 10.0.0.1:6379), ray://HOST:PORT "
                                    "or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise BackendUnavailableError(f"--address {address}: no Ray cluster answers there ({exc}); start one with "
                                      "`ray start --head` on that machine, or check the host and port "
                                      "(the head's GCS port, 6379 by default)") from None


def _first_line(error: Any) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}" if isinstance(error, BaseException) \
        else text


# -- the worker side: one actor ---------------------------------------------------------------------
class CellActor:
    """A Ray actor running cells one at a time, with the driver's set-up (plugins, keys done,
    threads); :meth:`run` streams a cell's messages, as a local worker process sends them."""

    def __init__(self, setup: WorkerSetup):
        self._emit = None
        forward_logs(self._log)
        self._done = setup.done
        self._problems = apply_setup(setup)

    def ready(self) -> tuple[int, list[str]]:
        return os.getpid(), self._problems

    def run(self, cell: Cell, received: frozenset[str] = frozenset()) -> Iterator[tuple]:
        """The cell's messages: ``log`` and ``pending`` and ``record``, then ``done`` (or
        ``interrupted``, ``crashed``). ``received``: keys already written (a retry)."""
        messages: queue.SimpleQueue = queue.SimpleQueue()
        done = self._done | received if received else self._done

        def work() -> None:  # a thread, so that "pending" goes out before the explanation pass
            try:
                run_cell(cell, done, messages.put)
                messages.put(("done",))
            except KeyboardInterrupt:
                messages.put(("interrupted",))
            except BaseException as exc:  # noqa: BLE001 - execute_cell records plugin errors; this is a bug
                messages.put(("crashed", f"{type(exc).__name__}: {exc}"))

        self._emit = messages.put
        thread = threading.Thread(target=work, name="xaibench-cell", daemon=True)
        thread.start()
        try:
            while True:
                message = messages.get()
                yield message
                if message[0] in ("done", "interrupted", "crashed"):
                    return
        finally:
            thread.join()
            self._emit = None

    def _log(self, message: tuple) -> None:
        emit = self._emit
        if emit is not None:
            emit(message)
