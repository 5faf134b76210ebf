"""Before the wait: turns the request into what the approver is shown."""

from typing import Any


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """``{"request": <the task input>, "question": "..."}``."""
    amount = event.get("amountCents") if isinstance(event, dict) else None
    return {"request": event, "question": f"Approve a spend of {amount} cents?"}
