from __future__ import annotations

import pytest

from . import toys


@pytest.fixture(scope="module")
def registered_toys():
    """The toy plugins, registered through the public decorators for this module's tests only."""
    toys.register_all()
    yield toys
    toys.unregister_all()


@pytest.fixture
def toy_suite_file(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text(toys.TOY_SUITE, encoding="utf-8")
    return path
