"""Hand-computable cases of the stability metrics, label preservation, and batch independence."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import ClassVar

import pytest
import torch

from xaibench.errors import InvalidParameterError
from xaibench.method import Method
from xaibench.metric import get_metric
from xaibench.testing import linear_task, mlp_task, task_from_function

SEED = 5


@dataclasses.dataclass(frozen=True)
class Explainer(Method):
    """A test-only method: ``explain`` calls ``fn(task, x, seed)``."""

    name: ClassVar[str] = "test_explainer"
    family: ClassVar[str] = "control"
    fn: Callable = None

    def explain(self, task, x, *, seed=0):
        return self.fn(task, x, seed)


exact = Explainer(lambda task, x, seed: task.ground_truth(x))
gradient = Explainer(lambda task, x, seed: task.bind(x).value_and_grad(x)[1])
scaled_input = Explainer(lambda task, x, seed: 3.0 * x)


def run(name, task, method, x=None, **params):
    x = task.inputs if x is None else x
    metric = get_metric(name, **params)
    return metric, metric.evaluate(task, x, method.explain(task, x, seed=SEED), method, seed=SEED)


def drawn_noise(metric, x):
    """The metric's own K draws (white box: the hand computation needs the actual neighbours)."""
    return metric.neighbourhood_noise(x, SEED)


@pytest.fixture(scope="module")
def task():
    g = torch.Generator().manual_seed(0)
    return linear_task(torch.tensor([3.0, -2.0, 1.0, 0.5, 0.0, -1.5]), torch.rand(5, 6, generator=g) + 0.5)


@pytest.mark.parametrize("name", ["max_sensitivity", "local_lipschitz", "ris", "ros", "rrs"])
def test_constant_attributions_are_perfectly_stable(name, task):
    constant = Explainer(lambda task, x, seed: torch.ones_like(x))
    _, out = run(name, task, constant)
    torch.testing.assert_close(out.values, torch.zeros(5))


def test_max_sensitivity_of_scaled_input_is_relative_noise_size(task):
    metric, out = run("max_sensitivity", task, scaled_input)
    noise = drawn_noise(metric, task.inputs)
    expected = (noise.norm(dim=1)[None, :] / task.inputs.norm(dim=1)[:, None]).amax(1)
    torch.testing.assert_close(out.values, expected)
    assert (noise.abs() <= metric.scale).all()


def test_max_sensitivity_of_zero_explanation_is_absolute_change(task):
    """‖φ(x)‖ = 0: captum's convention divides by 1 (the absolute change)."""
    centred = Explainer(lambda t, x, seed: x - x.round(decimals=3))  # zero at the instances, the noise nearby
    metric, out = run("max_sensitivity", task, centred, x=task.inputs.round(decimals=3))
    noise = drawn_noise(metric, task.inputs)
    x = task.inputs.round(decimals=3)
    expected = ((x[:, None] + noise) - (x[:, None] + noise).round(decimals=3)).norm(dim=-1).amax(1)
    torch.testing.assert_close(out.values, expected)


def test_local_lipschitz_of_linear_map_is_its_scale():
    """φ(x) = c·Q x with Q orthogonal: every ratio ‖φ(x) − φ(x')‖ / ‖x − x'‖ equals |c|."""
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64))
    rotate = Explainer(lambda t, x, seed: -2.5 * x @ q.T)
    t = linear_task(torch.ones(6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64))
    _, out = run("local_lipschitz", t, rotate)
    torch.testing.assert_close(out.values, torch.full((4,), 2.5, dtype=torch.float64))


def test_local_lipschitz_of_diagonal_map_is_bounded_by_extreme_weights(task):
    _, out = run("local_lipschitz", task, exact, n_samples=50)  # φ = w ⊙ x
    assert (out.values <= 3.0 + 1e-5).all() and (out.values >= 0.0).all()
    assert (out.values > 1.5).all()  # most of the noise lies off the zero-weight direction


def test_relative_stabilities_of_proportional_explanations_are_one(task):
    """φ = c ⊙ x changes element-wise exactly as x (RIS) and as h = w ⊙ x (RRS): ratio 1."""
    for name, method in [("ris", scaled_input), ("rrs", exact)]:
        _, out = run(name, task, method)
        torch.testing.assert_close(out.values, torch.ones(5), msg=name)
        assert out.extras == {"kept_fraction": 1.0, "no_kept_fraction": 0.0}


def test_ros_by_hand(task):
    """φ = 3x, f = ⟨w, x⟩: ROS = max_k ‖δ_k / x‖ / |⟨w, δ_k⟩|."""
    metric, out = run("ros", task, scaled_input)
    noise = drawn_noise(metric, task.inputs)
    w = torch.tensor([3.0, -2.0, 1.0, 0.5, 0.0, -1.5])
    expected = ((noise[None] / task.inputs[:, None]).norm(dim=-1) / (noise @ w).abs()[None]).amax(1)
    torch.testing.assert_close(out.values, expected, rtol=1e-3, atol=0)  # f(x + δ) − f(x) in float32


def test_norm_relative_change_matches_openxai_definition(task):
    metric, out = run("ris", task, exact, relative_to="norm")
    noise = drawn_noise(metric, task.inputs)
    phi = exact.explain(task, task.inputs)
    phi_z = exact.explain(task, (task.inputs[:, None] + noise).reshape(-1, 6)).reshape(5, -1, 6)
    num = (phi[:, None] - phi_z).norm(dim=-1) / phi.norm(dim=-1, keepdim=True)
    den = noise.norm(dim=-1)[None] / task.inputs.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(out.values, (num / den).amax(1))


def test_only_label_preserving_neighbours_count():
    """Instance 0 sits on the boundary of label = [x₀ > 0.5]; instance 1 far from it; instance 2's label
    is [x₀ == 0.3] exactly, which every neighbour flips (fallback: the max over all neighbours)."""
    x = torch.tensor([[0.5, 1.0], [2.0, 1.0], [0.3, 1.0]])
    labels = lambda z: torch.where(z[:, 0] == 0.3, 2, (z[:, 0] > 0.5).long())  # noqa: E731
    t = task_from_function(lambda z: z.sum(1), x, label_fn=labels)
    metric, out = run("ris", t, scaled_input, n_samples=40)
    noise = drawn_noise(metric, x)
    ratio = ((noise[None] / x[:, None]).norm(dim=-1) / (noise[None] / x[:, None]).norm(dim=-1))  # φ ∝ x: all 1
    kept = labels((x[:, None] + noise).reshape(-1, 2)).reshape(3, -1) == labels(x)[:, None]
    assert 0 < kept[0].sum() < 40 and kept[1].all() and not kept[2].any()
    torch.testing.assert_close(out.values, ratio.amax(1), rtol=1e-4, atol=0)
    assert out.extras["kept_fraction"] == pytest.approx(float(kept.double().mean()))
    assert out.extras["no_kept_fraction"] == pytest.approx(1 / 3)


def test_the_maximum_skips_label_changing_neighbours():
    """A method that explodes exactly where the label flips: RIS must not see it."""
    x = torch.tensor([[0.5, 1.0]])
    label = lambda z: (z[:, 0] > 0.5).long()  # noqa: E731
    t = task_from_function(lambda z: z.sum(1), x, label_fn=label)
    jumpy = Explainer(lambda task, z, seed: z * (1 + 1000 * (label(z) != label(x)).to(z.dtype))[:, None])
    _, out = run("ris", t, jumpy, n_samples=40)
    assert out.values.item() == pytest.approx(1.0, rel=1e-5)


def test_seed_stability_of_deterministic_method_is_one(task):
    _, out = run("seed_stability", task, exact)
    torch.testing.assert_close(out.values, torch.ones(5, dtype=out.values.dtype))
    assert out.extras["topk_jaccard"] == 1.0


def test_seed_stability_by_hand(task):
    """φ_s = (−1)^s v over seeds 5..9: 4 same-parity pairs (ρ = 1), 6 mixed (ρ = −1): mean −0.2."""
    flip = Explainer(lambda t, x, seed: (-1.0) ** seed * t.ground_truth(x))
    _, out = run("seed_stability", task, flip)
    torch.testing.assert_close(out.values, torch.full((5,), -0.2, dtype=out.values.dtype))
    assert out.extras["topk_jaccard"] == 1.0  # |φ| never changes


def test_seed_stability_of_noise_is_low(task):
    from xaibench.rng import instance_normal

    noise = Explainer(lambda t, x, seed: instance_normal(x, seed, t.feature_shape))
    _, out = run("seed_stability", task, noise, n_seeds=8)
    assert out.values.abs().mean() < 0.3


@pytest.mark.parametrize("name", ["max_sensitivity", "local_lipschitz", "ris", "ros", "rrs", "seed_stability"])
def test_values_do_not_depend_on_batch_mates(name):
    """On a non-linear classifier with output selection, explained by gradients (float64: the relative
    metrics amplify the last-bit differences of batch-size dependent matmul kernels)."""
    t = mlp_task(n_instances=7, dtype=torch.float64)
    _, whole = run(name, t, gradient)
    _, part = run(name, t, gradient, x=t.inputs[3:5])
    torch.testing.assert_close(whole.values[3:5], part.values, rtol=1e-5, atol=1e-6)


def test_reexplanation_keeps_the_output_selected_at_the_instance():
    """The perturbed copies are explained for the class chosen at x, even where the argmax changes."""
    t = mlp_task(n_instances=6)
    seen = []
    spy = Explainer(lambda task, x, seed: seen.append(task.bind(x).selector) or torch.zeros_like(x))
    metric, _ = run("max_sensitivity", t, spy, scale=5.0)  # large noise: many neighbours change class
    expected = t.select(t.inputs).repeat_interleave(10)
    assert torch.equal(seen[-1], expected)
    neighbours = (t.inputs[:, None] + drawn_noise(metric, t.inputs)).reshape(-1, t.n_features)
    assert not torch.equal(t.select(neighbours), expected)  # their own argmax differs: the pin matters


def test_bad_parameters_are_rejected():
    with pytest.raises(InvalidParameterError):
        get_metric("ris", relative_to="max")
    with pytest.raises(InvalidParameterError):
        get_metric("seed_stability", n_seeds=1)
    with pytest.raises(InvalidParameterError):
        run("max_sensitivity", linear_task(torch.ones(3), torch.ones(2, 3)), exact, noise="laplace")


def test_instance_without_label_preserving_neighbour_falls_back_to_all():
    """Every neighbour flips the label [x₀ == 0.3] and the explanation jumps there: the value is that
    jump (max over all K neighbours), neither NaN nor a flattering 0."""
    x = torch.tensor([[0.3, 1.0]])
    t = task_from_function(lambda z: z.sum(1), x, label_fn=lambda z: (z[:, 0] == 0.3).long())
    jumpy = Explainer(lambda task, z, seed: z * (1 + 1000 * (z[:, :1] != 0.3).to(z.dtype)))
    _, out = run("ris", t, jumpy)
    assert out.extras == {"kept_fraction": 0.0, "no_kept_fraction": 1.0}
    assert out.values.item() > 100


@pytest.mark.parametrize("how", ["chunks", "copies"])
def test_the_pinned_output_survives_chunking_and_copies(how):
    """Methods explain the perturbed batch in row chunks (views) or on copies: still pinned."""
    t = dataclasses.replace(mlp_task(n_instances=6), max_batch=7)
    seen = []

    def spy(task, x, seed):
        parts = x.split(task.max_batch) if how == "chunks" else [x.clone()[i : i + 5].clone() for i in range(0, len(x), 5)]
        seen.append(torch.cat([task.bind(part).selector for part in parts]))
        return torch.zeros_like(x)

    run("max_sensitivity", t, Explainer(spy), scale=5.0)
    assert torch.equal(seen[-1], t.select(t.inputs).repeat_interleave(10))


def test_rows_outside_the_perturbed_batch_keep_their_own_output():
    t = mlp_task(n_instances=6)
    seen = []
    spy = Explainer(lambda task, x, seed: seen.append(task.bind(x[:4] * 3).selector) or torch.zeros_like(x))
    metric, _ = run("max_sensitivity", t, spy, scale=5.0)
    neighbours = (t.inputs[:, None] + drawn_noise(metric, t.inputs)).reshape(-1, t.n_features)
    assert torch.equal(seen[-1], t.select(neighbours[:4] * 3))


NEIGHBOURHOOD_METRICS = ["max_sensitivity", "local_lipschitz", "ris", "ros", "rrs"]


def test_neighbourhood_metrics_share_one_reexplanation_inside_the_block():
    from xaibench.metrics import stability

    task = mlp_task()
    x, calls = task.inputs, []
    counting = Explainer(lambda task, z, seed: calls.append(len(z)) or task.bind(z).value_and_grad(z)[1])
    phi = counting.explain(task, x, seed=SEED)
    metrics = [get_metric(name) for name in NEIGHBOURHOOD_METRICS]

    calls.clear()
    alone = [m.evaluate(task, x, phi, counting, seed=SEED).values for m in metrics]
    assert len(calls) == len(metrics)  # outside the block: every metric re-explains
    calls.clear()
    with stability.sharing_reexplanations():
        shared = [m.evaluate(task, x, phi, counting, seed=SEED).values for m in metrics]
        # one batched re-explanation per distinct neighbourhood: local_lipschitz's default is
        # Gaussian noise of scale 0.1 (Quantus'), the other four share U[-0.02, 0.02]
        assert len({(m.n_samples, m.noise, m.scale) for m in metrics}) == 2
        assert calls == [len(x) * 10] * 2
        get_metric("ris").evaluate(task, x.clone(), phi, counting, seed=SEED)  # other inputs: not shared
        get_metric("ris", n_samples=3).evaluate(task, x, phi, counting, seed=SEED)  # other neighbourhood
        assert len(calls) == 4
    for a, b in zip(alone, shared):
        torch.testing.assert_close(a, b)
    calls.clear()
    get_metric("ris").evaluate(task, x, phi, counting, seed=SEED)
    assert len(calls) == 1  # the block's memo is gone


def test_label_and_representation_passes_survive_out_of_memory():
    """RIS's label_fn and RRS's representation_fn run through the memory-aware chunking: a pass too large
    for the device is retried in halves (the size that fits remembered) and gives the unconstrained values."""
    from xaibench import chunking

    base = mlp_task(6, n_instances=5)
    calls = {"label": [], "representation": []}

    def limited(kind, fn):
        def call(z):
            calls[kind].append(z.shape[0])
            if z.shape[0] > 12:
                raise torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {z.shape[0]} rows")
            return fn(z)
        return call

    small = dataclasses.replace(base, max_batch=64, label_fn=limited("label", base.label_fn),
                                representation_fn=limited("representation", base.representation_fn))
    for name in ("ris", "rrs"):
        expected = run(name, base, gradient, n_samples=8)[1].values
        torch.testing.assert_close(run(name, small, gradient, n_samples=8)[1].values, expected)
    assert calls["label"][:3] == [40, 20, 10]  # 40 neighbours: 40 and 20 rows fail, chunks of 10 fit
    for kind, sizes in calls.items():  # only the first pass of each kind fails: later ones start at the remembered size
        assert [c for c in sizes if c > 12] == [40, 20], (kind, sizes)
    flat = torch.zeros(40, 6)
    assert chunking.fitted_rows(small, chunking.pass_key(small, "label", flat)) == 10
    assert chunking.fitted_rows(small, chunking.pass_key(small, "representation", flat)) == 10
