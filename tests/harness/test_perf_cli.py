"""``python -m xaibench.perf`` and its section commands on a machine without the requested device
(issue 15 item 6): one message on stderr, exit status 2, no traceback — as ``xaibench run`` does."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from xaibench.perf import __main__ as perf_main
from xaibench.perf import gpu_check, gradients, shapley, stability


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("entry, argv, prog", [
    (perf_main.main, ["--device", "cuda"], "python -m xaibench.perf"),
    (perf_main.main, ["lime", "--device", "cuda"], "python -m xaibench.perf"),
    (gradients.main, ["--device", "cuda"], "python -m xaibench.perf.gradients"),
    (shapley.main, ["--device", "cuda"], "python -m xaibench.perf.shapley"),
    (stability.main, ["--device", "cuda"], "python -m xaibench.perf.stability"),
    (gpu_check.main, ["--out", "unused"], "python -m xaibench.perf.gpu_check"),
])
def test_missing_cuda_is_one_clean_message(capsys, no_cuda, entry, argv, prog):
    with pytest.raises(SystemExit) as info:
        entry(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.startswith(f"{prog}: error: --device cuda: no CUDA device is available here")
    assert "Traceback" not in err


def test_unknown_device_is_one_clean_message(capsys):
    with pytest.raises(SystemExit) as info:
        perf_main.main(["--device", "tpu0"])
    assert info.value.code == 2 and "is not a torch device; use cpu or cuda" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_module_command_exits_2_without_a_traceback():
    done = subprocess.run([sys.executable, "-m", "xaibench.perf", "--device", "cuda"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert "no CUDA device is available" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_gpu_check_dry_run_writes_its_files(tmp_path, monkeypatch, capsys):
    """The GPU check on the CPU, tests included (one fast test file stands in for the device tests)."""
    one_test = "tests/harness/test_perf_cli.py::test_unknown_device_is_one_clean_message"
    monkeypatch.setattr(gpu_check, "TEST_FILES", (one_test, "tests/no_such_file.py"))  # a missing file is left out
    code = gpu_check.main(["--device", "cpu", "--out", str(tmp_path), "--methods", "saliency,random",
                           "--tasks", "breast_cancer/logreg/logit", "--batch-sizes", "1,2", "--repeats", "1",
                           "--budget", "0.01", "--target", "1e9"])
    assert code == 0, capsys.readouterr()
    summary = (tmp_path / "summary.md").read_text()
    assert "device tests: 1 passed" in summary
    assert "breast_cancer/logreg/logit × saliency: best batch" in summary and "within target" in summary
    assert "breast_cancer/logreg/logit × random: no floor ratio" in summary
    assert (tmp_path / "throughput-cpu.json").exists()
    assert "--device cpu" in (tmp_path / "throughput-cpu.md").read_text()
    assert "device cpu:" in (tmp_path / "environment.txt").read_text()
    assert "1 passed" in (tmp_path / "cuda-tests.txt").read_text() and (tmp_path / "cuda-tests.xml").exists()


def test_gpu_check_reports_a_failing_test(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "TEST_FILES", ("tests/harness/test_perf_cli.py::test_nothing_by_that_name",))
    code = gpu_check.main(["--device", "cpu", "--out", str(tmp_path), "--methods", "saliency",
                           "--tasks", "breast_cancer/logreg/logit", "--batch-sizes", "1", "--repeats", "1"])
    assert code == 1 and "exit 4" in (tmp_path / "summary.md").read_text()  # pytest: usage error / not found
