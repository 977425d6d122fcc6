"""Speed of ``integrated_gradients`` against captum's and against its floor.

The floor is the bare batched forward + backward pass over the same ``N × n_steps`` path points
(built beforehand): what any implementation of the method must spend. Both implementations use
the same rule (Gauss–Legendre, captum's default), steps, instances, baseline and target.

Run ``python -m xaibench.perf.gradients [--device cuda]`` to print the table.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch import Tensor

from xaibench.errors import XaiBenchError
from xaibench.perf import checked_device
from xaibench.perf.floors import prepared_pass
from xaibench.perf.timing import Comparison, interleaved_medians
from xaibench.task import Task

N_INSTANCES = 100
N_STEPS = 50


def benchmark_task(device: str = "cpu") -> Task:
    """The zoo's MLP on breast_cancer (logit of the predicted class), or, if the zoo cannot
    provide it, a fixed random 30-64-64-2 ReLU MLP of the same size on standard-normal inputs."""
    try:
        from xaibench.tasks import load_task  # noqa: PLC0415

        return load_task("breast_cancer", "mlp", "logit", device=device, n_instances=N_INSTANCES)
    except XaiBenchError:  # the zoo has no such model (yet): use the stand-in network
        return random_mlp_task(device)


def random_mlp_task(device: str = "cpu", n_features: int = 30) -> Task:
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(n_features, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                              torch.nn.ReLU(), torch.nn.Linear(64, 2))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5)
    net = net.to(device).eval().requires_grad_(False)
    inputs = torch.randn(N_INSTANCES, n_features, generator=g).to(device)
    background = torch.randn(100, n_features, generator=g).to(device)
    return Task(
        dataset="random_30", model="mlp_30_64_64_2", target="logit",
        f=lambda x, s: net(x).gather(1, s[:, None]).squeeze(1), inputs=inputs, background=background,
        baseline=background.mean(0), kind="tabular", select=lambda x: net(x).argmax(1),
        label_fn=lambda x: net(x).argmax(1),
    )


def floor_pass(task: Task, x: Tensor, n_steps: int) -> Callable[[], Tensor]:
    """The bare forward + backward passes over ``N × n_steps`` prepared path points, chunked as the method's."""
    from xaibench.methods.integrated_gradients import path_points, quadrature  # noqa: PLC0415

    alphas, _ = quadrature("gausslegendre", n_steps)
    _, points = path_points(x, task.baseline, alphas.to(device=x.device, dtype=x.dtype))
    return prepared_pass(task, x, points, backward=True)


def captum_pass(task: Task, x: Tensor, n_steps: int) -> Callable[[], Tensor]:
    """captum's IntegratedGradients on the same target: its path rows are step-major, row ``r`` is instance ``r mod N``."""
    from captum.attr import IntegratedGradients  # noqa: PLC0415

    with torch.no_grad():
        selector = task.select(x)
    ig = IntegratedGradients(lambda z: task.f(z, selector.repeat(z.shape[0] // len(selector))))
    baselines = task.baseline.expand_as(x)
    return lambda: ig.attribute(x, baselines=baselines, n_steps=n_steps, method="gausslegendre")


def compare(device: str = "cpu", *, n_steps: int = N_STEPS, repeats: int = 21) -> Comparison:
    """Floor, ours and captum's timed in alternation (:func:`~xaibench.perf.timing.interleaved_medians`):
    each pass takes milliseconds, so drifting load would otherwise swamp the ratios."""
    from xaibench.method import get_method  # noqa: PLC0415

    task = benchmark_task(device)
    x = task.inputs[:N_INSTANCES]
    ours = get_method("integrated_gradients", n_steps=n_steps)
    fns = {"floor": floor_pass(task, x, n_steps), "ours": lambda: ours.explain(task, x)}
    try:
        fns["captum"] = captum_pass(task, x, n_steps)
    except ImportError:
        pass
    times = interleaved_medians(fns, repeats=repeats, device=device)
    table = Comparison(
        title=f"integrated_gradients: {task.name}, {len(x)} instances × {n_steps} Gauss–Legendre steps, {device}",
        floor_name=f"forward+backward over {len(x) * n_steps} points",
        floor_seconds=times["floor"],
    )
    table.add("xaibench integrated_gradients", times["ours"], "timed alternately with the floor")
    if "captum" not in fns:
        table.add("captum IntegratedGradients", float("nan"), "captum not installed")
        return table
    gap = (ours.explain(task, x) - fns["captum"]()).abs().max() / ours.explain(task, x).abs().max()
    table.add("captum IntegratedGradients", times["captum"], f"max |φ − φ_captum| / max |φ| = {float(gap):.1e}")
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m xaibench.perf.gradients", description=__doc__)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    args.device = checked_device(parser.prog, args.device)
    print(compare(args.device).table())


if __name__ == "__main__":
    main()
