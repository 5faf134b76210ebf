"""Chain step 2 (seed 001): upper-case the ``payload`` and wrap it in the seed's HTTP-style envelope."""

from __future__ import annotations

from typing import Any

HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "content-type": "application/json",
}


class InvalidPayload(Exception):
    """The event has no string ``payload``; the execution fails with this error name."""


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """``{"payload": "mom ih"}`` -> ``{"statusCode": 200, "headers": {...}, "body": {"payload": "MOM IH"}}``."""
    payload = event.get("payload") if isinstance(event, dict) else None
    if not isinstance(payload, str):
        raise InvalidPayload("'payload' must be a string")
    return {"statusCode": 200, "headers": HEADERS, "body": {"payload": payload.upper()}}
