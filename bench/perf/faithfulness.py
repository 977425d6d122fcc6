"""Speed of the faithfulness metrics against Quantus, each against its floor.

``python -m xaibench.perf.faithfulness [--device cpu|cuda]``. On 100 MNIST-size images
(1×28×28) and a small CNN — the zoo's ``mnist_5k``/``cnn``/``logit`` task when it is available,
else a fixed randomly initialised CNN of the same shape on the ``mnist_5k`` test images (or
seeded random images when the dataset is not registered) — it times, side by side in one process:

* ``faithfulness_correlation`` (100 runs, |S| = 224 pixels, Quantus' "black" baseline) against
  Quantus ``FaithfulnessCorrelation`` with the same settings;
* ``deletion_auc`` (28 steps of 28 pixels, "black") against Quantus ``PixelFlipping``
  (``features_in_step=28``);

each against its **floor**: the bare batched forward passes the metric needs (``N·(R+1)`` rows for
the correlation, ``N·(S+1)`` for the deletion curve), in chunks of ``task.max_batch`` rows. The
note column gives the largest relative difference from Quantus on identical subsets (Quantus'
subset draw replaced by ours) and on the same curve.
"""

from __future__ import annotations

import argparse
import dataclasses
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor, nn

from xaibench.perf.timing import Comparison, median_seconds
from xaibench.task import Task

N_INSTANCES = 100
NR_RUNS, SUBSET_SIZE = 100, 224
STEP_PIXELS = 28


def small_cnn(channels: int = 1, side: int = 28, n_classes: int = 10, seed: int = 0) -> nn.Module:
    """A fixed, randomly initialised LeNet-style CNN: conv(8, 3×3) → ReLU → max-pool 2 → conv(16) → ReLU → linear."""
    torch.manual_seed(seed)  # nn init draws from the global generator; keep it reproducible
    inner = (side // 2 - 2) ** 2 * 16
    net = nn.Sequential(
        nn.Conv2d(channels, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(inner, n_classes),
    )
    return net.eval().requires_grad_(False)


def module_task(module: nn.Module, inputs: Tensor, *, baseline: Tensor | None = None, name: str = "toy_cnn") -> Task:
    """Explain the logit of the class ``module`` predicts at each instance (image task, pixel players)."""
    baseline = torch.zeros_like(inputs[0]) if baseline is None else baseline
    return Task(
        dataset=name, model="cnn", target="logit", inputs=inputs, background=inputs[:8], baseline=baseline,
        kind="image", f=lambda x, s: module(x).gather(1, s[:, None]).squeeze(1),
        select=lambda x: module(x).argmax(1), label_fn=lambda x: module(x).argmax(1),
    )


def benchmark_task(device: str = "cpu") -> tuple[Task, nn.Module, str]:
    """The task timed here (pixel players), its network, and a line saying which it is."""
    from xaibench.errors import XaiBenchError  # noqa: PLC0415

    try:
        from xaibench.tasks import load_task  # noqa: PLC0415

        task = load_task("mnist_5k", "cnn", "logit", device=device, n_instances=N_INSTANCES)
        module = _module_of(task)
        if module is not None:
            return dataclasses.replace(task, groups=None), module, "zoo task mnist_5k/cnn/logit (pixel players)"
    except (XaiBenchError, ImportError):
        pass
    try:
        from xaibench.dataset import load_dataset  # noqa: PLC0415

        images, source = load_dataset("mnist_5k").x_test[:N_INSTANCES].float(), "mnist_5k test images"
    except (XaiBenchError, ImportError):
        images = torch.rand(N_INSTANCES, 1, 28, 28, generator=torch.Generator().manual_seed(0))
        source = "seeded random images"
    module = small_cnn().to(device)
    return module_task(module, images.to(device)), module, f"fixed random-init CNN on {source}"


def _module_of(task: Task) -> nn.Module | None:
    """The ``nn.Module`` behind a zoo task's target, if its closure holds one (Quantus needs the module)."""
    for cell in getattr(task.f, "__closure__", None) or ():
        if isinstance(cell.cell_contents, nn.Module):
            return cell.cell_contents
    return None


@contextmanager
def quantus_subsets(subsets: np.ndarray, batch_size: int):
    """Make Quantus' ``np.random.choice`` return ``subsets[r]`` for every instance of run ``r``."""
    original, calls = np.random.choice, [0]

    def choice(n, size=None, replace=True, p=None):
        run = calls[0] // batch_size
        calls[0] += 1
        return subsets[run].copy()

    np.random.choice = choice
    try:
        yield
    finally:
        np.random.choice = original


def _floor(task: Task, x: Tensor, rows_per_instance: int) -> float:
    """Median time of the bare forward passes over ``N · rows_per_instance`` rows, ``max_batch`` at a time."""
    z = x.repeat_interleave(rows_per_instance, 0)
    sel = task.select(x).repeat_interleave(rows_per_instance, 0)
    step = task.max_batch

    def run():
        with torch.no_grad():
            for i in range(0, z.shape[0], step):
                task.f(z[i : i + step], sel[i : i + step])

    return median_seconds(run, device=x.device)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def compare(device: str = "cpu") -> list[Comparison]:
    import quantus  # noqa: PLC0415
    from xaibench.metric import get_metric  # noqa: PLC0415
    from xaibench.metrics.deletion import removal_curves  # noqa: PLC0415

    task, module, what = benchmark_task(device)
    x = task.inputs
    x_np = x.cpu().numpy()
    y_np = task.select(x).cpu().numpy()
    _, grads = task.bind(x).value_and_grad(x)
    phi = grads.detach()  # the gradient (saliency, signed): a real attribution without ties
    phi_np = phi.cpu().numpy()
    quantus_device = str(device)
    tables = []

    # faithfulness correlation ----------------------------------------------------------------
    ours = get_metric("faithfulness_correlation", nr_runs=NR_RUNS, subset_size=SUBSET_SIZE, baseline="min")
    theirs = quantus.FaithfulnessCorrelation(nr_runs=NR_RUNS, subset_size=SUBSET_SIZE, perturb_baseline="black",
                                             return_aggregate=False, disable_warnings=True)
    run_q = lambda: theirs(model=module, x_batch=x_np, y_batch=y_np, a_batch=phi_np, device=quantus_device,  # noqa: E731
                           batch_size=N_INSTANCES)
    subsets = ours.subsets(task, 0)
    with quantus_subsets(subsets.topk(SUBSET_SIZE, -1).indices.cpu().numpy(), N_INSTANCES):
        agreement = _rel(ours.score(task, x, phi, subsets).cpu().numpy().astype(np.float64), np.asarray(run_q(), dtype=np.float64))
    table = Comparison(f"faithfulness_correlation, {N_INSTANCES} images 1x28x28, {NR_RUNS} runs ({what}, {device})",
                       f"{N_INSTANCES * (NR_RUNS + 1)} forward rows", _floor(task, x, NR_RUNS + 1))
    table.add("xaibench faithfulness_correlation", median_seconds(lambda: ours(task, x, phi, None, seed=0), device=device),
              f"max rel. diff to Quantus on the same subsets {agreement:.1e}")
    table.add("Quantus FaithfulnessCorrelation", median_seconds(run_q, repeats=3, device=device), "own random subsets")
    tables.append(table)

    # deletion curve (pixel flipping) ---------------------------------------------------------
    n_steps = task.n_features // STEP_PIXELS
    ours = get_metric("deletion_auc", n_steps=n_steps, baseline="min")
    curves = removal_curves(task, x, phi, n_steps=n_steps, baseline="min")
    oriented = phi_np * curves.sign.cpu().numpy().reshape(-1, 1, 1, 1)  # Quantus ranks by φ; we by sign(Δf)·φ
    flipping = quantus.PixelFlipping(features_in_step=STEP_PIXELS, perturb_baseline="black", disable_warnings=True)
    run_q = lambda: flipping(model=module, x_batch=x_np, y_batch=y_np, a_batch=oriented, softmax=False,  # noqa: E731
                             device=quantus_device, batch_size=N_INSTANCES)
    agreement = _rel(curves.values[:, 0, 1:].cpu().numpy().astype(np.float64), np.asarray(run_q(), dtype=np.float64))
    table = Comparison(f"deletion_auc vs PixelFlipping, {N_INSTANCES} images 1x28x28, {n_steps} steps of {STEP_PIXELS} pixels "
                       f"({what}, {device})", f"{N_INSTANCES * (n_steps + 1)} forward rows", _floor(task, x, n_steps + 1))
    table.add("xaibench deletion_auc", median_seconds(lambda: ours(task, x, phi, None, seed=0), device=device),
              f"max rel. diff of the curve to Quantus {agreement:.1e}")
    table.add("Quantus PixelFlipping", median_seconds(run_q, repeats=3, device=device), f"{n_steps} forward batches")
    tables.append(table)
    return tables


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m xaibench.perf.faithfulness", description=__doc__)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    for table in compare(args.device):
        print(table.table() + "\n", flush=True)


if __name__ == "__main__":
    main()
