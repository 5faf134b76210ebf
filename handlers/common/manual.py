"""A PausableWorkflow job's manual flag, shared by its route and pause handlers.

``"manual": true|false`` (default false), or seed 004's ``"IsManualCallback": "True"|"False"``.
Anything else is :class:`InvalidManualFlag`, a ``ValueError`` whose class name is the error name
callers see (a Lambda error's ``errorType`` becomes the Step Functions error name).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from sfn_patterns.contracts.pausable import MANUAL_ATTRIBUTE

__all__ = ["InvalidManualFlag", "resolve_manual"]

_SEED_FLAG = {"True": True, "False": False}


class InvalidManualFlag(ValueError):
    """The job's ``manual`` / ``IsManualCallback`` flag is neither absent nor a valid value."""


def resolve_manual(document: Any) -> bool:
    """Whether the job described by ``document`` (execution input or request body) is manual.

    ``manual`` must be a JSON boolean; seed 004's ``IsManualCallback`` must be the string
    ``"True"`` or ``"False"``; both absent means not manual; both present must agree.
    """
    if not isinstance(document, Mapping):
        return False
    flags: list[bool] = []
    if MANUAL_ATTRIBUTE in document:
        value = document[MANUAL_ATTRIBUTE]
        if not isinstance(value, bool):
            raise InvalidManualFlag(f"'manual' must be true or false (got {json.dumps(value)[:100]})")
        flags.append(value)
    if "IsManualCallback" in document:
        value = document["IsManualCallback"]
        if not isinstance(value, str) or value not in _SEED_FLAG:
            raise InvalidManualFlag(
                f"'IsManualCallback' must be the string \"True\" or \"False\" (got {json.dumps(value)[:100]})"
            )
        flags.append(_SEED_FLAG[value])
    if len(set(flags)) > 1:
        raise InvalidManualFlag("'manual' and 'IsManualCallback' disagree")
    return bool(flags and flags[0])
