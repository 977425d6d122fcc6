"""docs/SUBMITTING.md, followed as a newcomer would: its example method is taken from the page,
validated, submitted (a partial first look, which publish refuses, then the whole canonical suite —
the tiny one of these tests) and published with the page's own commands; it appears ranked in
results/LEADERBOARD.md and on the site."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from xaibench.cli import main
from xaibench.registries import methods

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "SUBMITTING.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.DOTALL)


def _command(name: str) -> list[str]:
    """The page's ``xaibench NAME ...`` command line (the first one shown), as arguments."""
    line = next(line for block in _blocks("sh") for line in block.splitlines()
                if line.startswith(f"xaibench {name} "))
    return shlex.split(line.split("#")[0])[1:]


def test_the_example_method_is_about_twenty_lines():
    source = _blocks("python")[0]
    assert "class GradientTimesDelta(xaibench.Method)" in source and 15 <= len(source.splitlines()) <= 25


def test_a_method_written_from_the_guide_is_validated_submitted_and_published(tmp_path, monkeypatch, results,
                                                                               capsys):
    monkeypatch.chdir(tmp_path)
    Path("my_method.py").write_text(_blocks("python")[0], encoding="utf-8")
    validate, submit, publish = _command("validate"), _command("submit"), _command("publish")
    assert validate[1] == submit[1] == "my_method.py:GradientTimesDelta"
    options = ["--results", str(results)]
    try:
        assert main(validate + options + ["--tasks", "breast_cancer/mlp/logit"]) == 0
        assert "PASSED" in capsys.readouterr().out

        assert main(submit + options + ["--tasks", "breast_cancer/mlp/logit", "--out", "first-look", "--quiet"]) == 0
        assert "PARTIAL bundle" in capsys.readouterr().err
        assert main([publish[0], "first-look", *options]) == 2
        assert "REFUSED first-look: the bundle is partial" in capsys.readouterr().out

        assert main(submit + options + ["--out", "bundle", "--quiet"]) == 0
        out = capsys.readouterr().out
        assert "Ranks of gradient_x_delta against 3 other method(s):" in out
        assert main([publish[0], "bundle", *options]) == 0
        assert "published gradient_x_delta" in capsys.readouterr().out
    finally:
        methods.remove("gradient_x_delta")
    board = (results / "LEADERBOARD.md").read_text()
    row = r"^\| gradient_x_delta +\| +\d\.\d\d \[\d\.\d\d, \d\.\d\d\]"
    assert re.search(row, board, flags=re.MULTILINE), board[:2000]
    site = (results / "site" / "index.html").read_text()
    assert "<tr><td>gradient_x_delta</td>" in site


@pytest.mark.parametrize("name", ["validate", "submit", "publish"])
def test_the_guide_shows_each_command(name):
    assert _command(name)[0] == name
