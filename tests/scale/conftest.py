"""Shared set-up of the scale tests (local ``--workers``, the Ray backend): the toy and fault
plugins, a toy suite whose cells take a known time, a local Ray instance, and record comparison."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from reliability.conftest import SUITE as RELIABILITY_SUITE
from reliability.conftest import comparable
from reliability.conftest import plugins  # noqa: F401 - the same autouse fixture: toy and fault plugins

from xaibench.store import read_records

BROKEN_TASK = """
[[tasks]]
dataset = "toy_linear"
model = "toy_linear_model"
target = "broken"
"""


def suite_text(delay: float = 0.05, broken: bool = True) -> str:
    """The reliability tests' toy suite (2 methods × 3 seeds × 3 metrics) with ``toy_slow``
    sleeping ``delay`` seconds per cell; ``broken`` adds a task whose model cannot be built
    (every record an error)."""
    assert "delay = 0.005" in RELIABILITY_SUITE
    return RELIABILITY_SUITE.replace("delay = 0.005", f"delay = {delay}") + (BROKEN_TASK if broken else "")


SUITE = suite_text()
N_RECORDS = 2 * 2 * 3 * (3 + 2)  # tasks × methods × seeds × (metrics + 2 cost metrics)


@pytest.fixture(scope="package")
def ray_session():
    """A local Ray instance with 2 CPUs for the package's Ray tests (skipped, with the reason,
    where Ray is not installed or cannot start)."""
    ray = pytest.importorskip("ray", reason='Ray is not installed (pip install "xaibench[ray]")')
    if ray.is_initialized():
        yield ray
        return
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 object_store_memory=100 * 1024**2)
    except Exception as exc:  # noqa: BLE001 - /dev/shm too small, no loopback network, ...
        pytest.skip(f"a local Ray instance cannot start here: {type(exc).__name__}: {exc}")
    yield ray
    ray.shutdown()


def write_suite(folder: Path, text: str = SUITE) -> Path:
    path = folder / "scale.toml"
    path.write_text(text, encoding="utf-8")
    return path


def keyed(folder: Path) -> dict[str, dict]:
    """The records of a run folder by key; fails on a duplicated key."""
    records = list(read_records(folder))
    counts = Counter(r["key"] for r in records)
    assert not [k for k, n in counts.items() if n > 1], "duplicated records"
    return {r["key"]: r for r in records}


def assert_same_records(folder: Path, reference: Path) -> None:
    """Same keys, none twice, and every field equal but timings (and cost values)."""
    ours, theirs = keyed(folder), keyed(reference)
    assert set(ours) == set(theirs), f"{len(set(theirs) - set(ours))} lost, {len(set(ours) - set(theirs))} foreign"
    changed = [k for k in ours if comparable(ours[k]) != comparable(theirs[k])]
    assert not changed, json.dumps([_diff(ours[k], theirs[k]) for k in changed[:3]], default=str)[:3000]


def _diff(a: dict, b: dict) -> dict:
    return {"cell": (a["task"], a["method"], a["metric"], a["seed"]),
            **{k: (a.get(k), b.get(k)) for k in comparable(a) if comparable(a).get(k) != comparable(b).get(k)}}
