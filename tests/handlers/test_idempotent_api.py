"""IdempotentApi routes against moto: every status of POST /workflow and GET /workflow/{name}."""

from __future__ import annotations

import json
import threading
import time
from typing import Iterator

import boto3
import pytest

import idempotent_api
from tests.handlers.conftest import http_event, race, response_json, token_table


@pytest.fixture
def state_machine(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Standard state machine that echoes its input after a short wait."""
    definition = {
        "StartAt": "Work",
        "States": {"Work": {"Type": "Wait", "Seconds": 1, "Next": "Done"}, "Done": {"Type": "Pass", "End": True}},
    }
    arn = boto3.client("stepfunctions").create_state_machine(
        name="wf", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    monkeypatch.setenv("TABLE_NAME", token_table("claims"))
    yield arn


def post(body=None, headers=None, raw=None):
    response = idempotent_api.handler(http_event("POST /workflow", body, headers=headers, raw_body=raw))
    return response["statusCode"], response_json(response)


def get(name: str):
    response = idempotent_api.handler(http_event("GET /workflow/{name}", path={"name": name}))
    return response["statusCode"], response_json(response)


def executions(arn: str) -> list[dict]:
    return boto3.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]


def test_new_name_starts_an_execution(state_machine: str) -> None:
    status, body = post({"name": "order-1", "input": {"n": 1}})
    assert status == 201
    assert body["name"] == "order-1" and body["created"] is True and body["status"] == "RUNNING"
    assert body["executionArn"].endswith(":execution:wf:order-1")
    assert [e["name"] for e in executions(state_machine)] == ["order-1"]


def test_same_name_and_input_returns_the_existing_execution(state_machine: str) -> None:
    _, first = post({"name": "order-2", "input": {"n": 1}})
    status, again = post({"name": "order-2", "input": {"n": 1}})
    assert status == 200 and again["created"] is False and again["executionArn"] == first["executionArn"]
    time.sleep(1.5)  # finished executions are found too
    status, finished = post({"name": "order-2", "input": {"n": 1}})
    assert status == 200 and finished["status"] == "SUCCEEDED" and finished["created"] is False
    assert len(executions(state_machine)) == 1


def test_same_name_with_another_input_is_a_conflict(state_machine: str) -> None:
    post({"name": "order-3", "input": {"n": 1}})
    status, body = post({"name": "order-3", "input": {"n": 2}})
    assert status == 409 and body["error"] == "NameConflict" and body["message"]
    assert len(executions(state_machine)) == 1


def test_name_from_the_idempotency_key_header(state_machine: str) -> None:
    status, body = post({"input": {"a": 1}}, headers={"Idempotency-Key": "key-1"})
    assert status == 201 and body["name"] == "key-1"
    status, body = post({"name": "other", "input": {}}, headers={"Idempotency-Key": "key-1"})
    assert status == 400 and body["error"] == "NameMismatch"


def test_missing_input_means_an_empty_object(state_machine: str) -> None:
    status, _ = post({"name": "no-input"})
    assert status == 201
    assert get("no-input")[1]["input"] == {}


@pytest.mark.parametrize(
    "body, raw, error",
    [
        (None, "{not json", "MalformedJson"),
        (None, "", "MalformedJson"),
        (None, "[1, 2]", "InvalidBody"),
        ({"input": {}}, None, "MissingField"),
        ({"name": "", "input": {}}, None, "InvalidName"),
        ({"name": "a" * 81, "input": {}}, None, "InvalidName"),
        ({"name": "has space", "input": {}}, None, "InvalidName"),
        ({"name": "ünïcode", "input": {}}, None, "InvalidName"),
        ({"name": 42, "input": {}}, None, "InvalidName"),
        ({"name": "ok", "input": [1]}, None, "InvalidInput"),
        ({"name": "ok", "input": "text"}, None, "InvalidInput"),
        ({"name": "ok", "input": None}, None, "InvalidInput"),
        (None, '{"name": "ok", "name": "other", "input": {}}', "MalformedJson"),
        (None, '{"name": "ok", "input": {"n": 1e400}}', "MalformedJson"),
        (None, '{"name": "ok", "input": {"n": -Infinity}}', "MalformedJson"),
    ],
)
def test_bad_requests_are_400_and_start_nothing(state_machine: str, body, raw, error: str) -> None:
    status, answer = post(body, raw=raw)
    assert status == 400 and answer["error"] == error and answer["message"]
    assert executions(state_machine) == []


def test_get_reports_status_input_output_and_dates(state_machine: str) -> None:
    post({"name": "order-4", "input": {"n": 4}})
    status, running = get("order-4")
    assert status == 200 and running["status"] == "RUNNING" and running["input"] == {"n": 4}
    assert running["output"] is None and running["startDate"] and running["stopDate"] is None
    time.sleep(1.5)
    status, done = get("order-4")
    assert done["status"] == "SUCCEEDED" and done["output"] == {"n": 4} and done["stopDate"]


def test_get_unknown_is_404_and_bad_name_is_400(state_machine: str) -> None:
    status, body = get("nobody")
    assert status == 404 and body["error"] == "NotFound"
    status, body = get("bad name!")
    assert status == 400 and body["error"] == "InvalidName"


def test_concurrent_posts_start_one_execution(state_machine: str) -> None:
    results: list[int] = []
    barrier = threading.Barrier(5)

    def call() -> None:
        barrier.wait()
        results.append(post({"name": "race", "input": {"x": 1}})[0])

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(status in (200, 201) for status in results) and 201 in results
    assert [e["name"] for e in executions(state_machine)] == ["race"]


def test_unknown_route_is_404(state_machine: str) -> None:
    response = idempotent_api.handler(http_event("DELETE /workflow/{name}", path={"name": "x"}))
    assert response["statusCode"] == 404


def test_of_20_concurrent_starts_exactly_one_is_told_created(state_machine: str) -> None:
    answers = race(20, lambda _: post({"name": "race-20", "input": {"x": 1}}))
    assert sorted(status for status, _ in answers) == [200] * 19 + [201]
    assert sum(body["created"] is True for _, body in answers) == 1
    assert len({body["executionArn"] for _, body in answers}) == 1
    assert [e["name"] for e in executions(state_machine)] == ["race-20"]
    # A racer with another input is refused, never told it created anything.
    assert post({"name": "race-20", "input": {"x": 2}})[0] == 409
