"""Built-in datasets. Importing this package registers every module in it (files not starting with _).

Each module registers its entries with the decorators of the core (``xaibench.register_*``);
third-party packages do the same from an entry point in the group ``xaibench.datasets``.
"""

from __future__ import annotations

import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
