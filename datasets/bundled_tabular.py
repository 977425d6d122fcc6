"""Tabular datasets bundled with scikit-learn: ``breast_cancer`` and ``wine``.

Preprocessing (version ``1``): the bundled rows are split by a stratified, shuffled split
(25 % test, seed 0, :mod:`._split`), then every feature is standardised with the training
split's mean and population standard deviation. No feature groups (every feature its own
player). The baseline is the training mean, i.e. zero after standardisation.

* ``breast_cancer``: Wisconsin diagnostic breast cancer (Street, Wolberg & Mangasarian 1993),
  569 rows, 30 numeric features. scikit-learn codes malignant as 0 and benign as 1; we keep its
  coding (``y = 1`` benign).
* ``wine``: UCI wine recognition (Forina et al.), 178 rows, 13 numeric features, 3 cultivars.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from xaibench.dataset import Dataset, register_dataset

from ._split import split_rows
from ._tabular import standardize

VERSION = "1"
TEST_FRACTION = 0.25


def _from_sklearn(name: str, load: Callable, description: str) -> Dataset:
    bunch = load()
    x = torch.tensor(bunch.data, dtype=torch.float64)
    y = torch.tensor(bunch.target, dtype=torch.long)
    x_train, y_train, x_test, y_test = split_rows(x, y, TEST_FRACTION)
    x_train, x_test, mean, std = standardize(x_train, x_test)
    return Dataset(
        name=name, version=VERSION, kind="tabular",
        x_train=x_train.float(), y_train=y_train, x_test=x_test.float(), y_test=y_test,
        n_classes=len(bunch.target_names), feature_names=tuple(str(f) for f in bunch.feature_names),
        description=description,
        meta={"class_names": tuple(str(c) for c in bunch.target_names), "raw_mean": mean.tolist(), "raw_std": std.tolist()},
    )


BREAST_CANCER = "Wisconsin breast cancer (sklearn): 569 rows, 30 standardised features, benign vs malignant"
WINE = "UCI wine (sklearn): 178 rows, 13 standardised features, 3 cultivars"


@register_dataset("breast_cancer", kind="tabular", description=BREAST_CANCER)
def load_breast_cancer(data_dir: Path) -> Dataset:
    from sklearn.datasets import load_breast_cancer  # noqa: PLC0415 - heavy import, only when loaded

    return _from_sklearn("breast_cancer", load_breast_cancer, BREAST_CANCER)


@register_dataset("wine", kind="tabular", description=WINE)
def load_wine(data_dir: Path) -> Dataset:
    from sklearn.datasets import load_wine  # noqa: PLC0415

    return _from_sklearn("wine", load_wine, WINE)
