"""Side-by-side speed comparisons (``python -m xaibench.perf``): medians and ratios in one run."""

from __future__ import annotations

import sys


def checked_device(prog: str, device: str) -> str:
    """``device`` if it exists here; otherwise the error on stderr (no traceback) and exit status 2,
    as the main ``xaibench`` command does."""
    from xaibench.errors import XaiBenchError  # noqa: PLC0415
    from xaibench.runner import check_device  # noqa: PLC0415

    try:
        return check_device(device)
    except XaiBenchError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
