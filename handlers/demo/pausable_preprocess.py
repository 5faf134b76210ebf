"""PausableWorkflow's demo preprocessing step (replace it with your own handler module).

Event: the execution input, ``{"input": {...}, "manual": ...}``. Returns what the long job gets as
its input (stored at ``$.preprocessed``): the job's data and the trail of steps so far.
"""

from __future__ import annotations

from typing import Any


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Pick the job's data out of the execution input and start its trail of steps."""
    data = event.get("input", {}) if isinstance(event, dict) else {}
    return {"data": data, "steps": ["preprocess"]}
