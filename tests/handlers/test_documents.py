"""What is accepted can finish; JSON is strict: the limits on the final documents AWS receives.

moto enforces none of AWS's 256 KiB limits, so each check is tested directly at the limit - 1,
the limit and the limit + 1 byte of the document it guards, and through the route that uses it.
"""

from __future__ import annotations

import json
from typing import Callable

import boto3
import pytest

import idempotent_api
from common import callback, documents, executions
from common.http import HttpError
from tests.handlers.conftest import http_event, response_json
from tests.handlers.test_idempotent_api import state_machine  # noqa: F401 - the fixture

LIMIT = documents.MAX_DOCUMENT_BYTES


def filler_for(document: Callable[[str], str], size: int) -> str:
    """The ASCII filler that makes ``document(filler)`` exactly ``size`` bytes."""
    base = documents.size(document(""))
    assert size >= base
    return "x" * (size - base)


def strict(text: str) -> object:
    """Parse as RFC 8259 JSON: NaN, Infinity and -Infinity are refused."""
    def refuse(literal: str) -> object:
        raise ValueError(f"{literal} is not JSON")

    return json.loads(text, parse_constant=refuse)


# --- the checks themselves -----------------------------------------------------------------------


def test_check_size_accepts_the_limit_and_refuses_one_byte_more() -> None:
    for size in (LIMIT - 1, LIMIT):
        assert documents.check_size("doc", "x" * size) == "x" * size
    with pytest.raises(documents.DocumentTooLarge) as refused:
        documents.check_size("doc", "x" * (LIMIT + 1))
    assert (refused.value.size, refused.value.limit) == (LIMIT + 1, LIMIT)
    # UTF-8 bytes, not characters: "é" is escaped to 6 ASCII bytes in the document (\u00e9).
    assert documents.size(documents.dumps({"a": "é"})) == len('{"a":"\\u00e9"}')


def test_execution_input_is_measured_as_sent() -> None:
    def document(filler: str) -> str:
        return documents.dumps({"blob": filler})

    for size in (LIMIT - 1, LIMIT):
        assert documents.size(executions.input_document({"blob": filler_for(document, size)})) == size
    with pytest.raises(HttpError) as refused:
        executions.input_document({"blob": filler_for(document, LIMIT + 1)})
    assert (refused.value.status, refused.value.code) == (413, "PayloadTooLarge")


def test_callback_notification_and_wait_payload_are_both_checked() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:callback:t-1"
    url = "https://api.example.com"

    def largest(filler: str) -> str:  # the wait payload (a 2048-character token) outweighs the notification
        payload = callback.wait_payload("t-1", arn, {"blob": filler}, "t" * documents.MAX_TASK_TOKEN_CHARS)
        return documents.dumps(payload)

    notification = documents.dumps(callback.notification("t-1", {"blob": ""}, url, "s" * callback.SECRET_CHARS))
    assert documents.size(largest("")) > documents.size(notification)
    for size in (LIMIT - 1, LIMIT):
        callback.check_documents("t-1", {"blob": filler_for(largest, size)}, url, arn)
    with pytest.raises(documents.DocumentTooLarge, match="callback wait's input"):
        callback.check_documents("t-1", {"blob": filler_for(largest, LIMIT + 1)}, url, arn)
    # A long callback URL makes the notification the larger one: it is checked too.
    long_url = "https://" + "u" * 4000 + ".example.com"
    with pytest.raises(documents.DocumentTooLarge, match="notification"):
        callback.check_documents("t-1", {"blob": filler_for(largest, LIMIT)}, long_url, arn)


def test_strict_json_refuses_duplicates_non_numbers_and_overflows() -> None:
    for text in ('{"a": 1, "a": 2}', '{"a": NaN}', '[Infinity]', '[-Infinity]', '[1e400]', '[-1e400]', "1" + "0" * 400):
        with pytest.raises(documents.NotJson):
            documents.loads(text)
    assert documents.loads('{"a": [1.5e308, -2, {"b": null}]}') == {"a": [1.5e308, -2, {"b": None}]}
    with pytest.raises(ValueError):
        documents.dumps({"n": float("nan")})


# --- through the routes: IdempotentApi (the execution input is the only document) ------------------


def test_idempotent_post_at_the_limit_starts_and_one_byte_over_is_413(state_machine: str) -> None:
    def document(filler: str) -> str:
        return documents.dumps({"blob": filler})

    for index, size in enumerate((LIMIT - 1, LIMIT, LIMIT + 1)):
        body = {"name": f"sized-{index}", "input": {"blob": filler_for(document, size)}}
        response = idempotent_api.handler(http_event("POST /workflow", body))
        answer = strict(response["body"])
        if size <= LIMIT:
            assert response["statusCode"] == 201, answer
        else:
            assert (response["statusCode"], answer["error"]) == (413, "PayloadTooLarge")
            assert str(LIMIT) in answer["message"] and str(LIMIT + 1) in answer["message"]
    names = [e["name"] for e in boto3.client("stepfunctions").list_executions(stateMachineArn=state_machine)["executions"]]
    assert sorted(names) == ["sized-0", "sized-1"]  # the refused request started nothing


def test_every_answer_is_strict_json(state_machine: str) -> None:
    for raw in ('{"name": "j1", "input": {"n": 1e400}}', '{"name": "j2", "name": "j3"}', '{"name": "j4", "input": {"n": NaN}}'):
        response = idempotent_api.handler(http_event("POST /workflow", raw_body=raw))
        assert response["statusCode"] == 400 and strict(response["body"])["error"] == "MalformedJson"
    # An execution whose stored input is not strict JSON (started by someone else) reads back as JSON.
    boto3.client("stepfunctions").start_execution(stateMachineArn=state_machine, name="legacy", input='{"n": NaN}')
    response = idempotent_api.handler(http_event("GET /workflow/{name}", path={"name": "legacy"}))
    assert response["statusCode"] == 200 and strict(response["body"])["input"] == '{"n": NaN}'
    assert response_json(response)["name"] == "legacy"
