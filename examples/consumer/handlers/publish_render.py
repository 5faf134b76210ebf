"""After the resume: the job's output, with how long the rendering's text is."""

from typing import Any


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """``{"rendered": ..., "characters": n}`` from the resume's output at ``result``."""
    rendered = str((event.get("result") or {}).get("rendered", ""))
    return {"rendered": rendered, "characters": len(rendered)}
