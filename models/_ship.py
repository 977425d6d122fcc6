"""Maintainer script: train the zoo's seed-0 weights and ship them into ``models/weights``.

    python -m xaibench.models._ship                       # everything in SHIPPED
    python -m xaibench.models._ship --models gan --datasets mnist_5k,digits
    python -m xaibench.models._ship --list                # what would be trained
    python -m xaibench.models._ship --quality-only        # re-measure quality, keep the weights

Each (dataset, model) pair is trained by its deterministic recipe (seed 0; training runs on one
CPU thread, see :func:`xaibench.models._nets.one_thread`; the budget the issue sets is ≤ 90 s per
model on 2 cores), written by :func:`xaibench.weights.ship` (file + SHA-256 + quality + training
seconds in ``manifest.json``), and reported: quality, wall seconds and CPU seconds (on a busy
machine the CPU time bounds what an idle machine would take). ``--threads`` sets the threads of
everything else (quality measurement, LBFGS for ``logreg``). Classifiers are shipped before the GANs
and the CycleGAN, whose quality and targets use the shipped classifiers. The CycleGAN (``digits_16x16``)
and the character LM (``tinyshakespeare``) take a few CPU-minutes each; the others ≤ 90 s.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from xaibench.dataset import load_dataset
from xaibench.registries import models
from xaibench.weights import load_model, record_quality, ship

TABULAR = ("breast_cancer", "wine", "adult", "compas", "german",
           "synthetic_linear", "synthetic_additive", "synthetic_interaction")
IMAGES = ("digits", "mnist_5k")
DOMAINS = ("digits_16x16", "mnist_5k_16x16")  # the CycleGAN's two domains

SHIPPED: tuple[tuple[str, str], ...] = (
    *((d, m) for m in ("logreg", "mlp") for d in TABULAR),
    ("digits", "mlp"),  # the quick suite explains an MLP on 8×8 digits
    *((d, "cnn") for d in (*IMAGES, "synthetic_patch", *DOMAINS)),
    *((d, m) for m in ("autoencoder", "vae") for d in (*TABULAR, *IMAGES)),
    *((d, "gan") for d in (*IMAGES, "breast_cancer")),
    ("digits_16x16", "cyclegan"),  # after the two cnn: its quality and target use them
    ("synthetic_copy", "sequence_lm"),
    ("tinyshakespeare", "char_lm"),
)
"""(dataset, model) pairs of the quick and standard suites (``oracle`` and ``hf:`` models need no weights)."""


def ship_one(dataset_name: str, model_name: str, seed: int = 0) -> dict[str, float]:
    dataset = load_dataset(dataset_name)
    spec = models.get(model_name)()
    wall, cpu = time.perf_counter(), time.process_time()
    module = spec.fit(dataset, seed=seed).cpu().eval()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with torch.no_grad():
        quality = {k: float(v) for k, v in spec.quality(module, dataset).items()}
    sha = ship(spec, dataset, module, seed=seed, quality=quality, seconds=wall)
    return {"wall_s": wall, "cpu_s": cpu, "sha256": sha[:12], **quality}


def requality_one(dataset_name: str, model_name: str, seed: int = 0) -> dict[str, float]:
    """Re-measure the quality of the shipped weights (unchanged) and record it in the manifest."""
    dataset = load_dataset(dataset_name)
    spec = models.get(model_name)()
    module = load_model(spec, dataset, seed=seed).module
    with torch.no_grad():
        quality = {k: float(v) for k, v in spec.quality(module, dataset).items()}
    record_quality(spec, dataset, seed=seed, quality=quality)
    return quality


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", help="comma-separated model names (default: all)")
    parser.add_argument("--datasets", help="comma-separated dataset names (default: all)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads outside training (default 2)")
    parser.add_argument("--list", action="store_true", help="print the pairs and exit")
    parser.add_argument("--quality-only", action="store_true",
                        help="re-measure and record the quality of the shipped weights without retraining")
    args = parser.parse_args(argv)
    keep_models = set(args.models.split(",")) if args.models else None
    keep_datasets = set(args.datasets.split(",")) if args.datasets else None
    pairs = [(d, m) for d, m in SHIPPED
             if (keep_models is None or m in keep_models) and (keep_datasets is None or d in keep_datasets)]
    if args.list:
        print("\n".join(f"{d} {m}" for d, m in pairs))
        return
    torch.set_num_threads(args.threads)
    shared = Path(__file__).resolve().parents[2] / "shared" / "datasets"  # offline copies on developer machines
    if shared.is_dir():
        os.environ.setdefault("XAIBENCH_DATA_DIR", str(shared))
    for dataset_name, model_name in pairs:
        report = (requality_one if args.quality_only else ship_one)(dataset_name, model_name)
        cells = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in report.items())
        print(f"{dataset_name:22s} {model_name:12s} {cells}", flush=True)


if __name__ == "__main__":
    main()
