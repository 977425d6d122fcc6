"""``FILE.py:Class``: parsing, importing from the path (never shadowing a real module), class checks."""

from __future__ import annotations

import sys

import pytest

from submission.helpers import GOOD, write
from xaibench.errors import SubmissionError
from xaibench.registries import methods
from xaibench.submission.loader import MODULE_PREFIX, load_class, parse_spec


@pytest.mark.parametrize("spec, message", [
    ("my_method.py", "expected FILE.py:Class"),
    ("my_method.py:", "expected FILE.py:Class"),
    ("my_method.py:1Class", "not a Python class name"),
    ("my_method.txt:Cls", "not a Python file"),
    ("missing.py:Cls", "does not exist"),
])
def test_bad_specs_are_refused_with_the_fix(tmp_path, monkeypatch, spec, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_method.txt").write_text("x = 1")
    with pytest.raises(SubmissionError, match=message):
        parse_spec(spec)


def test_a_file_named_like_a_real_module_does_not_shadow_it(tmp_path):
    """``random.py`` is imported under its own module name; the standard library's random stays."""
    import random

    path = write(tmp_path, "random.py", GOOD.format(name="loader_shadow_test"))
    source = parse_spec(f"{path}:GradTimesInput")
    try:
        cls = load_class(source)
        assert cls.__module__ == MODULE_PREFIX + "random" and sys.modules["random"] is random
        assert methods.get("loader_shadow_test") is cls
    finally:
        methods.remove("loader_shadow_test")


def test_a_missing_class_lists_the_method_classes_the_file_defines(tmp_path):
    path = write(tmp_path, "mine.py", GOOD.format(name="loader_missing_test"))
    with pytest.raises(SubmissionError, match="has no class Nope. It defines: GradTimesInput"):
        load_class(parse_spec(f"{path}:Nope"))
    methods.remove("loader_missing_test")


@pytest.mark.parametrize("body, problem", [
    ("class Bad:\n    pass\n", "must subclass xaibench.Method"),
    ("class Bad(xaibench.Method):\n    name = 'bad_x'\n    family = 'gradient'\n"
     "    def explain(self, task, x, *, seed=0):\n        return x\n", "must be a frozen dataclass"),
    ("@dataclasses.dataclass(frozen=True)\nclass Bad(xaibench.Method):\n    name: ClassVar[str] = 'bad_y'\n"
     "    family: ClassVar[str] = 'magic'\n    def explain(self, task, x, *, seed=0):\n        return x\n",
     "family must be one of"),
    ("@dataclasses.dataclass(frozen=True)\nclass Bad(xaibench.Method):\n    name: ClassVar[str] = 'Bad Name'\n"
     "    family: ClassVar[str] = 'gradient'\n    def explain(self, task, x, *, seed=0):\n        return x\n",
     "lower case letters"),
])
def test_classes_that_cannot_be_methods_are_refused_with_the_fix(tmp_path, body, problem):
    path = write(tmp_path, "bad.py", "import dataclasses\nfrom typing import ClassVar\nimport xaibench\n\n" + body)
    with pytest.raises(SubmissionError, match=problem):
        load_class(parse_spec(f"{path}:Bad"))


def test_a_built_in_methods_name_cannot_be_taken(tmp_path):
    path = write(tmp_path, "taken.py", GOOD.format(name="saliency"))
    with pytest.raises(SubmissionError, match="'saliency' is already taken"):
        load_class(parse_spec(f"{path}:GradTimesInput"))
    assert methods.get("saliency").__module__.startswith("xaibench.methods")
