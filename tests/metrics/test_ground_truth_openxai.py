"""Agreement with OpenXAI's ground-truth metrics FA, RA, SA, SRA, RC and PRA.

OpenXAI is not on the package index; its formulas are transcribed below from
``openxai/metrics.py`` of https://github.com/AI4LIFE-GROUP/OpenXAI (commit 054a8f26fb1652c9ad014ba69fb0b7c9560a1e32:
``pairwise_comp``, ``rankcorr``, ``eval_ground_truth_faithfulness``, ``_construct_topk_dfs``),
unchanged except for NumPy-only input handling and ``DataFrame.map`` for the deprecated
``applymap``. OpenXAI's truth is one coefficient vector ``w`` flipped by the predicted class,
``(2·pred − 1)·w``; our task returns that oriented truth per instance. Inputs are tie-free, where
OpenXAI's order-dependent tie handling (documented in our metrics) does not arise.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import comb
from scipy.stats import pearsonr, rankdata

from xaibench.metric import get_metric
from xaibench.testing import task_from_function

pytestmark = pytest.mark.reference


# ---- transcribed from OpenXAI openxai/metrics.py -------------------------------------------------
def pairwise_comp(explanations, ground_truth):
    feat_pairs_w_same_rel_rankings = np.zeros(explanations.shape[0])
    exp_ranks = rankdata(-np.abs(explanations), method="dense", axis=1)
    gt_rank = rankdata(-np.abs(ground_truth), method="dense")
    n_feat = explanations.shape[1]
    for feat1, feat2 in itertools.combinations_with_replacement(range(n_feat), 2):
        if feat1 != feat2:
            rel_rankingA = exp_ranks[:, feat1] < exp_ranks[:, feat2]
            rel_rankingB = gt_rank[feat1] < gt_rank[feat2]
            feat_pairs_w_same_rel_rankings += rel_rankingA == rel_rankingB
    pairwise_distr = feat_pairs_w_same_rel_rankings / comb(n_feat, 2)
    return pairwise_distr, np.mean(pairwise_distr)


def rankcorr(explanations, ground_truth):
    corrs_distr = np.zeros(explanations.shape[0])
    exp_ranks = rankdata(-np.abs(explanations), method="dense", axis=1)
    gt_rank = rankdata(-np.abs(ground_truth), method="dense")
    for row in range(exp_ranks.shape[0]):
        corrs_distr[row], _ = pearsonr(exp_ranks[row], gt_rank)
    return corrs_distr, np.mean(corrs_distr)


def eval_ground_truth_faithfulness(explanations, ground_truth, predictions, k, metric):
    ground_truths = (predictions * 2 - 1)[:, None] * np.repeat(ground_truth.reshape(1, -1), len(predictions), axis=0)
    topk_idxs_df, topk_idxs_df_gt = _construct_topk_dfs(explanations, ground_truths, k, metric)
    if metric in ["overlap", "sign"]:  # FA, SA
        topk_sets = [set(list(row)) for row in topk_idxs_df.to_numpy()]
        topk_sets_gt = set(list(topk_idxs_df_gt.to_numpy()[0]))
        metric_distr = np.array([len(topk_set.intersection(topk_sets_gt)) / k for topk_set in topk_sets])
    elif metric in ["rank", "ranksign"]:  # RA, SRA
        metric_distr = (topk_idxs_df.to_numpy() == topk_idxs_df_gt.to_numpy()).sum(axis=1) / k
    return metric_distr, np.mean(metric_distr)


def _construct_topk_dfs(explanations, ground_truths, k, metric):
    attrs = [explanations, ground_truths]
    topk_idxs = [np.argsort(-np.abs(attr), axis=1)[:, :k] for attr in attrs]
    topk_idxs_dfs = [("feat" + pd.DataFrame(topk_idx).map(str)) for topk_idx in topk_idxs]
    if "rank" in metric:  # RA, SRA
        all_feat_ranks = [rankdata(-np.abs(attr), method="dense", axis=1) for attr in attrs]
        topk_ranks = [np.take_along_axis(r, i, axis=1) for r, i in zip(all_feat_ranks, topk_idxs)]
        topk_idxs_dfs = [df + ("rank" + pd.DataFrame(r).map(str)) for df, r in zip(topk_idxs_dfs, topk_ranks)]
    if "sign" in metric:  # SA, SRA
        topk_signs = [np.take_along_axis(np.sign(attr).astype(int), i, axis=1) for attr, i in zip(attrs, topk_idxs)]
        topk_idxs_dfs = [df + ("sign" + pd.DataFrame(s).map(str)) for df, s in zip(topk_idxs_dfs, topk_signs)]
    return topk_idxs_dfs
# ---- end of transcription -------------------------------------------------------------------------


N, D, K = 12, 10, 4


@pytest.fixture(scope="module")
def case():
    """OpenXAI's setting: a logistic-regression truth w, one predicted class per instance."""
    g = torch.Generator().manual_seed(7)
    w = torch.randn(D, generator=g, dtype=torch.float64)
    predictions = torch.randint(0, 2, (N,), generator=g)
    oriented = (2 * predictions - 1)[:, None].double() * w  # (N, D)
    x = torch.arange(N, dtype=torch.float64)[:, None].expand(N, D).contiguous()
    task = task_from_function(lambda z: z.sum(1), x, ground_truth=lambda z: oriented[z[:, 0].long()])
    # explanations: noisy versions of the oriented truth, so every metric takes varied values
    phi = oriented + 0.8 * torch.randn(N, D, generator=g, dtype=torch.float64)
    return task, phi, w.numpy(), predictions.numpy()


def ours(name, case, **params):
    task, phi, _, _ = case
    return get_metric(name, **params)(task, task.inputs, phi, None).numpy()


@pytest.mark.parametrize("name, openxai_metric", [
    ("gt_feature_agreement", "overlap"), ("gt_rank_agreement", "rank"),
    ("gt_sign_agreement", "sign"), ("gt_signed_rank_agreement", "ranksign"),
])
def test_topk_agreements_match_openxai(case, name, openxai_metric):
    _, phi, w, predictions = case
    reference, _ = eval_ground_truth_faithfulness(phi.numpy(), w, predictions, K, openxai_metric)
    values = ours(name, case, k=K)
    assert len(set(values.round(6))) > 1, "the case should discriminate"
    rows = np.ones(N, dtype=bool)
    if openxai_metric == "sign":
        # OpenXAI's FA/SA compare every row with the top-k set of the *first* row's oriented truth
        # (``topk_idxs_df_gt.to_numpy()[0]``): for SA, rows predicted as the other class are scored
        # against flipped signs. Agreement holds on the rows oriented as row 0; we score each row
        # against its own truth.
        rows = predictions == predictions[0]
        assert 0 < rows.sum() < N
        our_rows = ours(name, (case[0], case[1] * torch.as_tensor(2.0 * (predictions == predictions[0]) - 1)[:, None],
                               *case[2:]), k=K)
        np.testing.assert_allclose(our_rows[~rows], reference[~rows], rtol=1e-4, atol=1e-12)
    np.testing.assert_allclose(values[rows], reference[rows], rtol=1e-4, atol=1e-12)


def test_pairwise_rank_agreement_matches_openxai(case):
    _, phi, w, _ = case
    reference, _ = pairwise_comp(phi.numpy(), w)  # |·| ignores OpenXAI's sign flip
    np.testing.assert_allclose(ours("gt_pairwise_rank_agreement", case), reference, rtol=1e-4)


def test_rank_correlation_matches_openxai_rc(case):
    """OpenXAI's RC ranks magnitudes: our ``absolute=True``."""
    _, phi, w, _ = case
    reference, _ = rankcorr(phi.numpy(), w)
    np.testing.assert_allclose(ours("gt_rank_correlation", case, absolute=True), reference, rtol=1e-4)
