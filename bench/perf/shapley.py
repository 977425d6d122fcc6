"""Speed of ``kernel_shap`` against shap's KernelExplainer, captum's KernelShap, and its floor.

``python -m xaibench.perf.shapley [--device cpu|cuda] [--threads N]``. On the 30-feature MLP of
:func:`xaibench.perf.gradients.benchmark_task` (the zoo's breast_cancer ``mlp``/``logit``, else a
fixed random 30-64-64-2 MLP), 50 instances × 2,048 coalitions each, two tables:

1. one reference row (``background="baseline"``: absent features take ``task.baseline``);
2. B = 10 background rows (``background="background"``: v(S) averages f over the B rows, as
   shap does — B model evaluations per coalition).

Rows of each table:

* **floor**: the bare batched forward passes over the N × 2,048 (× B) masked points, built
  beforehand and evaluated by the task's ``BoundTarget`` (chunks of ``task.max_batch`` rows) —
  what any implementation must spend;
* ``xaibench kernel_shap``: the whole method (design, masked inputs, forward passes, one solve);
* ``shap.KernelExplainer``: per instance, ``l1_reg=False`` (every feature estimated), same
  ``nsamples`` and reference rows, the model wrapped as a NumPy function;
* ``captum KernelShap``: per instance, captum's default ``perturbations_per_eval=1`` and all
  perturbations in one forward call; captum is timed on 2 instances and scaled linearly to 50
  (it is per instance), as the note says. With B rows captum explains the coalition game (see
  :class:`~xaibench.methods.reference_shap.CaptumKernelShap`) and only the batched variant is
  timed (one forward call per perturbation would take over an hour).

``kernel_shap`` (and ``permutation_shap`` at the same budget) are timed in alternation with the
floor (:func:`xaibench.perf.timing.interleaved_medians`), so that load drifts on a shared machine hit both alike.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

import torch
from torch import Tensor

from xaibench.method import get_method
from xaibench.methods._coalitions import reference_rows, shapley_kernel_design
from xaibench.perf import checked_device
from xaibench.perf.floors import prepared_pass
from xaibench.perf.gradients import benchmark_task
from xaibench.perf.timing import Comparison, interleaved_medians, median_seconds
from xaibench.rng import generator
from xaibench.task import Task

N_INSTANCES = 50
N_SAMPLES = 2048
N_BACKGROUND = 10
CAPTUM_INSTANCES = 2


def shapley_task(device: str = "cpu") -> Task:
    """The benchmark MLP with its first :data:`N_BACKGROUND` background rows."""
    task = benchmark_task(device)
    return dataclasses.replace(task, background=task.background[:N_BACKGROUND])


def floor_pass(task: Task, x: Tensor, background: str, n_samples: int = N_SAMPLES) -> Callable[[], Tensor]:
    """The bare forward passes over the ``N × n_samples × R`` masked points of a KernelSHAP design."""
    masks = task.players.expand(shapley_kernel_design(task.players.n, n_samples, generator(0)).coalitions.to(x.device))
    rows = reference_rows(task, background)
    points = torch.where(masks[None, :, None], x[:, None, None], rows[None, None]).reshape(x.shape[0], -1, *task.feature_shape)
    return prepared_pass(task, x, points, backward=False)


def compare(device: str = "cpu", *, n_instances: int = N_INSTANCES, n_samples: int = N_SAMPLES,
            repeats: int = 7, captum_instances: int = CAPTUM_INSTANCES) -> list[Comparison]:
    task = shapley_task(device)
    x = task.inputs[:n_instances]
    scale = len(x) / captum_instances
    tables = []
    for background, label in (("baseline", "one baseline row"), ("background", f"B = {N_BACKGROUND} background rows")):
        n_rows = 1 if background == "baseline" else N_BACKGROUND
        ours = {name: get_method(name, n_samples=n_samples, background=background)
                for name in ("kernel_shap", "permutation_shap")}
        fast = interleaved_medians({
            "floor": floor_pass(task, x, background, n_samples),
            **{name: (lambda m=m: m.explain(task, x)) for name, m in ours.items()},
        }, repeats=repeats, device=device)
        table = Comparison(
            title=f"kernel_shap, {label}: {task.name}, {len(x)} instances × {n_samples} coalitions, {device}",
            floor_name=f"forward passes over {len(x)} × {n_samples} × {n_rows} points",
            floor_seconds=fast["floor"],
        )
        table.add("xaibench kernel_shap", fast["kernel_shap"], "timed alternately with the floor")
        table.add("xaibench permutation_shap", fast["permutation_shap"], "same budget; alternately with the floor")
        shap = get_method("kernel_shap_ref", n_samples=n_samples, background=background)
        table.add("shap.KernelExplainer", median_seconds(lambda: shap.explain(task, x), repeats=max(1, repeats // 3)),
                  "l1_reg=False, per instance")
        ppes = ((1, "captum's default"), (n_samples, "all perturbations in one call"))
        for ppe, note in ppes if background == "baseline" else ppes[1:]:
            captum = get_method("captum_kernel_shap", n_samples=n_samples, background=background, perturbations_per_eval=ppe)
            seconds = median_seconds(lambda: captum.explain(task, x[:captum_instances]), repeats=1, warmup=0)
            table.add(f"captum KernelShap (perturbations_per_eval={ppe})", seconds * scale,
                      f"{note}; timed on {captum_instances} instances × {scale:g}")
        tables.append(table)
    return tables


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m xaibench.perf.shapley", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's); 1 steadies ratios on a busy machine")
    args = parser.parse_args(argv)
    args.device = checked_device(parser.prog, args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    for table in compare(args.device, repeats=args.repeats):
        print(table.table() + "\n", flush=True)


if __name__ == "__main__":
    main()
