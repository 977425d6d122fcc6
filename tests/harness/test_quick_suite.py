"""The shipped quick suite: it resolves against the real registries, and on synthetic_linear the
exact-in-expectation methods beat the random control (issue 2's acceptance assertion).

Skipped, with the missing names in the reason, only while built-in entries the quick suite names
are not registered yet.
"""

from __future__ import annotations

import pytest

from xaibench.registries import datasets, methods, metrics, models
from xaibench.runner import run_plan
from xaibench.suite import load_suite, resolve
from xaibench.tables import build_tables

QUICK = load_suite("quick")


def _missing() -> list[str]:
    wanted = [(datasets, d) for g in QUICK.tasks for d in g.datasets] + [(models, m) for g in QUICK.tasks for m in g.models]
    wanted += [(methods, e.name) for e in QUICK.methods] + [(metrics, e.name) for e in QUICK.metrics]
    return sorted({f"{r.kind} {n}" for r, n in wanted if n not in r})


MISSING = _missing()
needs_quick = pytest.mark.skipif(bool(MISSING), reason=f"quick suite entries not registered yet: {', '.join(MISSING)}")


@needs_quick
def test_quick_suite_resolves_to_the_promised_grid():
    plan = resolve(QUICK)
    names = [t.name for t in plan.tasks]
    assert len(names) >= 3 and any(t.endswith("/autoencoder/recon_error") for t in names), names
    assert len(plan.methods) >= 7
    assert len([m for m in plan.metrics if m.metric.category != "cost"]) >= 5


@needs_quick
def test_on_synthetic_linear_ig_and_kernel_shap_beat_random(tmp_path):
    plan = resolve(QUICK, methods=["random", "integrated_gradients", "kernel_shap_ref"],
                   metrics=["gt_rank_correlation", "deletion_auc"], tasks=["synthetic_linear/mlp/logit"])
    result = run_plan(plan, tmp_path / "run", progress=False)
    assert not [r for r in result.records if r["status"] != "ok"]
    (table,) = build_tables(result.records)
    for metric in ("gt_rank_correlation", "deletion_auc"):
        random_rank = table.cell("random", metric).rank
        for method in ("integrated_gradients", "kernel_shap_ref"):
            assert table.cell(method, metric).rank < random_rank, (method, metric, table.cell(method, metric))
