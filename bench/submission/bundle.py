"""The result bundle ``xaibench submit`` writes and ``xaibench publish`` verifies.

A bundle is the submission's run folder (``manifest.json``, ``records.jsonl``, saved
``attributions/``; :mod:`xaibench.store`) plus two files written when the run is complete:

* ``method.py`` — a copy of the submitted source file;
* ``bundle.json`` — the manifest of the bundle::

    {"format": "xaibench-bundle", "format_version": 1,
     "name": "my_method",                         # the leaderboard row
     "method": {"name", "class", "family", "stochastic", "description", "params",
                "source": "method.py", "source_sha256", "source_text"},
     "suite": {"name", "version", "sha256"},      # the suite the records were run with
     "plan": {...},                               # the run's plan (tasks, metrics, seeds, sizes)
     "partial": false, "coverage": {"planned": n, "recorded": n, "missing": [...]},
     "harness_sha256": "...",                     # the value code it ran with (xaibench.records)
     "versions": {...}, "device": "cpu", "device_name": "...", "created": "...",
     "validation": {"passed": true, "checks": n}, "sandbox": {...},
     "files": {"records.jsonl": sha256, "manifest.json": sha256, "method.py": sha256, ...},
     "records": {key: sha256, ...}}               # every record (the last of each key)

A record's hash is the SHA-256 of its canonical JSON (:func:`xaibench.records.canonical_json`),
so formatting does not matter and any edited value does. A submitted method's records carry
``code_sha256 = sha256(harness_sha256 + the source file's bytes)`` (:func:`xaibench.records.code_sha256`),
which binds them to both the value code and the submitted source.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..records import canonical_json
from ..store import LOCK, MANIFEST, RECORDS, atomic_write, latest_per_key, now, read_manifest, read_records

BUNDLE = "bundle.json"
SOURCE = "method.py"
FORMAT = "xaibench-bundle"
FORMAT_VERSION = 1


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    return sha256_bytes(canonical_json(record).encode("utf-8"))


def coverage(records: Iterable[Mapping[str, Any]], plan: Mapping[str, Any], method: str) -> dict[str, Any]:
    """Planned (task, metric, seed) results of ``method`` against those recorded (any status)."""
    seen = {(r["task"], r["metric"], r["seed"]) for r in records if r.get("method") == method}
    from ..tables import planned_triples  # noqa: PLC0415

    triples = sorted((m, s) for label, m, s in planned_triples(plan) if label == method)
    planned = [(t, m, s) for t in plan.get("tasks", []) for m, s in triples]
    missing = [p for p in planned if p not in seen]
    return {"planned": len(planned), "recorded": len(planned) - len(missing),
            "missing": [f"{t} × {m} × seed {s}" for t, m, s in missing[:20]]}


def write_bundle(directory: str | Path, *, name: str, source_path: str | Path, method: Mapping[str, Any],
                 partial: bool, harness_sha256: str, validation: Mapping[str, Any],
                 sandbox: Mapping[str, Any]) -> dict[str, Any]:
    """Complete the run folder ``directory`` as a bundle (see the module docstring); returns ``bundle.json``."""
    from ..attributions import FOLDER, INDEX, read_index  # noqa: PLC0415

    folder = Path(directory)
    (folder / LOCK).unlink(missing_ok=True)  # the finished run's lock file is not part of the bundle
    shutil.copyfile(source_path, folder / SOURCE)
    manifest = read_manifest(folder)
    records = latest_per_key(read_records(folder / RECORDS))
    plan = manifest.get("plan") or {}
    covered = coverage(records, plan, name)
    files = {RECORDS: sha256_file(folder / RECORDS), MANIFEST: sha256_file(folder / MANIFEST),
             SOURCE: sha256_file(folder / SOURCE)}
    saved = read_index(folder)
    if saved:
        files[f"{FOLDER}/{INDEX}"] = sha256_file(folder / FOLDER / INDEX)
        files |= {f"{FOLDER}/{e['file']}": sha256_file(folder / FOLDER / e["file"]) for e in saved}
    suite = manifest.get("suite") or {}
    bundle = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
        "method": {**method, "source": SOURCE, "source_sha256": files[SOURCE],
                   "source_text": (folder / SOURCE).read_text(encoding="utf-8")},
        "suite": {k: suite.get(k) for k in ("name", "version", "sha256")},
        "plan": {k: v for k, v in plan.items() if k != "methods"},
        "partial": bool(partial or covered["recorded"] < covered["planned"]), "coverage": covered,
        "harness_sha256": harness_sha256, "versions": manifest.get("versions"), "device": manifest.get("device"),
        "device_name": manifest.get("device_name"), "created": now(),
        "validation": dict(validation), "sandbox": dict(sandbox), "files": files,
        "records": {r["key"]: record_hash(r) for r in records},
    }
    atomic_write(folder / BUNDLE, json.dumps(bundle, indent=1, sort_keys=True) + "\n")
    return bundle
