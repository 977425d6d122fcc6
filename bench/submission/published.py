"""The published leaderboard's records: the built-in results plus every merged submission.

``RESULTS/standard`` holds the built-in methods' records; ``RESULTS/submissions/<name>/`` a merged
bundle each (:mod:`xaibench.submission.bundle`, verbatim). A submitted record's ``code_sha256`` also
hashes the submitted source, so that its key changes with it; for the leaderboard, where records are
compared only under one code identity (:mod:`xaibench.recordset`), it is shown under the value code
it ran with (``harness_sha256``, checked by :mod:`xaibench.submission.verify`) and keeps its own as
``method_code_sha256``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..records import dumps
from ..store import RECORDS, latest_per_key, read_records
from .bundle import BUNDLE
from .canonical import SUBMISSIONS, standard_dir


def board_view(records: Iterable[Mapping[str, Any]], harness_sha256: str) -> list[dict[str, Any]]:
    """Submitted records as the leaderboard compares them (see the module docstring)."""
    return [{**r, "code_sha256": harness_sha256, "method_code_sha256": r.get("code_sha256")} for r in records]


def submission_folders(results: str | Path) -> list[Path]:
    root = Path(results) / SUBMISSIONS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and (p / BUNDLE).is_file())


def read_bundle_json(folder: Path) -> dict[str, Any]:
    return json.loads((folder / BUNDLE).read_text(encoding="utf-8"))


def submission_records(folder: Path) -> list[dict[str, Any]]:
    """The latest record of each key of a merged submission, as the leaderboard compares them."""
    bundle = read_bundle_json(folder)
    records = latest_per_key(read_records(folder / RECORDS))
    return board_view(records, bundle["harness_sha256"])


@contextmanager
def leaderboard_sources(results: str | Path, extra: Iterable[Mapping[str, Any]] = (),
                        tasks: set[str] | None = None) -> Iterator[list[Path]]:
    """Paths :func:`xaibench.recordset.read` takes for the whole leaderboard: the built-in results
    and one temporary records file with every submission's records (and ``extra`` ones);
    ``tasks``: only the records of these tasks (the built-in ones then go through that file too)."""
    standard = standard_dir(results) / RECORDS
    sources = [standard_dir(results)] if standard.is_file() and tasks is None else []
    with tempfile.TemporaryDirectory(prefix="xaibench-board-") as tmp:
        path = Path(tmp) / RECORDS
        with open(path, "w", encoding="utf-8") as handle:
            if standard.is_file() and tasks is not None:
                for record in read_records(standard):
                    if record.get("task") in tasks:
                        handle.write(dumps(record) + "\n")
            for folder in submission_folders(results):
                for record in submission_records(folder):
                    if tasks is None or record.get("task") in tasks:
                        handle.write(dumps(record) + "\n")
            for record in extra:
                handle.write(dumps(record) + "\n")
        if path.stat().st_size:
            sources.append(path)
        yield sources
