"""UCI Adult / Census Income (Becker & Kohavi 1996): income above $50K from the 1994 census.

Source: ``adult.data`` (32,561 rows, the training split) and ``adult.test`` (16,281 rows, the
official test split; its first line is a comment and its labels end with ``"."``), downloaded
from the UCI repository into ``<data_dir>/adult/`` and verified by SHA-256 (:mod:`._download`).

Preprocessing (version ``1``):

* the official train/test split is kept; rows with a missing value (``"?"`` in workclass,
  occupation or native-country) are dropped, leaving 30,162 train and 15,060 test rows;
* label ``y = 1`` for income ``>50K`` (``>50K.`` in the test file), else 0;
* dropped columns: ``fnlwgt`` (a census sampling weight, not an attribute of the person) and
  ``education`` (its ordinal code ``education-num`` carries the same information);
* ``capital-gain`` and ``capital-loss`` (mostly zero, heavy-tailed) become ``log1p`` of the amount;
* numeric columns are standardised with training statistics; the seven categorical columns are
  one-hot over the training categories (see :mod:`._tabular`); one group per attribute (12
  groups); the baseline is the training mean (category frequencies for one-hot blocks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xaibench.dataset import Dataset, register_dataset

from ._download import fetch
from ._tabular import table_dataset

VERSION = "1"
BASE_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/"
FILES = {
    "adult.data": "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
    "adult.test": "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
}
COLUMNS = ("age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income")
CATEGORICAL = {"workclass", "marital-status", "occupation", "relationship", "race", "sex", "native-country"}
DESCRIPTION = "UCI Adult census (downloaded): income >50K, 30,162/15,060 rows, 12 attributes, one-hot to 87 features"


def _read(path: Path, skiprows: int):
    import pandas as pd  # noqa: PLC0415 - heavy import, only when loaded

    frame = pd.read_csv(path, header=None, names=COLUMNS, skiprows=skiprows, skipinitialspace=True,
                        na_values="?", dtype={c: str for c in CATEGORICAL | {"education", "income"}})
    frame = frame.dropna().reset_index(drop=True)
    frame["income"] = frame["income"].str.rstrip(".").eq(">50K").astype("int64")
    for column in ("capital-gain", "capital-loss"):
        frame[column] = np.log1p(frame[column].astype("float64"))
    return frame.drop(columns=["fnlwgt", "education"])


@register_dataset("adult", kind="tabular", description=DESCRIPTION)
def load_adult(data_dir: Path) -> Dataset:
    paths = {name: fetch(BASE_URL + name, f"adult/{name}", sha, data_dir) for name, sha in FILES.items()}
    train, test = _read(paths["adult.data"], 0), _read(paths["adult.test"], 1)
    return table_dataset("adult", VERSION, train, test, "income", categorical=CATEGORICAL,
                         description=DESCRIPTION, meta={"source": BASE_URL, "label": "income >50K"})
