"""What the language models share (``char_lm``, ``hf:<model>``): targets over token embeddings,
the observed next token, and held-out bits per character.

**Inputs are token embeddings** ``(N, L, E)``, as Hugging Face's ``inputs_embeds``: the network
from the embedding onward is the function explained, so gradient, perturbation, Shapley and LIME
methods all apply. **Players are context positions**: the groups are ``(L, E)`` position ids, so
perturbation methods switch a whole position's embedding on or off. **Baseline** (the "absent"
token): the **mean embedding** ``Σ_v p_v e_v`` under the training text's token frequencies ``p``,
at every position — the embedding of an average token, neither a real token nor the zero vector
(which a model never sees and which some architectures treat specially).

Targets (``c`` pinned at the explained instance):

* ``next_token_logprob``: ``log p(s | x)``, the log-probability of the **observed** next token
  ``s``: the token that follows the window in the text. A perturbed copy of a window (methods and
  metrics evaluate many) keeps the observed token of its window: the selector is chosen once, at
  the explained instance. Which window an embedding tensor is: each position is decoded to its
  nearest embedding row, and the decoded window is looked up among the dataset's windows (every
  test window and every background window); a window found nowhere (an input that is not text of
  the dataset) is explained for the model's own prediction instead.
* ``logit_margin``: ``z_c − max_{j≠c} z_j`` for the predicted token ``c = argmax z``: how decisively
  the model prefers its prediction (logit differences are gauge-free).

Decision (``label_fn``) of both: the predicted next token. Representation: the final hidden
state at the last position. No ground truth: see the model modules for why.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import torch
from torch import Tensor

from xaibench.model import TargetSpec

LM_TARGETS = {
    "next_token_logprob": "log-probability of the observed next token; inputs are token embeddings, players positions",
    "logit_margin": "logit of the predicted next token minus the largest other logit",
}


class CausalLM(Protocol):
    """The interface a language model's module offers to the shared targets."""

    def embedding_table(self) -> Tensor:
        """``(V, E)`` token embeddings (the module's own parameter)."""

    def logits(self, embeds: Tensor) -> Tensor:
        """``(B, L, E)`` embeddings → ``(B, L, V)`` next-token logits at every position (causal)."""

    def last_hidden(self, embeds: Tensor) -> Tensor:
        """``(B, L, E)`` → ``(B, H)`` the final hidden state at the last position."""


class ObservedNextToken:
    """Maps windows of token ids to the token that follows them in the text (exact lookup)."""

    def __init__(self, windows: Tensor, following: Tensor):
        self._next = {bytes(row): int(t) for row, t in zip(_rows(windows), following.tolist())}

    def __call__(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, L)`` ids → ``(next (B,), found (B,) bool)``; ``next`` is 0 where not found."""
        hits = [self._next.get(bytes(row), -1) for row in _rows(ids)]
        out = torch.tensor(hits, dtype=torch.long, device=ids.device)
        return out.clamp(min=0), out >= 0


def _rows(ids: Tensor) -> list:
    return list(ids.detach().cpu().to(torch.int64).numpy())


def nearest_tokens(embeds: Tensor, table: Tensor) -> Tensor:
    """``(B, L, E)`` → ``(B, L)`` ids of the nearest embedding rows (squared Euclidean distance)."""
    scores = embeds @ table.T - 0.5 * table.square().sum(1)
    return scores.argmax(-1)


def mean_embedding(table: Tensor, token_ids: Tensor) -> Tensor:
    """``(E,)`` the embedding averaged under the frequencies of ``token_ids`` (the baseline token)."""
    counts = torch.bincount(token_ids.flatten().cpu(), minlength=table.shape[0]).to(table)
    return counts @ table / counts.sum()


def lm_target(name: str, net: CausalLM, *, instances: Tensor, background: Tensor, observed: ObservedNextToken,
              token_frequencies_of: Tensor) -> TargetSpec:
    """The target ``name`` of :data:`LM_TARGETS` for ``net`` (see the module docstring).

    ``instances``/``background``: ``(N, L)`` / ``(M, L)`` long windows; ``token_frequencies_of``:
    training token ids defining the baseline embedding.
    """
    table = net.embedding_table().detach()
    length = instances.shape[1]

    def last_logits(embeds: Tensor) -> Tensor:
        return net.logits(embeds)[:, -1]

    def predicted(embeds: Tensor) -> Tensor:
        return last_logits(embeds).argmax(-1)

    def observed_token(embeds: Tensor) -> Tensor:
        with torch.no_grad():
            following, found = observed(nearest_tokens(embeds, table.to(embeds)))
            return torch.where(found, following, predicted(embeds))

    f: Callable[[Tensor, Tensor], Tensor]
    if name == "next_token_logprob":
        def f(embeds: Tensor, s: Tensor) -> Tensor:
            return last_logits(embeds).log_softmax(-1).gather(1, s[:, None]).squeeze(1)

        select = observed_token
    elif name == "logit_margin":
        def f(embeds: Tensor, c: Tensor) -> Tensor:
            z = last_logits(embeds)
            return z.gather(1, c[:, None]).squeeze(1) - z.scatter(1, c[:, None], float("-inf")).max(1).values

        select = predicted
    else:  # pragma: no cover - load_task validates target names first
        raise KeyError(name)
    width = table.shape[1]
    return TargetSpec(
        f=f, label_fn=predicted, select=select, representation_fn=net.last_hidden,
        inputs=table[instances.to(table.device)], background=table[background.to(table.device)],
        baseline=mean_embedding(table, token_frequencies_of).expand(length, width).clone(), kind="sequence",
        groups=torch.arange(length)[:, None].expand(length, width).clone(), use_dataset_groups=False,
    )


@torch.no_grad()
def block_nll(net: CausalLM, ids: Tensor, length: int, batch: int = 64) -> tuple[float, int]:
    """Summed negative log-likelihood (nats) of ``ids[1:]`` and the number of tokens predicted.

    The stream is cut into blocks of ``length + 1`` tokens starting every ``length`` tokens
    (consecutive blocks share one token); in each, tokens ``1..length`` are predicted from the
    tokens before them in the block, so every token but the first is predicted exactly once,
    with between 1 and ``length`` tokens of context.
    """
    table = net.embedding_table()
    n_blocks = (len(ids) - 1) // length
    starts = torch.arange(n_blocks) * length
    blocks = ids[starts[:, None] + torch.arange(length + 1)]
    tail = ids[n_blocks * length :]
    total, count = 0.0, 0
    for chunk in [*blocks.split(batch), *([tail[None]] if len(tail) > 1 else [])]:
        chunk = chunk.to(table.device)
        logits = net.logits(table[chunk[:, :-1]])
        total += float(torch.nn.functional.cross_entropy(logits.flatten(0, 1).double(), chunk[:, 1:].flatten(),
                                                         reduction="sum"))
        count += chunk[:, 1:].numel()
    return total, count


def bits(nats: float) -> float:
    return nats / math.log(2)
