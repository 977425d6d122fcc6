"""The Python API of the harness, exposed as ``xaibench.run`` and ``xaibench.leaderboard``.

::

    import xaibench
    records = xaibench.run("quick")                  # a pandas DataFrame, one row per record
    print(xaibench.leaderboard(records))             # Markdown; or format="latex" | "csv" | "json"
    records = xaibench.run("my_suite.toml", methods=["saliency"], seeds=[0, 1], out="runs/mine")

The run folder (manifest, records, leaderboard) is ``records.attrs["run_dir"]``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from .suite import Plan

DEFAULT_RUNS_DIR = Path("runs")


def run(
    suite: str | Path | None = None,
    *,
    out: str | Path | None = None,
    methods: Sequence[str] | str | None = None,
    metrics: Sequence[str] | str | None = None,
    tasks: Sequence[str] | str | None = None,
    seeds: Sequence[int] | None = None,
    n_instances: int | None = None,
    device: str = "cpu",
    resume: bool = False,
    retrain: bool = False,
    backend: str = "local",
    progress: bool = True,
) -> "pd.DataFrame":
    """Run a suite (built-in name or TOML path; default ``"quick"``) and return its records as a DataFrame.

    Args:
        out: run folder; default ``runs/<suite>-<UTC timestamp>``.
        methods, metrics: select suite entries by label or name (a registered name the suite
            does not list is added with default params); a list or a comma-separated string.
        tasks: ``dataset[/model[/target]]`` patterns (``*`` allowed) selecting suite tasks.
        seeds, n_instances: override the suite's.
        device: ``"cpu"`` or ``"cuda"``.
        resume: continue the run in ``out``: cells whose record key is present are not run again,
            except failed ones (``error`` records), which are retried.
            Without ``suite``, the run's own suite and selections (from its manifest) are used.
        retrain: re-derive model weights instead of loading shipped or cached ones.
    """
    from .runner import run_plan  # noqa: PLC0415

    plan = make_plan(suite, out=out, methods=methods, metrics=metrics, tasks=tasks, seeds=seeds,
                     n_instances=n_instances, resume=resume)
    result = run_plan(plan, out or default_out(plan.suite.name), device=device, resume=resume, retrain=retrain,
                      backend=backend, progress=progress)
    frame = records_frame(result.records)
    frame.attrs["run_dir"] = str(result.directory)
    return frame


def make_plan(suite: str | Path | None, *, out: str | Path | None, methods=None, metrics=None, tasks=None,
              seeds: Sequence[int] | None = None, n_instances: int | None = None, resume: bool = False) -> "Plan":
    """The :class:`~xaibench.suite.Plan` that :func:`run` (and ``xaibench run``) executes."""
    from .errors import InvalidParameterError  # noqa: PLC0415
    from .suite import load_suite, parse_suite, resolve  # noqa: PLC0415

    if resume and out is None:
        raise InvalidParameterError("resume needs the folder of the run to continue: pass out=... (--out DIR)")
    selection = {"methods": _names(methods), "metrics": _names(metrics), "tasks": _names(tasks),
                 "seeds": None if seeds is None else list(seeds), "n_instances": n_instances}
    if suite is None and resume and Path(out, "manifest.json").exists():  # continue the run as it was started
        from .store import RunStore  # noqa: PLC0415

        started = RunStore(out).manifest()
        loaded = parse_suite(started["suite"]["text"], source=started["suite"]["source"],
                             default_name=started["suite"]["name"])
        plan = started["plan"]
        previous = {"methods": [m["label"] for m in plan["methods"]], "metrics": [m["label"] for m in plan["metrics"]],
                    "tasks": plan["tasks"], "seeds": plan["seeds"], "n_instances": plan["n_instances"]}
        selection = {k: previous[k] if v is None else v for k, v in selection.items()}
    else:
        loaded = load_suite(suite or "quick")
    return resolve(loaded, **selection)


def leaderboard(source: Any, format: str = "markdown") -> str:  # noqa: A002
    """Render records — a DataFrame from :func:`run`, a list of records, or run folders."""
    from .tables import leaderboard as render  # noqa: PLC0415

    return render(source, format)


def records_frame(records: Sequence[dict[str, Any]]) -> "pd.DataFrame":
    import pandas as pd  # noqa: PLC0415

    return pd.DataFrame.from_records(list(records))


def default_out(suite_name: str) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out, n = DEFAULT_RUNS_DIR / f"{suite_name}-{stamp}", 1
    while out.exists():
        n += 1
        out = DEFAULT_RUNS_DIR / f"{suite_name}-{stamp}-{n}"
    return out


def _names(value: Sequence[str] | str | None) -> list[str] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return [v.strip() for v in items if v.strip()] or None
