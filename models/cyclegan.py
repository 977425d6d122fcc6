"""``cyclegan``: unpaired image-to-image translation between two digit domains (Zhu et al. 2017).

Domains: A = ``digits_16x16`` (scikit-learn's 8×8 UCI digits, upsampled), B = ``mnist_5k_16x16``
(NIST MNIST, downsampled); see :mod:`xaibench.datasets.digit_domains`. The model applies to the
domain-A dataset; the task explains the translation ``G: A → B`` of its test digits.

Networks (16×16 grey images in [0, 1]):

* generators ``G: A → B`` and ``F: B → A``, each: 3×3 conv ``1 → c``, 4×4 stride-2 conv
  ``c → 2c`` (8×8), ``n`` residual blocks ``[3×3 conv, norm, ReLU, 3×3 conv, norm] + identity``,
  4×4 stride-2 transposed conv ``2c → c`` (16×16), 3×3 conv ``c → 1``, then ``sigmoid`` (the
  pixel range); instance norm (affine) after every inner convolution and ReLU activations,
  as in CycleGAN's ResNet generator, scaled down (``c = 16``, ``n = 2``);
* discriminators ``D_A`` and ``D_B`` (PatchGAN, Isola et al. 2017): 4×4 stride-2 convs
  ``1 → 32 → 64`` (LeakyReLU 0.2), 3×3 conv ``64 → 1``: a 4×4 map of patch realness logits,
  whose **mean** is the image's realness logit; each has an **auxiliary classifier** head (a
  linear map of its last hidden map to the 10 classes, as in AC-GAN, Odena et al. 2017, and
  StarGAN's domain classifier, Choi et al. 2018).

Recipe (deterministic: seeded batches and order, one CPU thread): the non-saturating GAN loss
(softplus form of binary cross-entropy on patch logits) for both directions, cycle-consistency
``λ_cyc (‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁)`` with ``λ_cyc = 10`` and identity
``λ_id (‖G(b) − b‖₁ + ‖F(a) − a‖₁)`` with ``λ_id = 5`` (pixel means), and the auxiliary
classification loss with ``λ_cls = 1``: each discriminator's head learns its own domain's labels
on real images, and each generator is trained so that the other domain's head gives its
translation the source label, ``CE(C_b^aux(G(a)), y_a) + CE(C_a^aux(F(b)), y_b)``. Both domains'
labels are thus used in training: the translation is class-conditional by design (without this
loss, the same networks keep only ~0.76 of the classes, mostly losing the UCI 9s and 1s, which
MNIST's classifier reads as 3s and 7s). The quality below is measured with the zoo's separately
trained classifiers, which training never sees. Discriminator inputs come from a history pool of
50 translations (Shrivastava et al. 2017, as in CycleGAN); Adam (lr 2e-4, β = (0.5, 0.999)) for
the generators jointly and for the discriminators with their heads, the learning rate decaying
linearly to 0 over the second half; one discriminator step then one generator step per iteration,
batches of 32 from each domain (independent seeded orders: the data are unpaired), 2,000 steps.

Targets (explained over the pixels of ``x``, a test image of domain A):

* ``translation_logit``: ``log-odds_c(C_B(G(x)))`` of the zoo's **fixed domain-B classifier**
  ``C_B`` (the shipped seed-0 ``cnn`` on ``mnist_5k_16x16``; see :mod:`._targets` for the
  log-odds), with ``c = argmax C_B(G(x))`` pinned at the explained instance: which input pixels
  carry the digit's identity through the translation. Decision: that class.
  Representation: ``C_B``'s penultimate layer on ``G(x)``.
* ``cycle_error``: ``‖F(G(x)) − x‖²`` summed over pixels, the cycle-consistency anomaly score.
  Decision: the score above its 95th percentile over domain A's training split.
  Representation: ``G``'s 8×8 bottleneck, flattened.
* ``translation_realness``: the domain-B discriminator on the translation, ``D_B(G(x))``
  (mean patch logit). Decision: ``D_B(G(x)) > 0`` ("looks like domain B").
  Representation: ``D_B``'s last hidden map on ``G(x)``, flattened.

Quality (test split of domain A, translated by ``G``; ``C_B`` as above):

* ``class_preservation``: the share of translated test digits that ``C_B`` assigns their source
  label; ``untranslated_accuracy``: the same classifier on the untranslated images (what the
  translation adds); ``class_preservation_b_to_a``: the reverse translation ``F`` judged by the
  zoo's ``cnn`` on ``digits_16x16``;
* ``cycle_mse``: mean squared error per pixel of ``F(G(x))`` against ``x``;
* the classifier-based sample score of the translations (:func:`._quality.sample_quality`:
  ``class_coverage``, ``mean_top_prob``, ``class_entropy`` of ``C_B`` on ``G(x)``).
"""

from __future__ import annotations

import copy
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xaibench.dataset import Dataset, load_dataset
from xaibench.errors import NotApplicableError
from xaibench.model import TargetSpec, register_model
from xaibench.weights import load_model

from ._nets import conv_encoder, frozen, module_device, one_thread
from ._quality import accuracy, sample_quality
from ._reconstruction import ANOMALY_QUANTILE, squared_error
from ._spec import ZooModel
from ._targets import above, log_odds
from ._train import Schedule, batches, chunked
from .classifiers import ConvClassifier

DOMAINS = {"digits_16x16": "mnist_5k_16x16"}
"""Domain A (the dataset the model is applied to) → domain B."""


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.InstanceNorm2d(channels, affine=True), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, h: Tensor) -> Tensor:
        return h + self.body(h)


class Generator(nn.Module):
    """``(B, C, H, W) → (B, C, H, W)`` in [0, 1]; ``encode`` gives the bottleneck ``(B, 2c, H/2, W/2)``."""

    def __init__(self, channels: int, width: int, n_blocks: int):
        super().__init__()
        norm = lambda c: nn.InstanceNorm2d(c, affine=True)  # noqa: E731
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), norm(width), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), norm(2 * width), nn.ReLU(),
            *[ResidualBlock(2 * width) for _ in range(n_blocks)],
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), norm(width), nn.ReLU(),
            nn.Conv2d(width, channels, 3, padding=1), nn.Sigmoid(),
        )

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


def patch_discriminator(channels: int, widths: tuple[int, int]) -> nn.Sequential:
    """PatchGAN: ``(B, C, 16, 16) → (B, 1, 4, 4)`` patch logits; ``[:-1]`` is the last hidden map."""
    leaky = lambda: nn.LeakyReLU(0.2)  # noqa: E731
    return nn.Sequential(
        nn.Conv2d(channels, widths[0], 4, stride=2, padding=1), leaky(),
        nn.Conv2d(widths[0], widths[1], 4, stride=2, padding=1), leaky(),
        nn.Conv2d(widths[1], 1, 3, padding=1),
    )


def global_discriminator(shape: tuple[int, ...], widths: tuple[int, int]) -> nn.Sequential:
    """DCGAN-style: ``(B, C, H, W) → (B, 1)``, two stride-2 convs then a linear map over the whole image."""
    return conv_encoder(shape, widths, 1, activation=lambda: nn.LeakyReLU(0.2))


class CycleGANNet(nn.Module):
    """``g_ab``, ``g_ba`` (generators) and ``d_a``, ``d_b`` (discriminators)."""

    def __init__(self, shape: tuple[int, ...], width: int, n_blocks: int, disc_widths: tuple[int, int],
                 patch: bool = True, n_classes: int = 0):
        super().__init__()
        channels = shape[0]
        self.g_ab = Generator(channels, width, n_blocks)
        self.g_ba = Generator(channels, width, n_blocks)
        make = (lambda: patch_discriminator(channels, disc_widths)) if patch else (
            lambda: global_discriminator(shape, disc_widths))
        self.d_a, self.d_b = make(), make()
        if n_classes:  # auxiliary classifier heads on the discriminators' last hidden maps (AC-GAN)
            hidden = disc_widths[1] * (shape[1] // 4) * (shape[2] // 4)
            self.c_a, self.c_b = nn.Linear(hidden, n_classes), nn.Linear(hidden, n_classes)

    def class_logits(self, domain: str, x: Tensor) -> Tensor:
        """The auxiliary classifier of domain ``"a"`` or ``"b"`` on ``x``: ``(B, n_classes)`` logits
        from that discriminator's last hidden map."""
        discriminator, head = (self.d_a, self.c_a) if domain == "a" else (self.d_b, self.c_b)
        return head(discriminator[:-1](x).flatten(1))

    @staticmethod
    def realness(discriminator: nn.Module, x: Tensor) -> Tensor:
        """Image realness logit: the mean of the patch logits, ``(B,)``."""
        return discriminator(x).flatten(1).mean(1)

    def cycle_error(self, x: Tensor) -> Tensor:
        return squared_error(x, self.g_ba(self.g_ab(x)))


def domain_b(dataset: Dataset) -> Dataset:
    if dataset.name not in DOMAINS:
        raise NotApplicableError(f"cyclegan translates {sorted(DOMAINS)} only, not {dataset.name}")
    return load_dataset(DOMAINS[dataset.name])


@lru_cache(maxsize=4)
def _classifier_cpu(dataset_name: str) -> nn.Module:
    return load_model(ConvClassifier(), load_dataset(dataset_name), seed=0).module


def zoo_classifier(dataset_name: str, like: nn.Module) -> nn.Module:
    """The zoo's shipped ``cnn`` (seed 0) for ``dataset_name``, frozen, on ``like``'s device and dtype."""
    device, dtype = module_device(like)
    return frozen(copy.deepcopy(_classifier_cpu(dataset_name)).to(device=device, dtype=dtype))


class ImagePool:
    """The history of generated images the discriminators see (Shrivastava et al. 2017; CycleGAN's
    pool of 50): each new image, once the pool is full, is swapped with a random stored one with
    probability ½ (the stored one is shown instead). Draws come from a seeded generator."""

    def __init__(self, size: int, generator: torch.Generator):
        self.size, self.generator, self.images = size, generator, []

    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif torch.rand((), generator=self.generator) < 0.5:
                k = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[k])
                self.images[k] = image
            else:
                out.append(image)
        return torch.stack(out)


def _l1(a: Tensor, b: Tensor) -> Tensor:
    return (a - b).abs().mean()


@register_model
class CycleGAN(ZooModel):
    name = "cyclegan"
    description = ("CycleGAN digits_16x16 (A) <-> mnist_5k_16x16 (B); targets translation_logit, cycle_error, "
                   "translation_realness")
    kinds = frozenset({"image"})
    targets = {
        "translation_logit": "log-odds of class c under the fixed domain-B cnn on G(x), c predicted at x; "
                             "explained over the pixels of x",
        "cycle_error": "cycle-consistency error ||F(G(x)) - x||^2 (anomaly score); decision: above its 95th "
                       "training percentile",
        "translation_realness": "domain-B discriminator on the translation, D_B(G(x)) (mean patch logit); "
                                "decision: > 0",
    }
    width, n_blocks, disc_widths, patch = 16, 2, (32, 64), True
    schedule = Schedule(steps=2000, batch_size=32, lr=2e-4)
    betas = (0.5, 0.999)
    pool_size, decay_fraction, class_weight = 50, 0.5, 1.0
    cycle_weight, identity_weight = 10.0, 5.0

    def supports(self, dataset: Dataset) -> bool:
        return dataset.name in DOMAINS

    def architecture(self, dataset: Dataset) -> nn.Module:
        return CycleGANNet(dataset.feature_shape, self.width, self.n_blocks, self.disc_widths, self.patch,
                           n_classes=dataset.n_classes if self.class_weight else 0)

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        with one_thread():
            return self._fit(dataset, domain_b(dataset), seed)

    def _fit(self, a: Dataset, b: Dataset, seed: int) -> nn.Module:
        net = self.build(a, seed)
        x_a, x_b = a.x_train, b.x_train
        y_a, y_b = a.y_train, b.y_train
        generators = [*net.g_ab.parameters(), *net.g_ba.parameters()]
        opt_g = torch.optim.Adam(generators, lr=self.schedule.lr, betas=self.betas)
        critics = [p for name, p in net.named_parameters() if not name.startswith("g_")]
        opt_d = torch.optim.Adam(critics, lr=self.schedule.lr, betas=self.betas)
        order_a = batches(len(x_a), self.schedule, torch.Generator().manual_seed(int(seed)))
        order_b = batches(len(x_b), self.schedule, torch.Generator().manual_seed(int(seed) + 1))
        pool_generator = torch.Generator().manual_seed(int(seed) + 2)
        pools = (ImagePool(self.pool_size, pool_generator), ImagePool(self.pool_size, pool_generator))
        decay_from = int(self.schedule.steps * (1 - self.decay_fraction))
        realness = CycleGANNet.realness
        net.train()
        for step, (idx_a, idx_b) in enumerate(zip(order_a, order_b)):
            rate = self.schedule.lr * min(1.0, (self.schedule.steps - step) / max(1, self.schedule.steps - decay_from))
            for group in (*opt_g.param_groups, *opt_d.param_groups):
                group["lr"] = rate
            real_a, real_b = x_a[idx_a], x_b[idx_b]
            fake_b, fake_a = net.g_ab(real_a), net.g_ba(real_b)
            history_a, history_b = pools[0].query(fake_a.detach()), pools[1].query(fake_b.detach())
            loss_d = sum(F.softplus(-realness(d, real)).mean() + F.softplus(realness(d, fake)).mean()
                         for d, real, fake in ((net.d_a, real_a, history_a), (net.d_b, real_b, history_b)))
            if self.class_weight:  # the auxiliary classifiers learn each domain's labels on real images
                loss_d = loss_d + self.class_weight * (F.cross_entropy(net.class_logits("a", real_a), y_a[idx_a])
                                                       + F.cross_entropy(net.class_logits("b", real_b), y_b[idx_b]))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            adversarial = F.softplus(-realness(net.d_b, fake_b)).mean() + F.softplus(-realness(net.d_a, fake_a)).mean()
            cycle = _l1(net.g_ba(fake_b), real_a) + _l1(net.g_ab(fake_a), real_b)
            identity = _l1(net.g_ab(real_b), real_b) + _l1(net.g_ba(real_a), real_a)
            loss_g = adversarial + self.cycle_weight * cycle + self.identity_weight * identity
            if self.class_weight:  # a translation keeps its source label, as the other domain's classifier sees it
                loss_g = loss_g + self.class_weight * (F.cross_entropy(net.class_logits("b", fake_b), y_a[idx_a])
                                                       + F.cross_entropy(net.class_logits("a", fake_a), y_b[idx_b]))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        return net.eval()

    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        b = domain_b(dataset)
        classifier_b, classifier_a = zoo_classifier(b.name, module), zoo_classifier(dataset.name, module)
        device, dtype = module_device(module)
        x_a, y_a = dataset.x_test.to(device=device, dtype=dtype), dataset.y_test.to(device)
        x_b, y_b = b.x_test.to(device=device, dtype=dtype), b.y_test.to(device)
        translated = chunked(module.g_ab, x_a)
        probabilities = chunked(lambda x: classifier_b(x).softmax(1), translated)
        return {
            "class_preservation": accuracy(probabilities.argmax(1), y_a),
            "untranslated_accuracy": accuracy(chunked(classifier_b, x_a).argmax(1), y_a),
            "class_preservation_b_to_a": accuracy(chunked(lambda x: classifier_a(module.g_ba(x)), x_b).argmax(1), y_b),
            "cycle_mse": float(chunked(module.cycle_error, x_a).mean()) / x_a[0].numel(),
            **sample_quality(probabilities),
        }

    def target(self, name: str, module: nn.Module, dataset: Dataset) -> TargetSpec:
        if name == "cycle_error":
            device, dtype = module_device(module)
            train = dataset.x_train.to(device=device, dtype=dtype)
            threshold = torch.quantile(chunked(module.cycle_error, train).double(), ANOMALY_QUANTILE).to(dtype)
            return TargetSpec(f=lambda x, _s: module.cycle_error(x), label_fn=above(module.cycle_error, threshold),
                              representation_fn=lambda x: module.g_ab.encode(x).flatten(1))
        if name == "translation_realness":
            def realness(x: Tensor) -> Tensor:
                return CycleGANNet.realness(module.d_b, module.g_ab(x))

            return TargetSpec(f=lambda x, _s: realness(x), label_fn=lambda x: (realness(x) > 0).long(),
                              representation_fn=lambda x: module.d_b[:-1](module.g_ab(x)).flatten(1))
        classifier = zoo_classifier(domain_b(dataset).name, module)

        def logits(x: Tensor) -> Tensor:
            return classifier(module.g_ab(x))

        def predicted(x: Tensor) -> Tensor:
            return logits(x).argmax(1)

        return TargetSpec(f=lambda x, c: log_odds(logits(x), c), label_fn=predicted, select=predicted,
                          representation_fn=lambda x: classifier.features(module.g_ab(x)))
