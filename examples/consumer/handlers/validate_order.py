"""Checks an order: a non-empty list of items, each with a sku, a positive quantity and a unit price in cents."""

from typing import Any


class InvalidOrder(Exception):
    """The order cannot be priced; the execution fails with this error."""


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Return the order's items, or raise :class:`InvalidOrder`."""
    items = event.get("items") if isinstance(event, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidOrder("an order needs a non-empty list of items")
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("sku"), str)
                and isinstance(item.get("quantity"), int) and item["quantity"] > 0
                and isinstance(item.get("unitCents"), int) and item["unitCents"] >= 0):
            raise InvalidOrder(f"bad item {item!r}: give sku, a positive quantity and unitCents")
    return {"items": items}
