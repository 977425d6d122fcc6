"""Language-model pieces by hand (:mod:`xaibench.models._lm`) and the shipped ``char_lm`` on Tiny Shakespeare."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import xaibench
from xaibench.dataset import load_dataset
from xaibench.models._lm import ObservedNextToken, block_nll, lm_target, mean_embedding, nearest_tokens
from xaibench.models.char_lm import bigram_bpc, bigram_log_probs, generate


class BagOfEmbeddingsLM(nn.Module):
    """A hand-set causal "LM": logits at position t = W · (sum of the embeddings up to t)."""

    def __init__(self, table, weight):
        super().__init__()
        self.table = nn.Parameter(torch.as_tensor(table, dtype=torch.float32))
        self.weight = torch.as_tensor(weight, dtype=torch.float32)

    def embedding_table(self):
        return self.table

    def logits(self, embeds):
        return embeds.cumsum(1) @ self.weight.T

    def last_hidden(self, embeds):
        return embeds.sum(1)

    def forward(self, ids):
        return self.logits(self.table[ids])


TABLE = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]  # 3 tokens, width 2
WEIGHT = [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]  # logits (s0, s1, 0) of the summed embedding s


def _hand_task(name):
    net = BagOfEmbeddingsLM(TABLE, WEIGHT)
    instances = torch.tensor([[0, 0], [1, 2]])
    observed = ObservedNextToken(instances, torch.tensor([2, 0]))
    spec = lm_target(name, net, instances=instances, background=instances, observed=observed,
                     token_frequencies_of=torch.tensor([0, 0, 1, 2]))
    return net, spec


def test_next_token_logprob_by_hand():
    net, spec = _hand_task("next_token_logprob")
    x = spec.inputs  # embeddings: [[e0, e0], [e1, e2]] -> sums (2, 0) and (1, 2)
    assert x.shape == (2, 2, 2) and torch.equal(spec.groups, torch.tensor([[0, 0], [1, 1]]))
    s = spec.select(x)
    assert s.tolist() == [2, 0]  # the observed next tokens, found from the embeddings
    # row 0: logits (2, 0, 0), token 2: 0 - log(e^2 + 2); row 1: logits (1, 2, 0), token 0: 1 - log(e + e^2 + 1)
    expected = [-math.log(math.e**2 + 2), 1 - math.log(math.e + math.e**2 + 1)]
    assert spec.f(x, s).tolist() == pytest.approx(expected, abs=1e-6)
    assert spec.label_fn(x).tolist() == [0, 1]
    # baseline: frequency-weighted mean embedding (tokens 0, 0, 1, 2) = (2 e0 + e1 + e2) / 4 at both positions
    torch.testing.assert_close(spec.baseline, torch.tensor([[0.75, 0.5], [0.75, 0.5]]))
    # a window found nowhere falls back to the model's prediction
    unknown = net.table[torch.tensor([[2, 2]])].detach()  # sum (2, 2): logits (2, 2, 0) -> argmax 0
    assert spec.select(unknown).tolist() == [0]
    # small noise on the embeddings still decodes to the same window
    assert spec.select(x + 0.1).tolist() == [2, 0]


def test_logit_margin_by_hand():
    _, spec = _hand_task("logit_margin")
    x = spec.inputs
    c = spec.select(x)
    assert c.tolist() == [0, 1]  # the predicted token
    assert spec.f(x, c).tolist() == pytest.approx([2.0, 1.0])  # (2 - 0) and (2 - 1)
    assert spec.f(x, torch.tensor([2, 2])).tolist() == pytest.approx([-2.0, -2.0])  # a token that is not the argmax


def test_nearest_tokens_mean_embedding_and_lookup():
    table = torch.tensor(TABLE)
    assert nearest_tokens(torch.tensor([[[0.9, 0.1], [0.6, 0.7], [0.0, 0.8]]]), table).tolist() == [[0, 2, 1]]
    torch.testing.assert_close(mean_embedding(table, torch.tensor([1, 1, 2])), torch.tensor([1 / 3, 1.0]))
    lookup = ObservedNextToken(torch.tensor([[1, 2], [2, 2]]), torch.tensor([5, 7]))
    following, found = lookup(torch.tensor([[2, 2], [2, 1], [1, 2]]))
    assert following.tolist() == [7, 0, 5] and found.tolist() == [True, False, True]


def test_block_nll_predicts_every_token_but_the_first_once():
    net = BagOfEmbeddingsLM(TABLE, torch.zeros(3, 2))  # uniform over 3 tokens: log 3 nats per token
    ids = torch.tensor([0, 1, 2, 0, 1, 2, 2])
    for length in (1, 2, 4, 6, 10):
        nats, count = block_nll(net, ids, length)
        assert count == 6 and nats == pytest.approx(6 * math.log(3))


def test_bigram_by_hand():
    log_p = bigram_log_probs(torch.tensor([0, 1, 0, 1, 1]), vocab=2, smoothing=1.0)
    # counts after 0: (0, 2) + 1 -> (1/4, 3/4); after 1: (1, 1) + 1 -> (1/2, 1/2)
    torch.testing.assert_close(log_p.exp(), torch.tensor([[0.25, 0.75], [0.5, 0.5]], dtype=torch.float64))


def test_copy_rule_does_not_force_the_next_character():
    """The char_lm docstring's reason for giving no ground truth, measured on the test split: where the
    last 8 characters occurred earlier in the 64-character window, the character that followed the
    earlier occurrence is the next character only about 3 times in 4 — a copy does not force it."""
    text = load_dataset("tinyshakespeare").meta["text"]["test"]
    applies = right = 0
    for t in range(64, len(text)):
        window = text[t - 64 : t]
        j = window.rfind(window[-8:], 0, 63)
        if 0 <= j and j + 8 < 64:
            applies += 1
            right += window[j + 8] == text[t]
    assert 300 < applies < 400 and 0.70 < right / applies < 0.77


# -- the shipped char_lm --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def char_task():
    return xaibench.load_task("tinyshakespeare", "char_lm", "next_token_logprob", n_instances=8)


def test_char_lm_beats_the_bigram_by_a_clear_margin(char_task):
    q = char_task.quality
    assert char_task.meta["weights_source"] == "shipped"
    assert q["bigram_test_bpc"] == pytest.approx(bigram_bpc(load_dataset("tinyshakespeare")))
    assert 3.3 < q["bigram_test_bpc"] < 3.8  # the usual character bigram on Shakespeare
    assert q["test_bpc"] < q["bigram_test_bpc"] - 1.0


def test_char_lm_is_causal_and_explains_the_observed_character(char_task):
    ds = load_dataset("tinyshakespeare")
    bound = char_task.bind(char_task.inputs)
    assert torch.equal(bound.selector, ds.y_test[:8])  # the observed next characters
    from xaibench.models.char_lm import CharLM
    from xaibench.weights import load_model

    net = load_model(CharLM(), ds).module
    ids = ds.x_test[:2].clone()
    before = net(ids)
    ids[:, 40] = (ids[:, 40] + 1) % 65  # change position 40: positions < 40 must not move
    after = net(ids)
    torch.testing.assert_close(before[:, :40], after[:, :40])
    assert (before[:, 40:] - after[:, 40:]).abs().max() > 1e-3
    expected = net(ds.x_test[:8])[:, -1].log_softmax(-1).gather(1, ds.y_test[:8, None]).squeeze(1)
    torch.testing.assert_close(bound(char_task.inputs), expected.detach(), rtol=1e-5, atol=1e-5)


def test_generation_is_seeded_and_speaks_shakespeare():
    from xaibench.models.char_lm import CharLM
    from xaibench.weights import load_model

    ds = load_dataset("tinyshakespeare")
    net = load_model(CharLM(), ds).module
    a = generate(net, ds.meta["alphabet"], "ROMEO:\n", 80, seed=0)
    assert a == generate(net, ds.meta["alphabet"], "ROMEO:\n", 80, seed=0) != generate(net, ds.meta["alphabet"],
                                                                                       "ROMEO:\n", 80, seed=1)
    assert a.startswith("ROMEO:\n") and len(a) == 87
    words = [w.strip(".,;:!?'") for w in a.split()]
    common = {"the", "and", "i", "to", "of", "a", "my", "you", "that", "is", "in", "not", "with", "me", "it", "be"}
    assert sum(w.lower() in common for w in words) >= 3  # real English words, not noise
