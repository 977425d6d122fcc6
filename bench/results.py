"""Results folders: a run's records in a compact columnar file, its manifest, and the rendered leaderboard.

A run folder (:mod:`xaibench.store`) is made for writing: one JSON line per record, appended as
cells finish. A **results folder** (``results/standard``) is made for publishing and reading:

* ``records.parquet`` — the latest record of every key of one or more runs, one row each, with
  the fields of :mod:`xaibench.records` as typed columns (parameters, quality, versions and extras
  as JSON text; the per-instance ``values`` as a list of doubles, ``null`` where not finite),
  zstd-compressed. Rows keep the order in which the runs first wrote each key (a retried cell keeps
  its place), so the results folder renders exactly the leaderboard of its run folder. Fields a
  record has beyond :data:`COLUMNS` (a plugin's) are kept in one JSON column, so reading gives back
  the records exactly (with ``None`` for the fields a record did not have).
* ``manifest.json`` — the run's manifest (suite and its text, the plan, versions, device, command)
  with a ``results`` entry: the record count and the SHA-256 of ``records.parquet``, the run
  folders it came from, the run's measured time (``timing.json`` of the run folder, when the run
  was started by ``docs/standard_results.py``), and the rendered leaderboard files (paths
  relative to the folder, by format).

::

    xaibench leaderboard RUN_DIR --save results/standard   # write the folder, render results/LEADERBOARD.*
    xaibench leaderboard --check results/standard          # are the rendered files what the records give?

Reading is columnar (:func:`xaibench.recordset.read` takes a results folder like a run folder):
the leaderboard reads only the columns it needs, so 200,000 records render in seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RecordsError, ResultsError
from .records import canonical_json

log = logging.getLogger(__name__)

RECORDS_PARQUET = "records.parquet"
MANIFEST = "manifest.json"
TIMING = "timing.json"
EXTENSIONS = {"markdown": "md", "latex": "tex", "csv": "csv", "json": "json"}
RENDERED_NAME = "LEADERBOARD"
"""``--save`` renders ``LEADERBOARD.md`` (``.tex``, ``.csv``, ``.json``) into the results folder, or
into the folder ``--render-into`` names (``results/`` for the standard suite)."""

_TEXT = ("key", "status", "suite", "suite_version", "task", "dataset", "dataset_version", "model", "target",
         "weights_sha256", "method", "method_name", "family", "metric", "metric_name", "category", "interval",
         "error_type", "error", "traceback", "device", "device_type", "device_name", "xaibench_version",
         "code_sha256")
_INTEGER = ("seed", "model_seed", "n_instances", "n_instances_requested", "n_background", "metric_n_instances",
            "n_instances_scored", "n")
_BOOLEAN = ("stochastic", "higher_is_better", "per_instance", "heavy_tailed")
_FLOAT = ("value", "stderr", "ci_low", "ci_high", "seconds", "explanations_per_second", "peak_memory_mb",
          "metric_seconds", "explain_cpu_seconds", "metric_cpu_seconds")
_JSON = ("quality", "method_params", "metric_params", "versions", "extras")
_DICTIONARY = frozenset(_TEXT + _JSON) - {"key", "traceback"}
"""Text columns read as dictionaries (few distinct values: codes, not one string per record)."""
VALUES = "values"
MORE = "more_fields"
COLUMNS = _TEXT + _INTEGER + _BOOLEAN + _FLOAT + _JSON + (VALUES, MORE)
"""The columns of ``records.parquet``; :data:`MORE` holds any other field, as a JSON object."""


def _schema():
    import pyarrow as pa  # noqa: PLC0415

    types = {**dict.fromkeys(_TEXT, pa.string()), **dict.fromkeys(_INTEGER, pa.int64()),
             **dict.fromkeys(_BOOLEAN, pa.bool_()), **dict.fromkeys(_FLOAT, pa.float64()),
             **dict.fromkeys(_JSON, pa.string()), VALUES: pa.list_(pa.float64()), MORE: pa.string()}
    return pa.schema([(name, types[name]) for name in COLUMNS])


# -- writing ---------------------------------------------------------------------------------------------
def write_parquet(records: Iterable[Mapping[str, Any]], path: str | Path) -> int:
    """Write ``records`` (dicts in the record format) to ``path`` in their order, a row group of
    :data:`ROW_GROUP` records at a time (streamed: memory does not grow with the count); returns
    how many. The file appears whole or not at all."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    schema = _schema()
    written = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd", compression_level=9,
                              use_dictionary=list(_TEXT + _JSON),
                              use_byte_stream_split=list(_FLOAT) + [f"{VALUES}.list.element"]) as writer:
            for chunk in _chunks(records, ROW_GROUP):
                writer.write_table(_arrow_table(chunk, schema))
                written += len(chunk)
            if not written:
                writer.write_table(_arrow_table([], schema))
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written


ROW_GROUP = 1 << 15


def _chunks(records: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    chunk: list[Mapping[str, Any]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _arrow_table(rows: Sequence[Mapping[str, Any]], schema):
    import pyarrow as pa  # noqa: PLC0415

    known = set(COLUMNS)
    columns: dict[str, list] = {name: [] for name in COLUMNS}
    for r in rows:
        for name in _TEXT + _INTEGER + _BOOLEAN:
            columns[name].append(r.get(name))
        for name in _FLOAT:
            value = r.get(name)
            columns[name].append(None if value is None or not math.isfinite(value) else float(value))
        for name in _JSON:
            value = r.get(name)
            columns[name].append(None if value is None else canonical_json(value))
        values = r.get(VALUES)
        columns[VALUES].append(None if values is None else [None if v is None else float(v) for v in values])
        more = {k: v for k, v in r.items() if k not in known}
        columns[MORE].append(canonical_json(more) if more else None)
    return pa.table(columns, schema=schema)


# -- reading -----------------------------------------------------------------------------------------------
def is_results_folder(path: str | Path) -> bool:
    return (Path(path) / RECORDS_PARQUET).is_file()


def parquet_file(path: str | Path) -> Path:
    """``records.parquet`` of a results folder (or the file itself), checked to be one."""
    path = Path(path)
    file = path / RECORDS_PARQUET if path.is_dir() else path
    if not file.is_file():
        raise ResultsError(f"{path} is not a results folder: it has no {RECORDS_PARQUET}; make one with "
                           "`xaibench leaderboard RUN_DIR --save DIR`")
    return file


def read_table(path: str | Path, columns: Sequence[str] | None = None):
    """The records of a results folder as a ``pyarrow.Table`` (only ``columns``, when given)."""
    import pyarrow as pa  # noqa: PLC0415

    wanted = list(columns) if columns is not None else list(COLUMNS)
    chunks = list(iter_tables(path, wanted))
    return pa.concat_tables(chunks) if chunks else _schema().empty_table().select(wanted)


def iter_tables(path: str | Path, columns: Sequence[str]) -> Iterator[Any]:
    """The records of a results folder as ``pyarrow.Table`` chunks of one row group each (memory
    bounded by a row group, whatever the file's size), only ``columns``, checked for presence and type."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    file = parquet_file(path)
    try:
        schema = pq.read_schema(file)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise RecordsError(f"{file} is not a Parquet file of records ({exc}); restore it from git or write it "
                           "again with `xaibench leaderboard RUN_DIR --save DIR`") from None
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise RecordsError(f"{file} lacks the record columns {', '.join(missing)}: it was not written by "
                           "`xaibench leaderboard RUN_DIR --save RESULTS_DIR`; write it again from its run folder")
    expected = _schema()
    wrong = [c for c in columns if _plain(schema.field(c).type) != expected.field(c).type]
    if wrong:
        raise RecordsError(f"{file}: columns {', '.join(wrong)} have the wrong type "
                           f"({', '.join(str(schema.field(c).type) for c in wrong)}); write it again")
    reader = pq.ParquetFile(file, read_dictionary=[c for c in columns if c in _DICTIONARY])
    with reader:
        for index in range(reader.num_row_groups):
            try:
                yield reader.read_row_group(index, columns=list(columns), use_threads=False)
            except (OSError, pa.ArrowException) as exc:
                raise RecordsError(f"{file}: row group {index} cannot be read ({exc}); the file is damaged: restore "
                                   "it from git or write it again with `xaibench leaderboard RUN_DIR --save DIR`") \
                    from None


def _plain(kind):
    import pyarrow as pa  # noqa: PLC0415

    return kind.value_type if pa.types.is_dictionary(kind) else kind


def read_parquet_records(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a results folder, as the dicts the run wrote (``None`` for fields a record lacked)."""
    table = read_table(path)
    data = table.to_pydict()
    out = []
    for i in range(table.num_rows):
        record: dict[str, Any] = {}
        for name in COLUMNS[:-1]:
            value = data[name][i]
            if name in _JSON and value is not None:
                value = json.loads(value)
            record[name] = value
        if data[MORE][i] is not None:
            record.update(json.loads(data[MORE][i]))
        out.append(record)
    return out


def iter_records(source: str | Path) -> Iterator[dict[str, Any]]:
    """Records of a results folder, a run folder or a ``records.jsonl``."""
    if is_results_folder(source):
        yield from read_parquet_records(source)
    else:
        from .store import read_records  # noqa: PLC0415

        yield from read_records(source)


# -- a results folder ----------------------------------------------------------------------------------------
def save(runs: Sequence[str | Path], out: str | Path, *, render_into: str | Path | None = None,
         formats: Sequence[str] = tuple(EXTENSIONS)) -> Path:
    """Write the results folder ``out`` from the run folders ``runs`` (latest record of each key)
    and render the leaderboard in ``formats`` into ``render_into`` (default: ``out``); returns ``out``."""
    from .render import check_format  # noqa: PLC0415
    from .store import atomic_write, read_manifest, read_records  # noqa: PLC0415

    if not runs:
        raise ResultsError("--save needs at least one run folder to read")
    for fmt in formats:
        check_format(fmt)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = Path(render_into) if render_into is not None else out
    rendered = {fmt: os.path.relpath(target / f"{RENDERED_NAME}.{EXTENSIONS[fmt]}", out) for fmt in formats}
    manifests = [read_manifest(run) for run in runs]
    latest: dict[str, dict[str, Any]] = {}
    for run in runs:
        for record in read_records(run):
            latest[record["key"]] = record  # the latest record, in the place of the key's first
    records = list(latest.values())
    write_parquet(records, out / RECORDS_PARQUET)
    manifest = dict(manifests[0])
    timing = [entry for run in runs if (Path(run) / TIMING).is_file()
              for entry in json.loads((Path(run) / TIMING).read_text(encoding="utf-8"))]
    manifest["results"] = {
        "records": RECORDS_PARQUET, "n_records": len(records), "sha256": _sha256(out / RECORDS_PARQUET),
        "runs": [str(run) for run in runs], "timing": timing or None, "rendered": dict(rendered),
    }
    if len(manifests) > 1:
        manifest["results"]["other_manifests"] = manifests[1:]
    atomic_write(out / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    render_files(out)
    return out


def rendered_paths(folder: str | Path) -> dict[str, Path]:
    """Format → path of each rendered leaderboard file the folder's manifest names."""
    manifest = _manifest(folder)
    named = (manifest.get("results") or {}).get("rendered") or {}
    return {fmt: (Path(folder) / rel).resolve() for fmt, rel in named.items()}


def render_all(folder: str | Path) -> dict[str, str]:
    """Format → the text the records of ``folder`` give, for each rendered file its manifest names."""
    from .recordset import read  # noqa: PLC0415
    from .render import render  # noqa: PLC0415
    from .tables import build_board  # noqa: PLC0415

    board = build_board(read(folder))
    return {fmt: _with_newline(render(board, fmt)) for fmt in rendered_paths(folder)}


def render_files(folder: str | Path) -> dict[str, Path]:
    from .store import atomic_write  # noqa: PLC0415

    paths = rendered_paths(folder)
    for fmt, text in render_all(folder).items():
        paths[fmt].parent.mkdir(parents=True, exist_ok=True)
        atomic_write(paths[fmt], text)
    return paths


@dataclass
class CheckReport:
    checked: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(folder: str | Path) -> CheckReport:
    """Do the rendered files of ``folder`` hold exactly what its records give, and does
    ``records.parquet`` match its manifest? Warns when the records were computed by value code
    other than this installation's (:func:`xaibench.records.code_sha256`)."""
    report = CheckReport()
    folder = Path(folder)
    sha = _sha256(parquet_file(folder))
    manifest = _manifest(folder)
    results = manifest.get("results") or {}
    if results.get("sha256") not in (None, sha):
        report.problems.append(f"{folder / RECORDS_PARQUET} does not match the SHA-256 its manifest records "
                               f"({sha[:12]} now, {str(results.get('sha256'))[:12]} recorded)")
    paths = rendered_paths(folder)
    if not paths:
        report.problems.append(f"{folder / MANIFEST} names no rendered files (results.rendered); render them with "
                               f"`xaibench leaderboard RUN_DIR --save {folder}`")
    for fmt, text in render_all(folder).items():
        path = paths[fmt]
        report.checked.append(path)
        if not path.is_file():
            report.problems.append(f"{path} is missing: render it with `xaibench leaderboard {folder} --render`")
        elif path.read_text(encoding="utf-8") != text:
            report.problems.append(f"{path} differs from what the records give ({_first_difference(path, text)}); "
                                   f"render it again with `xaibench leaderboard {folder} --render`")
    report.warnings += code_warnings(folder)
    return report


def code_warnings(folder: str | Path) -> list[str]:
    """A warning when records were computed by other value code than this installation's: the hash
    :func:`xaibench.records.code_sha256` gives now for the record's method and metric classes."""
    from .errors import UnknownNameError  # noqa: PLC0415
    from .records import code_sha256  # noqa: PLC0415
    from .registries import methods, metrics  # noqa: PLC0415

    table = read_table(folder, ["code_sha256", "method_name", "metric_name"])
    triples = {tuple(row.values()) for row in table.to_pylist()}
    stale: set[str] = set()
    missing: set[str] = set()
    for recorded, method, metric in triples:
        try:
            current = code_sha256(methods.get(method), metrics.get(metric))
        except UnknownNameError:
            missing.add(f"{method} × {metric}")
            continue
        if recorded is not None and recorded != current:
            stale.add(recorded)
    out = []
    if stale:
        out.append(f"records were computed by value code {', '.join(sorted(c[:12] for c in stale))}, not this "
                   f"installation's ({code_sha256()[:12]}): the values may differ from what this code computes, and "
                   "a run would compute them again (their keys differ); recompute the results to publish them with "
                   "this code")
    if missing:
        out.append(f"records of methods or metrics not installed here, whose code cannot be compared: "
                   f"{', '.join(sorted(missing)[:5])}{' ...' if len(missing) > 5 else ''}")
    return out


def _manifest(folder: str | Path) -> dict[str, Any]:
    from .store import read_manifest  # noqa: PLC0415

    return read_manifest(folder)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _first_difference(path: Path, text: str) -> str:
    old, new = path.read_text(encoding="utf-8").splitlines(), text.splitlines()
    for number, (a, b) in enumerate(zip(old, new), 1):
        if a != b:
            return f"first at line {number}"
    return f"{len(old)} lines in the file, {len(new)} from the records"
