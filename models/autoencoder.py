"""``autoencoder``: a deterministic autoencoder (MLP for tabular data, convolutional for images).

Targets (details in :mod:`._reconstruction`):

* ``recon_error``: ``‖x − D(E(x))‖²`` per instance, the anomaly score;
* ``latent``: ``E(x)_k``, ``k`` the code unit of largest variance over the training split.

Decision: anomaly flag, ``recon_error`` above its 95th training percentile. Representation: the
code ``E(x)``. Recipe: mean squared error, AdamW (lr 1e-3), 3,000 steps of 64 rows (tabular) or
1,000 steps (images), seeded order.
"""

from __future__ import annotations

from torch import Tensor, nn

from xaibench.dataset import Dataset
from xaibench.model import register_model

from ._reconstruction import ReconstructionModel, squared_error
from ._train import train


class AutoEncoderNet(nn.Module):
    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


@register_model
class AutoEncoder(ReconstructionModel):
    name = "autoencoder"
    description = "autoencoder (MLP / conv); targets recon_error (anomaly score), latent (top-variance code unit)"
    targets = {
        "recon_error": "squared reconstruction error ||x - D(E(x))||^2 (the anomaly score)",
        "latent": "code unit E(x)_k, k = the unit of largest variance over the training split",
    }
    latent_target = "latent"

    def architecture(self, dataset: Dataset) -> nn.Module:
        k = self.latent_sizes[dataset.kind]
        return AutoEncoderNet(*self.encoder_decoder(dataset, k))

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        net = self.build(dataset, seed)
        x = dataset.x_train

        def loss(idx, _generator):
            return squared_error(x[idx], net(x[idx])).mean() / x[0].numel()

        return train(net, loss, len(x), self.schedule(dataset), seed)

    def code(self, module: nn.Module, x: Tensor) -> Tensor:
        return module.encoder(x)

    def reconstruct(self, module: nn.Module, x: Tensor) -> Tensor:
        return module(x)
