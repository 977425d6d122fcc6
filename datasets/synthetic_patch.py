"""``synthetic_patch``: 16×16 grey images whose class is set by a planted 4×4 pattern; the true
mask is known.

Generation (version ``1``; 4,000 images, 1,000 per class, one CPU generator seeded 0; 20 %
stratified test split, seed 0):

* background: every pixel ``N(0.4, 0.1²)``;
* the **class patch**: one of four 4×4 binary patterns (8 of 16 pixels on), each a ±1 template
  orthogonal to the others and to a constant: 0 horizontal stripes, 1 vertical stripes,
  2 checkerboard, 3 diagonal 2×2 blocks. Pixels are 1 (on) or 0 (off) plus ``N(0, 0.05²)``;
* a **decoy**: a solid bright 4×4 square (1 plus ``N(0, 0.05²)``) in another cell. It is the
  brightest structure in the image yet carries no class information (its response to every
  template is zero), so attributions that merely follow intensity are caught out;
* both squares sit on the 4×4 grid of **cells** (16 possible locations, drawn uniformly, distinct),
  which is also the dataset's feature grouping (16 groups): the true mask is exactly one group,
  so group-based methods (occlusion, KernelSHAP on patches) can match it as well as pixel-based
  ones can. Values are clipped to [0, 1]; the baseline is the black image.

Oracle (a matched filter with the known templates): ``R_c,k(x) = ⟨t_c, x_k⟩`` for template
``t_c = 2·pattern_c − 1`` and cell ``k``. ``label(x) = argmax_c max_k R`` (equals ``y`` on every
generated image, asserted at generation); ``score(x) = max_{c,k} R``, the evidence for the
winning class (≈ 8 on a clean planted patch, ≈ 0 on background); ``attributions(x, b)`` is the 0/1
mask of the winning cell (``signed=False``; ``b`` is ignored: the relevant pixels do not depend on
the reference).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from xaibench.dataset import Dataset, Oracle, register_dataset
from xaibench.errors import DatasetError

from ._images import patch_groups, pixel_names
from ._split import split_rows

VERSION = "1"
SIDE, CELL = 16, 4
N_CELLS = (SIDE // CELL) ** 2
N_IMAGES = 4_000
TEST_FRACTION = 0.2
DATA_SEED = 0
BACKGROUND_MEAN, BACKGROUND_STD, PATCH_NOISE = 0.4, 0.1, 0.05
CLASS_NAMES = ("horizontal_stripes", "vertical_stripes", "checkerboard", "diagonal_blocks")


def patterns() -> Tensor:
    """``(4, 4, 4)`` 0/1 class patterns, 8 pixels on each."""
    r, c = torch.meshgrid(torch.arange(CELL), torch.arange(CELL), indexing="ij")
    return torch.stack([r % 2 == 0, c % 2 == 0, (r + c) % 2 == 0, (r < 2) == (c < 2)]).double()


def _cells(images: Tensor) -> Tensor:
    """``(N, 1, H, W)`` → ``(N, 16, 4, 4)`` cells in row-major order (a copy)."""
    n, k = images.shape[0], SIDE // CELL
    return images.reshape(n, k, CELL, k, CELL).permute(0, 1, 3, 2, 4).reshape(n, N_CELLS, CELL, CELL)


def _uncells(cells: Tensor) -> Tensor:
    n, k = cells.shape[0], SIDE // CELL
    return cells.reshape(n, k, k, CELL, CELL).permute(0, 1, 3, 2, 4).reshape(n, 1, SIDE, SIDE)


def responses(x: Tensor) -> Tensor:
    """``(..., 1, 16, 16)`` → ``(..., 4, 16)``: template responses per class and cell."""
    lead = x.shape[:-3]
    templates = (2.0 * patterns() - 1.0).to(x)
    r = torch.einsum("nkij,cij->nck", _cells(x.reshape(-1, 1, SIDE, SIDE)), templates)
    return r.reshape(*lead, len(CLASS_NAMES), N_CELLS)


def _winner(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(best response, class, cell)`` of each image."""
    r = responses(x)
    best = r.flatten(-2).max(-1)
    return best.values, best.indices // N_CELLS, best.indices % N_CELLS


def patch_score(x: Tensor) -> Tensor:
    return _winner(x)[0]


def patch_label(x: Tensor) -> Tensor:
    return _winner(x)[1]


def patch_mask(x: Tensor, baseline: Tensor) -> Tensor:
    cell = _winner(x)[2].reshape(-1)
    mask = torch.nn.functional.one_hot(cell, N_CELLS).to(x.dtype)[:, :, None, None].expand(-1, -1, CELL, CELL)
    return _uncells(mask).reshape(x.shape)


def generate(n: int = N_IMAGES, seed: int = DATA_SEED) -> tuple[Tensor, Tensor, Tensor]:
    """``(images (n, 1, 16, 16) float64, labels (n,), class-patch cells (n,))``."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % len(CLASS_NAMES)
    cell = torch.randint(N_CELLS, (n,), generator=g)
    decoy = (cell + torch.randint(1, N_CELLS, (n,), generator=g)) % N_CELLS
    background = BACKGROUND_MEAN + BACKGROUND_STD * torch.randn(n, 1, SIDE, SIDE, generator=g, dtype=torch.float64)
    cells = _cells(background)
    rows = torch.arange(n)
    noise = PATCH_NOISE * torch.randn(2, n, CELL, CELL, generator=g, dtype=torch.float64)
    cells[rows, cell] = patterns()[labels] + noise[0]
    cells[rows, decoy] = 1.0 + noise[1]
    return _uncells(cells).clamp(0.0, 1.0), labels, cell


DESCRIPTION = "synthetic: 1x16x16 images, class (4) set by a planted 4x4 pattern + a bright decoy; true 0/1 mask"


@register_dataset("synthetic_patch", kind="image", description=DESCRIPTION)
def load_synthetic_patch(data_dir: Path) -> Dataset:
    images, labels, cell = generate()
    if not torch.equal(patch_label(images), labels) or not torch.equal(_winner(images)[2], cell):
        raise DatasetError("synthetic_patch: the oracle misses a planted patch; lower the noise levels in this module")
    x_train, y_train, x_test, y_test = split_rows(images.float(), labels, TEST_FRACTION)
    oracle = Oracle(score=patch_score, attributions=patch_mask, signed=False, label=patch_label,
                    description="matched filter: score = best template response; mask = its 4x4 cell")
    return Dataset(
        name="synthetic_patch", version=VERSION, kind="image",
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, n_classes=len(CLASS_NAMES),
        feature_names=pixel_names(1, SIDE, SIDE), groups=patch_groups(1, SIDE, SIDE, CELL),
        group_names=tuple(f"cell_{k}" for k in range(N_CELLS)), oracle=oracle, description=DESCRIPTION,
        meta={"class_names": CLASS_NAMES, "cell": CELL},
    )
