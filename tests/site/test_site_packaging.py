"""The wheel carries the site's templates (an editable install would hide their absence)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_templates_are_in_the_wheel(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("xaibench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {f"xaibench/site/templates/{p.name}" for p in (ROOT / "bench" / "site" / "templates").glob("*.j2")}
    assert len(templates) == 4 and templates <= names
    assert {"xaibench/site/build.py", "xaibench/submission/verify.py", "xaibench/attributions.py"} <= names
