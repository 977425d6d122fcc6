"""Picklable jobs run in a confined worker by ``test_sandbox.py``; this file plays the submitted code."""

from __future__ import annotations

import ctypes
import os
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class WriteFile:
    path: str

    def __call__(self) -> str:
        try:
            with open(self.path, "w") as handle:
                handle.write("x")
        except PermissionError as exc:
            return f"refused: {exc}"
        return "written"


@dataclass(frozen=True)
class CWrite:
    """A write by compiled code (libc's ``open`` through ctypes): only Landlock can refuse it."""

    path: str

    def __call__(self) -> int:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.open(self.path.encode(), os.O_WRONLY | os.O_CREAT, 0o644)
        if fd >= 0:
            os.close(fd)
        return fd


@dataclass(frozen=True)
class Spawn:
    def __call__(self) -> str:
        try:
            subprocess.run(["true"], check=True)
        except PermissionError as exc:
            return f"refused: {exc}"
        return "spawned"


@dataclass(frozen=True)
class Allocate:
    gib: int

    def __call__(self) -> str:
        import torch

        try:
            torch.ones(self.gib << 28)  # float32: 1 GiB per 2**28 values
        except (MemoryError, RuntimeError) as exc:
            return f"failed: {type(exc).__name__}"
        return "allocated"


@dataclass(frozen=True)
class Where:
    def __call__(self) -> dict:
        import tempfile

        from xaibench.submission.sandbox import state, violations

        return {"cwd": os.getcwd(), "home": os.environ["HOME"], "tmp": tempfile.gettempdir(), "state": state(),
                "violations": violations()}
