"""``xaibench submit`` and ``xaibench publish`` end to end on the tiny canonical suite, and every
reason publish refuses a bundle: edited values, non-canonical settings, partial runs, unsafe names."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import pytest

from submission import helpers
from xaibench.records import _package_sha256, dumps, record_key
from xaibench.store import latest_per_key, read_records
from xaibench.submission.bundle import record_hash, sha256_file
from xaibench.submission.publish import publish
from xaibench.submission.submit import submit

NAME = "grad_times_input_2"


def reseal(bundle: Path, *, records=None, manifest=None, source: str | None = None) -> None:
    """Edit a bundle like a forger who knows the format: apply the edits, then recompute every
    record key and every hash, so that only publish's deeper checks can tell."""
    lines = [json.loads(line) for line in (bundle / "records.jsonl").read_text().splitlines()]
    data = json.loads((bundle / "bundle.json").read_text())
    if source is not None:
        (bundle / "method.py").write_text(source)
        code = hashlib.sha256(data["harness_sha256"].encode())
        code.update(source.encode())
        for r in lines:
            r["code_sha256"] = code.hexdigest()
        data["method"].update(source_sha256=sha256_file(bundle / "method.py"), source_text=source)
    if records is not None:
        lines = records(lines)
    for r in lines:
        r["key"] = record_key(r)
    (bundle / "records.jsonl").write_text("".join(dumps(r) + "\n" for r in lines))
    if manifest is not None:
        manifest(data)
    data["records"] = {r["key"]: record_hash(r) for r in latest_per_key(lines)}
    data["files"] = {name: sha256_file((bundle / name) if not name.startswith("/") else Path(name))
                     for name in data["files"] if (bundle / name).exists()}
    (bundle / "bundle.json").write_text(json.dumps(data))


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def refused(bundle, results, reason: str) -> None:
    before = tree(results.parent)
    outcome = publish([bundle], results=results, site=results / "site")
    assert not outcome.merged and len(outcome.refused) == 1, outcome.lines
    assert re.search(reason, outcome.refused[0][1]), outcome.refused[0][1]
    assert tree(results.parent) == before  # a refused bundle changes nothing


# -- a complete submission -----------------------------------------------------------------------
def test_submit_writes_a_complete_bundle_bound_to_its_source(tmp_path_factory):
    folder, _ = helpers.good_bundle(tmp_path_factory)
    data = json.loads((folder / "bundle.json").read_text())
    assert data["name"] == NAME and not data["partial"]
    assert data["coverage"] == {"planned": 12, "recorded": 12, "missing": []}  # 3 tasks × (2 metrics + 2 cost)
    assert data["method"]["params"] == {"scale": 2.0} and data["method"]["family"] == "gradient"
    assert data["method"]["source_text"] == (folder / "method.py").read_text()
    assert data["suite"]["name"] == "tiny" and data["harness_sha256"] == _package_sha256()
    for name, digest in data["files"].items():
        assert sha256_file(folder / name) == digest
    assert sum(name.startswith("attributions/") and name.endswith(".npz") for name in data["files"]) == 3
    records = latest_per_key(read_records(folder / "records.jsonl"))
    assert data["records"] == {r["key"]: record_hash(r) for r in records}
    code = hashlib.sha256(data["harness_sha256"].encode() + (folder / "method.py").read_bytes()).hexdigest()
    assert {r["code_sha256"] for r in records} == {code} and {r["method"] for r in records} == {NAME}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert not (folder / ".xaibench.lock").exists()  # the run's lock is not part of the bundle
    assert manifest["threads_per_worker"] == 1  # the published run's threads, so that costs compare like for like


def test_submit_prints_the_ranks_against_every_published_method(tmp_path_factory):
    helpers.good_bundle(tmp_path_factory)
    lines = helpers._CACHE["bundle"].ranks
    assert lines[0] == f"Ranks of {NAME} against 3 other method(s):"
    assert re.match(r"  faithfulness \(3 tasks\): mean rank \d\.\d\d \[\d\.\d\d, \d\.\d\d\], \d\w\w of 4", lines[1])
    assert sum(line.startswith("    ") and "faithfulness " in line for line in lines) == 3  # one line per task


def test_published_method_appears_ranked_in_the_leaderboard_and_the_site(tmp_path_factory):
    results, site = helpers.published_site(tmp_path_factory)
    board = (results / "LEADERBOARD.md").read_text()
    row = next(line for line in board.splitlines() if line.startswith(f"| {NAME} "))
    assert re.search(r"\d\.\d\d \[\d\.\d\d, \d\.\d\d\]", row), row  # a mean rank with its interval
    assert {"LEADERBOARD.tex", "LEADERBOARD.csv", "LEADERBOARD.json"} <= {p.name for p in results.iterdir()}
    merged = results / "submissions" / NAME
    listed = set(json.loads((merged / "bundle.json").read_text())["files"])
    assert tree(merged) - {"attributions", *{str(Path(n).parent) for n in listed}} == listed | {"bundle.json"}
    assert NAME in (site / "index.html").read_text()
    # planned per task: random 2 seeds × (deletion + 2 costs) + 1 insertion, 4 for each other method, 4 for NAME
    assert "Complete: all 57 planned results are recorded." in board


def test_submission_seeds_follow_the_suites_stochastic_built_ins():
    from xaibench.submission.canonical import submission_seeds  # noqa: PLC0415

    plan = {"seeds": [0], "methods": [{"label": "a", "seeds": [0]}, {"label": "b", "seeds": [0, 1, 2]}]}
    assert submission_seeds(plan, stochastic=False) == [0]
    assert submission_seeds(plan, stochastic=True) == [0, 1, 2]
    assert submission_seeds({"seeds": [3], "methods": []}, stochastic=True) == [3]


def test_a_stochastic_method_is_submitted_at_the_stochastic_built_ins_seeds(results, tmp_path):
    from xaibench.registries import methods  # noqa: PLC0415

    text = helpers.GOOD.format(name="noisy_grad").replace(
        'scale: float = 2.0', 'scale: float = 2.0\n    stochastic: ClassVar[bool] = True').replace(
        "return self.scale * grad * x",
        "noise = torch.randn(x.shape[1:], generator=torch.Generator().manual_seed(seed))\n"
        "        return self.scale * grad * x + 0.01 * noise").replace("import xaibench", "import torch\nimport xaibench")
    source = helpers.write(tmp_path, "noisy.py", text)
    try:
        done = submit(f"{source}:GradTimesInput", results=results, out=tmp_path / "bundle", progress=False, timeout=60)
    finally:
        methods.remove("noisy_grad")
    seeds = {(r["metric"], r["seed"]) for r in read_records(done.directory / "records.jsonl")}
    assert {s for m, s in seeds if m == "deletion_auc"} == {0, 1}  # as random's seeds in the tiny suite
    assert {s for m, s in seeds if m == "insertion_auc"} == {0}  # n_seeds = 1
    data = json.loads((done.directory / "bundle.json").read_text())
    assert data["coverage"]["planned"] == data["coverage"]["recorded"] == 3 * (2 + 1 + 2 * 2)
    reseal(done.directory, records=lambda rs: [r for r in rs if r["seed"] == 0])
    refused(done.directory, results, r"the bundle is incomplete: 9 planned result\(s\) have no record")


def test_publishing_twice_needs_replace(results, good_bundle):
    assert publish([good_bundle], results=results, site=None).merged == [NAME]
    refused(good_bundle, results, "already published .* --replace")
    assert publish([good_bundle], results=results, site=None, replace=True).merged == [NAME]


# -- tampering ---------------------------------------------------------------------------------------
def _edit_first_value(bundle: Path) -> None:
    lines = (bundle / "records.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    record["value"] = record["value"] + 0.25
    lines[0] = dumps(record)
    (bundle / "records.jsonl").write_text("\n".join(lines) + "\n")


def test_a_bundle_with_one_edited_value_is_refused(results, good_bundle):
    _edit_first_value(good_bundle)
    refused(good_bundle, results, r"records.jsonl was changed after the bundle was made")


def test_an_edited_value_is_refused_even_with_the_file_hash_recomputed(results, good_bundle):
    _edit_first_value(good_bundle)
    data = json.loads((good_bundle / "bundle.json").read_text())
    data["files"]["records.jsonl"] = sha256_file(good_bundle / "records.jsonl")
    (good_bundle / "bundle.json").write_text(json.dumps(data))
    refused(good_bundle, results, r"was edited: its hash does not match bundle.json")


def test_an_edited_value_is_refused_even_with_every_hash_recomputed(results, good_bundle):
    def edit(records):
        ok = next(r for r in records if r["metric"] == "deletion_auc")
        ok["value"] += 0.25
        return records

    reseal(good_bundle, records=edit)
    refused(good_bundle, results, r"its value \(.*\) is not what its per-instance values give")


# -- non-canonical settings ------------------------------------------------------------------------
def test_a_bundle_run_with_non_canonical_parameters_is_refused(results, tmp_path):
    """A genuine run: the suite file edited (deletion_auc with 5 steps), same name and version."""
    from xaibench.registries import methods

    edited = helpers.TINY_SUITE.replace('metrics = ["deletion_auc"', 'metrics = [{ name = "deletion_auc", params = '
                                        '{ n_steps = 5 } }')
    suite = helpers.write(tmp_path, "tiny.toml", edited)
    source = helpers.write(tmp_path, "good_method.py", helpers.GOOD.format(name="noncanonical"))
    try:
        done = submit(f"{source}:GradTimesInput", suite=str(suite), results=results, out=tmp_path / "b",
                      progress=False, tasks=["breast_cancer/mlp/logit"], timeout=60, save_attributions=0)
    finally:
        methods.remove("noncanonical")
    assert done.bundle["partial"] and not done.canonical
    assert re.fullmatch(r"Not ranked: the bundle ran suite 'tiny' v1 \(SHA-256 \w{12}\.\.\.\), not the published "
                        r"results' 'tiny' v1 \(\w{12}\.\.\.\); .* `xaibench leaderboard .*`\.", " ".join(done.ranks))
    refused(done.directory, results, r"ran suite 'tiny' v1 \(SHA-256 \w+\.\.\.\), not the canonical 'tiny' v1")


def test_forged_metric_parameters_are_refused_even_when_resealed(results, good_bundle):
    def edit(records):
        for r in records:
            if r["metric"] == "deletion_auc":
                r["metric_params"] = {**r["metric_params"], "n_steps": 5}
        return records

    reseal(good_bundle, records=edit)
    refused(good_bundle, results, r"ran metric deletion_auc with parameters .*'n_steps': 5.*non-canonical parameters")


def test_method_parameters_other_than_the_source_defaults_are_refused(results, good_bundle):
    def edit(records):
        for r in records:
            r["method_params"] = {"scale": 3.0}
        return records

    reseal(good_bundle, records=edit, manifest=lambda b: b["method"].update(params={"scale": 3.0}))
    refused(good_bundle, results, r"ran with scale = 3.0, but its default in method.py is 2.0")


def test_a_bundle_from_other_value_code_is_refused(results, good_bundle):
    source = (good_bundle / "method.py").read_text()
    reseal(good_bundle, manifest=lambda b: b.update(harness_sha256="0" * 64))
    reseal(good_bundle, source=source)  # records' code_sha256 recomputed from the forged harness
    refused(good_bundle, results, r"ran value code 000000000000\.\.\., the published results")


def test_a_partial_bundle_is_refused_and_its_ranks_cover_its_tasks(results, tmp_path):
    from xaibench.registries import methods

    source = helpers.write(tmp_path, "good_method.py", helpers.GOOD.format(name="partial_one"))
    try:
        done = submit(f"{source}:GradTimesInput", results=results, out=tmp_path / "b", progress=False,
                      tasks=["digits/mlp/logit"], timeout=60, save_attributions=0)
    finally:
        methods.remove("partial_one")
    assert done.bundle["partial"] and done.bundle["coverage"]["planned"] == 4
    assert done.ranks[1].startswith("  faithfulness (1 task): mean rank")
    refused(done.directory, results, r"the bundle is partial \(made with `xaibench submit FILE.py:Class --tasks")


def test_a_bundle_missing_records_is_refused_even_if_it_claims_to_be_complete(results, good_bundle):
    reseal(good_bundle, records=lambda rs: [r for r in rs if r["task"] != "digits/mlp/logit"])
    refused(good_bundle, results, r"the bundle is incomplete: 4 planned result\(s\) have no record")


# -- names and paths -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../evil", "..", ".hidden", "a/b", "x" * 65, "名前", "evil\x00", "", "-x"])
def test_hostile_bundle_names_are_refused(results, good_bundle, name):
    def rename(records):
        for r in records:
            r["method"] = name
        return records

    reseal(good_bundle, records=rename, manifest=lambda b: b.update(name=name))
    refused(good_bundle, results, r"is not a safe name")


@pytest.mark.parametrize("entry", ["../outside.txt", "attributions/../../outside.txt", "/etc/hostname",
                                   "attributions/x/y/z.npz", ".hidden", "sub\\..\\x", "method.py/"])
def test_hostile_file_names_are_refused(results, good_bundle, entry):
    (good_bundle.parent / "outside.txt").write_text("secret")
    data = json.loads((good_bundle / "bundle.json").read_text())
    data["files"][entry] = hashlib.sha256(b"secret").hexdigest()
    (good_bundle / "bundle.json").write_text(json.dumps(data))
    refused(good_bundle, results, r"unsafe file name|only attributions/ may hold sub-folders")


def test_symbolic_links_are_refused(results, good_bundle, tmp_path):
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_bytes((good_bundle / "method.py").read_bytes())
    (good_bundle / "method.py").unlink()
    (good_bundle / "method.py").symlink_to(elsewhere)
    refused(good_bundle, results, r"method.py is a symbolic link")
    link = tmp_path / "link-bundle"
    link.symlink_to(good_bundle)
    refused(link, results, r"is not a bundle folder")


def test_a_built_in_methods_name_is_refused(results, good_bundle):
    def rename(records):
        for r in records:
            r["method"] = "saliency"
        return records

    reseal(good_bundle, records=rename, manifest=lambda b: b.update(name="saliency"))
    refused(good_bundle, results, r"the name 'saliency' is a built-in method's")


def test_publish_never_imports_the_submitted_code(results, good_bundle, tmp_path):
    marker = tmp_path / "imported.txt"
    source = f"open({str(marker)!r}, 'w').write('imported')\n" + (good_bundle / "method.py").read_text()
    reseal(good_bundle, source=source)
    modules = set(sys.modules)
    outcome = publish([good_bundle], results=results, site=None)
    assert outcome.merged == [NAME], outcome.lines
    assert not marker.exists()
    assert not [m for m in set(sys.modules) - modules if m.startswith("_xaibench_submission_")]
