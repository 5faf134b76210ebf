"""The one timeout rule of every component's wait and timeout args (standard library only).

Apart from :mod:`sfn_patterns.contracts.common` because only the components check it, when they
render their ASL: no Lambda archive carries it.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["MAX_TIMEOUT_SECONDS", "check_timeouts"]

#: Step Functions' largest ``TimeoutSeconds`` (a Standard execution lasts at most a year).
MAX_TIMEOUT_SECONDS = 365 * 24 * 3600


def _whole_seconds(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_timeouts(
    timeout: Any,
    heartbeat: Any = None,
    *,
    timeout_field: str = "timeout_seconds",
    heartbeat_field: str = "heartbeat_seconds",
    minimum: int = 1,
) -> tuple[int, Optional[int]]:
    """``(timeout, heartbeat)`` when Step Functions accepts them; otherwise ``ValueError`` naming the field.

    The one timeout rule of every component: ``timeout`` is a whole number of seconds from
    ``minimum`` (1; 0 for a Wait) to :data:`MAX_TIMEOUT_SECONDS`; ``heartbeat`` is ``None``/0 (none,
    returned as ``None``) or a whole number from 1 to ``timeout - 1`` (a heartbeat at or above the
    timeout would never fire).
    """
    if not _whole_seconds(timeout) or not minimum <= timeout <= MAX_TIMEOUT_SECONDS:
        raise ValueError(
            f"{timeout_field} must be an integer from {minimum} to {MAX_TIMEOUT_SECONDS}, got {timeout!r}"
        )
    if heartbeat is None or (_whole_seconds(heartbeat) and heartbeat == 0):
        return timeout, None
    if not _whole_seconds(heartbeat) or not 1 <= heartbeat < timeout:
        raise ValueError(
            f"{heartbeat_field} must be an integer from 1 to {timeout_field} - 1 ({timeout - 1}), "
            f"or 0/None for no heartbeat; got {heartbeat!r}"
        )
    return timeout, heartbeat
