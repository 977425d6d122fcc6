"""``vae``: a variational autoencoder (Kingma & Welling 2014), MLP for tabular data, conv for images.

Model: prior ``p(z) = N(0, I_k)``; encoder ``q(z|x) = N(μ(x), diag exp ℓ(x))`` (``ℓ`` clamped to
[−10, 10]); decoder ``p(x|z) = N(D(z), σ² I)`` with one learned noise scale ``σ = exp(log_sigma)``
shared by every feature (a "calibrated decoder", Rybkin et al. 2021: it removes the arbitrary
weight of a fixed-variance reconstruction term, and ``σ²`` converges to the reconstruction MSE).

Targets (details of the shared ones in :mod:`._reconstruction`):

* ``neg_elbo``, **deterministic** (``z = μ(x)`` instead of a sample, analytic KL):

      neg_elbo(x) = ½ Σ_i [ (x_i − D(μ(x))_i)² / σ² + log(2π σ²) ]
                    + ½ Σ_j [ μ_j(x)² + exp ℓ_j(x) − 1 − ℓ_j(x) ]

  The plug-in ``z = μ`` makes the target a smooth deterministic function of ``x`` (a Monte-Carlo
  ELBO would make every explanation stochastic); it upper-bounds the usual reconstruction term
  only approximately (exact for a linear decoder up to the trace term ``Σ_j exp ℓ_j ‖D_{:,j}‖²/σ²``).
* ``latent_mean``: ``μ_k(x)``, ``k`` the unit of largest variance of ``μ`` over the training split;
* ``recon_error``: ``‖x − D(μ(x))‖²``.

Decision: anomaly flag, ``neg_elbo`` above its 95th training percentile. Representation: ``μ(x)``.
Recipe: the usual single-sample reparameterised negative ELBO, AdamW (lr 1e-3), 3,000 steps of
64 rows (tabular) or 1,000 (images). Quality adds ``elbo``: the standard Monte-Carlo ELBO (16
samples per test row, seeded), mean over the test split, in nats per instance.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from xaibench.dataset import Dataset
from xaibench.model import register_model

from ._nets import module_device
from ._reconstruction import ReconstructionModel
from ._train import chunked, train

LOGVAR_RANGE = (-10.0, 10.0)
ELBO_SAMPLES = 16


class VAENet(nn.Module):
    """Encoder ``x → (μ, ℓ)`` (``2k`` outputs), decoder ``z → D(z)``, and the decoder's ``log_sigma``."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, log_sigma: float = 0.0):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.log_sigma = nn.Parameter(torch.tensor(float(log_sigma)))

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(*LOGVAR_RANGE)

    def neg_elbo(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``−ELBO`` per row, analytic KL; ``z = μ`` (``generator=None``) or one reparameterised
        sample ``z = μ + exp(ℓ/2) ⊙ ε``, ``ε ~ N(0, I)`` drawn from ``generator``."""
        mu, logvar = self.posterior(x)
        z = mu
        if generator is not None:
            z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return gaussian_nll(x, self.decoder(z), self.log_sigma) + kl_to_standard_normal(mu, logvar)


def gaussian_nll(x: Tensor, mean: Tensor, log_sigma: Tensor) -> Tensor:
    """``−log N(x; mean, σ² I)`` per row, ``σ = exp(log_sigma)``."""
    z = (x - mean).flatten(1) * torch.exp(-log_sigma)
    return 0.5 * (z.square() + 2 * log_sigma + math.log(2 * math.pi)).sum(1)


def kl_to_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """``KL(N(μ, diag e^ℓ) ‖ N(0, I))`` per row."""
    return 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum(1)


@register_model
class VariationalAutoEncoder(ReconstructionModel):
    name = "vae"
    description = "VAE (MLP / conv, learned decoder scale); targets neg_elbo (z = mu), latent_mean, recon_error"
    targets = {
        "neg_elbo": "negative ELBO with z = mu(x) and analytic KL (deterministic; the anomaly score)",
        "latent_mean": "posterior mean mu_k(x), k = the unit of largest variance over the training split",
        "recon_error": "squared reconstruction error ||x - D(mu(x))||^2",
    }
    latent_target = "latent_mean"

    def architecture(self, dataset: Dataset) -> nn.Module:
        k = self.latent_sizes[dataset.kind]
        return VAENet(*self.encoder_decoder(dataset, 2 * k))

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        net = self.build(dataset, seed)
        x = dataset.x_train

        def loss(idx: Tensor, generator: torch.Generator) -> Tensor:
            return net.neg_elbo(x[idx], generator).mean() / x[0].numel()

        return train(net, loss, len(x), self.schedule(dataset), seed)

    def code(self, module: nn.Module, x: Tensor) -> Tensor:
        return module.posterior(x)[0]

    def reconstruct(self, module: nn.Module, x: Tensor) -> Tensor:
        return module.decoder(self.code(module, x))

    def anomaly_score(self, module: nn.Module):
        return module.neg_elbo

    def model_target(self, name: str, module: nn.Module):
        if name != "neg_elbo":  # pragma: no cover - load_task validates target names first
            raise KeyError(name)
        return module.neg_elbo

    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        device, dtype = module_device(module)
        generator = torch.Generator(device=device).manual_seed(0)
        x = dataset.x_test.to(device=device, dtype=dtype)

        def elbo(batch: Tensor) -> Tensor:
            rows = batch.repeat_interleave(ELBO_SAMPLES, 0)
            return -module.neg_elbo(rows, generator).reshape(-1, ELBO_SAMPLES).mean(1)

        return {"elbo": float(chunked(elbo, x, size=256).mean()), **super().quality(module, dataset)}
