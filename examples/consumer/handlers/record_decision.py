"""After the callback: the approver's answer becomes the execution's output."""

from typing import Any


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """``{"approved": bool, "by": str}`` from the callback's output."""
    answer = event if isinstance(event, dict) else {}
    return {"approved": answer.get("approved") is True, "by": str(answer.get("by", "unknown"))}
