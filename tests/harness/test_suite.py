"""Suite files: parsing, every malformed-file error, resolution against the registries."""

from __future__ import annotations

import pytest

from xaibench.errors import InvalidParameterError, SuiteError, UnknownNameError
from xaibench.suite import builtin_suites, load_suite, parse_suite, resolve

from .toys import TOY_SUITE

HEAD = 'version = "1"\ndescription = "d"\nseeds = [0]\nmethods = ["toy_exact"]\nmetrics = ["toy_gt_error"]\n'
TASK = '[[tasks]]\ndataset = "toy_linear"\nmodel = "toy_linear_model"\ntarget = "value"\n'


def test_builtin_suites_parse():
    assert "quick" in builtin_suites()
    for name in builtin_suites():
        suite = load_suite(name)
        assert suite.version and suite.description and suite.seeds and suite.text
        assert suite.source.endswith(f"{name}.toml")


def test_toy_suite_parses_both_entry_forms():
    suite = parse_suite(TOY_SUITE, source="toy.toml")
    assert (suite.name, suite.version, suite.seeds, suite.n_instances, suite.n_background) == ("toy", "3", (0, 1), 4, 8)
    noisy = suite.methods[1]
    assert (noisy.name, dict(noisy.params), noisy.where) == ("toy_noisy", {"scale": 0.25}, "methods[1]")
    assert suite.metrics[1].label == "completeness"
    assert suite.tasks[0].models == ("toy_linear_model", "toy_image_model")
    assert len(suite.sha256) == 64


MALFORMED = [
    ("version = ", "not valid TOML"),
    (HEAD.replace('version = "1"\n', "") + TASK, "key 'version' is required"),
    (HEAD.replace("seeds", "seed") + TASK, "key 'seed' is not a suite key; did you mean 'seeds'?"),
    (HEAD + TASK + 'n_background = 5\n', "key 'tasks[0].n_background' is not a suite key"),
    (HEAD + TASK + 'n_background = 5\n', "top-level keys must come before the first [[tasks]] table"),
    (HEAD + TASK + 'n_instances = 0\n', "key 'tasks[0].n_instances' must be greater than or equal to 1, got 0; "
                                       "expected an integer >= 1"),
    (HEAD.replace("[0]", '"0"') + TASK, "key 'seeds' must be a list, got '0'; expected a non-empty list of distinct integers"),
    (HEAD.replace("[0]", "[0, -1]") + TASK, "key 'seeds[1]' must be greater than or equal to 0, got -1; expected an integer in [0, 2**63 - 1]"),
    (HEAD.replace("[0]", "[1, 1]") + TASK, "key 'seeds' repeats a seed"),
    (HEAD + "n_instances = 0\n" + TASK, "key 'n_instances' must be greater than or equal to 1, got 0; expected an integer >= 1"),
    (HEAD + "n_background = true\n" + TASK, "key 'n_background' must be a valid integer, got True"),
    (HEAD.replace('"1"', "1.5") + TASK, "key 'version' must be a valid string, got 1.5; expected a string or integer"),
    (HEAD + "[[tasks]]\ndataset = \"a\"\ntarget = \"t\"\n", "key 'tasks[0].model' must be given once"),
    (HEAD + TASK.replace('model = "toy_linear_model"', 'model = "m"\nmodels = ["m"]'), "tasks[0].model' must be given once"),
    (HEAD + TASK.replace('"value"', "[]"), "key 'tasks[0].target' must not be empty, got []; expected a name or a non-empty list of names"),
    (HEAD.replace('["toy_exact"]', "[3]") + TASK, "key 'methods[0]' has the wrong type"),
    (HEAD.replace('["toy_exact"]', '[{ name = "a", param = {} }]') + TASK, "key 'methods[0].param' is not a suite key; did you mean 'params'?"),
    (HEAD.replace('["toy_exact"]', '[{ params = {} }]') + TASK, "key 'methods[0].name' is required"),
    (HEAD.replace('["toy_exact"]', '[{ name = "a", params = 3 }]') + TASK, "key 'methods[0].params' must be a table"),
    (HEAD.replace('["toy_gt_error"]', "[]") + TASK, "key 'metrics' must not be empty"),
    (HEAD, "key 'tasks' is required"),
    (HEAD.replace("[0]", "[9223372036854775808]") + TASK, "key 'seeds[0]' must be less than or equal to 9223372036854775807"),
    (HEAD + "n_instances = 2.5\n" + TASK, "key 'n_instances' must be a valid integer, got 2.5"),
    (HEAD + 'n_instances = "16"\n' + TASK, "key 'n_instances' must be a valid integer, got '16'"),
    (HEAD + "cell_timeout = -1\n" + TASK, "key 'cell_timeout' must be greater than or equal to 0, got -1"),
    (HEAD + "cell_timeout = nan\n" + TASK, "key 'cell_timeout' must be a finite number"),
    (HEAD + 'name = "../../x"\n' + TASK, "may use only letters, digits, '.', '_' and '-'"),
    (HEAD + 'name = "/abs/path"\n' + TASK, "may use only letters, digits"),
    (HEAD + 'model_seed = -3\n' + TASK, "key 'model_seed' must be greater than or equal to 0"),
    (HEAD.replace('["toy_exact"]', '[{ name = "a", label = "" }]') + TASK, "key 'methods[0].label' must not be empty"),
    (HEAD.replace('description = "d"', 'description = ""') + TASK, "key 'description' must not be empty or blank"),
]


@pytest.mark.parametrize("text, expected", MALFORMED, ids=[f"case{i}" for i in range(len(MALFORMED))])
def test_malformed_files_name_the_file_and_the_key(tmp_path, text, expected):
    path = tmp_path / "bad_suite.toml"
    path.write_text(text)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message, message


def test_unknown_suite_names_and_missing_files():
    with pytest.raises(UnknownNameError, match="Did you mean 'quick'"):
        load_suite("quik")
    with pytest.raises(SuiteError, match="does not exist"):
        load_suite("no/such/suite.toml")


def test_resolve_expands_cross_products_and_adds_cost_metrics(registered_toys):
    plan = resolve(parse_suite(TOY_SUITE, source="toy.toml"))
    # toy_image_model supports images only: dropped from the cross-product with the tabular dataset
    assert [t.name for t in plan.tasks] == ["toy_linear/toy_linear_model/value"]
    assert [m.label for m in plan.methods] == ["toy_exact", "toy_noisy", "toy_nan", "toy_boom", "toy_images_only"]
    assert plan.methods[1].method.scale == 0.25
    assert [m.label for m in plan.metrics] == ["toy_gt_error", "completeness", "toy_raising",
                                               "explanations_per_second", "peak_memory_mb"]
    assert plan.n_cells == 1 * 5 * 2


def _plan_error(text, toys_fixture, error=SuiteError):
    with pytest.raises(error) as info:
        resolve(parse_suite(text, source="s.toml"))
    return str(info.value)


@pytest.mark.parametrize("old, new, expected", [
    ('"toy_exact"]', '"toy_exakt"]', "s.toml: key 'methods[0].name': unknown method 'toy_exakt'. Did you mean 'toy_exact'"),
    ('["toy_gt_error"]', '["toy_gt_eror"]', "key 'metrics[0].name': unknown metric 'toy_gt_eror'. Did you mean 'toy_gt_error'"),
    ('"toy_linear"', '"toy_liner"', "key 'tasks[0].dataset': unknown dataset 'toy_liner'. Did you mean 'toy_linear'"),
    ('"toy_linear_model"', '"toy_linear_mdl"', "key 'tasks[0].model': unknown model"),
    ('"value"', '"valu"', "key 'tasks[0].target': unknown target 'valu'. Did you mean 'value'"),
    ('"toy_linear_model"', '"toy_image_model"', "no (dataset, model, target) combination applies"),
])
def test_unknown_names_are_caught_before_any_work(registered_toys, old, new, expected):
    assert expected in _plan_error((HEAD + TASK).replace(old, new), registered_toys)


def test_bad_params_and_duplicate_labels(registered_toys):
    text = HEAD.replace('["toy_exact"]', '[{ name = "toy_noisy", params = { scal = 1 } }]') + TASK
    message = _plan_error(text, registered_toys, InvalidParameterError)
    assert "s.toml: key 'methods[0].params'" in message and "scale=0.5" in message
    text = HEAD.replace('["toy_exact"]', '["toy_exact", { name = "toy_noisy", label = "toy_exact" }]') + TASK
    assert "two methods share the label 'toy_exact'" in _plan_error(text, registered_toys)


def test_selections(registered_toys):
    suite = parse_suite(TOY_SUITE, source="toy.toml")
    plan = resolve(suite, methods=["toy_noisy", "toy_exact"], metrics=["completeness"], seeds=[5], n_instances=2)
    assert [m.label for m in plan.methods] == ["toy_noisy", "toy_exact"]
    assert plan.methods[0].method.scale == 0.25  # the suite's params are kept
    assert [m.label for m in plan.metrics] == ["completeness", "explanations_per_second", "peak_memory_mb"]
    assert (plan.seeds, plan.n_instances) == ((5,), 2)
    # a registered method the suite does not list is added with default params
    small = parse_suite(HEAD + TASK, source="s.toml")
    assert [(m.label, m.method.scale) for m in resolve(small, methods=["toy_noisy"]).methods] == [("toy_noisy", 0.5)]
    with pytest.raises(UnknownNameError, match="Did you mean 'toy_exact'"):
        resolve(suite, methods=["toy_exac"])
    assert [t.name for t in resolve(suite, tasks=["toy_*/toy_linear_model"]).tasks] == ["toy_linear/toy_linear_model/value"]
    with pytest.raises(SuiteError, match="matches no task of suite toy"):
        resolve(suite, tasks=["digits"])
    with pytest.raises(SuiteError, match="unknown target 'nope'"):
        resolve(suite, tasks=["toy_linear/toy_linear_model/nope"])
    added = resolve(suite, tasks=["toy_linear/toy_linear_model/broken"]).tasks  # a full triple may be added
    assert [t.name for t in added] == ["toy_linear/toy_linear_model/broken"]
    for bad in ({"seeds": [1, 1]}, {"seeds": [-1]}, {"seeds": []}, {"n_instances": 0}):
        with pytest.raises(InvalidParameterError):
            resolve(suite, **bad)
