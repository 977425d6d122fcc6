"""Cooperative-game plumbing shared by the Shapley-value methods.

The game of an instance ``x`` is ``v(S) = E_r f(x_S, r_¬S)``: players in the coalition ``S`` keep
their value from ``x``, the others take it from a reference row ``r``, averaged over the
reference rows (one row, the task's baseline — "baseline Shapley" — or the task's B background
rows, as shap's KernelExplainer does: "interventional" Shapley values). Players are the task's
features or feature groups (:class:`~xaibench.players.Players`).

* :func:`game_values` evaluates ``v`` for a ``(K, G)`` set of coalitions on all instances at once:
  the masked inputs of a chunk ``(n, K_c, R, *F)`` are built in one fused op and evaluated by the
  task's :class:`~xaibench.task.BoundTarget` in one forward call; chunking never changes a value.
* :func:`shapley_kernel_design` draws the coalitions and regression weights of KernelSHAP;
  :func:`constrained_wls` solves the efficiency-constrained weighted least squares.
* :func:`antithetic_ranks` / :func:`chain_coalitions` / :func:`chain_attributions` do the same for
  permutation sampling; enumeration lives in :mod:`xaibench.shapley` (shared with the ground truth).

Designs (coalitions, permutations) are drawn on the CPU from ``xaibench.rng.generator(seed)`` and
shared by every instance of the batch (common random numbers), then moved to the task's device:
an instance's result is independent of its batch-mates and identical on CPU and CUDA.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import Tensor

from xaibench.errors import InvalidParameterError
from xaibench.method import Method

if TYPE_CHECKING:
    from xaibench.players import Players
    from xaibench.task import Task

REFERENCES = ("baseline", "background")
"""``"baseline"``: one reference row, ``task.baseline``; ``"background"``: the task's B background rows."""

DEFAULT_MAX_ELEMENTS = 1 << 24
"""Cap on the numbers in one chunk of masked inputs (64 MiB of float32), besides ``task.max_batch``
rows; changes speed and memory, not results."""


def reference_rows(task: "Task", which: str) -> Tensor:
    """The reference rows ``(R, *F)`` that absent players are taken from (see :data:`REFERENCES`)."""
    if which not in REFERENCES:
        raise InvalidParameterError(f"background must be one of {REFERENCES}, got {which!r}")
    rows = task.baseline.unsqueeze(0) if which == "baseline" else task.background
    return rows.to(device=task.device, dtype=task.dtype)


def game_values(task: "Task", x: Tensor, coalitions: Tensor, reference: Tensor,
                max_elements: int = DEFAULT_MAX_ELEMENTS) -> Tensor:
    """``v(S)`` for every instance and coalition: ``(N, K)`` in ``x``'s dtype.

    ``coalitions`` is ``(K, G)`` boolean over ``task.players``; ``reference`` ``(R, *F)``. Row ``n``,
    column ``k`` is ``mean_r f(r + m_k ⊙ (x_n − r))`` (``m_k`` the feature mask of ``S_k``, as
    :func:`~xaibench.players.mix`), with ``f``'s output selected at ``x_n``.

    Speed: a chunk holds at most ``task.max_batch`` model rows (and ``max_elements`` numbers), so
    each chunk is one forward call, like the floor's. Its masked inputs are written by one fused
    ``addcmul`` into a buffer reused by every chunk (a fresh allocation per chunk costs page faults,
    and ``torch.where`` with three broadcast operands is several times slower than ``addcmul``).
    """
    players: Players = task.players
    n, k, r = x.shape[0], coalitions.shape[0], reference.shape[0]
    out = torch.empty(n, k, dtype=x.dtype, device=x.device)
    if n == 0 or k == 0:
        return out
    shape, numbers = players.feature_shape, players.n_features
    rows = max(r, min(task.max_batch, max_elements // numbers))
    n_step = max(1, min(n, rows // r))
    k_step = max(1, min(k, rows // (n_step * r)))
    buffer = torch.empty(n_step * k_step * r * numbers, dtype=x.dtype, device=x.device)
    coalitions = coalitions.to(device=x.device, dtype=torch.bool)
    base = reference[None, None]  # (1, 1, R, *F)
    with torch.no_grad():
        for i in range(0, n, n_step):
            xi = x[i : i + n_step]
            ni, bound = xi.shape[0], task.bind(xi)
            diff = (xi[:, None] - reference[None])[:, None]  # (n, 1, R, *F)
            for j in range(0, k, k_step):
                masks = players.expand(coalitions[j : j + k_step]).to(x.dtype)[None, :, None]  # (1, k, 1, *F)
                kj = masks.shape[1]
                z = torch.addcmul(base, masks, diff, out=buffer[: ni * kj * r * numbers].view(ni, kj, r, *shape))
                out[i : i + ni, j : j + kj] = bound(z.view(ni, kj * r, *shape)).view(ni, kj, r).mean(-1)
    return out


# -- KernelSHAP -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Design:
    """Coalitions ``(K, G)`` bool and their regression weights ``(K,)`` float64 (CPU)."""

    coalitions: Tensor
    weights: Tensor


def _size_pairs(n_players: int) -> list[tuple[int, int, float]]:
    """``(s, number of coalitions, kernel mass)`` for each pair of sizes {s, G−s}, s = 1..⌊G/2⌋.

    The Shapley kernel gives a coalition of size s the weight k(s) = (G−1) / (C(G,s) s (G−s)); the
    mass of all coalitions of one size is (G−1) / (s (G−s)), doubled for the pair {s, G−s} unless
    s = G − s.
    """
    g = n_players
    out = []
    for s in range(1, g // 2 + 1):
        single = s == g - s
        out.append((s, math.comb(g, s) * (1 if single else 2), (g - 1) / (s * (g - s)) * (1 if single else 2)))
    return out


def _subsets_of_size(n_players: int, size: int) -> Tensor:
    idx = torch.combinations(torch.arange(n_players), r=size)
    return torch.zeros(idx.shape[0], n_players, dtype=torch.bool).scatter_(1, idx, True)


def shapley_kernel_design(n_players: int, n_samples: int, generator: torch.Generator) -> Design:
    """KernelSHAP coalitions and weights, following shap's KernelExplainer (Lundberg & Lee 2017).

    1. Size pairs {s, G−s} are enumerated completely, smallest s first, while the budget allotted
       to a pair by its kernel mass covers all its coalitions (shap's rule); each enumerated
       coalition gets its exact kernel weight k(|S|).
    2. The rest of the budget is drawn in **antithetic pairs** (S, ¬S): a size pair with probability
       proportional to its remaining kernel mass, then S uniform among subsets of size s. Pairs are
       drawn until ``n_samples`` coalitions are distinct; a pair drawn c times counts c times, and the
       sampled coalitions share the remaining kernel mass in proportion to their counts.
    Departure from shap: shap draws the middle size G/2 (G even) without its complement; we pair
    it too (its complement has the same size, so the sampling distribution is unchanged; paired
    sampling is the variance reduction of Covert & Lee, AISTATS 2021). An odd number of coalitions
    left for sampling leaves one unused. The budget is capped at 2^G − 2 (every non-trivial
    coalition); the empty and the full coalition are not part of the design (they enter the
    regression as its constraints).
    """
    g = n_players
    empty = Design(torch.zeros(0, g, dtype=torch.bool), torch.zeros(0, dtype=torch.float64))
    if g < 2:
        return empty
    budget = min(n_samples, 2**g - 2)  # Python integers: exact for any G
    pairs = _size_pairs(g)
    remaining = sum(mass for _, _, mass in pairs)
    parts, weights = [], []
    left, first_sampled = budget, len(pairs)
    for index, (s, count, mass) in enumerate(pairs):
        if left * mass / remaining / count < 1.0 - 1e-8:
            first_sampled = index
            break
        subsets = _subsets_of_size(g, s)
        block = subsets if s == g - s else torch.cat([subsets, ~subsets])
        parts.append(block)
        weights.append(torch.full((block.shape[0],), mass / count, dtype=torch.float64))
        left -= count
        remaining -= mass
    n_pairs = left // 2
    if first_sampled < len(pairs) and n_pairs > 0:
        sampled, counts = _draw_pairs(g, pairs[first_sampled:], n_pairs, generator)
        share = remaining * counts.to(torch.float64) / (2 * counts.sum())
        parts += [sampled, ~sampled]
        weights += [share, share]
    if not parts:
        return empty
    return Design(torch.cat(parts), torch.cat(weights))


def _draw_pairs(g: int, pairs: list[tuple[int, int, float]], n_pairs: int,
                generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n_pairs`` distinct antithetic pairs (their S side ``(P, G)``) and how often each was drawn.

    Draws are read in order until ``n_pairs`` are distinct, at most ``4 · n_pairs`` draws (shap's
    cap). They are made in two rounds — 25 % more than needed, then the rest of the cap only if
    duplicates left too few distinct pairs — since sorting the draws dominates the design's cost.
    """
    sizes = torch.tensor([s for s, _, _ in pairs])
    probs = torch.tensor([mass for _, _, mass in pairs], dtype=torch.float64)
    cap, first_round = 4 * n_pairs, min(4 * n_pairs, n_pairs + n_pairs // 4 + 8)
    draws = torch.zeros(0, g, dtype=torch.bool)
    for n_new in (first_round, cap - first_round):
        size = sizes[torch.multinomial(probs, n_new, replacement=True, generator=generator)]
        keys = torch.rand(n_new, g, generator=generator)
        subsets = keys <= keys.sort(1).values.gather(1, size[:, None] - 1)  # the s smallest keys: uniform
        # one representative per pair {S, ¬S}: for the middle size, the side holding player 0
        subsets ^= ((size == g - size) & ~subsets[:, 0])[:, None]
        draws = torch.cat([draws, subsets])
        inverse = _row_ids(draws)
        n_unique = int(inverse.max()) + 1
        if n_unique >= n_pairs:
            break
    n_draws = draws.shape[0]
    first = torch.full((n_unique,), n_draws, dtype=torch.long)
    first = first.scatter_reduce(0, inverse, torch.arange(n_draws), reduce="amin")
    accepted = first.argsort()[:n_pairs]
    stop = int(first[accepted[-1]]) + 1 if n_unique >= n_pairs else n_draws
    counts = torch.bincount(inverse[:stop], minlength=n_unique)[accepted]
    return draws[first[accepted]], counts


def _row_ids(bits: Tensor) -> Tensor:
    """``(M,)`` ids 0..U−1, equal exactly for equal rows of the ``(M, G)`` boolean ``bits``.

    Rows are packed into 62-bit integer words and sorted lexicographically (stable sorts from the
    last word to the first): much faster than ``torch.unique(dim=0)``, which compares rows one by one.
    """
    m, g = bits.shape
    words = [(bits[:, i : i + 62].long() << torch.arange(min(62, g - i))).sum(1) for i in range(0, g, 62)]
    order = torch.arange(m)
    for word in reversed(words):
        order = order[word[order].argsort(stable=True)]
    packed = torch.stack(words, 1)[order]
    new = torch.ones(m, dtype=torch.long)
    new[1:] = (packed[1:] != packed[:-1]).any(1).long()
    return torch.empty(m, dtype=torch.long).scatter_(0, order, new.cumsum(0) - 1)


def constrained_wls(design: Design, gains: Tensor, totals: Tensor) -> Tensor:
    """Solve min_φ Σ_k w_k (y_k − z_kᵀφ)² subject to Σ_i φ_i = Δ, for all instances at once.

    ``gains`` ``(N, K)``: y = v(S_k) − v(∅); ``totals`` ``(N,)``: Δ = v(full) − v(∅). The design is
    shared, so one ``(G+1) × (G+1)`` KKT matrix [[ZᵀWZ, 1], [1ᵀ, 0]] is pseudo-inverted once (float64,
    on the gains' device) and applied to every instance's right-hand side [ZᵀWy; Δ]. The
    pseudo-inverse returns the minimum-norm solution when the design is too small to identify φ.
    """
    dtype, device = torch.float64, gains.device
    z = design.coalitions.to(device=device, dtype=dtype)
    g = z.shape[1]
    wz = z * design.weights.to(device=device, dtype=dtype)[:, None]
    kkt = torch.zeros(g + 1, g + 1, dtype=dtype, device=device)
    kkt[:g, :g] = z.T @ wz
    kkt[:g, g] = kkt[g, :g] = 1.0
    rhs = torch.cat([gains.to(dtype) @ wz, totals.to(dtype)[:, None]], dim=1)  # (N, G+1)
    return (rhs @ torch.linalg.pinv(kkt, hermitian=True))[:, :g]


# -- permutation sampling ----------------------------------------------------------------------


def antithetic_ranks(n_players: int, n_pairs: int, generator: torch.Generator) -> Tensor:
    """``(2P, G)`` position of each player in ``P`` uniform random orders followed by their reverses."""
    order = torch.rand(n_pairs, n_players, generator=generator).argsort(1)
    orders = torch.cat([order, order.flip(1)])
    return orders.argsort(1)


def chain_coalitions(ranks: Tensor) -> Tensor:
    """The interior coalitions of each order: the first j players, j = 1..G−1 → ``(C·(G−1), G)`` bool."""
    g = ranks.shape[1]
    steps = torch.arange(1, g, device=ranks.device)
    return (ranks[:, None, :] < steps[None, :, None]).reshape(-1, g)


def chain_attributions(empty: Tensor, interior: Tensor, full: Tensor, ranks: Tensor) -> Tensor:
    """Mean marginal contribution of each player over the orders.

    ``empty``/``full`` ``(N,)`` are v(∅)/v(all); ``interior`` ``(N, C·(G−1))`` the values of
    :func:`chain_coalitions`. Along each order the values telescope, so every order satisfies
    efficiency exactly.
    """
    n, (c, g) = empty.shape[0], ranks.shape
    chain = torch.cat([empty[:, None, None].expand(n, c, 1), interior.reshape(n, c, g - 1),
                       full[:, None, None].expand(n, c, 1)], dim=2)
    marginal = chain.diff(dim=2)  # (N, C, G): contribution of the player at each position
    return marginal.gather(2, ranks.to(marginal.device).expand(n, c, g)).mean(1)


# -- the methods' common base ------------------------------------------------------------------


def check_parameters(method: Method) -> None:
    """Typed errors for the parameters the Shapley methods share (those ``method`` has)."""
    background = getattr(method, "background", REFERENCES[0])
    if background not in REFERENCES:
        raise InvalidParameterError(f"{method.name}: background must be one of {REFERENCES}, got {background!r}")
    for param in ("n_samples", "max_elements"):
        if getattr(method, param, 1) < 1:
            raise InvalidParameterError(f"{method.name}: {param} must be at least 1, got {getattr(method, param)}")


def with_endpoints(coalitions: Tensor) -> Tensor:
    """``coalitions`` ``(K, G)`` preceded by the empty and the full coalition: ``(K + 2, G)``."""
    g = coalitions.shape[1]
    ends = torch.stack([torch.zeros(g, dtype=torch.bool), torch.ones(g, dtype=torch.bool)]).to(coalitions.device)
    return torch.cat([ends, coalitions])


@dataclasses.dataclass(frozen=True)
class GameMethod(Method):
    """Base of methods that play the coalition game ``v`` of :func:`game_values` on ``task.players``.

    Parameters (shared by every subclass):
        background: ``"baseline"`` (default: absent players take ``task.baseline``, one model
            evaluation per coalition) or ``"background"`` (absent players take each of the task's B
            background rows and ``v`` averages the B outputs, as shap's KernelExplainer does).
        max_elements: cap on the numbers in one chunk of masked inputs; speed and memory only.
    """

    family: ClassVar[str] = "perturbation"
    background: str = "baseline"
    max_elements: int = DEFAULT_MAX_ELEMENTS

    def __post_init__(self) -> None:
        check_parameters(self)

    def values(self, task: "Task", x: Tensor, coalitions: Tensor) -> Tensor:
        """``(N, K)`` game values of ``coalitions`` ``(K, G)`` for the instances ``x``."""
        return game_values(task, x, coalitions, reference_rows(task, self.background), self.max_elements)

    def spread(self, task: "Task", phi: Tensor, like: Tensor) -> Tensor:
        """Per-player values ``(N, G)`` → per-feature attributions shaped, typed and placed like ``like``."""
        return task.players.spread(phi.to(device=like.device, dtype=like.dtype))


@dataclasses.dataclass(frozen=True)
class SampledGameMethod(GameMethod):
    """A :class:`GameMethod` estimating from a budget of ``n_samples`` coalitions per instance (stochastic)."""

    stochastic: ClassVar[bool] = True
    n_samples: int = 2048
