"""Command-line smoke tests: --help, list, run on a tiny suite, leaderboard, user errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest

from xaibench.cli import main
from xaibench.suite import load_suite

from . import toys


def cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_does_not_import_torch():
    probe = ("import sys, xaibench.cli as c\n"
             "try:\n    c.main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
             "assert 'torch' not in sys.modules, 'torch imported'\nprint('ok')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "usage: xaibench" in done.stdout and done.stdout.strip().endswith("ok")


@pytest.mark.parametrize("command", ["list", "run", "leaderboard"])
def test_subcommand_help(capsys, command):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0 and f"usage: xaibench {command}" in capsys.readouterr().out


def test_list(capsys, registered_toys):
    code, out, _ = cli(capsys, "list", "suites")
    quick = load_suite("quick")
    rows = {line.split()[0]: line for line in out.splitlines()}
    assert code == 0 and {"quick", "standard", "full"} <= set(rows) and f"v{quick.version}" in rows["quick"]
    code, out, _ = cli(capsys, "list", "metrics")
    assert re.search(r"toy_gt_error +ground_truth ↓ +test-only", out)
    assert re.search(r"explanations_per_second +cost ↑ +instances explained per second", out)
    code, out, _ = cli(capsys, "list", "models")
    assert "toy_linear_model" in out and "target value: w·x" in out and "target broken: a target that" in out
    code, out, _ = cli(capsys, "list")
    assert code == 0 and all(f"{kind}:" in out for kind in ("datasets", "models", "methods", "metrics", "suites"))


def test_run_then_leaderboard(capsys, tmp_path, registered_toys, toy_suite_file):
    out_dir = tmp_path / "run"
    code, out, err = cli(capsys, "run", "--suite", str(toy_suite_file), "--out", str(out_dir),
                         "--methods", "toy_exact,toy_noisy", "--metrics", "toy_gt_error", "--seeds", "3",
                         "--n-instances", "2")
    assert code == 0, err
    assert "| toy_exact" in out and "toy_gt_error ↓" in out  # the Markdown leaderboard is printed
    assert "6 records (6 new, 0 errors)" in err  # 2 methods × 1 seed × (1 metric + 2 cost)
    records = [json.loads(line) for line in (out_dir / "records.jsonl").read_text().splitlines()]
    assert {r["seed"] for r in records} == {3} and {len(r["values"]) for r in records if r["category"] != "cost"} == {2}
    code, _, _ = cli(capsys, "leaderboard", str(out_dir), "--format", "csv", "--output", str(tmp_path / "lb.csv"))
    assert code == 0 and set(pd.read_csv(tmp_path / "lb.csv")["method"]) == {"toy_exact", "toy_noisy"}
    code, out, _ = cli(capsys, "leaderboard", str(out_dir), "--format", "json")
    assert code == 0 and json.loads(out)
    code, out, err = cli(capsys, "run", "--suite", str(toy_suite_file), "--out", str(out_dir), "--quiet",
                         "--methods", "toy_exact", "--metrics", "toy_gt_error", "--seeds", "3", "--n-instances", "2")
    assert code == 2 and f"`xaibench run --resume --out {out_dir}`" in err
    # --resume alone continues the run with the suite and selections it started with: nothing left to do
    code, out, err = cli(capsys, "run", "--resume", "--out", str(out_dir), "--quiet")
    assert code == 0 and "6 records (0 new, 0 errors)" in err


def test_unknown_method_stops_before_loading_data(capsys, monkeypatch):
    import xaibench.backends.cell as cell

    monkeypatch.setattr(cell, "load_cached_task", lambda *a, **k: pytest.fail("data was loaded"))
    code, out, err = cli(capsys, "run", "--methods", "intgrad")
    assert code == 2 and "Did you mean 'integrated_gradients'" in err
    assert "Traceback" not in err and err.startswith("xaibench: error: unknown method 'intgrad'")


def test_user_errors_exit_2_with_one_message(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(toys.TOY_SUITE.replace("seeds", "seed"))
    code, _, err = cli(capsys, "run", "--suite", str(bad))
    assert code == 2 and err.startswith(f"xaibench: error: {bad}: ") and "Traceback" not in err
    assert "key 'seed' is not a suite key; did you mean 'seeds'?" in err
    assert cli(capsys, "run", "--resume")[0] == 2
    code, _, err = cli(capsys, "run", "--seeds", "a,b")
    assert code == 2 and "--seeds 'a,b'" in err
    code, _, err = cli(capsys, "leaderboard", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err
    code, _, err = cli(capsys, "run", "--suite", "quik")
    assert code == 2 and "Did you mean 'quick'" in err
