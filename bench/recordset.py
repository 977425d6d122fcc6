"""Records in compact columns, for the leaderboard: read fast, keep only what tables need.

A :class:`RecordSet` holds one entry per record as small integer codes into three catalogues —
**table** (:class:`TableKey`: the task and everything about the run that must be equal for two
records to be compared: suite and its version, instance and background counts, model seed,
dataset version, weights, device type, code identity), **method** (:class:`MethodKey`: label,
name, parameters) and **metric** (:class:`MetricKey`: label, name, parameters and class metadata)
— plus the seed, the status, and the per-instance values as slices of one float64 array. Records
that differ in any of these fields get different codes, so they can never share a cell; the
leaderboard labels them apart (see :mod:`xaibench.tables`).

Reading ``records.jsonl`` uses msgspec, decoding only these fields: the standard library's
``json`` needs ~10 s for 200,000 records, most of it building dicts the leaderboard throws away.
The file semantics are those of :func:`xaibench.store.read_records` (whose checks of paths and
whose error for a damaged line this module reuses): a torn last line (no newline, or not JSON) is
skipped with a warning, and a line that is not a record raises
:class:`~xaibench.errors.RecordsError` naming the line. Every field the store type-checks is
type-checked here too. Records given as dicts (the Python API) go through the same decoder.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np

from .errors import RecordsError
from .records import dumps

log = logging.getLogger(__name__)

STATUS = {"ok": 0, "error": 1, "skipped": 2}
OK, ERROR, SKIPPED = 0, 1, 2
_CHUNK_BYTES = 1 << 23
_NULL = msgspec.Raw(b"null")


class _Row(msgspec.Struct, gc=False):
    """A record as the leaderboard reads it (see :mod:`xaibench.records`). Every field that
    :func:`xaibench.store.read_records` type-checks is declared with the same type, so a damaged
    line fails here as it fails there, whatever the leaderboard keeps; the JSON objects kept raw
    (parameters, quality, versions) are checked to be objects once per distinct value."""

    key: str
    task: str
    method: str
    metric: str
    seed: int
    status: Literal["ok", "error", "skipped"]
    category: str = ""
    higher_is_better: bool = True
    per_instance: bool = True
    heavy_tailed: bool = False
    suite: str | None = None
    suite_version: str | None = None
    dataset: str | None = None
    model: str | None = None
    target: str | None = None
    dataset_version: str | None = None
    model_seed: int | None = None
    weights_sha256: str | None = None
    n_instances: int | None = None
    n_instances_requested: int | None = None
    n_background: int | None = None
    device_type: str | None = None
    device: str | None = None
    device_name: str | None = None
    code_sha256: str | None = None
    xaibench_version: str | None = None
    versions: msgspec.Raw = _NULL
    quality: msgspec.Raw = _NULL
    method_name: str | None = None
    method_params: msgspec.Raw = _NULL
    metric_name: str | None = None
    metric_params: msgspec.Raw = _NULL
    metric_n_instances: int | None = None
    n_instances_scored: int | None = None
    error_type: str | None = None
    error: str | None = None
    traceback: str | None = None
    stochastic: bool | None = None
    values: list[float | None] | None = None
    n: int | None = None
    value: float | None = None
    stderr: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    interval: str | None = None
    extras: dict | None = None
    seconds: float | None = None
    explanations_per_second: float | None = None
    peak_memory_mb: float | None = None
    metric_seconds: float | None = None
    explain_cpu_seconds: float | None = None
    metric_cpu_seconds: float | None = None


_DECODER = msgspec.json.Decoder(_Row)
_LAX_DECODER = msgspec.json.Decoder(_Row, strict=False)  # records from a DataFrame: 16.0 where 16 was meant
# everything that decides a record's (table, method, metric) codes, but the raw JSON fields
# (unhashable: added as bytes)
IDENTITY_FIELDS = ("task", "suite", "suite_version", "n_instances", "n_background", "model_seed", "dataset_version",
                   "weights_sha256", "device_type", "device", "code_sha256", "device_name",
                   "method", "method_name",
                   "metric", "metric_name", "category", "higher_is_better", "per_instance", "heavy_tailed",
                   "metric_n_instances")
RAW_FIELDS = ("method_params", "metric_params", "quality", "versions")
_IDENTITY = attrgetter(*IDENTITY_FIELDS)
# positions in the identity tuple (IDENTITY_FIELDS, then the RAW_FIELDS as bytes)
_TABLE, _METHOD, _METRIC = slice(0, 12), slice(12, 14), slice(14, 21)
_RAW = len(IDENTITY_FIELDS)
_METHOD_PARAMS, _METRIC_PARAMS, _QUALITY, _VERSIONS = _RAW, _RAW + 1, _RAW + 2, _RAW + 3


@dataclass(frozen=True)
class TableKey:
    """What must be equal for records to be compared in one task table."""

    task: str
    suite: str | None
    suite_version: str | None
    n_instances: int | None
    n_background: int | None
    model_seed: int | None
    dataset_version: str | None
    weights_sha256: str | None
    device_type: str | None
    code: str | None  # code_sha256, or "xaibench <version> @ <commit>" for records without one

    @property
    def dataset(self) -> str:
        return self.task.split("/", 1)[0]


@dataclass(frozen=True)
class MethodKey:
    label: str
    name: str | None
    params: str  # canonical JSON

    @property
    def params_dict(self) -> dict[str, Any]:
        return json.loads(self.params) or {}


@dataclass(frozen=True)
class MetricKey:
    label: str
    name: str | None
    params: str  # canonical JSON
    category: str
    higher_is_better: bool
    per_instance: bool
    heavy_tailed: bool
    budget: int | None = None  # the suite's n_instances for this metric (None: every explained instance)

    @property
    def params_dict(self) -> dict[str, Any]:
        return json.loads(self.params) or {}

    @property
    def truth(self) -> str | None:
        """Whose truth a ground-truth metric scores (``metric_params["truth"]``), if it says."""
        return self.params_dict.get("truth")

    @property
    def is_quality(self) -> bool:
        return self.category != "cost"


@dataclass
class Source:
    """One run folder (or records file, or in-memory record list) and its manifest plan."""

    name: str
    plan: dict[str, Any] | None = None


@dataclass
class RecordSet:
    tables: list[TableKey] = field(default_factory=list)
    methods: list[MethodKey] = field(default_factory=list)
    metrics: list[MetricKey] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "Type: message"
    sources: list[Source] = field(default_factory=list)
    quality: dict[int, dict[str, float]] = field(default_factory=dict)  # table → the model's quality
    devices: dict[int, set[str]] = field(default_factory=dict)  # table → "cpu (AMD EPYC (2 threads))"
    versions: list[dict[str, Any]] = field(default_factory=list)  # the distinct ``versions`` of the records
    # one entry per record, in reading order:
    table: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    method: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    metric: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    seed: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    status: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    error: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))  # index into errors, -1
    source: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    start: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # values[start:start + length]
    length: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    summary: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))  # the record's value, ci_low, ci_high
    interval: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))  # index into intervals, -1
    intervals: list[str] = field(default_factory=list)
    values: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __len__(self) -> int:
        return int(self.table.size)

    def values_of(self, record: int) -> np.ndarray:
        return self.values[self.start[record]:self.start[record] + self.length[record]]

    def latest(self) -> np.ndarray:
        """Indices of the last record read of each (table, method, metric, seed), in reading order:
        a retried cell's new record replaces its failure, and of two run folders holding the same
        cell the later one counts."""
        if not len(self):
            return np.empty(0, np.int64)
        keys = combined_key(self.table, self.method, self.metric, self.seed)
        _, first_in_reversed = np.unique(keys[::-1], return_index=True)
        latest = np.sort(len(self) - 1 - first_in_reversed)
        if latest.size < len(self):
            log.info("%d records were replaced by later records of the same cell (a retry, or repeated run folders)",
                     len(self) - latest.size)
        return latest


def combined_key(*columns: np.ndarray) -> np.ndarray:
    """One int64 per row that is equal exactly when every column is (a mixed-radix number)."""
    key = np.zeros(len(columns[0]), np.int64)
    for column in columns:
        column = np.asarray(column, np.int64)
        low = int(column.min()) if column.size else 0
        key = key * (int(column.max()) - low + 1 if column.size else 1) + (column - low)
    return key


class _Builder:
    """Accumulates decoded rows chunk by chunk into a :class:`RecordSet`."""

    def __init__(self) -> None:
        self.out = RecordSet()
        self._codes: dict[str, dict[Any, int]] = {"table": {}, "method": {}, "metric": {}, "error": {}, "interval": {}}
        self._versions: dict[bytes, dict[str, Any]] = {}
        self._json: dict[bytes, str] = {}
        self._columns: dict[str, list[np.ndarray]] = {k: [] for k in (
            "table", "method", "metric", "seed", "status", "error", "source", "length", "summary", "interval",
            "values")}
        self._versions_seen: set[bytes] = set()
        self._raw_codes: dict[tuple, tuple[int, int, int]] = {}
        self._parts: dict[tuple, int] = {}
        self._interned: dict[Any, Any] = {}

    def add_source(self, source: Source) -> int:
        self.out.sources.append(source)
        return len(self.out.sources) - 1

    def add(self, rows: list[_Row], source: int, where: str = "records") -> None:
        """Add decoded ``rows`` read from ``where`` (a file, for error messages)."""
        if not rows:
            return
        out, codes, intern = self.out, self._raw_codes, self._interned
        ids = []
        for row in rows:  # the hot loop: one tuple (built in C) and one dict look-up per record
            key = _IDENTITY(row) + (bytes(row.method_params), bytes(row.metric_params), bytes(row.quality),
                                    bytes(row.versions))
            found = codes.get(key)
            if found is None:
                key = tuple(map(intern.setdefault, key, key))  # keep shared objects, not this row's
                found = codes[key] = self._identify(row, key, where)
            ids.append(found)
        n = len(rows)
        id_array = np.array(ids, dtype=np.int32).reshape(n, 3)
        status_text = np.array([r.status for r in rows], dtype=object)
        status = np.full(n, ERROR, np.int8)
        for name, code in STATUS.items():
            status[status_text == name] = code
        ok = status == OK
        values = [r.values if r.values is not None else () for r in rows]
        lengths = np.where(ok, np.fromiter(map(len, values), np.int64, n), 0)
        flat = chain.from_iterable(v for v, good in zip(values, ok.tolist()) if good)
        try:  # fast when every value is a number; None (a non-finite value) needs the slower path
            flat_values = np.fromiter(flat, np.float64, int(lengths.sum()))
        except TypeError:
            flat_values = np.array(list(chain.from_iterable(v for v, good in zip(values, ok.tolist()) if good)),
                                   dtype=np.float64)
        errors = np.full(n, -1, np.int32)
        for i in np.flatnonzero(~ok).tolist():
            errors[i] = self._catalogue_id("error", f"{rows[i].error_type}: {rows[i].error}", out.errors)
        self._append(id_array, np.fromiter((r.seed for r in rows), np.int64, n), status, errors, source, lengths,
                     flat_values, np.array([(r.value, r.ci_low, r.ci_high) for r in rows], dtype=np.float64),
                     self._codes_of("interval", [r.interval for r in rows], out.intervals))

    def _append(self, ids: np.ndarray, seed: np.ndarray, status: np.ndarray, errors: np.ndarray, source: int,
                lengths: np.ndarray, flat_values: np.ndarray, summary: np.ndarray, interval: np.ndarray) -> None:
        """Add one chunk of records as arrays: ``ids`` (n, 3) table/method/metric codes; ``lengths``
        the number of values each record keeps (0 unless ok), ``flat_values`` those values in order."""
        cols = self._columns
        cols["table"].append(ids[:, 0])
        cols["method"].append(ids[:, 1])
        cols["metric"].append(ids[:, 2])
        cols["seed"].append(seed)
        cols["status"].append(status)
        cols["error"].append(errors)
        cols["source"].append(np.full(len(seed), source, np.int32))
        cols["length"].append(lengths)
        cols["values"].append(flat_values)
        cols["summary"].append(summary)
        cols["interval"].append(interval)

    def add_arrow(self, table: Any, source: int, where: str) -> None:
        """Add the records of a ``pyarrow.Table`` (a results folder's, :mod:`xaibench.results`),
        column by column: each distinct identity is decoded once, as :meth:`add` does per row."""
        import pyarrow.compute as pc  # noqa: PLC0415

        n = table.num_rows
        if not n:
            return
        out = self.out
        ids = np.empty((n, 3), np.int32)
        for column, (fields, code_of) in enumerate(((_TABLE_PART, self._table_code), (_METHOD_PART, self._method_code),
                                                    (_METRIC_PART, self._metric_code))):
            identity = _group_codes([_codes(table.column(name)) for name in fields])
            groups, first, inverse = np.unique(identity, return_index=True, return_inverse=True)
            order = np.argsort(first, kind="stable")  # catalogue codes in reading order, as for JSON lines
            found = np.empty(groups.size, np.int32)
            for g, head in zip(order.tolist(), table.select(list(fields)).take(first[order]).to_pylist()):
                row = _row_of(head, where)
                found[g] = code_of(row, _IDENTITY(row) + tuple(bytes(getattr(row, name)) for name in RAW_FIELDS))
            ids[:, column] = found[inverse.reshape(-1)]
        seeds = table.column("seed")
        if seeds.null_count:
            raise RecordsError(f"{where}: {seeds.null_count} records have no seed; every record needs key, task, "
                               "method, metric, seed and status")
        status_codes, status_names = _codes(table.column("status"), dictionary=True)
        unknown = set(status_names) - set(STATUS)
        if unknown:
            raise RecordsError(f"{where}: unknown record status {sorted(map(str, unknown))}; a status is one of "
                               f"{', '.join(STATUS)}")
        status = np.array([STATUS[name] for name in status_names], np.int8)[status_codes]
        ok = status == OK
        errors = np.full(n, -1, np.int32)
        failed = np.flatnonzero(~ok)
        if failed.size:
            kinds = table.column("error_type").take(failed).to_pylist()
            texts = table.column("error").take(failed).to_pylist()
            for i, kind, text in zip(failed.tolist(), kinds, texts):
                errors[i] = self._catalogue_id("error", f"{kind}: {text}", out.errors)
        values = table.column(VALUES_COLUMN).combine_chunks()
        offsets = values.offsets.to_numpy()
        all_lengths = np.diff(offsets).astype(np.int64)
        flat = pc.fill_null(values.values, float("nan")).to_numpy() if len(values.values) else np.empty(0)
        flat = flat[offsets[0]:offsets[-1]]
        lengths = np.where(ok, all_lengths, 0)
        flat = flat[np.repeat(ok, all_lengths)] if not ok.all() else flat
        summary = np.stack([pc.fill_null(table.column(c), float("nan")).to_numpy() for c in ("value", "ci_low",
                                                                                             "ci_high")], axis=1)
        interval_codes, interval_names = _codes(table.column("interval"), dictionary=True)
        mapping = np.array([self._catalogue_id("interval", name, out.intervals) for name in interval_names] + [-1],
                           np.int32)
        self._append(ids, seeds.to_numpy().astype(np.int64), status, errors, source, lengths,
                     np.ascontiguousarray(flat, dtype=np.float64), summary.astype(np.float64), mapping[interval_codes])

    def _codes_of(self, kind: str, texts: list[str | None], catalogue: list[str]) -> np.ndarray:
        """Catalogue codes of ``texts`` (−1 for ``None``): one comparison pass per distinct text."""
        array = np.array(texts, dtype=object)
        codes = np.full(len(texts), -1, np.int32)
        for text in set(texts) - {None}:
            codes[array == text] = self._catalogue_id(kind, text, catalogue)
        return codes

    def _identify(self, row: _Row, key: tuple, where: str) -> tuple[int, int, int]:
        """(table, method, metric) codes of a record whose identity ``key`` was not seen before."""
        for name, raw in zip(RAW_FIELDS, key[_RAW:]):
            if raw[:1] not in (b"{", b"n"):
                raise RecordsError(f"{where}: the record with key {row.key!r} has {name} = {raw[:40]!r}, not a JSON "
                                   "object: the file is damaged; restore it from a copy, or delete that line and "
                                   "resume the run to compute the record again")
        return self._table_code(row, key), self._method_code(row, key), self._metric_code(row, key)

    def _table_code(self, row: _Row, key: tuple) -> int:
        part = key[_TABLE] + (key[_VERSIONS] if row.code_sha256 is None else None,)
        code = self._parts.get(part)
        if code is None:
            code = self._parts[part] = self._table_id(row)
        return code

    def _method_code(self, row: _Row, key: tuple) -> int:
        part = ("method",) + key[_METHOD] + (key[_METHOD_PARAMS],)
        code = self._parts.get(part)
        if code is None:
            code = self._parts[part] = self._catalogue_id("method", MethodKey(
                row.method, row.method_name, self._canonical(row.method_params)), self.out.methods)
        return code

    def _metric_code(self, row: _Row, key: tuple) -> int:
        part = ("metric",) + key[_METRIC] + (key[_METRIC_PARAMS],)
        code = self._parts.get(part)
        if code is None:
            code = self._parts[part] = self._catalogue_id("metric", MetricKey(
                row.metric, row.metric_name, self._canonical(row.metric_params), row.category,
                row.higher_is_better, row.per_instance, row.heavy_tailed, row.metric_n_instances), self.out.metrics)
        return code

    def _table_id(self, row: _Row) -> int:
        out = self.out
        key = TableKey(row.task, row.suite, row.suite_version, row.n_instances, row.n_background, row.model_seed,
                       row.dataset_version, row.weights_sha256, row.device_type or _device_type(row.device),
                       row.code_sha256 or self._code(row))
        tid = self._catalogue_id("table", key, out.tables)
        quality = self._canonical(row.quality)
        if tid not in out.quality and quality != "null":
            out.quality[tid] = json.loads(quality)
        if row.device_name:
            out.devices.setdefault(tid, set()).add(f"{row.device} ({row.device_name})")
        self._versions_seen.add(bytes(row.versions))  # provenance: the versions of each table's records
        return tid

    def _catalogue_id(self, kind: str, key: Any, catalogue: list) -> int:
        codes = self._codes[kind]
        code = codes.get(key)
        if code is None:
            code = codes[key] = len(catalogue)
            catalogue.append(key)
        return code

    def _code(self, row: _Row) -> str | None:
        versions = self._parsed_versions(row.versions)
        version = row.xaibench_version or versions.get("xaibench")
        if version is None and versions.get("git_commit") is None:
            return None
        return f"xaibench {version} @ {versions.get('git_commit')}"

    def _parsed_versions(self, raw: msgspec.Raw) -> dict[str, Any]:
        key = bytes(raw)
        if key not in self._versions:
            self._versions[key] = json.loads(key) or {}
        return self._versions[key]

    def _canonical(self, raw: msgspec.Raw) -> str:
        """Canonical JSON (sorted keys) of a raw JSON value, memoised on its bytes."""
        key = bytes(raw)
        text = self._json.get(key)
        if text is None:
            text = self._json[key] = json.dumps(json.loads(key), sort_keys=True, separators=(",", ":"))
        return text

    def build(self) -> RecordSet:
        out, cols = self.out, self._columns

        def cat(name: str, dtype: Any, shape: tuple = (0,)) -> np.ndarray:
            return np.concatenate(cols[name]).astype(dtype, copy=False) if cols[name] else np.empty(shape, dtype)

        out.table, out.method, out.metric = cat("table", np.int32), cat("method", np.int32), cat("metric", np.int32)
        out.seed, out.status, out.error = cat("seed", np.int64), cat("status", np.int8), cat("error", np.int32)
        out.source, out.length = cat("source", np.int32), cat("length", np.int64)
        out.summary, out.interval = cat("summary", np.float64, (0, 3)), cat("interval", np.int32)
        out.values = cat("values", np.float64)
        out.versions = [self._parsed_versions(msgspec.Raw(v)) for v in sorted(self._versions_seen)]
        self._raw_codes, self._parts, self._interned = {}, {}, {}
        out.start = np.concatenate([[0], np.cumsum(out.length)[:-1]]).astype(np.int64) if len(out.length) else \
            np.empty(0, np.int64)
        self._columns = {}
        return out


VALUES_COLUMN = "values"
_TABLE_PART = IDENTITY_FIELDS[_TABLE] + ("quality", "versions", "xaibench_version")
_METHOD_PART = IDENTITY_FIELDS[_METHOD] + ("method_params",)
_METRIC_PART = IDENTITY_FIELDS[_METRIC] + ("metric_params",)
_HEAD_COLUMNS = tuple(dict.fromkeys(_TABLE_PART + _METHOD_PART + _METRIC_PART))


def _codes(column: Any, *, dictionary: bool = False) -> Any:
    """Integer codes of a pyarrow column's values (−1 for null); with ``dictionary``, also the
    distinct values the codes index."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    encoded = column.unify_dictionaries().combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if isinstance(encoded, pa.ChunkedArray):  # no chunks at all
        encoded = pa.concat_arrays(encoded.chunks) if encoded.num_chunks else pa.array([], column.type)
    codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    return (codes, encoded.dictionary.to_pylist()) if dictionary else codes


def _group_codes(columns: list[np.ndarray]) -> np.ndarray:
    """One int64 per row, equal exactly when every column's code is (mixed radix, compacted with
    ``np.unique`` before it could overflow)."""
    key = np.zeros(len(columns[0]), np.int64)
    span = 1
    for codes in columns:
        width = int(codes.max()) + 2 if codes.size else 1  # codes from -1
        if span * width >= 1 << 62:
            _, key = np.unique(key, return_inverse=True)
            key = key.reshape(-1).astype(np.int64)
            span = int(key.max()) + 1
        key = key * width + (codes + 1)
        span *= width
    return key


_ROW_DEFAULTS = {"key": "(not read)", "task": "", "method": "", "metric": "", "seed": 0, "status": "ok"}


def _row_of(head: dict[str, Any], where: str) -> _Row:
    """A :class:`_Row` from a results table's row (its JSON columns as raw JSON; the key, which the
    leaderboard does not use, is not read)."""
    fields = {**_ROW_DEFAULTS, **{k: v for k, v in head.items() if v is not None}}
    for name in RAW_FIELDS:
        fields[name] = msgspec.Raw(head[name].encode()) if head.get(name) is not None else _NULL
    try:
        return _Row(**fields)
    except (TypeError, msgspec.ValidationError) as exc:
        raise RecordsError(f"{where}: a record the leaderboard cannot read ({exc}); every record needs key, task, "
                           "method, metric, seed and status") from None


def _device_type(device: str | None) -> str | None:
    return None if device is None else device.split(":", 1)[0]


# -- reading --------------------------------------------------------------------------------------
def read(sources: Any) -> RecordSet:
    """A :class:`RecordSet` from run folders / ``records.jsonl`` paths, a list of record dicts, or
    a pandas DataFrame of records (whose ``attrs["run_dir"]``, set by ``xaibench.run``, names the
    run folder whose manifest gives the plan)."""
    builder = _Builder()
    if hasattr(sources, "to_dict") and hasattr(sources, "columns"):  # a DataFrame
        run_dir = getattr(sources, "attrs", {}).get("run_dir")
        index = builder.add_source(Source(str(run_dir or "records"), _plan(Path(run_dir)) if run_dir else None))
        _add_dicts(builder, sources.to_dict(orient="records"), index)
    elif isinstance(sources, (str, Path)):
        _add_path(builder, Path(sources))
    elif isinstance(sources, (list, tuple)) and sources and all(isinstance(s, (str, Path)) for s in sources):
        for source in sources:
            _add_path(builder, Path(source))
    else:
        index = builder.add_source(Source("records"))
        _add_dicts(builder, list(sources), index)
    return builder.build()


def _add_dicts(builder: _Builder, records: Iterable[Mapping[str, Any]], source: int) -> None:
    lines = "\n".join(dumps(r) for r in records)
    if lines:
        try:
            builder.add(_LAX_DECODER.decode_lines(lines.encode("utf-8")), source)
        except msgspec.ValidationError as exc:
            raise RecordsError(f"a record the leaderboard cannot read ({exc}); every record needs key, task, "
                               "method, metric, seed and status") from None


def _add_path(builder: _Builder, path: Path) -> None:
    from .results import RECORDS_PARQUET, is_results_folder, iter_tables  # noqa: PLC0415
    from .store import MANIFEST, records_file  # noqa: PLC0415

    if is_results_folder(path) or path.suffix == ".parquet":
        folder = path if path.is_dir() else path.parent
        plan = _plan(folder) if (folder / MANIFEST).exists() else None
        index = builder.add_source(Source(str(path), plan))
        for table in iter_tables(path, _ARROW_COLUMNS):
            builder.add_arrow(table, index, str(folder / RECORDS_PARQUET))
        import pyarrow  # noqa: PLC0415

        pyarrow.default_memory_pool().release_unused()  # the decoded chunks' memory goes back to the system
        return
    records = records_file(path)  # the store's checks and messages for a path that is not a run
    plan = _plan(records.parent) if (records.parent / MANIFEST).exists() else None
    index = builder.add_source(Source(str(path), plan))
    for rows in _decoded_chunks(records):
        builder.add(rows, index, str(records))


_ARROW_COLUMNS = tuple(dict.fromkeys(_HEAD_COLUMNS + ("seed", "status", "error_type", "error", "value", "ci_low",
                                                    "ci_high", "interval", VALUES_COLUMN)))


def _plan(run_dir: Path) -> dict[str, Any] | None:
    """The plan of the run in ``run_dir``: the manifest's, or that of its latest resume that changed it."""
    from .store import MANIFEST  # noqa: PLC0415

    try:
        manifest = json.loads((run_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    plans = [manifest.get("plan")] + [r.get("plan") for r in manifest.get("resumed", []) if isinstance(r, dict)]
    return [p for p in plans if p][-1] if any(plans) else None  # a resume with other selections plans anew


def _decoded_chunks(path: Path) -> Iterable[list[_Row]]:
    """Decoded rows of ``path``, a few MB at a time (see the module docstring for torn lines)."""
    offset, tail = 0, b""
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_CHUNK_BYTES)
            data = tail + chunk if tail else chunk
            if not chunk:
                if data.strip():
                    log.warning("%s: skipping a torn last line (%d bytes)", path, len(data))
                return
            cut = data.rfind(b"\n") + 1
            tail = data[cut:]
            if cut:
                yield _decode(memoryview(data)[:cut], path, offset, last_chunk=not tail and not _more(handle))
                offset += cut


def _more(handle) -> bool:
    position = handle.tell()
    more = bool(handle.read(1))
    handle.seek(position)
    return more


def _decode(data: memoryview, path: Path, offset: int, *, last_chunk: bool) -> list[_Row]:
    """Rows of complete lines ``data`` found at byte ``offset`` of ``path``."""
    try:
        return _DECODER.decode_lines(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass
    rows, lines = [], bytes(data).split(b"\n")[:-1]  # data ends with a newline
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(_DECODER.decode(line))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            if last_chunk and index == len(lines) - 1 and isinstance(exc, msgspec.DecodeError):
                log.warning("%s: skipping a torn last line (%d bytes) left by an interrupted write", path, len(line))
                continue
            _raise_damaged(path, _line_number(path, offset, index), exc)
    return rows


def _raise_damaged(path: Path, number: int, exc: Exception) -> None:
    """Raise the store's own error for the first damaged line of ``path`` (same message whichever
    reader finds it), or, for a line the store accepts but the leaderboard cannot use, ours."""
    from .store import read_records  # noqa: PLC0415

    for _ in read_records(path, ("key",)):  # raises RecordsError naming the line
        pass
    raise RecordsError(f"{path}:{number}: a record the leaderboard cannot read ({exc}); every record needs key, "
                       "task, method, metric, seed and status") from None


def _line_number(path: Path, offset: int, index: int) -> int:
    with open(path, "rb") as handle:
        return handle.read(offset).count(b"\n") + index + 1
