"""Ablation methods: closed forms on linear models, groups, and agreement with captum's
FeatureAblation / Occlusion on the same masks (with our spread convention converted)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.method import get_method
from xaibench.testing import linear_task, mlp_task, task_from_function

captum_attr = pytest.importorskip("captum.attr")

GROUPS = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3])
N_CLASSES = 3  # mlp_task's default


def logits(task):
    """The task's per-class outputs, as the ``(B, C)`` forward function captum expects."""
    return lambda z: torch.stack([task.f(z, torch.full((z.shape[0],), c)) for c in range(N_CLASSES)], 1)


@pytest.fixture(scope="module")
def image_task():
    """A fixed random conv net on 2×6×7 images, float64; baseline 0.1 everywhere."""
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.Tanh(), torch.nn.Flatten(), torch.nn.Linear(60, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    net = net.double()
    x = torch.randn(3, 2, 6, 7, generator=g, dtype=torch.float64)
    return task_from_function(lambda z: net(z).squeeze(1), x, baseline=torch.full((2, 6, 7), 0.1, dtype=torch.float64),
                              kind="image"), net


# -- feature ablation ---------------------------------------------------------------------------
def test_feature_ablation_on_linear_model():
    w = torch.arange(1.0, 9.0, dtype=torch.float64)
    x = torch.randn(3, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    b = torch.full((8,), -0.5, dtype=torch.float64)
    contribution = w * (x - b)
    torch.testing.assert_close(get_method("feature_ablation").explain(linear_task(w, x, baseline=b), x), contribution)
    grouped = get_method("feature_ablation").explain(linear_task(w, x, baseline=b, groups=GROUPS), x)
    sizes = torch.bincount(GROUPS).double()
    per_group = torch.zeros(3, 4, dtype=torch.float64).index_add_(1, GROUPS, contribution)
    torch.testing.assert_close(grouped, (per_group / sizes)[:, GROUPS])  # each group's drop spread evenly
    zero = get_method("feature_ablation", baseline="zero").explain(linear_task(w, x, baseline=b), x)
    torch.testing.assert_close(zero, w * x)


@pytest.mark.reference
@pytest.mark.parametrize("grouped", [False, True])
def test_feature_ablation_equals_captum(grouped):
    task = mlp_task(8, n_instances=4, dtype=torch.float64, groups=GROUPS if grouped else None)
    x = task.inputs
    ours = get_method("feature_ablation").explain(task, x)
    theirs = captum_attr.FeatureAblation(logits(task)).attribute(
        x, baselines=task.baseline.unsqueeze(0), target=task.select(x),
        feature_mask=GROUPS.unsqueeze(0) if grouped else None)
    sizes = torch.bincount(GROUPS).double()[GROUPS] if grouped else 1.0
    torch.testing.assert_close(ours, theirs / sizes, rtol=1e-10, atol=1e-12)  # captum repeats, we spread


# -- occlusion ----------------------------------------------------------------------------------
@pytest.mark.reference
@pytest.mark.parametrize(("window", "stride"), [(3, 1), (2, 2), (3, 2), (1, 1), (4, 3)])  # 2, 3, 4: clipped last windows
def test_occlusion_equals_captum(image_task, window, stride):
    task, net = image_task
    x = task.inputs
    ours = get_method("occlusion", window=window, stride=stride).explain(task, x)
    theirs = captum_attr.Occlusion(lambda z: net(z).squeeze(1)).attribute(
        x, sliding_window_shapes=(2, window, window), strides=(1, stride, stride), baselines=0.1)
    torch.testing.assert_close(ours, theirs.double(), rtol=1e-5, atol=1e-6)  # captum returns float32


def test_occlusion_on_linear_image_model():
    """Window 1: each pixel alone, f(x) − f(x_{p←b}) = w_p (x_p − b_p); 2×2 windows, stride 2: the block's sum."""
    w = torch.randn(1, 4, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    task = linear_task(w, x, baseline=torch.full((1, 4, 4), 0.2, dtype=torch.float64), kind="image")
    contribution = w * (x - 0.2)
    torch.testing.assert_close(get_method("occlusion", window=1).explain(task, x), contribution)
    blocks = contribution.reshape(2, 1, 2, 2, 2, 2).sum((3, 5), keepdim=True).expand(2, 1, 2, 2, 2, 2)
    torch.testing.assert_close(get_method("occlusion", window=2, stride=2).explain(task, x), blocks.reshape(2, 1, 4, 4))


def test_occlusion_spans_channels_and_is_chunk_invariant(image_task):
    task, _ = image_task
    phi = get_method("occlusion").explain(task, task.inputs)
    torch.testing.assert_close(phi[:, 0], phi[:, 1])
    torch.testing.assert_close(get_method("occlusion").explain(dataclasses.replace(task, max_batch=7), task.inputs), phi)


def test_occlusion_on_tabular_tasks_is_feature_ablation():
    task = mlp_task(8, n_instances=4, groups=GROUPS)
    torch.testing.assert_close(get_method("occlusion", window=5).explain(task, task.inputs),
                               get_method("feature_ablation").explain(task, task.inputs))


def test_occlusion_window_must_fit(image_task):
    task, _ = image_task
    with pytest.raises(NotApplicableError, match="smaller window"):
        get_method("occlusion", window=7).explain(task, task.inputs)


@pytest.mark.parametrize(("name", "params"), [("occlusion", {"window": 0}), ("occlusion", {"stride": 0}),
                                              ("occlusion", {"window": 2, "stride": 3}),
                                              ("feature_ablation", {"baseline": "blur"})])
def test_bad_parameters_are_rejected(name, params):
    with pytest.raises(InvalidParameterError):
        get_method(name, **params)
