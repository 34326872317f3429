"""User-facing errors: each carries a sentence a person understands and what to do about it.

The CLI prints them without a traceback and the UI shows them in a dialog; logs keep the traceback.
"""


class GenStudioError(Exception):
    """Base of every error meant for the user; ``str(err)`` is the whole message."""


class DatasetError(GenStudioError):
    """A training folder is missing, empty, or holds nothing usable."""


class ModelFileError(GenStudioError):
    """A model folder or archive is malformed, tampered with, or not a GenStudio model."""


class ModelNotFound(GenStudioError):
    """No model of that name is in the library."""


class ConfigError(GenStudioError):
    """A preset or config has unknown keys or bad values."""


class CheckpointError(GenStudioError):
    """A training checkpoint is missing or cannot be used to resume."""
