"""Properties of every registered method on random small tasks (hypothesis; bounded and derandomised).

* Only typed errors: on 1–12 features, with and without groups, float32/float64, 0–5 instances
  and output scales 2^-27..2^27, a method returns finite attributions shaped like ``x`` or raises
  a subclass of :class:`~xaibench.errors.XaiBenchError` (``NotApplicable`` with a reason).
* Relabelling the features permutes the attributions: exactly (to rounding) for deterministic
  methods, in distribution (means over seeds) for stochastic ones.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from xaibench.errors import NotApplicableError, XaiBenchError
from xaibench.method import get_method
from xaibench.registries import methods

from .toys import PROPERTY, Toy, permutation, toys

METHODS = methods.names()
SMALL = {"n_samples": 32, "perturbations_per_eval": 32, "n_steps": 8}
"""Budgets that keep a property run short; the properties hold at any budget."""


def small(name: str, **params):
    fields = {f.name for f in dataclasses.fields(methods.get(name))}
    return get_method(name, **{k: v for k, v in {**SMALL, **params}.items() if k in fields})


@pytest.mark.parametrize("name", METHODS)
@PROPERTY
@given(toy=toys(), seed=st.integers(0, 3))
def test_methods_raise_only_typed_errors(name, toy, seed):
    task = toy.task()
    try:
        phi = small(name).explain(task, task.inputs, seed=seed)
    except XaiBenchError as exc:
        assert str(exc), "a typed error must say what went wrong"
        return
    assert phi.shape == task.inputs.shape and phi.dtype == task.inputs.dtype
    assert torch.isfinite(phi).all()


EXACT = {name: {} for name in METHODS if not methods.get(name).stochastic and methods.get(name).family != "reference"}
EXACT["kernel_shap"] = {"n_samples": 4096}  # ≥ 2^12 − 2: every coalition enumerated, no draw left


@pytest.mark.parametrize("name", sorted(EXACT))
@PROPERTY
@given(toy=toys(min_instances=1), perm_seed=st.integers(0, 2**16))
def test_relabelling_permutes_deterministic_attributions(name, toy, perm_seed):
    perm = permutation(toy.n_features, perm_seed)
    method = small(name, **EXACT[name])
    task, relabelled = toy.task(), toy.task(perm)
    try:
        phi = method.explain(task, task.inputs, seed=0)
    except NotApplicableError:
        return
    phi_relabelled = method.explain(relabelled, relabelled.inputs, seed=0)
    tol = (1e-9 if toy.dtype == torch.float64 else 2e-4) * max(1.0, float(phi.abs().max()))
    torch.testing.assert_close(phi_relabelled, phi[:, perm], rtol=0, atol=tol)


STOCHASTIC = [n for n in METHODS if methods.get(n).stochastic and methods.get(n).family != "reference"]
TOY = Toy(n_features=5, groups=None, dtype=torch.float64, n_instances=3, log2_scale=0, seed=11)


@pytest.mark.parametrize("name", STOCHASTIC)
def test_relabelling_permutes_stochastic_attributions_in_distribution(name):
    """Per feature, the mean attribution over 24 seeds agrees between the two labellings (5 standard errors)."""
    perm = permutation(TOY.n_features, 3)
    task, relabelled = TOY.task(), TOY.task(perm)
    method = small(name)
    draws = torch.stack([method.explain(task, task.inputs, seed=s) for s in range(24)])
    draws_relabelled = torch.stack([method.explain(relabelled, relabelled.inputs, seed=s)[:, perm.argsort()]
                                    for s in range(24)])
    gap = (draws.mean(0) - draws_relabelled.mean(0)).abs()
    se = ((draws.var(0) + draws_relabelled.var(0)) / 24).sqrt()
    assert (gap <= 5 * se + 1e-9 * draws.abs().max()).all(), (gap / se.clamp(min=1e-300)).max()
