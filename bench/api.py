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
    cell_timeout: float | None = None,
    device: str = "cpu",
    resume: bool = False,
    retrain: bool = False,
    backend: str = "local",
    isolation: str = "process",
    workers: int | None = None,
    threads: int | None = None,
    address: str | None = None,
    progress: bool = True,
    save_attributions: int = 0,
) -> "pd.DataFrame":
    """Run a suite (built-in name or TOML path; default ``"quick"``) and return its records as a DataFrame.

    Args:
        out: run folder; default ``runs/<suite>-<UTC timestamp>``.
        methods, metrics: select suite entries by label or name (a registered name the suite
            does not list is added with default params); a list or a comma-separated string.
        tasks: ``dataset[/model[/target]]`` patterns (``*`` allowed) selecting suite tasks.
        seeds, n_instances: override the suite's.
        cell_timeout: seconds a cell may take (loading its task; then explaining and scoring);
            default: the suite's ``cell_timeout``, else 3600; 0: no limit.
        device: ``"cpu"`` or ``"cuda"``.
        resume: continue the run in ``out``: cells whose record key is present are not run again,
            except failed ones (``error`` records), which are retried. The plan is the one the
            run recorded (tasks, labels, params, seeds, sizes); selections given here replace
            their part. ``suite``, when given, must be the run's own (name, version, content).
        retrain: re-derive model weights instead of loading shipped or cached ones.
        isolation: ``"process"`` (a worker process: time limit, crashes contained) or ``"none"``
            (in this process: for debugging, and for plugins defined in a notebook).
        backend: ``"local"`` (this machine) or ``"ray"`` (a Ray cluster; ``pip install "xaibench[ray]"``).
        workers: cells side by side on this many workers (local default 1; Ray default: the
            cluster's CPUs, or GPUs on ``device="cuda"``).
        threads: torch CPU threads per worker (local default: CPUs // workers; Ray default 1,
            reserved per worker); records are bit-identical between runs with the same value.
        address: the Ray cluster's address (``"HOST:6379"``, ``"auto"``); default: Ray's choice.
        save_attributions: save the attributions of the first that many instances of every cell
            beside the records (``attributions/``, :mod:`xaibench.attributions`); 0: none.
    """
    from .runner import run_plan  # noqa: PLC0415

    plan = make_plan(suite, out=out, methods=methods, metrics=metrics, tasks=tasks, seeds=seeds,
                     n_instances=n_instances, cell_timeout=cell_timeout, resume=resume)
    result = run_plan(plan, out or default_out(plan.suite.name), device=device, resume=resume, retrain=retrain,
                      backend=backend, isolation=isolation, workers=workers, threads=threads, address=address,
                      progress=progress, save_attributions=save_attributions)
    frame = records_frame(result.records)
    frame.attrs["run_dir"] = str(result.directory)
    return frame


def make_plan(suite: str | Path | None, *, out: str | Path | None, methods=None, metrics=None, tasks=None,
              seeds: Sequence[int] | None = None, n_instances: int | None = None,
              cell_timeout: float | None = None, resume: bool = False) -> "Plan":
    """The :class:`~xaibench.suite.Plan` that :func:`run` (and ``xaibench run``) executes.

    Resuming rebuilds the plan the run folder's manifest records (see :func:`xaibench.suite.replay`);
    a folder that has no manifest yet (the run was stopped before writing it) is started afresh
    when ``suite`` is given. Nothing is written here.
    """
    from .errors import InvalidParameterError, ResultsError  # noqa: PLC0415
    from .suite import load_suite, resolve  # noqa: PLC0415

    selection = {"methods": _names(methods), "metrics": _names(metrics), "tasks": _names(tasks),
                 "seeds": None if seeds is None else list(seeds), "n_instances": n_instances,
                 "cell_timeout": cell_timeout}
    if not resume:
        return resolve(load_suite(suite or "quick"), **selection)
    if out is None:
        raise InvalidParameterError("resume needs the folder of the run to continue: pass out=... (--out DIR)")
    folder = Path(out)
    if not folder.is_dir():
        raise ResultsError(f"--out {folder} is not a run folder (it does not exist), so there is nothing to resume; "
                           f"start the run with `xaibench run --suite NAME --out {folder}`")
    if not (folder / "manifest.json").exists():
        if suite is None:
            raise ResultsError(f"{folder} has no manifest.json: its run was stopped before it started, so nothing "
                               f"was recorded; start it again with `xaibench run --suite NAME --out {folder}`")
        return resolve(load_suite(suite), **selection)  # nothing done yet: a fresh start
    return _replay(folder, suite, selection)


def _replay(folder: Path, suite: str | Path | None, selection: dict) -> "Plan":
    from .errors import ResultsError  # noqa: PLC0415
    from .store import check_same_suite, read_manifest  # noqa: PLC0415
    from .suite import load_suite, parse_suite, replay  # noqa: PLC0415

    started = read_manifest(folder)
    recorded = started.get("suite") or {}
    if not isinstance(recorded.get("text"), str):
        raise ResultsError(f"{folder}/manifest.json does not hold its suite's text; start a new run in another --out "
                           "folder")
    loaded = parse_suite(recorded["text"], source=str(recorded.get("source") or f"{folder}/manifest.json"),
                         default_name=str(recorded.get("name") or "suite"))
    if loaded.sha256 != recorded.get("sha256") or loaded.name != recorded.get("name"):
        raise ResultsError(f"{folder}/manifest.json is damaged: its suite text does not match its recorded name and "
                           "SHA-256; start a new run in another --out folder")
    if suite is not None:
        check_same_suite(started, {"suite": load_suite(suite).identity}, folder)
    plans = [started.get("plan")] + [r["plan"] for r in started.get("resumed") or [] if isinstance(r, dict)
                                     and "plan" in r]
    return replay(loaded, plans[-1], source=f"{folder}/manifest.json", **selection)


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
