"""Prices a validated order: the total in cents."""

from typing import Any


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The order with its ``totalCents``."""
    total = sum(item["quantity"] * item["unitCents"] for item in event["items"])
    return {"items": event["items"], "totalCents": total}
