"""Test-suite set-up: offline data, a fresh weight cache, and CPU thread limits.

* ``XAIBENCH_DATA_DIR`` points at the byte-identical offline copies in ``../shared/datasets``
  when that folder exists (CI and developer machines), so downloads are never attempted.
* ``XAIBENCH_CACHE_DIR`` is a fresh temporary folder: tests see shipped weights only, never a
  developer's cache, so a model that is not shipped shows up as slow training, not a silent pass.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "datasets"

if "XAIBENCH_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["XAIBENCH_DATA_DIR"] = str(SHARED_DATA)
os.environ.setdefault("XAIBENCH_CACHE_DIR", tempfile.mkdtemp(prefix="xaibench-test-cache-"))
