"""Speed of ``lime`` against the lime package and against its floor.

``python -m xaibench.perf.lime [--device cpu|cuda]`` (the same as ``python -m xaibench.perf lime``).
On the 30-feature MLP of :func:`xaibench.perf.gradients.benchmark_task` (the zoo's breast_cancer
``mlp``/``logit`` when it is available, else a fixed random 30-64-64-2 MLP), 50 instances × 2,048
samples, tabular mode with lime's defaults (quartile discretizer, kernel width 0.75·√30,
Ridge(alpha=1), all features):

* **floor**: the bare batched forward passes over ``N × n_samples`` points (prepared beforehand,
  chunked at ``task.max_batch`` rows) — what a per-instance neighbourhood must spend;
* ``xaibench lime``: the whole method (sampling, encoding, kernel, batched ridge, and ``f``);
* ``lime package``: ``LimeTabularExplainer`` fitted once on the background, ``explain_instance``
  per row with the same conventions (``mode="regression"``, ``feature_selection="none"``,
  ``num_features=30``), the way lime users run it; its agreement with ours (mean Pearson of the
  coefficients) is in the note.

Our tabular neighbourhood is shared by the batch (common random numbers; see
:mod:`xaibench.methods.lime`), so ``f`` is evaluated once per distinct predicted class (``U``),
``U × n_samples`` rows instead of ``N × n_samples``; a row gives the time of those forward passes
alone, so the table shows both what the method costs and where the time goes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from xaibench.perf.floors import prepared_pass
from xaibench.perf.gradients import benchmark_task
from xaibench.perf.timing import Comparison, median_seconds
from xaibench.task import Task

N_INSTANCES = 50
N_SAMPLES = 2048


def floor_pass(task: Task, x: Tensor, n_samples: int):
    """The bare forward passes over ``N × n_samples`` prepared points (each instance's neighbourhood)."""
    g = torch.Generator(device=x.device).manual_seed(0)
    points = x.unsqueeze(1) + torch.randn(x.shape[0], n_samples, *task.feature_shape, generator=g, device=x.device, dtype=x.dtype)
    return prepared_pass(task, x, points, backward=False)


def distinct_pass(task: Task, x: Tensor, n_samples: int):
    """The forward passes ``lime`` actually needs: the shared points once per distinct selector, plus ``x``."""
    from xaibench.methods.lime import evaluate_per_selector  # noqa: PLC0415

    g = torch.Generator(device=x.device).manual_seed(0)
    points = torch.randn(n_samples - 1, *task.feature_shape, generator=g, device=x.device, dtype=x.dtype)
    bound = task.bind(x)

    def run() -> Tensor:
        with torch.no_grad():
            return evaluate_per_selector(bound, points)[0], bound(x)

    return run


def lime_package_pass(task: Task, x: Tensor, n_samples: int, seed: int = 0):
    """The lime package as its users run it: one explainer, ``explain_instance`` per row."""
    from lime.lime_tabular import LimeTabularExplainer  # noqa: PLC0415

    from xaibench.methods.lime import TABULAR_WIDTH_FACTOR  # noqa: PLC0415

    with torch.no_grad():
        selector = task.select(x)
    rows = x.reshape(x.shape[0], -1).double().cpu().numpy()
    background = task.background.reshape(task.background.shape[0], -1).double().cpu().numpy()
    d = rows.shape[1]

    def run() -> np.ndarray:
        explainer = LimeTabularExplainer(background, mode="regression", kernel_width=TABULAR_WIDTH_FACTOR * d**0.5,
                                         feature_selection="none", random_state=seed)
        out = np.zeros_like(rows)
        for n, row in enumerate(rows):
            def predict(a: np.ndarray, s=selector[n : n + 1]) -> np.ndarray:
                z = torch.as_tensor(a, dtype=x.dtype, device=x.device).reshape(-1, *task.feature_shape)
                with torch.no_grad():
                    return task.f(z, s.expand(z.shape[0])).double().cpu().numpy()

            for j, w in explainer.explain_instance(row, predict, num_features=d, num_samples=n_samples).local_exp[1]:
                out[n, j] = w
        return out

    return run


def compare(device: str = "cpu", *, n_instances: int = N_INSTANCES, n_samples: int = N_SAMPLES, repeats: int = 5) -> Comparison:
    from xaibench.method import get_method  # noqa: PLC0415
    from xaibench.tensorstats import pearson  # noqa: PLC0415

    task = benchmark_task(device)
    x = task.inputs[:n_instances]
    n_distinct = int(torch.unique(task.bind(x).selector).numel())
    ours = get_method("lime", n_samples=n_samples)
    table = Comparison(
        title=f"lime: {task.name}, {len(x)} instances × {n_samples} samples, {device}",
        floor_name=f"forward passes over {len(x) * n_samples} points",
        floor_seconds=median_seconds(floor_pass(task, x, n_samples), repeats=repeats, device=device),
    )
    table.add("xaibench lime", median_seconds(lambda: ours.explain(task, x, seed=0), repeats=repeats, device=device),
              f"f on {n_distinct} × {n_samples} shared points + the {len(x)} instances")
    table.add(f"of which: forward passes ({n_distinct} × {n_samples} + {len(x)} rows)",
              median_seconds(distinct_pass(task, x, n_samples), repeats=repeats, device=device))
    theirs = lime_package_pass(task, x, n_samples)
    agreement = pearson(ours.explain(task, x, seed=0).double().cpu(), torch.from_numpy(theirs())).mean()
    table.add("lime package (LimeTabularExplainer)", median_seconds(theirs, repeats=max(1, repeats // 2), warmup=0),
              f"mean Pearson with ours {float(agreement):.3f} (independent draws)")
    return table


if __name__ == "__main__":  # the shared entry point prints the device header, then this table
    import sys

    from xaibench.perf.__main__ import main

    sys.exit(main(["lime", *sys.argv[1:]]))
