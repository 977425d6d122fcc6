"""Peak memory of a block of code, in MiB, on the device it runs on.

* CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, minus what was
  allocated when the block started: the peak of tensor memory the block added (allocator caching
  and the CUDA context are not counted, so methods compare on what they allocate).
* CPU: the peak increase of the process's resident set size (RSS) over its value at the start,
  sampled every :data:`SAMPLE_SECONDS` by a background thread (plus one sample at each end).
  This is an estimate and a lower bound: spikes shorter than the sampling interval can be missed,
  memory the allocator had already reserved is reused without showing up, and freed memory
  that the C allocator keeps is not returned. RSS is read from ``/proc/self/statm`` (Linux); where
  that file is missing the measurement is ``None`` rather than a wrong number.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import torch

SAMPLE_SECONDS = 0.002
_MIB = 1024.0 * 1024.0
_STATM = "/proc/self/statm"


def rss_bytes() -> int | None:
    """Resident set size of this process, or ``None`` where it cannot be read."""
    try:
        with open(_STATM, "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class PeakMemory:
    """Context manager: ``with PeakMemory(device) as peak: ...``; then ``peak.mib``."""

    device: torch.device
    mib: float | None = None

    def __post_init__(self) -> None:
        self.device = torch.device(self.device)

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
        else:
            self._start = rss_bytes()
            self._peak = self._start
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, name="xaibench-rss", daemon=True)
            if self._start is not None:
                self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._observe()

    def _observe(self) -> None:
        now = rss_bytes()
        if now is not None and self._peak is not None and now > self._peak:
            self._peak = now

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.mib = max(0, torch.cuda.max_memory_allocated(self.device) - self._start) / _MIB
            return
        if self._start is None:
            return
        self._stop.set()
        self._thread.join()
        self._observe()
        self.mib = max(0, self._peak - self._start) / _MIB
