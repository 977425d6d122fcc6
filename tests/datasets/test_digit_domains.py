"""The two 16×16 digit domains: the sources' rows and split, resampled as documented."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from xaibench.dataset import load_dataset
from xaibench.players import Players


@pytest.mark.parametrize("name,source", [("digits_16x16", "digits"), ("mnist_5k_16x16", "mnist_5k")])
def test_same_rows_labels_and_split_as_the_source(name, source):
    ds, src = load_dataset(name), load_dataset(source)
    assert ds.feature_shape == (1, 16, 16) and ds.kind == "image" and ds.n_classes == 10
    assert torch.equal(ds.y_train, src.y_train) and torch.equal(ds.y_test, src.y_test)
    assert ds.x_train.dtype == torch.float32 and ds.x_train.min() >= 0 and ds.x_train.max() <= 1
    assert Players(ds.feature_shape, ds.groups).n == 16  # 4x4 patches
    assert torch.equal(ds.baseline, torch.zeros(1, 16, 16))


def test_digits_are_upsampled_to_12x12_and_centred_with_a_2_pixel_margin():
    ds, src = load_dataset("digits_16x16"), load_dataset("digits")
    frame = torch.ones(16, 16, dtype=torch.bool)
    frame[2:14, 2:14] = False
    assert ds.x_train[:, 0, frame].abs().max() == 0
    one = src.x_test[:1]
    expected = F.interpolate(one, size=(12, 12), mode="bilinear", align_corners=False)
    torch.testing.assert_close(ds.x_test[:1, :, 2:14, 2:14], expected)
    # a bilinear upsampling by 1.5 keeps every source pixel's mass: totals scale by the area ratio 144/64
    torch.testing.assert_close(ds.x_test.sum((1, 2, 3)) / src.x_test.sum((1, 2, 3)),
                               torch.full((len(src.x_test),), 144 / 64), rtol=0.06, atol=0)


def test_mnist_is_area_averaged():
    ds, src = load_dataset("mnist_5k_16x16"), load_dataset("mnist_5k")
    torch.testing.assert_close(ds.x_test[:8], F.adaptive_avg_pool2d(src.x_test[:8], (16, 16)))
    # each output pixel is the mean of a 2x2 or 3x3 source block (28/16 = 1.75): pixel 0 averages rows/columns 0-1
    torch.testing.assert_close(ds.x_test[:, 0, 0, 0], src.x_test[:, 0, :2, :2].mean((1, 2)))
