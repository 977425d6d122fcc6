"""``load_task``: dataset × model × target → a :class:`~xaibench.task.Task` on a device."""

from __future__ import annotations

import copy
from functools import lru_cache

import torch
from torch import nn

from .dataset import Dataset, load_dataset
from .errors import NotApplicableError, UnknownNameError
from .model import ModelSpec, TargetSpec
from .registries import models
from .task import Task
from .weights import LoadedModel, load_model

RANDOMIZED_SEED = 10_007  # initialisation seed of the weight-randomized model (sanity checks)


def full_float32() -> None:
    """CUDA matmuls and cuDNN convolutions in true float32, TF32 off (process-wide; no effect on the CPU).

    cuDNN convolutions default to TF32 (a 10-bit mantissa) on Ampere and later GPUs, which alone
    moves a CNN's outputs by ~1e-3 relative: results on CUDA equal the CPU's only with it off.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def float32_precision() -> str:
    """``"ieee"`` (full float32) or ``"tf32"``: how CUDA float32 matmuls and convolutions compute (for records)."""
    try:
        return "tf32" if torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32 else "ieee"
    except RuntimeError:  # flags set through both of torch's TF32 APIs: not a single answer
        return "mixed"


def load_task(
    dataset: str,
    model: str,
    target: str,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    n_instances: int | None = None,
    n_background: int = 100,
    retrain: bool = False,
    dtype: torch.dtype = torch.float32,
) -> Task:
    """Build the task "explain ``target`` of ``model`` trained on ``dataset``".

    Args:
        seed: training seed of the model (shipped weights exist for seed 0). The instances and
            background are a fixed function of the dataset, independent of the seed.
        device: where inputs and network live (``"cpu"``, ``"cuda"``).
        n_instances: explain the first ``n_instances`` test rows (all by default).
        n_background: size of the background sample from the training split.
        retrain: re-derive the weights with the model's training recipe instead of loading them.

    On CUDA this turns TF32 off for the whole process (:func:`full_float32`).
    """
    ds = load_dataset(dataset)
    spec: ModelSpec = models.get(model)()
    if not spec.supports(ds):
        raise NotApplicableError(f"model {model!r} does not apply to {ds.kind} dataset {dataset!r}")
    if target not in spec.targets:
        import difflib  # noqa: PLC0415

        from .registry import _abbreviates  # noqa: PLC0415 - small helper, keeps messages consistent

        close = [t for t in spec.targets if _abbreviates(target, t.split("_"))]
        close += difflib.get_close_matches(target, list(spec.targets), n=2)
        raise UnknownNameError(f"target of {model}", target, sorted(set(close)), list(spec.targets))
    loaded = _load_model_cached(type(spec), ds, seed, retrain)
    device = torch.device(device)
    if device.type == "cuda":
        full_float32()
    module = _prepare(loaded.module, device, dtype)
    quality = _quality_cached(spec, ds, seed, loaded.sha256, loaded.module)
    return _assemble(spec, ds, module, target, device=device, dtype=dtype, n_instances=n_instances,
                     n_background=n_background, quality=quality, seed=seed,
                     meta={"weights_sha256": loaded.sha256, "weights_source": loaded.source})


def _assemble(spec: ModelSpec, ds: Dataset, module: nn.Module, target: str, *, device, dtype, n_instances,
              n_background, quality, seed, meta) -> Task:
    ts: TargetSpec = spec.target(target, module, ds)
    to = lambda t: None if t is None else t.to(device=device, dtype=dtype)  # noqa: E731
    inputs = to(ts.inputs) if ts.inputs is not None else to(ds.x_test)
    if n_instances is not None:
        inputs = inputs[:n_instances]
    if ts.background is not None:
        background = to(ts.background)[:n_background]
    else:
        order = torch.randperm(len(ds.x_train), generator=torch.Generator().manual_seed(0))
        background = to(ds.x_train[order[:n_background]])
    baseline = to(ts.baseline) if ts.baseline is not None else to(ds.baseline)
    groups = ts.groups if ts.groups is not None else (ds.groups if ts.use_dataset_groups and ts.kind in (None, ds.kind) else None)

    def randomized() -> Task:
        random_module = _prepare(spec.build(ds, seed=RANDOMIZED_SEED), device, dtype)
        return _assemble(spec, ds, random_module, target, device=device, dtype=dtype, n_instances=n_instances,
                         n_background=n_background, quality={}, seed=seed,
                         meta={**meta, "randomized": True})

    return Task(
        dataset=ds.name, model=spec.name, target=target, f=ts.f, inputs=inputs, background=background,
        baseline=baseline, kind=ts.kind or ds.kind, label_fn=ts.label_fn, select=ts.select,
        groups=None if groups is None else groups.to(device),
        representation_fn=ts.representation_fn, ground_truth=ts.ground_truth,
        ground_truth_signed=ts.ground_truth_signed,
        randomized=None if meta.get("randomized") else randomized,
        quality=dict(quality), feature_names=ts.feature_names or (ds.feature_names if ts.kind in (None, ds.kind) else None),
        meta={"dataset_version": ds.version, "model_seed": seed, **meta},
    )


def _prepare(module: nn.Module, device: torch.device, dtype: torch.dtype) -> nn.Module:
    module = copy.deepcopy(module).to(device=device, dtype=dtype).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


@lru_cache(maxsize=64)
def _load_model_cached(spec_cls: type[ModelSpec], ds: Dataset, seed: int, retrain: bool) -> LoadedModel:
    return load_model(spec_cls(), ds, seed=seed, retrain=retrain)


_QUALITY: dict[tuple[str, str, int, str], dict[str, float]] = {}


def _quality_cached(spec: ModelSpec, ds: Dataset, seed: int, sha: str, module: nn.Module) -> dict[str, float]:
    key = (spec.name, ds.name, seed, sha)
    if key not in _QUALITY:
        with torch.no_grad():
            _QUALITY[key] = {k: float(v) for k, v in spec.quality(module.eval(), ds).items()}
    return _QUALITY[key]
