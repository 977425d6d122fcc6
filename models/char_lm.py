"""``char_lm``: a small character-level causal Transformer language model on real text (``"text"`` datasets).

Architecture (GPT-style, pre-norm; Radford et al. 2018): token embedding ``V → E`` plus learned
position embeddings over a context of ``L = 64`` characters, 3 blocks of [LayerNorm → 4-head
**causal** self-attention → residual, LayerNorm → MLP ``E → 4E → E`` (GELU) → residual], a final
LayerNorm and a linear map to ``V`` next-character logits at every position; ``E = 64``
(about 163,000 parameters, 0.65 MB of weights); the blocks are :mod:`.sequence_lm`'s, with the
causal mask. Why this size: the quick suite explains it with sampling methods (thousands of
evaluations per instance); a 96-wide model costs twice as much per evaluation, and trained for
2,000 steps it reached 2.33 bits per character on the validation split (this one: 2.30).

Recipe (deterministic: one CPU thread, seeded draws): windows of ``L + 1`` characters at random
offsets of the training text (a seeded generator), every position predicted (cross-entropy),
AdamW (lr 3e-3, β = (0.9, 0.99), weight decay 0.01), 100 warm-up steps then a cosine decay to 0,
gradients clipped to norm 1, 4,000 updates of 32 windows (about 8 passes over the training text).

Targets (:mod:`._lm`): ``next_token_logprob`` (log-probability of the observed next character)
and ``logit_margin`` (of the predicted character), on the **token embeddings** of the last ``L``
characters (players: the 64 positions; baseline: the frequency-weighted mean character
embedding). Instances: the dataset's test windows; background: its training windows.

**No ground truth.** The data-generating process of real text is unknown, so no attribution is
true by construction. The natural candidate — positions whose next character is "forced by an
earlier copy in the context", such as a repeated speaker tag — does not hold: in Tiny
Shakespeare, a character whose preceding 8 characters also occur earlier in the same 64-character
window is the character that followed that earlier occurrence in only about 3 cases in 4
(measured on the test split; see ``tests/models/test_language_models.py``), and even where the copy
is right the model can predict it from the local prefix alone (a word seen a thousand times in
training), so the earlier copy need not carry the attribution. We therefore give none rather
than invent one.

Quality (test split, :func:`._lm.block_nll`): ``test_bpc``, held-out cross-entropy in bits per
character; ``bigram_test_bpc``, the same for a character-bigram model fitted on the training text
(additive smoothing, its constant chosen on the validation split) on exactly the same characters;
``next_char_accuracy``: the argmax prediction after each test window against the observed next
character. :func:`generate` samples text (the README shows a sample).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xaibench.dataset import Dataset
from xaibench.errors import NotApplicableError
from xaibench.model import TargetSpec, register_model

from ._lm import LM_TARGETS, ObservedNextToken, bits, block_nll, lm_target
from ._nets import module_device, one_thread
from ._quality import accuracy
from ._spec import ZooModel
from ._train import chunked
from .sequence_lm import Block

BIGRAM_SMOOTHING = (0.01, 0.03, 0.1, 0.3, 1.0)
"""Additive-smoothing constants tried for the bigram baseline; the best on the validation split is used."""


class CharTransformer(nn.Module):
    """Causal Transformer over ``(B, L)`` character ids → ``(B, L, V)`` logits (see the module docstring)."""

    def __init__(self, vocab: int, length: int, width: int, heads: int, layers: int, mlp_width: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.position = nn.Parameter(0.02 * torch.randn(length, width))
        self.blocks = nn.Sequential(*[Block(width, heads, mlp_width, causal=True) for _ in range(layers)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)

    def embedding_table(self) -> Tensor:
        return self.embed.weight

    def _hidden(self, embeds: Tensor) -> Tensor:
        return self.norm(self.blocks(embeds + self.position[: embeds.shape[1]]))

    def logits(self, embeds: Tensor) -> Tensor:
        return self.head(self._hidden(embeds))

    def last_hidden(self, embeds: Tensor) -> Tensor:
        return self._hidden(embeds)[:, -1]

    def forward(self, ids: Tensor) -> Tensor:
        return self.logits(self.embed(ids))


def text_ids(dataset: Dataset, split: str) -> Tensor:
    """The character ids of a split (``"train"``, ``"validation"``, ``"test"``) of a ``"text"`` dataset."""
    from xaibench.datasets._text import encode  # noqa: PLC0415 - a text dataset's own encoding

    return encode(dataset.meta["text"][split], dataset.meta["alphabet"])


def bigram_log_probs(train: Tensor, vocab: int, smoothing: float) -> Tensor:
    """``(V, V)`` ``log p(next | previous)`` from bigram counts of ``train`` plus ``smoothing`` per cell."""
    counts = torch.bincount(train[:-1] * vocab + train[1:], minlength=vocab * vocab).double().reshape(vocab, vocab)
    counts += smoothing
    return (counts / counts.sum(1, keepdim=True)).log()


def bigram_bpc(dataset: Dataset) -> float:
    """Held-out bits per character of the character-bigram baseline on the test split (every character
    but the first, predicted from the one before), its smoothing chosen on the validation split."""
    vocab = dataset.n_classes
    train, val, test = (text_ids(dataset, s) for s in ("train", "validation", "test"))

    def nll(table: Tensor, ids: Tensor) -> float:
        return float(-table[ids[:-1], ids[1:]].mean())

    best = min((bigram_log_probs(train, vocab, a) for a in BIGRAM_SMOOTHING), key=lambda t: nll(t, val))
    return bits(nll(best, test))


@torch.no_grad()
def generate(module: CharTransformer, alphabet: str, prompt: str, n_chars: int, *, temperature: float = 0.8,
             seed: int = 0) -> str:
    """``prompt`` continued by ``n_chars`` characters sampled at ``temperature`` (a seeded CPU generator),
    each conditioned on the last ``L`` characters."""
    from xaibench.datasets._text import encode  # noqa: PLC0415

    length = module.position.shape[0]
    ids = encode(prompt, alphabet).tolist()
    generator = torch.Generator().manual_seed(seed)
    device, _ = module_device(module)
    for _ in range(n_chars):
        context = torch.tensor([ids[-length:]], device=device)
        probabilities = (module(context)[0, -1].double().cpu() / temperature).softmax(-1)
        ids.append(int(torch.multinomial(probabilities, 1, generator=generator)))
    return "".join(alphabet[i] for i in ids)


@register_model
class CharLM(ZooModel):
    name = "char_lm"
    description = "character-level causal Transformer (3 layers, context 64) on real text; targets on token embeddings"
    kinds = frozenset({"text"})
    targets = LM_TARGETS
    width, heads, layers, mlp_ratio = 64, 4, 3, 4
    steps, batch_size, lr, warmup, weight_decay = 4000, 32, 3e-3, 100, 0.01
    betas = (0.9, 0.99)

    def supports(self, dataset: Dataset) -> bool:
        return dataset.kind == "text" and "alphabet" in dataset.meta

    def architecture(self, dataset: Dataset) -> nn.Module:
        if not self.supports(dataset):
            raise NotApplicableError(f"char_lm needs a character-level text dataset, not {dataset.name}")
        return CharTransformer(dataset.n_classes, dataset.meta["context"], self.width, self.heads, self.layers,
                               self.mlp_ratio * self.width)

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        with one_thread():
            return self._fit(dataset, seed)

    def _fit(self, dataset: Dataset, seed: int) -> nn.Module:
        net = self.build(dataset, seed)
        stream = text_ids(dataset, "train")
        length = dataset.meta["context"]
        optimiser = torch.optim.AdamW(net.parameters(), lr=self.lr, betas=self.betas, weight_decay=self.weight_decay)
        generator = torch.Generator().manual_seed(int(seed))
        net.train()
        for step in range(self.steps):
            rate = self.lr * min(1.0, (step + 1) / self.warmup) * 0.5 * (1 + math.cos(math.pi * step / self.steps))
            for group in optimiser.param_groups:
                group["lr"] = rate
            starts = torch.randint(len(stream) - length, (self.batch_size,), generator=generator)
            window = stream[starts[:, None] + torch.arange(length + 1)]
            loss = F.cross_entropy(net(window[:, :-1]).flatten(0, 1), window[:, 1:].flatten())
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimiser.step()
        return net.eval()

    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        device, _ = module_device(module)
        with one_thread():  # a few thousand small matrix products: threads only contend (see _nets.one_thread)
            nats, count = block_nll(module, text_ids(dataset, "test"), dataset.meta["context"])
            predicted = chunked(lambda ids: module(ids)[:, -1].argmax(-1), dataset.x_test.to(device))
        return {"test_bpc": bits(nats / count), "bigram_test_bpc": bigram_bpc(dataset),
                "next_char_accuracy": accuracy(predicted.cpu(), dataset.y_test)}

    def target(self, name: str, module: nn.Module, dataset: Dataset) -> TargetSpec:
        windows = torch.cat([dataset.x_test, dataset.x_train])
        observed = ObservedNextToken(windows, torch.cat([dataset.y_test, dataset.y_train]))
        order = torch.randperm(len(dataset.x_train), generator=torch.Generator().manual_seed(0))
        return lm_target(name, module, instances=dataset.x_test, background=dataset.x_train[order[:1000]],
                         observed=observed, token_frequencies_of=text_ids(dataset, "train"))
