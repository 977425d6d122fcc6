"""What ``xaibench publish`` checks before a bundle enters the leaderboard.

Nothing here imports, unpickles or runs submitted code: the bundle is read as JSON, JSON lines and
(for the parameters' defaults) the *syntax tree* of its source (``ast.parse``). Each check that
fails raises :class:`~xaibench.errors.BundleError` saying why and what to do. In order:

1. **Safe names.** The bundle is a real folder (no symbolic links on the way to any file it lists);
   ``bundle.json`` is at most 16 MB. Its ``name`` and every file name it lists are plain, safe path
   components (letters, digits, ``.``, ``_``, ``-``; no ``..``, no leading dot, no separators
   beyond the fixed layout); anything else is refused, never rewritten.
2. **Hashes.** Every listed file has the listed SHA-256; the last record of each key has the
   listed hash, and no record is missing or extra.
3. **Records agree with themselves.** Each key is the hash of the record's identity
   (:func:`xaibench.records.record_key`); the value, its interval and ``n`` are what the
   per-instance values give (:func:`xaibench.stats.summarize_arrays`); the method fields are the
   bundle's method; ``code_sha256 = sha256(harness_sha256 + method.py)``, binding the records to
   the published value code and to this source.
4. **Canonical settings.** The suite is the published results' suite (name, version, SHA-256), and
   so is the run's plan (tasks, metrics with their parameters, seeds, instance and background
   counts, model seed, time limit); every record's settings match it; the method ran with one
   parameter set, the defaults written in its source.
5. **Complete coverage.** Every planned (task, metric, seed) has a record; a partial bundle
   (``submit --tasks``) is refused.
6. **Comparable.** The bundle ran the value code of the published results (``harness_sha256``), and
   its name is not a built-in method's nor another submission's.

What this cannot prove: a forger who edits values *and* per-instance values *and* every hash
produces a self-consistent bundle. Anyone can re-run the shipped ``method.py`` with
``xaibench submit`` and compare the records' values; publishing never runs it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BundleError
from ..records import canonical_json, record_key
from ..store import MANIFEST, RECORDS, latest_per_key, read_records
from .bundle import BUNDLE, FORMAT, FORMAT_VERSION, SOURCE, coverage, record_hash, sha256_file
from .canonical import submission_seeds

MAX_BUNDLE_JSON = 16 << 20
SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
PLAN_FIELDS = ("tasks", "metrics", "seeds", "n_instances", "task_n_instances", "n_background", "model_seed",
               "cell_timeout")
RECORD_SETTINGS = {"suite": "name", "suite_version": "version"}


@dataclass
class Verified:
    """A bundle that passed every check: its folder, ``bundle.json``, records and files to copy."""

    folder: Path
    bundle: dict[str, Any]
    records: list[dict[str, Any]]
    files: dict[str, Path]  # relative name in the bundle → its path

    @property
    def name(self) -> str:
        return self.bundle["name"]


@dataclass(frozen=True)
class Canon:
    """What a bundle must match: the published suite and plan, value code, and names in use."""

    suite: Mapping[str, Any]  # name, version, sha256
    plan: Mapping[str, Any]  # Plan.describe() of the published suite
    harness_sha256: str | None
    taken: frozenset[str]  # built-in method names and labels


def verify(folder: str | Path, canon: Canon) -> Verified:
    """Check the bundle in ``folder`` against ``canon`` (see the module docstring)."""
    folder = Path(folder)
    bundle = _bundle_json(folder)
    files = _files(folder, bundle)
    records = _records(folder, bundle, files)
    _source(bundle, files[SOURCE])
    _self_consistent(bundle, records, files[SOURCE])
    _canonical(bundle, records, files[MANIFEST], canon)
    return Verified(folder, bundle, records, files)


# -- 1. names and files ---------------------------------------------------------------------------
def _bundle_json(folder: Path) -> dict[str, Any]:
    if folder.is_symlink() or not folder.is_dir():
        raise BundleError(f"{folder} is not a bundle folder (a folder made by `xaibench submit FILE.py:Class`, "
                          "not a link)")
    path = folder / BUNDLE
    info = _regular(path, folder)
    if info.st_size > MAX_BUNDLE_JSON:
        raise BundleError(f"{path} is {info.st_size >> 20} MB, more than a bundle manifest can be")
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise BundleError(f"{path} is not an xaibench bundle manifest (no \"format\": \"{FORMAT}\")")
    if bundle.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format version {bundle.get('format_version')!r}; this xaibench reads "
                          f"version {FORMAT_VERSION}: publish it with the xaibench version that made it")
    for key, kind in (("name", str), ("method", dict), ("suite", dict), ("plan", dict), ("files", dict),
                      ("records", dict), ("harness_sha256", str)):
        if not isinstance(bundle.get(key), kind):
            raise BundleError(f"{path}: {key!r} is missing or not a {kind.__name__}; the manifest is damaged")
    name = bundle["name"]
    if not NAME.fullmatch(name):
        raise BundleError(f"{path}: the name {name!r} is not a safe name (1-64 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit); it would be used as a folder name. Submit again with "
                          "--name NAME")
    return bundle


def _regular(path: Path, root: Path) -> os.stat_result:
    """``path``'s status, refusing a missing file, a non-regular file, or a link anywhere below ``root``."""
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        try:
            info = current.lstat()
        except FileNotFoundError:
            raise BundleError(f"{path} is missing from the bundle") from None
        if stat.S_ISLNK(info.st_mode):
            raise BundleError(f"{current} is a symbolic link; a bundle holds plain files only")
    if not stat.S_ISREG(info.st_mode):
        raise BundleError(f"{path} is not a regular file")
    return info


def safe_relative(name: Any) -> tuple[str, ...]:
    """The components of a file name listed in a bundle, each a safe path component; else BundleError."""
    if not isinstance(name, str) or not name or name.startswith("/") or "\\" in name:
        raise BundleError(f"the bundle lists an unsafe file name {name!r}: relative POSIX paths only")
    parts = tuple(name.split("/"))
    if len(parts) > 3 or any(not SAFE.fullmatch(p) or p in (".", "..") for p in parts):
        raise BundleError(f"the bundle lists an unsafe file name {name!r}: every component must be letters, digits, "
                          "'.', '_' or '-' (not starting with a dot), at most 3 deep")
    return parts


def _files(folder: Path, bundle: dict[str, Any]) -> dict[str, Path]:
    from ..attributions import FOLDER  # noqa: PLC0415

    listed = bundle["files"]
    for required in (RECORDS, MANIFEST, SOURCE):
        if required not in listed:
            raise BundleError(f"{folder / BUNDLE} does not list {required}; the bundle is incomplete")
    out: dict[str, Path] = {}
    for name, digest in listed.items():
        parts = safe_relative(name)
        if len(parts) > 1 and parts[0] != FOLDER:
            raise BundleError(f"the bundle lists {name!r}: only {FOLDER}/ may hold sub-folders")
        path = folder.joinpath(*parts)
        _regular(path, folder)
        if not isinstance(digest, str) or sha256_file(path) != digest:
            raise BundleError(f"{path} was changed after the bundle was made: its SHA-256 is not the one in "
                              f"{BUNDLE}. The bundle is refused; make it again with `xaibench submit FILE.py:Class`")
        out[name] = path
    return out


# -- 2. records -------------------------------------------------------------------------------------
def _records(folder: Path, bundle: dict[str, Any], files: dict[str, Path]) -> list[dict[str, Any]]:
    from ..errors import RecordsError  # noqa: PLC0415

    try:
        records = latest_per_key(read_records(files[RECORDS]))
    except RecordsError as exc:
        raise BundleError(f"{folder}: {exc}") from None
    listed = bundle["records"]
    keys = {r["key"] for r in records}
    missing, extra = sorted(set(listed) - keys), sorted(keys - set(listed))
    if missing or extra:
        raise BundleError(f"{folder}: the records do not match {BUNDLE} ({len(missing)} listed but absent, "
                          f"{len(extra)} present but not listed); the bundle is refused")
    for record in records:
        if record_hash(record) != listed[record["key"]]:
            raise BundleError(f"{folder}: record {record['key'][:12]} ({record.get('task')} × {record.get('metric')} "
                              f"× seed {record.get('seed')}) was edited: its hash does not match {BUNDLE}")
    return records


def _self_consistent(bundle: dict[str, Any], records: list[dict[str, Any]], source: Path) -> None:
    method = bundle["method"]
    code = hashlib.sha256(bundle["harness_sha256"].encode())
    code.update(source.read_bytes())
    expected_code = code.hexdigest()
    for record in records:
        where = _where(record)
        try:
            key = record_key(record)
        except KeyError as exc:
            raise BundleError(f"{where} lacks an identity field ({exc})") from None
        if key != record["key"]:
            raise BundleError(f"{where}: its identity fields were edited (its key is not their hash)")
        if record.get("method") != bundle["name"] or record.get("method_name") != method.get("name"):
            raise BundleError(f"{where} is of method {record.get('method')!r} ({record.get('method_name')}), "
                              f"not of the bundle's {bundle['name']!r} ({method.get('name')})")
        if canonical_json(record.get("method_params")) != canonical_json(method.get("params")):
            raise BundleError(f"{where} ran with method parameters {record.get('method_params')}, not the bundle's "
                              f"{method.get('params')}: a submission runs one parameter set, its defaults, everywhere")
        if record.get("code_sha256") != expected_code:
            raise BundleError(f"{where} was not computed by this method.py with the bundle's value code "
                              "(code_sha256 differs)")
    _summaries(records)


def _summaries(records: list[dict[str, Any]]) -> None:
    """The value, interval and ``n`` of every ``ok`` record, recomputed from its values."""
    from ..stats import summarize_arrays  # noqa: PLC0415

    ok = [r for r in records if r.get("status") == "ok" and r.get("values") is not None]
    for heavy in (False, True):
        group = [r for r in ok if bool(r.get("heavy_tailed")) == heavy]
        if not group:
            continue
        width = max(len(r["values"]) for r in group)
        rows = np.full((len(group), width), np.nan)
        for i, r in enumerate(group):
            rows[i, :len(r["values"])] = [np.nan if v is None else v for v in r["values"]]
        value, stderr, low, high, n = summarize_arrays(rows, heavy_tailed=heavy)
        for i, r in enumerate(group):
            for field, expected in (("value", value[i]), ("stderr", stderr[i]), ("ci_low", low[i]),
                                    ("ci_high", high[i]), ("n", n[i])):
                if not _same(r.get(field), expected):
                    raise BundleError(f"{_where(r)}: its {field} ({r.get(field)}) is not what its per-instance "
                                      f"values give ({expected:.6g}); the record was edited")


def _same(recorded: Any, expected: float) -> bool:
    if recorded is None:
        return not math.isfinite(expected)
    return math.isfinite(expected) and math.isclose(float(recorded), expected, rel_tol=1e-9, abs_tol=1e-12)


# -- 3. the source's defaults -------------------------------------------------------------------------
def _source(bundle: dict[str, Any], source: Path) -> None:
    """The method's declared name and parameters are the class's literal defaults in ``method.py``."""
    method = bundle["method"]
    try:
        text = source.read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"method.py cannot be parsed ({exc})") from None
    if method.get("source_sha256") != sha256_file(source) or method.get("source_text") != text:
        raise BundleError("method.py is not the source the bundle's manifest holds (source_sha256 or source_text "
                          "differs)")
    classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == method.get("class")]
    if len(classes) != 1:
        raise BundleError(f"method.py defines no single class {method.get('class')!r}")
    fields, name = _class_fields(classes[0])
    if name != method.get("name"):
        raise BundleError(f"method.py names the method {name!r}, the bundle {method.get('name')!r}")
    params = method.get("params") or {}
    for field, default in fields.items():
        if field not in params:
            continue
        if default is _UNKNOWN:
            raise BundleError(f"the default of {field} in method.py is not a literal, so publish cannot check that "
                              f"the method ran with its defaults; write it as a literal ({field}: ... = 0.5)")
        if canonical_json(default) != canonical_json(params[field]):
            raise BundleError(f"the method ran with {field} = {params[field]!r}, but its default in method.py is "
                              f"{default!r}: submissions run with their defaults (no per-suite tuning)")
    unlisted = sorted(set(params) - set(fields))
    if unlisted:
        raise BundleError(f"the bundle's parameters {unlisted} are not fields of {method.get('class')} in method.py")


_UNKNOWN = object()


def _class_fields(node: ast.ClassDef) -> tuple[dict[str, Any], Any]:
    """``(field → literal default or _UNKNOWN, the literal of name)`` of a dataclass body."""
    fields: dict[str, Any] = {}
    name = None
    for stmt in node.body:
        if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
            continue
        annotation = ast.unparse(stmt.annotation)
        value = _literal(stmt.value)
        if "ClassVar" in annotation:
            if stmt.target.id == "name":
                name = value if value is not _UNKNOWN else None
            continue
        fields[stmt.target.id] = value
    return fields, name


def _literal(node: ast.AST | None) -> Any:
    if node is None:
        return _UNKNOWN
    if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "field":
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        return _literal(default)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNKNOWN


# -- 4-6. canonical settings, coverage, comparability -------------------------------------------------
def _canonical(bundle: dict[str, Any], records: list[dict[str, Any]], manifest_path: Path, canon: Canon) -> None:
    suite = bundle["suite"]
    wanted = {k: canon.suite.get(k) for k in ("name", "version", "sha256")}
    if {k: suite.get(k) for k in wanted} != wanted:
        raise BundleError(f"the bundle ran suite {suite.get('name')!r} v{suite.get('version')} "
                          f"(SHA-256 {str(suite.get('sha256'))[:12]}...), not the canonical {wanted['name']!r} "
                          f"v{wanted['version']} ({str(wanted['sha256'])[:12]}...): submit again without --suite")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"manifest.json is not valid JSON ({exc})") from None
    recorded = manifest.get("suite") or {}
    text = recorded.get("text")
    if not isinstance(text, str) or hashlib.sha256(text.encode()).hexdigest() != wanted["sha256"]:
        raise BundleError("manifest.json's suite text is not the canonical suite's (its SHA-256 differs)")
    if bundle.get("partial"):
        raise BundleError("the bundle is partial (made with `xaibench submit FILE.py:Class --tasks ...`, or "
                          "interrupted): publish takes complete bundles only; run `xaibench submit FILE.py:Class` "
                          "on the whole suite (or resume it with --resume --out BUNDLE)")
    plans = [manifest.get("plan")] + [r.get("plan") for r in manifest.get("resumed") or [] if isinstance(r, dict)]
    for plan in [p for p in plans if p] + [bundle["plan"]]:
        for field in PLAN_FIELDS:
            if canonical_json(plan.get(field)) != canonical_json(canon.plan.get(field)):
                raise BundleError(f"the bundle's run changed the canonical {field} ({_short(plan.get(field))} instead "
                                  f"of {_short(canon.plan.get(field))}): non-canonical settings are refused; submit "
                                  "again without --suite or other selections")
    metrics = {m["label"]: m for m in canon.plan["metrics"]}
    ordered = submission_seeds(canon.plan, bool(bundle["method"].get("stochastic")))
    tasks, seeds = set(canon.plan["tasks"]), set(ordered)
    per_task = canon.plan.get("task_n_instances") or {}
    for r in records:
        where = _where(r)
        metric = metrics.get(r.get("metric"))
        if metric is None or r.get("task") not in tasks or r.get("seed") not in seeds:
            raise BundleError(f"{where} is not a result the canonical suite plans")
        if r.get("metric_name") != metric["name"] or canonical_json(r.get("metric_params")) != \
                canonical_json(metric["params"]):
            raise BundleError(f"{where} ran metric {r.get('metric_name')} with parameters {r.get('metric_params')}, "
                              f"not the canonical {metric['name']} {metric['params']}: non-canonical parameters")
        for field, key in RECORD_SETTINGS.items():
            if r.get(field) != canon.suite.get(key):
                raise BundleError(f"{where} says {field} = {r.get(field)!r}, not the canonical "
                                  f"{canon.suite.get(key)!r}")
        expected = {"n_instances_requested": per_task.get(r.get("task"), canon.plan.get("n_instances")),
                    "n_background": canon.plan.get("n_background"), "model_seed": canon.plan.get("model_seed")}
        for field, value in expected.items():  # a task's own instance budget, where the suite gives one
            if r.get(field) != value:
                raise BundleError(f"{where} says {field} = {r.get(field)!r}, not the canonical {value!r}")
    planned = {"tasks": canon.plan["tasks"], "metrics": canon.plan["metrics"], "seeds": ordered,
               "methods": [bundle["name"]]}  # the canonical plan, for this method at its seeds
    covered = coverage(records, planned, bundle["name"])
    if covered["missing"]:
        raise BundleError(f"the bundle is incomplete: {covered['planned'] - covered['recorded']} planned result(s) "
                          f"have no record (e.g. {covered['missing'][0]}); resume the submission with "
                          "`xaibench submit FILE.py:Class --resume --out BUNDLE`")
    if canon.harness_sha256 is not None and bundle["harness_sha256"] != canon.harness_sha256:
        raise BundleError(f"the bundle ran value code {bundle['harness_sha256'][:12]}..., the published results "
                          f"{canon.harness_sha256[:12]}...: their numbers are not comparable. Install the xaibench "
                          "version of the published results and submit again")
    if bundle["name"] in canon.taken or bundle["method"].get("name") in canon.taken:
        raise BundleError(f"the name {bundle['name']!r} is a built-in method's; submit again with --name NAME")


def _where(record: Mapping[str, Any]) -> str:
    return (f"record {record['key'][:12]} ({record.get('task')} × {record.get('metric')} × seed "
            f"{record.get('seed')})")


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."
