"""Resume memory on a large run folder (issue 10, item 11): flat in the size of ``records.jsonl``.

Skipped by default like every benchmark; run with
``pytest tests/perf/test_perf_resume_memory.py --benchmark-only -s``.

A resume reads every record once (streamed, each line checked) and keeps only the keys of the
cells done. Two figures per folder size (1k and 80k records of ~1.8 KB, the record size of the
issue's 80k-record run, 140 MB):

* the peak resident memory of a fresh process doing what ``xaibench run --resume`` does before
  it runs anything (torch and the runner imported, the folder locked, the records read, the done
  keys kept): within 2x from 1k to 80k records (it was 8x the file size, 1.1 GB, before);
* the Python heap retained per record while reading (tracemalloc peak growth per record): the key
  of each record, a few hundred bytes at most, not the record (~1.8 KB).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc

import pytest

from xaibench.records import dumps
from xaibench.store import RunStore

SIZES = (1_000, 80_000)
VALUES = 64  # per-instance values per record: ~1.8 KB lines

PROBE = """
import json, resource, sys
import torch, xaibench.runner  # what a resuming `xaibench run` has imported
from xaibench.store import RunStore, read_manifest
folder = sys.argv[1]
with RunStore.open(folder, read_manifest(folder), resume=True) as store:
    done = len(store.done)
print(json.dumps({"done": done, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_run(folder, n: int) -> None:
    """A run folder with ``n`` ok records shaped like the runner's."""
    record = {"key": "", "suite": "quick", "suite_version": "2", "task": "breast_cancer/mlp/logit",
              "dataset": "breast_cancer", "dataset_version": "1.0", "model": "mlp", "model_seed": 0,
              "target": "logit", "quality": {"test_accuracy": 0.97}, "weights_sha256": "ab" * 32,
              "n_instances": VALUES, "n_instances_requested": VALUES, "n_background": 50, "method": "saliency",
              "method_name": "saliency", "family": "gradient", "stochastic": False, "method_params": {"abs": True},
              "seed": 0, "device": "cpu", "device_type": "cpu", "xaibench_version": "0.1.0",
              "versions": {"torch": "2.13.0", "python": "3.11.7"}, "metric": "deletion_auc",
              "metric_name": "deletion_auc", "category": "faithfulness", "higher_is_better": False,
              "per_instance": True, "metric_params": {"n_steps": 20}, "status": "ok", "error_type": None,
              "error": None, "traceback": None, "n": VALUES, "value": 0.25, "stderr": 0.01, "ci_low": 0.23,
              "ci_high": 0.27, "values": [0.123456789 + i / 1000 for i in range(VALUES)], "extras": {},
              "seconds": 0.5, "explanations_per_second": 32.0, "peak_memory_mb": 12.5, "metric_seconds": 0.1,
              "device_name": "cpu"}
    line = dumps(record)
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"suite": {"name": "quick", "version": "2", "sha256": "x"}}))
    with open(folder / "records.jsonl", "w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(line.replace('"key":""', f'"key":"{i:064x}"', 1) + "\n")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    out = {}
    for n in SIZES:
        out[n] = tmp_path_factory.mktemp("memory") / f"run{n}"
        make_run(out[n], n)
    return out


def resume_rss(folder) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(folder)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def heap_growth(folder) -> int:
    """Peak Python heap (bytes) while opening the folder for resuming."""
    from xaibench.store import read_manifest

    manifest = read_manifest(folder)
    tracemalloc.start()
    try:
        with RunStore.open(folder, manifest, resume=True):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_resume_memory_is_flat_in_the_file_size(benchmark, folders):
    small, large = folders[SIZES[0]], folders[SIZES[1]]
    rss = benchmark.pedantic(lambda: {n: resume_rss(folders[n]) for n in SIZES}, rounds=1, iterations=1)
    heap = {n: heap_growth(folders[n]) for n in SIZES}
    file_mb = {n: (folders[n] / "records.jsonl").stat().st_size / 2**20 for n in SIZES}
    per_record = (heap[SIZES[1]] - heap[SIZES[0]]) / (SIZES[1] - SIZES[0])
    benchmark.extra_info.update({f"file_mb_{n}": round(file_mb[n], 1) for n in SIZES})
    benchmark.extra_info.update({f"max_rss_mb_{n}": round(rss[n]["max_rss_mb"], 1) for n in SIZES})
    benchmark.extra_info.update({f"heap_peak_mb_{n}": round(heap[n] / 2**20, 2) for n in SIZES})
    benchmark.extra_info["heap_bytes_per_record"] = round(per_record, 1)
    print("\nresume memory:", json.dumps(benchmark.extra_info))
    assert rss[SIZES[1]]["done"] == SIZES[1] and rss[SIZES[0]]["done"] == SIZES[0]
    assert rss[SIZES[1]]["max_rss_mb"] <= 2 * rss[SIZES[0]]["max_rss_mb"]
    line_bytes = (small / "records.jsonl").stat().st_size / SIZES[0]
    assert per_record < 0.25 * line_bytes, (per_record, line_bytes)  # a key per record, not the record
    assert large.exists()
