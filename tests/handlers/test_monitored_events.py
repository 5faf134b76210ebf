"""MonitoredWorkflow's monitor against moto: registering under a workflowkey, and the bus events that end or fail it.

The state machine is the component's own definition (see monitored_stack.py): its monitor Task
registers the token itself (a DynamoDB SDK integration); the events handler is called with exactly
what EventBridge would hand it.
"""

from __future__ import annotations

import json
import time
from typing import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import monitor_events
from common import completion, tokens
from common.completion import ClaimingStore
from common.tokens import TokenStore
from sfn_patterns.blocks.state_machine import reserved_error_names
from tests.handlers.conftest import scheduled_tasks
from tests.handlers.monitored_stack import (
    ERROR,
    SOURCE,
    STOP,
    MonitoredStack,
    build_stack,
    definition_on_moto,
    wait_status,
)


@pytest.fixture
def stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[MonitoredStack]:
    stack = build_stack(monkeypatch, work_seconds=1, timeout=30)
    yield stack
    stack.stop_all()


def monitoring(stack: MonitoredStack, key: str, **start: object) -> str:
    """Start an execution for ``key`` and let its monitor register; return the execution ARN."""
    execution = stack.start(key, **start)
    stack.registered(key, execution)
    return execution


def bus_event(detail_type: str, detail: dict) -> dict:
    """An event as EventBridge hands it to the rule's Lambda target."""
    return {"version": "0", "source": SOURCE, "detail-type": detail_type, "detail": detail, "resources": []}


# --- register ----------------------------------------------------------------------------------


def test_the_monitor_task_stores_the_token_row_the_finalizer_reads(stack: MonitoredStack) -> None:
    execution = stack.start("order-1")
    row = stack.registered("order-1", execution)
    assert row["status"] == "WAITING" and row["token"] and row["executionArn"] == execution
    assert abs(row["createdAt"] - time.time()) <= 2
    assert row["expiresAt"] - row["createdAt"] == 30  # the row lives as long as the monitor waits (TTL)
    assert ClaimingStore(stack.table).waiting("order-1")["token"] == row["token"]


def test_second_live_execution_with_the_same_key_fails_fast_and_the_first_keeps_its_token(stack: MonitoredStack) -> None:
    first = monitoring(stack, "order-2")
    first_token = TokenStore(stack.table).get("order-2")["token"]
    second = stack.start("order-2", name="order-2-again")
    description = wait_status(second, timeout=5)
    assert description["status"] == "FAILED" and description["error"] == "DuplicateWorkflowKey"
    row = TokenStore(stack.table).get("order-2")
    assert row["executionArn"] == first and row["token"] == first_token
    # The first execution still ends normally: its work's stop event completes its own monitor.
    assert monitor_events.handler(stack.next_event())["outcome"] == "succeeded"
    assert wait_status(first)["status"] == "SUCCEEDED"


def test_a_key_whose_monitor_timed_out_can_be_monitored_again(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = build_stack(monkeypatch, work_seconds=30, timeout=1)
    first = monitoring(stack, "order-4")
    assert wait_status(first)["error"] == "MonitorTimedOut"
    time.sleep(max(0.0, TokenStore(stack.table).get("order-4")["expiresAt"] + 1 - time.time()))
    again = stack.start("order-4", name="order-4-again")
    assert stack.registered("order-4", again)["status"] == "WAITING"  # the stale row no longer holds the key
    stack.stop_all()


@pytest.mark.parametrize("execution_input", [{"workflowkey": "no spaces"}, {"workflowkey": 7}, {}])
def test_an_invalid_key_fails_the_execution_with_a_named_error_and_stores_nothing(
    stack: MonitoredStack, execution_input: dict
) -> None:
    execution = boto3.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn, name="bad-key", input=json.dumps(execution_input)
    )["executionArn"]
    description = wait_status(execution, timeout=5)
    assert description["status"] == "FAILED" and description["error"] == "InvalidWorkflowKey"
    assert boto3.client("dynamodb").scan(TableName=stack.table)["Count"] == 0


# --- stop --------------------------------------------------------------------------------------


def test_work_done_stop_event_ends_the_monitor_and_the_execution_succeeds_with_the_work_output(
    stack: MonitoredStack,
) -> None:
    execution = monitoring(stack, "order-10", work_input={"items": 3})
    event = stack.next_event()  # emitted by the work branch's putEvents once the Wait is over
    assert event["detail-type"] == STOP and event["source"] == SOURCE
    assert event["detail"] == {"workflowkey": "order-10", "executionArn": execution}
    assert monitor_events.handler(event) == {"workflowkey": "order-10", "outcome": "succeeded"}
    description = wait_status(execution)
    assert description["status"] == "SUCCEEDED"
    assert json.loads(description["output"]) == {"workflowkey": "order-10", "input": {"items": 3}}
    row = TokenStore(stack.table).get("order-10")
    assert row["status"] == "SUCCEEDED" and "token" not in row  # the token is deleted once used
    # The same event delivered again (EventBridge delivers at least once) is dropped.
    assert monitor_events.handler(event)["outcome"] == "dropped"


# --- error -------------------------------------------------------------------------------------


def test_error_event_fails_the_execution_with_the_events_error(stack: MonitoredStack) -> None:
    execution = monitoring(stack, "order-11")
    event = bus_event(ERROR, {"workflowkey": "order-11", "error": "PaymentDeclined", "cause": "card expired"})
    assert monitor_events.handler(event) == {"workflowkey": "order-11", "outcome": "failed"}
    description = wait_status(execution)
    assert description["status"] == "FAILED" and description["error"] == "PaymentDeclined"
    row = TokenStore(stack.table).get("order-11")
    assert row["status"] == "FAILED" and "token" not in row
    # The work's own stop event (if the Wait still ran out) finds the monitor done: dropped.
    assert monitor_events.handler(bus_event(STOP, {"workflowkey": "order-11"}))["outcome"] == "dropped"


def test_error_event_without_an_error_name_fails_with_the_detail_type(stack: MonitoredStack) -> None:
    execution = monitoring(stack, "order-12")
    assert monitor_events.handler(bus_event(ERROR, {"workflowkey": "order-12"}))["outcome"] == "failed"
    assert wait_status(execution)["error"] == ERROR


# --- what is dropped, what is retried ----------------------------------------------------------


def test_events_nobody_can_act_on_are_dropped_not_raised(stack: MonitoredStack) -> None:
    execution = monitoring(stack, "order-20")
    dropped = [
        bus_event(STOP, {"workflowkey": "nobody-monitors-this"}),
        bus_event(ERROR, {"workflowkey": "nobody-monitors-this", "error": "E"}),
        bus_event(STOP, {}),
        bus_event(STOP, {"workflowkey": "bad key!"}),
        bus_event("SomethingElse", {"workflowkey": "order-20"}),
        {"detail-type": STOP, "detail": "not an object"},
        # An execution of another state machine never completes this one's monitor.
        bus_event(STOP, {"workflowkey": "order-20", "executionArn": execution.replace(":monitored-", ":other-")}),
    ]
    for event in dropped:
        assert monitor_events.handler(event)["outcome"] == "dropped", event
    assert TokenStore(stack.table).get("order-20")["status"] == "WAITING"  # untouched
    assert boto3.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING"


def test_an_event_of_another_execution_never_completes_the_key_holders_monitor(stack: MonitoredStack) -> None:
    holder = monitoring(stack, "order-21")
    finished = monitoring(stack, "order-21-done", name="order-21-done")
    monitor_events.handler(bus_event(ERROR, {"workflowkey": "order-21-done"}))
    assert wait_status(finished)["status"] == "FAILED"
    event = bus_event(ERROR, {"workflowkey": "order-21", "executionArn": finished})
    assert monitor_events.handler(event)["outcome"] == "dropped"
    assert TokenStore(stack.table).get("order-21")["executionArn"] == holder
    assert TokenStore(stack.table).get("order-21")["status"] == "WAITING"


def test_a_stop_event_that_outran_its_registration_is_raised_for_a_retry(stack: MonitoredStack) -> None:
    execution = stack.start("order-22")
    row = stack.registered("order-22", execution)
    dynamodb = boto3.client("dynamodb")
    item = dynamodb.get_item(TableName=stack.table, Key={"pk": {"S": "order-22"}})["Item"]
    dynamodb.delete_item(TableName=stack.table, Key={"pk": {"S": "order-22"}})  # as if not written yet
    event = bus_event(STOP, {"workflowkey": "order-22", "executionArn": execution})
    with pytest.raises(monitor_events.MonitorNotRegistered):
        monitor_events.handler(event)
    dynamodb.put_item(TableName=stack.table, Item=item)  # the monitor's write lands
    assert monitor_events.handler(event)["outcome"] == "succeeded"  # the retry completes it
    assert TokenStore(stack.table).get("order-22")["status"] == "SUCCEEDED" and row["token"]


def test_events_after_the_monitor_timed_out_are_dropped(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = build_stack(monkeypatch, work_seconds=30, timeout=1)
    execution = monitoring(stack, "order-23")
    description = wait_status(execution)
    assert description["status"] == "FAILED" and description["error"] == "MonitorTimedOut"
    time.sleep(max(0.0, TokenStore(stack.table).get("order-23")["expiresAt"] + 1 - time.time()))
    assert TokenStore(stack.table).status("order-23") == "TIMED_OUT"
    assert monitor_events.handler(bus_event(ERROR, {"workflowkey": "order-23"}))["outcome"] == "dropped"
    assert stack.no_event()  # the work was cancelled with the Parallel: no stop event


def test_aws_errors_are_raised_so_eventbridge_retries(stack: MonitoredStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monitoring(stack, "order-24")
    failing = boto3.client("dynamodb")
    stubber = Stubber(failing)
    stubber.add_client_error("update_item", "ProvisionedThroughputExceededException", http_status_code=400)
    stubber.activate()
    monkeypatch.setattr(tokens, "client", lambda service: failing if service == "dynamodb" else boto3.client(service))
    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        monitor_events.handler(bus_event(STOP, {"workflowkey": "order-24"}))


def test_a_refused_token_delivery_is_raised_and_the_retry_completes_it(
    stack: MonitoredStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    execution = monitoring(stack, "order-25")
    sfn = boto3.client("stepfunctions")
    stubber = Stubber(sfn)
    stubber.add_response("describe_execution", sfn.describe_execution(executionArn=execution))
    stubber.add_client_error("send_task_failure", "ThrottlingException", http_status_code=400)
    stubber.activate()
    monkeypatch.setattr(completion, "client", lambda service: sfn if service == "stepfunctions" else boto3.client(service))
    event = bus_event(ERROR, {"workflowkey": "order-25", "error": "Cancelled"})
    with pytest.raises(ClientError, match="Throttling"):
        monitor_events.handler(event)
    assert TokenStore(stack.table).get("order-25")["status"] == "WAITING"  # token kept for the retry
    monkeypatch.setattr(completion, "client", boto3.client)
    assert monitor_events.handler(event)["outcome"] == "failed"
    assert wait_status(execution)["error"] == "Cancelled"


# --- caller-chosen error names never steer the monitor -------------------------------------------


def test_no_event_error_name_can_steer_the_monitor(stack: MonitoredStack) -> None:
    """Every name a Retry or Catch of the monitor matches (DynamoDB's transient errors re-run its
    registration; ConditionalCheckFailed would say DuplicateWorkflowKey): an event naming it fails
    the execution once, with ExternalFailure, and the monitor registers only once."""
    reserved = reserved_error_names(definition_on_moto(2, 30, stack.bus_arn, "arn:aws:dynamodb:us-east-1:1:table/t"))
    assert {"DynamoDb.ThrottlingException", "DynamoDb.ConditionalCheckFailedException", "MonitorTimedOut"} <= set(reserved)
    keys = {f"steer-{index}": name for index, name in enumerate(reserved)}
    executions = {key: monitoring(stack, key) for key in keys}
    for key, name in keys.items():
        event = bus_event(ERROR, {"workflowkey": key, "error": name, "cause": "from outside"})
        assert monitor_events.handler(event) == {"workflowkey": key, "outcome": "failed"}
    for key, name in keys.items():
        description = wait_status(executions[key])
        assert (description["status"], description.get("error")) == ("FAILED", "ExternalFailure"), name
        assert scheduled_tasks(executions[key], "putItem") == 1, name


def test_events_holding_nan_or_infinity_are_dropped(stack: MonitoredStack) -> None:
    execution = monitoring(stack, "nan-1")
    for detail in ({"workflowkey": "nan-1", "n": float("nan")}, {"workflowkey": "nan-1", "x": [float("inf")]}):
        assert monitor_events.handler(bus_event(STOP, detail))["outcome"] == "dropped"
    assert TokenStore(stack.table).get("nan-1")["status"] == "WAITING"
    assert boto3.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING"
