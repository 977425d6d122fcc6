"""Attributions saved by ``xaibench run --save-attributions N``, beside a run folder's records.

Layout (inside the run folder, written only by the driver that holds the folder's lock)::

    attributions/index.jsonl                       one JSON line per saved file (appended atomically)
    attributions/<task>/<method>-seed<seed>.npz    arrays ``inputs`` and ``attributions`` (N, *F),
                                                   float32, and ``meta`` (a JSON string)

The run's ``manifest.json`` names the folder, the index and the format (:func:`describe_attributions`);
the index names every file with its task, method, seed, shape and SHA-256. Files are NumPy ``.npz``
(``numpy.savez_compressed``), read back with ``allow_pickle=False``: loading one never runs code.
A file is written to a temporary name and renamed into place, then its index line is appended
(one ``write`` on an ``O_APPEND`` descriptor, fsynced), so an interrupted run leaves at most a
file without an index line (ignored) or a torn last index line (skipped); a resumed run writes
the cells it runs, and a cell saved twice keeps its last file. Only the first ``N`` instances of
each cell are saved, for every seed: enough for the site's heat-map gallery, and small
(``N × features × 4`` bytes per cell before compression).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FOLDER = "attributions"
INDEX = "index.jsonl"
FORMAT = "npz"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def describe_attributions(instances: int) -> dict[str, Any]:
    """What a run manifest says about its saved attributions."""
    return {"folder": FOLDER, "index": f"{FOLDER}/{INDEX}", "format": FORMAT, "instances": instances}


def safe_component(text: str, *, limit: int = 80) -> str:
    """``text`` as one file-name component: letters, digits, ``.``, ``_`` and ``-`` only, never
    starting with a dot, at most ``limit`` characters; a SHA-256 prefix is appended whenever
    anything had to change, so distinct texts keep distinct names."""
    safe = _UNSAFE.sub("_", text).lstrip(".") or "_"
    if safe == text and len(safe) <= limit:
        return safe
    return f"{safe[:limit - 13]}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def task_folder(task: str) -> str:
    return safe_component(task.replace("/", "__"))


class AttributionStore:
    """Writes a run folder's saved attributions (see the module docstring)."""

    def __init__(self, run_dir: str | Path):
        self.root = Path(run_dir) / FOLDER

    def write(self, record: Mapping[str, Any], saved: Mapping[str, Any]) -> Path:
        """Save the arrays of one cell (``record`` names its task, method and seed)."""
        relative = f"{task_folder(record['task'])}/{safe_component(record['method'])}-seed{int(record['seed'])}.npz"
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"task": record["task"], "method": record["method"], "method_name": record.get("method_name"),
                "seed": record["seed"], "kind": saved.get("kind"), "task_meta": dict(saved.get("meta") or {})}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, inputs=np.asarray(saved["inputs"], np.float32),
                            attributions=np.asarray(saved["attributions"], np.float32),
                            meta=np.array(json.dumps(meta, default=str)))
        data = buffer.getvalue()
        tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, path)
        entry = {"file": relative, "task": record["task"], "method": record["method"], "seed": record["seed"],
                 "kind": saved.get("kind"), "shape": list(np.shape(saved["attributions"])),
                 "sha256": hashlib.sha256(data).hexdigest()}
        _append_line(self.root / INDEX, json.dumps(entry, sort_keys=True))
        return path


def _append_line(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (text + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_index(run_dir: str | Path) -> list[dict[str, Any]]:
    """The saved files of a run folder, the last entry of each file kept; ``[]`` when none were saved.
    Lines that do not parse (a torn last line) and entries whose file is missing are skipped."""
    path = Path(run_dir) / FOLDER / INDEX
    if not path.is_file():
        return []
    entries: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            log.warning("%s: skipping a line that is not JSON (an interrupted write?)", path)
            continue
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            entries[entry["file"]] = entry
    return [e for e in entries.values() if (Path(run_dir) / FOLDER / e["file"]).is_file()]


def load(run_dir: str | Path, entry: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """``(inputs, attributions, meta)`` of one index entry; never unpickles."""
    with np.load(Path(run_dir) / FOLDER / entry["file"], allow_pickle=False) as data:
        return data["inputs"], data["attributions"], json.loads(str(data["meta"]))


def iter_saved(run_dir: str | Path) -> Iterator[tuple[dict[str, Any], np.ndarray, np.ndarray, dict[str, Any]]]:
    for entry in read_index(run_dir):
        inputs, attributions, meta = load(run_dir, entry)
        yield entry, inputs, attributions, meta
