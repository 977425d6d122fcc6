"""A third-party method named ``FILE.py:Class``: its source, and its class loaded from the file.

The file is imported as a module of its own, ``_xaibench_submission_<stem>``, from its path
(``importlib.util.spec_from_file_location``); its folder is never put on ``sys.path``, so a
submission named ``random.py`` or ``lime.py`` cannot shadow a real module. A worker process
imports it the same way (:class:`xaibench.submission.sandbox.Confinement` preloads it), so the
class pickles by reference between the two. The class is registered as a method (through
:func:`xaibench.method.register_method`) unless the file already did so.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import SubmissionError

MODULE_PREFIX = "_xaibench_submission_"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class MethodSource:
    """Where a submitted method lives: the file (absolute), the class name, and the module name it imports as."""

    path: str
    class_name: str
    module_name: str

    @property
    def text(self) -> str:
        return Path(self.path).read_text(encoding="utf-8")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(Path(self.path).read_bytes()).hexdigest()

    @property
    def spec(self) -> str:
        return f"{self.path}:{self.class_name}"


def parse_spec(spec: str) -> MethodSource:
    """``"path/to/my_method.py:MyMethod"`` → :class:`MethodSource`, the file checked to exist.

    Raises:
        SubmissionError: not ``FILE.py:Class``, no such file, or not a valid class name.
    """
    file_part, sep, class_name = spec.rpartition(":")
    if not sep or not file_part or not class_name:
        raise SubmissionError(f"{spec!r}: expected FILE.py:Class, e.g. my_method.py:MyMethod")
    if not _IDENTIFIER.fullmatch(class_name):
        raise SubmissionError(f"{spec!r}: {class_name!r} is not a Python class name")
    path = Path(file_part).expanduser()
    if path.suffix != ".py":
        raise SubmissionError(f"{spec!r}: {file_part} is not a Python file (.py)")
    if not path.is_file():
        raise SubmissionError(f"{spec!r}: the file {file_part} does not exist (looked in {Path.cwd()})")
    try:
        path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"{spec!r}: the file {file_part} cannot be read as UTF-8 text ({exc})") from None
    stem = re.sub(r"\W", "_", path.stem)
    return MethodSource(str(path.resolve()), class_name, MODULE_PREFIX + stem)


def import_module(source: MethodSource) -> ModuleType:
    """The submitted file as a module (imported once per process, from its path)."""
    module = sys.modules.get(source.module_name)
    if module is not None and getattr(module, "__file__", None) == source.path:
        return module
    spec = importlib.util.spec_from_file_location(source.module_name, source.path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[source.module_name] = module  # dataclasses resolve annotations through sys.modules
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(source.module_name, None)
        raise
    return module


def load_class(source: MethodSource, *, register: bool = True) -> type:
    """The submitted class, checked to be a method class and registered (see the module docstring).

    Raises:
        SubmissionError: the file defines no such class, or it is not a registrable method.
        Any exception the file raises when imported.
    """
    from ..errors import DuplicateNameError  # noqa: PLC0415
    from ..method import Method, register_method  # noqa: PLC0415
    from ..registries import methods  # noqa: PLC0415

    methods.names()  # built-ins first: a submission can never take a built-in method's name
    try:
        module = import_module(source)
    except DuplicateNameError as exc:
        raise SubmissionError(f"{Path(source.path).name}: {exc}; give the submitted class another name "
                              "(name: ClassVar[str] = \"...\")") from None
    cls = getattr(module, source.class_name, None)
    if not isinstance(cls, type):
        found = [n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, Method) and v is not Method
                 and v.__module__ == module.__name__]
        hint = f" It defines: {', '.join(found)}." if found else " It defines no subclass of xaibench.Method."
        raise SubmissionError(f"{Path(source.path).name} has no class {source.class_name}.{hint}")
    problems = class_problems(cls)
    if problems:
        raise SubmissionError(f"{source.class_name} cannot be registered as a method: {'; '.join(problems)}")
    if register and cls.name in methods and methods.get(cls.name) is not cls:
        raise SubmissionError(f"the method name {cls.name!r} is already taken by {methods.get(cls.name).__module__}; "
                              f"give {source.class_name} another name (name: ClassVar[str] = \"...\")")
    if register and cls.name not in methods:
        register_method(cls)
    return cls


def class_problems(cls: type) -> list[str]:
    """What keeps ``cls`` from being a registrable method, each with its fix; ``[]`` when nothing."""
    from ..method import FAMILIES, Method  # noqa: PLC0415

    if not issubclass(cls, Method):
        return ["it must subclass xaibench.Method (class MyMethod(xaibench.Method): ...)"]
    problems = []
    own = vars(cls).get("__dataclass_params__")  # inherited dataclass-ness hides new fields from params
    if own is None or not own.frozen:
        problems.append("it must be a frozen dataclass: put @dataclasses.dataclass(frozen=True) above the class")
    if not isinstance(getattr(cls, "name", None), str) or not re.fullmatch(r"[a-z][a-z0-9_]*", cls.name or ""):
        problems.append('it needs name: ClassVar[str] = "my_method" (lower case letters, digits and _)')
    if getattr(cls, "family", None) not in FAMILIES:
        problems.append(f"family must be one of {', '.join(FAMILIES)} (family: ClassVar[str] = \"perturbation\")")
    if getattr(cls, "explain", None) is getattr(Method, "explain", None):
        problems.append("it must define explain(self, task, x, *, seed=0)")
    return problems


def describe(cls: type) -> dict[str, Any]:
    """What a bundle records about the method class (its parameters are its defaults)."""
    method = cls()
    return {"name": cls.name, "class": cls.__qualname__, "family": cls.family,
            "stochastic": bool(getattr(cls, "stochastic", False)), "description": getattr(cls, "description", ""),
            "params": method.params}
