"""Every command a message tells the user to run exists (issue 15, item 4): hints are parsed and
the command line must accept them.

Two nets: every backticked ``xaibench ...`` in a string of the package's code (not docstrings),
with its ``{placeholders}`` filled in; and the messages themselves, produced by the errors that
carry a hint (unknown names of every kind — targets included, which are listed with their models —
resuming, damaged records, a full disk, an interrupted run).
"""

from __future__ import annotations

import ast
import contextlib
import errno
import io
import re
import shlex
from pathlib import Path

import pytest

import xaibench
from xaibench.cli import _resume_hint, build_parser
from xaibench.errors import UnknownNameError, XaiBenchError
from xaibench.registries import datasets, methods, metrics, models

PACKAGE = Path(xaibench.__file__).parent
HINT = re.compile(r"`(xaibench(?: [^`|]*?)?)\s*[`|]")


def accepted(command: str) -> str | None:
    """``None`` when the command line accepts ``command``; otherwise argparse's complaint."""
    words = shlex.split(command)
    assert words[0] == "xaibench", command
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(words[1:])
    except SystemExit as exit_:
        return None if exit_.code == 0 else err.getvalue().strip().splitlines()[-1]
    return None


def hints(message: str) -> list[str]:
    return [h.strip() for h in HINT.findall(message)]


def code_strings(path: Path) -> list[str]:
    """String literals and f-string templates (``{…}`` for each value) of a module; docstrings (every
    string that is a statement of its own) left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    skip |= {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            out.append("".join(v.value if isinstance(v, ast.Constant) else "{…}" for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
    return out


TEMPLATES = sorted({(str(path.relative_to(PACKAGE)), hint) for path in PACKAGE.rglob("*.py")
                    for text in code_strings(path) for hint in hints(text)})
CHOICE_PLACEHOLDERS = {"xaibench list {…}"}  # filled by the errors below, kind by kind


def test_the_scan_finds_the_hints():
    found = {hint for _, hint in TEMPLATES}
    assert {"xaibench run --resume --out {…}", "xaibench list {…}", "xaibench list models"} <= found, found


@pytest.mark.parametrize("where, template", TEMPLATES)
def test_every_hint_in_the_code_is_a_command(where, template):
    if template in CHOICE_PLACEHOLDERS:
        return
    command = template.replace("{…}", "runs/x")
    assert accepted(command) is None, f"{where}: `{template}`: {accepted(command)}"


def messages() -> dict[str, str]:
    """The messages of the errors that carry a hint, produced by the code itself."""
    from xaibench.store import _os_error
    from xaibench.suite import load_suite, parse_suite, resolve
    from xaibench.tasks import load_task

    out = {}
    for registry in (datasets, models, methods, metrics):
        with pytest.raises(UnknownNameError) as info:
            registry.get("no_such_thing")
        out[f"unknown {registry.kind}"] = str(info.value)
    for name, call in {
        "unknown suite": lambda: load_suite("no_such_suite"),
        "unknown target of a task": lambda: load_task("breast_cancer", "mlp", "no_such_target"),
        "unknown target in a suite": lambda: resolve(parse_suite(
            'version = "1"\ndescription = "d"\nseeds = [0]\nmethods = ["saliency"]\nmetrics = ["deletion_auc"]\n'
            '[[tasks]]\ndataset = "breast_cancer"\nmodel = "mlp"\ntarget = "no_such_target"\n', source="s.toml")),
        "resume a missing folder": lambda: xaibench.run(out="/nonexistent/run", resume=True),
    }.items():
        with pytest.raises(XaiBenchError) as info:
            call()
        out[name] = str(info.value)
    out["disk full"] = str(_os_error(OSError(errno.ENOSPC, "No space left on device"), Path("/x/records.jsonl"),
                                     "writing a record"))
    return out


def test_every_hint_in_an_error_message_is_a_command(tmp_path):
    checked = 0
    for name, message in messages().items():
        for hint in hints(message):
            assert accepted(hint) is None, f"{name}: `{hint}`: {accepted(hint)}"
            checked += 1
    assert checked >= 9
    assert "xaibench list models" in messages()["unknown target of a task"]  # there is no `xaibench list targets`


def test_the_interruption_hint_is_a_command(tmp_path):
    import argparse

    (tmp_path / "manifest.json").write_text("{}")
    (hint,) = hints(_resume_hint(argparse.Namespace(out=str(tmp_path))))
    assert hint == f"xaibench run --resume --out {tmp_path}" and accepted(hint) is None
    assert "run the same command again" in _resume_hint(argparse.Namespace(out=str(tmp_path / "none")))
