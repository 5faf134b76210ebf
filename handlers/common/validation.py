"""Checks of caller input shared by the routes; each failure is a 400 :class:`HttpError`."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from common.http import HttpError, bad_request
from sfn_patterns.contracts.common import EXECUTION_NAME_PATTERN as NAME_PATTERN
from sfn_patterns.contracts.common import EXECUTION_NAME_RULE
from sfn_patterns.contracts.common import valid_execution_name as valid_name


def require_name(value: Any, field: str) -> str:
    """``value`` when it is a valid execution name; otherwise a 400 naming ``field``."""
    if value is None:
        raise bad_request("MissingField", f"{field!r} is required")
    if not valid_name(value):
        raise bad_request(
            "InvalidName", f"{field!r} must be {EXECUTION_NAME_RULE} (got {str(value)[:100]!r})"
        )
    return value


def optional_object(body: Mapping[str, Any], field: str) -> dict[str, Any]:
    """``body[field]`` when it is a JSON object (``{}`` when absent).

    Its size is checked where it counts: on the final documents AWS receives (``common.documents``).
    """
    value = body.get(field, {})
    if not isinstance(value, dict):
        raise bad_request("InvalidInput", f"{field!r} must be a JSON object")
    return value


def optional_string(body: Mapping[str, Any], field: str, max_length: int = 256) -> Optional[str]:
    """``body[field]`` when it is a string of at most ``max_length`` characters, or None when absent."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise bad_request("InvalidField", f"{field!r} must be a string of at most {max_length} characters")
    return value


def one_of(body: Mapping[str, Any], field: str, allowed: tuple[str, ...]) -> str:
    """``body[field]`` when it is one of ``allowed``; otherwise a 400."""
    value = body.get(field)
    if value not in allowed:
        raise bad_request("InvalidField", f"{field!r} must be one of {', '.join(allowed)}")
    return value


__all__ = ["HttpError", "NAME_PATTERN", "one_of", "optional_object",
           "optional_string", "require_name", "valid_name"]
