from __future__ import annotations

import pytest

from submission import helpers


@pytest.fixture
def results(tmp_path, tmp_path_factory):
    """A private copy of the published tiny-suite results (see :mod:`submission.helpers`)."""
    return helpers.fresh_results(tmp_path, tmp_path_factory)


@pytest.fixture
def good_bundle(tmp_path, tmp_path_factory):
    """A private copy of the good method's complete bundle, and the published results it was made against."""
    import shutil

    bundle, _ = helpers.good_bundle(tmp_path_factory)
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    return copy
