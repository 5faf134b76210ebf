"""``IdempotentApi``'s contract between the component and its ``idempotent_api`` Lambda.

Config -> handler: the component's ``state_machine_arn`` -> :data:`ENV_STATE_MACHINE_ARN` of the
Lambda, which starts executions of it named by the request's ``name`` (or the
:data:`IDEMPOTENCY_KEY_HEADER`), following :data:`sfn_patterns.contracts.common.EXECUTION_NAME_RULE`.
The component's start-claim table -> :data:`ENV_TABLE_NAME` (who created an execution).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from sfn_patterns.contracts.common import ENV_STATE_MACHINE_ARN, ENV_TABLE_NAME

__all__ = [
    "DISTRIBUTED_VARIANT", "ENV_MAP_ITEMS", "ENV_STATE_MACHINE_ARN", "ENV_TABLE_NAME", "IDEMPOTENCY_KEY_HEADER", "MAX_HISTORY_EVENTS",
    "MAX_RESULT_BYTES", "MapItemsLimit", "inline_map_max_items", "map_limit_problem",
]

#: Request header that may name the execution instead of the body's ``name`` (lower case).
IDEMPOTENCY_KEY_HEADER = "idempotency-key"


# --- The inline Map limit (a workflow whose input array becomes an inline Map's iterations) -------

#: Step Functions' history limit of a Standard execution: event 25,001 fails it (States.Runtime).
MAX_HISTORY_EVENTS = 25_000
#: Step Functions' limit of a state's output (the Map's array of results): 256 KiB of UTF-8.
MAX_RESULT_BYTES = 256 * 1024
#: Where the refusals point past these limits: a Distributed Map keeps each item's events out of the
#: parent's history and writes the results to S3 (docs/patterns.md, "The composite, distributed").
DISTRIBUTED_VARIANT = (
    "run them through a Distributed Map, which writes its results to S3 (the composite's:"
    " workflows/composite_distributed.yaml)"
)
#: Environment variable of the handler: the :class:`MapItemsLimit` as JSON (unset: no limit).
ENV_MAP_ITEMS = "MAP_ITEMS_LIMIT"


@dataclass(frozen=True)
class MapItemsLimit:
    """What an input array may hold so the inline Map over it completes (see :func:`map_limit_problem`)."""

    field: str
    """The input field holding the array (``items``)."""
    max_items: int
    """Most items: what the history limit allows (:func:`inline_map_max_items`)."""
    result_overhead_bytes: int
    """Bytes each item's result adds beyond ``result_growth`` times the item's own JSON (plus a comma)."""
    result_growth: float
    """Most bytes of result per byte of the item's JSON."""
    result_wrapper_bytes: int
    """Bytes of the Map's output around the array of results (``{"results":[]}``: 14)."""

    def to_json(self) -> str:
        """The environment variable's value."""
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "MapItemsLimit":
        """The limit from the environment variable's value."""
        return cls(**json.loads(text))


def inline_map_max_items(events_per_item: int, fixed_events: int) -> int:
    """Most iterations of an inline Map within :data:`MAX_HISTORY_EVENTS`, when the execution writes
    ``fixed_events`` events besides its iterations and each iteration at most ``events_per_item``."""
    return (MAX_HISTORY_EVENTS - fixed_events) // events_per_item


def map_limit_problem(limit: MapItemsLimit, execution_input: dict[str, Any]) -> Optional[tuple[str, str]]:
    """None when ``execution_input[limit.field]`` is an array the Map can complete; else (error, message)."""
    items = execution_input.get(limit.field)
    if not isinstance(items, list):
        return "InvalidInput", f"'input.{limit.field}' must be an array"
    if len(items) > limit.max_items:
        return "TooManyItems", (
            f"'input.{limit.field}' has {len(items)} items; at most {limit.max_items} fit in one execution's"
            f" {MAX_HISTORY_EVENTS} history events of an inline Map; {DISTRIBUTED_VARIANT}"
        )
    estimate = limit.result_wrapper_bytes + max(len(items) - 1, 0)
    for item in items:
        size = len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        estimate += limit.result_overhead_bytes + int(limit.result_growth * size + 0.999999)
    if estimate > MAX_RESULT_BYTES:
        return "ResultTooLarge", (
            f"the results of {len(items)} items could reach {estimate} bytes; a state's output is at most"
            f" {MAX_RESULT_BYTES} bytes: send fewer or smaller items, or {DISTRIBUTED_VARIANT}"
        )
    return None
