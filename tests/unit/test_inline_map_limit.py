"""The inline Map limit of the composite (``COMPOSITE_MAP_ITEMS`` in ``__main__.py``), at its bounds."""

from __future__ import annotations

import json

import pytest

from sfn_patterns.contracts.idempotent import MAX_RESULT_BYTES, MapItemsLimit, inline_map_max_items, map_limit_problem
from sfn_patterns.patterns.idempotent_api import map_items_limit

COMPOSITE = map_items_limit(
    {"field": "items", "events_per_item": 17, "fixed_events": 6, "result_overhead_bytes": 143,
     "result_growth": 3, "result_wrapper_bytes": 14}
)


def test_the_history_bound_is_computed_from_the_events() -> None:
    assert inline_map_max_items(17, 6) == 1470 == COMPOSITE.max_items
    assert 6 + 17 * 1470 <= 25_000 < 6 + 17 * 1471


def test_the_item_count_at_the_bound() -> None:
    assert map_limit_problem(COMPOSITE, {"items": [{}] * 1470}) is None
    error, message = map_limit_problem(COMPOSITE, {"items": [{}] * 1471})
    assert error == "TooManyItems" and "1470" in message
    assert "workflows/composite_distributed.yaml" in message  # the way past the limit


@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_the_result_size_at_the_bound(delta: int) -> None:
    # One item of 80,014 bytes of JSON: 143 + 3 * 80,014 = 240,185 bytes of result, in a wrapper sized
    # so the estimate is the limit - 1, the limit, the limit + 1 byte.
    items = [{"payload": "x" * 80_000}]
    limit = MapItemsLimit("items", 1470, 143, 3.0, MAX_RESULT_BYTES - 240_185 + delta)
    problem = map_limit_problem(limit, {"items": items})
    if delta <= 0:
        assert problem is None
    else:
        assert problem is not None and problem[0] == "ResultTooLarge"
        assert str(MAX_RESULT_BYTES + delta) in problem[1]
        assert "workflows/composite_distributed.yaml" in problem[1]


def test_the_estimate_bounds_the_chains_real_result() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "handlers" / "demo"))
    import reverse
    import shout

    for payload in ["", "hi mom", "\u00df" * 50, "\u0390" * 50, "\u0149\ufb03\n\"" * 40, "\U0001f600" * 30]:
        item = {"payload": payload}
        result = json.dumps(shout.handler(reverse.handler(item)), ensure_ascii=False, separators=(",", ":"))
        size = len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode())
        assert len(result.encode()) <= COMPOSITE.result_overhead_bytes + COMPOSITE.result_growth * size, payload


def test_growth_covers_unicode_upper_casing() -> None:
    # The demo chain upper-cases the payload: no character grows by more than 3 times in UTF-8.
    worst = max(len(chr(c).upper().encode("utf-8", "surrogatepass")) / len(chr(c).encode("utf-8", "surrogatepass"))
                for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert worst <= 3


def test_a_non_array_is_refused() -> None:
    assert map_limit_problem(COMPOSITE, {"items": {"a": 1}})[0] == "InvalidInput"
    assert map_limit_problem(COMPOSITE, {})[0] == "InvalidInput"


def test_the_limit_round_trips_through_the_environment() -> None:
    assert MapItemsLimit.from_json(COMPOSITE.to_json()) == COMPOSITE
