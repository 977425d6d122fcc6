"""ProPublica COMPAS recidivism data (Angwin et al. 2016): two-year recidivism of defendants in
Broward County, Florida.

Source: ``compas-scores-two-years.csv`` (7,214 rows) from ProPublica's compas-analysis
repository, downloaded into ``<data_dir>/compas/`` and verified by SHA-256 (:mod:`._download`).

Preprocessing (version ``1``):

* ProPublica's filters: ``-30 <= days_b_screening_arrest <= 30``, ``is_recid != -1``,
  ``c_charge_degree != "O"``, ``score_text`` present (pandas reads ``"N/A"`` as missing),
  leaving 6,172 rows;
* label ``y = two_year_recid`` (1 = re-offended within two years);
* features, as in most XAI and fairness work on this data: ``age``, ``priors_count``,
  ``juv_fel_count``, ``juv_misd_count``, ``juv_other_count``, ``length_of_stay`` (days between
  ``c_jail_in`` and ``c_jail_out``, clipped at 0, then ``log1p``), and the categoricals ``sex``,
  ``race`` (six values) and ``c_charge_degree`` (F / M). COMPAS's own outputs (``decile_score``,
  ``score_text`` ...) are excluded: they are the tool under study, not inputs;
* stratified, shuffled split, 25 % test, seed 0 (:mod:`._split`); numerics standardised with
  training statistics, categoricals one-hot (:mod:`._tabular`), one group per attribute (9 groups).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xaibench.dataset import Dataset, register_dataset

from ._download import fetch
from ._tabular import split_frame, table_dataset

VERSION = "1"
URL = "https://raw.githubusercontent.com/propublica/compas-analysis/master/compas-scores-two-years.csv"
SHA256 = "c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d"
NUMERIC = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count", "length_of_stay"]
CATEGORICAL = {"sex", "race", "c_charge_degree"}
TEST_FRACTION = 0.25
DESCRIPTION = "ProPublica COMPAS (downloaded): two-year recidivism, 6,172 rows, 9 attributes (one-hot groups)"


def _read(path: Path):
    import pandas as pd  # noqa: PLC0415 - heavy import, only when loaded

    frame = pd.read_csv(path)
    keep = (frame["days_b_screening_arrest"].between(-30, 30) & (frame["is_recid"] != -1)
            & (frame["c_charge_degree"] != "O") & frame["score_text"].notna() & (frame["score_text"] != "N/A"))
    frame = frame[keep].reset_index(drop=True)
    stay = pd.to_datetime(frame["c_jail_out"]) - pd.to_datetime(frame["c_jail_in"])
    frame["length_of_stay"] = np.log1p((stay.dt.total_seconds() / 86_400).clip(lower=0))
    return frame[NUMERIC + sorted(CATEGORICAL) + ["two_year_recid"]]


@register_dataset("compas", kind="tabular", description=DESCRIPTION)
def load_compas(data_dir: Path) -> Dataset:
    frame = _read(fetch(URL, "compas/compas-scores-two-years.csv", SHA256, data_dir))
    train, test = split_frame(frame, "two_year_recid", TEST_FRACTION)
    return table_dataset("compas", VERSION, train, test, "two_year_recid",
                         categorical=CATEGORICAL, description=DESCRIPTION,
                         meta={"source": URL, "label": "two_year_recid"})
