"""The runner end to end on the toy plugins: records, error and skipped cells, determinism, resume."""

from __future__ import annotations

import json

import pytest
import torch

import xaibench
from xaibench.errors import DeviceError
from xaibench.records import TIMING_FIELDS
from xaibench.runner import check_device, run_plan
from xaibench.store import RECORDS, read_records
from xaibench.suite import parse_suite, resolve

from . import toys

pytestmark = pytest.mark.usefixtures("registered_toys")

RESUME_SUITE = toys.TOY_SUITE.replace(
    'methods = ["toy_exact", { name = "toy_noisy", params = { scale = 0.25 } }, "toy_nan", "toy_boom", "toy_images_only"]',
    'methods = ["toy_exact", "toy_noisy"]',
).replace('"toy_raising"]', '"toy_interrupt"]')


def run(tmp_path, text=toys.TOY_SUITE, out="run", **options):
    """A run of ``text``; in the worker process (the default) unless ``isolation="none"`` is passed, as
    tests that patch the toys in this process must."""
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return xaibench.run(path, out=tmp_path / out, progress=False, **options)


def comparable(record):
    """What must be identical between two runs of a cell: everything but timings and cost values."""
    drop = set(TIMING_FIELDS) | {"device_name"}
    if record["category"] == "cost":
        drop |= {"value", "values", "stderr", "ci_low", "ci_high", "n"}
    return {k: v for k, v in record.items() if k not in drop}


def by_key(records):
    return {r["key"]: comparable(r) for r in records}


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toy")
    frame = run(tmp)
    return frame, list(read_records(tmp / "run")), tmp / "run"


def test_one_record_per_task_method_metric_seed(toy_run):
    frame, records, run_dir = toy_run
    assert len(records) == 1 * 5 * 2 * 5 == len(frame)  # tasks × methods × seeds × (3 metrics + 2 cost)
    assert len({r["key"] for r in records}) == len(records)
    assert frame.attrs["run_dir"] == str(run_dir)
    status = {(r["method"], r["metric"]): r["status"] for r in records}
    assert {status[("toy_exact", m)] for m in ("toy_gt_error", "completeness", "explanations_per_second")} == {"ok"}
    assert status[("toy_exact", "toy_raising")] == "error"  # one failing metric does not stop the others
    assert {s for (m, _), s in status.items() if m == "toy_images_only"} == {"skipped"}
    assert {s for (m, _), s in status.items() if m in ("toy_nan", "toy_boom")} == {"error"}


def test_values_on_the_hand_computable_toy(toy_run):
    _, records, _ = toy_run
    exact = {(r["metric"], r["seed"]): r for r in records if r["method"] == "toy_exact"}
    gt = exact[("toy_gt_error", 0)]
    assert gt["values"] == [0.0] * 4 and (gt["value"], gt["n"], gt["ci_low"], gt["ci_high"]) == (0.0, 4, 0.0, 0.0)
    completeness = exact[("completeness", 1)]
    assert all(0 <= v < 0.1 + 1e-6 for v in completeness["values"])  # exact: gap 0, plus the seeded noise
    assert completeness["extras"] == {"answer": 42.0} and completeness["ci_low"] <= completeness["value"]
    assert gt["quality"] == {"test_accuracy": 1.0} and gt["dataset_version"] == "1.0"
    assert len(gt["weights_sha256"]) == 64 and gt["method_params"] == {} and gt["family"] == "gradient"
    assert gt["versions"]["torch"] == torch.__version__ and gt["suite"] == "toy" and gt["suite_version"] == "3"
    noisy = [r for r in records if r["method"] == "toy_noisy" and r["metric"] == "toy_gt_error"]
    assert noisy[0]["method_params"] == {"scale": 0.25} and noisy[0]["values"] != noisy[1]["values"]  # seeds differ


def test_cost_records_come_from_the_timed_pass(toy_run):
    _, records, _ = toy_run
    for r in records:
        if r["method"] == "toy_exact" and r["category"] == "cost":
            assert r["status"] == "ok" and r["per_instance"] is False and len(r["values"]) == 1
            assert r["seconds"] > 0 and r["explanations_per_second"] == pytest.approx(4 / r["seconds"])
            assert r["device"] == "cpu" and "threads" in r["device_name"]
    eps = next(r for r in records if r["method"] == "toy_exact" and r["metric"] == "explanations_per_second")
    assert eps["value"] == eps["explanations_per_second"] and eps["higher_is_better"] is True
    mem = next(r for r in records if r["method"] == "toy_exact" and r["metric"] == "peak_memory_mb")
    assert mem["value"] is not None and mem["value"] >= 0 and mem["higher_is_better"] is False


def test_failures_become_typed_records(toy_run):
    _, records, _ = toy_run
    nan = next(r for r in records if r["method"] == "toy_nan")
    assert nan["error_type"] == "InvalidAttributionError" and "NaN or infinite attributions" in nan["error"]
    assert "Traceback" in nan["traceback"] and nan["value"] is None
    boom = next(r for r in records if r["method"] == "toy_boom")
    assert (boom["error_type"], boom["error"]) == ("RuntimeError", "boom")
    raising = next(r for r in records if r["metric"] == "toy_raising" and r["method"] == "toy_exact")
    assert (raising["error_type"], raising["error"]) == ("ValueError", "metric exploded")
    skipped = next(r for r in records if r["method"] == "toy_images_only")
    assert skipped["error_type"] == "NotApplicableError" and "image" in skipped["error"] and skipped["traceback"] is None


def test_manifest_and_leaderboard_beside_the_run(toy_run):
    _, _, run_dir = toy_run
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["suite"]["name"] == "toy" and manifest["suite"]["version"] == "3"
    assert manifest["suite"]["text"] == toys.TOY_SUITE and len(manifest["suite"]["sha256"]) == 64
    assert set(manifest["versions"]) == {"xaibench", "torch", "python", "numpy", "git_commit"}
    assert manifest["device"] == "cpu" and manifest["device_name"] and manifest["start_time"]
    assert manifest["plan"]["seeds"] == [0, 1] and manifest["command_line"]
    board = (run_dir / "leaderboard.md").read_text()
    assert "toy_gt_error ↓" in board and "completeness ↑" in board and "| toy_exact" in board


def test_same_seed_same_records(tmp_path, toy_run):
    _, first, _ = toy_run
    run(tmp_path)
    assert by_key(read_records(tmp_path / "run")) == by_key(first)


def test_resume_after_an_interrupted_run_gives_the_same_records(tmp_path):
    run(tmp_path, RESUME_SUITE, out="reference")
    reference = list(read_records(tmp_path / "reference"))
    assert len(reference) == 2 * 2 * 5
    toys.INTERRUPT.update(at=3, calls=0)  # Ctrl-C inside the third cell's metrics
    try:
        with pytest.raises(KeyboardInterrupt):
            run(tmp_path, RESUME_SUITE, out="resumed", isolation="none")
    finally:
        toys.INTERRUPT.update(at=None, calls=0)
    partial = list(read_records(tmp_path / "resumed"))
    assert 0 < len(partial) < len(reference)
    run(tmp_path, RESUME_SUITE, out="resumed", resume=True)
    resumed = list(read_records(tmp_path / "resumed"))
    assert len(resumed) == len(reference) == len({r["key"] for r in resumed})  # none twice, none lost
    assert by_key(resumed) == by_key(reference)
    for old in partial:  # what was written before the interruption is kept as it was
        assert next(r for r in resumed if r["key"] == old["key"]) == old


def test_resume_discards_a_torn_line_and_skips_done_cells(tmp_path):
    run(tmp_path, RESUME_SUITE)
    path = tmp_path / "run" / RECORDS
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # a crash in the middle of writing the last record
    plan = resolve(parse_suite(RESUME_SUITE, source="s.toml"))
    result = run_plan(plan, tmp_path / "run", resume=True, progress=False)
    assert result.written == 1 and len(result.records) == 20 == len({r["key"] for r in result.records})
    assert run_plan(plan, tmp_path / "run", resume=True, progress=False).written == 0


def test_resume_retries_failed_cells(tmp_path, monkeypatch):
    text = toys.TOY_SUITE.replace("seeds = [0, 1]", "seeds = [0]")
    run(tmp_path, text)
    before = list(read_records(tmp_path / "run"))
    assert {r["status"] for r in before if r["metric"] == "toy_raising"} == {"error", "skipped"}
    monkeypatch.setattr(toys.ToyRaising, "__call__", lambda self, task, x, phi, method, seed=0: phi.abs().sum(1))
    frame = run(tmp_path, text, resume=True, isolation="none")  # the patch lives in this process
    fixed = frame[(frame.metric == "toy_raising") & (frame.method == "toy_exact")]
    assert list(fixed.status) == ["ok"] and len(frame) == len(before) == len(set(frame.key))
    still_failing = frame[frame.method.isin(["toy_nan", "toy_boom"])]
    assert set(still_failing.status) == {"error"}  # retried, failed again
    assert callable(xaibench.run) and callable(xaibench.leaderboard)  # the API, not same-named modules
    board = xaibench.leaderboard(tmp_path / "run")
    assert "error in toy_exact × toy_raising" not in board and "error in toy_nan" in board


def test_a_task_that_fails_to_load_becomes_error_records_and_the_run_goes_on(tmp_path):
    text = RESUME_SUITE.replace('target = "value"', 'targets = ["value", "broken"]').replace(
        "seeds = [0, 1]", "seeds = [0]")
    run(tmp_path, text)
    records = list(read_records(tmp_path / "run"))
    broken = [r for r in records if r["target"] == "broken"]
    assert len(broken) == 2 * 5 and {r["error_type"] for r in broken} == {"ModelError"}
    assert {r["status"] for r in records if r["target"] == "value"} == {"ok"}


def test_devices_are_checked_before_any_work():
    assert check_device("cpu") == "cpu"
    with pytest.raises(DeviceError, match="not a torch device"):
        check_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA device is available"):
            check_device("cuda")


def test_skipped_cells_are_logged_once_per_reason():
    from xaibench.runner import _skip_lines  # noqa: PLC0415

    def rec(method, metric, task, why):
        return {"method": method, "metric_name": metric.split("@")[0], "error": f"{metric.split('@')[0]}: {task} {why}"}

    skipped = {(f"t{i}", m): [rec("a", m, f"t{i}", "has no ground truth"), rec("b", m, f"t{i}", "has no ground truth")]
               for i in range(5) for m in ("gt_x", "gt_y@0.25")}
    skipped[("t0", "ros")] = [rec("a", "ros", "t0", "is not an image")]
    assert _skip_lines(skipped) == [
        "skipped gt_x, gt_y@0.25 on 5 tasks (t0, t1, t2 and 2 more) for 2 method(s): the task has no ground truth",
        "skipped ros on 1 task (t0) for 1 method(s): the task is not an image"]


def test_tasks_short_of_instances_are_one_line_grouped_by_dataset():
    from xaibench.runner import _capped_line  # noqa: PLC0415

    capped = {"breast_cancer/mlp/logit": (142, 200), "breast_cancer/vae/neg_elbo": (142, 200), "wine/mlp/logit": (45, 200)}
    assert _capped_line(capped).endswith(": breast_cancer 142 of 200 (2 tasks); wine 45 of 200 (1 task)")
