"""The schema of suite files and of the run settings a user gives, as pydantic models.

One place states every key's type and range; :func:`check_suite` applies it to a parsed TOML
document, :func:`check_settings` to command-line and API values (``--seeds``, ``--n-instances``,
``--cell-timeout``). Validation is strict (a string is not a number, ``2.5`` is not an integer,
``true`` is not a count) and every problem becomes one line of a
:class:`~xaibench.errors.SuiteError` (or :class:`~xaibench.errors.InvalidParameterError`) that
names the file, the key, what is expected and what was found.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Annotated, Any, Union

from annotated_types import Ge, Le, Len
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .errors import InvalidParameterError, ResultsError, SuiteError
from .params import key_path
from .suite import DEFAULT_N_BACKGROUND

MAX_SEED = 2**63 - 1
"""Seeds are 64-bit signed integers (TOML's integer range; torch and the samplers take them)."""

NonBlank = Annotated[str, StringConstraints(pattern=r"\S")]
Seed = Annotated[int, Ge(0), Le(MAX_SEED)]
Count = Annotated[int, Ge(1)]
Seconds = Annotated[float, Ge(0)]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _int_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _distinct(values: list) -> list:
    if len(set(values)) != len(values):
        raise PydanticCustomError("distinct", "repeats a seed")
    return values


Seeds = Annotated[list[Seed], Len(1), AfterValidator(_distinct)]


Names = Annotated[list[NonBlank], BeforeValidator(_as_list), Len(1)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class EntryTable(_Strict):
    """``{ name = "...", params = { ... }, label = "..." }``"""

    name: NonBlank
    params: dict[str, Any] = {}
    label: NonBlank | None = None


class MethodTable(EntryTable):
    """A method entry; ``seeds`` replaces the suite's seeds for this method (e.g. several seeds
    for a stochastic method, one for a deterministic one)."""

    seeds: Seeds | None = None


class MetricTable(EntryTable):
    """A metric entry with its budget: ``n_instances`` scores only the first n explained instances
    (default: all of them); ``n_seeds`` scores only the first n seeds of each method (default: all)."""

    n_instances: Count | None = None
    n_seeds: Count | None = None


def _entry_kind(value: Any) -> str | None:
    return "<name>" if isinstance(value, str) else "<table>" if isinstance(value, dict) else None


def _entries(table: type[EntryTable]) -> Any:
    entry = Annotated[
        Union[Annotated[NonBlank, Tag("<name>")], Annotated[table, Tag("<table>")]],
        Discriminator(_entry_kind, custom_error_type="entry_type",
                      custom_error_message="expected a name or a table {name, params, label, ...}"),
    ]
    return Annotated[list[entry], Len(1)]


MethodEntries = _entries(MethodTable)
MetricEntries = _entries(MetricTable)


class TaskTable(_Strict):
    """One ``[[tasks]]`` table: datasets × models × targets, each named once (singular or plural key)."""

    dataset: Names | None = None
    datasets: Names | None = None
    model: Names | None = None
    models: Names | None = None
    target: Names | None = None
    targets: Names | None = None
    n_instances: Count | None = None

    @model_validator(mode="after")
    def _each_once(self) -> "TaskTable":
        for singular in ("dataset", "model", "target"):
            if (getattr(self, singular) is None) == (getattr(self, singular + "s") is None):
                raise PydanticCustomError("given_once", "'{key}' must be given once (as '{key}' or '{key}s')",
                                          {"key": singular})
        return self

    def names(self, singular: str) -> list[str]:
        return getattr(self, singular) or getattr(self, singular + "s")


class SuiteFile(_Strict):
    """A suite file's top-level keys (they come before the first ``[[tasks]]`` table, as TOML requires)."""

    name: NonBlank | None = None
    version: Annotated[NonBlank, BeforeValidator(_int_as_text)]
    description: NonBlank
    seeds: Seeds
    n_instances: Count | None = None
    n_background: Count = DEFAULT_N_BACKGROUND
    model_seed: Seed = 0
    cell_timeout: Seconds | None = None
    methods: MethodEntries
    metrics: MetricEntries
    tasks: Annotated[list[TaskTable], Len(1)]

    @model_validator(mode="after")
    def _budgets_within_the_explained_set(self) -> "SuiteFile":
        if self.n_instances is None:
            return self
        for i, entry in enumerate(self.metrics):
            budget = getattr(entry, "n_instances", None)
            if budget is not None and budget > self.n_instances:
                raise PydanticCustomError(
                    "budget", "key 'metrics[{i}].n_instances' = {budget} exceeds n_instances = {n}: a metric scores "
                    "instances the cell explained, so raise n_instances to at least {budget} or lower the budget",
                    {"i": i, "budget": budget, "n": self.n_instances})
        return self


EXPECTED = {
    "name": "letters, digits, '.', '_' and '-', e.g. name = \"my_suite\"",
    "version": "a string or integer, e.g. version = \"1\"",
    "description": "a one-line string",
    "seeds": "a non-empty list of distinct integers in [0, 2**63 - 1], e.g. seeds = [0]",
    "n_instances": "an integer >= 1",
    "n_background": "an integer >= 1",
    "model_seed": "an integer in [0, 2**63 - 1]",
    "cell_timeout": "seconds, a number >= 0 (0: no limit)",
    "methods": "a non-empty list of method names or {name, params, label} tables",
    "metrics": "a non-empty list of metric names or {name, params, label} tables",
    "tasks": "one or more [[tasks]] tables with dataset, model and target",
    "entry": "a name or a table {name, params, label}",
    "entry.name": "the registered name (a non-empty string)",
    "entry.params": "a table, e.g. params = { n_steps = 32 }",
    "entry.label": "a non-empty string",
    "entry.seeds": "a non-empty list of distinct integers in [0, 2**63 - 1], e.g. seeds = [0, 1, 2]",
    "entry.n_instances": "an integer >= 1 (score the first n explained instances)",
    "entry.n_seeds": "an integer >= 1 (score the first n seeds of each method)",
    "task": "a name or a non-empty list of names",
}
TOP_KEYS = tuple(SuiteFile.model_fields)
TASK_KEYS = tuple(TaskTable.model_fields)
METHOD_KEYS = tuple(MethodTable.model_fields)
METRIC_KEYS = tuple(MetricTable.model_fields)
ENTRY_KEYS = tuple(dict.fromkeys(METHOD_KEYS + METRIC_KEYS))


def check_suite(data: Mapping[str, Any], *, source: str) -> SuiteFile:
    """``data`` (a parsed TOML document) checked against :class:`SuiteFile`; :class:`SuiteError` otherwise."""
    try:
        return SuiteFile.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")  # a misspelt key first
        problems = list(dict.fromkeys(_problem(e) for e in errors))
        if len(problems) == 1:
            raise SuiteError(f"{source}: {problems[0]}") from None
        raise SuiteError(f"{source}: {len(problems)} problems:\n  " + "\n  ".join(problems)) from None


def _problem(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    loc = _schema_loc(error["loc"][:-1]) + error["loc"][-1:] if kind == "extra_forbidden" else _schema_loc(error["loc"])
    key = key_path(loc)
    got = f", got {error['input']!r}" if "input" in error and kind != "missing" else ""
    if kind == "extra_forbidden":
        allowed = (TOP_KEYS if len(loc) == 1 else TASK_KEYS if loc[0] == "tasks"
                   else METHOD_KEYS if loc[0] == "methods" else METRIC_KEYS)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        if loc[0] == "tasks" and loc[-1] in TOP_KEYS:
            hint += " (top-level keys must come before the first [[tasks]] table)"
        return f"key '{key}' is not a suite key{hint}; expected one of {', '.join(allowed)}"
    expected = _expected(loc)
    if kind == "missing":
        return f"key '{key}' is required; expected {expected}"
    if kind == "budget":
        return str(error["msg"])
    if kind == "given_once":
        return f"key '{key}.{error['ctx']['key']}' {error['msg'].split(' ', 1)[1]}; expected {EXPECTED['task']}"
    detail = str(error.get("msg", "is not valid"))
    if kind in _DETAIL:
        detail = _DETAIL[kind]
    elif detail.startswith("Input should be "):
        detail = "must be " + detail[len("Input should be "):]
    elif detail.startswith("expected "):  # the entry discriminator's own message
        detail = "has the wrong type"
    return f"key '{key}' {detail}{got}; expected {expected}"


_DETAIL = {"too_short": "must not be empty", "string_pattern_mismatch": "must not be empty or blank",
           "dict_type": "must be a table", "list_type": "must be a list"}


def _schema_loc(loc: tuple) -> tuple:
    """The location in the file: union branches and tags that pydantic inserts are dropped."""
    out: list = []
    for part in loc:
        if part in ("<name>", "<table>"):
            continue
        if isinstance(part, int) or part in TOP_KEYS or part in TASK_KEYS or part in ENTRY_KEYS:
            out.append(part)
        else:
            break
    return tuple(out) or tuple(loc[:1])


def _expected(loc: tuple) -> str:
    head = loc[0] if loc else ""
    if head in ("methods", "metrics") and len(loc) >= 4 and loc[2] == "seeds":
        return "an integer in [0, 2**63 - 1]"
    if head in ("methods", "metrics") and len(loc) >= 2:
        return EXPECTED[f"entry.{loc[2]}"] if len(loc) >= 3 and f"entry.{loc[2]}" in EXPECTED else EXPECTED["entry"]
    if head == "tasks" and len(loc) >= 3 and loc[2] == "n_instances":
        return EXPECTED["n_instances"]
    if head == "tasks" and len(loc) >= 3:
        return EXPECTED["task"]
    if head == "seeds" and len(loc) >= 2:
        return "an integer in [0, 2**63 - 1]"
    return EXPECTED.get(str(head), "a valid value")


# -- settings given on the command line or through the API ----------------------------------------
class Settings(_Strict):
    """Run settings that override a suite's: each checked like the suite key of the same name."""

    seeds: Seeds | None = None
    n_instances: Count | None = None
    cell_timeout: Seconds | None = None


OPTION = {"seeds": "--seeds", "n_instances": "--n-instances", "cell_timeout": "--cell-timeout"}
EXAMPLE = {"seeds": "--seeds 0,1,2", "n_instances": "--n-instances 16", "cell_timeout": "--cell-timeout 600"}


def check_settings(**values: Any) -> Settings:
    """``seeds``, ``n_instances``, ``cell_timeout`` as given (``None``: not given), checked for type and range."""
    try:
        return Settings.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = _schema_loc(error["loc"])
            name = str(loc[0]) if loc else "seeds"
            expected = EXPECTED.get(name, "a valid value")
            example = EXAMPLE.get(name, "")
            lines.append(f"{OPTION.get(name, name)} {values.get(name)!r}: expected {expected}, e.g. {example}")
        raise InvalidParameterError("; ".join(dict.fromkeys(lines))) from None


# -- the plan a run folder's manifest records (for resuming) -----------------------------------------
class RecordedEntry(BaseModel):
    label: NonBlank
    name: NonBlank
    params: dict[str, Any] = {}
    seeds: Annotated[list[Seed], Len(1)] | None = None  # methods: this method's seeds (default: the plan's)
    n_instances: Count | None = None  # metrics: the budget (default: every explained instance)
    n_seeds: Count | None = None  # metrics: the first n seeds of each method (default: all)


class RecordedPlan(BaseModel):
    """``manifest.json``'s ``plan`` (written by :meth:`xaibench.suite.Plan.describe`)."""

    tasks: Annotated[list[Annotated[str, StringConstraints(pattern=r"^[^/]+/[^/]+/[^/]+$")]], Len(1)]
    methods: Annotated[list[RecordedEntry], Len(1)]
    metrics: Annotated[list[RecordedEntry], Len(1)]
    seeds: Annotated[list[Seed], Len(1)]
    n_instances: Count | None = None
    cell_timeout: Seconds | None = None
    task_n_instances: dict[str, Count] = {}


def check_recorded_plan(data: Any, *, source: str) -> RecordedPlan:
    try:
        return RecordedPlan.model_validate(data)
    except ValidationError as exc:
        from .params import describe_error  # noqa: PLC0415

        raise ResultsError(f"{source}: the recorded plan is damaged ({describe_error(exc.errors()[0])}); "
                           "start a new run in another --out folder") from None
