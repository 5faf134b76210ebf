"""Environment variables, read at call time (never at import) so one module can serve many functions."""

from __future__ import annotations

import os


class ConfigurationError(RuntimeError):
    """A required environment variable is missing: the function is deployed wrong."""


def require(name: str) -> str:
    """The value of environment variable ``name``; raises :class:`ConfigurationError` when unset."""
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def get_int(name: str, default: int) -> int:
    """An integer environment variable, or ``default`` when unset."""
    value = os.environ.get(name)
    return int(value) if value else default
