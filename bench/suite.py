"""Suites as data: versioned TOML files naming tasks × methods × metrics × seeds.

Built-in suites ship in ``xaibench/suites/*.toml`` (``xaibench list suites``); ``--suite PATH``
takes a user's file. Parsing (:func:`load_suite`) needs no torch and no registries; it checks
every key's type and range against the schema in :mod:`xaibench.suite_schema` and reports every
problem as a :class:`~xaibench.errors.SuiteError` naming the file, the key and what is expected.
:func:`resolve` then checks every name against the registries (unknown names answered with "did
you mean …"), instantiates methods and metrics with their params (checked by type and range,
:mod:`xaibench.params`), expands task cross-products, applies command-line selections and returns
a :class:`Plan` — all before any data is loaded. :func:`replay` rebuilds the plan a run folder
recorded, for resuming.

Schema (top-level keys must come before the first ``[[tasks]]`` table, as TOML requires)::

    name = "quick"           # optional, default: the file's stem; letters, digits, . _ - only
    version = "1"            # required, string or integer; bump it when results change meaning
    description = "..."      # required, one line for `xaibench list suites`
    seeds = [0, 1]           # required, non-empty list of distinct integers in [0, 2**63) (method/metric seeds)
    n_instances = 16         # optional, int >= 1: explain the first n test rows (default: all; a test
                             #   split with fewer rows is explained whole, and records say how many ran)
    n_background = 50        # optional, int >= 1: background sample size (default 100)
    model_seed = 0           # optional, int >= 0: training seed of the models (default 0: shipped weights)
    cell_timeout = 600       # optional, seconds >= 0 a cell may take (default 3600; 0: no limit)

    # methods and metrics: a name, or a table {name, params = {...}, label = "..."}
    methods = ["random", { name = "integrated_gradients", params = { n_steps = 32 } }]
    metrics = ["deletion_auc", { name = "max_sensitivity", params = { n_samples = 5 }, label = "max_sens@5" }]

    # budgets: a method table may set its own seeds; a metric table how many instances and seeds it scores
    methods = [{ name = "smoothgrad", seeds = [0, 1, 2] }]      # default: the suite's seeds
    metrics = [{ name = "max_sensitivity", n_instances = 32,    # the first 32 explained instances (<= n_instances)
                 n_seeds = 1 }]                                 # only each method's first seed

    [[tasks]]                # one or more; each expands to dataset × model × target
    dataset = ["breast_cancer", "digits"]    # a string or a list of strings (also datasets/models/targets)
    model = "mlp"
    target = "logit"
    n_instances = 32         # optional: explain these tasks' first 32 instances (default: the suite's);
                             #   fewer than the suite's scales every metric budget in proportion

Budgets (issue 12). A cell explains ``n_instances`` instances once, per (task, method, seed), and
feeds every metric; a metric with ``n_instances = k`` scores the first ``k`` of them (a task with
fewer is scored whole), so costly metrics (stability: each instance re-explained dozens of times)
can run on fewer instances than cheap ones. Records say how many instances each metric scored
(``n_instances_scored``) beside how many were explained (``n_instances``). A metric with
``n_seeds = k`` is scored only in the cells of each method's first ``k`` seeds (a quantity that
seeds do not change, or that a metric already averages over seeds itself, needs one). A method's
``seeds`` replaces the suite's: use several only where they carry information (stochastic
methods). ``--seeds`` replaces every method's seeds; ``--n-instances`` replaces the explained
count and caps every budget. A ``[[tasks]]`` table may set its own ``n_instances`` (tasks whose
every evaluation is costly): fewer than the suite's scales each metric budget on those tasks in
proportion (:func:`task_budget`), so they keep the suite's balance between metrics.

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
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidParameterError, SuiteError, UnknownNameError, XaiBenchError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from .method import Method
    from .metric import Metric

log = logging.getLogger(__name__)

SUITES_DIR = Path(__file__).parent / "suites"
SUITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""Suite names become folder names (``runs/<name>-<time>``): no separators, no leading dot."""
DEFAULT_N_BACKGROUND = 100
DEFAULT_CELL_TIMEOUT = 3600.0
"""Seconds a cell may take (loading its task; then explaining and scoring) unless the suite's
``cell_timeout`` or ``--cell-timeout`` says otherwise; 0 means no limit."""


@dataclass(frozen=True)
class EntryRef:
    """A method or metric as the suite names it (``where`` locates it in the file), with its budget:
    ``seeds`` (methods), ``n_instances`` and ``n_seeds`` (metrics); ``None``: the suite's."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None
    where: str = ""
    seeds: tuple[int, ...] | None = None
    n_instances: int | None = None
    n_seeds: int | None = None


@dataclass(frozen=True)
class TaskGroup:
    """One ``[[tasks]]`` table: the cross-product datasets × models × targets, and its instance count."""

    datasets: tuple[str, ...]
    models: tuple[str, ...]
    targets: tuple[str, ...]
    where: str = ""
    n_instances: int | None = None


@dataclass(frozen=True)
class TaskRef:
    """A task; ``n_instances`` is its own instance count where its ``[[tasks]]`` table sets one
    (``None``: the plan's). Two refs to one task are equal whatever their counts."""

    dataset: str
    model: str
    target: str
    n_instances: int | None = field(default=None, compare=False)

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
    cell_timeout: float | None = None
    source: str = ""
    text: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def identity(self) -> dict[str, str]:
        """What a run folder's manifest must match to be resumed with this suite."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "source": self.source}


# -- parsing ----------------------------------------------------------------------------------
def builtin_suites() -> dict[str, Path]:
    return {p.stem: p for p in sorted(SUITES_DIR.glob("*.toml"))}


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name (``"quick"``) or a suite file by path."""
    text_form = str(name_or_path)
    path = Path(text_form)
    if path.suffix == ".toml" or path.exists() or any(sep in text_form for sep in ("/", "\\")):
        if path.is_dir():
            raise SuiteError(f"suite file {text_form} is a folder; give a path to a .toml file or a built-in "
                             "suite name")
        if not path.is_file():
            raise SuiteError(f"suite file {text_form} does not exist; "
                             "give a path to a .toml file or a built-in suite name (`xaibench list suites`)")
        return parse_suite(_read_text(path), source=str(path), default_name=path.stem)
    known = builtin_suites()
    if text_form not in known:
        raise UnknownNameError("suite", text_form, difflib.get_close_matches(text_form, list(known), n=3), list(known))
    path = known[text_form]
    return parse_suite(_read_text(path), source=str(path), default_name=text_form)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SuiteError(f"suite file {path} cannot be read ({exc.strerror or exc}); check its permissions") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SuiteError(f"{path}: line {line}, column {column}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                         "suite files are TOML, which is UTF-8: save the file as UTF-8") from None


def parse_suite(text: str, *, source: str = "<suite>", default_name: str = "suite") -> Suite:
    """Parse and check suite TOML (types and ranges, :mod:`xaibench.suite_schema`); every problem
    names ``source``, the key and what is expected."""
    from .suite_schema import check_suite  # noqa: PLC0415 - pydantic only when a suite is parsed

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{source}: not valid TOML: {exc}; fix the syntax there (https://toml.io)") from None
    checked = check_suite(data, source=source)
    name = checked.name if checked.name is not None else default_name
    if not SUITE_NAME.fullmatch(name):
        where = "key 'name'" if checked.name is not None else "the suite name taken from the file name"
        raise SuiteError(f"{source}: {where} {name!r} may use only letters, digits, '.', '_' and '-', starting with "
                         "a letter or digit (it names the run folder); set name = \"my_suite\" in the file")
    return Suite(
        name=name,
        version=str(checked.version),
        description=checked.description,
        seeds=tuple(checked.seeds),
        n_instances=checked.n_instances,
        n_background=checked.n_background,
        model_seed=checked.model_seed,
        cell_timeout=checked.cell_timeout,
        tasks=tuple(TaskGroup(tuple(t.names("dataset")), tuple(t.names("model")), tuple(t.names("target")),
                              f"tasks[{i}]", t.n_instances) for i, t in enumerate(checked.tasks)),
        methods=tuple(_entry_ref(e, f"methods[{i}]") for i, e in enumerate(checked.methods)),
        metrics=tuple(_entry_ref(e, f"metrics[{i}]") for i, e in enumerate(checked.metrics)),
        source=source,
        text=text,
    )


def _entry_ref(entry: Any, where: str) -> EntryRef:
    if isinstance(entry, str):
        return EntryRef(entry, {}, None, where)
    seeds = getattr(entry, "seeds", None)
    return EntryRef(entry.name, dict(entry.params), entry.label, where, None if seeds is None else tuple(seeds),
                    getattr(entry, "n_instances", None), getattr(entry, "n_seeds", None))


# -- resolution against the registries --------------------------------------------------------
@dataclass(frozen=True)
class MethodEntry:
    """A method of a plan, with the seeds its cells run (``()``: the plan's seeds, for entries made
    outside a plan)."""

    label: str
    method: "Method"
    seeds: tuple[int, ...] = ()


@dataclass(frozen=True)
class MetricEntry:
    """A metric of a plan and its budget: it scores the first ``n_instances`` explained instances
    (``None``: all) in the cells of each method's first ``n_seeds`` seeds (``None``: all)."""

    label: str
    metric: "Metric"
    n_instances: int | None = None
    n_seeds: int | None = None

    def scores_seed(self, position: int) -> bool:
        """Whether this metric is scored in a method's cell of the seed at ``position`` in its seeds."""
        return self.n_seeds is None or position < self.n_seeds


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
    cell_timeout: float = DEFAULT_CELL_TIMEOUT

    def seeds_of(self, method: MethodEntry) -> tuple[int, ...]:
        return method.seeds or self.seeds

    def n_instances_of(self, task: TaskRef) -> int | None:
        """Instances ``task`` explains as asked (its own count, else the plan's; ``None``: all)."""
        return task.n_instances if task.n_instances is not None else self.n_instances

    def cell_specs(self) -> Iterator[tuple[TaskRef, MethodEntry, tuple[MetricEntry, ...], int]]:
        """``(task, method, metrics, seed)`` of every cell, task by task, then method, then seed;
        ``metrics`` are those scored at that seed (their ``n_seeds``)."""
        for task in self.tasks:
            for method in self.methods:
                for position, seed in enumerate(self.seeds_of(method)):
                    yield task, method, tuple(m for m in self.metrics if m.scores_seed(position)), seed

    @property
    def n_cells(self) -> int:
        return len(self.tasks) * sum(len(self.seeds_of(m)) for m in self.methods)

    @property
    def results_per_task(self) -> int:
        """Records a task gets: (method, metric, seed) triples, each metric at its seeds."""
        return sum(sum(1 for position in range(len(self.seeds_of(m))) if e.scores_seed(position))
                   for m in self.methods for e in self.metrics)

    def describe(self) -> dict[str, Any]:
        """The plan as the manifest records it; :func:`replay` rebuilds exactly this plan from it."""
        return {
            "tasks": [t.name for t in self.tasks],
            "methods": [{"label": m.label, "name": m.method.name, "params": m.method.params,
                         "seeds": list(self.seeds_of(m))} for m in self.methods],
            "metrics": [{"label": m.label, "name": m.metric.name, "params": m.metric.params,
                         "n_instances": m.n_instances, "n_seeds": m.n_seeds} for m in self.metrics],
            "seeds": list(self.seeds), "n_instances": self.n_instances, "n_background": self.n_background,
            "model_seed": self.model_seed, "cell_timeout": self.cell_timeout,
            **({"task_n_instances": {t.name: t.n_instances for t in self.tasks if t.n_instances is not None}}
               if any(t.n_instances is not None for t in self.tasks) else {}),
        }


def resolve(
    suite: Suite,
    *,
    methods: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    n_instances: int | None = None,
    cell_timeout: float | None = None,
) -> Plan:
    """Check ``suite`` against the registries and apply command-line selections.

    ``methods``/``metrics`` select suite entries by label or name; a registered name the suite
    does not list is added with default params. ``tasks`` are ``dataset[/model[/target]]``
    patterns (``*`` allowed) selecting suite tasks; a full ``d/m/t`` not in the suite is added.
    ``seeds``, ``n_instances`` and ``cell_timeout`` replace the suite's, checked like its keys:
    ``seeds`` replaces every method's own seeds too, and ``n_instances`` caps every metric's budget.
    """
    from .registries import methods as method_registry  # noqa: PLC0415 - imports the plugins
    from .registries import metrics as metric_registry  # noqa: PLC0415
    from .suite_schema import check_settings  # noqa: PLC0415

    settings = check_settings(seeds=None if seeds is None else list(seeds), n_instances=n_instances,
                              cell_timeout=cell_timeout)
    method_refs = _select(suite.methods, methods, method_registry)
    metric_refs = _select(suite.metrics, metrics, metric_registry)
    seeds_given = None if settings.seeds is None else tuple(settings.seeds)
    plan_seeds = seeds_given or suite.seeds
    n_explained = settings.n_instances if settings.n_instances is not None else suite.n_instances
    method_entries = _unique_labels([MethodEntry(_label(r, None), _instantiate(suite, r, method_registry),
                                                 seeds_given or r.seeds or plan_seeds)
                                     for r in method_refs], suite, "method")
    metric_objs = [(r, _instantiate(suite, r, metric_registry)) for r in metric_refs]
    metric_entries = [MetricEntry(_label(r, m), m, _capped(r.n_instances, n_explained), r.n_seeds)
                      for r, m in metric_objs]
    metric_entries += _cost_entries([m for _, m in metric_objs])
    selected = _select_tasks(_expand_tasks(suite), tasks, suite)
    if settings.n_instances is not None:  # the command line's count replaces every task's own
        selected = tuple(replace(t, n_instances=None) for t in selected)
    return Plan(
        suite=suite,
        tasks=selected,
        methods=tuple(method_entries),
        metrics=tuple(_unique_labels(metric_entries, suite, "metric")),
        seeds=plan_seeds,
        n_instances=n_explained,
        n_background=suite.n_background,
        model_seed=suite.model_seed,
        cell_timeout=_first(settings.cell_timeout, suite.cell_timeout, DEFAULT_CELL_TIMEOUT),
    )


def task_budget(budget: int | None, task_instances: int | None, plan_instances: int | None) -> int | None:
    """A metric's budget on a task whose ``[[tasks]]`` table asks for ``task_instances`` instances,
    fewer than the plan's ``plan_instances``: scaled in proportion and rounded up (a task explaining
    a tenth of the instances scores a tenth of each budget). Otherwise the budget itself."""
    if budget is None or task_instances is None or plan_instances is None or task_instances >= plan_instances:
        return budget
    return max(1, math.ceil(budget * task_instances / plan_instances))


def _capped(budget: int | None, explained: int | None) -> int | None:
    """A metric's budget within the explained set (``None``: every explained instance)."""
    if budget is None or explained is None:
        return budget
    return None if budget >= explained else budget


def replay(suite: Suite, recorded: Mapping[str, Any], *, source: str, methods: Sequence[str] | None = None,
           metrics: Sequence[str] | None = None, tasks: Sequence[str] | None = None,
           seeds: Sequence[int] | None = None, n_instances: int | None = None,
           cell_timeout: float | None = None) -> Plan:
    """The plan ``recorded`` by :meth:`Plan.describe` (a run folder's manifest), rebuilt exactly: the
    same tasks, the same method and metric labels with their names and params, seeds and sizes.
    A selection given here replaces that part, resolved against ``suite`` as a new run would.

    Raises:
        ResultsError: ``recorded`` is not a plan (``source`` names where it came from).
    """
    from .method import instantiate  # noqa: PLC0415
    from .registries import methods as method_registry  # noqa: PLC0415
    from .registries import metrics as metric_registry  # noqa: PLC0415
    from .suite_schema import check_recorded_plan  # noqa: PLC0415

    started = check_recorded_plan(recorded, source=source)
    fresh = resolve(suite, methods=methods, metrics=metrics, tasks=tasks, seeds=seeds, n_instances=n_instances,
                    cell_timeout=cell_timeout)
    plan_seeds = fresh.seeds if seeds is not None else tuple(started.seeds)
    explained = n_instances if n_instances is not None else started.n_instances
    return replace(
        fresh,
        tasks=fresh.tasks if tasks else tuple(
            TaskRef(*name.split("/"), None if n_instances is not None else started.task_n_instances.get(name))
            for name in started.tasks),
        methods=fresh.methods if methods else tuple(
            MethodEntry(e.label, instantiate(method_registry.get(e.name), e.params),
                        fresh.seeds if seeds is not None else tuple(e.seeds or plan_seeds))
            for e in started.methods),
        metrics=fresh.metrics if metrics else tuple(
            MetricEntry(e.label, instantiate(metric_registry.get(e.name), e.params), _capped(e.n_instances, explained),
                        e.n_seeds) for e in started.metrics),
        seeds=plan_seeds,
        n_instances=explained,
        cell_timeout=fresh.cell_timeout if cell_timeout is not None or started.cell_timeout is None
        else started.cell_timeout,
    )


def _first(*values: Any) -> Any:
    return next(v for v in values if v is not None)


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
        hits = [r for r in refs if name in (r.label, r.name) or name == _own_label(r, registry)]
        if not hits:
            registry.get(name)  # unknown names: UnknownNameError with "did you mean"
            hits = [EntryRef(name)]
        out += [h for h in hits if h not in out]
    return out


def _own_label(ref: EntryRef, registry) -> str | None:
    """The label a metric gives itself (``global_distillation@5``), as tables show it; methods have none."""
    from .method import instantiate  # noqa: PLC0415

    try:
        return getattr(instantiate(registry.get(ref.name), dict(ref.params)), "label", None)
    except XaiBenchError:
        return None


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
        found = [TaskRef(d, m, t, group.n_instances) for d in group.datasets for m in group.models
                 for t in group.targets if kinds[d] in specs[m].kinds and t in specs[m].targets]
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
