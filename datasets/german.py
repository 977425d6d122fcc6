"""Statlog German Credit (Hofmann 1994): good or bad credit risk of 1,000 loan applicants.

Source: ``german.data`` (1,000 rows, 20 attributes, space separated, last column 1 = good,
2 = bad) from the UCI repository, downloaded into ``<data_dir>/german/`` and verified by SHA-256
(:mod:`._download`).

Preprocessing (version ``1``):

* label ``y = 1`` for a **good** credit risk (code 1), ``y = 0`` for bad (code 2); 70 % are good;
* the seven numeric attributes (duration, credit amount, installment rate, residence since, age,
  existing credits, people liable) are standardised with training statistics; the thirteen
  categorical ones are one-hot over their training categories, named by the UCI codes
  (``checking_status=A11``; :data:`CODES` gives each code's meaning, also in ``meta``);
  one group per attribute (20 groups);
* stratified, shuffled split, 25 % test, seed 0 (:mod:`._split`).
"""

from __future__ import annotations

from pathlib import Path

from xaibench.dataset import Dataset, register_dataset

from ._download import fetch
from ._tabular import split_frame, table_dataset

VERSION = "1"
URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/statlog/german/german.data"
SHA256 = "b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871"
COLUMNS = ("checking_status", "duration_months", "credit_history", "purpose", "credit_amount", "savings",
           "employment_since", "installment_rate", "personal_status_sex", "other_debtors", "residence_since",
           "property", "age", "other_installment_plans", "housing", "existing_credits", "job", "people_liable",
           "telephone", "foreign_worker", "risk")
NUMERIC = {"duration_months", "credit_amount", "installment_rate", "residence_since", "age", "existing_credits",
           "people_liable"}
CATEGORICAL = set(COLUMNS[:-1]) - NUMERIC
TEST_FRACTION = 0.25
CODES = {
    "A11": "< 0 DM", "A12": "0 to < 200 DM", "A13": ">= 200 DM or salary assignment", "A14": "no checking account",
    "A30": "no credits taken / all paid back duly", "A31": "all credits at this bank paid back duly",
    "A32": "existing credits paid back duly till now", "A33": "delay in paying off in the past",
    "A34": "critical account / other credits existing",
    "A40": "car (new)", "A41": "car (used)", "A42": "furniture/equipment", "A43": "radio/television",
    "A44": "domestic appliances", "A45": "repairs", "A46": "education", "A47": "vacation", "A48": "retraining",
    "A49": "business", "A410": "others",
    "A61": "< 100 DM", "A62": "100 to < 500 DM", "A63": "500 to < 1000 DM", "A64": ">= 1000 DM",
    "A65": "unknown / no savings account",
    "A71": "unemployed", "A72": "< 1 year", "A73": "1 to < 4 years", "A74": "4 to < 7 years", "A75": ">= 7 years",
    "A91": "male: divorced/separated", "A92": "female: divorced/separated/married", "A93": "male: single",
    "A94": "male: married/widowed", "A95": "female: single",
    "A101": "none", "A102": "co-applicant", "A103": "guarantor",
    "A121": "real estate", "A122": "building society savings / life insurance", "A123": "car or other",
    "A124": "unknown / no property",
    "A141": "bank", "A142": "stores", "A143": "none",
    "A151": "rent", "A152": "own", "A153": "for free",
    "A171": "unemployed / unskilled non-resident", "A172": "unskilled resident", "A173": "skilled employee / official",
    "A174": "management / self-employed / highly qualified",
    "A191": "none", "A192": "yes, registered under the customer's name",
    "A201": "yes", "A202": "no",
}
DESCRIPTION = "Statlog German credit (downloaded): good vs bad risk, 1,000 rows, 20 attributes (one-hot groups)"


def _read(path: Path):
    import pandas as pd  # noqa: PLC0415 - heavy import, only when loaded

    frame = pd.read_csv(path, sep=" ", header=None, names=COLUMNS)
    frame["risk"] = (frame["risk"] == 1).astype("int64")
    return frame


@register_dataset("german", kind="tabular", description=DESCRIPTION)
def load_german(data_dir: Path) -> Dataset:
    frame = _read(fetch(URL, "german/german.data", SHA256, data_dir))
    train, test = split_frame(frame, "risk", TEST_FRACTION)
    return table_dataset("german", VERSION, train, test, "risk",
                         categorical=CATEGORICAL, description=DESCRIPTION,
                         meta={"source": URL, "label": "good credit risk", "codes": CODES})
