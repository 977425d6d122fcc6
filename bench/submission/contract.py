"""The worker side of ``xaibench validate``: small picklable jobs run by ``WorkerProcess.call``.

Each job imports the submitted file if needed (:mod:`xaibench.submission.loader`), does one thing,
and returns plain data (dicts, NumPy arrays) — never raising for what the method does: an
exception, ``sys.exit`` or a refused write inside the method becomes a :class:`Failure` in the
result, so the driver can say what happened. A hang or ``os._exit`` ends the job from outside
(the worker's time limit, or its death), which the driver reports the same way.

* :class:`Describe`: import the file, find the class, check it can be registered; its metadata.
* :class:`Explain`: explain the first ``n`` instances of a task once (or each alone), timed; the
  attributions come back with their dtype and device, and whether the inputs were edited.
* :class:`CanonicalCell`: one cell of the canonical suite (every metric) on those instances, timed,
  for the time budget.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

from .loader import MethodSource

EXCEPTIONS = (Exception, SystemExit)


@dataclass(frozen=True)
class Failure:
    """What went wrong inside the method: the exception type, its message, where (file:line)."""

    type: str
    message: str
    where: str = ""

    @classmethod
    def of(cls, exc: BaseException, source: MethodSource) -> Failure:
        if isinstance(exc, SystemExit):
            return cls("SystemExit", f"called sys.exit({exc.code!r})", _where(exc, source))
        return cls(type(exc).__name__, str(exc) or type(exc).__name__, _where(exc, source))


def _where(exc: BaseException, source: MethodSource) -> str:
    """The deepest frame of the submitted file in ``exc``'s traceback (``my_method.py:12 in explain``)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == source.path]
    if not frames:
        return ""
    frame = frames[-1]
    return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()}"


def _sandbox_news() -> list[str]:
    from .sandbox import violations  # noqa: PLC0415

    return violations()


@dataclass(frozen=True)
class Describe:
    source: MethodSource

    def __call__(self) -> dict[str, Any]:
        from .loader import describe, load_class  # noqa: PLC0415

        try:
            cls = load_class(self.source)
            method = cls()
            info = describe(cls)
            if type(method)(**method.params) != method:
                info["problems"] = ["MyMethod(**method.params) does not rebuild an equal method: keep every setting "
                                    "in a dataclass field"]
        except EXCEPTIONS as exc:
            return {"failure": Failure.of(exc, self.source), "refused": _sandbox_news()}
        from .sandbox import state  # noqa: PLC0415

        return {**info, "problems": info.get("problems", []), "refused": _sandbox_news(), "sandbox": state()}


@dataclass(frozen=True)
class Explain:
    """Explain the first ``n`` instances of ``task`` with ``seed`` (``one_by_one``: each alone)."""

    source: MethodSource
    task: Any  # TaskRef
    context: Any  # RunContext
    n: int
    seed: int = 0
    one_by_one: bool = False

    def __call__(self) -> dict[str, Any]:
        import torch  # noqa: PLC0415

        from ..backends.cell import load_cached_task, seed_everything  # noqa: PLC0415
        from ..errors import NotApplicableError  # noqa: PLC0415
        from .loader import load_class  # noqa: PLC0415

        task = load_cached_task(self.task, self.context)
        x = task.inputs[: self.n].clone()  # the method's own copy: an edit in place cannot reach the next check
        pristine = x.clone()
        out: dict[str, Any] = {"task": self.task.name, "n": len(x), "input_shape": tuple(x.shape),
                               "input_dtype": str(x.dtype), "input_device": str(x.device)}
        try:
            method = load_class(self.source)()
            method.check(task)
            seed_everything(self.seed)
            start = time.perf_counter()
            if self.one_by_one:
                parts = [method.explain(task, x[i: i + 1], seed=self.seed) for i in range(len(x))]
                phi = torch.cat(parts) if all(isinstance(p, torch.Tensor) for p in parts) else parts[0]
            else:
                phi = method.explain(task, x, seed=self.seed)
            out["seconds"] = time.perf_counter() - start
        except NotApplicableError as exc:
            return {**out, "not_applicable": str(exc), "refused": _sandbox_news()}
        except EXCEPTIONS as exc:
            return {**out, "failure": Failure.of(exc, self.source), "refused": _sandbox_news()}
        out["inputs_edited"] = not torch.equal(x, pristine)
        out["refused"] = _sandbox_news()
        if not isinstance(phi, torch.Tensor):
            return {**out, "returned": type(phi).__name__}
        out |= {"returned": "Tensor", "shape": tuple(phi.shape), "dtype": str(phi.dtype), "device": str(phi.device),
                "attributions": phi.detach().to("cpu", torch.float64).numpy()}
        return out


@dataclass(frozen=True)
class CanonicalCell:
    """One cell of the canonical suite (all its metrics) for the method on ``task``, timed."""

    source: MethodSource
    label: str
    task: Any  # TaskRef
    metrics: tuple  # MetricEntry, ...
    context: Any  # RunContext
    seed: int = 0

    def __call__(self) -> dict[str, Any]:
        from ..backends.cell import Cell, execute_cell, load_cached_task  # noqa: PLC0415
        from ..suite import MethodEntry  # noqa: PLC0415
        from .loader import load_class  # noqa: PLC0415

        load_cached_task(self.task, self.context)  # loading is not the method's time
        cell = Cell(self.task, MethodEntry(self.label, load_class(self.source)()), self.metrics, self.seed,
                    self.context)
        start = time.perf_counter()
        records = list(execute_cell(cell))
        seconds = time.perf_counter() - start
        errors = sorted({f"{r['metric']}: {r['error_type']}: {r['error']}" for r in records if r["status"] == "error"})
        return {"seconds": seconds, "n": records[0]["n_instances"] if records else 0, "records": len(records),
                "errors": errors, "refused": _sandbox_news()}
