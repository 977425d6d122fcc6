"""Character-level text datasets (data kind ``"text"``): one string split by position.

What a ``"text"`` :class:`~xaibench.dataset.Dataset` holds (language models rely on it):

* ``x_train`` / ``x_test``: ``(N, L)`` **long** character ids of context windows of ``L``
  characters, consecutive and non-overlapping (stride ``L``), and ``y_*``: ``(N,)`` the id of the
  character that follows each window. Test windows come in a seeded random order (seed 0), so the
  first rows a task explains are spread over the whole test part rather than one scene.
* ``meta["alphabet"]``: the vocabulary, one character per id (sorted code points of the whole text);
* ``meta["text"]``: the raw splits ``{"train", "validation", "test"}`` (strings), for models with
  their own tokeniser (Hugging Face) and for training on the full stream;
* ``meta["context"]``: ``L``.

The split is by position (the first ``train`` share of the characters, then ``validation``, then
``test``), never shuffled across the boundaries: held-out text is text the model has not seen.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from xaibench.dataset import Dataset

SPLIT_SEED = 0


def encode(text: str, alphabet: str) -> Tensor:
    """Character ids ``(len(text),)`` long over ``alphabet``."""
    codes = _code_points(text)
    table = torch.full((int(_code_points(alphabet).max()) + 2,), -1, dtype=torch.long)
    table[_code_points(alphabet)] = torch.arange(len(alphabet))
    ids = table[codes.clamp(max=len(table) - 1)]
    if (ids < 0).any():
        raise ValueError("the text has characters outside the alphabet")
    return ids


def _code_points(text: str) -> Tensor:
    return torch.from_numpy(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64))


def windows(ids: Tensor, length: int) -> tuple[Tensor, Tensor]:
    """Non-overlapping windows ``(N, length)`` at stride ``length`` and the id following each."""
    n = (len(ids) - 1) // length
    starts = torch.arange(n) * length
    return ids[starts[:, None] + torch.arange(length)], ids[starts + length]


def split_by_position(text: str, fractions: tuple[float, float, float]) -> dict[str, str]:
    """``{"train", "validation", "test"}`` consecutive parts of ``text`` with the given shares."""
    n_train = int(len(text) * fractions[0])
    n_val = int(len(text) * fractions[1])
    return {"train": text[:n_train], "validation": text[n_train : n_train + n_val], "test": text[n_train + n_val :]}


def char_text_dataset(name: str, version: str, text: str, *, context: int, fractions: tuple[float, float, float],
                      description: str, meta: dict | None = None) -> Dataset:
    """A ``"text"`` dataset (see the module docstring) of ``text`` with windows of ``context`` characters."""
    alphabet = "".join(sorted(set(text)))
    parts = split_by_position(text, fractions)
    x_train, y_train = windows(encode(parts["train"], alphabet), context)
    x_test, y_test = windows(encode(parts["test"], alphabet), context)
    order = torch.randperm(len(x_test), generator=torch.Generator().manual_seed(SPLIT_SEED))
    return Dataset(
        name=name, version=version, kind="text", x_train=x_train, y_train=y_train,
        x_test=x_test[order], y_test=y_test[order], n_classes=len(alphabet),
        feature_names=tuple(f"c{t}" for t in range(context)),
        groups=torch.arange(context), group_names=tuple(f"position_{t}" for t in range(context)),
        baseline=torch.zeros(context, dtype=torch.long), description=description,
        meta={"alphabet": alphabet, "text": parts, "context": context, **(meta or {})},
    )
