"""Removal-curve metrics: closed forms on linear models, zero denominators, baselines, Quantus PixelFlipping."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from xaibench.errors import InvalidParameterError, NotApplicableError
from xaibench.metric import get_metric
from xaibench.metrics._removal import Removal, gaussian_blur
from xaibench.metrics.deletion import removal_curves
from xaibench.perf.faithfulness import module_task, small_cnn
from xaibench.testing import linear_task

W = torch.tensor([3.0, -2.0, 1.0, 0.5], dtype=torch.float64)


def _linear(x, **kw):
    return linear_task(W, x.to(torch.float64), **kw)


def _trapezoid(y, xs):
    return float(sum((xs[i + 1] - xs[i]) * (y[i] + y[i + 1]) / 2 for i in range(len(y) - 1)))


def test_deletion_curve_closed_form():
    # f = 3a − 2b + c + d/2, x = 1, b = 0: φ = w, f(x) = 2.5; MoRF removes w in the order 3, 1, 0.5, −2
    task = _linear(torch.ones(1, 4))
    phi = task.ground_truth(task.inputs)
    curves = removal_curves(task, task.inputs, phi, orders=("morf", "lerf"))
    torch.testing.assert_close(curves.values[0, 0], torch.tensor([2.5, -0.5, -1.5, -2.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(curves.values[0, 1], torch.tensor([2.5, 4.5, 4.0, 3.0, 0.0], dtype=torch.float64))
    frac = [0, 0.25, 0.5, 0.75, 1]
    morf = _trapezoid([1, -0.2, -0.6, -0.8, 0], frac)
    lerf = _trapezoid([1, 1.8, 1.6, 1.2, 0], frac)
    x = task.inputs
    assert get_metric("deletion_auc")(task, x, phi, None).item() == pytest.approx(morf)
    assert get_metric("abpc")(task, x, phi, None).item() == pytest.approx(lerf - morf)
    # insertion keeps 3, then 3 and 1, ...: f = 3, 4, 4.5, 2.5 over f(x) − f(b) = 2.5
    ins = _trapezoid([0, 1.2, 1.6, 1.8, 1], frac)
    assert get_metric("insertion_auc")(task, x, phi, None).item() == pytest.approx(ins)


@pytest.mark.parametrize("x_row", [[1.0, 1.0, 1.0, 1.0], [-1.0, 2.0, 0.5, 1.0], [0.2, 1.5, -1.0, 0.0]])
def test_exact_attributions_give_the_steepest_curves(x_row):
    # whatever the sign of f(x) − f(b), exact φ = w ⊙ (x − b) minimises deletion and maximises insertion
    baseline = torch.tensor([0.5, -0.5, 0.0, 2.0], dtype=torch.float64)
    task = _linear(torch.tensor([x_row]), baseline=baseline)
    x, phi = task.inputs, task.ground_truth(task.inputs)
    deletion, insertion = get_metric("deletion_auc"), get_metric("insertion_auc")
    best_del, best_ins = deletion(task, x, phi, None).item(), insertion(task, x, phi, None).item()
    for perm in itertools.permutations(range(4)):
        ranked = torch.tensor([[4.0 - perm.index(i) for i in range(4)]], dtype=torch.float64)
        assert deletion(task, x, ranked, None).item() >= best_del - 1e-12
        assert insertion(task, x, ranked, None).item() <= best_ins + 1e-12


def test_negative_changes_flip_the_ranking():
    # f(x) < f(b) for every row: s = −1, MoRF follows increasing φ; curves requested together (ABPC reuses the
    # opposite order) and one at a time (a second pass for the flipped rows) agree
    task = _linear(-torch.rand(3, 4, generator=torch.Generator().manual_seed(5)) - 0.5)
    x = task.inputs
    phi = task.ground_truth(x)
    assert (phi.sum(1) < 0).all()
    both = removal_curves(task, x, phi, orders=("lerf", "morf"))
    morf, lerf = removal_curves(task, x, phi, orders=("morf",)), removal_curves(task, x, phi, orders=("lerf",))
    assert (both.sign == -1).all()
    torch.testing.assert_close(both.values[:, 1], morf.values[:, 0])
    torch.testing.assert_close(both.values[:, 0], lerf.values[:, 0])
    plain = removal_curves(task, x, -phi, orders=("morf",), orient=False)  # ranking by −φ by hand
    torch.testing.assert_close(morf.values, plain.values)


def test_groups_are_removed_together():
    groups = torch.tensor([0, 0, 1, 1])
    task = _linear(torch.ones(1, 4), groups=groups)
    phi = torch.tensor([[0.1, 0.1, 5.0, -9.0]], dtype=torch.float64)  # group sums 0.2, −4: group 0 first
    curves = removal_curves(task, task.inputs, phi)
    torch.testing.assert_close(curves.values[0, 0], torch.tensor([2.5, 1.5, 0.0], dtype=torch.float64))
    torch.testing.assert_close(curves.fractions, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))


def test_steps_round_to_players():
    task = _linear(torch.ones(1, 4))
    curves = removal_curves(task, task.inputs, task.ground_truth(task.inputs), n_steps=3)
    torch.testing.assert_close(curves.fractions, torch.tensor([0, 0.25, 0.75, 1.0], dtype=torch.float64))  # round(4t/3)


def test_zero_denominator_reports_the_unnormalised_curve():
    # f(x) = f(b): w = (1, −1), x = (1, 1), b = 0; removing feature 0 first drops f to −1
    task = linear_task(torch.tensor([1.0, -1.0], dtype=torch.float64), torch.ones(1, 2, dtype=torch.float64))
    phi = task.ground_truth(task.inputs)
    out = get_metric("deletion_auc").evaluate(task, task.inputs, phi, None)
    assert out.values.item() == pytest.approx(-0.5) and out.extras["degenerate_fraction"] == 1.0
    out = get_metric("insertion_auc").evaluate(task, task.inputs, phi, None)
    assert out.values.item() == pytest.approx(0.5)
    assert torch.isfinite(get_metric("abpc")(task, task.inputs, phi, None)).all()


def test_removal_values():
    x = torch.arange(8.0).reshape(2, 4) - 2  # rows (−2, −1, 0, 1) and (2, 3, 4, 5)
    background = torch.tensor([[1.0, 2.0, 3.0, 4.0], [3.0, 2.0, 1.0, 0.0]])  # mean (2, 2, 2, 2)
    task = linear_task(torch.ones(4), x, baseline=torch.full((4,), 7.0), background=background)
    keep = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    fills = {"task": (7.0, 7.0), "zero": (0.0, 0.0), "mean": (2.0, 2.0), "min": (-2.0, 2.0)}
    for strategy, (first, second) in fills.items():
        z = Removal(task, strategy)(x, keep)[:, 0]
        torch.testing.assert_close(z[:, [0, 2]], x[:, [0, 2]])
        torch.testing.assert_close(z[:, [1, 3]], torch.tensor([[first, first], [second, second]]))


def test_blur_is_a_normalised_gaussian():
    img = torch.zeros(1, 1, 9, 9)
    img[0, 0, 4, 4] = 1.0
    out = gaussian_blur(img, 1.0)
    assert out.sum().item() == pytest.approx(1.0, abs=1e-6)  # mass kept away from the border
    t = torch.arange(-4.0, 5.0)
    kernel = torch.exp(-0.5 * t**2)
    kernel = kernel[1:-1] / kernel[1:-1].sum()  # radius ceil(3σ) = 3
    torch.testing.assert_close(out[0, 0, 4, 1:-1], kernel * kernel[3])
    flat = torch.full((1, 2, 5, 5), 0.3)
    torch.testing.assert_close(gaussian_blur(flat, 2.0), flat)  # reflect padding keeps constants


def test_bad_baselines_raise_typed_errors():
    task = _linear(torch.ones(2, 4))
    phi = task.ground_truth(task.inputs)
    with pytest.raises(NotApplicableError, match="image tasks"):
        get_metric("deletion_auc", baseline="blur")(task, task.inputs, phi, None)
    with pytest.raises(NotApplicableError, match="image tasks"):
        get_metric("abpc", baseline="noisy_linear")(task, task.inputs, phi, None)
    with pytest.raises(InvalidParameterError, match="baseline must be one of"):
        get_metric("insertion_auc", baseline="black")(task, task.inputs, phi, None)


@pytest.fixture(scope="module")
def cnn():
    g = torch.Generator().manual_seed(1)
    module = small_cnn(side=8, n_classes=3, seed=1)
    return module, module_task(module, torch.rand(6, 1, 8, 8, generator=g))


@pytest.mark.parametrize("baseline", ["task", "blur", "noisy_linear"])
def test_image_curves_do_not_depend_on_batch_mates(cnn, baseline):
    _, task = cnn
    x = task.inputs
    phi = torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
    metric = get_metric("abpc", baseline=baseline, n_steps=8)
    whole = metric(task, x, phi, None, seed=3)
    torch.testing.assert_close(metric(task, x[2:5], phi[2:5], None, seed=3), whole[2:5], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(metric(task, x, phi, None, seed=3), whole, rtol=0, atol=0)
    assert torch.isfinite(whole).all()


@pytest.mark.reference
@pytest.mark.parametrize("baseline,quantus_baseline", [("zero", 0.0), ("min", "black")])
def test_curve_matches_quantus_pixel_flipping(cnn, baseline, quantus_baseline):
    quantus = pytest.importorskip("quantus")
    module, task = cnn
    x = task.inputs
    phi = torch.randn(x.shape, generator=torch.Generator().manual_seed(4))
    curves = removal_curves(task, x, phi, baseline=baseline, n_steps=16)
    oriented = (phi * curves.sign.reshape(-1, 1, 1, 1)).numpy()  # Quantus ranks by φ, we by sign(f(x) − f(x_S))·φ
    theirs = quantus.PixelFlipping(features_in_step=4, perturb_baseline=quantus_baseline, disable_warnings=True)(
        model=module, x_batch=x.numpy(), y_batch=task.select(x).numpy(), a_batch=oriented, softmax=False, device="cpu")
    theirs = np.asarray(theirs)
    ours = curves.values[:, 0, 1:].numpy()  # Quantus' curve starts after the first step
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    # (Quantus' return_auc_per_sample calls np.trapz, which NumPy 2 removed: its AUC is not comparable here)


def test_small_change_is_floored_by_the_background_spread():
    """Δ = f(x) − f(b) = 0.01 next to a background spread σ = 1: the denominator is 0.1·σ, not 0.01.

    w = (1, −1), x = (1, 0.99), b = 0, background f values ±1. Removing feature 0 first gives the
    curve 0.01 → −0.99 → 0 over fractions 0, ½, 1.
    """
    w = torch.tensor([1.0, -1.0], dtype=torch.float64)
    x = torch.tensor([[1.0, 0.99]], dtype=torch.float64)
    background = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    task = linear_task(w, x, background=background)
    phi = task.ground_truth(x)
    area = lambda y: 0.25 * (y[0] + y[1]) + 0.25 * (y[1] + y[2])  # noqa: E731
    floored = get_metric("deletion_auc").evaluate(task, x, phi, None)
    assert floored.values.item() == pytest.approx(area([0.1, -9.9, 0.0]))
    assert floored.extras["degenerate_fraction"] == 1.0
    plain = get_metric("deletion_auc", min_change=0.0)(task, x, phi, None)
    assert plain.item() == pytest.approx(area([1.0, -99.0, 0.0]))


def test_output_spread_survives_out_of_memory():
    """The background pass behind deletion's floor goes through the memory-aware chunking too."""
    import dataclasses

    from xaibench import chunking
    from xaibench.metrics._removal import output_spread
    from xaibench.testing import mlp_task

    base = mlp_task(5, n_instances=4, n_classes=3)
    sizes = []

    def f(x, s):
        sizes.append(x.shape[0])
        if x.shape[0] > 20:
            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {x.shape[0]} rows")
        return base.f(x, s)

    small = dataclasses.replace(base, f=f, max_batch=80)
    bound = small.bind(small.inputs)
    expected = output_spread(base, base.bind(base.inputs))
    torch.testing.assert_close(output_spread(small, bound), expected)
    rows = 32 * torch.unique(bound.selector).numel()  # the background once per distinct class
    fits = min(80, rows)
    while fits > 20:  # halved until it fits
        fits //= 2
    assert sizes[0] == min(80, rows) and max(sizes[-2:]) == fits
    assert chunking.fitted_rows(small, chunking.pass_key(small, "forward", small.background)) == fits
