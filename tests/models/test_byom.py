"""Bring your own model: ``task_from_module`` + ``evaluate`` (Python API) and ``file.py:factory`` (suites)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import torch

import xaibench
from xaibench.byom import reinitialised
from xaibench.errors import InvalidParameterError, ModelError, ShapeError
from xaibench.registries import models
from xaibench.runner import run_plan
from xaibench.suite import load_suite, resolve
from xaibench.targets import log_odds

README = Path(__file__).resolve().parents[2] / "README.md"


def _net(d=5, k=3, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d, 8), torch.nn.Tanh(), torch.nn.Linear(8, k))


def _data(n=12, d=5, seed=1):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_logit_and_prob_targets_are_the_zoo_class_targets():
    net, x = _net(), _data()
    task = xaibench.task_from_module(net, x, target="logit")
    logits = net(x).detach()
    c = logits.argmax(1)
    bound = task.bind(x)
    assert torch.equal(bound.selector, c) and torch.equal(task.label_fn(x), c)
    torch.testing.assert_close(bound(x), log_odds(logits, c))
    perturbed = x + 0.5  # the class stays pinned at the explained instance
    torch.testing.assert_close(bound(perturbed), log_odds(net(perturbed).detach(), c))
    prob = xaibench.task_from_module(net, x, target="prob")
    torch.testing.assert_close(prob.bind(x)(x), logits.softmax(1).gather(1, c[:, None]).squeeze(1))
    assert task.kind == "tabular" and task.target == "logit" and task.model == "Sequential"
    torch.testing.assert_close(task.baseline, x.mean(0))  # background defaults to the inputs
    assert len(task.meta["weights_sha256"]) == 64


def test_callable_target_kind_groups_and_quality():
    net = torch.nn.Conv2d(1, 2, 3, padding=1)
    x = torch.rand(4, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    groups = (torch.arange(6)[:, None] // 3 * 2 + torch.arange(6)[None, :] // 3).expand(1, 6, 6)

    def channel_energy(module, inputs):
        return module(inputs)[:, 1].square().sum((1, 2))

    task = xaibench.task_from_module(net, x, target=channel_energy, groups=groups)
    assert task.kind == "image" and task.target == "channel_energy" and task.players.n == 4
    torch.testing.assert_close(task.bind(x)(x), net(x)[:, 1].square().sum((1, 2)).detach())
    assert torch.equal(task.baseline, torch.zeros(1, 6, 6))
    classifier = _net()
    labelled = xaibench.task_from_module(classifier, _data(), labels=classifier(_data()).argmax(1))
    assert labelled.quality == {"accuracy": 1.0}


def test_randomized_redraws_every_parameter_and_keeps_the_task():
    net, x = _net(), _data()
    task = xaibench.task_from_module(net, x)
    random = task.randomized()
    assert random.randomized is None and random.meta["randomized"]
    assert (random.bind(x)(x) - task.bind(x)(x)).abs().max() > 1e-3
    clone = reinitialised(net, 3)
    assert all(not torch.equal(a, b) for a, b in zip(net.parameters(), clone.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(clone.parameters(), reinitialised(net, 3).parameters()))


def test_bad_input_is_a_typed_error():
    with pytest.raises(ShapeError, match="class logits"):
        xaibench.task_from_module(torch.nn.Linear(5, 1), _data())  # one output: not a classifier
    with pytest.raises(InvalidParameterError, match="logit"):
        xaibench.task_from_module(_net(), _data(), target="logits")
    with pytest.raises(ShapeError, match="kind"):
        xaibench.task_from_module(_net(), torch.zeros(2, 1, 1, 1, 5))
    with pytest.raises(ShapeError, match="one value per row"):
        xaibench.task_from_module(_net(), _data(), target=lambda module, x: module(x))
    with pytest.raises(InvalidParameterError, match="nn.Module"):
        xaibench.task_from_module(lambda x: x, _data())


def test_evaluate_gives_records_and_a_leaderboard():
    net, x = _net(), _data()
    task = xaibench.task_from_module(net, x, background=_data(40, seed=2))
    records = xaibench.evaluate(task, methods=["random", "integrated_gradients", "kernel_shap"],
                                metrics=["deletion_auc", "local_fidelity"], seeds=[0, 1])
    assert len(records) == 3 * 2 * 4  # methods x seeds x (2 metrics + 2 cost columns)
    assert set(records["status"]) == {"ok"} and set(records["suite"]) == {"evaluate"}
    fidelity = records[records.metric == "local_fidelity"].groupby("method")["value"].mean()
    assert fidelity["kernel_shap"] > fidelity["random"] + 0.3  # Shapley values are a far better surrogate
    board = xaibench.leaderboard(records)
    assert "my_data / Sequential / logit" in board and "local_fidelity" in board


def test_readme_example_runs_in_at_most_15_lines(capsys):
    text = README.read_text(encoding="utf-8")
    section = text.split("## Bring your own model", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(code.strip().splitlines()) <= 15
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own example
    out = capsys.readouterr().out
    assert "explanations_per_second" in out and "integrated_gradients" in out


# -- suites: path/to/file.py:factory ------------------------------------------------------------
FACTORY = textwrap.dedent('''
    import torch

    def make(dataset):
        """A logistic regression fitted in closed form-ish: 200 full-batch Adam steps (deterministic)."""
        torch.manual_seed(0)
        net = torch.nn.Linear(dataset.feature_shape[0], dataset.n_classes)
        opt = torch.optim.Adam(net.parameters(), lr=0.05)
        for _ in range(200):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(dataset.x_train), dataset.y_train).backward()
            opt.step()
        return net

    def not_a_module(dataset):
        return "weights.pt"
''')


@pytest.fixture
def user_file(tmp_path, monkeypatch):
    (tmp_path / "my_model.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_suite_names_a_users_file_as_a_model(user_file):
    suite = user_file / "mine.toml"
    suite.write_text(textwrap.dedent('''
        version = "1"
        description = "a user's model"
        seeds = [0]
        n_instances = 8
        methods = ["random", "saliency"]
        metrics = ["deletion_auc", "randomization"]

        [[tasks]]
        dataset = "breast_cancer"
        model = "my_model.py:make"
        target = ["logit", "prob"]
    '''))
    plan = resolve(load_suite(str(suite)))
    assert [t.name for t in plan.tasks] == ["breast_cancer/my_model.py:make/logit", "breast_cancer/my_model.py:make/prob"]
    result = run_plan(plan, user_file / "run", progress=False)
    assert {r["status"] for r in result.records} == {"ok"}, [r["error"] for r in result.records if r["error"]]
    quality = result.records[0]["quality"]
    assert quality["test_accuracy"] > 0.9 and len(result.records[0]["weights_sha256"]) == 64
    # the same numbers as the module built by hand
    namespace: dict = {}
    exec(FACTORY, namespace)  # noqa: S102
    ds = xaibench.load_dataset("breast_cancer")
    net = namespace["make"](ds)
    assert quality["test_accuracy"] == pytest.approx(float((net(ds.x_test).argmax(1) == ds.y_test).float().mean()))
    task = xaibench.load_task("breast_cancer", "my_model.py:make", "logit", n_instances=8)
    torch.testing.assert_close(task.bind(task.inputs)(task.inputs),
                               log_odds(net(task.inputs).detach(), net(task.inputs).argmax(1)))


def test_a_bad_user_model_is_a_clear_error(user_file):
    assert "my_model.py:make" in models and "nowhere.py:make" in models  # the pattern is accepted ...
    with pytest.raises(ModelError, match="no file"):  # ... and resolution says what is wrong
        models.get("nowhere.py:make")
    with pytest.raises(ModelError, match="its functions: make, not_a_module"):
        models.get("my_model.py:build")
    with pytest.raises(ModelError, match="returned str"):
        xaibench.load_task("breast_cancer", "my_model.py:not_a_module", "logit")
    (user_file / "broken.py").write_text("import not_a_package_anywhere\n")
    with pytest.raises(ModelError, match="importing .*broken.py failed: ModuleNotFoundError"):
        models.get("broken.py:make")


def test_a_worker_started_in_another_directory_finds_the_users_file(user_file, monkeypatch, tmp_path_factory):
    """Worker processes are shared across runs: one started from another working directory takes
    the driver's at each run, so a suite's relative ``file.py:factory`` path still resolves."""
    def tiny(model: str, folder: Path) -> Path:
        path = folder / "tiny.toml"
        path.write_text(f'version = "1"\ndescription = "tiny"\nseeds = [0]\nn_instances = 2\nmethods = ["random"]\n'
                        f'metrics = ["deletion_auc"]\n[[tasks]]\ndataset = "breast_cancer"\n'
                        f'model = "{model}"\ntarget = "logit"\n')
        return path

    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    first = run_plan(resolve(load_suite(str(tiny("logreg", elsewhere)))), elsewhere / "run", progress=False)
    assert {r["status"] for r in first.records} == {"ok"}
    monkeypatch.chdir(user_file)
    second = run_plan(resolve(load_suite(str(tiny("my_model.py:make", user_file)))), user_file / "run", progress=False)
    assert {r["status"] for r in second.records} == {"ok"}, [r["error"] for r in second.records]
