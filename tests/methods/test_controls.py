"""Control methods: the random control is reproducible N(0, 1) noise, the input control is x − b."""

from __future__ import annotations

import pytest
import torch

from xaibench import rng
from xaibench.errors import InvalidParameterError
from xaibench.method import get_method
from xaibench.testing import linear_task


@pytest.fixture(scope="module")
def task():
    x = torch.randn(6, 2, 5, 5, generator=torch.Generator().manual_seed(0))
    return linear_task(torch.ones(2, 5, 5), x, baseline=torch.full((2, 5, 5), 0.25), kind="image")


def test_random_is_standard_normal_private_to_each_instance(task):
    phi = get_method("random").explain(task, task.inputs, seed=3)
    torch.testing.assert_close(phi, rng.instance_normal(task.inputs, 3, (2, 5, 5)))
    many = get_method("random").explain(task, task.inputs.repeat(40, 1, 1, 1) + torch.arange(240.0).reshape(-1, 1, 1, 1), seed=0)
    assert abs(float(many.mean())) < 0.02 and abs(float(many.std()) - 1) < 0.02
    assert not torch.equal(phi, get_method("random").explain(task, task.inputs, seed=4))
    assert not torch.equal(phi[0], phi[1])


@pytest.mark.parametrize(("baseline", "reference"), [("task", 0.25), ("zero", 0.0)])
def test_input_is_the_displacement_from_the_baseline(task, baseline, reference):
    torch.testing.assert_close(get_method("input", baseline=baseline).explain(task, task.inputs), task.inputs - reference)


def test_input_rejects_unknown_baselines():
    with pytest.raises(InvalidParameterError, match="baseline"):
        get_method("input", baseline="mean")
