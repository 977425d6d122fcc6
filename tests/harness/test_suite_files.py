"""The suite files shipped in the package stay honest.

For every built-in suite: it parses and resolves against the registries (every dataset, model,
target, method and metric name, every parameter); every [[tasks]] combination it lists applies
(none is silently dropped from a cross-product); every task's model is the shipped seed-0
network, with a manifest entry for the dataset's current version and a file whose SHA-256
matches, so running the suite never trains. The quick suite explains a VAE and a GAN (issue 3).
The full suite is the exhaustive grid: every (dataset, model) pair with shipped weights, with
every target, plus the oracles, × every built-in method (reference wrappers included) × every
built-in metric, ≥ 3 seeds and ≥ 200 instances. The standard suite (issue 12) covers every model
and every target of the zoo, every built-in method but the reference wrappers, every metric
category (every built-in metric, in fact), ≥ 200 instances where a task has them, and several
seeds for every stochastic method and only for those.

Fast: nothing is built, trained or explained. The cost is one import of the plugins, loading the
datasets the suites name (cached per process) and hashing the shipped weight files.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from functools import cache
from pathlib import Path

import pytest

from xaibench.dataset import Dataset, load_dataset
from xaibench.model import ModelSpec
from xaibench.registries import datasets, methods, metrics, models
from xaibench.suite import Plan, Suite, TaskRef, builtin_suites, load_suite, resolve
from xaibench.weights import weights_key

SUITES = sorted(builtin_suites())
SHIPPED_SEED = 0
STANDARD_MIN_SEEDS = 3
STANDARD_MIN_INSTANCES = 200


@cache
def suite(name: str) -> Suite:
    return load_suite(name)


@cache
def plan(name: str) -> Plan:
    return resolve(suite(name))


@cache
def spec(model: str) -> ModelSpec:
    return models.get(model)()


@cache
def manifest(weights_dir: Path) -> dict:
    path = weights_dir / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def needs_weights(model: str) -> bool:
    """Models without a weights folder (``oracle``) have nothing to train or ship."""
    return spec(model).weights_dir is not None


def shipped_entry(model: str, dataset: Dataset) -> dict | None:
    return manifest(spec(model).weights_dir).get(weights_key(spec(model), dataset, SHIPPED_SEED))


def builtin(registry) -> list[str]:
    """Names of the entries that ship with xaibench (not test toys or third-party plugins)."""
    def module(entry) -> str:
        return getattr(entry, "loader", entry).__module__

    return sorted(name for name, entry in registry.items() if module(entry).startswith("xaibench."))


def test_the_quick_standard_and_full_suites_ship():
    assert {"quick", "standard", "full"} <= set(SUITES)


@pytest.mark.parametrize("name", SUITES)
def test_suite_parses_and_every_name_resolves(name):
    loaded, resolved = suite(name), plan(name)
    assert loaded.name == name and loaded.version and "\n" not in loaded.description
    assert resolved.tasks and resolved.methods and resolved.metrics
    for task in resolved.tasks:  # resolve checked the names; the target must belong to the model
        assert task.dataset in datasets and task.model in models and task.target in spec(task.model).targets, task


@pytest.mark.parametrize("name", SUITES)
def test_every_listed_combination_applies(name):
    """A [[tasks]] cross-product drops inapplicable pairs with only a log line: list none."""
    listed = set(plan(name).tasks)
    dropped = [f"{group.where}: {d}/{m}/{t}" for group in suite(name).tasks
               for d, m, t in itertools.product(group.datasets, group.models, group.targets)
               if TaskRef(d, m, t) not in listed or not spec(m).supports(load_dataset(d))]
    assert not dropped, f"suite {name} lists combinations that do not apply: {dropped}"


@pytest.mark.parametrize("name", SUITES)
def test_every_task_uses_shipped_weights_so_the_suite_never_trains(name):
    assert suite(name).model_seed == SHIPPED_SEED, "only seed-0 weights are shipped; another model_seed trains"
    problems = []
    for d, m in sorted({(t.dataset, t.model) for t in plan(name).tasks if needs_weights(t.model)}):
        dataset = load_dataset(d)
        entry = shipped_entry(m, dataset)
        if entry is None:
            problems.append(f"{d}/{m}: no seed-{SHIPPED_SEED} entry in the manifest")
        elif entry.get("dataset_version") != dataset.version:
            problems.append(f"{d}/{m}: weights for dataset version {entry.get('dataset_version')}, "
                            f"the dataset is version {dataset.version} (the loader would retrain)")
        else:
            path = spec(m).weights_dir / entry["file"]
            if not path.is_file():
                problems.append(f"{d}/{m}: {path} is missing")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
                problems.append(f"{d}/{m}: {path} does not match its SHA-256 in the manifest")
    assert not problems, f"suite {name}: " + "; ".join(problems)


def test_quick_suite_explains_a_vae_and_a_gan():
    models_used = {t.model for t in plan("quick").tasks}
    assert {"vae", "gan"} <= models_used, models_used


def test_full_suite_has_issue_3_numbers():
    resolved = plan("full")
    assert len(resolved.seeds) >= STANDARD_MIN_SEEDS, resolved.seeds
    assert resolved.n_instances is not None and resolved.n_instances >= STANDARD_MIN_INSTANCES
    assert all(m.n_instances is None and m.n_seeds is None for m in resolved.metrics)


def zoo_grid() -> set[TaskRef]:
    """Every (dataset, model) pair the zoo ships (or needs no weights for), with every target."""
    expected = set()
    for d, m in itertools.product(builtin(datasets), builtin(models)):
        dataset = load_dataset(d)
        if spec(m).supports(dataset) and (not needs_weights(m) or shipped_entry(m, dataset) is not None):
            expected |= {TaskRef(d, m, t) for t in spec(m).targets}
    return expected


def test_full_suite_is_the_full_zoo_grid():
    expected, listed = zoo_grid(), set(plan("full").tasks)
    assert not expected - listed, f"full suite misses {sorted(t.name for t in expected - listed)}"
    assert not listed - expected, f"full suite has tasks without shipped weights {sorted(t.name for t in listed - expected)}"
    assert {t.model for t in listed} == set(builtin(models))
    assert {t.dataset for t in listed} == set(builtin(datasets))


def test_full_suite_runs_every_builtin_method_and_metric():
    resolved = plan("full")
    assert set(builtin(methods)) <= {e.method.name for e in resolved.methods}
    assert set(builtin(metrics)) <= {e.metric.name for e in resolved.metrics}


def test_standard_suite_covers_every_model_and_target_of_the_zoo():
    """Every (model, target) pair the zoo can run (with shipped weights) is a task of the standard suite."""
    listed = {(t.model, t.target) for t in plan("standard").tasks}
    missing = {(t.model, t.target) for t in zoo_grid()} - listed
    assert not missing, f"standard suite misses {sorted(missing)}"
    assert set(plan("standard").tasks) <= zoo_grid()


def test_standard_suite_runs_every_batched_method_and_every_metric():
    resolved = plan("standard")
    batched = {name for name in builtin(methods) if methods.get(name).family != "reference"}
    assert {e.method.name for e in resolved.methods} == batched  # the per-instance references: quick, full
    assert set(builtin(metrics)) <= {e.metric.name for e in resolved.metrics}


def test_standard_suite_gives_several_seeds_to_stochastic_methods_only():
    resolved = plan("standard")
    for entry in resolved.methods:
        seeds = resolved.seeds_of(entry)
        assert (len(seeds) >= STANDARD_MIN_SEEDS) == entry.method.stochastic, (entry.label, seeds)


def test_standard_suite_explains_200_instances_where_tasks_have_them():
    resolved = plan("standard")
    assert resolved.n_instances >= STANDARD_MIN_INSTANCES
    own = {t.name: t.n_instances for t in resolved.tasks if t.n_instances is not None}
    costliest = {"synthetic_patch/cnn/logit", "digits/gan/generator", "synthetic_copy/sequence_lm/next_token_logprob",
                 *(f"digits_16x16/cyclegan/{t}" for t in ("translation_logit", "cycle_error", "translation_realness")),
                 *(f"tinyshakespeare/char_lm/{t}" for t in ("next_token_logprob", "logit_margin"))}
    assert set(own) <= costliest, f"only the costliest tasks explain fewer instances: {own}"
    assert min(own.values()) >= 12, own
