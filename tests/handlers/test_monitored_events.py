"""MonitoredWorkflow's monitor against moto: registering under a workflowkey, and the bus events that end or fail it.

The state machine is the component's own definition (see monitored_stack.py); the register and event
handlers are called with exactly what Step Functions and EventBridge would hand them.
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
import monitor_register
from common.errors import AwsServiceUnavailable
from common import tokens
from common.tokens import TokenStore
from tests.handlers.monitored_stack import ERROR, SOURCE, STOP, MonitoredStack, build_stack, wait_status


@pytest.fixture
def stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[MonitoredStack]:
    stack = build_stack(monkeypatch, work_seconds=1, timeout=30)
    yield stack
    stack.stop_all()


def monitoring(stack: MonitoredStack, key: str, **start: object) -> str:
    """Start an execution for ``key`` and let its monitor register; return the execution ARN."""
    execution = stack.start(key, **start)
    assert monitor_register.handler(stack.next_registration()) == {"workflowkey": key}
    return execution


def bus_event(detail_type: str, detail: dict) -> dict:
    """An event as EventBridge hands it to the rule's Lambda target."""
    return {"version": "0", "source": SOURCE, "detail-type": detail_type, "detail": detail, "resources": []}


# --- register ----------------------------------------------------------------------------------


def test_register_stores_the_token_under_the_key_without_logging_it(stack: MonitoredStack, capsys) -> None:
    execution = stack.start("order-1")
    payload = stack.next_registration()
    assert payload["workflowkey"] == "order-1" and payload["executionArn"] == execution
    monitor_register.handler(payload)
    row = TokenStore(stack.table).get("order-1")
    assert row["status"] == "WAITING" and row["token"] == payload["taskToken"] and row["executionArn"] == execution
    assert 29 <= row["expiresAt"] - time.time() <= 31  # the row lives as long as the monitor waits (TTL)
    assert payload["taskToken"] not in capsys.readouterr().out


def test_second_live_execution_with_the_same_key_fails_fast_and_the_first_keeps_its_token(stack: MonitoredStack) -> None:
    first = monitoring(stack, "order-2")
    first_token = TokenStore(stack.table).get("order-2")["token"]
    stack.start("order-2", name="order-2-again")
    with pytest.raises(monitor_register.DuplicateWorkflowKey, match="order-2"):
        monitor_register.handler(stack.next_registration())
    row = TokenStore(stack.table).get("order-2")
    assert row["executionArn"] == first and row["token"] == first_token
    # The first execution still ends normally: its work's stop event completes its own monitor.
    assert monitor_events.handler(stack.next_event())["outcome"] == "succeeded"
    assert wait_status(first)["status"] == "SUCCEEDED"


def test_register_refuses_an_invalid_key(stack: MonitoredStack) -> None:
    with pytest.raises(monitor_register.InvalidWorkflowKey):
        monitor_register.handler({"workflowkey": "no spaces", "taskToken": "t", "executionArn": "arn"})
    with pytest.raises(monitor_register.InvalidWorkflowKey):
        monitor_register.handler({"taskToken": "t", "executionArn": "arn"})


def test_register_raises_aws_errors(stack: MonitoredStack, monkeypatch: pytest.MonkeyPatch) -> None:
    failing = boto3.client("dynamodb")
    stubber = Stubber(failing)
    stubber.add_client_error("put_item", "ProvisionedThroughputExceededException", http_status_code=400)
    stubber.activate()
    monkeypatch.setattr(tokens, "client", lambda service: failing)
    # Raised by a name the monitor's Retry knows, so a throttled table costs a retry, not the execution.
    with pytest.raises(AwsServiceUnavailable, match="ProvisionedThroughputExceeded"):
        monitor_register.handler({"workflowkey": "order-3", "taskToken": "t", "executionArn": "arn"})


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
    finished = stack.start("order-21-done", name="order-21-done")
    monitor_register.handler(stack.next_registration())
    monitor_events.handler(bus_event(ERROR, {"workflowkey": "order-21-done"}))
    assert wait_status(finished)["status"] == "FAILED"
    event = bus_event(ERROR, {"workflowkey": "order-21", "executionArn": finished})
    assert monitor_events.handler(event)["outcome"] == "dropped"
    assert TokenStore(stack.table).get("order-21")["executionArn"] == holder
    assert TokenStore(stack.table).get("order-21")["status"] == "WAITING"


def test_a_stop_event_that_outran_its_registration_is_raised_for_a_retry(stack: MonitoredStack) -> None:
    execution = stack.start("order-22")
    payload = stack.next_registration()  # the monitor has its token but has not stored it yet
    event = bus_event(STOP, {"workflowkey": "order-22", "executionArn": execution})
    with pytest.raises(monitor_events.MonitorNotRegistered):
        monitor_events.handler(event)
    monitor_register.handler(payload)
    assert monitor_events.handler(event)["outcome"] == "succeeded"  # the retry completes it


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
    stubber.add_client_error("send_task_failure", "ThrottlingException", http_status_code=400)
    stubber.activate()
    monkeypatch.setattr(tokens, "client", lambda service: sfn if service == "stepfunctions" else boto3.client(service))
    event = bus_event(ERROR, {"workflowkey": "order-25", "error": "Cancelled"})
    with pytest.raises(ClientError, match="Throttling"):
        monitor_events.handler(event)
    assert TokenStore(stack.table).get("order-25")["status"] == "WAITING"  # token kept for the retry
    monkeypatch.setattr(tokens, "client", boto3.client)
    assert monitor_events.handler(event)["outcome"] == "failed"
    assert wait_status(execution)["error"] == "Cancelled"
