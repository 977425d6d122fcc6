"""KernelSHAP, batched: shared paired coalition samples, one constrained least-squares solve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from xaibench.method import register_method
from xaibench.rng import generator
from xaibench.task import Task

from ._coalitions import SampledGameMethod, constrained_wls, shapley_kernel_design, with_endpoints


@register_method
@dataclass(frozen=True)
class KernelShap(SampledGameMethod):
    """KernelSHAP (Lundberg & Lee, NeurIPS 2017), batched over instances × coalitions.

    Estimates the Shapley values of the game v(S) = mean_r f(x_S, r_¬S) over the task's players
    (features or groups) as the solution of the Shapley-kernel weighted least squares

        φ = argmin Σ_k w_k (v(S_k) − v(∅) − Σ_{i∈S_k} φ_i)²   subject to   Σ_i φ_i = v(all) − v(∅),

    where the coalitions S_k and weights w_k follow shap's KernelExplainer (see
    :func:`~xaibench.methods._coalitions.shapley_kernel_design`): size pairs {s, G−s} enumerated
    completely while the budget allows, the rest drawn as antithetic pairs (S, ¬S) from the
    kernel's size distribution, weight ∝ (G−1) / (C(G,s) s (G−s)). With ``n_samples`` ≥ 2^G − 2
    every coalition is enumerated and the result is the exact Shapley value.

    Per-feature output: a group's value is spread evenly over its features (``Players.spread``).

    Parameters:
        n_samples: coalitions evaluated per instance besides ∅ and the full coalition (default
            2048, shap's "auto" budget minus its 2G term; capped at 2^G − 2).
        background: ``"baseline"`` (default, one model evaluation per coalition) or
            ``"background"`` (v averages over the task's B background rows: B evaluations per
            coalition, shap's convention).
        max_elements: chunk size of the masked inputs (speed and memory only).

    Batching: the coalitions are drawn once per call from ``xaibench.rng.generator(seed)`` and
    shared by all instances (common random numbers), so the design matrix is shared: one KKT
    factorisation for all instances' right-hand sides, and an instance's result does not depend on
    its batch-mates.

    Differences from the reference packages, and why:
        * shap (≥ 0.47) selects 10 features by LARS by default (``l1_reg="num_features(10)"``); we
          estimate every player's value (shap with ``l1_reg=False``), as a benchmark must.
        * shap drops players equal to the reference in every row ("non-varying") before sampling;
          we keep the design shared across instances, so such a player gets a value near 0 rather
          than exactly 0 when the coalitions are sampled (exactly 0 when enumerated).
        * shap draws the middle size G/2 without its complement; we pair it as every other size.
        * captum's KernelShap draws coalitions i.i.d. from the kernel (no pairing, no enumeration,
          duplicates kept) and fits an unconstrained regression with the endpoints weighted 10⁶;
          we solve the constrained problem exactly, so Σφ = f(x) − v(∅) holds to rounding.
    """

    name: ClassVar[str] = "kernel_shap"
    description: ClassVar[str] = "KernelSHAP: Shapley-kernel weighted least squares on paired coalition samples"

    def explain(self, task: Task, x: Tensor, *, seed: int = 0) -> Tensor:
        self.check(task)
        g = task.players.n
        design = shapley_kernel_design(g, self.n_samples, generator(seed))
        v = self.values(task, x, with_endpoints(design.coalitions))
        empty, full = v[:, 0], v[:, 1]
        phi = constrained_wls(design, v[:, 2:] - empty[:, None], full - empty)
        return self.spread(task, phi, x)
