"""``xaibench`` command line: ``list``, ``run``, ``leaderboard``.

Importing this module and ``xaibench --help`` import neither torch nor the plugins; each
command imports what it needs. Each command is one function that adds its parser
(``_add_<command>``) and one that runs it (``_<command>``), listed in :data:`COMMANDS`.

Exit status: 0 done; 1 a run in which no cell succeeded (every record an error or skipped, at
least one error); 2 a user error (unknown names, malformed suites or records, bad options, a run
folder in use), with one message and no traceback; 130 interrupted (Ctrl-C) and 143 terminated
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
    p.add_argument("--backend", default="local", help="where cells run (default: local)")
    p.add_argument("--isolation", default="process", choices=("process", "none"),
                   help="process (default): each cell in a worker process, with a time limit and crashes contained; "
                        "none: in this process, for debugging")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no leaderboard on stdout")


def _add_leaderboard(sub) -> None:
    p = sub.add_parser("leaderboard", help="render the leaderboard of one or more run folders",
                       description="Render the leaderboard of run folders (or their records.jsonl files); "
                                   "a cell recorded more than once counts once: the last record read.")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folder(s) made by `xaibench run`")
    p.add_argument("--format", default="markdown", choices=FORMATS, help="output format (default: markdown)")
    p.add_argument("--output", help="write to this file instead of stdout")


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
        return f" Resume with: `xaibench run --resume --out {out}`"
    return " Nothing was recorded yet; run the same command again to start over."


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
                      backend=args.backend, isolation=args.isolation, progress=not args.quiet)
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


def _leaderboard(args: argparse.Namespace) -> int:
    from .store import atomic_write  # noqa: PLC0415
    from .tables import leaderboard  # noqa: PLC0415

    for source in args.runs:
        _check_records_source(source)
    text = leaderboard(args.runs, args.format)
    if args.output:
        atomic_write(args.output, text if text.endswith("\n") else text + "\n")
    else:
        print(text)
    return 0


def _check_records_source(source: str) -> None:
    """A run folder or a records file (its first record is read now, so that another kind of file
    is refused with a clear message, not rendered as an empty leaderboard)."""
    from .errors import RecordsError, ResultsError  # noqa: PLC0415
    from .store import read_records, records_file  # noqa: PLC0415

    path = records_file(source)
    try:
        first = next(iter(read_records(path, fields=("key",))), None)
    except RecordsError as exc:
        raise ResultsError(f"{source} is not a run folder or a records file made by `xaibench run` ({exc})") from None
    if first is None:
        raise ResultsError(f"{source} holds no records; give a run folder made by `xaibench run` or its records.jsonl")


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
    "run": (_add_run, _run),
    "leaderboard": (_add_leaderboard, _leaderboard),
}
"""Command name → (function adding its parser, function running it)."""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
