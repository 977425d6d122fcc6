"""Target definitions checked by hand on tiny hand-set networks (no training, no shipped weights)."""

from __future__ import annotations

import math

import pytest
import torch

import xaibench
from xaibench.dataset import Oracle
from xaibench.models._targets import log_odds
from xaibench.models.autoencoder import AutoEncoder, AutoEncoderNet
from xaibench.models.classifiers import ClassifierNet, LogisticRegression
from xaibench.models.vae import VAENet, VariationalAutoEncoder

from .toys import linear_layer, toy_dataset

NO_SELECTION = torch.zeros(1, dtype=torch.long)


def test_log_odds_by_hand():
    logits = torch.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 0.0]])
    got = log_odds(logits, torch.tensor([1, 0]))
    p = logits.softmax(1)
    assert got[0].item() == pytest.approx(2 - math.log(math.e + 1), abs=1e-6)
    assert got.tolist() == pytest.approx(torch.log(p[[0, 1], [1, 0]] / (1 - p[[0, 1], [1, 0]])).tolist(), abs=1e-6)
    binary = torch.tensor([[0.5, -1.0]])
    assert log_odds(binary, torch.tensor([0])).item() == pytest.approx(1.5)
    assert log_odds(binary, torch.tensor([1])).item() == pytest.approx(-1.5)


def test_log_odds_is_gauge_free():
    logits = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    c = torch.tensor([0, 1, 2, 3, 1])
    shifted = logits + torch.randn(5, 1, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(log_odds(shifted, c), log_odds(logits, c))


def _hand_logreg(oracle=None, n_classes=2):
    # logits = (x0, 2 x1): instance [3, 1] -> (3, 2), class 0; instance [0, 1] -> (0, 2), class 1
    x = torch.tensor([[3.0, 1.0], [0.0, 1.0]])
    ds = toy_dataset(x, [0, 1], oracle=oracle, n_classes=n_classes)
    net = ClassifierNet(torch.nn.Identity(), linear_layer([[1, 0], [0, 2]], [0, 0]), has_representation=False)
    return ds, net, x


def test_classifier_logit_and_prob_by_hand():
    ds, net, x = _hand_logreg()
    logit = LogisticRegression().target("logit", net, ds)
    prob = LogisticRegression().target("prob", net, ds)
    c = logit.select(x)
    assert c.tolist() == [0, 1] and logit.label_fn(x).tolist() == [0, 1]
    assert logit.f(x, c).tolist() == pytest.approx([1.0, 2.0])
    assert prob.f(x, c).tolist() == pytest.approx(torch.sigmoid(torch.tensor([1.0, 2.0])).tolist())
    assert logit.representation_fn is None and logit.ground_truth is None


def _linear_oracle(signed=True):
    w = torch.tensor([1.0, -1.0])
    return Oracle(score=lambda x: x @ w.to(x), attributions=lambda x, b: w.to(x) * (x - b), signed=signed)


def test_classifier_ground_truth_is_oriented_to_the_explained_class():
    ds, net, x = _hand_logreg(oracle=_linear_oracle())
    truth = LogisticRegression().target("logit", net, ds).ground_truth
    # baseline = training mean (1.5, 1); phi = w * (x - b) = [[1.5, 0], [-1.5, 0]]; classes 0, 1 -> signs -1, +1
    torch.testing.assert_close(truth(x), torch.tensor([[-1.5, 0.0], [-1.5, 0.0]]))


def test_classifier_ground_truth_unsigned_mask_and_multiclass():
    ds, net, x = _hand_logreg(oracle=_linear_oracle(signed=False))
    spec = LogisticRegression().target("prob", net, ds)
    assert spec.ground_truth_signed is False
    torch.testing.assert_close(spec.ground_truth(x), torch.tensor([[1.5, 0.0], [-1.5, 0.0]]))
    ds3, net3, _ = _hand_logreg(oracle=_linear_oracle(), n_classes=3)
    assert LogisticRegression().target("logit", net3, ds3).ground_truth is None


def _hand_autoencoder():
    # code = x0 + x1; reconstruction = (code, 1)
    return AutoEncoderNet(linear_layer([[1, 1]], [0]), linear_layer([[1], [0]], [0, 1]))


def test_recon_error_by_hand_and_anomaly_flag_at_95th_percentile():
    t = 1 + torch.arange(21.0) / 4  # training rows (0, t): error t^2 + (t - 1)^2, increasing in t
    x_train = torch.stack([torch.zeros(21), t], 1)
    spec = AutoEncoder().target("recon_error", _hand_autoencoder(), toy_dataset(x_train))
    x = torch.tensor([[2.0, 3.0]])
    assert spec.f(x, NO_SELECTION).item() == pytest.approx((2 - 5) ** 2 + (3 - 1) ** 2)  # 13
    torch.testing.assert_close(spec.f(x_train, torch.zeros(21, dtype=torch.long)), t**2 + (t - 1) ** 2)
    # 95th percentile of 21 increasing values = the 20th (t = 5.75, error 55.625): only the largest exceeds it
    assert spec.label_fn(x_train).tolist() == [0] * 20 + [1]
    probe = torch.tensor([[0.0, 5.7], [0.0, 5.8]])  # errors 54.58 and 56.68
    assert spec.label_fn(probe).tolist() == [0, 1]


def test_latent_target_is_the_unit_of_largest_training_variance():
    x_train = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    ds = toy_dataset(x_train)
    net = AutoEncoderNet(linear_layer([[1, 0], [0, 3]], [0, 0]), linear_layer([[1, 0], [0, 1]], [0, 0]))
    spec = AutoEncoder().target("latent", net, ds)
    assert torch.equal(spec.f(x_train, torch.zeros(50, dtype=torch.long)), 3 * x_train[:, 1])
    assert spec.representation_fn(x_train).shape == (50, 2)


def _hand_vae():
    # mu = x0 + x1, log-variance = log 0.25 (constant); D(z) = (2z, 0.5 - z); sigma = 2
    encoder = linear_layer([[1, 1], [0, 0]], [0, math.log(0.25)])
    decoder = linear_layer([[2], [-1]], [0, 0.5])
    return VAENet(encoder, decoder, log_sigma=math.log(2.0))


def test_neg_elbo_closed_form_on_hand_set_vae():
    net = _hand_vae()
    ds = toy_dataset(torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
    x = torch.tensor([[1.0, 0.0]])
    # mu = 1, var = 1/4, D(mu) = (2, -0.5), sigma^2 = 4
    nll = 0.5 * (((1 - 2) ** 2 + (0 + 0.5) ** 2) / 4 + 2 * math.log(2 * math.pi * 4))
    kl = 0.5 * (1 + 0.25 - 1 - math.log(0.25))
    vae = VariationalAutoEncoder()
    assert vae.target("neg_elbo", net, ds).f(x, NO_SELECTION).item() == pytest.approx(nll + kl, abs=1e-5)
    assert nll + kl == pytest.approx(0.28125 + math.log(16 * math.pi))
    assert vae.target("recon_error", net, ds).f(x, NO_SELECTION).item() == pytest.approx(1.25)
    assert vae.target("latent_mean", net, ds).f(x, NO_SELECTION).item() == pytest.approx(1.0)


def test_sampled_neg_elbo_adds_the_trace_term_for_a_linear_decoder():
    """E_eps[-ELBO] = deterministic value + var * ||D's column||^2 / (2 sigma^2) for a linear decoder."""
    net = _hand_vae()
    x = torch.tensor([[1.0, 0.0]]).repeat(200_000, 1)
    sampled = net.neg_elbo(x, torch.Generator().manual_seed(0)).mean().item()
    expected = net.neg_elbo(x[:1]).item() + 0.25 * (2**2 + 1**2) / (2 * 4)
    assert sampled == pytest.approx(expected, abs=5e-3)


def test_oracle_value_and_exact_ground_truth():
    task = xaibench.load_task("synthetic_linear", "oracle", "value", n_instances=32)
    x = task.inputs
    w = torch.tensor((2.0, -1.6, 1.2, -0.8, 0.6, -0.4, 0.2, 0.0, 0.0, 0.0))
    bound = task.bind(x)
    torch.testing.assert_close(bound(x), x @ w)
    torch.testing.assert_close(task.ground_truth(x), w * (x - task.baseline))
    assert task.label_fn(x).tolist() == (x @ w > 0).long().tolist()


@pytest.mark.parametrize("dataset", ["synthetic_interaction", "synthetic_linear"])
def test_randomized_oracle_permutes_inputs_and_keeps_exact_ground_truth(dataset):
    task = xaibench.load_task(dataset, "oracle", "value", n_instances=16)
    scrambled = task.randomized()
    x = task.inputs
    base = task.baseline.expand_as(x)
    f = scrambled.bind(x)
    assert not torch.allclose(f(x), task.bind(x)(x))
    # efficiency of the (permuted) exact baseline Shapley values: sum phi = f(x) - f(b)
    torch.testing.assert_close(scrambled.ground_truth(x).sum(1), f(x) - f(base), atol=1e-4, rtol=1e-4)


def test_oracle_labels_reproduce_the_generated_labels():
    for name in ("synthetic_copy", "synthetic_patch"):
        task = xaibench.load_task(name, "oracle", "value")
        assert task.quality["test_accuracy"] == 1.0
        assert task.ground_truth_signed is False
