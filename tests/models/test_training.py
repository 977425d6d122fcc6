"""Training recipes are deterministic functions of (data, seed)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from xaibench.dataset import load_dataset
from xaibench.models._reconstruction import ReconstructionModel
from xaibench.models._train import Schedule, batches
from xaibench.models.gan import GAN
from xaibench.registries import models


def test_batches_follow_a_seeded_permutation_per_epoch():
    schedule = Schedule(steps=5, batch_size=4)
    got = list(batches(10, schedule, torch.Generator().manual_seed(3)))
    assert len(got) == 5 and all(len(b) == 4 for b in got)
    for epoch in (got[0:2], got[2:4]):  # two full slices per epoch of 10 rows (the short rest is dropped)
        assert len(set(torch.cat(epoch).tolist())) == 8
    again = list(batches(10, schedule, torch.Generator().manual_seed(3)))
    assert all(torch.equal(a, b) for a, b in zip(got, again))
    assert len(list(batches(3, schedule, torch.Generator()))[0]) == 3  # data smaller than a batch


def _short(monkeypatch, steps: int = 30) -> None:
    shorten = lambda s: dataclasses.replace(s, steps=steps)  # noqa: E731
    monkeypatch.setattr(ReconstructionModel, "schedules", {k: shorten(v) for k, v in ReconstructionModel.schedules.items()})
    monkeypatch.setattr(GAN, "schedules", {k: shorten(v) for k, v in GAN.schedules.items()})
    for name in ("mlp", "cnn", "sequence_lm", "cyclegan"):
        cls = models.get(name)
        monkeypatch.setattr(cls, "schedule", shorten(cls.schedule))
    monkeypatch.setattr(models.get("char_lm"), "steps", steps)


@pytest.mark.parametrize("dataset,model", [("wine", "logreg"), ("wine", "mlp"), ("wine", "vae"), ("digits", "gan"),
                                           ("digits_16x16", "cyclegan"), ("tinyshakespeare", "char_lm")])
def test_fit_is_deterministic_in_the_seed(monkeypatch, dataset, model):
    _short(monkeypatch)
    ds = load_dataset(dataset)
    spec = models.get(model)()
    torch.manual_seed(123)  # the caller's RNG state must not matter
    a = spec.fit(ds, seed=0).state_dict()
    torch.rand(7)
    b = spec.fit(ds, seed=0).state_dict()
    c = spec.fit(ds, seed=1).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())


def test_batchnorm_statistics_are_reestimated_exactly():
    from xaibench.models._nets import reestimate_batchnorm

    layer = torch.nn.BatchNorm1d(3)
    data = torch.randn(1000, 3, generator=torch.Generator().manual_seed(0)) * 2 + 5
    reestimate_batchnorm(layer, data.split(100), layer)
    torch.testing.assert_close(layer.running_mean, data.mean(0))
    torch.testing.assert_close(layer.running_var, data.var(0), rtol=2e-3, atol=1e-4)  # per-batch unbiased, averaged
    assert not layer.training and layer.momentum == 0.1


def test_shuffled_features_keep_each_column_and_break_the_rows():
    from xaibench.models._quality import shuffle_features

    x = torch.arange(40.0).view(10, 2, 2)
    shuffled = shuffle_features(x, torch.Generator().manual_seed(0))
    flat, original = shuffled.flatten(1), x.flatten(1)
    for j in range(4):  # every feature keeps its values (its marginal), only their rows move
        assert sorted(flat[:, j].tolist()) == sorted(original[:, j].tolist())
    assert not torch.equal(shuffled, x)
    rows = {tuple(r) for r in original.tolist()}
    assert sum(tuple(r) in rows for r in flat.tolist()) < 10  # most rows are new combinations
