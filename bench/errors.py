"""Typed errors. Every message says what went wrong *and* what to do about it."""

from __future__ import annotations


class XaiBenchError(Exception):
    """Base class of every error xaibench raises on purpose."""


class UnknownNameError(XaiBenchError, KeyError):
    """A registry lookup for a name that is not registered."""

    def __init__(self, kind: str, name: str, suggestions: list[str], known: list[str], *, listing: str | None = None):
        """``listing``: what ``xaibench list`` shows these names (default: ``kind`` + "s"; targets are
        listed with their models)."""
        self.kind, self.name, self.suggestions, self.known = kind, name, suggestions, known
        hint = f" Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        listing = listing or ("models" if kind.startswith("target") else f"{kind}s")
        super().__init__(
            f"unknown {kind} {name!r}.{hint} Known {kind}s: {', '.join(known) or '(none)'}. "
            f"Run `xaibench list {listing}` to see them with descriptions."
        )

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class DuplicateNameError(XaiBenchError):
    """Two registry entries claim the same name."""


class InvalidParameterError(XaiBenchError, TypeError):
    """A method or metric was given a parameter it does not have, or a bad value."""


class ShapeError(XaiBenchError, ValueError):
    """A tensor does not have the shape the caller promised."""


class InvalidInputError(XaiBenchError, TypeError, ValueError):
    """Inputs that break the Task contract: not floating point, non-finite, or bad feature-group ids."""


class InvalidAttributionError(XaiBenchError, ValueError):
    """Attributions that cannot be scored: wrong shape, NaN or infinite values."""


class DeviceError(XaiBenchError, ValueError):
    """The requested device does not exist here (``--device cuda`` without a CUDA GPU)."""


class NotApplicableError(XaiBenchError):
    """A method or metric cannot run on this task (the reason says why); the runner skips it."""


class SuiteError(XaiBenchError, ValueError):
    """A malformed suite file: the message names the file, the key and what is expected."""


class DatasetError(XaiBenchError):
    """A dataset could not be loaded: missing file, failed download, checksum mismatch."""


class ChecksumError(DatasetError):
    """A downloaded or cached file does not have the SHA-256 it must have."""


class ModelError(XaiBenchError):
    """A model or its weights could not be built, trained or loaded."""


class ResultsError(XaiBenchError):
    """A run folder or result bundle is malformed or inconsistent."""


class SubmissionError(XaiBenchError):
    """A third-party method that cannot be loaded, validated or submitted (``FILE.py:Class``)."""


class BundleError(ResultsError):
    """A result bundle that publish refuses: tampered, partial, non-canonical or unsafe."""


class RecordsError(ResultsError):
    """A ``records.jsonl`` line that is not a record: the message names the file and the line."""


class RunFolderBusyError(ResultsError):
    """Another process holds the run folder's lock (it is running or resuming that run)."""


class SuiteMismatchError(ResultsError):
    """``--resume`` with a suite whose name, version or content differs from the one the run started with."""


class DiskFullError(ResultsError):
    """The disk (or quota) of the run folder or output file is full; nothing partial was left behind."""


class CellTimeoutError(XaiBenchError):
    """A cell ran past its time limit (``--cell-timeout``); its worker process was stopped."""


class WorkerCrashedError(XaiBenchError):
    """The worker process running a cell died (a crash, ``os._exit``, out of memory)."""


class BackendUnavailableError(XaiBenchError):
    """A backend that cannot run here: its package is not installed, or its cluster cannot be reached."""


class IsolationError(XaiBenchError):
    """A cell or plugin that cannot be sent to a worker process (not picklable, or not importable there)."""


class WorkerCallError(XaiBenchError):
    """A function run in a worker process (``WorkerProcess.call``) raised; the message holds its traceback."""


class MutationError(XaiBenchError):
    """A method or metric modified the tensors it was given (inputs, background, attributions) in place."""


class MetricValueError(XaiBenchError, ValueError):
    """A metric returned no finite value at all (every instance NaN or infinite)."""
