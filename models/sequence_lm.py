"""``sequence_lm``: a small Transformer that predicts the next token of a one-hot sequence.

Architecture (Vaswani et al. 2017, pre-norm): one-hot ``(L, V)`` input → token embedding
(a bias-free linear map, so a partly "absent" position — a zero or fractional one-hot row, as
perturbation methods produce — embeds continuously) + learned position embeddings → 2 blocks of
[LayerNorm → 4-head self-attention (bidirectional) → residual, LayerNorm → MLP 64-128-64 (GELU)
→ residual] → LayerNorm → the last position's state → linear map to ``V`` next-token logits.
Attention is ``torch.nn.functional.scaled_dot_product_attention`` (softmax of scaled dot products),
whose inputs are differentiable on any device in evaluation mode (cuDNN RNNs, the other option,
refuse input gradients outside training mode).

Target ``next_token_logprob``: ``log p(s | x)``, the log-probability of the **observed** next
token ``s``: ``s = oracle.label(x)`` when the dataset's oracle defines the true next token
(``synthetic_copy``: the token after the marker), else the model's argmax. Decision: the argmax
token. Representation: the final state. Ground truth (``synthetic_copy``): the oracle's 0/1 mask
of the marker and copied positions. Inputs are one-hot; groups (from the dataset) are positions.

Recipe: cross-entropy, AdamW (lr 3e-3, weight decay 1e-4), 3,000 steps of 64 sequences.
Quality: ``next_token_accuracy`` (the copy position) and ``next_token_nll`` on the test split.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from xaibench.dataset import Dataset
from xaibench.model import TargetSpec, register_model

from ._quality import accuracy
from ._spec import ZooModel
from ._targets import oracle_ground_truth
from ._train import Schedule, chunked, train


class SelfAttention(nn.Module):
    """Multi-head self-attention (``F.scaled_dot_product_attention``, which differentiates inputs on any
    device in evaluation mode); ``causal``: position ``t`` attends to positions ``≤ t`` only."""

    def __init__(self, width: int, heads: int, causal: bool = False):
        super().__init__()
        self.heads = heads
        self.causal = causal
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, h: Tensor) -> Tensor:
        b, length, width = h.shape
        q, k, v = self.qkv(h).reshape(b, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.out(attended.transpose(1, 2).reshape(b, length, width))


class Block(nn.Module):
    """Pre-norm Transformer block: ``h + attention(LN(h))``, then ``h + MLP(LN(h))`` (GELU)."""

    def __init__(self, width: int, heads: int, mlp_width: int, causal: bool = False):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention = SelfAttention(width, heads, causal)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_width), nn.GELU(), nn.Linear(mlp_width, width))

    def forward(self, h: Tensor) -> Tensor:
        h = h + self.attention(self.norm1(h))
        return h + self.mlp(self.norm2(h))


class NextTokenTransformer(nn.Module):
    def __init__(self, length: int, vocab: int, n_out: int, width: int = 64, heads: int = 4, layers: int = 2):
        super().__init__()
        self.embed = nn.Linear(vocab, width, bias=False)
        self.position = nn.Parameter(0.02 * torch.randn(length, width))
        self.blocks = nn.Sequential(*[Block(width, heads, 2 * width) for _ in range(layers)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, n_out)

    def state(self, x: Tensor) -> Tensor:
        """``(B, L, V)`` → ``(B, width)``: the final state at the last position."""
        return self.norm(self.blocks(self.embed(x) + self.position))[:, -1]

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.state(x))


@register_model
class SequenceLM(ZooModel):
    name = "sequence_lm"
    description = "2-layer Transformer next-token model on one-hot sequences; target next_token_logprob"
    kinds = frozenset({"sequence"})
    targets = {"next_token_logprob": "log-probability of the observed next token (oracle label, else argmax)"}
    schedule = Schedule(steps=3000, batch_size=64, lr=3e-3, weight_decay=1e-4)

    def architecture(self, dataset: Dataset) -> nn.Module:
        length, vocab = dataset.feature_shape
        return NextTokenTransformer(length, vocab, dataset.n_classes)

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        net = self.build(dataset, seed)
        x, y = dataset.x_train, dataset.y_train
        return train(net, lambda idx, _g: F.cross_entropy(net(x[idx]), y[idx]), len(x), self.schedule, seed)

    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        logits = chunked(module, dataset.x_test)
        return {"next_token_accuracy": accuracy(logits.argmax(1), dataset.y_test),
                "next_token_nll": float(F.cross_entropy(logits, dataset.y_test))}

    def target(self, name: str, module: nn.Module, dataset: Dataset) -> TargetSpec:
        def predicted(x: Tensor) -> Tensor:
            return module(x).argmax(1)

        oracle = dataset.oracle
        observed = oracle.label if oracle is not None and oracle.label is not None else predicted
        truth, signed = oracle_ground_truth(dataset, observed)
        return TargetSpec(
            f=lambda x, s: module(x).log_softmax(1).gather(1, s[:, None]).squeeze(1),
            label_fn=predicted, select=lambda x: observed(x).long(), representation_fn=module.state,
            ground_truth=truth, ground_truth_signed=signed,
        )
