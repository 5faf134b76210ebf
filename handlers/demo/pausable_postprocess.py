"""PausableWorkflow's demo post-processing step (replace it with your own handler module).

Event: the state after the pause, ``{"input", "manual", "preprocessed", "result"}`` where
``result`` is the resume's output. Returns the execution's output: the result and the trail of steps.
"""

from __future__ import annotations

from typing import Any


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Wrap the long job's result and finish the trail of steps."""
    result = event.get("result") if isinstance(event, dict) else None
    steps = result.get("steps") if isinstance(result, dict) else None
    trail = [step for step in steps if isinstance(step, str)] if isinstance(steps, list) else []
    return {"result": result, "steps": trail + ["postprocess"]}
