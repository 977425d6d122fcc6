"""What a run saves for the site: the mean removal curves in the records' extras, and attributions
(``--save-attributions``) beside the records, with resume and the folder's lock intact."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from xaibench.attributions import load, read_index
from xaibench.method import get_method
from xaibench.metric import get_metric
from xaibench.testing import mlp_task

SUITE = """
name = "saving"
version = "1"
description = "two methods, one metric, two seeds"
seeds = [0, 1]
n_instances = 5
n_background = 16
methods = ["saliency", "random"]
metrics = ["deletion_auc"]

[[tasks]]
datasets = ["breast_cancer", "digits"]
model = "mlp"
target = "logit"
"""


@pytest.mark.parametrize("name, key", [("deletion_auc", "curve"), ("insertion_auc", "curve"),
                                       ("abpc", "curve_morf")])
def test_the_mean_curve_in_extras_integrates_to_the_mean_score(name, key):
    """Trapezoid areas are linear, so the area under the mean curve is the mean area: for ABPC,
    AUC(LeRF) − AUC(MoRF) of the two mean curves is the mean ABPC."""
    task = mlp_task(8, n_instances=6)
    phi = get_method("saliency").explain(task, task.inputs, seed=0)
    out = get_metric(name).evaluate(task, task.inputs, phi, None, seed=0)
    x = np.asarray(out.extras["curve_fraction"])
    area = np.trapezoid(out.extras[key], x)
    if name == "abpc":
        area = np.trapezoid(out.extras["curve_lerf"], x) - area
    assert x[0] == 0.0 and x[-1] == 1.0 and len(out.extras[key]) == len(x)
    assert area == pytest.approx(float(out.values.mean()), rel=1e-6, abs=1e-9)


def test_run_saves_the_first_instances_attributions_named_in_the_manifest(tmp_path):
    from xaibench.api import run
    from xaibench.tasks import load_task

    suite = tmp_path / "saving.toml"
    suite.write_text(SUITE)
    out = tmp_path / "run"
    run(str(suite), out=out, progress=False, save_attributions=3, isolation="none")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["attributions"] == {"folder": "attributions", "index": "attributions/index.jsonl",
                                        "format": "npz", "instances": 3}
    entries = read_index(out)
    assert sorted((e["task"], e["method"], e["seed"]) for e in entries) == sorted(
        (t, m, s) for t in ("breast_cancer/mlp/logit", "digits/mlp/logit") for m in ("random", "saliency")
        for s in (0, 1))
    entry = next(e for e in entries if e["task"] == "digits/mlp/logit" and e["method"] == "saliency")
    inputs, attributions, meta = load(out, entry)
    task = load_task("digits", "mlp", "logit", n_instances=5, n_background=16)
    expected = get_method("saliency").explain(task, task.inputs, seed=0)[:3]  # the cell explains all 5 at once
    np.testing.assert_array_equal(inputs, task.inputs[:3].numpy())
    np.testing.assert_allclose(attributions, expected.numpy(), rtol=1e-6)
    assert attributions.shape == (3, 1, 8, 8) and meta["kind"] == "image" and meta["seed"] == 0
    assert "_attributions" not in (out / "records.jsonl").read_text()


def test_resume_keeps_saved_attributions_and_the_lock_works(tmp_path):
    from xaibench.api import run
    from xaibench.errors import RunFolderBusyError
    from xaibench.store import RunStore

    suite = tmp_path / "saving.toml"
    suite.write_text(SUITE)
    out = tmp_path / "run"
    run(str(suite), out=out, progress=False, save_attributions=2, isolation="none", tasks=["breast_cancer"])
    first = {e["file"]: e["sha256"] for e in read_index(out)}
    run(str(suite), out=out, progress=False, save_attributions=2, isolation="none", resume=True,
        tasks=["breast_cancer", "digits"])
    second = {e["file"]: e["sha256"] for e in read_index(out)}
    assert set(first) < set(second) and all(second[f] == h for f, h in first.items())
    with RunStore.open(out, json.loads((out / "manifest.json").read_text()), resume=True):
        with pytest.raises(RunFolderBusyError):
            run(str(suite), out=out, progress=False, save_attributions=2, isolation="none", resume=True)


def test_no_attributions_are_saved_by_default(tmp_path):
    from xaibench.api import run

    suite = tmp_path / "saving.toml"
    suite.write_text(SUITE)
    run(str(suite), out=tmp_path / "run", progress=False, isolation="none", tasks=["breast_cancer"])
    assert not (tmp_path / "run" / "attributions").exists() and read_index(tmp_path / "run") == []
    assert "attributions" not in json.loads((tmp_path / "run" / "manifest.json").read_text())


def test_a_torn_index_line_is_skipped(tmp_path):
    from xaibench.attributions import AttributionStore

    store = AttributionStore(tmp_path)
    saved = {"inputs": np.zeros((2, 3)), "attributions": np.ones((2, 3)), "kind": "tabular", "meta": {}}
    store.write({"task": "a/b/c", "method": "m", "seed": 0}, saved)
    with open(tmp_path / "attributions" / "index.jsonl", "a") as handle:
        handle.write('{"file": "a__b__c/x')
    (entry,) = read_index(tmp_path)
    _, attributions, _ = load(tmp_path, entry)
    assert torch.equal(torch.from_numpy(attributions), torch.ones(2, 3))
