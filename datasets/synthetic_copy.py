"""``synthetic_copy``: token sequences whose next token copies the token after a marker.

Generation (version ``1``; 5,000 sequences, one CPU generator seeded 0; 20 % test split,
stratified by the next token, seed 0):

* vocabulary ``V = 10``: content tokens ``0..8`` and the **marker** ``9``;
* length ``L = 12``: every position holds a uniform content token, then one position
  ``p ~ U{0, ..., L-2}`` is overwritten by the marker;
* the label (the next token, position ``L``) is the token right after the marker, ``x[p + 1]``:
  the sequence model must find the marker and copy its successor from up to 11 steps back;
* inputs are one-hot ``(L, V)`` float32; the feature groups are the positions (12 groups of
  ``V`` features) and the baseline is all zeros (every position "absent"). ``n_classes = V``
  (the marker is never a label, but a language model predicts over the whole vocabulary).

Oracle (defined for any one-hot-like input: the marker position is the first position with the
largest marker indicator, the copied token the largest content indicator after it):

* ``label(x)``: the copied token (equals ``y`` on every generated sequence);
* ``score(x) = x[p, marker] · x[p + 1, label(x)]``: 1 on a well-formed sequence, 0 once the marker
  or the copied token is removed. Its baseline Shapley values from the zero baseline give ½ to
  each of the two positions, the only ones that matter;
* ``attributions(x, b)``: the 0/1 mask of **both** the marker position and the copied position,
  every feature of the two rows (``signed=False``; ``b`` ignored). Both are necessary to produce
  the answer: without the marker the copied token is indistinguishable from the others. Metrics
  comparing per-feature attributions with this mask should total them per position (group) first,
  since one-hot inputs make the inactive entries of a relevant row zero for ``input × gradient``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from xaibench.dataset import Dataset, Oracle, register_dataset
from xaibench.errors import DatasetError

from ._split import split_rows

VERSION = "1"
LENGTH, VOCAB = 12, 10
MARKER = VOCAB - 1
N_SEQUENCES = 5_000
TEST_FRACTION = 0.2
DATA_SEED = 0


def generate(n: int = N_SEQUENCES, seed: int = DATA_SEED) -> tuple[Tensor, Tensor, Tensor]:
    """``(tokens (n, L) long, next tokens (n,), marker positions (n,))``."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(MARKER, (n, LENGTH), generator=g)
    marker = torch.randint(LENGTH - 1, (n,), generator=g)
    rows = torch.arange(n)
    tokens[rows, marker] = MARKER
    return tokens, tokens[rows, marker + 1], marker


def _positions(x: Tensor) -> tuple[Tensor, Tensor]:
    """Marker position ``p`` and copied position ``p + 1`` (clamped to the last) of ``(..., L, V)``."""
    p = x[..., MARKER].argmax(-1)
    return p, (p + 1).clamp(max=x.shape[-2] - 1)


def _row(x: Tensor, position: Tensor) -> Tensor:
    """``(..., L, V)`` → ``(..., V)``: the row at ``position`` of each sequence."""
    index = position[..., None, None].expand(*position.shape, 1, x.shape[-1])
    return x.gather(-2, index).squeeze(-2)


def copy_label(x: Tensor) -> Tensor:
    return _row(x, _positions(x)[1])[..., :MARKER].argmax(-1)


def copy_score(x: Tensor) -> Tensor:
    p, q = _positions(x)
    copied = _row(x, q)
    label = copied[..., :MARKER].argmax(-1, keepdim=True)
    return _row(x, p)[..., MARKER] * copied.gather(-1, label).squeeze(-1)


def copy_mask(x: Tensor, baseline: Tensor) -> Tensor:
    p, q = _positions(x)
    positions = torch.arange(x.shape[-2], device=x.device)
    relevant = (positions == p[..., None]) | (positions == q[..., None])
    return relevant[..., None].expand(x.shape).to(x.dtype)


DESCRIPTION = "synthetic: one-hot sequences (L=12, V=10), next token copies the token after a marker; true positions"


@register_dataset("synthetic_copy", kind="sequence", description=DESCRIPTION)
def load_synthetic_copy(data_dir: Path) -> Dataset:
    tokens, labels, _ = generate()
    x = torch.nn.functional.one_hot(tokens, VOCAB).float()
    if not torch.equal(copy_label(x), labels):
        raise DatasetError("synthetic_copy: the oracle does not reproduce the copy rule")
    x_train, y_train, x_test, y_test = split_rows(x, labels, TEST_FRACTION)
    oracle = Oracle(score=copy_score, attributions=copy_mask, signed=False, label=copy_label,
                    description="copied token after the marker; mask = marker and copied positions")
    return Dataset(
        name="synthetic_copy", version=VERSION, kind="sequence",
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, n_classes=VOCAB,
        feature_names=tuple(f"t{t}={v}" for t in range(LENGTH) for v in range(VOCAB)),
        groups=torch.arange(LENGTH)[:, None].expand(LENGTH, VOCAB).clone(),
        group_names=tuple(f"position_{t}" for t in range(LENGTH)), oracle=oracle, description=DESCRIPTION,
        meta={"marker_token": MARKER, "length": LENGTH, "vocab": VOCAB},
    )
