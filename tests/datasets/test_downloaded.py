"""adult, compas and german from the offline copies: hashes, rows, one-hot groups, standardisation."""

from __future__ import annotations

import pytest
import torch

from xaibench.dataset import data_dir, load_dataset
from xaibench.datasets import adult, compas, german
from xaibench.errors import ChecksumError
from xaibench.players import Players

# name: (train rows, test rows, groups, positive rate)
EXPECTED = {"adult": (30162, 15060, 12, 0.249), "compas": (4629, 1543, 9, 0.455), "german": (750, 250, 20, 0.70)}
HARD_CODED = {**{f"adult/{k}": v for k, v in adult.FILES.items()},
              "compas/compas-scores-two-years.csv": compas.SHA256, "german/german.data": german.SHA256}


def test_hard_coded_hashes_match_the_published_sums():
    sums = data_dir() / "SHA256SUMS"
    if not sums.exists():
        pytest.skip(f"{sums} not available")
    published = dict(reversed(line.split()) for line in sums.read_text().splitlines() if line.strip())
    for path, sha in HARD_CODED.items():
        assert published[path] == sha, path


@pytest.mark.parametrize("name", EXPECTED)
def test_rows_labels_and_groups(name):
    n_train, n_test, n_groups, positive = EXPECTED[name]
    ds = load_dataset(name)
    assert (len(ds.x_train), len(ds.x_test)) == (n_train, n_test)
    assert ds.kind == "tabular" and ds.n_classes == 2 and ds.x_train.dtype == torch.float32
    assert ds.y_train.dtype == torch.long and set(ds.y_train.unique().tolist()) == {0, 1}
    assert abs(ds.y_train.float().mean() - positive) < 0.01
    players = Players(ds.feature_shape, ds.groups)
    assert players.n == n_groups == len(ds.group_names) and len(ds.feature_names) == ds.feature_shape[0]
    for g, group in enumerate(ds.group_names):
        members = (ds.groups == g).nonzero().squeeze(1)
        names = [ds.feature_names[i] for i in members]
        assert members.diff().eq(1).all(), "a group is one contiguous block"
        if len(members) == 1 and names[0] == group:  # numeric attribute: standardised by training rows
            column = ds.x_train[:, members[0]]
            assert abs(float(column.mean())) < 1e-4 and abs(float(column.std(correction=0)) - 1) < 1e-3
        else:  # categorical: one-hot block, exactly one 1 per training row (at most one in test)
            assert all(n.startswith(group + "=") for n in names)
            assert ds.x_train[:, members].sum(1).eq(1).all() and ds.x_test[:, members].sum(1).le(1).all()
            assert set(ds.x_train[:, members].unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("name", ["compas", "german"])
def test_test_split_is_stratified_and_scaled_by_training_statistics(name):
    ds = load_dataset(name)
    assert abs(ds.y_test.float().mean() - ds.y_train.float().mean()) < 0.005
    numeric = [ds.feature_names.index(c) for c in ds.meta["numeric_mean"]]
    assert ds.x_test[:, numeric].mean(0).abs().max() > 1e-3  # not re-centred on the test rows


def test_adult_numeric_statistics_are_those_of_the_training_file():
    import pandas as pd

    raw = pd.read_csv(data_dir() / "adult" / "adult.data", header=None, skipinitialspace=True, na_values="?").dropna()
    ds = load_dataset("adult")
    assert ds.meta["numeric_mean"]["age"] == pytest.approx(raw[0].mean())
    assert ds.meta["numeric_std"]["hours-per-week"] == pytest.approx(raw[12].std(ddof=0))


def test_loader_refuses_a_corrupted_cached_file(tmp_path):
    (tmp_path / "german").mkdir()
    (tmp_path / "german" / "german.data").write_text("A11 6 A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 1\n")
    with pytest.raises(ChecksumError, match="german.data"):
        german.load_german(tmp_path)
