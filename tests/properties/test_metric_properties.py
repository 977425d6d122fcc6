"""Properties of every registered metric on random small tasks (hypothesis; bounded and derandomised).

* Only typed errors, on tasks as in ``test_method_properties`` and attributions that are
  continuous, all zero, tied or exact.
* Relabelling the features leaves every value unchanged: exactly (to rounding) for the metrics
  whose only randomness is the tie-break, on tie-free attributions; in distribution over seeds
  for the seeded ones, and on tie-only inputs where the expectation is known (FA = k/G exactly;
  deletion and insertion 1/2 and ABPC 0 for a linear f).
* A common rescaling of f and φ by c = 2^k (≈1e-8..1e8) leaves the scale-free metrics unchanged
  exactly; infidelity scales by c², PGI/PGU by c.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu

from xaibench.errors import NotApplicableError, XaiBenchError
from xaibench.method import get_method
from xaibench.metric import get_metric
from xaibench.registries import metrics
from xaibench.testing import linear_task

from .toys import PROPERTY, Toy, attributions, permutation, toys

METRICS = [n for n in metrics.names() if metrics.get(n).category != "cost"]
SMALL = {"n_samples": 8, "nr_runs": 16, "n_coalitions": 16, "n_seeds": 2, "max_points": 4}
KINDS = ("random", "zero", "tied", "exact")


def small(name: str, **params):
    fields = {f.name for f in dataclasses.fields(metrics.get(name))}
    return get_metric(name, **{k: v for k, v in {**SMALL, **params}.items() if k in fields})


def evaluate(metric, task, phi, method, seed=0):
    """Values, or ``None`` when the metric does not apply (it must say why)."""
    try:
        return metric(task, task.inputs, phi, method, seed=seed)
    except NotApplicableError as exc:
        assert str(exc)
        return None


@pytest.mark.parametrize("name", METRICS)
@PROPERTY
@given(toy=toys(), kind=st.sampled_from(KINDS), seed=st.integers(0, 3))
def test_metrics_raise_only_typed_errors(name, toy, kind, seed):
    task = toy.task()
    try:
        values = small(name)(task, task.inputs, attributions(kind, task, seed), get_method("saliency"), seed=seed)
    except XaiBenchError as exc:
        assert str(exc)
        return
    assert values.dim() == 1 and torch.isfinite(values).all()
    if metrics.get(name).per_instance:
        assert values.shape == (toy.n_instances,)


EXACT = ["deletion_auc", "insertion_auc", "abpc", "sparseness", "entropy", "seed_stability", "randomization"]
EXACT += [n for n in METRICS if metrics.get(n).category == "ground_truth"]
"""Metrics whose value on tie-free attributions involves no draw over feature positions."""


@pytest.mark.parametrize("name", EXACT)
@PROPERTY
@given(toy=toys(min_instances=1), perm_seed=st.integers(0, 2**16), truth=st.sampled_from(["process", "model"]))
def test_relabelling_leaves_deterministic_metrics_unchanged(name, toy, perm_seed, truth):
    perm = permutation(toy.n_features, perm_seed)
    task, relabelled = toy.task(), toy.task(perm)
    phi = attributions("random", task, perm_seed)
    metric = small(name, **({"truth": truth} if metrics.get(name).category == "ground_truth" else {}))
    method = get_method("saliency")
    before = evaluate(metric, task, phi, method)
    if before is None:
        return
    after = evaluate(metric, relabelled, phi[:, perm], method)
    tol = 1e-9 if toy.dtype == torch.float64 else 2e-4
    torch.testing.assert_close(after, before, rtol=tol, atol=tol)


SEEDED = [n for n in METRICS if n not in EXACT]
FIXED = Toy(n_features=6, groups=None, dtype=torch.float64, n_instances=4, log2_scale=0, seed=5)


@pytest.mark.parametrize("name", SEEDED)
def test_relabelling_leaves_seeded_metrics_unchanged_in_distribution(name):
    """The per-seed means over 20 seeds of both labellings come from one distribution (Mann–Whitney)."""
    perm = permutation(FIXED.n_features, 1)
    task, relabelled = FIXED.task(), FIXED.task(perm)
    phi = attributions("random", task, 0)
    metric, method = small(name), get_method("saliency")
    a = [metric(task, task.inputs, phi, method, seed=s).mean().item() for s in range(20)]
    b = [metric(relabelled, relabelled.inputs, phi[:, perm], method, seed=s).mean().item() for s in range(20)]
    if max(a) - min(a) <= 1e-12 * max(1.0, abs(max(a))):  # no randomness reached the value: equal outright
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12)
        return
    assert mannwhitneyu(a, b).pvalue > 1e-3, (a, b)


@pytest.mark.parametrize("weights", [(2.0, -1.0, 0.5, 0.0, 1.5), (0.0, 1.5, 2.0, 0.5, -1.0)])
def test_tie_only_inputs_score_the_known_expectation(weights):
    """All-zero φ on a linear f: FA = k/G exactly; deletion, insertion → 1/2 and ABPC → 0 over seeds."""
    g = torch.Generator().manual_seed(4)
    x = torch.randn(6, 5, generator=g, dtype=torch.float64)
    task = linear_task(torch.tensor(weights, dtype=torch.float64), x)
    zero = torch.zeros_like(x)
    fa = get_metric("gt_feature_agreement", k=2)(task, x, zero, None)
    assert fa.tolist() == pytest.approx([2 / 5] * 6, abs=1e-12)
    for name, expected in (("deletion_auc", 0.5), ("insertion_auc", 0.5), ("abpc", 0.0)):
        draws = torch.stack([get_metric(name, min_change=0.0)(task, x, zero, None, seed=s).mean() for s in range(40)])
        assert abs(draws.mean() - expected) < 5 * draws.std() / 40**0.5, (name, float(draws.mean()))


SCALE_FREE = ["deletion_auc", "insertion_auc", "abpc", "faithfulness_correlation", "local_fidelity", "sparseness",
              "entropy", "seed_stability", "randomization", "global_distillation"]
SCALE_FREE += [n for n in METRICS if metrics.get(n).category == "ground_truth"]
SCALING = {**dict.fromkeys(SCALE_FREE, 0), "infidelity": 2, "pgi": 1, "pgu": 1}
"""Power of c by which each metric scales when f and φ are multiplied by c."""


@pytest.mark.parametrize("name", sorted(SCALING))
@PROPERTY
@given(toy=toys(min_instances=1), log2_c=st.integers(-26, 26), kind=st.sampled_from(KINDS),
       normalize=st.booleans())
def test_common_rescaling(name, toy, log2_c, kind, normalize):
    params = {"normalize": normalize} if name == "infidelity" else {}
    metric, method = small(name, **params), get_method("saliency")
    task, scaled = toy.task(), toy.task(log2_scale=toy.log2_scale + log2_c)
    phi = attributions(kind, task, log2_c + 100)
    before = evaluate(metric, task, phi, method)
    if before is None:
        return
    after = evaluate(metric, scaled, phi * 2.0**log2_c, method)
    expected = before * 2.0 ** (SCALING[name] * log2_c)
    tol = 1e-9 if toy.dtype == torch.float64 else 1e-4
    torch.testing.assert_close(after, expected, rtol=tol, atol=tol * float(expected.abs().max().clamp(min=1e-30)))
