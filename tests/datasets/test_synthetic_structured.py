"""synthetic_patch and synthetic_copy: the generating rule, the oracle's label, mask and score."""

from __future__ import annotations

import torch

from xaibench.dataset import load_dataset
from xaibench.datasets import synthetic_copy as sc
from xaibench.datasets import synthetic_patch as sp
from xaibench.players import Players

from .shapley_bruteforce import brute_force_shapley


# -- synthetic_patch ----------------------------------------------------------------------------
def test_patch_shapes_classes_and_groups():
    ds = load_dataset("synthetic_patch")
    assert ds.kind == "image" and ds.feature_shape == (1, 16, 16) and ds.n_classes == 4
    assert (len(ds.x_train), len(ds.x_test)) == (3200, 800) and ds.x_train.dtype == torch.float32
    assert torch.bincount(ds.y_test).tolist() == [200] * 4
    assert 0.0 <= float(ds.x_train.min()) and float(ds.x_train.max()) <= 1.0
    assert Players(ds.feature_shape, ds.groups).n == 16 and not ds.oracle.signed


def test_patch_templates_are_orthogonal_and_balanced():
    t = 2.0 * sp.patterns().reshape(4, -1) - 1.0
    assert torch.equal(t @ t.T, 16.0 * torch.eye(4)) and t.sum(1).eq(0).all()


def test_patch_oracle_recovers_labels_and_planted_cells():
    images, labels, cell = sp.generate(n=400, seed=7)
    mask = sp.patch_mask(images, torch.zeros(1, 16, 16))
    assert torch.equal(sp.patch_label(images), labels)
    assert mask.sum((1, 2, 3)).eq(16).all()
    # the mask is the group of the planted cell, and the pixels there carry the class pattern
    groups = sp.patch_groups(1, 16, 16, 4)
    assert torch.equal(mask.bool(), groups[None] == cell[:, None, None, None])
    inside = images[mask.bool()].reshape(400, 4, 4)
    assert ((inside > 0.5) == sp.patterns()[labels].bool()).float().mean() > 0.99


def test_patch_score_is_the_evidence_of_the_planted_pattern():
    ds = load_dataset("synthetic_patch")
    x = ds.x_test[:50].double()
    assert (sp.patch_score(x) > 6).all()
    erased = x * (1 - ds.oracle.attributions(x, ds.baseline.double()))  # black out the true cell
    assert (sp.patch_score(erased) < 3).all()
    decoy_free = x * ds.oracle.attributions(x, ds.baseline.double())  # only the true cell kept
    assert torch.equal(sp.patch_label(decoy_free), ds.y_test[:50])


def test_patch_oracle_batches_perturbations():
    ds = load_dataset("synthetic_patch")
    x = ds.x_test[:6].reshape(2, 3, 1, 16, 16)
    assert ds.oracle.score(x).shape == (2, 3) and ds.oracle.label(x).shape == (2, 3)
    assert ds.oracle.attributions(x, ds.baseline).shape == x.shape


# -- synthetic_copy -----------------------------------------------------------------------------
def test_copy_shapes_one_hot_and_groups():
    ds = load_dataset("synthetic_copy")
    assert ds.kind == "sequence" and ds.feature_shape == (12, 10) and ds.n_classes == 10
    assert len(ds.x_train) + len(ds.x_test) == 5000 and ds.y_train.dtype == torch.long
    assert ds.x_train.sum(-1).eq(1).all() and set(ds.x_train.unique().tolist()) == {0.0, 1.0}
    assert ds.x_train[..., sc.MARKER].sum(-1).eq(1).all()  # exactly one marker
    assert torch.equal(ds.groups, torch.arange(12)[:, None].expand(12, 10))
    assert torch.equal(ds.baseline, torch.zeros(12, 10)) and not ds.oracle.signed


def test_copy_labels_follow_the_rule():
    ds = load_dataset("synthetic_copy")
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        tokens = x.argmax(-1)
        marker = (tokens == sc.MARKER).float().argmax(-1)
        assert torch.equal(tokens[torch.arange(len(x)), marker + 1], y)
        assert torch.equal(ds.oracle.label(x), y)
    assert ds.y_train.max() < sc.MARKER and len(ds.y_test.unique()) == 9
    positions = sc.generate()[2]
    assert torch.equal(positions.unique(), torch.arange(11))  # every marker position occurs


def test_copy_mask_marks_marker_and_copied_positions():
    tokens = torch.tensor([[0, 1, 2, sc.MARKER, 5, 6, 7, 8, 0, 1, 2, 3]])
    x = torch.nn.functional.one_hot(tokens, 10).float()
    mask = sc.copy_mask(x, torch.zeros(12, 10))
    assert mask[0].sum(-1).tolist() == [0, 0, 0, 10, 10, 0, 0, 0, 0, 0, 0, 0]
    assert sc.copy_label(x).tolist() == [5] and sc.copy_score(x).tolist() == [1.0]
    # the rule reads the token after the marker, not a content token elsewhere
    x_other = x.clone()
    x_other[0, 4] = torch.nn.functional.one_hot(torch.tensor(2), 10).float()
    assert sc.copy_label(x_other).tolist() == [2]


def test_copy_score_shapley_values_fall_on_the_two_positions():
    """Position-level Shapley values of the oracle score (zero baseline): ½ marker, ½ copied token."""
    ds = load_dataset("synthetic_copy")
    x = ds.x_test[:8].double()
    players = Players(ds.feature_shape, ds.groups)

    def game(coalitions: torch.Tensor) -> torch.Tensor:  # rows' coalitions over the 12 positions, row-major
        kept = players.expand(coalitions).reshape(len(x), -1, *ds.feature_shape) * x[:, None]
        return sc.copy_score(kept).reshape(-1)

    phi = brute_force_shapley(game, torch.ones(len(x), 12, dtype=x.dtype), torch.zeros(12, dtype=x.dtype))
    relevant = players.total(ds.oracle.attributions(x, ds.baseline.double())) / 10  # 1 on the two positions
    torch.testing.assert_close(phi, 0.5 * relevant)
    assert relevant.sum(1).eq(2).all()
