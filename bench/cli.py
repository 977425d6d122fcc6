"""``xaibench`` command line: ``list``, ``plan``, ``run``, ``leaderboard``, ``throughput``, ``validate``,
``submit``, ``publish``.

Importing this module and ``xaibench --help`` import neither torch nor the plugins; each
command imports what it needs. Each command is one function that adds its parser
(``_add_<command>``) and one that runs it (``_<command>``), listed in :data:`COMMANDS`.

Exit status: 0 done; 1 a run in which no cell succeeded (every record an error or skipped, at
least one error), a ``leaderboard --check`` that found a rendered file out of date, or a method
that failed validation; 2 a user error (unknown names, malformed suites or records, bad options, a
run folder in use), with one message and no traceback; 130 interrupted (Ctrl-C) and 143 terminated
(SIGTERM), both with every record written so far kept and the command that resumes the run.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

KINDS = ("datasets", "models", "methods", "metrics", "suites")
FORMATS = ("markdown", "latex", "csv", "json")
EXIT_ALL_FAILED = 1
EXIT_CHECK_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def build_parser() -> argparse.ArgumentParser:
    from . import __version__  # noqa: PLC0415 - a constant; no torch

    parser = argparse.ArgumentParser(
        prog="xaibench",
        description="Benchmark explanation (XAI) methods: run a suite of tasks x methods x metrics, "
                    "then read the leaderboard.",
        epilog="Examples:\n  xaibench run                       # the quick suite, then its leaderboard\n"
               "  xaibench list methods\n  xaibench leaderboard runs/quick-* --format latex",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"xaibench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every skipped cell")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    sub.required = True
    for add_parser, _ in COMMANDS.values():
        add_parser(sub)
    return parser


def _add_list(sub) -> None:
    p = sub.add_parser("list", help="list registered datasets, models, methods, metrics or suites",
                       description="List registry entries with one-line descriptions (models with their targets).")
    p.add_argument("kind", nargs="?", choices=KINDS, help="what to list (default: everything)")


def _count(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: expected a number >= 0")
    return value


def _positive(kind):
    """argparse type: a number of ``kind`` > 0."""
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text}: expected a number > 0")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return parse


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run a suite and print its leaderboard",
                       description="Run a suite; records go to a run folder, the leaderboard to "
                                   "leaderboard.md beside them and to stdout.")
    p.add_argument("--suite", help="built-in suite name or path to a .toml file "
                                   "(default: quick; with --resume, the suite and selections the run started with)")
    p.add_argument("--out", help="run folder (default: runs/<suite>-<UTC time>)")
    p.add_argument("--methods", help="comma-separated method labels or names to run (default: the suite's)")
    p.add_argument("--metrics", help="comma-separated metric labels or names (cost metrics are always recorded)")
    p.add_argument("--tasks", help="comma-separated dataset[/model[/target]] patterns, * allowed")
    p.add_argument("--seeds", help="comma-separated integer seeds (default: the suite's)")
    p.add_argument("--n-instances", type=int, help="explain the first N test rows (default: the suite's)")
    p.add_argument("--cell-timeout", type=float, metavar="SECONDS",
                   help="stop a cell (one task x method x seed) that takes longer, recording a timeout "
                        "(default: the suite's cell_timeout, else 3600; 0: no limit; needs --isolation process)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out: skip recorded cells, retry failed ones")
    p.add_argument("--retrain", action="store_true", help="re-derive model weights instead of loading them")
    p.add_argument("--backend", default="local",
                   help="where cells run: local (default), or ray: a Ray cluster (pip install \"xaibench[ray]\")")
    p.add_argument("--workers", type=int, metavar="N",
                   help="cells run side by side on N workers (local default: 1; ray default: the cluster's CPUs, "
                        "or GPUs with --device cuda)")
    p.add_argument("--threads", type=int, metavar="T",
                   help="torch CPU threads per worker (local default: CPUs / workers; ray default: 1, and each "
                        "worker reserves T CPUs); records are bit-identical between runs with the same T")
    p.add_argument("--address", metavar="ADDR",
                   help="--backend ray: the cluster's address, e.g. HOST:6379 or auto (default: RAY_ADDRESS, "
                        "else a cluster on this machine, else a new local Ray instance)")
    p.add_argument("--isolation", default="process", choices=("process", "none"),
                   help="process (default): each cell in a worker process, with a time limit and crashes contained; "
                        "none: in this process, for debugging")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no leaderboard on stdout")
    p.add_argument("--save-attributions", type=_count, nargs="?", const=8, default=0, metavar="N",
                   help="save the attributions of the first N instances of every cell (default N: 8) in "
                        "RUN_DIR/attributions/ (.npz), for the site's heat-map gallery")


def _add_plan(sub) -> None:
    p = sub.add_parser("plan", help="print a suite's cells and their measured cost estimate, before running it",
                       description="Print, per task, the cells a suite runs and their estimated CPU time, from the "
                                   "committed calibration table; then the total and the wall time on --workers "
                                   "workers against the 2-hour budget. Nothing is loaded or run. With --calibrate, "
                                   "measure the table instead (see xaibench/plan.py).")
    p.add_argument("--suite", default="standard", help="built-in suite name or .toml path (default: standard)")
    for option, text in (("--methods", "comma-separated method labels or names (default: the suite's)"),
                         ("--metrics", "comma-separated metric labels or names (default: the suite's)"),
                         ("--tasks", "comma-separated dataset[/model[/target]] patterns, * allowed"),
                         ("--seeds", "comma-separated integer seeds (default: the suite's and its methods')")):
        p.add_argument(option, help=text)
    p.add_argument("--n-instances", type=int, help="explain the first N test rows (default: the suite's)")
    p.add_argument("--workers", type=int, default=2, metavar="N",
                   help="one-thread workers the run will use, for the wall-time estimate (default: 2)")
    p.add_argument("--calibration", metavar="FILE", help="calibration table (default: the one shipped with xaibench)")
    p.add_argument("--calibrate", action="store_true",
                   help="measure the calibration table: run the suite's cells (each method's first seed, "
                        "--n-instances instances, default 8) into --out, or read --from runs; then write --output")
    p.add_argument("--out", help="--calibrate: the run folder of the calibration run (resumed when it exists)")
    p.add_argument("--from", dest="sources", nargs="+", metavar="RUN_DIR",
                   help="--calibrate: read these run or results folders instead of running")
    p.add_argument("--output", metavar="FILE", help="--calibrate: where to write the table (default: the shipped "
                                                    "one); entries measured anew replace its entries")
    p.add_argument("--quiet", action="store_true", help="--calibrate: no progress bar")


def _add_leaderboard(sub) -> None:
    p = sub.add_parser("leaderboard", help="render the leaderboard of run or results folders",
                       description="Render the leaderboard of run folders (or their records.jsonl files) and "
                                   "results folders (records.parquet); a cell recorded more than once counts "
                                   "once: the last record read. --save writes a results folder from run folders; "
                                   "--check proves a results folder's rendered files are what its records give.")
    p.add_argument("runs", nargs="+", metavar="DIR",
                   help="run folder(s) made by `xaibench run`, or results folders made by --save")
    p.add_argument("--format", default="markdown", choices=FORMATS, help="output format (default: markdown)")
    p.add_argument("--output", help="write to this file instead of stdout")
    p.add_argument("--save", metavar="RESULTS_DIR",
                   help="write the records of the run folders as a results folder (records.parquet, manifest.json) "
                        "and render its leaderboard files LEADERBOARD.md, .tex, .csv, .json (into RESULTS_DIR)")
    p.add_argument("--render-into", metavar="FOLDER", help="--save: render the leaderboard files here instead")
    p.add_argument("--formats", default=",".join(FORMATS),
                   help=f"--save: comma-separated formats to render (default: {','.join(FORMATS)})")
    p.add_argument("--check", action="store_true",
                   help="check that the rendered files of the results folder are exactly what its records give "
                        "(exit status 1 if not); warn if the records' value code is not this installation's")
    p.add_argument("--render", action="store_true",
                   help="render the files the results folder's manifest names again from its records")


def _add_throughput(sub) -> None:
    p = sub.add_parser("throughput", help="explanations per second over batch sizes, against each method's floor",
                       description="Sweep the batch size per (method, task) on one device: explanations per second, "
                                   "peak memory, the best batch size and the ratio to the method's floor (its bare "
                                   "forward/backward passes), medians over repeats. Methods and their parameters "
                                   "come from --suite.",
                       epilog="Example: xaibench throughput --methods integrated_gradients,smoothgrad,kernel_shap "
                              "--tasks mnist_5k/cnn/logit,mnist_5k/vae/neg_elbo --device cuda "
                              "--output results/speed/throughput-cuda.md")
    p.add_argument("--suite", default="standard", help="suite the methods and tasks come from (default: standard)")
    p.add_argument("--methods", help="comma-separated method labels or names (default: the suite's)")
    p.add_argument("--tasks", help="comma-separated dataset[/model[/target]] patterns (default: the suite's)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--batch-sizes", help="comma-separated increasing instance counts per call "
                                         "(default: 1,4,16,64 on cpu; 1,4,16,64,256,1024 on cuda)")
    p.add_argument("--repeats", type=int, default=5, help="most timed rounds per batch size (default: 5)")
    p.add_argument("--budget", type=float, default=10.0,
                   help="stop timing a batch size after the round that reaches this many seconds (default: 10)")
    p.add_argument("--max-call", type=float, default=60.0,
                   help="do not run a batch size whose call is expected to take longer than this many seconds (default: 60)")
    p.add_argument("--clock", default="wall", choices=("wall", "process"),
                   help="wall seconds (default), or CPU seconds of the process: steadier on a shared CPU")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--note", default="", help="a line for the table's header (e.g. that the machine was shared)")
    p.add_argument("--output", help="write the Markdown table to this file (default: stdout only)")
    p.add_argument("--json", help="also write the measurements as JSON to this file")


def _add_validate(sub) -> None:
    p = sub.add_parser("validate", help="check a third-party method against the method contract",
                       description="Run the contract checks on FILE.py:Class in a confined worker process (time, "
                                   "memory and file-system limits): shape and dtype kept, finite values, same seed "
                                   "same result, batch equals one by one, time budget; say what failed and how to "
                                   "fix it. See docs/SUBMITTING.md.")
    p.add_argument("method", metavar="FILE.py:Class", help="the file and the class of the method")
    _submission_options(p)
    p.add_argument("--n-instances", type=int, default=4, help="instances per check (default: 4)")


def _add_submit(sub) -> None:
    p = sub.add_parser("submit", help="validate a method, run the canonical suite on it, write a result bundle",
                       description="Validate FILE.py:Class, run the canonical standard suite on it in a confined "
                                   "worker, write a bundle (records, source, hashes) and print its ranks against "
                                   "every published method. See docs/SUBMITTING.md.")
    p.add_argument("method", metavar="FILE.py:Class", help="the file and the class of the method")
    p.add_argument("--name", help="the leaderboard row name (default: the method's name)")
    p.add_argument("--out", help="bundle folder (default: bundles/<name>-<UTC time>)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted submission in --out")
    p.add_argument("--save-attributions", type=_count, default=8, metavar="N",
                   help="attributions saved per cell for the site's gallery (default: 8; 0: none)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _submission_options(p)


def _submission_options(p) -> None:
    p.add_argument("--tasks", help="comma-separated dataset[/model[/target]] patterns of the suite's tasks "
                                   "(submit: a partial bundle, for a first look; publish refuses it)")
    p.add_argument("--results", help="published results folder (default: results); its standard/ suite is "
                                     "the canonical one, its records what ranks compare against")
    p.add_argument("--suite", help="another suite than the canonical one (development only: publish refuses it)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--memory-limit", type=_positive(int), default=None, metavar="MB",
                   help="address-space limit of the worker in MiB (default: 8192; 0: none; none on cuda)")
    p.add_argument("--timeout", type=_positive(float), default=None, metavar="SECONDS",
                   help="seconds each validation check may take before the method counts as hung (default: 120)")


def _add_publish(sub) -> None:
    p = sub.add_parser("publish", help="verify result bundles, merge them into results/, render leaderboard and site",
                       description="Verify each bundle (hashes, canonical suite and parameters, complete coverage), "
                                   "merge it into RESULTS/submissions/, and regenerate RESULTS/LEADERBOARD.* and the "
                                   "static site. Submitted code is never imported or run.")
    p.add_argument("bundles", nargs="*", metavar="BUNDLE",
                   help="bundle folders made by `xaibench submit FILE.py:Class`")
    p.add_argument("--results", help="results folder (default: results)")
    p.add_argument("--site", help="where to write the static site (default: RESULTS/site)")
    p.add_argument("--replace", action="store_true", help="replace a published submission of the same name")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    from .errors import XaiBenchError  # noqa: PLC0415 - light module

    try:
        return COMMANDS[args.command][1](args)
    except XaiBenchError as exc:
        print(f"xaibench: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # `xaibench list | head`: the reader left; say nothing more
        import os  # noqa: PLC0415

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as exc:
        terminated = type(exc).__name__ == "RunTerminated"
        print(f"\nxaibench: {'terminated (SIGTERM)' if terminated else 'interrupted'}; "
              f"records written so far are kept.{_resume_hint(args)}", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def _resume_hint(args: argparse.Namespace) -> str:
    out = getattr(args, "out", None)
    if not out:
        return ""
    from pathlib import Path  # noqa: PLC0415

    if (Path(out) / "manifest.json").exists():
        return f" Resume with: `xaibench run --resume --out {out}{_where_options(args)}`"
    return " Nothing was recorded yet; run the same command again to start over."


def _where_options(args: argparse.Namespace) -> str:
    """The options that say where cells ran (a resumed run goes on there, too)."""
    backend = getattr(args, "backend", "local")
    where = [("backend", None if backend == "local" else backend)]
    where += [(flag, getattr(args, flag, None)) for flag in ("address", "workers", "threads")]
    return "".join(f" --{flag} {value}" for flag, value in where if value is not None)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (it may be swapped after set-up)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _configure_logging(verbose: bool) -> None:
    logger = logging.getLogger("xaibench")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("xaibench: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)


# -- commands ---------------------------------------------------------------------------------
def _run(args: argparse.Namespace) -> int:
    from .api import default_out, make_plan  # noqa: PLC0415

    plan = make_plan(args.suite, out=args.out, methods=args.methods, metrics=args.metrics, tasks=args.tasks,
                     seeds=_seeds(args.seeds), n_instances=args.n_instances, cell_timeout=args.cell_timeout,
                     resume=args.resume)
    args.out = args.out or str(default_out(plan.suite.name))  # also for the interruption hint
    if args.isolation == "none" and args.cell_timeout:
        logging.getLogger("xaibench").warning("--cell-timeout is not enforced with --isolation none")
    from .runner import run_plan  # noqa: PLC0415

    result = run_plan(plan, args.out, device=args.device, resume=args.resume, retrain=args.retrain,
                      backend=args.backend, isolation=args.isolation, workers=args.workers, threads=args.threads,
                      address=args.address, progress=not args.quiet, save_attributions=max(0, args.save_attributions))
    if not args.quiet:
        print(result.leaderboard_path.read_text(encoding="utf-8"))
    counts = result.statuses()
    total = sum(counts.values())
    print(f"xaibench: {total} records ({result.written} new, {counts['error']} errors) in {result.directory}; "
          f"leaderboard: {result.leaderboard_path}", file=sys.stderr)
    if counts["error"] and not counts["ok"]:
        print(f"xaibench: every cell failed ({counts['error']} error records, none ok); the first error of each task "
              f"is logged above and every one is in {result.leaderboard_path}", file=sys.stderr)
        return EXIT_ALL_FAILED
    return 0


def _seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    from .errors import InvalidParameterError  # noqa: PLC0415

    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise InvalidParameterError(f"--seeds {text!r}: expected comma-separated integers, "
                                    "e.g. --seeds 0,1,2") from None


def _plan(args: argparse.Namespace) -> int:
    from . import plan as planning  # noqa: PLC0415
    from .api import make_plan  # noqa: PLC0415
    from .errors import InvalidParameterError  # noqa: PLC0415

    plan = make_plan(args.suite, out=None, methods=args.methods, metrics=args.metrics, tasks=args.tasks,
                     seeds=_seeds(args.seeds), n_instances=args.n_instances)
    if args.workers < 1:
        raise InvalidParameterError(f"--workers {args.workers}: expected a number of workers >= 1")
    if args.calibrate:
        table_path = args.output or planning.CALIBRATION
        if args.sources:
            for source in args.sources:
                _check_records_source(source)
            measured = planning.calibration_from(args.sources, plan)
        elif args.out:
            measured = planning.run_calibration(plan, args.out, n_instances=args.n_instances or
                                                planning.DEFAULT_CALIBRATION_INSTANCES, progress=not args.quiet)
        else:
            raise InvalidParameterError("--calibrate needs --out DIR (a calibration run) or --from RUN_DIR...")
        from .store import atomic_write  # noqa: PLC0415

        table = planning.Calibration.load(table_path).merge(measured)
        atomic_write(table_path, table.to_json())
        print(f"xaibench: calibration of {len(measured.explain)} (task, method) and {len(measured.metrics)} "
              f"(task, method, metric) costs written to {table_path}", file=sys.stderr)
        args.calibration = table_path
    from pathlib import Path  # noqa: PLC0415

    if args.calibration and not Path(args.calibration).is_file():
        raise InvalidParameterError(f"--calibration {args.calibration}: no such file; omit it for the shipped "
                                    "table, or make one with `xaibench plan --calibrate --out DIR --output FILE`")
    calibration = planning.Calibration.load(args.calibration or planning.CALIBRATION)
    estimate = planning.estimate(plan, calibration)
    print(planning.render(plan, estimate, workers=args.workers, calibration=calibration))
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from .store import atomic_write  # noqa: PLC0415
    from .tables import leaderboard  # noqa: PLC0415

    for source in args.runs:
        _check_records_source(source)
    if args.check or args.render or args.save:
        return _results(args)
    text = leaderboard(args.runs, args.format)
    if args.output:
        atomic_write(args.output, text if text.endswith("\n") else text + "\n")
    else:
        print(text)
    return 0


def _results(args: argparse.Namespace) -> int:
    """``leaderboard --save`` / ``--render`` / ``--check`` (:mod:`xaibench.results`)."""
    from . import results  # noqa: PLC0415
    from .errors import InvalidParameterError  # noqa: PLC0415

    if sum(map(bool, (args.check, args.render, args.save))) > 1:
        raise InvalidParameterError("give one of --save, --render and --check")
    if args.save:
        folder = results.save(args.runs, args.save, render_into=args.render_into,
                              formats=[f.strip() for f in args.formats.split(",") if f.strip()])
        for path in results.rendered_paths(folder).values():
            print(f"xaibench: wrote {path}", file=sys.stderr)
        print(f"xaibench: results folder {folder} ({(folder / results.RECORDS_PARQUET).stat().st_size / 1e6:.1f} MB "
              "of records)", file=sys.stderr)
        return 0
    if len(args.runs) != 1 or not results.is_results_folder(args.runs[0]):
        raise InvalidParameterError(f"--check and --render take one results folder (made by --save), not "
                                    f"{' '.join(args.runs)}")
    if args.render:
        for path in results.render_files(args.runs[0]).values():
            print(f"xaibench: wrote {path}", file=sys.stderr)
        return 0
    report = results.check(args.runs[0])
    for warning in report.warnings:
        print(f"xaibench: warning: {warning}", file=sys.stderr)
    for problem in report.problems:
        print(f"xaibench: {problem}", file=sys.stderr)
    if not report.ok:
        return EXIT_CHECK_FAILED
    print(f"xaibench: {len(report.checked)} rendered files match the records of {args.runs[0]}: "
          f"{', '.join(str(p) for p in report.checked)}", file=sys.stderr)
    return 0


def _check_records_source(source: str) -> None:
    """A run folder, a records file or a results folder (its first record is read now, so that
    another kind of file is refused with a clear message, not rendered as an empty leaderboard)."""
    from .errors import RecordsError, ResultsError  # noqa: PLC0415
    from .results import is_results_folder, read_table  # noqa: PLC0415
    from .store import read_records, records_file  # noqa: PLC0415

    if is_results_folder(source):
        if read_table(source, ["key"]).num_rows == 0:
            raise ResultsError(f"{source} holds no records")
        return
    path = records_file(source)
    try:
        first = next(iter(read_records(path, fields=("key",))), None)
    except RecordsError as exc:
        raise ResultsError(f"{source} is not a run folder or a records file made by `xaibench run` ({exc})") from None
    if first is None:
        raise ResultsError(f"{source} holds no records; give a run folder made by `xaibench run` or its records.jsonl")


def _throughput(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    from .errors import InvalidParameterError  # noqa: PLC0415
    from .store import atomic_write  # noqa: PLC0415
    from .throughput import run_throughput  # noqa: PLC0415

    try:
        sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()] if args.batch_sizes else None
    except ValueError:
        raise InvalidParameterError(f"--batch-sizes {args.batch_sizes!r}: expected comma-separated integers, "
                                    "e.g. --batch-sizes 1,4,16,64") from None
    sweep = run_throughput(suite=args.suite, methods=args.methods, tasks=args.tasks, device=args.device,
                           batch_sizes=sizes, repeats=args.repeats, budget_s=args.budget, max_call_s=args.max_call,
                           clock=args.clock, threads=args.threads, note=args.note)
    text = sweep.markdown()
    print(text)
    if args.output:
        atomic_write(args.output, text)
    if args.json:
        atomic_write(args.json, json.dumps(sweep.to_json(), indent=1) + "\n")
    return 0


def _limits(args: argparse.Namespace) -> dict:
    from .api import _names  # noqa: PLC0415 - the API's reading of comma-separated selections
    from .submission.sandbox import DEFAULT_MEMORY_MB  # noqa: PLC0415
    from .submission.validate import DEFAULT_TIMEOUT  # noqa: PLC0415

    memory = DEFAULT_MEMORY_MB if args.memory_limit is None else (args.memory_limit or None)
    return {"suite": args.suite, "results": args.results, "tasks": _names(args.tasks), "device": args.device,
            "memory_mb": memory, "timeout": args.timeout or DEFAULT_TIMEOUT}


def _validate(args: argparse.Namespace) -> int:
    from .submission.validate import validate  # noqa: PLC0415

    report = validate(args.method, n_instances=args.n_instances, **_limits(args))
    print(report.render())
    return 0 if report.passed else EXIT_ALL_FAILED


def _submit(args: argparse.Namespace) -> int:
    from .submission.submit import submit  # noqa: PLC0415

    done = submit(args.method, name=args.name, out=args.out, resume=args.resume, progress=not args.quiet,
                  save_attributions=max(0, args.save_attributions), **_limits(args))
    bundle = done.bundle
    print(done.report.render())
    print("\n".join(done.ranks))
    kind = ("development bundle (another suite than the canonical one: publish refuses it)" if not done.canonical
            else "PARTIAL bundle (publish refuses it for the main board)" if bundle["partial"] else "bundle")
    covered = bundle["coverage"]
    then = ("submit again without --suite for a bundle to publish" if not done.canonical
            else "submit again without --tasks for a complete bundle to publish" if bundle["partial"]
            else f"publish it with `xaibench publish {done.directory}`")
    print(f"xaibench: {kind} in {done.directory}: {covered['recorded']}/{covered['planned']} planned results, "
          f"{len(bundle['records'])} records; {then}", file=sys.stderr)
    return 0


def _publish(args: argparse.Namespace) -> int:
    from .submission.publish import publish  # noqa: PLC0415

    outcome = publish(args.bundles, results=args.results, site=args.site, replace=args.replace)
    for line in outcome.lines:
        print(line)
    return 0 if not outcome.refused else EXIT_USER_ERROR


def _list(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else list(KINDS)
    for i, kind in enumerate(kinds):
        if len(kinds) > 1:
            print(("\n" if i else "") + f"{kind}:")
        print(_listing(kind))
    return 0


def _listing(kind: str) -> str:
    from tabulate import tabulate  # noqa: PLC0415

    if kind == "suites":
        from .suite import builtin_suites, parse_suite  # noqa: PLC0415

        rows = []
        for name, path in builtin_suites().items():
            suite = parse_suite(path.read_text(encoding="utf-8"), source=str(path), default_name=name)
            rows.append((name, f"v{suite.version}", suite.description))
        return tabulate(rows, tablefmt="plain") if rows else "(none)"
    from . import registries  # noqa: PLC0415

    registry = getattr(registries, kind)
    rows = [_row(kind, name, entry) for name, entry in registry.items()]
    return tabulate(rows, tablefmt="plain", disable_numparse=True) if rows else "(none)"


def _row(kind: str, name: str, entry) -> tuple[str, ...]:
    describe = getattr(entry, "description", "") or ""
    if kind == "datasets":
        return name, entry.kind, describe
    if kind == "models":
        targets = "\n".join(f"  target {t}: {d}" if d else f"  target {t}" for t, d in entry.targets.items())
        return name, "/".join(sorted(entry.kinds)), f"{describe}\n{targets}"
    if kind == "methods":
        return name, entry.family + (", stochastic" if entry.stochastic else ""), describe
    arrow = "↑" if entry.higher_is_better else "↓"
    return name, f"{entry.category} {arrow}", describe


COMMANDS: dict[str, tuple[Callable, Callable[[argparse.Namespace], int]]] = {
    "list": (_add_list, _list),
    "plan": (_add_plan, _plan),
    "run": (_add_run, _run),
    "leaderboard": (_add_leaderboard, _leaderboard),
    "throughput": (_add_throughput, _throughput),
    "validate": (_add_validate, _validate),
    "submit": (_add_submit, _submit),
    "publish": (_add_publish, _publish),
}
"""Command name → (function adding its parser, function running it)."""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
