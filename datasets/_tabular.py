"""Tabular preprocessing shared by the real-data loaders.

* Numeric columns are standardised with the **training** split's mean and population standard
  deviation (``ddof = 0``, as scikit-learn's ``StandardScaler``); a constant column keeps scale 1.
* Categorical columns are one-hot encoded over the categories seen in the training split, sorted;
  a test category never seen in training encodes as an all-zero block. One-hot columns stay 0/1.
* Every attribute is one feature **group** (a numeric column alone, a categorical column's whole
  one-hot block), so perturbation methods switch an attribute on and off as a unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from xaibench.dataset import Dataset

from ._split import stratified_split

if TYPE_CHECKING:
    import pandas as pd


def standardize(train: Tensor, test: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(train_z, test_z, mean, std)``: columns centred and scaled by training statistics only."""
    mean = train.mean(0)
    std = train.std(0, correction=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (train - mean) / std, (test - mean) / std, mean, std


@dataclass(frozen=True)
class EncodedTable:
    """Encoded train/test features with one group per attribute."""

    x_train: Tensor
    x_test: Tensor
    feature_names: tuple[str, ...]
    groups: Tensor
    group_names: tuple[str, ...]
    numeric_mean: dict[str, float]
    numeric_std: dict[str, float]


def encode_table(train: pd.DataFrame, test: pd.DataFrame, columns: list[str], categorical: set[str]) -> EncodedTable:
    """Encode ``columns`` (in this order) of the two frames; ``categorical`` names the one-hot ones."""
    blocks_train, blocks_test, names, group_ids = [], [], [], []
    means, stds = {}, {}
    for g, column in enumerate(columns):
        if column in categorical:
            categories = sorted(train[column].astype(str).unique())
            block_train = _one_hot(train[column].astype(str), categories)
            block_test = _one_hot(test[column].astype(str), categories)
            names += [f"{column}={c}" for c in categories]
        else:
            raw_train = torch.tensor(train[column].to_numpy(dtype="float64"))[:, None]
            raw_test = torch.tensor(test[column].to_numpy(dtype="float64"))[:, None]
            block_train, block_test, mean, std = standardize(raw_train, raw_test)
            means[column], stds[column] = float(mean), float(std)
            names.append(column)
        blocks_train.append(block_train)
        blocks_test.append(block_test)
        group_ids += [g] * block_train.shape[1]
    return EncodedTable(
        x_train=torch.cat(blocks_train, 1).float(), x_test=torch.cat(blocks_test, 1).float(),
        feature_names=tuple(names), groups=torch.tensor(group_ids), group_names=tuple(columns),
        numeric_mean=means, numeric_std=stds,
    )


def _one_hot(values: pd.Series, categories: list[str]) -> Tensor:
    import pandas as pd  # noqa: PLC0415 - only the downloaded datasets need pandas

    codes = torch.from_numpy(pd.Categorical(values, categories=categories).codes.astype("int64"))
    out = torch.zeros(len(codes), len(categories), dtype=torch.float64)
    seen = codes >= 0
    out[seen.nonzero().squeeze(1), codes[seen]] = 1.0
    return out


def table_dataset(name: str, version: str, train: pd.DataFrame, test: pd.DataFrame, label: str, *,
                  categorical: set[str], description: str, meta: dict) -> Dataset:
    """A tabular :class:`Dataset` from two frames whose column ``label`` holds 0/1 labels.

    Every other column is a feature, encoded by :func:`encode_table` in the frames' column order.
    """
    columns = [c for c in train.columns if c != label]
    table = encode_table(train, test, columns, categorical)
    return Dataset(
        name=name, version=version, kind="tabular",
        x_train=table.x_train, y_train=torch.tensor(train[label].to_numpy(dtype="int64")),
        x_test=table.x_test, y_test=torch.tensor(test[label].to_numpy(dtype="int64")), n_classes=2,
        feature_names=table.feature_names, groups=table.groups, group_names=table.group_names,
        description=description,
        meta={"numeric_mean": table.numeric_mean, "numeric_std": table.numeric_std, **meta},
    )


def split_frame(frame: pd.DataFrame, label: str, test_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, test)`` rows of ``frame`` by :func:`._split.stratified_split` on column ``label``."""
    train, test = stratified_split(torch.tensor(frame[label].to_numpy()), test_fraction)
    return frame.iloc[train.numpy()], frame.iloc[test.numpy()]
