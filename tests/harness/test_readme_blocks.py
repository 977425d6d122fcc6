"""Every generated block of the README is what the code gives now (issue 15 item 2).

* The catalogue (``docs/catalogue.py``) and the leaderboard blocks (``docs/samples.py``: the quick
  suite's sample from ``results/quick``, the standard leaderboard's summary from
  ``results/standard``) equal what their scripts write: run ``python docs/catalogue.py --write``
  and ``python docs/samples.py --write`` when this fails.
* The committed quick records are what a fresh quick run gives, field by field, up to float
  round-off (timings and cost values aside). When this fails, the quick suite's results changed:
  bump its ``version`` in ``bench/suites/quick.toml``, save a fresh run into ``results/quick`` and
  regenerate the README (the commands are in ``docs/samples.py``).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from xaibench.records import TIMING_FIELDS
from xaibench.results import RECORDS_PARQUET, read_parquet_records

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
QUICK = ROOT / "results" / "quick"
RELATIVE, ABSOLUTE = 1e-4, 1e-7
"""Float tolerance between machines (BLAS and thread counts change float32 round-off)."""


def script(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", ROOT / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_catalogue_block_is_generated_from_the_registries():
    catalogue = script("catalogue")
    readme = README.read_text(encoding="utf-8")
    block = readme.split(catalogue.BEGIN, 1)[1].split(catalogue.END, 1)[0].strip()
    assert block == catalogue.catalogue().strip(), "run `python docs/catalogue.py --write`"


@pytest.mark.parametrize("name", ["SAMPLE", "STANDARD"])
def test_the_leaderboard_blocks_are_generated_from_the_committed_results(name):
    samples = script("samples")
    readme = README.read_text(encoding="utf-8")
    assert samples.read_block(readme, name) == samples.BLOCKS[name][1]().strip(), \
        "run `python docs/samples.py --write`"


def comparable(record: dict) -> dict:
    """What a fresh run must reproduce: everything but timings, provenance and cost values."""
    drop = set(TIMING_FIELDS) | {"key", "device_name", "versions", "code_sha256", "xaibench_version", "traceback",
                                 "device", "suite_version"}
    if record["category"] == "cost":
        drop |= {"value", "values", "stderr", "ci_low", "ci_high", "n", "interval"}
    return {k: v for k, v in record.items() if k not in drop and v is not None}


def close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            math.isclose(a, b, rel_tol=RELATIVE, abs_tol=ABSOLUTE)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    return a == b


def test_close_tolerates_round_off_only():
    assert close({"v": [1.0, 2.0]}, {"v": [1.0 + 1e-9, 2.0]}) and not close({"v": [1.0]}, {"v": [1.001]})
    assert not close([1.0, None], [1.0, 0.0]) and close([None], [None])


def test_a_fresh_quick_run_gives_the_committed_records(tmp_path):
    if not (QUICK / RECORDS_PARQUET).is_file():
        pytest.skip("results/quick is not computed yet")
    import xaibench
    from xaibench.store import read_records
    from xaibench.suite import load_suite

    committed = read_parquet_records(QUICK)
    assert {r["suite_version"] for r in committed} == {load_suite("quick").version}, \
        "results/quick holds records of another quick suite version: save a fresh run into it"
    xaibench.run("quick", out=tmp_path / "quick", progress=False)
    fresh = list(read_records(tmp_path / "quick"))

    def identity(r):
        return r["task"], r["method"], r["metric"], r["seed"]

    old = {identity(r): comparable(r) for r in committed}
    new = {identity(r): comparable(r) for r in fresh}
    assert old.keys() == new.keys(), "the quick suite's cells changed: bump its version and save a fresh run"
    changed = [(k, f) for k in old for f in old[k].keys() | new[k].keys() if not close(old[k].get(f), new[k].get(f))]
    assert not changed, (f"{len(changed)} values differ from results/quick, e.g. {changed[:3]}: the quick suite's "
                         "results changed; bump its version, save a fresh run into results/quick and run "
                         "`python docs/samples.py --write`")
