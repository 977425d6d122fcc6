"""A synthetic ``records.jsonl`` shaped like a standard-suite run, for the leaderboard benchmark.

Every record has the fields and sizes the runner writes (about 1.6 kB at 16 instances, as the
quick suite's records). The default grid is 167 tasks × 16 methods × 25 metrics × 3 seeds =
200,400 records: 23 quality metrics over five categories (4 of them heavy-tailed, 4 ground-truth
metrics that are "skipped" on non-synthetic tasks, one metric failing for one method), 2 cost
metrics, and three seeds everywhere, so that every cell pools seeds and its interval must be
computed when rendering (the slowest case: single-seed cells reuse the interval in the record).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import numpy as np

from xaibench.stats import INTERVALS, summarize_arrays

CATEGORIES = ["faithfulness"] * 8 + ["stability"] * 5 + ["fidelity"] * 3 + ["ground_truth"] * 4 + \
    ["complexity"] * 2 + ["sanity"]
HEAVY = {8, 9, 10, 11}  # four stability metrics are ratio metrics
COST = ["explanations_per_second", "peak_memory_mb"]


def write_records(path: Path, **grid) -> int:
    """Write the records (:func:`generate`) to ``path`` as JSON lines; returns how many."""
    encoder = msgspec.json.Encoder()
    written = 0
    with open(path, "wb") as handle:
        for record in generate(**grid):
            handle.write(encoder.encode(record) + b"\n")
            written += 1
    return written


def write_results(folder: Path, **grid) -> int:
    """Write the same records as a results folder (``records.parquet``, :mod:`xaibench.results`)."""
    from xaibench.results import RECORDS_PARQUET, write_parquet

    folder.mkdir(parents=True, exist_ok=True)
    return write_parquet(generate(**grid), folder / RECORDS_PARQUET)


def generate(*, tasks: int = 167, methods: int = 16, seeds: int = 3, n: int = 16) -> Iterator[dict]:
    """The records of the grid, in run order."""
    rng = np.random.default_rng(0)
    metrics = [(f"metric_{i:02d}_{cat}", cat, bool(i % 2), i in HEAVY) for i, cat in enumerate(CATEGORIES)]
    metrics += [(name, "cost", name == COST[0], False) for name in COST]
    for t in range(tasks):
        synthetic = t % 5 == 0
        dataset = f"{'synthetic' if synthetic else 'dataset'}_{t:03d}"
        task = {"suite": "standard", "suite_version": "3", "task": f"{dataset}/mlp/logit", "dataset": dataset,
                "dataset_version": "1", "model": "mlp", "model_seed": 0, "target": "logit",
                "quality": {"test_accuracy": 0.9 + 0.0005 * t}, "weights_sha256": f"{t:064x}", "n_instances": n,
                "n_background": 100}
        level = rng.standard_normal((methods, len(metrics)))
        values = rng.standard_normal((methods, len(metrics), seeds, n)) + level[:, :, None, None]
        for m in range(methods):
            method = {"method": f"method_{m:02d}", "method_name": f"method_{m:02d}",
                      "family": "gradient", "stochastic": m % 2 == 0,
                      "method_params": {"n_steps": 50, "baseline": "task", "abs": bool(m % 3)}}
            rows = []
            for s in range(seeds):
                for k, (metric, category, higher, heavy) in enumerate(metrics):
                    cost = category == "cost"
                    row = values[m, k, s, :1] * 10 + 100 if cost else values[m, k, s]
                    status = "ok"
                    if category == "ground_truth" and not synthetic:
                        status = "skipped"
                    elif k == 3 and m == methods - 1:
                        status = "error"
                    rows.append((s, metric, category, higher, heavy, cost, status, row))
            scored = np.stack([r[7] for r in rows if not r[5]])
            heavy_rows = np.array([r[4] for r in rows if not r[5]])
            summaries = np.stack(summarize_arrays(scored))
            summaries[:, heavy_rows] = np.stack(summarize_arrays(scored[heavy_rows], heavy_tailed=True))
            at = 0
            for s, metric, category, higher, heavy, cost, status, row in rows:
                record = {"key": f"{t}-{m}-{s}-{metric}", **task, **method, "seed": s, "device": "cpu",
                          "device_type": "cpu", "xaibench_version": "0.1.0",
                          "versions": {"xaibench": "0.1.0", "torch": "2.13.0+cpu", "python": "3.11.7",
                                       "numpy": "2.4.6", "git_commit": "0" * 40},
                          "code_sha256": "c" * 64, "metric": metric, "metric_name": metric,
                          "category": category, "higher_is_better": higher, "per_instance": not cost,
                          "heavy_tailed": heavy, "metric_params": {"baseline": "task", "n_steps": 20},
                          "status": status, "error_type": None, "error": None, "traceback": None}
                if status == "ok":
                    if cost:
                        fields = {"n": 1, "value": float(row[0]), "stderr": None, "ci_low": None, "ci_high": None}
                    else:
                        v, se, lo, hi, _ = (None if a[at] != a[at] else float(a[at]) for a in summaries)
                        fields = {"n": n, "value": v, "stderr": se, "ci_low": lo, "ci_high": hi}
                    record.update(fields, interval=INTERVALS["median" if heavy else "mean"], values=row.tolist(),
                                  extras={"degenerate_fraction": 0.0})
                else:
                    record.update(error_type="ValueError" if status == "error" else "NotApplicableError",
                                  error="it broke" if status == "error" else "needs ground truth",
                                  n=None, value=None, stderr=None, ci_low=None, ci_high=None, interval=None,
                                  values=None, extras=None)
                at += not cost
                record.update(seconds=0.0123, explanations_per_second=1234.5, peak_memory_mb=12.3,
                              metric_seconds=0.004, device_name="AMD EPYC (2 threads)")
                yield record
