"""Noisy gradient x delta: SmoothGrad-style averaged gradient times (x - baseline).

The noise is drawn from the seed alone and shared by every row, so an instance's
attribution does not depend on its position in the batch (common random numbers).
"""
import dataclasses
from typing import ClassVar

import torch
import xaibench


@dataclasses.dataclass(frozen=True)
class NoisyGradXDelta(xaibench.Method):
    name: ClassVar[str] = "noisy_grad_x_delta"
    family: ClassVar[str] = "gradient"
    description: ClassVar[str] = "mean gradient over noised copies times (x - baseline)"
    stochastic: ClassVar[bool] = True
    n_samples: int = 8
    sigma: float = 0.1          # noise std, relative to the background's per-feature std

    def explain(self, task, x, *, seed=0):
        bound = task.bind(x)
        scale = self.sigma * task.background.std(0)             # (*F)
        gen = torch.Generator().manual_seed(seed)
        total = torch.zeros_like(x)
        for _ in range(self.n_samples):
            eps = torch.randn(x.shape[1:], generator=gen).to(x.device, x.dtype)
            _, grad = bound.value_and_grad(x + scale * eps)      # same noise for every row
            total = total + grad
        return total / self.n_samples * (x - task.baseline)
