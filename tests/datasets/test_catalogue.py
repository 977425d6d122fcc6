"""Every built-in dataset is registered, described, versioned and internally consistent."""

from __future__ import annotations

import pytest
import torch

from xaibench.dataset import load_dataset
from xaibench.players import Players
from xaibench.registries import datasets

BUILT_IN = ("adult", "breast_cancer", "compas", "digits", "german", "mnist_5k", "synthetic_additive",
            "synthetic_copy", "synthetic_interaction", "synthetic_linear", "synthetic_patch", "wine",
            "digits_16x16", "mnist_5k_16x16", "tinyshakespeare")


def test_all_built_in_datasets_are_listed_with_a_description():
    assert set(BUILT_IN) <= set(datasets.names())
    for name in BUILT_IN:
        entry = datasets.get(name)
        assert entry.description and len(entry.description) < 120 and "\n" not in entry.description


@pytest.mark.parametrize("name", BUILT_IN)
def test_dataset_is_consistent_with_its_entry(name):
    ds, entry = load_dataset(name), datasets.get(name)
    assert (ds.name, ds.kind, ds.description) == (name, entry.kind, entry.description) and ds.version
    assert ds.baseline.shape == ds.feature_shape and torch.isfinite(ds.x_train).all()
    assert ds.y_train.dtype == torch.long and int(ds.y_train.max()) < ds.n_classes
    assert len(ds.feature_names) == ds.x_train[0].numel()
    if ds.groups is not None:
        assert Players(ds.feature_shape, ds.groups).n == len(ds.group_names)
    if name.startswith("synthetic"):
        assert ds.oracle is not None and ds.oracle.score(ds.x_test[:4]).shape == (4,)
        assert ds.oracle.attributions(ds.x_test[:4], ds.baseline).shape == ds.x_test[:4].shape
