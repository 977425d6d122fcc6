"""``xaibench validate``: every contract check passes for a good method and fails, saying what happened
and how to fix it, for a method that breaks it; hanging, exiting and writing methods are stopped."""

from __future__ import annotations

import pytest

from submission.helpers import GOOD, TINY_SUITE, write
from xaibench.cli import main
from xaibench.submission.loader import parse_spec
from xaibench.submission.validate import confined_worker, validate

HEADER = "import dataclasses, os, sys, time\nfrom typing import ClassVar\nimport torch\nimport xaibench\n\n"
BAD = {
    "Hangs": "def explain(self, task, x, *, seed=0):\n    while True:\n        time.sleep(0.05)",
    "Exits": "def explain(self, task, x, *, seed=0):\n    os._exit(3)",
    "SysExits": "def explain(self, task, x, *, seed=0):\n    sys.exit(2)",
    "Writes": "def explain(self, task, x, *, seed=0):\n    open('fine.txt', 'w').write('in scratch')\n"
              "    try:\n        open('__ESCAPE__', 'w').write('escaped')\n    except PermissionError:\n"
              "        pass\n    return torch.zeros_like(x)",
    "Greedy": "def explain(self, task, x, *, seed=0):\n    return torch.zeros_like(x) + torch.ones(2 << 30)[0]",
    "Raises": "def explain(self, task, x, *, seed=0):\n    raise ValueError('no attributions today')",
    "Sloppy": "def explain(self, task, x, *, seed=0):\n    return (torch.randn(x.shape) * x).double()",
    "Shapeless": "def explain(self, task, x, *, seed=0):\n    return x.sum(1)",
    "Infinite": "def explain(self, task, x, *, seed=0):\n    return x / 0.0",
    "Editor": "def explain(self, task, x, *, seed=0):\n    x.mul_(2)\n    return x.clone()",
    "Picky": "def explain(self, task, x, *, seed=0):\n"
             "    if not (x[:, None] == task.inputs[None]).flatten(2).all(-1).any(-1).all():\n"
             "        raise ValueError('only the test instances themselves, please')\n    return x.clone()",
}
STABLE_SUITE = TINY_SUITE.replace('metrics = ["deletion_auc", { name = "insertion_auc", n_seeds = 1 }]',
                                  'metrics = ["deletion_auc", { name = "max_sensitivity", params = { n_samples = 2 } }]')
assert "max_sensitivity" in STABLE_SUITE  # the replaced line is still the tiny suite's


def _class(cls: str) -> str:
    body = "\n".join("    " + line for line in BAD[cls].splitlines())
    return (f"@dataclasses.dataclass(frozen=True)\nclass {cls}(xaibench.Method):\n"
            f"    name: ClassVar[str] = {cls.lower()!r}\n    family: ClassVar[str] = 'control'\n{body}\n\n\n")


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """Every misbehaving method in one file, and one confined worker (3 GiB) validating them in turn."""
    folder = tmp_path_factory.mktemp("bad")
    suite = write(folder, "tiny.toml", STABLE_SUITE)  # max_sensitivity explains perturbed instances
    text = HEADER + "".join(_class(c) for c in BAD)
    path = write(folder, "bad_methods.py", text.replace("__ESCAPE__", str(folder / "escaped.txt")))
    with confined_worker(parse_spec(f"{path}:Hangs"), memory_mb=3072) as worker:
        def run(cls, **options):
            return validate(f"{path}:{cls}", suite=str(suite), tasks=["breast_cancer/mlp/logit"], worker=worker,
                            **options)

        run.escape = folder / "escaped.txt"
        yield run


def _validate(tmp_path, spec, **options):
    suite = write(tmp_path, "tiny.toml", TINY_SUITE)
    return validate(spec, suite=str(suite), tasks=["breast_cancer/mlp/logit"], **options)


def _status(report) -> dict[str, str]:
    return {c.name: c.status for c in report.checks}


def test_a_good_method_passes_every_check_and_the_command_exits_0(tmp_path, capsys):
    suite = write(tmp_path, "tiny.toml", TINY_SUITE)
    good = write(tmp_path, "good.py", GOOD.format(name="validate_good"))
    assert main(["validate", f"{good}:GradTimesInput", "--suite", str(suite), "--tasks",
                 "breast_cancer/mlp/logit"]) == 0
    out = capsys.readouterr().out
    for check in ("shape and dtype kept", "finite values", "same seed, same result", "batch equals one by one",
                  "deterministic as declared", "time budget"):
        assert f"  ok       {check}: " in out
    assert "method 'validate_good': gradient, deterministic, parameters {'scale': 2.0}" in out
    assert "sandbox: memory limit 8192 MB" in out and "PASSED: all 6 checks that apply." in out


def test_a_task_with_its_own_instance_budget_is_checked_on_a_few_and_projected(tmp_path):
    own = TINY_SUITE.replace("n_instances = 3  #", "n_instances = 40  #")
    assert own != TINY_SUITE
    suite = write(tmp_path, "own.toml", own)
    good = write(tmp_path, "good.py", GOOD.format(name="validate_own_budget"))
    report = validate(f"{good}:GradTimesInput", suite=str(suite), tasks=["synthetic_copy/sequence_lm/next_token_logprob"])
    shapes = [c.detail for c in report.checks if c.name == "shape and dtype kept"]
    budget = [c.detail for c in report.checks if c.name == "time budget"]
    assert report.passed and shapes[0].startswith("(4, ") and " on 4 instances: about " in budget[0], budget
    assert budget[0].split(" for its ")[1].startswith("40,"), budget


def test_a_hanging_method_is_stopped_and_the_report_says_it_hung(bad):
    report = bad("Hangs", timeout=4)
    (failure,) = report.failed
    assert failure.name == "explain" and "the method hung: no result within 4 s while explaining 4 instances; it " \
                                           "was stopped" in failure.detail
    assert report.checks[-1].status == "not run" and not report.passed


def test_a_method_that_exits_the_process_is_stopped_and_reported(bad):
    report = bad("Exits")
    (failure,) = report.failed
    assert "the method ended its process while explaining 4 instances (exit code 3)" in failure.detail
    assert "never end the process" in failure.fix


def test_sys_exit_in_a_method_is_caught_and_pointed_at(bad):
    report = bad("SysExits")
    (failure,) = report.failed
    assert failure.detail.startswith("the method exited: called sys.exit(2) at bad_methods.py:")


def test_a_method_writing_outside_its_folder_is_refused_and_reported_once(bad):
    target = bad.escape
    report = bad("Writes")
    writes = [c for c in report.checks if c.name == "writes only in its folder"]
    assert len(writes) == 1 and writes[0].status == "failed"
    assert writes[0].detail == f"the method tried to write outside its scratch folder (open {target}); it was refused"
    assert not target.exists() and not report.passed
    assert _status(report)["shape and dtype kept"] == "ok"  # it was stopped from writing, not from running


def test_a_method_past_the_memory_limit_is_reported(bad):
    report = bad("Greedy")
    (failure,) = report.failed
    assert failure.detail.startswith("ran out of memory (limit 3072 MB)") and "--memory-limit" in failure.fix


@pytest.mark.parametrize("cls, failed, words", [
    ("Raises", ["explain"], "raised ValueError: no attributions today at bad_methods.py:"),
    ("Sloppy", ["shape and dtype kept", "batch equals one by one", "deterministic as declared"], "float64"),
    ("Shapeless", ["shape and dtype kept"], "(4,) float32 on cpu, but the inputs are (4, 30)"),
    ("Infinite", ["finite values"], "NaN or infinite values for instance(s) [0, 1, 2, 3]"),
    ("Editor", ["inputs left unchanged", "every metric scores it"], "explain modified x in place"),  # MutationError
    ("Picky", ["every metric scores it"], "1 metric(s) failed on its attributions, e.g. max_sensitivity: "
                                          "ValueError: only the test instances themselves, please"),
])
def test_contract_breaches_are_named(bad, cls, failed, words):
    report = bad(cls)
    assert [c.name for c in report.failed] == failed, [c.detail for c in report.failed]
    assert words in report.failed[0].detail and report.failed[0].fix


def test_code_run_at_import_is_confined_too(tmp_path):
    target = tmp_path / "at-import.txt"
    path = write(tmp_path, "importer.py", f"open({str(target)!r}, 'w')\n" + GOOD.format(name="validate_importer"))
    report = _validate(tmp_path, f"{path}:GradTimesInput")
    assert report.failed[0].name == "the method class" and "refused" in report.failed[0].detail
    assert not target.exists()


@pytest.mark.parametrize("text, error", [("class A(:\n    pass\n", "SyntaxError"),
                                         ("import no_such_module_xyz\n", "ModuleNotFoundError")])
def test_a_file_that_cannot_be_imported_is_said_so_with_its_error(tmp_path, text, error):
    path = write(tmp_path, "broken.py", text)
    report = _validate(tmp_path, f"{path}:A")
    assert [c.name for c in report.failed] == ["importing the file"]
    assert report.failed[0].detail.startswith(f"it cannot be imported: {error}") and "line" in report.failed[0].fix
    assert "file and class:" in report.render()


def test_the_command_exits_1_when_a_check_fails(tmp_path, capsys):
    suite = write(tmp_path, "tiny.toml", TINY_SUITE)
    path = write(tmp_path, "notamethod.py", "class Bad:\n    pass\n")
    assert main(["validate", f"{path}:Bad", "--suite", str(suite)]) == 1
    out = capsys.readouterr().out
    assert "FAILED   the method class: Bad cannot be registered as a method: it must subclass " \
           "xaibench.Method" in out
