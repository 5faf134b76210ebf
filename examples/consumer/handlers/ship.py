"""The shipping work: books a parcel for the order (here: computes its label)."""

from typing import Any


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Gets ``{"workflowkey", "input"}``; returns the parcel's label."""
    order = event.get("input") if isinstance(event.get("input"), dict) else {}
    return {"label": f"{event['workflowkey']}/{order.get('destination', 'unknown')}", "shipped": True}
