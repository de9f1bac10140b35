"""Typed errors raised by the core; only ``cli`` turns them into messages and exit codes."""


class LassoNetError(Exception):
    """Base class of the errors a user can cause and fix."""


class DataError(LassoNetError):
    """The input table or the options that select from it are wrong."""


class ConfigError(LassoNetError):
    """An option value is invalid (bad backbone spec, negative M, ...)."""


class ModelFileError(LassoNetError):
    """A model file is missing, corrupt, foreign or from an incompatible version."""


class TrainingError(LassoNetError):
    """Training diverged (non-finite loss or weights); a smaller step size usually helps."""
