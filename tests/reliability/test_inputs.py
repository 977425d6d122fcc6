"""Every bad input gets one typed error that names the file (or option), the key or line, and the
fix — no traceback — and nothing bad is accepted silently (issue 10, items 8-10)."""

from __future__ import annotations

import os

import pytest

import xaibench
from xaibench.cli import main
from xaibench.errors import InvalidParameterError, SuiteError
from xaibench.store import read_records

from .conftest import SUITE, write_suite


def cli(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def user_error(capsys, *args) -> str:
    code, _, err = cli(capsys, *args)
    assert code == 2 and err.startswith("xaibench: error: ") and "Traceback" not in err, (code, err)
    return err


@pytest.fixture
def finished_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(capsys, "run", "--suite", str(write_suite(tmp_path)), "--out", str(out), "--quiet",
               "--isolation", "none")[0] == 0
    return out


# -- the traceback cases -----------------------------------------------------------------------
def test_a_suite_file_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "latin1.toml"
    path.write_bytes(SUITE.replace('description = "reliability test suite"',
                                   'description = "caf\xe9"').encode("latin-1"))
    err = user_error(capsys, "run", "--suite", str(path))
    assert f"{path}: line 4, column 19: not UTF-8 text (byte 0xe9)" in err and "save the file as UTF-8" in err


def test_out_that_is_a_file_or_under_a_file(tmp_path, capsys):
    suite, afile = write_suite(tmp_path), tmp_path / "afile"
    afile.write_text("x")
    err = user_error(capsys, "run", "--suite", str(suite), "--out", str(afile))
    assert f"--out {afile} is a file, not a folder; choose a folder path" in err
    err = user_error(capsys, "run", "--suite", str(suite), "--out", str(afile / "run"), "--isolation", "none")
    assert f"{afile / 'run'} failed: a part of that path is a file, not a folder; choose another path" in err
    assert afile.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder, so permissions cannot be tested")
def test_out_in_an_unwritable_folder(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    err = user_error(capsys, "run", "--suite", str(write_suite(tmp_path)), "--out", str(locked))
    assert "not writable" in err and "choose another --out folder" in err
    err = user_error(capsys, "run", "--suite", str(write_suite(tmp_path)), "--out", str(locked / "run"))
    assert "permission denied" in err.lower()


def test_leaderboard_output_into_a_missing_folder(finished_run, tmp_path, capsys):
    target = tmp_path / "no" / "such" / "board.md"
    err = user_error(capsys, "leaderboard", str(finished_run), "--output", str(target))
    assert f"the folder {target.parent} does not exist; create it first" in err and not target.parent.exists()


def test_leaderboard_refuses_what_is_not_a_run_or_records_file(tmp_path, capsys, finished_run):
    text = tmp_path / "some.txt"
    text.write_text("hello\nworld\n")
    err = user_error(capsys, "leaderboard", str(text))
    assert str(text) in err and "made by `xaibench run`" in err
    other = tmp_path / "other.jsonl"
    other.write_text('{"a": 1}\n{"b": 2}\n')
    err = user_error(capsys, "leaderboard", str(other))
    assert "is not a run folder or a records file" in err and "other.jsonl:1: not a record" in err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert "holds no records" in user_error(capsys, "leaderboard", str(empty))
    assert cli(capsys, "leaderboard", str(finished_run / "records.jsonl"))[0] == 0  # the file itself is fine


# -- silently accepted before ---------------------------------------------------------------------
BASE = ('version = "1"\ndescription = "d"\nseeds = [0]\nn_instances = 4\nmethods = [{methods}]\n'
        'metrics = [{metrics}]\n[[tasks]]\ndataset = "breast_cancer"\nmodel = "logreg"\ntarget = "logit"\n')


@pytest.mark.parametrize("methods, metrics, expected", [
    ('{ name = "saliency", params = { abs = "no" } }', '"deletion_auc"',
     "key 'methods[0].params': saliency: abs must be a valid boolean, got 'no'"),
    ('"saliency"', '{ name = "deletion_auc", params = { n_steps = 0 } }',
     "key 'metrics[0].params': deletion_auc: n_steps must be greater than or equal to 1, got 0"),
    ('{ name = "integrated_gradients", params = { n_steps = 0 } }', '"deletion_auc"',
     "key 'methods[0].params': integrated_gradients: n_steps must be at least 1"),
    ('"saliency"', '{ name = "faithfulness_correlation", params = { nr_runs = 2.5 } }',
     "faithfulness_correlation: nr_runs must be a valid integer, got 2.5"),
    ('"saliency"', '{ name = "deletion_auc", params = { baseline = "black" } }',
     "deletion_auc: baseline must be one of 'task', 'zero'"),
    ('"saliency"', '{ name = "max_sensitivity", params = { scale = inf } }',
     "max_sensitivity: scale must be a finite number, got inf"),
])
def test_bad_method_and_metric_params_are_refused_before_anything_runs(tmp_path, capsys, methods, metrics, expected):
    path = tmp_path / "bad.toml"
    path.write_text(BASE.format(methods=methods, metrics=metrics))
    err = user_error(capsys, "run", "--suite", str(path), "--out", str(tmp_path / "run"))
    assert f"{path}: " in err and expected in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, expected", [
    (["--seeds", "18446744073709551616"], "--seeds [18446744073709551616]: expected a non-empty list of distinct "
                                          "integers in [0, 2**63 - 1]"),
    (["--seeds", "0,0"], "--seeds [0, 0]: expected a non-empty list of distinct integers"),
    (["--n-instances", "0"], "--n-instances 0: expected an integer >= 1"),
    (["--cell-timeout", "-5"], "--cell-timeout -5.0: expected seconds, a number >= 0"),
    (["--cell-timeout", "nan"], "--cell-timeout nan: expected seconds"),
])
def test_bad_command_line_values(tmp_path, capsys, args, expected):
    err = user_error(capsys, "run", "--suite", str(write_suite(tmp_path)), "--out", str(tmp_path / "run"), *args)
    assert expected in err, err
    assert not (tmp_path / "run").exists()


def test_a_seed_beyond_64_bits_in_a_suite_file(tmp_path):
    with pytest.raises(SuiteError, match=r"key 'seeds\[0\]' must be less than or equal to 9223372036854775807"):
        xaibench.run(write_suite(tmp_path, SUITE.replace("seeds = [0, 1, 2]", "seeds = [9223372036854775807, 1]")
                                 .replace("9223372036854775807", "18446744073709551615")), out=tmp_path / "r")


def test_n_instances_beyond_the_data_is_a_visible_recorded_cap(tmp_path, capsys):
    code, _, err = cli(capsys, "run", "--suite", str(write_suite(tmp_path)), "--out", str(tmp_path / "run"),
                       "--n-instances", "1000000", "--seeds", "0", "--quiet", "--isolation", "none")
    assert code == 0, err
    assert ("fewer test instances than requested, so all of them are explained (the records say n_instances): "
            "toy_linear 10 of 1000000 (1 task)") in err
    records = list(read_records(tmp_path / "run"))
    assert {(r["n_instances"], r["n_instances_requested"]) for r in records} == {(10, 1000000)}
    assert {len(r["values"]) for r in records if r["category"] != "cost"} == {10}


def test_suite_names_cannot_escape_the_runs_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("../../x", "/tmp/abs", "a/b", ".hidden", "sp ace"):
        path = write_suite(tmp_path, SUITE.replace('name = "rel"', f'name = "{name}"'), name="escape.toml")
        err = user_error(capsys, "run", "--suite", str(path), "--quiet")
        assert f"key 'name' {name!r} may use only letters, digits" in err
    assert not (tmp_path.parent / "x").exists() and not list(tmp_path.glob("runs/*"))
    path = write_suite(tmp_path, SUITE.replace('name = "rel"\n', ""), name="bad name!.toml")
    assert "the suite name taken from the file name 'bad name!'" in user_error(capsys, "run", "--suite", str(path))
    good = write_suite(tmp_path)
    assert cli(capsys, "run", "--suite", str(good), "--quiet", "--seeds", "0", "--isolation", "none")[0] == 0
    (made,) = (tmp_path / "runs").iterdir()
    assert made.name.startswith("rel-") and made.parent.resolve() == (tmp_path / "runs").resolve()


# -- exit status ------------------------------------------------------------------------------------
def test_a_run_in_which_every_cell_failed_exits_non_zero(tmp_path, capsys):
    methods = 'methods = ["toy_exact", { name = "toy_noisy", params = { scale = 0.25 } }]'
    path = write_suite(tmp_path, SUITE.replace(methods, 'methods = ["toy_exit", "toy_boom"]'))
    code, _, err = cli(capsys, "run", "--suite", str(path), "--out", str(tmp_path / "failed"), "--quiet",
                       "--isolation", "none")
    assert code == 1 and "every cell failed (30 error records, none ok)" in err, err
    statuses = {r["status"] for r in read_records(tmp_path / "failed")}
    assert statuses == {"error"}
    mixed = write_suite(tmp_path, SUITE.replace('methods = ["toy_exact", ', 'methods = ["toy_exit", '), name="m.toml")
    code, _, err = cli(capsys, "run", "--suite", str(mixed), "--out", str(tmp_path / "mixed"), "--quiet",
                       "--isolation", "none")
    assert code == 0 and "every cell failed" not in err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"xaibench {xaibench.__version__}"


def test_api_values_are_checked_like_the_command_line(tmp_path):
    with pytest.raises(InvalidParameterError, match="--n-instances 2.5: expected an integer >= 1"):
        xaibench.run(write_suite(tmp_path), out=tmp_path / "r", n_instances=2.5)
    with pytest.raises(InvalidParameterError, match="isolation 'threads': expected one of process, none"):
        xaibench.run(write_suite(tmp_path), out=tmp_path / "r", isolation="threads")
    assert not (tmp_path / "r").exists()
