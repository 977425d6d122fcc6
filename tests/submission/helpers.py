"""Shared set-up of the submission, site and browser tests: a tiny canonical suite, its published
built-in results, example methods, and a submitted-and-published method; each built once per session."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

TINY_SUITE = """
name = "tiny"
version = "1"
description = "a tiny canonical suite for the submission tests: 3 tasks, 3 methods, 2 metrics, 4 instances"
seeds = [0]
n_instances = 4
n_background = 16
cell_timeout = 120

methods = ["random", "saliency", "input_x_gradient"]
metrics = ["deletion_auc", "insertion_auc"]

[[tasks]]
datasets = ["breast_cancer", "digits"]
model = "mlp"
target = "logit"

[[tasks]]
dataset = "synthetic_copy"
model = "sequence_lm"
target = "next_token_logprob"
"""

GOOD = '''
import dataclasses
from typing import ClassVar

import xaibench


@dataclasses.dataclass(frozen=True)
class GradTimesInput(xaibench.Method):
    name: ClassVar[str] = "{name}"
    family: ClassVar[str] = "gradient"
    description: ClassVar[str] = "gradient times input, scaled"
    scale: float = 2.0

    def explain(self, task, x, *, seed=0):
        _, grad = task.bind(x).value_and_grad(x)
        return self.scale * grad * x
'''

_CACHE: dict[str, object] = {}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def published_results(tmp_path_factory) -> Path:
    """A results folder whose ``standard/`` is the tiny suite run with its built-in methods
    (attributions of 3 instances saved); built once per session, copied read-only by callers."""
    if "results" not in _CACHE:
        from xaibench.api import run

        root = tmp_path_factory.mktemp("published")
        suite = write(root, "tiny.toml", TINY_SUITE)
        run(str(suite), out=root / "results" / "standard", progress=False, save_attributions=3)
        _CACHE["results"] = root / "results"
    return _CACHE["results"]


def fresh_results(tmp_path: Path, tmp_path_factory) -> Path:
    """A private copy of the published results, for a test that publishes into it."""
    target = tmp_path / "results"
    shutil.copytree(published_results(tmp_path_factory), target)
    return target


def good_bundle(tmp_path_factory) -> tuple[Path, Path]:
    """``(bundle folder, results)``: the good method submitted on the whole tiny suite; once per session."""
    if "bundle" not in _CACHE:
        from xaibench.registries import methods
        from xaibench.submission.submit import submit

        results = published_results(tmp_path_factory)
        folder = tmp_path_factory.mktemp("good")
        source = write(folder, "good_method.py", GOOD.format(name="grad_times_input_2"))
        try:
            done = submit(f"{source}:GradTimesInput", results=results, out=folder / "bundle", progress=False,
                          save_attributions=3, timeout=60)
        finally:
            methods.remove("grad_times_input_2")
        _CACHE["bundle"] = done
    return _CACHE["bundle"].directory, published_results(tmp_path_factory)


def published_site(tmp_path_factory) -> tuple[Path, Path]:
    """``(results, site)``: the good bundle published with the site built; once per session."""
    if "site" not in _CACHE:
        from xaibench.submission.publish import publish

        bundle, _ = good_bundle(tmp_path_factory)
        root = tmp_path_factory.mktemp("site")
        results = root / "results"
        shutil.copytree(published_results(tmp_path_factory), results)
        outcome = publish([bundle], results=results, site=root / "site")
        assert not outcome.refused, outcome.refused
        _CACHE["site"] = (results, root / "site")
    return _CACHE["site"]
