"""``xaibench`` command line: ``list``, ``run``, ``leaderboard``.

Importing this module and ``xaibench --help`` import neither torch nor the plugins; each
command imports what it needs. User errors (unknown names, malformed suites, bad options) exit
with status 2 and one message, no traceback; an interrupted run exits with 130 and says how to
resume it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

KINDS = ("datasets", "models", "methods", "metrics", "suites")
FORMATS = ("markdown", "latex", "csv", "json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xaibench",
        description="Benchmark explanation (XAI) methods: run a suite of tasks x methods x metrics, "
                    "then read the leaderboard.",
        epilog="Examples:\n  xaibench run                       # the quick suite, then its leaderboard\n"
               "  xaibench list methods\n  xaibench leaderboard runs/quick-* --format latex",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every skipped cell")
    sub = parser.add_subparsers(dest="command", metavar="{list,run,leaderboard,throughput}")
    sub.required = True

    p_list = sub.add_parser("list", help="list registered datasets, models, methods, metrics or suites",
                            description="List registry entries with one-line descriptions.")
    p_list.add_argument("kind", nargs="?", choices=KINDS, help="what to list (default: everything)")

    p_run = sub.add_parser("run", help="run a suite and print its leaderboard",
                           description="Run a suite; records go to a run folder, the leaderboard to "
                                       "leaderboard.md beside them and to stdout.")
    p_run.add_argument("--suite", help="built-in suite name or path to a .toml file "
                                       "(default: quick; with --resume, the suite and selections the run started with)")
    p_run.add_argument("--out", help="run folder (default: runs/<suite>-<UTC time>)")
    p_run.add_argument("--methods", help="comma-separated method labels or names to run (default: the suite's)")
    p_run.add_argument("--metrics", help="comma-separated metric labels or names (cost metrics are always recorded)")
    p_run.add_argument("--tasks", help="comma-separated dataset[/model[/target]] patterns, * allowed")
    p_run.add_argument("--seeds", help="comma-separated integer seeds (default: the suite's)")
    p_run.add_argument("--n-instances", type=int, help="explain the first N test rows (default: the suite's)")
    p_run.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p_run.add_argument("--resume", action="store_true",
                       help="continue the run in --out: skip recorded cells, retry failed ones")
    p_run.add_argument("--retrain", action="store_true", help="re-derive model weights instead of loading them")
    p_run.add_argument("--backend", default="local", help="where cells run (default: local, in-process)")
    p_run.add_argument("--quiet", action="store_true", help="no progress bar, no leaderboard on stdout")

    p_lb = sub.add_parser("leaderboard", help="render the leaderboard of one or more run folders",
                          description="Render the leaderboard of run folders "
                                      "(a cell recorded more than once counts once: the last record read).")
    p_lb.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folder(s) made by `xaibench run`")
    p_lb.add_argument("--format", default="markdown", choices=FORMATS, help="output format (default: markdown)")
    p_lb.add_argument("--output", help="write to this file instead of stdout")

    p_tp = sub.add_parser("throughput", help="explanations per second over batch sizes, against each method's floor",
                          description="Sweep the batch size per (method, task) on one device: explanations per "
                                      "second, peak memory, the best batch size and the ratio to the method's floor "
                                      "(its bare forward/backward passes), medians over repeats. Methods and their "
                                      "parameters come from --suite.",
                          epilog="Example: xaibench throughput --methods integrated_gradients,smoothgrad,kernel_shap "
                                 "--tasks mnist_5k/cnn/logit,mnist_5k/vae/neg_elbo --device cuda "
                                 "--output results/speed/throughput-cuda.md")
    p_tp.add_argument("--suite", default="standard", help="suite the methods and tasks come from (default: standard)")
    p_tp.add_argument("--methods", help="comma-separated method labels or names (default: the suite's)")
    p_tp.add_argument("--tasks", help="comma-separated dataset[/model[/target]] patterns (default: the suite's)")
    p_tp.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p_tp.add_argument("--batch-sizes", help="comma-separated increasing instance counts per call "
                                            "(default: 1,4,16,64 on cpu; 1,4,16,64,256,1024 on cuda)")
    p_tp.add_argument("--repeats", type=int, default=5, help="most timed rounds per batch size (default: 5)")
    p_tp.add_argument("--budget", type=float, default=10.0,
                      help="stop timing a batch size after the round that reaches this many seconds (default: 10)")
    p_tp.add_argument("--max-call", type=float, default=60.0,
                      help="a call slower than this many seconds ends the pair's sweep (default: 60)")
    p_tp.add_argument("--clock", default="wall", choices=("wall", "process"),
                      help="wall seconds (default), or CPU seconds of the process: steadier on a shared CPU")
    p_tp.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p_tp.add_argument("--note", default="", help="a line for the table's header (e.g. that the machine was shared)")
    p_tp.add_argument("--output", help="write the Markdown table to this file (default: stdout only)")
    p_tp.add_argument("--json", help="also write the measurements as JSON to this file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    from .errors import XaiBenchError  # noqa: PLC0415 - light module

    try:
        return {"list": _list, "run": _run, "leaderboard": _leaderboard, "throughput": _throughput}[args.command](args)
    except XaiBenchError as exc:
        print(f"xaibench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `xaibench list | head`: the reader left; say nothing more
        import os  # noqa: PLC0415

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        hint = f" Resume with: xaibench run --resume --out {args.out}" if getattr(args, "out", None) else ""
        print(f"\nxaibench: interrupted; records written so far are kept.{hint}", file=sys.stderr)
        return 130


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
                     seeds=_seeds(args.seeds), n_instances=args.n_instances, resume=args.resume)
    args.out = args.out or str(default_out(plan.suite.name))  # also for the interruption hint
    from .runner import run_plan  # noqa: PLC0415

    result = run_plan(plan, args.out, device=args.device, resume=args.resume, retrain=args.retrain,
                      backend=args.backend, progress=not args.quiet)
    if not args.quiet:
        print(result.leaderboard_path.read_text(encoding="utf-8"))
    errors = sum(r["status"] == "error" for r in result.records)
    print(f"xaibench: {len(result.records)} records ({result.written} new, {errors} errors) in {result.directory}; "
          f"leaderboard: {result.leaderboard_path}", file=sys.stderr)
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
    from .tables import leaderboard  # noqa: PLC0415

    text = leaderboard(args.runs, args.format)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    else:
        print(text)
    return 0


def _throughput(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    from .errors import InvalidParameterError  # noqa: PLC0415
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
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(sweep.to_json(), handle, indent=1)
    return 0


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
