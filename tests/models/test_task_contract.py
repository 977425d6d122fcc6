"""Every (model, target) pair of the zoo, on shipped weights, through ``load_task`` (the users' path).

Contract: ``f`` gives ``(N,)`` finite values, the same for a row alone or in a batch;
gradients w.r.t. the inputs exist and are finite; the decision ``label_fn`` agrees with the
network; ``randomized()`` changes the output; ground truth and representation have the right
shapes. Each model is checked on one dataset per kind it supports (and on a ground-truth set).
"""

from __future__ import annotations

import pytest
import torch

import xaibench
from xaibench.registries import models

N = 8
CASES = [
    ("synthetic_linear", "logreg"),
    ("breast_cancer", "mlp"), ("digits", "mlp"), ("synthetic_additive", "mlp"),
    ("digits", "cnn"), ("synthetic_patch", "cnn"),
    ("breast_cancer", "autoencoder"), ("digits", "autoencoder"),
    ("breast_cancer", "vae"), ("digits", "vae"),
    ("breast_cancer", "gan"), ("digits", "gan"),
    ("synthetic_copy", "sequence_lm"),
    ("digits_16x16", "cyclegan"), ("mnist_5k_16x16", "cnn"),
    ("tinyshakespeare", "char_lm"),
    ("synthetic_interaction", "oracle"), ("synthetic_patch", "oracle"), ("synthetic_copy", "oracle"),
]
SCORE_TARGET = {"autoencoder": "recon_error", "vae": "neg_elbo"}  # the anomaly score behind their decision
ANOMALY_TARGETS = {("cyclegan", "cycle_error")}  # targets of other models whose decision is an anomaly flag
REALNESS_TARGETS = {"discriminator", "translation_realness"}  # decision: the logit's sign


def _params():
    for dataset, model in CASES:
        for target in models.get(model).targets:
            yield pytest.param(dataset, model, target, id=f"{dataset}-{model}-{target}")


def test_every_zoo_model_and_target_is_covered():
    covered = {(m, t) for _, m, t in (p.values for p in _params())}
    zoo = [name for name, spec in models.items() if spec.__module__.startswith("xaibench.models.")]
    assert covered == {(m, t) for m in zoo for t in models.get(m).targets}


@pytest.fixture(scope="module")
def tasks():
    cache = {}

    def get(dataset, model, target):
        key = (dataset, model, target)
        if key not in cache:
            cache[key] = xaibench.load_task(dataset, model, target, n_instances=N)
        return cache[key]

    return get


@pytest.mark.parametrize("dataset,model,target", list(_params()))
def test_task_contract(tasks, dataset, model, target):
    task = tasks(dataset, model, target)
    x = task.inputs
    assert len(x) == N
    if model != "oracle":  # the oracle has no weights to ship
        assert task.meta["weights_source"] == "shipped", "run `python -m xaibench.models._ship` for this pair"
    bound = task.bind(x)
    values, grads = bound.value_and_grad(x)
    assert values.shape == (N,) and values.dtype == x.dtype and torch.isfinite(values).all()
    assert grads.shape == x.shape and torch.isfinite(grads).all() and grads.abs().sum() > 0
    torch.testing.assert_close(bound(x), values)
    alone = task.bind(x[:1])(x[:1])  # one row alone = the same row in a batch
    torch.testing.assert_close(alone, values[:1], rtol=1e-4, atol=1e-4)

    labels = task.label_fn(x)
    assert labels.shape == (N,) and labels.dtype == torch.long
    _check_decision(task, dataset, model, target, x, labels)

    randomized = task.randomized()
    assert randomized.meta["randomized"] and randomized.inputs.shape == x.shape
    assert (randomized.bind(x)(x) - values).abs().max() > 1e-3

    if task.ground_truth is not None:
        truth = task.ground_truth(x)
        assert truth.shape == x.shape and torch.isfinite(truth).all()
    if task.representation_fn is not None:
        h = task.representation_fn(x)
        assert h.dim() == 2 and len(h) == N and torch.isfinite(h).all()


def _check_decision(task, dataset, model, target, x, labels):
    """The decision agrees with the network that ``f`` explains."""
    if model in SCORE_TARGET or (model, target) in ANOMALY_TARGETS:
        # anomaly flag: the score above its 95th training percentile, the same for every target
        score_task = xaibench.load_task(dataset, model, SCORE_TARGET.get(model, target), n_instances=N)
        ds = xaibench.load_dataset(dataset)
        train_scores = score_task.bind(ds.x_train)(ds.x_train)
        threshold = torch.quantile(train_scores.double(), 0.95).float()
        assert torch.equal(labels, (score_task.bind(x)(x) > threshold).long())
        assert torch.equal(score_task.label_fn(ds.x_train).float().mean(), (train_scores > threshold).float().mean())
    elif target in REALNESS_TARGETS:
        assert torch.equal(labels, (task.bind(x)(x) > 0).long())
    elif model == "oracle":
        assert set(labels.tolist()) <= set(range(xaibench.load_dataset(dataset).n_classes))
    else:
        # class decisions: the argmax over classes of f(x, c) (log-odds and probabilities are monotone in p_c)
        n_out = xaibench.load_dataset(dataset).n_classes  # the generator's fixed classifier has the same classes
        per_class = torch.stack([task.f(x, torch.full((N,), c)) for c in range(n_out)], 1)
        assert torch.equal(labels, per_class.argmax(1))
        if target != "next_token_logprob":  # which explains the observed next token, not the predicted one
            assert torch.equal(task.select(x), labels)


@pytest.mark.parametrize("dataset,model,target", [
    ("breast_cancer", "mlp", "logit"), ("digits", "vae", "neg_elbo"), ("digits", "gan", "generator"),
    ("synthetic_copy", "sequence_lm", "next_token_logprob"), ("synthetic_linear", "oracle", "value"),
    ("digits_16x16", "cyclegan", "translation_logit"), ("tinyshakespeare", "char_lm", "next_token_logprob"),
])
def test_float64_tasks_agree_with_float32(tasks, dataset, model, target):
    task64 = xaibench.load_task(dataset, model, target, n_instances=N, dtype=torch.float64)
    task32 = tasks(dataset, model, target)
    x = task64.inputs
    values, grads = task64.bind(x).value_and_grad(x)
    assert values.dtype == grads.dtype == torch.float64
    torch.testing.assert_close(values.float(), task32.bind(task32.inputs)(task32.inputs), rtol=1e-4, atol=1e-4)
    if task64.ground_truth is not None:
        assert task64.ground_truth(x).dtype == torch.float64
