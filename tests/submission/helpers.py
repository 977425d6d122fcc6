"""Shared set-up of the submission, site and browser tests: a tiny canonical suite, its published
built-in results, example methods, and a submitted-and-published method; each built once per session."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

TINY_SUITE = """
name = "tiny"
version = "1"
description = "a tiny canonical suite for the submission tests: 3 tasks, 3 methods, 2 metrics, 4 instances (3 on one task)"
seeds = [0]
n_instances = 4
n_background = 16
cell_timeout = 120

methods = [{ name = "random", seeds = [0, 1] }, "saliency", "input_x_gradient"]
metrics = ["deletion_auc", { name = "insertion_auc", n_seeds = 1 }]

[[tasks]]
datasets = ["breast_cancer", "digits"]
model = "mlp"
target = "logit"

[[tasks]]
dataset = "synthetic_copy"
model = "sequence_lm"
target = "next_token_logprob"
n_instances = 3  # a task's own budget, as the standard suite gives its costliest tasks
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
    """``results/`` as docs/standard_results.py makes it: the tiny suite run with its built-in
    methods (attributions of 3 instances saved), saved by ``xaibench leaderboard RUN --save
    results/standard --render-into results`` (records.parquet, manifest.json, attributions/, and
    results/LEADERBOARD.*); built once per session, copied by callers. The run folder is elsewhere."""
    if "results" not in _CACHE:
        from xaibench.api import run
        from xaibench.cli import main

        root = tmp_path_factory.mktemp("published")
        suite = write(root, "tiny.toml", TINY_SUITE)
        run(str(suite), out=root / "runs" / "tiny", progress=False, save_attributions=3, threads=1)
        results = root / "results"
        assert main(["leaderboard", str(root / "runs" / "tiny"), "--save", str(results / "standard"),
                     "--render-into", str(results)]) == 0
        _CACHE["results"], _CACHE["run"] = results, root / "runs" / "tiny"
    return _CACHE["results"]


def standard_run(tmp_path_factory) -> Path:
    """The run folder ``results/standard`` of :func:`published_results` was saved from."""
    published_results(tmp_path_factory)
    return _CACHE["run"]


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
