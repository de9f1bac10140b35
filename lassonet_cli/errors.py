"""Typed errors raised by the core; only ``cli`` turns them into messages and exit codes.

An error about an option's value names the option as its caller spells it: ``val_fraction`` in
the Python API, ``--val-fraction`` on the command line.  Such an error is raised with a message
builder, a function of a ``Spelling``; ``str(error)`` is the Python API's message and
``error.spelled(CLI)`` the command line's:

    raise ConfigError(lambda s: f"{s('val_fraction')} must be between 0 and 1, got {v}")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Spelling:
    """How a message names an option: as a parameter (``cli`` False) or as a flag."""

    cli: bool

    def __call__(self, name: str, value: str | None = None) -> str:
        """``name`` (a parameter name, e.g. 'val_fraction'), optionally given ``value``:
        'val_fraction', 'val_fraction=0.2' or '--val-fraction', '--val-fraction 0.2'."""
        if not self.cli:
            return name if value is None else f"{name}={value}"
        flag = "--" + name.replace("_", "-")
        return flag if value is None else f"{flag} {value}"


PYTHON = Spelling(cli=False)
CLI = Spelling(cli=True)

Message = str | Callable[[Spelling], str]


class LassoNetError(Exception):
    """Base class of the errors a user can cause and fix."""

    def __init__(self, message: Message):
        self._build = message if callable(message) else None
        super().__init__(message(PYTHON) if callable(message) else message)

    def spelled(self, spelling: Spelling) -> str:
        """The message with the options named as ``spelling`` names them."""
        return self._build(spelling) if self._build is not None else str(self)


# DataError and ConfigError are ValueErrors: a bad value given to the Python API, as
# scikit-learn's conventions (and its estimator checks) expect.
class DataError(LassoNetError, ValueError):
    """The input table or the options that select from it are wrong."""


class ConfigError(LassoNetError, ValueError):
    """An option value is invalid (bad backbone spec, negative M, ...)."""


class ModelFileError(LassoNetError):
    """A model file is missing, corrupt, foreign or from an incompatible version."""


class TrainingError(LassoNetError):
    """Training diverged (non-finite loss or weights); a smaller step size usually helps."""


def warn(message: str, kind: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` pointing at the first caller outside this package (the user's
    ``fit``), however deep in it the warning is raised and through whichever class
    (the scikit-learn selector adds a level)."""
    import os
    import sys
    import warnings

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 2  # (level 1: this function)
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, kind, stacklevel=level)
