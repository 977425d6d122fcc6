"""Fuzzing (hypothesis): the suite parser, the run-settings checks, method and metric parameter
validation and the records reader raise nothing but typed errors, whatever they are given."""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xaibench.errors import XaiBenchError
from xaibench.method import instantiate
from xaibench.registries import methods, metrics
from xaibench.store import read_records
from xaibench.suite import parse_suite, resolve
from xaibench.suite_schema import check_settings

from .conftest import SUITE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
VALID = tomllib.loads(SUITE)


@FUZZ
@given(text=st.text(max_size=400))
def test_suite_text_fuzz(text):
    try:
        parse_suite(text, source="fuzz.toml")
    except XaiBenchError:
        pass


def _toml_value(value) -> str:
    """A TOML rendering of plain values (``None`` has none: dropped by the caller)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(value, "nan" if value != value else repr(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None) + " }"


@FUZZ
@given(changes=st.dictionaries(st.sampled_from([*VALID, "extra", "seed", "cell_timeout", "n_instances"]),
                               values, min_size=1, max_size=3))
def test_suite_document_fuzz(changes):
    """A valid suite with some keys replaced by arbitrary values: a Suite, or a SuiteError; then
    resolving it gives a Plan or a typed error."""
    document = {**VALID, **changes}
    tasks = document.pop("tasks")
    lines = [f"{key} = {_toml_value(value)}" for key, value in document.items() if value is not None]
    for table in tasks if isinstance(tasks, list) and all(isinstance(t, dict) for t in tasks) else []:
        lines += ["[[tasks]]"] + [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items() if v is not None]
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        lines.insert(0, f"tasks = {_toml_value(tasks)}" if tasks is not None else "")
    try:
        suite = parse_suite("\n".join(lines), source="fuzz.toml")
        resolve(suite)
    except XaiBenchError:
        pass


@FUZZ
@given(seeds=st.one_of(st.none(), values), n_instances=values, cell_timeout=values)
def test_settings_fuzz(seeds, n_instances, cell_timeout):
    try:
        check_settings(seeds=seeds, n_instances=n_instances, cell_timeout=cell_timeout)
    except XaiBenchError:
        pass


ENTRIES = [cls for registry in (methods, metrics) for _, cls in registry.items()]


@FUZZ
@given(data=st.data())
def test_method_and_metric_params_fuzz(data):
    cls = data.draw(st.sampled_from(ENTRIES))
    fields = [f.name for f in dataclasses.fields(cls)] or ["x"]
    params = data.draw(st.dictionaries(st.sampled_from([*fields, "bogus"]), values, max_size=3))
    try:
        instantiate(cls, params)
    except XaiBenchError:
        pass


RECORD = {"key": "k" * 64, "status": "ok", "task": "a/b/c", "seed": 0, "value": 0.5, "values": [0.5, None],
          "method_params": {}, "n": 2}
lines = st.one_of(
    st.binary(max_size=80),
    st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(st.sampled_from([*RECORD, "other"]), values)),
    st.builds(lambda k, v: json.dumps({**RECORD, k: v}).encode(), st.sampled_from(list(RECORD)), values),
    st.just(json.dumps(RECORD).encode()),
)


@pytest.fixture(scope="module")
def records_path(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "records.jsonl"


@FUZZ
@given(content=st.lists(lines, max_size=6), tail=st.binary(max_size=20))
def test_records_reader_fuzz(records_path, content, tail):
    records_path.write_bytes(b"\n".join(content) + b"\n" + tail)
    try:
        for record in read_records(records_path, fields=("key", "status", "value")):
            assert isinstance(record["key"], str) and record["status"] in ("ok", "error", "skipped")
        for record in read_records(records_path):
            assert isinstance(record, dict)
    except XaiBenchError:
        pass
