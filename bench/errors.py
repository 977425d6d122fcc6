"""Typed errors. Every message says what went wrong *and* what to do about it."""

from __future__ import annotations


class XaiBenchError(Exception):
    """Base class of every error xaibench raises on purpose."""


class UnknownNameError(XaiBenchError, KeyError):
    """A registry lookup for a name that is not registered."""

    def __init__(self, kind: str, name: str, suggestions: list[str], known: list[str]):
        self.kind, self.name, self.suggestions, self.known = kind, name, suggestions, known
        hint = f" Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(
            f"unknown {kind} {name!r}.{hint} Known {kind}s: {', '.join(known) or '(none)'}. "
            f"Run `xaibench list {kind}s` to see them with descriptions."
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
