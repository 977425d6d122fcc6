"""Ground-truth metrics: hand-computed cases, mask truth, groups, batch independence."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from xaibench.errors import NotApplicableError
from xaibench.metric import get_metric
from xaibench.testing import task_from_function

PHI = torch.tensor([[4.0, -3.0, 2.0, 1.0]])
TRUTH = torch.tensor([[1.0, 4.0, -3.0, 0.0]])


def gt_task(truth: torch.Tensor, *, signed: bool = True, groups=None):
    """A task whose ground truth is ``truth`` (rows matched to instances by position: x = row index)."""
    x = torch.arange(len(truth), dtype=torch.float32)[:, None].expand(-1, truth.shape[1]).contiguous()
    return task_from_function(lambda z: z.sum(1), x, ground_truth=lambda z: truth[z[:, 0].long()],
                              ground_truth_signed=signed, groups=groups)


def score(name, phi, truth, *, signed=True, groups=None, **params):
    task = gt_task(truth, signed=signed, groups=groups)
    return get_metric(name, **params)(task, task.inputs, phi, None).tolist()  # no method needed


def test_feature_rank_and_sign_agreement_by_hand():
    # top-2 by |φ|: players 0, 1 (in that order); by |truth|: 1, 2
    assert score("gt_feature_agreement", PHI, TRUTH, k=2) == [0.5]  # {0,1} ∩ {1,2} = {1}
    assert score("gt_rank_agreement", PHI, TRUTH, k=2) == [0.0]  # positions (0 vs 1), (1 vs 2)
    assert score("gt_sign_agreement", PHI, TRUTH, k=2) == [0.0]  # player 1: φ < 0 < truth
    assert score("gt_sign_agreement", PHI, -TRUTH, k=2) == [0.5]
    assert score("gt_feature_agreement", PHI, TRUTH, k=3) == [1.0]  # {0,1,2} = {1,2,0}
    assert score("gt_feature_agreement", PHI, torch.tensor([[1.0, 4, 3, 2]]), k=3) == pytest.approx([2 / 3])
    assert score("gt_rank_agreement", PHI, PHI * 2, k=3) == [1.0]
    assert score("gt_signed_rank_agreement", PHI, PHI * torch.tensor([1.0, -1, 1, 1]), k=3) == pytest.approx([2 / 3])


def test_fraction_k_is_rounded_up():
    assert score("gt_feature_agreement", PHI, TRUTH, k=0.25) == [0.0]  # one player: 0 vs 1
    assert score("gt_feature_agreement", PHI, TRUTH, k=0.3) == [0.5]  # ceil(1.2) = 2
    assert get_metric("gt_feature_agreement", k=0.25).label == "gt_feature_agreement@0.25"


def test_pairwise_rank_agreement_by_hand():
    # |truth| orders pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3) as <, <, >, >, >, >; |φ| as >, >, >, >, >, >
    assert score("gt_pairwise_rank_agreement", PHI, TRUTH) == pytest.approx([4 / 6])
    # a tie in φ on a pair the truth orders earns ½; pairs the truth ties do not count
    assert score("gt_pairwise_rank_agreement", torch.tensor([[1.0, 1.0, 0.0]]), torch.tensor([[2.0, 1.0, 1.0]])) == [
        pytest.approx((0.5 + 1.0) / 2)
    ]
    assert score("gt_pairwise_rank_agreement", PHI, torch.ones(1, 4)) == [0.5]


def test_mask_auroc_by_hand():
    assert score("gt_mask_auroc", PHI, TRUTH) == [1.0]  # relevant {0,1,2} all above player 3
    assert score("gt_mask_auroc", -PHI.flip(1), TRUTH) == [0.0]
    assert score("gt_mask_auroc", torch.ones(1, 4), TRUTH) == [0.5]  # ties count ½
    assert score("gt_mask_auroc", torch.tensor([[3.0, 1.0, 2.0, 2.0]]), TRUTH) == [pytest.approx((1 + 0 + 0.5) / 3)]
    assert score("gt_mask_auroc", PHI, torch.ones(1, 4)) == [0.5]  # no irrelevant player


def test_rank_correlation_by_hand():
    assert score("gt_rank_correlation", 2 * TRUTH + 1, TRUTH) == [pytest.approx(1.0)]
    assert score("gt_rank_correlation", -TRUTH, TRUTH) == [pytest.approx(-1.0)]
    assert score("gt_rank_correlation", -TRUTH, TRUTH, absolute=True) == [pytest.approx(1.0)]
    # ranks of φ: 4, 1, 3, 2; of truth: 3, 4, 1, 2 → d² = 1 + 9 + 4 + 0 = 14 → 1 − 6·14/(4·15) = −0.4
    assert score("gt_rank_correlation", PHI, TRUTH) == [pytest.approx(-0.4)]


def test_mask_truth_compares_magnitudes():
    mask = torch.tensor([[0.0, 1.0, 1.0, 0.0]])
    phi = torch.tensor([[0.1, -5.0, 4.0, 0.0]])
    assert score("gt_mask_auroc", phi, mask, signed=False) == [1.0]
    assert score("gt_rank_correlation", phi, mask, signed=False)[0] > 0.8
    task = gt_task(mask, signed=False)
    for name in ("gt_sign_agreement", "gt_signed_rank_agreement"):
        with pytest.raises(NotApplicableError, match="unsigned mask"):
            get_metric(name).check(task, SimpleNamespace(stochastic=False, name="any"))


def test_groups_sum_attributions_within_players():
    """Four features in two groups {0,1}, {2,3}: φ per group (1 + 2, −1 + 5) = (3, 4), truth (0, 7)."""
    groups = torch.tensor([0, 0, 1, 1])
    phi = torch.tensor([[1.0, 2.0, -1.0, 5.0]])
    truth = torch.tensor([[0.0, 0.0, 3.0, 4.0]])
    assert score("gt_mask_auroc", phi, truth, groups=groups) == [1.0]
    assert score("gt_rank_correlation", phi, truth, groups=groups) == [pytest.approx(1.0)]
    assert score("gt_feature_agreement", phi, truth, groups=groups, k=1) == [1.0]
    # per feature instead: relevant |φ| {1, 5} vs irrelevant {1, 2}: (½ + 0 + 1 + 1) / 4
    assert score("gt_mask_auroc", phi, truth) == [0.625]


@pytest.mark.parametrize("name", ["gt_rank_correlation", "gt_feature_agreement", "gt_rank_agreement", "gt_sign_agreement",
                                  "gt_signed_rank_agreement", "gt_pairwise_rank_agreement", "gt_mask_auroc"])
def test_values_do_not_depend_on_batch_mates(name):
    g = torch.Generator().manual_seed(0)
    truth, phi = torch.randn(6, 9, generator=g), torch.randn(6, 9, generator=g)
    task = gt_task(truth)
    metric = get_metric(name)
    whole = metric(task, task.inputs, phi, None)
    part = metric(task, task.inputs[2:4], phi[2:4], None)
    torch.testing.assert_close(whole[2:4], part)
    assert whole.shape == (6,) and torch.isfinite(whole).all()


def test_pairwise_agreement_is_blocked_over_instances(monkeypatch):
    import xaibench.metrics.ground_truth as gt

    g = torch.Generator().manual_seed(1)
    truth, phi = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    full = score("gt_pairwise_rank_agreement", phi, truth)
    monkeypatch.setattr(gt, "PAIR_BLOCK", 2 * 49)  # two instances per block
    assert score("gt_pairwise_rank_agreement", phi, truth) == pytest.approx(full)
    assert not math.isnan(full[0])
