"""``gan``: a small DCGAN (Radford et al. 2016) on images, an MLP GAN on tabular data.

Targets:

* ``discriminator`` (data space): the realness logit ``D(x)``; decision ``D(x) > 0`` ("real");
  representation: ``D``'s penultimate layer.
* ``generator`` (latent space, kind ``"latent"``): ``f(z) = logit_c(C(G(z)))``, the log-odds (see
  :mod:`._targets`) of class ``c`` under the zoo's **fixed classifier** ``C`` for the dataset
  (``cnn`` for images, ``mlp`` for tabular data, seed 0, the shipped weights) applied to the
  generated sample, ``c = argmax C(G(z))`` pinned at the explained code ("which latent
  dimensions make this a 7"). Decision: that class. Representation: ``C``'s penultimate layer on
  ``G(z)``. Instances: 1,000 codes drawn from the prior ``N(0, I)`` with seed 0; background:
  1,000 more with seed 1; baseline: ``z = 0`` (the prior mean). No feature groups.

Latent size 12 (images and tabular data), small enough for ``exact_shapley`` (at most 14
players) on the generator target, large enough for every digit class (quality below).

Architectures: images (DCGAN) — ``G``: linear ``12 → 64·⌈H/4⌉·⌈W/4⌉``, then [batch norm, ReLU,
4×4 stride-2 transposed convolution] twice (64 → 32 → C), output mapped into the training data's
range ``[lo, hi]`` by ``lo + (hi − lo)·sigmoid``; ``D``: 4×4 stride-2 convolutions C → 16 → 32
(batch norm after the second), LeakyReLU(0.2), linear to 1. Tabular — ``G``: ``12 → 64 → 64 → d``
(ReLU, linear output: the features are standardised), ``D``: ``d → 64 → 64 → 1``
(LeakyReLU(0.2)), no normalisation.

Recipe: the non-saturating GAN loss (Goodfellow et al. 2014), Adam (lr 2e-4, β = (0.5, 0.999))
for both players, one ``D`` step then one ``G`` step per iteration, 32 real rows per step
(images: 2,500 steps; tabular: 3,000 steps of 64) in a seeded order, latent codes from the same
seeded generator. Batch-norm statistics are then **re-estimated** (exact averages instead of
the training's moving averages): ``G``'s on 100 batches of 256 prior codes, ``D``'s on the
training images, so that the evaluation-mode discriminator normalises as it did for real
batches in training (the ``discriminator`` target is explained on real data). Why batch norm and
this size: on mnist_5k, without it (or with a weaker discriminator) samples plateau near a mean
top-class probability of 0.77-0.79 under the fixed classifier; with it they pass 0.8 within the
90-second CPU budget (measured in ``_ship.py``). The smaller discriminator (16/32 channels) costs
half as much per step as 32/64 for the same sample quality.

Quality (:func:`._quality.sample_quality`): 1,000 samples ``G(z)``, ``z`` from the prior with
seed 1, judged by the fixed classifier: ``class_coverage``, ``mean_top_prob``, ``class_entropy``.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xaibench.dataset import Dataset
from xaibench.model import TargetSpec, register_model
from xaibench.weights import load_model

from ._nets import Bounded, conv_decoder, conv_encoder, frozen, mlp, module_device, one_thread, reestimate_batchnorm
from ._quality import sample_quality
from ._spec import ZooModel
from ._targets import log_odds
from ._train import Schedule, batches, chunked
from .classifiers import ConvClassifier, MLPClassifier

LATENT_SIZE = 12
N_CODES = 1000
INPUT_SEED, BACKGROUND_SEED, QUALITY_SEED = 0, 1, 1


class GANNet(nn.Module):
    """``generator: (B, k) → (B, *F)`` and ``discriminator: (B, *F) → (B, 1)`` (a ``Sequential``
    whose last layer is the linear realness head)."""

    def __init__(self, generator: nn.Module, discriminator: nn.Sequential, latent_size: int):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_size = latent_size

    def realness(self, x: Tensor) -> Tensor:
        return self.discriminator(x).squeeze(1)

    def discriminator_features(self, x: Tensor) -> Tensor:
        return self.discriminator[:-1](x)


def prior_codes(n: int, size: int, seed: int) -> Tensor:
    """``n`` codes from ``N(0, I_size)``, CPU float32, a function of ``seed`` only."""
    return torch.randn(n, size, generator=torch.Generator().manual_seed(seed))


@lru_cache(maxsize=16)
def _fixed_classifier_cpu(dataset: Dataset) -> nn.Module:
    spec = ConvClassifier() if dataset.kind == "image" else MLPClassifier()
    return load_model(spec, dataset, seed=0).module


def fixed_classifier(dataset: Dataset, like: nn.Module) -> nn.Module:
    """The zoo's classifier for ``dataset`` (seed 0), frozen, on ``like``'s device and dtype."""
    device, dtype = module_device(like)
    return frozen(copy.deepcopy(_fixed_classifier_cpu(dataset)).to(device=device, dtype=dtype))


@register_model
class GAN(ZooModel):
    name = "gan"
    description = "DCGAN (images) / MLP GAN (tabular); targets discriminator (realness logit), generator (latent space)"
    kinds = frozenset({"tabular", "image"})
    targets = {
        "discriminator": "realness logit D(x) on data space; decision: D(x) > 0",
        "generator": "latent space: log-odds of class c under the fixed zoo classifier on G(z), c predicted at z",
    }
    generator_channels = (64, 32)
    discriminator_channels = (16, 32)
    hidden = 64
    schedules: ClassVar[dict[str, Schedule]] = {
        "tabular": Schedule(steps=3000, batch_size=64, lr=2e-4),
        "image": Schedule(steps=2500, batch_size=32, lr=2e-4),
    }
    betas = (0.5, 0.999)
    reestimation_batches, reestimation_batch_size = 100, 256

    def supports(self, dataset: Dataset) -> bool:
        return dataset.kind in self.kinds and dataset.n_classes >= 2  # the generator target needs a classifier

    def architecture(self, dataset: Dataset) -> nn.Module:
        k = LATENT_SIZE
        leaky = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        if dataset.kind == "image":
            shape = dataset.feature_shape
            x = dataset.x_train
            generator = nn.Sequential(conv_decoder(k, shape, self.generator_channels, norm=nn.BatchNorm2d),
                                      Bounded(x.min(), x.max()))
            discriminator = conv_encoder(shape, self.discriminator_channels, 1, activation=leaky, norm=nn.BatchNorm2d)
        else:
            d = dataset.feature_shape[0]
            generator = mlp([k, self.hidden, self.hidden, d])
            discriminator = mlp([d, self.hidden, self.hidden, 1], activation=leaky)
        return GANNet(generator, discriminator, k)

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        with one_thread():
            return self._fit(dataset, seed)

    def _fit(self, dataset: Dataset, seed: int) -> nn.Module:
        net = self.build(dataset, seed)
        schedule = self.schedules[dataset.kind]
        x = dataset.x_train
        opt_g = torch.optim.Adam(net.generator.parameters(), lr=schedule.lr, betas=self.betas)
        opt_d = torch.optim.Adam(net.discriminator.parameters(), lr=schedule.lr, betas=self.betas)
        generator = torch.Generator().manual_seed(int(seed))
        net.train()
        for idx in batches(len(x), schedule, generator):
            fake = net.generator(torch.randn(len(idx), net.latent_size, generator=generator))
            loss_d = F.softplus(-net.realness(x[idx])).mean() + F.softplus(net.realness(fake.detach())).mean()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            loss_g = F.softplus(-net.realness(fake)).mean()
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        size = self.reestimation_batch_size
        codes = (torch.randn(size, net.latent_size, generator=generator) for _ in range(self.reestimation_batches))
        reestimate_batchnorm(net.generator, codes, net.generator)
        reestimate_batchnorm(net.discriminator, x.split(size), net.discriminator)
        return net.eval()

    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        classifier = fixed_classifier(dataset, module)
        device, dtype = module_device(module)
        codes = prior_codes(N_CODES, module.latent_size, QUALITY_SEED).to(device=device, dtype=dtype)
        return sample_quality(chunked(lambda z: classifier(module.generator(z)).softmax(1), codes))

    def target(self, name: str, module: nn.Module, dataset: Dataset) -> TargetSpec:
        if name == "discriminator":
            return TargetSpec(f=lambda x, _s: module.realness(x), label_fn=lambda x: (module.realness(x) > 0).long(),
                              representation_fn=module.discriminator_features)
        classifier = fixed_classifier(dataset, module)

        def logits(z: Tensor) -> Tensor:
            return classifier(module.generator(z))

        def predicted(z: Tensor) -> Tensor:
            return logits(z).argmax(1)

        k = module.latent_size
        return TargetSpec(
            f=lambda z, c: log_odds(logits(z), c), label_fn=predicted, select=predicted,
            representation_fn=lambda z: classifier.features(module.generator(z)),
            inputs=prior_codes(N_CODES, k, INPUT_SEED), background=prior_codes(N_CODES, k, BACKGROUND_SEED),
            baseline=torch.zeros(k), kind="latent", feature_names=tuple(f"z{i}" for i in range(k)),
            use_dataset_groups=False,
        )
