"""Synthetic tabular datasets whose exact (baseline) Shapley values are known in closed form.

All three draw ``x ~ N(0, I_10)`` (5,000 rows, seed 0) and labels ``y ~ Bernoulli(sigmoid(s(x)))``
from a known log-odds ``s`` (see :func:`._synthetic.gaussian_logistic`; 20 % stratified test
split, seed 0; features are not rescaled, they are already standard). The :class:`Oracle`
exposes ``s`` as ``score`` and its exact attributions relative to a baseline ``b`` as
``attributions(x, b)``: the **baseline Shapley values** of the game ``v(S) = s(x_S, b_rest)``
(Sundararajan & Najmi 2020), which satisfy efficiency ``Σ_i φ_i = s(x) − s(b)``. For these three
functions they coincide with Integrated Gradients along the straight path from ``b`` (Sundararajan
et al. 2017), so exact methods run on the oracle itself must reproduce them to float precision.
Bayes accuracies (``meta["bayes_accuracy"]``): linear 0.837, additive 0.849, interaction 0.818.

* ``synthetic_linear``: ``s(x) = w·x``, ``φ = w ⊙ (x − b)``; ``w`` has seven distinct non-zero
  magnitudes and three zeros (features 7-9 are irrelevant).
* ``synthetic_additive``: ``s(x) = Σ_i g_i(x_i)`` with non-linear ``g_i`` (sine, centred
  square, tanh, linear, centred absolute value, Gaussian bump, cosine) and ``g_7 = g_8 = g_9 = 0``;
  ``φ_i = g_i(x_i) − g_i(b_i)``. Every ``g_i`` has mean zero under N(0, 1), so classes are balanced.
* ``synthetic_interaction``: ``s(x) = w·x + Σ_{(i,j)} a_ij x_i x_j`` over a few pairs. The
  Shapley value of a product ``x_i x_j`` relative to ``b`` splits its change evenly:
  ``φ_i = ½ (x_i − b_i)(x_j + b_j)`` (average of ``x_i x_j − b_i x_j`` and ``x_i b_j − b_i b_j``), so
  with ``S`` the symmetric matrix of ``a_ij``: ``φ = w ⊙ (x − b) + ½ (x − b) ⊙ (S (x + b))``.
  Features 3, 5 and 7 act only through interactions; 8 and 9 are irrelevant.

Every oracle function takes ``(..., 10)`` inputs on any device and dtype (the constants move to
the input) and is built from module-level functions and ``functools.partial``, so it pickles.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import torch
from torch import Tensor

from xaibench.dataset import Dataset, Oracle, register_dataset

from ._synthetic import gaussian_logistic, per_feature

VERSION = "1"

# -- linear ----------------------------------------------------------------------------------
LINEAR_WEIGHTS = (2.0, -1.6, 1.2, -0.8, 0.6, -0.4, 0.2, 0.0, 0.0, 0.0)


def linear_score(weights: Tensor, x: Tensor) -> Tensor:
    return x @ weights.to(x)


def linear_attributions(weights: Tensor, x: Tensor, baseline: Tensor) -> Tensor:
    return weights.to(x) * (x - baseline.to(x))


def linear_oracle(weights: tuple[float, ...] = LINEAR_WEIGHTS) -> Oracle:
    w = torch.tensor(weights, dtype=torch.float64)
    return Oracle(score=partial(linear_score, w), attributions=partial(linear_attributions, w),
                  description="s(x) = w·x; phi = w * (x - b)")


LINEAR = "synthetic: x ~ N(0, I_10), y ~ Bernoulli(sigmoid(w·x)), 3 zero weights; exact phi = w*(x-b)"


@register_dataset("synthetic_linear", kind="tabular", description=LINEAR)
def load_synthetic_linear(data_dir: Path) -> Dataset:
    return gaussian_logistic("synthetic_linear", VERSION, linear_oracle(), LINEAR, {"weights": LINEAR_WEIGHTS})


# -- additive -------------------------------------------------------------------------------
def sine(x: Tensor) -> Tensor:
    return 2.0 * torch.sin(1.5 * x)


def centred_square(x: Tensor) -> Tensor:
    return x.square() - 1.0


def tanh(x: Tensor) -> Tensor:
    return 2.0 * torch.tanh(x)


def negative_linear(x: Tensor) -> Tensor:
    return -1.5 * x


def centred_abs(x: Tensor) -> Tensor:
    return 2.0 * (x.abs() - math.sqrt(2.0 / math.pi))


def bump(x: Tensor) -> Tensor:
    return -3.0 * (torch.exp(-x.square()) - 1.0 / math.sqrt(3.0))


def cosine(x: Tensor) -> Tensor:
    return 1.5 * (torch.cos(2.0 * x) - math.exp(-2.0))


def zero(x: Tensor) -> Tensor:
    return torch.zeros_like(x)


ADDITIVE_TERMS = (sine, centred_square, tanh, negative_linear, centred_abs, bump, cosine, zero, zero, zero)
"""``g_i``; each has mean zero when ``x_i ~ N(0, 1)``."""


def additive_score(x: Tensor) -> Tensor:
    return per_feature(ADDITIVE_TERMS, x).sum(-1)


def additive_attributions(x: Tensor, baseline: Tensor) -> Tensor:
    return per_feature(ADDITIVE_TERMS, x) - per_feature(ADDITIVE_TERMS, baseline.to(x))


ADDITIVE = "synthetic: x ~ N(0, I_10), log-odds sum_i g_i(x_i) (sin, square, tanh, abs, ...; 3 g_i = 0); exact Shapley"


@register_dataset("synthetic_additive", kind="tabular", description=ADDITIVE)
def load_synthetic_additive(data_dir: Path) -> Dataset:
    oracle = Oracle(score=additive_score, attributions=additive_attributions,
                    description="s(x) = sum_i g_i(x_i); phi_i = g_i(x_i) - g_i(b_i)")
    return gaussian_logistic("synthetic_additive", VERSION, oracle, ADDITIVE,
                             {"terms": tuple(g.__name__ for g in ADDITIVE_TERMS)})


# -- pairwise interactions ------------------------------------------------------------------
INTERACTION_WEIGHTS = (1.5, -1.0, 0.8, 0.0, 0.5, 0.0, -0.6, 0.0, 0.0, 0.0)
INTERACTION_PAIRS = {(0, 1): 1.2, (2, 3): -1.0, (3, 5): 0.8, (6, 7): 1.0}


def pair_matrix(pairs: dict[tuple[int, int], float], d: int) -> Tensor:
    """Symmetric ``S`` with ``S_ij = S_ji = a_ij``, so that ``Σ a_ij x_i x_j = ½ xᵀ S x``."""
    s = torch.zeros(d, d, dtype=torch.float64)
    for (i, j), a in pairs.items():
        s[i, j] = s[j, i] = a
    return s


def interaction_score(weights: Tensor, pairs: Tensor, x: Tensor) -> Tensor:
    return x @ weights.to(x) + 0.5 * ((x @ pairs.to(x)) * x).sum(-1)


def interaction_attributions(weights: Tensor, pairs: Tensor, x: Tensor, baseline: Tensor) -> Tensor:
    b = baseline.to(x)
    return weights.to(x) * (x - b) + 0.5 * (x - b) * ((x + b) @ pairs.to(x))


def interaction_oracle(weights: tuple[float, ...] = INTERACTION_WEIGHTS,
                       pairs: dict[tuple[int, int], float] = INTERACTION_PAIRS) -> Oracle:
    w = torch.tensor(weights, dtype=torch.float64)
    s = pair_matrix(pairs, len(weights))
    return Oracle(score=partial(interaction_score, w, s), attributions=partial(interaction_attributions, w, s),
                  description="s(x) = w·x + sum a_ij x_i x_j; phi = w*(x-b) + (x-b)*(S(x+b))/2")


INTERACTION = "synthetic: x ~ N(0, I_10), log-odds w·x + sum a_ij x_i x_j (4 pairs); exact Shapley by formula"


@register_dataset("synthetic_interaction", kind="tabular", description=INTERACTION)
def load_synthetic_interaction(data_dir: Path) -> Dataset:
    meta = {"weights": INTERACTION_WEIGHTS, "pairs": {f"{i},{j}": a for (i, j), a in INTERACTION_PAIRS.items()}}
    return gaussian_logistic("synthetic_interaction", VERSION, interaction_oracle(), INTERACTION, meta)
