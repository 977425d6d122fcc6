"""What the site shows besides the leaderboard tables, read from ``results/``.

* :func:`curves` — mean deletion and insertion curves per (task, method, metric), averaged over
  seeds, from the records' ``extras`` (``curve_fraction``, ``curve``; :mod:`xaibench.metrics.deletion`).
* :func:`saved_attributions` — the attributions saved by ``--save-attributions``
  (:mod:`xaibench.attributions`) per task and method: the first seed's file of each.
* :func:`provenance` — per method row: built-in (family, description, parameters, xaibench
  version) or submitted (the bundle's method, source hash, where its source is).

Sources: ``RESULTS/standard`` (a run folder) and every ``RESULTS/submissions/<name>`` (a merged
bundle). Nothing here imports submitted code: bundles are read as JSON and ``.npz`` without pickle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CURVE_METRICS = ("deletion_auc", "insertion_auc")


@dataclass
class Saved:
    """Saved attributions of one (task, method): the first instances, one seed."""

    method: str
    seed: int
    kind: str
    inputs: np.ndarray
    attributions: np.ndarray


@dataclass
class Provenance:
    method: str
    origin: str  # "built-in" | "submission"
    family: str | None = None
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    source_sha256: str | None = None
    source_file: str | None = None  # path of the copied source inside the site
    submitted: str | None = None  # when


def run_folders(results: Path) -> list[tuple[Path, dict[str, Any] | None]]:
    """The record folders of ``results``: ``(folder, bundle.json or None)``, built-in results first."""
    from ..submission.canonical import standard_dir  # noqa: PLC0415
    from ..submission.published import read_bundle_json, submission_folders  # noqa: PLC0415

    out: list[tuple[Path, dict[str, Any] | None]] = []
    if standard_dir(results).is_dir():
        out.append((standard_dir(results), None))
    out += [(folder, read_bundle_json(folder)) for folder in submission_folders(results)]
    return out


def curves(folders: Iterable[tuple[Path, dict[str, Any] | None]]) -> dict[str, dict[str, dict[str, tuple]]]:
    """task → metric label → method → ``(fractions, mean curve over seeds)``."""
    from ..store import RECORDS, read_records  # noqa: PLC0415

    sums: dict[tuple[str, str, str], list] = {}
    fields = ("task", "method", "metric", "metric_name", "status", "extras")
    for folder, _ in folders:
        if not (folder / RECORDS).is_file():
            continue
        for r in read_records(folder / RECORDS, fields):
            extras = r.get("extras") or {}
            if r["status"] != "ok" or r["metric_name"] not in CURVE_METRICS or "curve" not in extras:
                continue
            key = (r["task"], r["metric"], r["method"])
            y = np.asarray(extras["curve"], float)
            entry = sums.get(key)
            if entry is None or len(entry[1]) != len(y):
                sums[key] = [list(extras["curve_fraction"]), y.copy(), 1]
            else:
                entry[1] += y
                entry[2] += 1
    out: dict[str, dict[str, dict[str, tuple]]] = {}
    for (task, metric, method), (x, total, count) in sorted(sums.items()):
        out.setdefault(task, {}).setdefault(metric, {})[method] = (x, (total / count).tolist())
    return out


def saved_attributions(folders: Iterable[tuple[Path, dict[str, Any] | None]]) -> dict[str, dict[str, Saved]]:
    """task → method → :class:`Saved` (the lowest seed saved); a later folder's method replaces an earlier one's."""
    from ..attributions import load, read_index  # noqa: PLC0415

    out: dict[str, dict[str, Saved]] = {}
    for folder, _ in folders:
        chosen: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in read_index(folder):
            key = (entry["task"], entry["method"])
            if key not in chosen or entry["seed"] < chosen[key]["seed"]:
                chosen[key] = entry
        for (task, method), entry in chosen.items():
            try:
                inputs, attributions, meta = load(folder, entry)
            except (OSError, ValueError, KeyError):
                continue
            out.setdefault(task, {})[method] = Saved(method, int(entry["seed"]), str(meta.get("kind") or ""),
                                                     inputs, attributions)
    return out


def provenance(folders: Iterable[tuple[Path, dict[str, Any] | None]], rows: Iterable[tuple[str, Any]]
               ) -> dict[str, Provenance]:
    """Per method label: where it comes from. ``rows``: ``(label, MethodKey)`` of the leaderboard."""
    from ..registries import methods  # noqa: PLC0415

    submitted = {bundle["name"]: (folder, bundle) for folder, bundle in folders if bundle is not None}
    out: dict[str, Provenance] = {}
    for label, key in rows:
        if label in out:
            continue
        if label in submitted:
            folder, bundle = submitted[label]
            method = bundle.get("method") or {}
            out[label] = Provenance(label, "submission", method.get("family"), str(method.get("description") or ""),
                                    dict(method.get("params") or {}), (bundle.get("versions") or {}).get("xaibench"),
                                    method.get("source_sha256"), f"sources/{folder.name}.py.txt",
                                    bundle.get("created"))
            continue
        name = getattr(key, "name", None) or label
        cls = methods.get(name) if name in methods else None
        out[label] = Provenance(label, "built-in", getattr(cls, "family", None),
                                str(getattr(cls, "description", "") or ""), getattr(key, "params_dict", {}) or {},
                                _xaibench_version())
    return out


def _xaibench_version() -> str:
    from .. import __version__  # noqa: PLC0415

    return __version__


def params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(params.items())) or "defaults"
