"""A MonitoredWorkflow on moto for the handler tests: the component's own ASL, unchanged, with real task tokens.

The monitor Task (``aws-sdk:dynamodb:putItem.waitForTaskToken``, a JSONata state) writes the token
row itself; the ``putEvents`` stop event goes to a real bus. A rule on the bus copies every
monitoring event to a queue, from which the tests hand the events to ``monitor_events.handler``,
as the EventBridge target would.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Optional

import boto3
import pytest

from common.tokens import TokenStore
from sfn_patterns.patterns.monitored_workflow import monitored_definition
from sfn_patterns.blocks.state_machine import RESERVED_ERRORS_ENV, render, reserved_error_names
from tests.handlers.conftest import execution_status, token_table

ROLE = "arn:aws:iam::123456789012:role/sfn"
SOURCE = "tests.monitored"
STOP = "StopWorkflowMonitoring"
ERROR = "WorkflowError"


@dataclass
class MonitoredStack:
    """The moto resources of one monitored workflow and helpers to drive it."""

    table: str
    bus_arn: str
    events_queue: str
    state_machine_arn: str
    other_state_machine_arn: str

    def start(self, key: str, name: Optional[str] = None, work_input: Any = None, other: bool = False) -> str:
        """Start an execution for ``key`` (named ``name`` or the key) directly; return its ARN."""
        arn = self.other_state_machine_arn if other else self.state_machine_arn
        return boto3.client("stepfunctions").start_execution(
            stateMachineArn=arn,
            name=name or key,
            input=json.dumps({"workflowkey": key, "input": work_input or {}}),
        )["executionArn"]

    def registered(self, key: str, execution_arn: str, timeout: float = 10) -> dict[str, Any]:
        """The token row of ``key`` once ``execution_arn``'s monitor Task has written it."""
        store = TokenStore(self.table)
        deadline = time.time() + timeout
        while time.time() < deadline:
            row = store.get(key)
            if row is not None and row.get("executionArn") == execution_arn:
                return row
            time.sleep(0.05)
        raise AssertionError(f"the monitor of {execution_arn} did not register under {key!r} within {timeout} s")

    def next_event(self, timeout: float = 10) -> dict[str, Any]:
        """The next event the bus delivered to the monitoring rules (as the Lambda target gets it)."""
        return json.loads(_receive(self.events_queue, timeout)["Body"])

    def stop_all(self) -> None:
        """Stop what still runs, so no execution outlives the test's moto.

        moto cannot stop an execution in the instant after its start (its worker's environment is
        not set yet: ``AttributeError``), so a stop is tried again for up to 2 s.
        """
        sfn = boto3.client("stepfunctions")
        for arn in (self.state_machine_arn, self.other_state_machine_arn):
            for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
                for _ in range(40):
                    try:
                        sfn.stop_execution(executionArn=execution["executionArn"])
                        break
                    except AttributeError:
                        time.sleep(0.05)

    def no_event(self, detail_type: Optional[str] = None) -> bool:
        """True when the rules got no event (of ``detail_type``, if given) within a second."""
        sqs = boto3.client("sqs")
        deadline = time.time() + 1
        while time.time() < deadline:
            for message in sqs.receive_message(QueueUrl=self.events_queue, WaitTimeSeconds=0).get("Messages", []):
                if detail_type is None or json.loads(message["Body"])["detail-type"] == detail_type:
                    return False
            time.sleep(0.05)
        return True


def _receive(queue_url: str, timeout: float) -> dict[str, Any]:
    sqs = boto3.client("sqs")
    deadline = time.time() + timeout
    while time.time() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])
        if messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
            return messages[0]
        time.sleep(0.05)
    raise AssertionError(f"nothing arrived on {queue_url} within {timeout} s")


def wait_status(execution_arn: str, timeout: float = 15) -> dict[str, Any]:
    """The execution's description once it is no longer RUNNING (or after ``timeout``)."""
    return execution_status(execution_arn, timeout)


def definition_on_moto(work_seconds: int, timeout: int, bus_arn: str, table_arn: str) -> dict[str, Any]:
    """The component's rendered definition for a Wait of ``work_seconds``."""
    work = {"StartAt": "Work", "States": {"Work": {"Type": "Wait", "Seconds": work_seconds, "End": True}}}
    return render(monitored_definition(work, timeout, SOURCE, STOP), {"TokenTableArn": table_arn, "EventBusArn": bus_arn})


def build_stack(monkeypatch: pytest.MonkeyPatch, work_seconds: int = 2, timeout: int = 30) -> MonitoredStack:
    """Create the table, bus, rules, queues and state machines in moto; set the handlers' environment."""
    suffix = uuid.uuid4().hex[:6]
    table = token_table("monitor-tokens")
    events = boto3.client("events")
    bus_name = f"monitor-bus-{suffix}"
    bus_arn = events.create_event_bus(Name=bus_name)["EventBusArn"]
    sqs = boto3.client("sqs")
    events_queue = sqs.create_queue(QueueName=f"events-{suffix}")["QueueUrl"]
    events_queue_arn = sqs.get_queue_attributes(QueueUrl=events_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="monitoring",
        EventBusName=bus_name,
        EventPattern=json.dumps({"source": [SOURCE], "detail-type": [STOP, ERROR]}),
    )
    events.put_targets(Rule="monitoring", EventBusName=bus_name, Targets=[{"Id": "capture", "Arn": events_queue_arn}])

    sfn = boto3.client("stepfunctions")
    table_arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["TableArn"]
    rendered = definition_on_moto(work_seconds, timeout, bus_arn, table_arn)
    definition = json.dumps(rendered)
    arn = sfn.create_state_machine(name=f"monitored-{suffix}", definition=definition, roleArn=ROLE)["stateMachineArn"]
    other = sfn.create_state_machine(name=f"other-{suffix}", definition=definition, roleArn=ROLE)["stateMachineArn"]
    for name, value in {
        "TABLE_NAME": table,
        "STATE_MACHINE_ARN": arn,
        "EVENT_BUS_ARN": bus_arn,
        "EVENT_SOURCE": SOURCE,
        "STOP_DETAIL_TYPE": STOP,
        "ERROR_DETAIL_TYPE": ERROR,
        RESERVED_ERRORS_ENV: json.dumps(reserved_error_names(rendered)),
    }.items():
        monkeypatch.setenv(name, value)
    return MonitoredStack(table, bus_arn, events_queue, arn, other)
