"""Chain step 1 (seed 001): reverse the ``payload`` string."""

from __future__ import annotations

from typing import Any


class InvalidPayload(Exception):
    """The event has no string ``payload``; the execution fails with this error name."""


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """``{"payload": "hi mom"}`` -> ``{"payload": "mom ih"}``."""
    payload = event.get("payload") if isinstance(event, dict) else None
    if not isinstance(payload, str):
        raise InvalidPayload("'payload' must be a string")
    return {"payload": payload[::-1]}
