"""Shipped weights: complete, verified, small, above the quality floors, and reproducible."""

from __future__ import annotations

import json
import math

import pytest
import torch

import xaibench
from xaibench.dataset import load_dataset
from xaibench.models._ship import SHIPPED, ship_one
from xaibench.models._spec import WEIGHTS_DIR
from xaibench.registries import models
from xaibench.weights import sha256_bytes, weights_key

MANIFEST = json.loads((WEIGHTS_DIR / "manifest.json").read_text())
MAX_FOLDER_BYTES = 8 * 2**20

FLOORS = [  # (dataset, model, target, quality key, floor) from the issue
    ("mnist_5k", "cnn", "logit", "test_accuracy", 0.95),
    ("breast_cancer", "mlp", "logit", "test_accuracy", 0.95),
    ("adult", "mlp", "logit", "test_accuracy", 0.84),
    ("mnist_5k", "gan", "generator", "class_coverage", 8),
    ("mnist_5k", "gan", "generator", "mean_top_prob", 0.8),
    ("synthetic_copy", "sequence_lm", "next_token_logprob", "next_token_accuracy", 0.99),
    # ours: the reconstruction models have learned the joint structure of real data
    ("breast_cancer", "autoencoder", "recon_error", "anomaly_auroc", 0.9),
    ("digits", "vae", "neg_elbo", "anomaly_auroc", 0.9),
    # issue 11: the CycleGAN keeps the class of >= 80 % of translated test digits; its fixed classifier is good
    ("digits_16x16", "cyclegan", "translation_logit", "class_preservation", 0.8),
    ("digits_16x16", "cyclegan", "translation_logit", "class_coverage", 10),
    ("mnist_5k_16x16", "cnn", "logit", "test_accuracy", 0.93),
]


def test_every_suite_pair_is_shipped_for_the_current_dataset_version():
    for dataset, model in SHIPPED:
        key = weights_key(models.get(model)(), load_dataset(dataset), 0)
        assert key in MANIFEST, f"{key} is not shipped: run `python -m xaibench.models._ship --models {model} --datasets {dataset}`"
        assert MANIFEST[key]["dataset_version"] == load_dataset(dataset).version, f"{key} was trained on an older dataset version"


def test_files_match_their_hashes_and_the_folder_is_small():
    names = {entry["file"] for entry in MANIFEST.values()}
    assert names == {p.name for p in WEIGHTS_DIR.glob("*.pt")}
    for entry in MANIFEST.values():
        assert sha256_bytes((WEIGHTS_DIR / entry["file"]).read_bytes()) == entry["sha256"]
    assert sum(p.stat().st_size for p in WEIGHTS_DIR.iterdir()) < MAX_FOLDER_BYTES


@pytest.mark.parametrize("dataset,model,target,key,floor", FLOORS, ids=lambda v: str(v))
def test_quality_floor(dataset, model, target, key, floor):
    task = xaibench.load_task(dataset, model, target, n_instances=1)
    assert task.meta["weights_source"] == "shipped"
    assert task.quality[key] >= floor
    recorded = MANIFEST[weights_key(models.get(model)(), load_dataset(dataset), 0)]["quality"][key]
    assert task.quality[key] == pytest.approx(recorded, rel=1e-4)  # measured now = measured at shipping


def test_retraining_reproduces_the_shipped_quality():
    """Retrain one cheap model (mlp on breast_cancer, seconds) the users' way and compare."""
    retrained = xaibench.load_task("breast_cancer", "mlp", "logit", retrain=True, n_instances=4)
    assert retrained.meta["weights_source"] == "trained"
    shipped = MANIFEST[weights_key(models.get("mlp")(), load_dataset("breast_cancer"), 0)]["quality"]
    assert retrained.quality["test_accuracy"] == pytest.approx(shipped["test_accuracy"], abs=0.015)


@pytest.mark.slow
@pytest.mark.parametrize("dataset,model", SHIPPED, ids=lambda v: str(v))
def test_retraining_everything_reproduces_quality(tmp_path, monkeypatch, dataset, model):
    spec = models.get(model)()
    recorded = MANIFEST[weights_key(spec, load_dataset(dataset), 0)]["quality"]
    monkeypatch.setattr(type(spec), "weights_dir", tmp_path)
    report = ship_one(dataset, model)
    for key, value in recorded.items():
        tolerance = 0.02 * max(1.0, abs(value)) if key != "class_coverage" else 1
        assert math.isfinite(report[key]) and abs(report[key] - value) <= tolerance, key


def test_build_is_seeded_and_differs_across_seeds():
    pairs = [("wine", name) for name in ("logreg", "mlp", "autoencoder", "vae", "gan")]
    for dataset, name in [*pairs, ("digits_16x16", "cyclegan"), ("tinyshakespeare", "char_lm")]:
        ds, spec = load_dataset(dataset), models.get(name)()
        a, b, c = (spec.build(ds, seed=s).state_dict() for s in (0, 0, 1))
        assert all(torch.equal(a[k], b[k]) for k in a), name
        assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point()), name
