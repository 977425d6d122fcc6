"""Regenerate the README's leaderboard blocks from the committed results folders.

    python docs/samples.py            # print the blocks (Markdown)
    python docs/samples.py --write    # replace each block between its markers in README.md

Blocks (each between ``<!-- NAME:BEGIN ... -->`` and ``<!-- NAME:END -->``):

* ``SAMPLE`` — from ``results/quick`` (the records of a ``make run``, :mod:`xaibench.results`):
  the summary across tasks and the first table of one task, as ``make run`` prints them.
* ``STANDARD`` — from ``results/standard``: the summary of the standard leaderboard, the run's
  measured time, and the size of the records.

The text comes from the records through the leaderboard's own renderer, so a block changes only
when the records (or the renderer) do. ``tests/harness/test_readme_blocks.py`` fails when a block
differs from what this script writes, and when a fresh quick run no longer gives the committed
records: then bump the quick suite's version, save a fresh run (``xaibench run --suite quick
--out R && xaibench leaderboard R --save results/quick --formats markdown``) and run this script.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
QUICK = ROOT / "results" / "quick"
STANDARD = ROOT / "results" / "standard"
SAMPLE_TASK = "synthetic_linear/mlp/logit"


def markers(name: str, what: str) -> tuple[str, str]:
    return f"<!-- {name}:BEGIN ({what}) -->", f"<!-- {name}:END -->"


def _leaderboard(folder: Path) -> str:
    from xaibench.tables import leaderboard

    return leaderboard(folder, "markdown")


def _section(text: str, heading: str) -> str:
    """The Markdown section that starts with the line ``heading``, up to the next heading of its level or above."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(heading + "\n")
    stop = re.compile(r"^#{1,%d} " % level, re.M)
    found = stop.search(text, start + len(heading) + 1)
    return text[start:found.start() if found else len(text)].rstrip()


def _demote(text: str, levels: int) -> str:
    return re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + levels) + " ", text, flags=re.M)


def sample() -> str:
    """The summary and the first category table of :data:`SAMPLE_TASK` from ``results/quick``."""
    text = _leaderboard(QUICK)
    summary = _section(text, "## Summary: mean rank per category")
    title = next(line for line in text.splitlines() if line.startswith(f"### {SAMPLE_TASK.replace('/', ' / ')} "))
    task = _section(text, title)
    parts = task.split("\n#### ", 2)
    excerpt = parts[0].rstrip() + "\n\n#### " + parts[1] if len(parts) > 1 else task
    records = json.loads((QUICK / "manifest.json").read_text(encoding="utf-8"))["results"]["n_records"]
    head = (f"From `results/quick` ({records} records of the quick suite, version "
            f"{_suite_version(QUICK)}; the full leaderboard is `results/quick/LEADERBOARD.md`):")
    return head + "\n\n" + _demote(summary, 2) + "\n\n" + _demote(excerpt.rstrip(), 1)


def standard() -> str:
    """The standard leaderboard's summary, with the run's measured time and the records' size."""
    if not (STANDARD / "records.parquet").is_file():
        return "(no results yet: see `docs/standard_results.py`)"
    manifest = json.loads((STANDARD / "manifest.json").read_text(encoding="utf-8"))
    results = manifest["results"]
    size = (STANDARD / "records.parquet").stat().st_size / 1e6
    text = _leaderboard(STANDARD)
    lines = [f"Standard suite version {_suite_version(STANDARD)}: {results['n_records']:,} records "
             f"({size:.1f} MB of Parquet) on {manifest.get('device_name') or manifest.get('device')}"
             + (f", {manifest['workers']} workers × {manifest['threads_per_worker']} torch thread"
                f"{'s' if manifest['threads_per_worker'] != 1 else ''}"
                if manifest.get("workers") and manifest.get("threads_per_worker") else "") + "."]
    timings = results.get("timing") or []
    for timing in timings:
        if "cpu_seconds" in timing:
            lines.append(f"Measured: {timing['wall_seconds'] / 3600:.2f} h of wall time "
                         f"({timing['cpu_seconds'] / 3600:.2f} h of CPU) with `{timing['command']}`; load average "
                         f"{timing['load_average']} while it ran.")
        else:  # an invocation that was killed: its last minute's sample, resumed by the next entry
            lines.append(f"Measured: {timing['wall_seconds'] / 3600:.2f} h of wall time with `{timing['command']}` "
                         f"before it was stopped (resumed below); load average {timing['load_average']}.")
    if len(timings) > 1:
        total = sum(timing["wall_seconds"] for timing in timings)
        lines.append(f"In all: {total / 3600:.2f} h of wall time over {len(timings)} invocations.")
    provenance = next(line for line in text.splitlines() if line.startswith("Provenance:"))
    status = [line for line in text.splitlines() if line.startswith(("Complete:", "PARTIAL RUN:"))]
    summary = _demote(_section(text, "## Summary: mean rank per category"), 2)
    return "\n".join(lines + [provenance] + status) + "\n\n" + summary


def _suite_version(folder: Path) -> str:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return str(manifest["suite"]["version"])


BLOCKS = {
    "SAMPLE": ("generated by docs/samples.py from results/quick", sample),
    "STANDARD": ("generated by docs/samples.py from results/standard", standard),
}


def blocks() -> dict[str, str]:
    return {name: make() for name, (_, make) in BLOCKS.items()}


def replace_block(readme: str, name: str, text: str) -> str:
    begin, end = markers(name, BLOCKS[name][0])
    head, found, rest = readme.partition(begin)
    _, found_end, tail = rest.partition(end)
    if not (found and found_end):
        raise SystemExit(f"{README} has no {begin} ... {end} block")
    return f"{head}{begin}\n\n{text}\n\n{end}{tail}"


def read_block(readme: str, name: str) -> str:
    begin, end = markers(name, BLOCKS[name][0])
    if begin not in readme or end not in readme:
        raise ValueError(f"README.md has no {begin} ... {end} block")
    return readme.split(begin, 1)[1].split(end, 1)[0].strip()


def main(argv: list[str]) -> int:
    made = blocks()
    if "--write" not in argv:
        print("\n\n".join(made.values()))
        return 0
    readme = README.read_text(encoding="utf-8")
    for name, text in made.items():
        readme = replace_block(readme, name, text)
    README.write_text(readme, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
