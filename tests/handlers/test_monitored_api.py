"""MonitoredWorkflow routes against moto: every status of POST /monitored, GET /monitored/{key} and POST .../events."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import boto3
import pytest
from botocore.stub import Stubber

import monitor_api
import monitor_events
from common.tokens import TokenStore
from tests.handlers.conftest import http_event, race, response_json
from tests.handlers.monitored_stack import ERROR, SOURCE, STOP, MonitoredStack, build_stack, wait_status


@pytest.fixture
def stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[MonitoredStack]:
    stack = build_stack(monkeypatch, work_seconds=1, timeout=30)
    yield stack
    stack.stop_all()


def call(route_key: str, body: Any = None, path: dict | None = None, raw: str | None = None) -> tuple[int, Any]:
    response = monitor_api.handler(http_event(route_key, body, path=path, raw_body=raw))
    return response["statusCode"], response_json(response)


def start(body: Any = None, raw: str | None = None) -> tuple[int, Any]:
    return call("POST /monitored", body, raw=raw)


def get(key: str) -> tuple[int, Any]:
    return call("GET /monitored/{workflowkey}", path={"workflowkey": key})


def send(key: str, body: Any = None, raw: str | None = None) -> tuple[int, Any]:
    return call("POST /monitored/{workflowkey}/events", body, path={"workflowkey": key}, raw=raw)


def executions(stack: MonitoredStack) -> list[str]:
    return [e["name"] for e in boto3.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)["executions"]]


def started_and_monitored(stack: MonitoredStack, key: str, work_input: dict | None = None) -> str:
    status, body = start({"workflowkey": key, "input": work_input or {}})
    assert status == 202
    stack.registered(key, body["executionArn"])
    return body["executionArn"]


# --- POST /monitored ---------------------------------------------------------------------------


def test_start_runs_an_execution_named_by_the_key(stack: MonitoredStack) -> None:
    status, body = start({"workflowkey": "order-1", "input": {"items": 2}})
    assert status == 202
    assert body == {"workflowkey": "order-1", "executionArn": body["executionArn"], "created": True}
    assert body["executionArn"].endswith(":order-1")
    description = boto3.client("stepfunctions").describe_execution(executionArn=body["executionArn"])
    assert json.loads(description["input"]) == {"workflowkey": "order-1", "input": {"items": 2}}


def test_same_key_and_input_again_is_the_same_execution_another_input_a_conflict(stack: MonitoredStack) -> None:
    status, first = start({"workflowkey": "order-2", "input": {"n": 1}})
    assert start({"workflowkey": "order-2", "input": {"n": 1}}) == (status, {**first, "created": False})
    assert first["created"] is True
    status, body = start({"workflowkey": "order-2", "input": {"n": 2}})
    assert status == 409 and body["error"] == "NameConflict"
    assert executions(stack) == ["order-2"]


BAD_STARTS = [
    (None, "{not json", "MalformedJson"),
    (None, "", "MalformedJson"),
    (["a"], None, "InvalidBody"),
    ({"input": {}}, None, "MissingField"),
    ({"workflowkey": "has space"}, None, "InvalidName"),
    ({"workflowkey": "x" * 81}, None, "InvalidName"),
    ({"workflowkey": 12}, None, "InvalidName"),
    ({"workflowkey": "ok", "input": [1]}, None, "InvalidInput"),
]


def test_bad_start_requests_are_400_and_start_nothing(stack: MonitoredStack) -> None:
    for body, raw, code in BAD_STARTS:
        status, answer = start(body, raw=raw)
        assert (status, answer["error"]) == (400, code), (body, raw)
        assert answer["message"]
    assert executions(stack) == []


# --- GET /monitored/{workflowkey} ----------------------------------------------------------------


def test_get_shows_status_monitor_output(stack: MonitoredStack) -> None:
    started_and_monitored(stack, "order-3", {"items": 5})
    status, body = get("order-3")
    assert status == 200
    assert body["status"] == "RUNNING" and body["monitor"] == "WAITING" and body["workflowkey"] == "order-3"
    monitor_events.handler(stack.next_event())  # the work's stop event, delivered
    wait_status(body["executionArn"])
    status, body = get("order-3")
    assert body["status"] == "SUCCEEDED" and body["monitor"] == "SUCCEEDED"
    assert body["output"] == {"workflowkey": "order-3", "input": {"items": 5}}
    assert body["error"] is None and body["cause"] is None
    assert "token" not in json.dumps(body).lower()


def test_get_shows_the_error_of_a_failed_execution(stack: MonitoredStack) -> None:
    started_and_monitored(stack, "order-4")
    assert send("order-4", {"message": ERROR, "error": "OrderCancelled", "cause": "customer"})[0] == 202
    monitor_events.handler(stack.next_event())
    wait_status(get("order-4")[1]["executionArn"])
    status, body = get("order-4")
    assert body["status"] == "FAILED" and body["error"] == "OrderCancelled" and body["monitor"] == "FAILED"


def test_get_unknown_key_is_404_and_bad_key_400(stack: MonitoredStack) -> None:
    assert get("nobody")[0] == 404 and get("nobody")[1]["error"] == "NotFound"
    assert get("bad key")[0] == 400


# --- POST /monitored/{workflowkey}/events -------------------------------------------------------


def test_error_message_puts_a_workflow_error_event_on_the_bus_that_fails_the_execution(stack: MonitoredStack) -> None:
    execution = started_and_monitored(stack, "order-5")
    status, body = send("order-5", {"message": ERROR, "error": "PaymentDeclined", "cause": "card expired"})
    assert status == 202 and body["message"] == ERROR and body["eventId"]
    event = stack.next_event()
    assert event["source"] == SOURCE and event["detail-type"] == ERROR
    assert event["detail"] == {
        "workflowkey": "order-5", "executionArn": execution, "error": "PaymentDeclined", "cause": "card expired",
    }
    assert monitor_events.handler(event)["outcome"] == "failed"
    description = wait_status(execution)
    assert description["status"] == "FAILED" and description["error"] == "PaymentDeclined"
    # Now the key is no longer running: 404.
    assert send("order-5", {"message": ERROR})[0] == 404


def test_stop_message_ends_monitoring(stack: MonitoredStack) -> None:
    started_and_monitored(stack, "order-6")
    status, body = send("order-6", {"message": STOP})
    assert status == 202
    event = stack.next_event()
    assert event["detail-type"] == STOP and "error" not in event["detail"]
    assert monitor_events.handler(event)["outcome"] == "succeeded"
    assert TokenStore(stack.table).get("order-6")["status"] == "SUCCEEDED"


def test_events_for_an_unknown_key_are_404_and_for_an_ended_execution_409(stack: MonitoredStack) -> None:
    status, body = send("nobody", {"message": ERROR})
    assert status == 404 and body["error"] == "NotFound"
    # A row still WAITING whose execution is over (ended by something else, its work failing say).
    finished = stack.start("order-7")
    token = stack.registered("order-7", finished)["token"]
    boto3.client("stepfunctions").send_task_failure(taskToken=token, error="WorkFailed")
    assert wait_status(finished)["status"] == "FAILED"
    status, body = send("order-7", {"message": ERROR})
    assert (status, body["error"]) == (409, "ExecutionEnded") and "ended (FAILED)" in body["message"]
    assert stack.no_event(ERROR)


BAD_EVENTS = [
    (None, "nope", "MalformedJson"),
    ({}, None, "InvalidField"),
    ({"message": "Explode"}, None, "InvalidField"),
    ({"message": ERROR, "error": 42}, None, "InvalidField"),
    ({"message": ERROR, "error": "E" * 257}, None, "InvalidField"),
    ({"message": ERROR, "cause": ["c"]}, None, "InvalidField"),
]


def test_bad_event_requests_are_400_and_put_nothing(stack: MonitoredStack) -> None:
    started_and_monitored(stack, "order-8")
    for body, raw, code in BAD_EVENTS:
        status, answer = send("order-8", body, raw=raw)
        assert (status, answer["error"]) == (400, code), (body, raw)
    assert send("bad key", {"message": ERROR})[0] == 400
    assert stack.no_event(ERROR)
    assert TokenStore(stack.table).get("order-8")["status"] == "WAITING"


def test_a_bus_refusing_the_event_is_a_503_not_a_false_202(stack: MonitoredStack, monkeypatch: pytest.MonkeyPatch) -> None:
    started_and_monitored(stack, "order-9")
    events = boto3.client("events")
    stubber = Stubber(events)
    stubber.add_response("put_events", {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]})
    stubber.activate()
    real = monitor_api.client
    monkeypatch.setattr(monitor_api, "client", lambda service: events if service == "events" else real(service))
    status, body = send("order-9", {"message": ERROR})
    assert status == 503 and body["error"] == "EventNotAccepted"


# --- Operations: cancel and redrive release the monitor's key (common.operations) ---------------


def test_cancel_releases_the_monitors_key(stack: MonitoredStack) -> None:
    execution = started_and_monitored(stack, "ops-1")
    status, body = call("DELETE /monitored/{workflowkey}", path={"workflowkey": "ops-1"})
    assert status == 200 and body["workflowkey"] == "ops-1" and body["status"] == "ABORTED"
    row = TokenStore(stack.table).get("ops-1")
    assert row["status"] == "RELEASED" and "token" not in row and row["executionArn"] == execution
    assert send("ops-1", {"message": STOP})[0] == 404
    event = {"detail-type": STOP, "detail": {"workflowkey": "ops-1", "executionArn": execution}}
    assert monitor_events.handler(event)["outcome"] == "dropped"
    assert wait_status(execution)["status"] == "ABORTED"


def test_a_failed_monitored_execution_redriven_runs_again_to_success(stack: MonitoredStack) -> None:
    execution = started_and_monitored(stack, "ops-2")
    assert send("ops-2", {"message": ERROR, "error": "Broken"})[0] == 202
    assert monitor_events.handler(stack.next_event())["outcome"] == "failed"
    assert wait_status(execution)["status"] == "FAILED"
    status, body = call("POST /monitored/{workflowkey}/redrive", path={"workflowkey": "ops-2"})
    assert status == 202 and body["redriveCount"] == 1
    row = stack.registered("ops-2", execution)
    deadline = time.time() + 10
    while row["status"] != "WAITING" and time.time() < deadline:  # the monitor registers afresh
        time.sleep(0.05)
        row = TokenStore(stack.table).get("ops-2")
    assert row["status"] == "WAITING"
    event = stack.next_event()  # the work ran again and sent its stop event
    assert event["detail-type"] == STOP and monitor_events.handler(event)["outcome"] == "succeeded"
    assert wait_status(execution)["status"] == "SUCCEEDED"


def test_events_naming_a_reserved_error_are_400_and_put_nothing(stack: MonitoredStack) -> None:
    started_and_monitored(stack, "order-res")
    for name in ("DynamoDb.ThrottlingException", "DynamoDb.ConditionalCheckFailedException", "States.Timeout",
                 "MonitorTimedOut", "DuplicateWorkflowKey"):
        status, body = send("order-res", {"message": ERROR, "error": name})
        assert (status, body["error"]) == (400, "ReservedError") and "InvalidWorkflowKey" in body["message"], name
    assert stack.no_event(ERROR)
    assert TokenStore(stack.table).get("order-res")["status"] == "WAITING"


def test_of_20_concurrent_starts_exactly_one_is_told_created(stack: MonitoredStack) -> None:
    answers = race(20, lambda _: start({"workflowkey": "race-20", "input": {"n": 1}}))
    assert [status for status, _ in answers] == [202] * 20
    assert sum(body["created"] is True for _, body in answers) == 1
    assert executions(stack).count("race-20") == 1
