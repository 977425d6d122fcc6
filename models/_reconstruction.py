"""What the autoencoder and the VAE share: encoder/decoder shapes, ``recon_error``, the latent-unit
target, the anomaly decision, and their quality measures.

* ``recon_error(x) = ‖x − x̂(x)‖²``, summed over features, with ``x̂`` the deterministic
  reconstruction (``D(E(x))``; ``D(μ(x))`` for the VAE): the anomaly score.
* latent target: code unit ``k`` of the deterministic encoder (``E(x)_k``; ``μ_k(x)`` for the VAE),
  with ``k`` the unit of **largest variance over the training split**, recomputed for each
  network (a weight-randomized one included). Rationale: the unit that varies most carries the
  most information about the input; a VAE's inactive units (posterior collapse, ``μ_k ≈ 0``)
  would make a degenerate target.
* decision ``label_fn`` (every target of the model): the anomaly flag ``s(x) > τ`` where ``s`` is
  the model's anomaly score (``recon_error`` for the autoencoder, ``neg_elbo`` for the VAE) and
  ``τ`` its 95th percentile over the training split (``torch.quantile``, linear interpolation), so
  5 % of training rows are flagged.
* quality on the test split: ``recon_mse`` (mean squared error per feature) and
  ``anomaly_auroc``: ROC-AUC of the anomaly score for telling the test rows from the same rows
  with every feature permuted independently across rows (seeded): the marginals are kept and the
  dependence between features is destroyed, so 1.0 means the model has learned the data's joint
  structure and 0.5 that it has not (or that there is none: the synthetic datasets draw their
  features independently, and 0.5 is then the right answer). Why not class-versus-rest AUROC:
  the zoo models are trained on every class, as the targets they serve explain the whole data
  distribution; a held-out class would not be an anomaly to them.

Architectures (latent size ``k``: 8 for tabular data, 16 for images): tabular ``d → 64 → k``
and ``k → 64 → d`` (ReLU); images, stride-2 4×4 convolutions ``C → 16 → 32`` then a linear map
to ``k``, mirrored by transposed convolutions. Decoders have a linear output (data are
standardised tabular features or grey levels; the squared error needs no output range).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from torch import Tensor, nn

from xaibench.dataset import Dataset
from xaibench.model import TargetSpec

from ._nets import conv_decoder, conv_encoder, mlp, module_device
from ._quality import auroc, shuffle_features
from ._spec import ZooModel
from ._targets import above
from ._train import Schedule, chunked

Fn = Callable[[Tensor], Tensor]
ANOMALY_QUANTILE = 0.95


def squared_error(x: Tensor, reconstruction: Tensor) -> Tensor:
    """``‖x − x̂‖²`` per row, summed over every feature dimension."""
    return (x - reconstruction).square().flatten(1).sum(1)


class ReconstructionModel(ZooModel):
    """Base of ``autoencoder`` and ``vae``: subclasses give the network and the three maps below."""

    kinds = frozenset({"tabular", "image"})
    hidden = 64
    channels = (16, 32)
    latent_sizes: ClassVar[dict[str, int]] = {"tabular": 8, "image": 16}
    schedules: ClassVar[dict[str, Schedule]] = {
        "tabular": Schedule(steps=3000, batch_size=64, lr=1e-3),
        "image": Schedule(steps=1000, batch_size=64, lr=1e-3),
    }
    latent_target: ClassVar[str]

    # -- what subclasses define ---------------------------------------------------------------
    def code(self, module: nn.Module, x: Tensor) -> Tensor:
        """Deterministic code ``(B, k)``."""
        raise NotImplementedError

    def reconstruct(self, module: nn.Module, x: Tensor) -> Tensor:
        """Deterministic reconstruction, ``x``'s shape."""
        raise NotImplementedError

    def anomaly_score(self, module: nn.Module) -> Fn:
        """The model's anomaly score ``(B, *F) → (B,)`` (defaults to ``recon_error``)."""
        return self.recon_error(module)

    def model_target(self, name: str, module: nn.Module) -> Fn:
        """Model-specific scalar targets other than ``recon_error`` and the latent unit."""
        raise KeyError(name)

    # -- shared pieces ------------------------------------------------------------------------
    def encoder_decoder(self, dataset: Dataset, code_outputs: int) -> tuple[nn.Module, nn.Module]:
        """Encoder with ``code_outputs`` outputs and a decoder from ``k`` latents, for the dataset's kind."""
        k = self.latent_sizes[dataset.kind]
        if dataset.kind == "image":
            shape = dataset.feature_shape
            return (conv_encoder(shape, self.channels, code_outputs),
                    conv_decoder(k, shape, tuple(reversed(self.channels))))
        d = dataset.feature_shape[0]
        return mlp([d, self.hidden, code_outputs]), mlp([k, self.hidden, d])

    def schedule(self, dataset: Dataset) -> Schedule:
        return self.schedules[dataset.kind]

    def recon_error(self, module: nn.Module) -> Fn:
        return lambda x: squared_error(x, self.reconstruct(module, x))

    def target(self, name: str, module: nn.Module, dataset: Dataset) -> TargetSpec:
        device, dtype = module_device(module)
        train = dataset.x_train.to(device=device, dtype=dtype)
        score = self.anomaly_score(module)
        threshold = torch.quantile(chunked(score, train).double(), ANOMALY_QUANTILE).to(dtype)
        if name == "recon_error":
            f = self.recon_error(module)
        elif name == self.latent_target:
            unit = int(chunked(lambda x: self.code(module, x), train).var(0).argmax())
            f = lambda x: self.code(module, x)[:, unit]  # noqa: E731
        else:
            f = self.model_target(name, module)
        return TargetSpec(f=lambda x, _s: f(x), label_fn=above(score, threshold),
                          representation_fn=lambda x: self.code(module, x))

    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        x = dataset.x_test
        out = {"recon_mse": float(chunked(self.recon_error(module), x).mean()) / x[0].numel()}
        shuffled = shuffle_features(x, torch.Generator().manual_seed(0))
        scores = chunked(self.anomaly_score(module), torch.cat([x, shuffled]))
        out["anomaly_auroc"] = auroc(scores, torch.arange(2 * len(x)) >= len(x))
        return out
