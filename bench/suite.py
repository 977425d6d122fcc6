"""Suites as data: versioned TOML files naming tasks × methods × metrics × seeds.

Built-in suites ship in ``xaibench/suites/*.toml`` (``xaibench list suites``); ``--suite PATH``
takes a user's file. Parsing (:func:`load_suite`) needs no torch and no registries; it checks the
file's shape and reports every problem as a :class:`~xaibench.errors.SuiteError` naming the file,
the key and what is expected. :func:`resolve` then checks every name against the registries
(unknown names answered with "did you mean …"), instantiates methods and metrics with their
params (bad params are caught here), expands task cross-products, applies command-line
selections and returns a :class:`Plan` — all before any data is loaded.

Schema (top-level keys must come before the first ``[[tasks]]`` table, as TOML requires)::

    name = "quick"           # optional, default: the file's stem
    version = "1"            # required, string or integer; bump it when results change meaning
    description = "..."      # required, one line for `xaibench list suites`
    seeds = [0, 1]           # required, non-empty list of distinct integers >= 0 (method/metric seeds)
    n_instances = 16         # optional, int >= 1: explain the first n test rows (default: all)
    n_background = 50        # optional, int >= 1: background sample size (default 100)
    model_seed = 0           # optional, int >= 0: training seed of the models (default 0: shipped weights)

    # methods and metrics: a name, or a table {name, params = {...}, label = "..."}
    methods = ["random", { name = "integrated_gradients", params = { n_steps = 32 } }]
    metrics = ["deletion_auc", { name = "max_sensitivity", params = { n_samples = 5 }, label = "max_sens@5" }]

    [[tasks]]                # one or more; each expands to dataset × model × target
    dataset = ["breast_cancer", "digits"]    # a string or a list of strings (also datasets/models/targets)
    model = "mlp"
    target = "logit"

In a cross-product, (dataset, model) pairs whose data kind the model does not support, and
(model, target) pairs the model does not define, are dropped; a ``[[tasks]]`` entry that leaves
no task at all is an error. ``label`` names a leaderboard row (methods) or column (metrics); it
defaults to the method's name and to the metric's own ``label``. Two entries may not share a
label. The cost metrics (``explanations_per_second``, ``peak_memory_mb``) come from the timed
explanation pass and are added to every plan (listing them is allowed, never needed).
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidParameterError, SuiteError, UnknownNameError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from .method import Method
    from .metric import Metric

log = logging.getLogger(__name__)

SUITES_DIR = Path(__file__).parent / "suites"
TOP_KEYS = ("name", "version", "description", "seeds", "n_instances", "n_background", "model_seed",
            "methods", "metrics", "tasks")
TASK_KEYS = ("dataset", "datasets", "model", "models", "target", "targets")
ENTRY_KEYS = ("name", "params", "label")
DEFAULT_N_BACKGROUND = 100


@dataclass(frozen=True)
class EntryRef:
    """A method or metric as the suite names it (``where`` locates it in the file)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None
    where: str = ""


@dataclass(frozen=True)
class TaskGroup:
    """One ``[[tasks]]`` table: the cross-product datasets × models × targets."""

    datasets: tuple[str, ...]
    models: tuple[str, ...]
    targets: tuple[str, ...]
    where: str = ""


@dataclass(frozen=True)
class TaskRef:
    dataset: str
    model: str
    target: str

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.model}/{self.target}"


@dataclass(frozen=True)
class Suite:
    """A parsed suite file (shape checked; names not yet checked against the registries)."""

    name: str
    version: str
    description: str
    seeds: tuple[int, ...]
    tasks: tuple[TaskGroup, ...]
    methods: tuple[EntryRef, ...]
    metrics: tuple[EntryRef, ...]
    n_instances: int | None = None
    n_background: int = DEFAULT_N_BACKGROUND
    model_seed: int = 0
    source: str = ""
    text: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


# -- parsing ----------------------------------------------------------------------------------
def builtin_suites() -> dict[str, Path]:
    return {p.stem: p for p in sorted(SUITES_DIR.glob("*.toml"))}


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name (``"quick"``) or a suite file by path."""
    text_form = str(name_or_path)
    path = Path(text_form)
    if path.suffix == ".toml" or path.exists() or any(sep in text_form for sep in ("/", "\\")):
        if not path.is_file():
            raise SuiteError(f"suite file {text_form} does not exist; "
                             "give a path to a .toml file or a built-in suite name")
        return parse_suite(path.read_text(encoding="utf-8"), source=str(path), default_name=path.stem)
    known = builtin_suites()
    if text_form not in known:
        raise UnknownNameError("suite", text_form, difflib.get_close_matches(text_form, list(known), n=3), list(known))
    path = known[text_form]
    return parse_suite(path.read_text(encoding="utf-8"), source=str(path), default_name=text_form)


def parse_suite(text: str, *, source: str = "<suite>", default_name: str = "suite") -> Suite:
    """Parse and shape-check suite TOML; every problem names ``source`` and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{source}: not valid TOML: {exc}") from exc
    p = _Checker(source)
    p.unknown_keys(data, TOP_KEYS, "", hint_tasks=False)
    for key in ("version", "description", "seeds", "tasks", "methods", "metrics"):
        if key not in data:
            p.fail(key, "is required", what=_EXPECTED[key])
    seeds = p.int_list(data["seeds"], "seeds")
    return Suite(
        name=p.string(data.get("name", default_name), "name"),
        version=p.version(data["version"]),
        description=p.string(data["description"], "description"),
        seeds=seeds,
        n_instances=None if "n_instances" not in data else p.integer(data["n_instances"], "n_instances", minimum=1),
        n_background=p.integer(data.get("n_background", DEFAULT_N_BACKGROUND), "n_background", minimum=1),
        model_seed=p.integer(data.get("model_seed", 0), "model_seed", minimum=0),
        tasks=tuple(p.task_group(t, f"tasks[{i}]") for i, t in enumerate(p.array(data["tasks"], "tasks"))),
        methods=p.entries(data["methods"], "methods"),
        metrics=p.entries(data["metrics"], "metrics"),
        source=source,
        text=text,
    )


_EXPECTED = {
    "version": "a string or integer, e.g. version = \"1\"",
    "description": "a one-line string",
    "seeds": "a non-empty list of distinct integers >= 0, e.g. seeds = [0]",
    "tasks": "one or more [[tasks]] tables with dataset, model and target",
    "methods": "a list of method names or {name, params, label} tables",
    "metrics": "a list of metric names or {name, params, label} tables",
}


class _Checker:
    """Shape checks that raise :class:`SuiteError` naming the file and the key."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, problem: str, *, what: str | None = None, got: Any = ...) -> None:
        detail = f"; expected {what}" if what else ""
        shown = "" if got is ... else f", got {got!r}"
        raise SuiteError(f"{self.source}: key '{key}' {problem}{detail}{shown}")

    def unknown_keys(self, table: Mapping, allowed: Sequence[str], prefix: str, *, hint_tasks: bool) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                if hint_tasks and key in TOP_KEYS:
                    hint += " (top-level keys must come before the first [[tasks]] table)"
                self.fail(f"{prefix}{key}", f"is not a suite key{hint}", what=f"one of {', '.join(allowed)}")

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "must be a non-empty string", got=value)
        return value

    def version(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
            self.fail("version", "has the wrong type", what=_EXPECTED["version"], got=value)
        return str(value)

    def integer(self, value: Any, key: str, *, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(key, "has a bad value", what=f"an integer >= {minimum}", got=value)
        return value

    def array(self, value: Any, key: str) -> list:
        if not isinstance(value, list) or not value:
            self.fail(key, "must be a non-empty list", what=_EXPECTED.get(key), got=value)
        return value

    def int_list(self, value: Any, key: str) -> tuple[int, ...]:
        items = self.array(value, key)
        out = tuple(self.integer(v, f"{key}[{i}]", minimum=0) for i, v in enumerate(items))
        if len(set(out)) != len(out):
            self.fail(key, "repeats a seed", what=_EXPECTED["seeds"], got=value)
        return out

    def names(self, table: Mapping, singular: str, where: str) -> tuple[str, ...]:
        plural = singular + "s"
        if (singular in table) == (plural in table):
            self.fail(f"{where}.{singular}", f"must be given once (as '{singular}' or '{plural}')",
                      what="a name or a list of names")
        key = singular if singular in table else plural
        value = table[key]
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            self.fail(f"{where}.{key}", "has the wrong type", what="a name or a non-empty list of names", got=value)
        return tuple(values)

    def task_group(self, table: Any, where: str) -> TaskGroup:
        if not isinstance(table, dict):
            self.fail(where, "must be a table", what="{dataset = ..., model = ..., target = ...}", got=table)
        self.unknown_keys(table, TASK_KEYS, f"{where}.", hint_tasks=True)
        return TaskGroup(self.names(table, "dataset", where), self.names(table, "model", where),
                         self.names(table, "target", where), where)

    def entries(self, value: Any, key: str) -> tuple[EntryRef, ...]:
        out = [self.entry(item, f"{key}[{i}]") for i, item in enumerate(self.array(value, key))]
        return tuple(out)

    def entry(self, item: Any, where: str) -> EntryRef:
        if isinstance(item, str) and item:
            return EntryRef(item, {}, None, where)
        if not isinstance(item, dict):
            self.fail(where, "has the wrong type", what="a name or a table {name, params, label}", got=item)
        self.unknown_keys(item, ENTRY_KEYS, f"{where}.", hint_tasks=False)
        if "name" not in item:
            self.fail(f"{where}.name", "is required", what="the registered name")
        params = item.get("params", {})
        if not isinstance(params, dict):
            self.fail(f"{where}.params", "must be a table", what="e.g. params = { n_steps = 32 }", got=params)
        label = item.get("label")
        return EntryRef(self.string(item["name"], f"{where}.name"), params,
                        None if label is None else self.string(label, f"{where}.label"), where)


# -- resolution against the registries --------------------------------------------------------
@dataclass(frozen=True)
class MethodEntry:
    label: str
    method: "Method"


@dataclass(frozen=True)
class MetricEntry:
    label: str
    metric: "Metric"


@dataclass(frozen=True)
class Plan:
    """What a run executes: a suite resolved against the registries, with selections applied."""

    suite: Suite
    tasks: tuple[TaskRef, ...]
    methods: tuple[MethodEntry, ...]
    metrics: tuple[MetricEntry, ...]
    seeds: tuple[int, ...]
    n_instances: int | None
    n_background: int
    model_seed: int

    @property
    def n_cells(self) -> int:
        return len(self.tasks) * len(self.methods) * len(self.seeds)


def resolve(
    suite: Suite,
    *,
    methods: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    n_instances: int | None = None,
) -> Plan:
    """Check ``suite`` against the registries and apply command-line selections.

    ``methods``/``metrics`` select suite entries by label or name; a registered name the suite
    does not list is added with default params. ``tasks`` are ``dataset[/model[/target]]``
    patterns (``*`` allowed) selecting suite tasks; a full ``d/m/t`` not in the suite is added.
    """
    from .registries import methods as method_registry  # noqa: PLC0415 - imports the plugins
    from .registries import metrics as metric_registry  # noqa: PLC0415

    method_refs = _select(suite.methods, methods, method_registry)
    metric_refs = _select(suite.metrics, metrics, metric_registry)
    method_entries = _unique_labels([MethodEntry(_label(r, None), _instantiate(suite, r, method_registry))
                                     for r in method_refs], suite, "method")
    metric_objs = [(r, _instantiate(suite, r, metric_registry)) for r in metric_refs]
    metric_entries = [MetricEntry(_label(r, m), m) for r, m in metric_objs]
    metric_entries += _cost_entries([m for _, m in metric_objs])
    if seeds is not None and (not seeds or len(set(seeds)) != len(seeds)
                              or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in seeds)):
        raise InvalidParameterError(f"seeds {list(seeds)}: expected distinct integers >= 0, e.g. --seeds 0,1,2")
    if n_instances is not None and (isinstance(n_instances, bool) or not isinstance(n_instances, int)
                                    or n_instances < 1):
        raise InvalidParameterError(f"n_instances {n_instances!r}: expected an integer >= 1")
    return Plan(
        suite=suite,
        tasks=_select_tasks(_expand_tasks(suite), tasks, suite),
        methods=tuple(method_entries),
        metrics=tuple(_unique_labels(metric_entries, suite, "metric")),
        seeds=tuple(seeds) if seeds is not None else suite.seeds,
        n_instances=n_instances if n_instances is not None else suite.n_instances,
        n_background=suite.n_background,
        model_seed=suite.model_seed,
    )


def _label(ref: EntryRef, metric: "Metric | None") -> str:
    return ref.label or (metric.label if metric is not None else ref.name)


def _instantiate(suite: Suite, ref: EntryRef, registry):
    """The entry's object; names and params the suite file gives are reported with their key."""
    from .method import instantiate  # noqa: PLC0415

    # a name from the command line (no ``where``) keeps the registry's own UnknownNameError
    cls = _get(registry, ref.name, suite, f"{ref.where}.name") if ref.where else registry.get(ref.name)
    try:
        return instantiate(cls, dict(ref.params))
    except InvalidParameterError as exc:
        where = f"{suite.source}: key '{ref.where}.params': " if ref.where else ""
        raise InvalidParameterError(f"{where}{exc}") from exc


def _select(refs: Sequence[EntryRef], wanted: Sequence[str] | None, registry) -> list[EntryRef]:
    if not wanted:
        return list(refs)
    out: list[EntryRef] = []
    for name in wanted:
        hits = [r for r in refs if name in (r.label, r.name)]
        if not hits:
            registry.get(name)  # unknown names: UnknownNameError with "did you mean"
            hits = [EntryRef(name)]
        out += [h for h in hits if h not in out]
    return out


def _cost_entries(present: Iterable["Metric"]) -> list[MetricEntry]:
    from .metrics.cost import COST_METRICS  # noqa: PLC0415

    have = {type(m) for m in present}
    return [MetricEntry(cls.name, cls()) for cls in COST_METRICS if cls not in have]


def _unique_labels(entries: list, suite: Suite, kind: str) -> list:
    seen: dict[str, Any] = {}
    for entry in entries:
        if entry.label in seen:
            raise SuiteError(f"{suite.source}: two {kind}s share the label {entry.label!r}; "
                             f"give one of them a distinct label = \"...\"")
        seen[entry.label] = entry
    return entries


def _expand_tasks(suite: Suite) -> list[TaskRef]:
    from .registries import datasets, models  # noqa: PLC0415

    out: list[TaskRef] = []
    for group in suite.tasks:
        kinds = {d: _get(datasets, d, suite, f"{group.where}.dataset").kind for d in group.datasets}
        specs = {m: _get(models, m, suite, f"{group.where}.model") for m in group.models}
        for t in group.targets:
            if not any(t in spec.targets for spec in specs.values()):
                known = sorted({n for spec in specs.values() for n in spec.targets})
                raise SuiteError(f"{suite.source}: key '{group.where}.target': "
                                 f"{UnknownNameError('target', t, difflib.get_close_matches(t, known, n=2), known)}")
        found = [TaskRef(d, m, t) for d in group.datasets for m in group.models for t in group.targets
                 if kinds[d] in specs[m].kinds and t in specs[m].targets]
        for d, m in ((d, m) for d in group.datasets for m in group.models if kinds[d] not in specs[m].kinds):
            log.info("%s: %s: model %s does not apply to %s dataset %s; left out",
                     suite.source, group.where, m, kinds[d], d)
        if not found:
            raise SuiteError(f"{suite.source}: key '{group.where}': no (dataset, model, target) combination applies "
                             f"(dataset kinds {sorted(set(kinds.values()))}; check the models' kinds and targets "
                             "with `xaibench list models`)")
        out += [t for t in found if t not in out]
    return out


def _get(registry, name: str, suite: Suite, where: str):
    try:
        return registry.get(name)
    except UnknownNameError as exc:
        raise SuiteError(f"{suite.source}: key '{where}': {exc}") from exc


def _select_tasks(all_tasks: list[TaskRef], patterns: Sequence[str] | None, suite: Suite) -> tuple[TaskRef, ...]:
    if not patterns:
        return tuple(all_tasks)
    out: list[TaskRef] = []
    for pattern in patterns:
        parts = pattern.split("/")
        if len(parts) > 3 or not all(parts):
            raise SuiteError(f"--tasks {pattern!r}: expected dataset[/model[/target]] (wildcards * allowed)")
        hits = [t for t in all_tasks
                if all(fnmatch.fnmatchcase(v, p) for v, p in zip((t.dataset, t.model, t.target), parts))]
        if not hits and len(parts) == 3 and "*" not in pattern:  # a task the suite does not list
            group = TaskGroup((parts[0],), (parts[1],), (parts[2],), pattern)
            hits = _expand_tasks(replace(suite, tasks=(group,), source="--tasks"))
        if not hits:
            names = [t.name for t in all_tasks]
            close = difflib.get_close_matches(pattern, names, n=2)
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            raise SuiteError(f"--tasks {pattern!r} matches no task of suite {suite.name}.{hint} "
                             f"Its tasks: {', '.join(names)}")
        out += [h for h in hits if h not in out]
    return tuple(out)
