"""The code's identity in the record key: a hash of the sources, stable for the same code and
changed by any edit to the package or to a plugin's file."""

from __future__ import annotations

import importlib.util
import sys

from xaibench.records import _package_files, code_sha256, value_files
from xaibench.stats import Summary


def test_the_package_hash_is_stable_and_covers_the_harness_and_plugins():
    assert code_sha256() == code_sha256() == code_sha256(Summary)  # a class inside the package adds nothing
    names = [name for name, _ in _package_files()]
    for expected in ("xaibench/stats.py", "xaibench/metrics/stability.py", "xaibench/methods/gradient.py",
                     "xaibench/models/__init__.py", "xaibench/datasets/__init__.py"):
        assert expected in names


def test_only_value_code_is_hashed():
    """Presentation and orchestration modules are left out; methods, metrics, models, datasets and the
    computing core are in (a published leaderboard must outlive edits to how it is shown)."""
    hashed = {name for name, _ in value_files()}
    for value_code in ("xaibench/task.py", "xaibench/players.py", "xaibench/shapley.py", "xaibench/tolerance.py",
                       "xaibench/rng.py", "xaibench/stats.py", "xaibench/backends/cell.py", "xaibench/tasks.py",
                       "xaibench/metrics/deletion.py", "xaibench/methods/lime.py", "xaibench/models/vae.py",
                       "xaibench/datasets/adult.py"):
        assert value_code in hashed, value_code
    for presentation in ("xaibench/cli.py", "xaibench/tables.py", "xaibench/render.py", "xaibench/store.py",
                         "xaibench/runner.py", "xaibench/suite.py", "xaibench/backends/worker.py",
                         "xaibench/perf/timing.py"):
        assert presentation not in hashed, presentation
    assert hashed < {name for name, _ in _package_files()}


def load_plugin(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_a_plugin_files_edit_changes_the_hash(tmp_path):
    path = tmp_path / "my_plugin.py"
    path.write_text("class MyMethod:\n    scale = 1\n")
    first = code_sha256(load_plugin(path, "my_plugin_v1").MyMethod)
    assert first != code_sha256() and first == code_sha256(load_plugin(path, "my_plugin_v1b").MyMethod)
    path.write_text("class MyMethod:\n    scale = 20\n")  # another size: mtimes can tie within a few ms
    assert code_sha256(load_plugin(path, "my_plugin_v2").MyMethod) != first
    assert code_sha256(base=first) == first  # extending a hash with nothing new keeps it
