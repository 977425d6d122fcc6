"""Side-by-side speed tables: ``python -m xaibench.perf [methods|metrics|all] [--device cpu|cuda]``.

Each section module exposes ``compare(device) -> Comparison | list[Comparison]``; every table is
measured in this one process (medians over repeats, ratios to the section's floor).
"""

from __future__ import annotations

import argparse
import importlib
import sys

SECTIONS = {
    "methods": ("gradients", "shapley", "lime"),
    "metrics": ("faithfulness", "stability"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xaibench.perf", description=__doc__)
    parser.add_argument("what", nargs="?", default="all", choices=[*SECTIONS, "all", *sum(SECTIONS.values(), ())])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--output", help="also write the Markdown to this file")
    args = parser.parse_args(argv)
    from xaibench.perf import checked_device  # noqa: PLC0415

    args.device = checked_device(parser.prog, args.device)

    names = sum(SECTIONS.values(), ()) if args.what == "all" else SECTIONS.get(args.what, (args.what,))
    header = device_header(args.device)
    parts = [header]
    print(header, flush=True)
    for name in names:
        tables = importlib.import_module(f"xaibench.perf.{name}").compare(device=args.device)
        for table in tables if isinstance(tables, list) else [tables]:
            text = table.table()
            print(text + "\n", flush=True)
            parts.append(text + "\n")
    if args.output:
        with open(args.output, "w") as handle:
            handle.write("\n".join(parts))
    return 0


def device_header(device: str) -> str:
    """The tables' first line: the device as records name it, torch, and the CPU threads."""
    import torch  # noqa: PLC0415

    from xaibench.metrics.cost import device_name, threads  # noqa: PLC0415  (the name records carry)

    return (f"Device: {device} ({device_name(device)}), torch {torch.__version__}, "
            f"{threads(torch.get_num_threads())} on the CPU. Medians over repeats; ratios measured side by side "
            "in one run.\n")


if __name__ == "__main__":
    sys.exit(main())
