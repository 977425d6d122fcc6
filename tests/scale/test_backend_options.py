"""Choosing a backend and its options: clean, typed errors, and no run folder left behind."""

from __future__ import annotations

import sys

import pytest

import xaibench
from xaibench.cli import main
from xaibench.errors import BackendUnavailableError, InvalidParameterError

from .conftest import write_suite


@pytest.fixture
def no_ray(monkeypatch):
    """``import ray`` fails, as where the ``ray`` extra is not installed."""
    monkeypatch.setitem(sys.modules, "ray", None)


def test_ray_backend_without_ray_says_how_to_install_it_and_leaves_no_folder(tmp_path, capsys, no_ray):
    out = tmp_path / "run"
    assert main(["run", "--suite", str(write_suite(tmp_path)), "--backend", "ray", "--out", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "xaibench[ray]"' in err and "Traceback" not in err
    assert not out.exists()
    with pytest.raises(BackendUnavailableError, match=r'xaibench\[ray\]'):
        xaibench.run(write_suite(tmp_path), backend="ray", out=out, progress=False)
    assert not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--address", "localhost:6379"], "--address does not apply to the local backend"),
    (["--workers", "0"], "--workers 0: expected a positive whole number"),
    (["--threads", "-1"], "--threads -1: expected a positive whole number"),
    (["--workers", "2", "--isolation", "none"], "--workers 2 needs worker processes"),
    (["--backend", "ray", "--isolation", "none"], "always runs cells in Ray's worker processes"),
    (["--backend", "rey"], "Did you mean 'ray'?"),
])
def test_bad_backend_options_are_refused_before_the_run_folder_is_made(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert main(["run", "--suite", str(write_suite(tmp_path)), "--out", str(out), "--quiet", *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_an_address_nobody_answers_on_fails_fast(tmp_path, capsys):
    pytest.importorskip("ray")
    import ray

    if ray.is_initialized():  # pragma: no cover - the address is only used to start a session
        pytest.skip("Ray is already initialised in this process")
    out = tmp_path / "run"
    assert main(["run", "--suite", str(write_suite(tmp_path)), "--backend", "ray", "--address", "127.0.0.1:9",
                 "--out", str(out), "--quiet"]) == 2
    assert "no Ray cluster answers there" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(InvalidParameterError, match="expected HOST:PORT"):
        xaibench.run(write_suite(tmp_path), backend="ray", address="head-node", out=out, progress=False)


def test_the_interruption_hint_resumes_where_the_run_ran(tmp_path):
    import argparse

    from xaibench.cli import _resume_hint

    (tmp_path / "manifest.json").write_text("{}")
    args = argparse.Namespace(out=str(tmp_path), backend="ray", address="auto", workers=8, threads=None)
    assert _resume_hint(args) == (f" Resume with: `xaibench run --resume --out {tmp_path} --backend ray --address auto "
                                  "--workers 8`")
