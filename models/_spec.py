"""What every zoo model shares: the shipped-weights folder and seeded construction."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from xaibench.dataset import Dataset
from xaibench.model import ModelSpec

from ._nets import seeded

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class ZooModel(ModelSpec):
    """Base of the built-in models: weights shipped in ``models/weights``; ``build`` is seeded.

    Subclasses implement :meth:`architecture` (parameters drawn from the global torch RNG);
    :meth:`build` runs it with the RNG seeded by ``seed`` (and the caller's RNG state restored),
    so two seeds give two different initialisations — which ``Task.randomized`` relies on.
    """

    weights_dir = WEIGHTS_DIR

    def architecture(self, dataset: Dataset) -> nn.Module:
        raise NotImplementedError

    def build(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        with seeded(seed):
            return self.architecture(dataset)
