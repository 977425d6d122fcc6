"""The published leaderboard's records: the built-in results plus every merged submission.

``RESULTS/standard`` is a results folder (:mod:`xaibench.results`: ``records.parquet`` and
``manifest.json``, written by ``xaibench leaderboard RUN_DIR --save RESULTS/standard --render-into
RESULTS``) with the built-in methods' records; its manifest names the folder of submissions
(``RESULTS/submissions/``), which holds a merged bundle each (:mod:`xaibench.submission.bundle`,
verbatim). A run folder (``records.jsonl``) is read as well, for ranks and the site; ``publish``
needs a results folder, whose manifest says where the leaderboard files go.

A submitted record's ``code_sha256`` also hashes the submitted source, so that its key changes
with it; for the leaderboard, where records are compared only under one code identity
(:mod:`xaibench.recordset`), it is shown under the value code it ran with (``harness_sha256``,
checked by :mod:`xaibench.submission.verify`) and keeps its own as ``method_code_sha256``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..records import dumps
from ..store import RECORDS, latest_per_key, read_records
from .bundle import BUNDLE
from .canonical import SUBMISSIONS


def board_view(records: Iterable[Mapping[str, Any]], harness_sha256: str) -> list[dict[str, Any]]:
    """Submitted records as the leaderboard compares them (see the module docstring)."""
    return [{**r, "code_sha256": harness_sha256, "method_code_sha256": r.get("code_sha256")} for r in records]


def has_records(folder: str | Path) -> bool:
    """Does ``folder`` hold records: a results folder (``records.parquet``) or a run folder (``records.jsonl``)?"""
    from ..results import is_results_folder  # noqa: PLC0415

    return is_results_folder(folder) or (Path(folder) / RECORDS).is_file()


def submissions_root(standard: str | Path) -> Path | None:
    """Where the submissions on the leaderboard of ``standard`` live: for a results folder the
    folder its manifest names (``None``: it has none, as ``results/quick``); for a run folder
    ``submissions/`` beside it."""
    from ..results import is_results_folder, submissions_dir  # noqa: PLC0415

    if is_results_folder(standard):
        return submissions_dir(standard)
    return Path(standard).resolve().parent / SUBMISSIONS


def submission_folders(root: str | Path | None) -> list[Path]:
    """The merged bundles in the submissions folder ``root`` (none when ``root`` is ``None``)."""
    if root is None or not Path(root).is_dir():
        return []
    root = Path(root)
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and (p / BUNDLE).is_file())


def read_bundle_json(folder: Path) -> dict[str, Any]:
    return json.loads((folder / BUNDLE).read_text(encoding="utf-8"))


def submission_records(folder: Path) -> list[dict[str, Any]]:
    """The latest record of each key of a merged submission, as the leaderboard compares them."""
    bundle = read_bundle_json(folder)
    records = latest_per_key(read_records(folder / RECORDS))
    return board_view(records, bundle["harness_sha256"])


@contextmanager
def leaderboard_sources(standard: str | Path, extra: Iterable[Mapping[str, Any]] = (),
                        tasks: set[str] | None = None) -> Iterator[list[Path]]:
    """Paths :func:`xaibench.recordset.read` takes for the whole leaderboard of ``standard`` (the
    built-in records): ``standard`` itself, one temporary records file per submission in
    :func:`submissions_root` (beside a copy of its manifest, so that its plan counts in the board's
    progress), and one with the ``extra`` records; ``tasks``: only the records of these tasks (the
    built-in ones then go through a temporary file too)."""
    from ..results import iter_records  # noqa: PLC0415
    from ..store import MANIFEST  # noqa: PLC0415

    standard = Path(standard)
    present = has_records(standard)
    sources = [standard] if present and tasks is None else []
    with tempfile.TemporaryDirectory(prefix="xaibench-board-") as tmp:
        def write(name: str, records: Iterable[Mapping[str, Any]], manifest: Path | None = None) -> None:
            folder = Path(tmp) / name
            folder.mkdir()
            path = folder / RECORDS
            with open(path, "w", encoding="utf-8") as handle:
                for record in records:
                    if tasks is None or record.get("task") in tasks:
                        handle.write(dumps(record) + "\n")
            if path.stat().st_size:
                if manifest is not None and manifest.is_file() and tasks is None:  # a slice plans less
                    shutil.copyfile(manifest, folder / MANIFEST)
                sources.append(path)

        if present and tasks is not None:
            write("standard", iter_records(standard))
        for i, folder in enumerate(submission_folders(submissions_root(standard))):
            write(f"submission-{i}", submission_records(folder), folder / MANIFEST)
        write("extra", extra)
        yield sources
