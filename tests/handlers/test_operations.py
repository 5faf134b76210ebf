"""The operations routes (handlers/common/operations.py) on moto, through IdempotentApi's /workflow: every branch.

The state machine counts its first step in DynamoDB, then fails unless a switch item says go, so a
test can fail an execution, flip the switch and redrive it to success from the failed step.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any, Iterator, Optional
from unittest import mock

import boto3
import pytest

import idempotent_api
from common import operations
from common.http import HttpError, Request
from tests.handlers.conftest import http_event, response_json, token_table

ROLE = "arn:aws:iam::123456789012:role/sfn"


@pytest.fixture
def machine(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Count (DynamoDB) -> Gate (read the switch) -> Go? -> Done | Wait a long time, or fail."""
    table = f"ops-{uuid.uuid4().hex[:6]}"
    boto3.client("dynamodb").create_table(
        TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )
    definition = {
        "StartAt": "Count",
        "States": {
            "Count": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem", "ResultPath": None,
                      "Parameters": {"TableName": table, "Key": {"pk": {"S.$": "$$.Execution.Name"}},
                                     "UpdateExpression": "ADD runs :one", "ExpressionAttributeValues": {":one": {"N": "1"}}},
                      "Next": "Gate"},
            "Gate": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem", "ResultPath": "$.gate",
                     "Parameters": {"TableName": table, "Key": {"pk": {"S": "switch"}}}, "Next": "Go?"},
            "Go?": {"Type": "Choice", "Choices": [
                {"Variable": "$.gate.Item", "IsPresent": True, "Next": "Done"},
                {"Variable": "$.wait", "IsPresent": True, "Next": "Linger"}], "Default": "Closed"},
            "Linger": {"Type": "Wait", "Seconds": 3, "Next": "Done"},
            "Closed": {"Type": "Fail", "Error": "GateClosed", "Cause": "the switch is off"},
            "Done": {"Type": "Pass", "Parameters": {"ok": True}, "End": True},
        },
    }
    arn = boto3.client("stepfunctions").create_state_machine(
        name=f"ops-{uuid.uuid4().hex[:6]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    monkeypatch.setenv("TABLE_NAME", token_table("claims"))  # the start claims (created: true once)
    yield {"arn": arn, "table": table}


def call(route_key: str, path: Optional[dict[str, str]] = None, query: Optional[dict[str, str]] = None,
         body: Any = None) -> tuple[int, Any]:
    event = http_event(route_key, body, path=path)
    if query is not None:
        event["queryStringParameters"] = query
    response = idempotent_api.handler(event)
    return response["statusCode"], response_json(response)


def start(name: str, execution_input: Optional[dict[str, Any]] = None) -> None:
    assert call("POST /workflow", body={"name": name, "input": execution_input or {}})[0] == 201


def settled(name: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = call("GET /workflow/{name}", path={"name": name})
        assert status == 200, body
        if body["status"] != "RUNNING" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def runs(machine: dict[str, str], name: str) -> int:
    item = boto3.client("dynamodb").get_item(TableName=machine["table"], Key={"pk": {"S": name}})["Item"]
    return int(item["runs"]["N"])


def lingering(machine: dict[str, str], name: str) -> None:
    """Wait until the execution is in its Wait state (Count and Gate behind it)."""
    arn = machine["arn"].replace(":stateMachine:", ":execution:") + f":{name}"
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + 5
    while not any(e["type"] == "WaitStateEntered" for e in sfn.get_execution_history(executionArn=arn)["events"]):
        assert time.monotonic() < deadline, "the execution never reached its Wait state"
        time.sleep(0.05)


def open_gate(machine: dict[str, str]) -> None:
    boto3.client("dynamodb").put_item(TableName=machine["table"], Item={"pk": {"S": "switch"}})


# --- GET /workflow ------------------------------------------------------------------------------


def test_list_filters_by_status_and_pages(machine: dict[str, str]) -> None:
    for index in range(3):
        start(f"fails-{index}")
    start("lingers", {"wait": True})
    for index in range(3):
        assert settled(f"fails-{index}")["status"] == "FAILED"
    status, body = call("GET /workflow", query={"status": "FAILED", "limit": "2"})
    assert status == 200 and len(body["items"]) == 2 and body["nextToken"]
    item = body["items"][0]
    assert set(item) == {"name", "status", "startDate", "stopDate", "redriveCount"}
    assert item["status"] == "FAILED" and item["stopDate"] and item["redriveCount"] == 0
    status, rest = call("GET /workflow", query={"status": "FAILED", "limit": "2", "nextToken": body["nextToken"]})
    assert status == 200 and rest["nextToken"] is None
    names = {i["name"] for i in body["items"] + rest["items"]}
    assert names == {"fails-0", "fails-1", "fails-2"}
    status, running = call("GET /workflow", query={"status": "RUNNING"})
    assert [(i["name"], i["stopDate"]) for i in running["items"]] == [("lingers", None)]
    status, everything = call("GET /workflow")
    assert status == 200 and len(everything["items"]) == 4 and everything["nextToken"] is None


@pytest.mark.parametrize(
    "query, code",
    [
        ({"status": "BROKEN"}, "InvalidStatus"),
        ({"status": "failed"}, "InvalidStatus"),
        ({"status": "FAILED,RUNNING"}, "InvalidStatus"),  # a repeated parameter arrives comma-joined
        ({"limit": "0"}, "InvalidLimit"),
        ({"limit": "1001"}, "InvalidLimit"),
        ({"limit": "ten"}, "InvalidLimit"),
        ({"limit": "1.5"}, "InvalidLimit"),
        ({"limit": "-1"}, "InvalidLimit"),
        ({"limit": "١٢"}, "InvalidLimit"),  # digits, but not ASCII ones
        ({"limit": "9" * 400}, "InvalidLimit"),
        ({"nextToken": "forged"}, "InvalidNextToken"),
        ({"nextToken": "x" * 1025}, "InvalidNextToken"),
        ({"nextToken": ""}, "InvalidNextToken"),
        ({"page": "2"}, "UnknownParameter"),
    ],
)
def test_bad_list_parameters_are_400(machine: dict[str, str], query: dict[str, str], code: str) -> None:
    status, body = call("GET /workflow", query=query)
    assert status == 400 and body["error"] == code and body["message"]


def test_the_limit_bounds_are_accepted(machine: dict[str, str]) -> None:
    start("one")
    assert call("GET /workflow", query={"limit": "1"})[1]["items"][0]["name"] == "one"
    assert call("GET /workflow", query={"limit": str(operations.MAX_LIMIT)})[0] == 200


# --- DELETE /workflow/{name} --------------------------------------------------------------------


def test_cancel_aborts_a_running_execution(machine: dict[str, str]) -> None:
    start("long", {"wait": True})
    status, body = call("DELETE /workflow/{name}", path={"name": "long"})
    assert status == 200 and body["name"] == "long" and body["status"] == "ABORTED" and body["stopDate"]
    view = call("GET /workflow/{name}", path={"name": "long"})[1]
    assert view["status"] == "ABORTED" and view["error"] == operations.CANCEL_ERROR
    status, again = call("DELETE /workflow/{name}", path={"name": "long"})
    assert status == 409 and again["error"] == "NotRunning" and "ABORTED" in again["message"]


def test_concurrent_cancels_give_one_200(machine: dict[str, str]) -> None:
    start("raced", {"wait": True})
    # All of them read RUNNING before any stops it: the execution's kept cause names the one that won.
    describe = operations.executions.describe
    barrier = threading.Barrier(5)

    def described(*args: Any) -> Any:
        found = describe(*args)
        barrier.wait(timeout=5)
        return found

    answers: list[tuple[int, Any]] = []
    with mock.patch.object(operations.executions, "describe", described):
        threads = [threading.Thread(target=lambda: answers.append(call("DELETE /workflow/{name}", path={"name": "raced"})))
                   for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert sorted(status for status, _ in answers) == [200, 409, 409, 409, 409], answers
    assert all(body["error"] == "NotRunning" for status, body in answers if status == 409)
    assert settled("raced")["status"] == "ABORTED"


def test_a_cancel_of_an_aborted_execution_releases_what_it_still_holds(machine: dict[str, str]) -> None:
    # Stopped from outside the API (or by a cancel whose release failed half-way): the row is still held.
    start("stopped", {"wait": True})
    lingering(machine, "stopped")
    arn = machine["arn"].replace(":stateMachine:", ":execution:") + ":stopped"
    boto3.client("stepfunctions").stop_execution(executionArn=arn)
    released: list[str] = []
    request = Request(http_event("DELETE /workflow/{name}", None, path={"name": "stopped"}))
    with pytest.raises(HttpError) as refused:
        operations.cancel(request, "name", lambda name, description: released.append(description["executionArn"]))
    assert refused.value.status == 409 and refused.value.code == "NotRunning"
    assert released == [arn]  # the retry finished the release; the answer still says it had ended


def test_cancel_of_an_ended_or_unknown_execution(machine: dict[str, str]) -> None:
    start("quick")
    assert settled("quick")["status"] == "FAILED"
    status, body = call("DELETE /workflow/{name}", path={"name": "quick"})
    assert status == 409 and body["error"] == "NotRunning"
    assert settled("quick")["status"] == "FAILED"  # changed nothing
    assert call("DELETE /workflow/{name}", path={"name": "nobody"})[0] == 404
    assert call("DELETE /workflow/{name}", path={"name": "bad name!"})[1]["error"] == "InvalidName"


# --- POST /workflow/{name}/redrive -------------------------------------------------------------


def test_redrive_continues_a_failed_execution_from_its_failed_state(machine: dict[str, str]) -> None:
    start("flaky", {"n": 1})
    failed = settled("flaky")
    assert failed["status"] == "FAILED" and failed["error"] == "GateClosed"
    # Redriving it as it is fails again at the Fail state (the unsuccessful step), as on AWS.
    status, body = call("POST /workflow/{name}/redrive", path={"name": "flaky"})
    assert status == 202 and body == {"name": "flaky", "status": body["status"], "redriveCount": 1}
    assert settled("flaky")["status"] == "FAILED"
    assert runs(machine, "flaky") == 1


def test_redrive_an_aborted_execution_to_success(machine: dict[str, str]) -> None:
    start("stopped", {"wait": True})
    lingering(machine, "stopped")
    assert call("DELETE /workflow/{name}", path={"name": "stopped"})[0] == 200
    open_gate(machine)
    status, body = call("POST /workflow/{name}/redrive", path={"name": "stopped"})
    assert status == 202 and body["redriveCount"] == 1 and body["status"] == "RUNNING"
    done = settled("stopped")
    assert done["status"] == "SUCCEEDED" and done["output"] == {"ok": True}
    assert done["executionArn"].endswith(":stopped") and runs(machine, "stopped") == 1
    assert call("GET /workflow", query={"status": "SUCCEEDED"})[1]["items"][0]["redriveCount"] == 1


def test_redrive_refusals_carry_aws_reason(machine: dict[str, str]) -> None:
    # The gate is still shut, so "busy" lingers in its Wait state (with the gate open it would run straight
    # to Done and might have SUCCEEDED before the redrive: CI caught that race once).
    start("busy", {"wait": True})
    lingering(machine, "busy")
    status, body = call("POST /workflow/{name}/redrive", path={"name": "busy"})
    assert status == 409 and "Execution is RUNNING and cannot be redriven" in body["message"]
    open_gate(machine)
    start("fine")
    assert settled("fine")["status"] == "SUCCEEDED"
    status, body = call("POST /workflow/{name}/redrive", path={"name": "fine"})
    assert status == 409 and body["error"] == "NotRedrivable"
    assert "Execution is SUCCEEDED and cannot be redriven" in body["message"]
    assert call("POST /workflow/{name}/redrive", path={"name": "nobody"})[0] == 404


def test_a_redrive_refused_by_aws_is_409_not_500(machine: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    start("racing")
    assert settled("racing")["status"] == "FAILED"
    from botocore.exceptions import ClientError
    from common.clients import client

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ExecutionNotRedrivable", "Message": "Execution redrivable period exceeded"}},
                          "RedriveExecution")

    monkeypatch.setattr(client("stepfunctions"), "redrive_execution", refuse)
    status, body = call("POST /workflow/{name}/redrive", path={"name": "racing"})
    assert status == 409 and body["error"] == "NotRedrivable" and "period exceeded" in body["message"]
