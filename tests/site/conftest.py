from __future__ import annotations

import pytest
from submission import helpers


@pytest.fixture(scope="session")
def published(tmp_path_factory):
    """``(results, site)``: the tiny suite's built-in results plus one published submission, and its site."""
    return helpers.published_site(tmp_path_factory)
