"""Trained weights: shipped files verified by SHA-256, else trained once and cached.

Shipped weights (``<weights_dir>/manifest.json`` maps a key to a file and its SHA-256) make
every user explain the same networks. Anything not shipped is trained by the model's
deterministic recipe and cached under :func:`~xaibench.dataset.cache_dir`. ``retrain=True``
re-derives the weights instead of loading them.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .dataset import Dataset, cache_dir
from .errors import ModelError
from .model import ModelSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    module: nn.Module
    sha256: str
    source: str  # "shipped" | "cache" | "trained" | "external" (a user's or hub model, never cached)


def weights_key(spec: ModelSpec, dataset: Dataset, seed: int) -> str:
    return f"{dataset.name}__{spec.name}__seed{seed}"


def state_bytes(module: nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}, buffer)
    return buffer.getvalue()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parameters_sha256(module: nn.Module) -> str:
    """SHA-256 of a module's state (every entry's name, dtype, shape and raw bytes, in state-dict
    order), streamed tensor by tensor: the weight hash of models too large to serialise for it."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().data if t.numel() else b"")
    return digest.hexdigest()


def load_model(spec: ModelSpec, dataset: Dataset, *, seed: int = 0, retrain: bool = False) -> LoadedModel:
    """The trained module for (spec, dataset, seed) on the CPU, in eval mode."""
    if not spec.cache_weights:
        module = spec.fit(dataset, seed=seed).cpu().eval()
        return LoadedModel(module, parameters_sha256(module), "external")
    key = weights_key(spec, dataset, seed)
    if not retrain:
        shipped = _shipped_path(spec, key, dataset)
        for path, source in ((shipped, "shipped"), (_cache_path(key, dataset), "cache")):
            if path is not None and path.exists():
                data = path.read_bytes()
                if source == "shipped":
                    _verify(spec, key, data, path)
                return LoadedModel(_restore(spec, dataset, seed, data, path), sha256_bytes(data), source)
    log.info("training %s on %s (seed %d)", spec.name, dataset.name, seed)
    module = spec.fit(dataset, seed=seed).cpu().eval()
    data = state_bytes(module)
    _atomic_write(_cache_path(key, dataset), data)
    return LoadedModel(module, sha256_bytes(data), "trained")


def _cache_path(key: str, dataset: Dataset) -> Path:
    """Cached weights are tied to the dataset version: a new version never reuses stale weights."""
    return cache_dir() / "models" / f"{key}__data-v{dataset.version}.pt"


def _shipped_path(spec: ModelSpec, key: str, dataset: Dataset) -> Path | None:
    entry = _manifest(spec).get(key)
    if entry is None or spec.weights_dir is None:
        return None
    if entry.get("dataset_version") not in (None, dataset.version):
        log.warning("shipped weights %s were trained on %s version %s, not %s: retraining",
                    key, dataset.name, entry.get("dataset_version"), dataset.version)
        return None
    return spec.weights_dir / entry["file"]


def _manifest(spec: ModelSpec) -> dict:
    if spec.weights_dir is None:
        return {}
    path = spec.weights_dir / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _verify(spec: ModelSpec, key: str, data: bytes, path: Path) -> None:
    expected = _manifest(spec)[key]["sha256"]
    actual = sha256_bytes(data)
    if actual != expected:
        raise ModelError(
            f"shipped weights {path} have SHA-256 {actual}, the manifest says {expected}; "
            "reinstall xaibench or pass --retrain to re-derive them"
        )


def _restore(spec: ModelSpec, dataset: Dataset, seed: int, data: bytes, path: Path) -> nn.Module:
    module = spec.build(dataset, seed=seed)
    try:
        module.load_state_dict(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
    except (RuntimeError, KeyError) as exc:
        raise ModelError(f"weights {path} do not fit {spec.name} on {dataset.name}: {exc}; pass --retrain") from exc
    return module.eval()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def ship(spec: ModelSpec, dataset: Dataset, module: nn.Module, *, seed: int, quality: dict[str, float],
         seconds: float) -> str:
    """Write ``module`` into ``spec.weights_dir`` and record it in the manifest (maintainers only)."""
    if spec.weights_dir is None:
        raise ModelError(f"{spec.name} has no weights_dir to ship into")
    key = weights_key(spec, dataset, seed)
    data = state_bytes(module)
    _atomic_write(spec.weights_dir / f"{key}.pt", data)
    manifest = _manifest(spec)
    manifest[key] = {
        "file": f"{key}.pt", "sha256": sha256_bytes(data), "dataset_version": dataset.version,
        "quality": quality, "train_seconds": round(seconds, 2), "torch": torch.__version__,
    }
    _atomic_write(spec.weights_dir / "manifest.json", (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    return manifest[key]["sha256"]


def record_quality(spec: ModelSpec, dataset: Dataset, *, seed: int, quality: dict[str, float]) -> None:
    """Replace the quality recorded for already shipped weights (after a quality measure changed)."""
    key = weights_key(spec, dataset, seed)
    manifest = _manifest(spec)
    if key not in manifest:
        raise ModelError(f"no shipped weights {key} in {spec.weights_dir}; ship them first")
    manifest[key]["quality"] = quality
    _atomic_write(spec.weights_dir / "manifest.json", (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
