"""The chain's handlers (seed 001): reverse, then shout; a bad payload raises a named error."""

import pytest

import reverse
import shout


def test_reverse_then_shout_gives_the_seed_output() -> None:
    assert shout.handler(reverse.handler({"payload": "hi mom"})) == {
        "statusCode": 200,
        "headers": {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
            "content-type": "application/json",
        },
        "body": {"payload": "MOM IH"},
    }


@pytest.mark.parametrize("event", [{}, {"payload": 42}, {"payload": None}, [], "text"])
def test_bad_payload_raises_invalid_payload(event) -> None:
    with pytest.raises(reverse.InvalidPayload):
        reverse.handler(event)
    with pytest.raises(shout.InvalidPayload):
        shout.handler(event)
