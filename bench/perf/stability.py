"""Speed of the stability metrics against Quantus, each against its floor.

``python -m xaibench.perf.stability [--device cpu|cuda]``. On 100 MNIST-size images (1×28×28) and
a small CNN (:func:`xaibench.perf.faithfulness.benchmark_task`: the zoo's ``mnist_5k``/``cnn``/``logit``
when available, else a fixed random-init CNN), explained by ``saliency`` (|∂f/∂x| of the predicted
logit), with K = 10 neighbours per image, it times side by side in one process:

* ``max_sensitivity`` (U[−0.02, 0.02] noise) against Quantus ``MaxSensitivity``;
* ``local_lipschitz`` (N(0, 0.1²) noise) against Quantus ``LocalLipschitzEstimate``;
* ``ris`` (U[−0.02, 0.02] noise, label-preserving) against Quantus ``RelativeInputStability``;

each against its **floor** (floor and metric timed in alternation, 7 rounds, medians): the bare
batched re-explanation of the ``N·K`` prepared neighbours (one ``saliency`` call, the explained
outputs selected beforehand), plus, for ``ris``, the decisions ``label_fn`` on the neighbours and
the instances. Quantus gets the same settings, the same attributions, the same explanation (the
gradient of the task's target for the class predicted at the instance; the module for its label
checks) and **our** noise through its ``perturb_func``, so the note column reports the largest
relative difference of the values.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch
from torch import Tensor

from xaibench.metrics._perturb import PinnedSelect
from xaibench.perf import checked_device
from xaibench.perf.faithfulness import benchmark_task
from xaibench.perf.timing import Comparison, interleaved_medians, median_seconds
from xaibench.task import Task

N_SAMPLES = 10
SETTINGS = {  # our metric → its noise parameters and the Quantus class it is compared with
    "max_sensitivity": ({"noise": "uniform", "scale": 0.02}, "MaxSensitivity"),
    "local_lipschitz": ({"noise": "gaussian", "scale": 0.1}, "LocalLipschitzEstimate"),
    "ris": ({"noise": "uniform", "scale": 0.02}, "RelativeInputStability"),
}


def quantus_saliency(task: Task):
    """Quantus ``explain_func``: |∂f(x, target)/∂x| of the task's target (what our ``saliency`` computes)."""

    def explain(model, inputs, targets, device=None, **_):
        x = torch.as_tensor(inputs, device=device).requires_grad_(True)
        with torch.enable_grad():
            out = task.f(x, torch.as_tensor(targets, device=x.device).long()).sum()
            return torch.autograd.grad(out, x)[0].abs().cpu().numpy()

    return explain


def quantus_noise(noise: np.ndarray):
    """A Quantus ``perturb_func`` that adds our k-th shared draw at its k-th call per batch."""
    calls = [0]

    def perturb(arr, indices, **_):
        k = calls[0] % len(noise)
        calls[0] += 1
        return arr + noise[k].reshape(1, -1)

    return perturb


def floor_pass(task: Task, method, z: Tensor, *, decisions: bool):
    """The bare work of a stability metric: one batched re-explanation of the prepared neighbours
    ``z`` ``(N, K, *F)`` for the outputs selected at the instances (computed beforehand), and, for
    label-preserving metrics, the decisions on the neighbours and on the instances."""
    flat = z.reshape(-1, *z.shape[2:])
    with torch.no_grad():
        pinned = task.select(task.inputs).repeat_interleave(z.shape[1])
    bare = dataclasses.replace(task, select=PinnedSelect(task.select, flat, pinned))  # free for row slices

    def run():
        method.explain(bare, flat, seed=0)
        if decisions:
            with torch.no_grad():
                task.label_fn(flat), task.label_fn(task.inputs)

    return run


def compare(device: str = "cpu") -> list[Comparison]:
    import quantus  # noqa: PLC0415

    from xaibench.method import get_method  # noqa: PLC0415
    from xaibench.metric import get_metric  # noqa: PLC0415

    task, module, what = benchmark_task(device)
    x = task.inputs
    method = get_method("saliency")
    phi = method.explain(task, x, seed=0)
    x_np, phi_np, y_np = x.cpu().numpy(), phi.cpu().numpy(), task.select(x).cpu().numpy()
    tables = []
    for name, (params, reference) in SETTINGS.items():
        ours = get_metric(name, n_samples=N_SAMPLES, **params)
        noise = ours.neighbourhood_noise(x, 0)
        theirs = getattr(quantus, reference)(nr_samples=N_SAMPLES, perturb_func=quantus_noise(noise.cpu().numpy()),
                                             abs=False, normalise=False, disable_warnings=True)
        run_q = lambda theirs=theirs: np.asarray(theirs(  # noqa: E731
            model=module, x_batch=x_np, y_batch=y_np, a_batch=phi_np, explain_func=quantus_saliency(task),
            device=str(device), batch_size=64), dtype=np.float64)
        values = ours(task, x, phi, method, seed=0).cpu().numpy().astype(np.float64)
        reference_values = run_q()
        defined = np.isfinite(reference_values)  # Quantus' RIS is NaN where any neighbour changes the label
        agreement = float(np.max(np.abs(values[defined] - reference_values[defined]) / np.abs(reference_values[defined])))
        floor = floor_pass(task, method, x.unsqueeze(1) + noise, decisions=name == "ris")
        times = interleaved_medians({"floor": floor, "ours": lambda ours=ours: ours(task, x, phi, method, seed=0)}, device=device)
        floor_s, ours_s = times["floor"], times["ours"]
        table = Comparison(
            f"{name} vs Quantus {reference}, {len(x)} images 1x28x28, K={N_SAMPLES}, saliency ({what}, {device})",
            f"{len(x) * N_SAMPLES} re-explanations" + (" + decisions" if name == "ris" else ""), floor_s,
        )
        table.add(f"xaibench {name}", ours_s, f"max rel. diff to Quantus {agreement:.1e} on {int(defined.sum())}/{len(x)} instances")
        table.add(f"Quantus {reference}", median_seconds(run_q, repeats=3, device=device), "same noise, same explanation")
        tables.append(table)
    return tables


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m xaibench.perf.stability", description=__doc__)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    args.device = checked_device(parser.prog, args.device)
    for table in compare(args.device):
        print(table.table() + "\n", flush=True)


if __name__ == "__main__":
    main()
