"""One generic registry for methods, metrics, models and datasets.

Built-in entries live in the sibling packages (``xaibench.methods`` ...); the registry imports
them lazily on the first lookup, so ``import xaibench`` stays fast and the core never imports
its plugins at import time (no cycle: plugins import the core, not the reverse). Third-party
packages add entries through the entry-point group ``xaibench.<kind>s``, whose targets are
modules (or objects) that register themselves on import, exactly like the built-ins.

Besides fixed names, a registry can **resolve** names of a pattern on demand
(:meth:`Registry.add_resolver`): the models registry resolves ``hf:<hub name or path>``
(Hugging Face causal LMs) and ``<file.py>:<factory>`` (a user's own model). A resolved entry is
built once per name and cached, so the same name always gives the same entry.
"""

from __future__ import annotations

import difflib
import importlib
import logging
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from .errors import DuplicateNameError, UnknownNameError

T = TypeVar("T")
log = logging.getLogger(__name__)


class Registry(Generic[T]):
    """Name → entry map with decorator registration and "did you mean" lookups.

    Args:
        kind: singular noun used in messages (``"method"``).
        builtin_modules: modules imported on first lookup; they register the built-in entries.
        entry_point_group: entry-point group scanned for third-party plugins.
    """

    def __init__(self, kind: str, builtin_modules: tuple[str, ...] = (), entry_point_group: str | None = None):
        self.kind = kind
        self._builtin_modules = builtin_modules
        self._group = entry_point_group
        self._entries: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._resolvers: list[tuple[Callable[[str], bool], Callable[[str], T]]] = []
        self._resolved: dict[str, T] = {}
        self._runtime: set[str] = set()
        self._loaded = False
        self._loading = False

    # -- registration -------------------------------------------------------------------
    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator: ``@registry.register()`` uses the entry's ``name`` attribute."""

        def decorate(entry: T) -> T:
            self.add(name or getattr(entry, "name"), entry)
            return entry

        return decorate

    def add(self, name: str, entry: T) -> None:
        if not isinstance(name, str) or not name:
            raise DuplicateNameError(f"{self.kind} entries need a non-empty string name, got {name!r}")
        origin = f"{getattr(entry, '__module__', '?')}.{getattr(entry, '__qualname__', type(entry).__name__)}"
        if name in self._entries and self._origins[name] != origin:
            raise DuplicateNameError(
                f"{self.kind} {name!r} is registered twice: by {self._origins[name]} and by {origin}. "
                f"Rename one of them."
            )
        self._entries[name] = entry
        self._origins[name] = origin
        module = getattr(entry, "__module__", "") or ""
        if not self._loading and not any(module == m or module.startswith(m + ".") for m in self._builtin_modules):
            self._runtime.add(name)

    def remove(self, name: str) -> None:
        """Unregister ``name`` (test fixtures that register temporary plugins clean up with this)."""
        self._entries.pop(name, None)
        self._origins.pop(name, None)
        self._runtime.discard(name)

    def runtime_entries(self) -> list[tuple[str, T]]:
        """Entries registered by running code rather than by the built-in modules or entry points
        (a worker process finds those itself; these it must be sent)."""
        return [(name, self._entries[name]) for name in sorted(self._runtime) if name in self._entries]

    def add_resolver(self, matches: Callable[[str], bool], resolve: Callable[[str], T]) -> None:
        """Resolve unregistered names for which ``matches(name)`` holds with ``resolve(name)``
        (called once per name; its errors propagate, so they should say what to fix)."""
        self._resolvers.append((matches, resolve))

    # -- lookup ---------------------------------------------------------------------------
    def get(self, name: str) -> T:
        self._load()
        if name in self._entries:
            return self._entries[name]
        if name in self._resolved:
            return self._resolved[name]
        for matches, resolve in self._resolvers:
            if matches(name):
                self._resolved[name] = resolve(name)
                return self._resolved[name]
        raise UnknownNameError(self.kind, name, self.suggest(name), self.names())

    def suggest(self, name: str) -> list[str]:
        """Likely intended names: abbreviations by word prefixes first, then close spellings."""
        names = self.names()
        query = name.lower().replace("-", "_")
        hits = [c for c in names if _abbreviates(query.replace("_", ""), c.split("_"))]
        hits += [c for c in difflib.get_close_matches(query, names, n=3, cutoff=0.6) if c not in hits]
        return hits[:3]

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        self._load()
        return iter(sorted(self._entries.items()))

    def __contains__(self, name: object) -> bool:
        """Registered names, and names a resolver accepts (resolving them may still fail)."""
        self._load()
        return name in self._entries or (isinstance(name, str) and any(m(name) for m, _ in self._resolvers))

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

    # -- discovery --------------------------------------------------------------------------
    def _load(self) -> None:
        if self._loaded or self._loading:
            return
        self._loading = True
        try:
            for module in self._builtin_modules:
                importlib.import_module(module)
            if self._group:
                for ep in entry_points(group=self._group):
                    try:
                        ep.load()
                    except Exception as exc:  # a broken plugin must not break the benchmark
                        log.warning("could not load %s plugin %r: %s", self.kind, ep.name, exc)
            self._loaded = True
        finally:
            self._loading = False


def _abbreviates(query: str, words: list[str]) -> bool:
    """True when ``query`` is a concatenation of prefixes of consecutive ``words`` from the first
    (``"intgrad"`` abbreviates ``integrated_gradients``; it does not abbreviate ``input_x_gradient``)."""
    if not query:
        return True
    if not words:
        return False
    word = words[0]
    return any(
        query[:k] == word[:k] and _abbreviates(query[k:], words[1:])
        for k in range(min(len(query), len(word)), 0, -1)
    )
