"""``xaibench validate FILE.py:Class``: the method contract, checked in a confined worker process.

The submitted file is imported only in the worker (:mod:`xaibench.submission.sandbox`: memory and
file-system limits, a time limit per check), never in this process. On a few tasks of the
canonical suite — one per data kind unless ``tasks`` says which — it checks, with
:mod:`xaibench.submission.contract` jobs:

1. the class can be registered (a frozen dataclass subclassing ``xaibench.Method`` with ``name``,
   ``family`` and ``explain``; its parameters rebuild it);
2. **shape and dtype kept**: ``explain(task, x, seed=0)`` returns a tensor of ``x``'s shape, dtype
   and device, and leaves ``x`` unchanged;
3. **finite values**;
4. **same seed, same result** (exactly);
5. **a batch gives the same as its instances one by one** (relative tolerance 1e-4 of each value
   plus 1e-5 of the largest |φ|, as ``tests/contract`` checks the built-in methods);
6. **deterministic as declared**: a method with ``stochastic = False`` ignores the seed;
7. **time budget**: one cell of the canonical suite (explanation and every metric) on the same
   instances, projected linearly to the suite's instance count, fits the suite's ``cell_timeout``;
   and every metric of that cell scores it without an error (re-explaining perturbed inputs too);

and throughout, that the method neither hangs (each check has ``timeout`` seconds), nor exits the
process, nor writes outside its scratch folder or starts processes. Every failure says what
happened and how to fix it. After a hang or an exit the remaining checks are not run.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import CellTimeoutError, SubmissionError, WorkerCallError, WorkerCrashedError
from .contract import CanonicalCell, Describe, Explain, Failure
from .loader import MethodSource, parse_spec
from .sandbox import DEFAULT_MEMORY_MB, Confinement

DEFAULT_TIMEOUT = 120.0
"""Seconds each check may take (importing, one explanation pass ...) before the method counts as hung."""
VALIDATION_INSTANCES = 4
RTOL, ATOL_OF_MAX = 1e-4, 1e-5
OTHER_SEED = 7

FIX = {
    "hang": "look for a loop that never ends or a blocking call (input(), a lock, a network request); a method "
            "that is only slow must be made faster: explain the whole batch with tensor operations",
    "exit": "never end the process: raise an exception (e.g. ValueError) instead of calling sys.exit or os._exit",
    "crash": "the process died: a segmentation fault in compiled code, or the machine's memory ran out",
    "write": "write only to the working directory or tempfile.gettempdir() (a private scratch folder, deleted "
             "afterwards), or better keep everything in memory; start no processes",
    "memory": "use less memory: process the batch in chunks, free large intermediates; or raise the limit with "
              "--memory-limit MB",
    "shape": "return one attribution per input feature: a tensor of the same shape as x, e.g. torch.zeros_like(x)",
    "dtype": "return x's dtype and device, e.g. phi.to(dtype=x.dtype, device=x.device)",
    "finite": "avoid NaN and infinity: guard divisions (add a small epsilon), clamp logarithms, check gradients",
    "edit": "never modify the tensors you are given: work on a copy (x = x.clone()) or out-of-place operations",
    "seed": "draw all randomness from the seed: torch.Generator().manual_seed(seed) or xaibench.rng, never the "
            "global generators, and avoid non-deterministic operations",
    "batch": "compute each instance's attribution from that instance alone: share random draws across the batch "
             "(draw once, use for every row) instead of drawing per row in batch order",
    "stochastic": "declare stochastic: ClassVar[bool] = True, or make the result ignore the seed",
    "time": "make the method faster: vectorise over the batch and over samples, reduce sampling budgets in its "
            "defaults",
    "raise": "fix the error at the place shown; run the method on the task in a notebook to debug it "
             "(xaibench.load_task(...) then YourMethod().explain(task, task.inputs[:4], seed=0))",
    "class": "see docs/SUBMITTING.md for a complete example class",
    "import": "fix the Python error at the line shown (`python YOUR_FILE.py` shows it in context); a module it "
              "imports must be installed in this environment (pip install ...)",
}
IMPORT_ERRORS = {"SyntaxError", "IndentationError", "TabError", "ImportError", "ModuleNotFoundError"}
"""Failures of ``import FILE`` itself: said as the file's, not the class's."""


@dataclass
class Check:
    """One contract check: ``ok``, ``failed``, ``skipped`` (does not apply) or ``not run``."""

    name: str
    status: str
    detail: str = ""
    fix: str = ""
    task: str | None = None


@dataclass
class Report:
    spec: str
    method: dict[str, Any] | None = None
    sandbox: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT

    @property
    def passed(self) -> bool:
        return self.method is not None and not self.failed and any(c.status == "ok" for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "failed"]

    def add(self, name: str, status: str, detail: str = "", fix: str = "", task: str | None = None) -> Check:
        check = Check(name, status, detail, fix, task)
        self.checks.append(check)
        return check

    def render(self) -> str:
        lines = [f"Validating {self.spec}"]
        if self.method:
            m = self.method
            kind = "stochastic" if m["stochastic"] else "deterministic"
            lines.append(f"  method {m['name']!r}: {m['family']}, {kind}, parameters {m['params'] or '{}'}")
        if self.sandbox:
            memory = self.sandbox.get("memory_mb")
            lines.append(f"  sandbox: memory limit {f'{memory} MB' if memory else 'none'}; writes confined to a "
                         f"scratch folder ({self.sandbox.get('landlock')}; audit hook); {self.timeout:g} s per check")
        current = object()
        for check in self.checks:
            if check.task != current:
                current = check.task
                lines.append(f"{check.task}:" if check.task else "file and class:")
            lines.append(f"  {check.status.upper() if check.status == 'failed' else check.status:8} {check.name}"
                         + (f": {check.detail}" if check.detail else ""))
            if check.status == "failed" and check.fix:
                lines.append(f"           how to fix: {check.fix}")
        if self.passed:
            lines.append(f"PASSED: all {sum(c.status == 'ok' for c in self.checks)} checks that apply.")
        else:
            lines.append(f"FAILED: {len(self.failed)} check(s) failed; fix them and run `xaibench validate "
                         f"{self.spec}` again." if self.failed else "FAILED: no check could run.")
        return "\n".join(lines)


def validate(spec: str | MethodSource, *, suite: str | None = None, results: str | None = None,
             tasks: Sequence[str] | None = None,
             n_instances: int = VALIDATION_INSTANCES, device: str = "cpu", memory_mb: int | None = DEFAULT_MEMORY_MB,
             timeout: float = DEFAULT_TIMEOUT, worker=None) -> Report:
    """Check the method ``FILE.py:Class`` (see the module docstring); nothing is written but a
    scratch folder, removed afterwards.

    Args:
        suite, results: the canonical suite (:func:`xaibench.submission.canonical.canonical_suite`:
            ``suite`` when given, else the suite of the published ``results``, else ``standard``).
        tasks: ``dataset[/model[/target]]`` patterns of the suite's tasks to check on (default: one per data kind).
        memory_mb: the worker's address-space limit (``None``: none; always none on CUDA).
        timeout: seconds each check may take.
        worker: a worker already confined for this file (:func:`confined_worker`), to validate several
            classes of one file in one process; default: a new one, closed afterwards.
    """
    from .canonical import canonical_plan, run_context, validation_tasks  # noqa: PLC0415

    source = spec if isinstance(spec, MethodSource) else parse_spec(spec)
    plan = canonical_plan(suite, results=results, tasks=tasks)
    report = Report(source.spec, timeout=timeout)
    context = run_context(plan, device=device, n_instances=n_instances)
    refs = validation_tasks(plan, explicit=bool(tasks))
    if worker is not None:
        _run_checks(report, worker, source, refs, context, plan, timeout)
        return report
    with confined_worker(source, memory_mb=None if device.startswith("cuda") else memory_mb) as own:
        _run_checks(report, own, source, refs, context, plan, timeout)
    return report


def _run_checks(report: Report, worker, source: MethodSource, refs, context, plan, timeout: float) -> None:
    described = _job(report, worker, Describe(source), timeout, "importing the file", None, "the method class")
    if described is None:
        return
    report.sandbox = described.get("sandbox", {})
    if "failure" in described:
        _failure(report, "the method class", described["failure"], None)
        return
    report.method = {k: described[k] for k in ("name", "family", "stochastic", "description", "params")}
    for problem in described["problems"]:
        report.add("the method class", "failed", problem, FIX["class"])
    _refusals(report, described, None)
    for ref in refs:
        if not _check_task(report, worker, source, ref, context, plan, timeout):
            break


@contextmanager
def confined_worker(source: MethodSource, *, memory_mb: int | None, preload: bool = False):
    """A private worker process confined for ``source`` (scratch folder removed afterwards)."""
    import logging  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from ..backends.worker import WorkerProcess, WorkerSetup  # noqa: PLC0415

    scratch = tempfile.mkdtemp(prefix="xaibench-scratch-")
    confinement = Confinement(scratch, memory_mb, guarded=(source.path,),
                              preload=(source.module_name, source.path) if preload else None)
    worker = WorkerProcess()
    try:
        worker.prepare(WorkerSetup((), frozenset(), logging.getLogger("xaibench").getEffectiveLevel(),
                                   tuple(sys.path), initializer=confinement))
        yield worker
    finally:
        worker.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _check_task(report: Report, worker, source: MethodSource, ref, context, plan, timeout: float) -> bool:
    """The checks on one task; ``False`` when the method hung or exited (stop everything)."""
    task = ref.name
    small = dataclasses.replace(ref, n_instances=None)  # a few instances even where the suite gives the task more
    first = _job(report, worker, Explain(source, small, context, context.n_instances, 0), timeout,
                 f"explaining {context.n_instances} instances", task, "explain")
    if first is None:
        return False
    if "not_applicable" in first:
        report.add("explain", "skipped", f"the method does not apply to this task ({first['not_applicable']})",
                   task=task)
        return True
    if not _explained(report, first, task):
        return True
    reference = first["attributions"]
    again = _job(report, worker, Explain(source, small, context, context.n_instances, 0), timeout,
                 "explaining the same instances again", task, "same seed, same result")
    if again is None:
        return False
    if _usable(report, again, task, "same seed, same result"):
        diff = _max_difference(reference, again["attributions"])
        report.add("same seed, same result", "ok" if diff == 0 else "failed",
                   "identical" if diff == 0 else f"seed 0 gave different attributions twice (max |Δ| = {diff:.3g})",
                   FIX["seed"], task)
    alone = _job(report, worker, Explain(source, small, context, context.n_instances, 0, one_by_one=True), timeout,
                 "explaining the instances one by one", task, "batch equals one by one")
    if alone is None:
        return False
    if _usable(report, alone, task, "batch equals one by one"):
        bad = _disagreeing(reference, alone["attributions"])
        report.add("batch equals one by one", "ok" if not bad else "failed",
                   f"{len(reference)} instances agree" if not bad else
                   f"instance(s) {bad[:5]} differ when explained alone (max |Δ| = "
                   f"{_max_difference(reference, alone['attributions']):.3g})", FIX["batch"], task)
    if report.method and not report.method["stochastic"]:
        other = _job(report, worker, Explain(source, small, context, context.n_instances, OTHER_SEED), timeout,
                     f"explaining with seed {OTHER_SEED}", task, "deterministic as declared")
        if other is None:
            return False
        if _usable(report, other, task, "deterministic as declared"):
            diff = _max_difference(reference, other["attributions"])
            report.add("deterministic as declared", "ok" if diff == 0 else "failed",
                       "the seed does not change the result" if diff == 0 else
                       f"stochastic = False, but seeds 0 and {OTHER_SEED} differ (max |Δ| = {diff:.3g})",
                       FIX["stochastic"], task)
    return _time_budget(report, worker, source, ref, context, plan, timeout, first)


def _time_budget(report: Report, worker, source, ref, context, plan, timeout: float, first: dict) -> bool:
    task, k = ref.name, first["n"]
    n_suite = getattr(ref, "n_instances", None) or plan.n_instances or k  # the task's own count where it has one
    budget = plan.cell_timeout or math.inf
    allowance = max(timeout, 2 * budget * k / n_suite) if math.isfinite(budget) else None
    small = dataclasses.replace(ref, n_instances=None)  # timed on the few, projected to the task's own count
    result = _job(report, worker, CanonicalCell(source, report.method["name"], small, plan.metrics, context),
                  allowance, f"one canonical cell on {k} instances", task, "time budget")
    if result is None:
        return False
    projected = result["seconds"] * n_suite / max(1, result["n"])
    detail = (f"one cell of the suite ({len(plan.metrics)} metrics) took {result['seconds']:.2f} s on {result['n']} "
              f"instances: about {projected:.0f} s for its {n_suite}, of the {budget:g} s a cell may take")
    report.add("time budget", "ok" if projected <= budget else "failed", detail, FIX["time"], task)
    if result["errors"]:
        report.add("every metric scores it", "failed", f"{len(result['errors'])} metric(s) failed on its "
                   f"attributions, e.g. {result['errors'][0]}", FIX["raise"], task)
    _refusals(report, result, task)
    return True


def _explained(report: Report, result: dict, task: str) -> bool:
    """Checks on the first explanation pass; ``False`` when it gave nothing to compare."""
    if "failure" in result:
        _failure(report, "explain", result["failure"], task)
        return False
    _refusals(report, result, task)
    if result["returned"] != "Tensor":
        report.add("shape and dtype kept", "failed", f"explain returned {result['returned']}, not a torch.Tensor",
                   FIX["shape"], task)
        return False
    expected = (result["input_shape"], result["input_dtype"], result["input_device"])
    got = (result["shape"], result["dtype"], result["device"])
    report.add("shape and dtype kept", "ok" if got == expected else "failed",
               f"{_fmt(got)}" + ("" if got == expected else f", but the inputs are {_fmt(expected)}"),
               FIX["shape"] if got[0] != expected[0] else FIX["dtype"], task)
    if result["inputs_edited"]:
        report.add("inputs left unchanged", "failed", "explain modified x in place", FIX["edit"], task)
    phi = result["attributions"]
    bad = ~np.isfinite(phi.reshape(len(phi), -1)).all(axis=1) if phi.ndim else np.array([not np.isfinite(phi)])
    report.add("finite values", "ok" if not bad.any() else "failed",
               "every value is finite" if not bad.any() else
               f"NaN or infinite values for instance(s) {np.flatnonzero(bad).tolist()[:5]}", FIX["finite"], task)
    return got[0] == expected[0] and not bad.any()


def _usable(report: Report, result: dict, task: str, name: str) -> bool:
    if "failure" in result:
        _failure(report, name, result["failure"], task)
        return False
    _refusals(report, result, task)
    if result.get("returned") != "Tensor" or "attributions" not in result:
        report.add(name, "failed", f"explain returned {result.get('returned')}", FIX["shape"], task)
        return False
    return True


def _failure(report: Report, name: str, failure: Failure, task: str | None) -> None:
    where = f" at {failure.where}" if failure.where else ""
    text = f"{failure.type}: {failure.message}{where}"
    if failure.type == "SystemExit":
        report.add(name, "failed", f"the method exited: {failure.message}{where}; it was stopped", FIX["exit"], task)
    elif failure.type == "PermissionError" and "xaibench sandbox" in failure.message:
        report.add(name, "failed", f"refused: {failure.message.split(': ', 1)[-1]}{where}", FIX["write"], task)
    elif failure.type == "MemoryError" or "can't allocate memory" in failure.message:
        limit = report.sandbox.get("memory_mb")
        report.add(name, "failed", f"ran out of memory (limit {limit} MB): {text}", FIX["memory"], task)
    elif name == "the method class" and failure.type in IMPORT_ERRORS:
        report.add("importing the file", "failed", f"it cannot be imported: {text}", FIX["import"], task)
    elif failure.type == "SubmissionError":
        report.add(name, "failed", failure.message, FIX["class"], task)
    else:
        report.add(name, "failed", f"raised {text}", FIX["raise"] if name != "the method class" else FIX["class"],
                   task)


def _refusals(report: Report, result: dict, task: str | None) -> None:
    """One failed check per distinct refusal (a method that writes on every call is told once)."""
    seen = {c.detail for c in report.checks if c.name == "writes only in its folder"}
    for text in dict.fromkeys(result.get("refused") or []):
        detail = f"the method {text}; it was refused"
        if detail not in seen:
            report.add("writes only in its folder", "failed", detail, FIX["write"], task)


def _job(report: Report, worker, job, timeout: float | None, doing: str, task: str | None, name: str):
    """``job`` run in the worker; ``None`` (with a failed check saying what happened) when it hung or died."""
    try:
        return worker.call(job, timeout)
    except CellTimeoutError:
        report.add(name, "failed", f"the method hung: no result within {timeout:g} s while {doing}; it was stopped",
                   FIX["hang"], task)
    except WorkerCrashedError as exc:
        exited = "exit code" in str(exc)
        report.add(name, "failed", f"the method {'ended its process' if exited else 'crashed its process'} while "
                   f"{doing} ({str(exc).split('(', 1)[-1].rstrip(')')}); it was stopped",
                   FIX["exit"] if exited else FIX["crash"], task)
    except WorkerCallError as exc:
        raise SubmissionError(f"validation itself failed while {doing} (not the method's fault, please report it):\n"
                              f"{exc}") from None
    _not_run(report, task)
    return None


def _not_run(report: Report, task: str | None) -> None:
    report.add("remaining checks", "not run", "stopped after the failure above", task=task)


def _fmt(triple: tuple) -> str:
    shape, dtype, device = triple
    return f"{tuple(shape)} {dtype.replace('torch.', '')} on {device}"


def _max_difference(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return math.inf
    diff = np.abs(a - b)
    both_nan = np.isnan(a) & np.isnan(b)
    return float(np.where(both_nan, 0.0, np.nan_to_num(diff, nan=np.inf)).max(initial=0.0))


def _disagreeing(together: np.ndarray, alone: np.ndarray) -> list[int]:
    """Instances whose attributions differ beyond the contract's tolerance (see the module docstring)."""
    if together.shape != alone.shape:
        return list(range(len(together)))
    scale = np.abs(together).max(initial=0.0)
    close = np.abs(together - alone) <= RTOL * np.abs(alone) + ATOL_OF_MAX * scale + 1e-12
    return np.flatnonzero(~close.reshape(len(close), -1).all(axis=1)).tolist()
