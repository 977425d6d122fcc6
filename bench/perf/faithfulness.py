"""Speed of the faithfulness metrics against Quantus, each against its floor.

``python -m xaibench.perf.faithfulness [--device cpu|cuda] [--output FILE]`` (or the section
``faithfulness`` of ``python -m xaibench.perf``). On 100 MNIST-size images
(1×28×28) and a small CNN (the zoo's ``cnn`` trained on ``mnist_5k`` when available, see
:func:`benchmark_task`) it times, side by side in one process:

* ``faithfulness_correlation`` (100 runs, |S| = 224 pixels, Quantus' "black" baseline) against
  Quantus ``FaithfulnessCorrelation`` with the same settings;
* ``deletion_auc`` (28 steps of 28 pixels, "black") against Quantus ``PixelFlipping``
  (``features_in_step=28``);

each against its **floor**: the bare batched forward passes the metric needs (``N·(R+1)`` rows for
the correlation, ``N·(S+1)`` for the deletion curve) at the fastest of a few batch sizes, timed
in alternation with the metric and Quantus (medians of 5 rounds) so that load drifts hit all alike. The
note column gives the largest relative difference from Quantus on identical subsets (Quantus'
subset draw replaced by ours) and on the same curve.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor, nn

from xaibench.perf.timing import Comparison, interleaved_medians, median_seconds
from xaibench.task import Task

N_INSTANCES = 100
NR_RUNS, SUBSET_SIZE = 100, 224
STEP_PIXELS = 28


def small_cnn(channels: int = 1, side: int = 28, n_classes: int = 10, seed: int = 0) -> nn.Module:
    """A fixed, randomly initialised LeNet-style CNN: conv(8, 3×3), ReLU, max-pool 2, conv(16), ReLU, linear."""
    inner = (side // 2 - 2) ** 2 * 16
    with torch.random.fork_rng(devices=[]):  # nn init draws from the global generator: seed it, then restore it
        torch.manual_seed(seed)
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
    """The task timed here (pixel players, raw logit of the predicted class), its network, and what it is.

    The zoo's ``cnn`` trained on ``mnist_5k`` when the zoo offers it (trained on first use when no
    weights are shipped or cached), else :func:`small_cnn`. Either way the target is the network's
    raw logit of the predicted class, which is what Quantus scores with ``softmax=False`` (the zoo's
    ``logit`` target is a log-odds), so that both sides evaluate the same numbers.
    """
    from xaibench.errors import XaiBenchError  # noqa: PLC0415

    try:
        from xaibench.dataset import load_dataset  # noqa: PLC0415

        data = load_dataset("mnist_5k")
        images, source = data.x_test[:N_INSTANCES].float(), "mnist_5k test images"
    except (XaiBenchError, ImportError):
        data, images = None, torch.rand(N_INSTANCES, 1, 28, 28, generator=torch.Generator().manual_seed(0))
        source = "seeded random images"
    try:
        from xaibench.registries import models  # noqa: PLC0415
        from xaibench.weights import load_model  # noqa: PLC0415

        if data is None:
            raise ImportError("no mnist_5k")
        module, what = load_model(models.get("cnn")(), data).module, f"zoo cnn on {source}"
    except (XaiBenchError, ImportError):
        module, what = small_cnn(), f"fixed random-init CNN on {source}"
    module = module.to(device).eval().requires_grad_(False)
    return module_task(module, images.to(device)), module, what


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


def benchmark_attributions(task: Task) -> Tensor:
    """The gradient of the target (saliency, signed): a real attribution, without ties."""
    _, grads = task.bind(task.inputs).value_and_grad(task.inputs)
    return grads.detach()


def floor_pass(task: Task, x: Tensor, rows_per_instance: int, batch: int | None = None):
    """The bare forward passes over ``N · rows_per_instance`` rows, ``batch`` (``max_batch``) at a time (a callable)."""
    z = x.repeat_interleave(rows_per_instance, 0)
    sel = task.select(x).repeat_interleave(rows_per_instance, 0)
    step = batch or task.max_batch

    def run():
        with torch.no_grad():
            for i in range(0, z.shape[0], step):
                task.f(z[i : i + step], sel[i : i + step])

    return run


def best_floor(task: Task, x: Tensor, rows_per_instance: int, *, device: str = "cpu") -> tuple[int, object]:
    """The fastest bare forward passes: :func:`floor_pass` at the best of a few batch sizes.

    Batch size matters on a CPU (cache-sized batches can be several times faster than
    ``max_batch`` ones), so the floor is the best of 64 … 2,048 rows and ``max_batch``, each timed
    three times; returns the batch size and the callable.
    """
    sizes = sorted({64, 128, 256, 512, 1024, 2048, task.max_batch})
    runs = {b: floor_pass(task, x, rows_per_instance, b) for b in sizes}
    best = min(sizes, key=lambda b: median_seconds(runs[b], repeats=3, device=device))
    return best, runs[best]


def quantus_correlation_pass(module: nn.Module, task: Task, x: Tensor, phi: Tensor):
    """Quantus ``FaithfulnessCorrelation`` with this module's settings, as a callable returning its scores."""
    import quantus  # noqa: PLC0415

    metric = quantus.FaithfulnessCorrelation(nr_runs=NR_RUNS, subset_size=SUBSET_SIZE, perturb_baseline="black",
                                             return_aggregate=False, disable_warnings=True)
    args = dict(model=module, x_batch=x.cpu().numpy(), y_batch=task.select(x).cpu().numpy(), a_batch=phi.cpu().numpy(),
                device=str(x.device), batch_size=len(x))
    return lambda: np.asarray(metric(**args), dtype=np.float64)


def quantus_flipping_pass(module: nn.Module, task: Task, x: Tensor, phi: Tensor):
    """Quantus ``PixelFlipping`` (``features_in_step=28``, "black", logits), as a callable returning the curves."""
    import quantus  # noqa: PLC0415

    metric = quantus.PixelFlipping(features_in_step=STEP_PIXELS, perturb_baseline="black", disable_warnings=True)
    args = dict(model=module, x_batch=x.cpu().numpy(), y_batch=task.select(x).cpu().numpy(), a_batch=phi.cpu().numpy(),
                softmax=False, device=str(x.device), batch_size=len(x))
    return lambda: np.asarray(metric(**args), dtype=np.float64)


def our_correlation():
    from xaibench.metric import get_metric  # noqa: PLC0415

    return get_metric("faithfulness_correlation", nr_runs=NR_RUNS, subset_size=SUBSET_SIZE, baseline="min")


def our_deletion(task: Task):
    from xaibench.metric import get_metric  # noqa: PLC0415

    return get_metric("deletion_auc", n_steps=task.n_features // STEP_PIXELS, baseline="min")


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def compare(device: str = "cpu", *, repeats: int = 5) -> list[Comparison]:
    from xaibench.metrics.deletion import removal_curves  # noqa: PLC0415

    task, module, what = benchmark_task(device)
    x = task.inputs
    phi = benchmark_attributions(task)
    n = len(x)

    ours = our_correlation()
    run_q = quantus_correlation_pass(module, task, x, phi)
    subsets = ours.subsets(task, 0)
    with quantus_subsets(subsets.topk(SUBSET_SIZE, -1).indices.cpu().numpy(), n):
        agreement = _rel(ours.score(task, x, phi, subsets).cpu().double().numpy(), run_q())
    batch, floor = best_floor(task, x, NR_RUNS + 1, device=device)
    times = interleaved_medians({"floor": floor, "ours": lambda: ours(task, x, phi, None, seed=0), "quantus": run_q},
                                repeats=repeats, device=device)
    correlation = Comparison(f"faithfulness_correlation, {n} images 1x28x28, {NR_RUNS} runs of {SUBSET_SIZE} pixels "
                             f"({what}, {device})", f"{n * (NR_RUNS + 1)} forward rows, {batch} a pass", times["floor"])
    correlation.add("xaibench faithfulness_correlation", times["ours"],
                    f"max rel. diff to Quantus on the same subsets {agreement:.1e}")
    correlation.add("Quantus FaithfulnessCorrelation", times["quantus"], "own random subsets")

    ours = our_deletion(task)
    n_steps = ours.n_steps
    curves = removal_curves(task, x, phi, n_steps=n_steps, baseline="min")
    oriented = phi * curves.sign.reshape(-1, 1, 1, 1)  # Quantus ranks by φ, we by sign(f(x) − f(x_S))·φ
    run_q = quantus_flipping_pass(module, task, x, oriented)
    agreement = _rel(curves.values[:, 0, 1:].cpu().double().numpy(), run_q())
    batch, floor = best_floor(task, x, n_steps + 1, device=device)
    times = interleaved_medians({"floor": floor, "ours": lambda: ours(task, x, phi, None, seed=0), "quantus": run_q},
                                repeats=repeats, device=device)
    deletion = Comparison(f"deletion_auc vs PixelFlipping, {n} images 1x28x28, {n_steps} steps of {STEP_PIXELS} pixels "
                          f"({what}, {device})", f"{n * (n_steps + 1)} forward rows, {batch} a pass", times["floor"])
    deletion.add("xaibench deletion_auc", times["ours"], f"max rel. diff of the curve to Quantus {agreement:.1e}")
    deletion.add("Quantus PixelFlipping", times["quantus"], f"{n_steps} forward batches of {n} rows")
    return [correlation, deletion]


if __name__ == "__main__":  # the shared perf command, this section only (it prints the device header)
    import sys

    from xaibench.perf.__main__ import main

    sys.exit(main(["faithfulness", *sys.argv[1:]]))
