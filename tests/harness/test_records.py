"""Records and the run folder: round trip, key stability, atomic appends, torn lines."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from xaibench.errors import RecordsError, ResultsError
from xaibench.records import KEY_FIELDS, canonical_json, dumps, jsonable, record_key
from xaibench.store import RunStore, read_records

IDENTITY = {
    "dataset": "breast_cancer", "dataset_version": "1.0", "model": "mlp", "model_seed": 0,
    "weights_sha256": "ab" * 32, "target": "logit", "method_name": "integrated_gradients",
    "method_params": {"n_steps": 32, "method": "riemann_trapezoid"}, "metric_name": "deletion_auc",
    "metric_params": {"steps": 20, "baseline": "mean"}, "seed": 0, "n_instances": 16, "n_background": 50,
    "device_type": "cpu", "xaibench_version": "0.1.0", "code_sha256": "ef" * 32,
}
# regression guard: the key of IDENTITY must never change silently (it is the resume/cache key)
PINNED = "f1d3e9151357c72bc27a4537f4cf6969e65adbdfa7758c96603e912b6b6baedf"  # code_sha256 joined the key (issue 12)


def record(**overrides):
    base = {"key": record_key(IDENTITY), **IDENTITY, "suite": "quick", "suite_version": "1", "method": "ig",
            "metric": "deletion_auc", "category": "faithfulness", "higher_is_better": False, "quality": {"acc": 0.97},
            "status": "ok", "value": 0.25, "values": [0.5, None, 0.0], "extras": {"kept_fraction": 0.9},
            "error": None, "seconds": 1.5}
    return {**base, **overrides}


def test_key_is_stable_and_canonical():
    key = record_key(IDENTITY)
    assert key == record_key(dict(reversed(list(IDENTITY.items()))))  # insertion order does not matter
    assert key == record_key({**IDENTITY, "suite": "other", "method": "label", "seconds": 3.0})  # not in the key
    assert len(key) == 64 and int(key, 16) >= 0
    assert canonical_json(IDENTITY).startswith('{"code_sha256":"efef')
    assert '"dataset":"breast_cancer","dataset_version":"1.0"' in canonical_json(IDENTITY)


def test_key_is_pinned():
    """Changing the canonical form would orphan every stored run: bump deliberately, never by accident."""
    assert record_key(IDENTITY) == PINNED


@pytest.mark.parametrize("field, value", [
    ("method_params", {"n_steps": 64, "method": "riemann_trapezoid"}),
    ("metric_params", {"steps": 20, "baseline": "zero"}),
    ("seed", 1), ("n_instances", 32), ("n_background", 100), ("device_type", "cuda"),
    ("weights_sha256", "cd" * 32), ("dataset_version", "1.1"), ("xaibench_version", "0.2.0"), ("model_seed", 1),
    ("code_sha256", "01" * 32),
])
def test_key_changes_with_everything_that_determines_the_value(field, value):
    assert field in KEY_FIELDS
    assert record_key({**IDENTITY, field: value}) != record_key(IDENTITY)


def test_key_needs_every_field():
    with pytest.raises(KeyError, match="seed"):
        record_key({k: v for k, v in IDENTITY.items() if k != "seed"})


def test_jsonable_normalises_values():
    import torch

    assert jsonable({"a": (1, 2.5, float("nan")), "b": torch.tensor([1.0, 2.0]), 3: float("inf")}) == \
        {"a": [1, 2.5, None], "b": [1.0, 2.0], "3": None}
    assert "\n" not in dumps(record(error="multi\nline"))


def test_round_trip(tmp_path):
    with RunStore.open(tmp_path / "run", {"suite": {"name": "quick"}}, resume=False) as store:
        written = [record(), record(seed=1, key="k2", values=[float("nan"), 1.0], value=float("inf"))]
        for r in written:
            store.append(r)
    back = store.records()
    assert back == [json.loads(dumps(r)) for r in written]
    assert back[0] == written[0]  # plain JSON types survive unchanged
    assert back[1]["values"] == [None, 1.0] and back[1]["value"] is None  # non-finite → null
    assert store.done_keys() == {written[0]["key"], "k2"}
    assert list(read_records(tmp_path / "run")) == back
    assert json.loads((tmp_path / "run" / "manifest.json").read_text()) == {"suite": {"name": "quick"}}


def test_failed_cells_are_retried_and_the_latest_record_counts(tmp_path):
    store = RunStore.open(tmp_path, {}, resume=False)
    store.append(record(key="a", status="error", value=None))
    store.append(record(key="b"))
    assert store.done_keys() == {"b"}  # a resumed run retries "a"
    store.append(record(key="a", value=0.5))
    assert [(r["key"], r["status"]) for r in store.latest()] == [("b", "ok"), ("a", "ok")]
    assert store.done_keys() == {"a", "b"} and len(store.records()) == 3


def test_existing_records_need_resume(tmp_path):
    with RunStore.open(tmp_path, {"suite": {"name": "quick"}}, resume=False) as store:
        store.append(record())
    with pytest.raises(ResultsError, match="xaibench run --resume --out"):
        RunStore.open(tmp_path, {"suite": {"name": "quick"}}, resume=False)
    with RunStore.open(tmp_path, {"suite": {"name": "quick"}, "start_time": "t2"}, resume=True) as again:
        assert again.manifest()["resumed"] == [{"start_time": "t2", "command_line": None}]


@pytest.mark.parametrize("tail", [b'{"key": "torn", "val', b'\x00\x00\x00\n'])
def test_torn_last_line_is_skipped_and_discarded_on_resume(tmp_path, tail):
    with RunStore.open(tmp_path, {}, resume=False) as store:
        store.append(record())
    with open(store.records_path, "ab") as handle:
        handle.write(tail)
    assert [r["key"] for r in read_records(store.records_path)] == [record()["key"]]
    RunStore.open(tmp_path, {}, resume=True).close()
    assert store.records_path.read_bytes() == (dumps(record()) + "\n").encode()


def test_corruption_before_the_last_line_is_an_error(tmp_path):
    with RunStore.open(tmp_path, {}, resume=False) as store:
        with open(store.records_path, "ab") as handle:
            handle.write(b"not json\n")
        store.append(record())
    with pytest.raises(RecordsError, match="records.jsonl:1: not a record \\(not valid JSON\\)"):
        store.records()


def test_missing_run_folder():
    with pytest.raises(ResultsError, match="is not a run folder|does not exist"):
        RunStore("/nonexistent/run").manifest()


def _writer(path, worker, count):
    store = RunStore(path)  # not opened: appends without the folder's lock, to test the appends alone
    for i in range(count):
        store.append(record(key=f"{worker}-{i}", extras={"pad": "x" * (100 * (i % 50))}))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_concurrent_appends_never_interleave(tmp_path):
    RunStore.open(tmp_path, {}, resume=False).close()
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_writer, args=(tmp_path, w, 60)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    keys = [r["key"] for r in read_records(tmp_path)]
    assert sorted(keys) == sorted(f"{w}-{i}" for w in range(4) for i in range(60))
