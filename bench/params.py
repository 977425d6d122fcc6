"""Validation of method and metric parameters: one mechanism for every registered dataclass.

A method or metric is a frozen dataclass, so its fields' type annotations are its parameter
schema. :func:`validate_params` checks the parameters a user gives (suite file, command line,
``get_method(name, **params)``) against them with pydantic in strict mode — ``abs = "no"`` is not
a bool, ``nr_runs = 2.5`` is not an int, ``"1"`` is not a number; an int is accepted where a float
is expected and becomes a float — and against range constraints declared on the field itself
with ``typing.Annotated`` and annotated_types (which pydantic enforces)::

    n_steps: Annotated[int, Ge(1)] = 50
    subset_fraction: Annotated[float, Gt(0), Le(1)] = 0.25
    baseline: Annotated[str, OneOf(STRATEGIES)] = "task"

Floats must be finite (TOML's ``inf`` and ``nan`` are refused). Unknown parameter names are
refused with the valid ones listed. Checks that tie several fields together stay in the class's
``__post_init__``.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from annotated_types import Ge, Gt, Le, Lt

from .errors import InvalidParameterError

__all__ = ["Ge", "Gt", "Le", "Lt", "OneOf", "validate_params"]

_STRICT = {"strict": True, "extra": "forbid", "arbitrary_types_allowed": True, "allow_inf_nan": False}


class OneOf:
    """``Annotated[str, OneOf(CHOICES)]``: the value must be one of ``choices`` (checked with the field's type)."""

    def __init__(self, choices: tuple[Any, ...] | list[Any]):
        self.choices = tuple(choices)

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema  # noqa: PLC0415

        return core_schema.literal_schema(list(self.choices))

    def __repr__(self) -> str:
        return f"OneOf({self.choices!r})"


def validate_params(cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` checked against the fields of the dataclass ``cls``, as the values to construct it with.

    Raises:
        InvalidParameterError: an unknown name, a value of the wrong type or out of range; the
            message names the class, the parameter, what is expected and what was given.
    """
    from pydantic import ValidationError  # noqa: PLC0415 - pydantic only where parameters are checked

    who = getattr(cls, "name", cls.__name__)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        valid = ", ".join(f"{n}={_default(f)!r}" for n, f in fields.items()) or "(none)"
        raise InvalidParameterError(f"{who} has no parameter {', '.join(unknown)}; valid parameters: {valid}")
    try:
        return dict(_adapter(cls).validate_python(dict(params)))
    except ValidationError as exc:
        problems = "; ".join(describe_error(e) for e in exc.errors())
        raise InvalidParameterError(f"{who}: {problems}") from None


def describe_error(error: Mapping[str, Any], *, key: str | None = None) -> str:
    """One pydantic error as ``n_steps must be greater than or equal to 1, got 0``."""
    where = key if key is not None else key_path(error.get("loc", ())) or "value"
    kind, message = error.get("type"), str(error.get("msg", "is invalid"))
    if kind == "missing":
        return f"{where} is required"
    if kind == "literal_error":
        expected = f"one of {error.get('ctx', {}).get('expected', '')}"
    elif message.startswith("Input should be "):
        expected = message[len("Input should be "):]
    else:
        return f"{where}: {message[:1].lower()}{message[1:]}, got {error.get('input')!r}"
    return f"{where} must be {expected}, got {error.get('input')!r}"


def key_path(loc: tuple | list) -> str:
    """``("methods", 0, "params")`` → ``methods[0].params``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return field.default_factory()  # type: ignore[misc]
    return "(required)"


@lru_cache(maxsize=None)
def _adapter(cls: type):
    """A strict pydantic ``TypeAdapter`` of a TypedDict with the dataclass's init fields (all optional)."""
    from pydantic import ConfigDict, TypeAdapter  # noqa: PLC0415
    from typing_extensions import TypedDict  # noqa: PLC0415 - pydantic needs it on Python < 3.12

    hints = _field_types(cls)
    schema = TypedDict(f"{cls.__name__}Params", hints, total=False)  # type: ignore[operator]
    schema.__pydantic_config__ = ConfigDict(**_STRICT)  # type: ignore[attr-defined]
    return TypeAdapter(schema)


def _field_types(cls: type) -> dict[str, Any]:
    """Resolved annotations (``Annotated`` metadata kept) of the init fields; ``Any`` where one cannot be resolved."""
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except (NameError, TypeError):  # some annotation names what is imported only for type checkers
        hints = {}
    return {f.name: hints[f.name] if f.name in hints else _resolve(cls, f) for f in dataclasses.fields(cls) if f.init}


def _resolve(cls: type, field: dataclasses.Field) -> Any:
    """One field's annotation, evaluated in the module of the class that declares it."""
    if not isinstance(field.type, str):
        return field.type
    owner = next((c for c in cls.__mro__ if field.name in vars(c).get("__annotations__", {})), cls)
    try:
        return eval(field.type, vars(sys.modules[owner.__module__]))  # noqa: S307 - the class's own annotation
    except Exception:  # noqa: BLE001 - unresolvable: accept any value of that field
        return Any
