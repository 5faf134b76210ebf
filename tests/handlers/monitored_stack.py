"""A MonitoredWorkflow on moto for the handler tests: the component's own ASL, with real task tokens.

moto runs no Lambda without Docker, so the monitor Task's ``lambda:invoke.waitForTaskToken`` is
swapped for ``sqs:sendMessage.waitForTaskToken`` with the very same payload; the tests then call
``monitor_register.handler`` with that payload, as Step Functions would invoke the Lambda. Everything
else is the component's rendered definition: the Parallel, the Catch, the ``putEvents`` stop event to
a real bus. A rule on the bus copies every monitoring event to a queue, from which the tests hand
the events to ``monitor_events.handler``, as the EventBridge target would.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Optional

import boto3
import pytest

from components.monitored_workflow import MONITOR_STATE, PARALLEL_STATE, monitored_definition
from components.state_machine import render
from tests.handlers.conftest import token_table

ROLE = "arn:aws:iam::123456789012:role/sfn"
SOURCE = "tests.monitored"
STOP = "StopWorkflowMonitoring"
ERROR = "WorkflowError"


@dataclass
class MonitoredStack:
    """The moto resources of one monitored workflow and helpers to drive it."""

    table: str
    bus_arn: str
    monitor_queue: str
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

    def next_registration(self, timeout: float = 10) -> dict[str, Any]:
        """The payload the next monitor Task would invoke the register Lambda with."""
        return json.loads(_receive(self.monitor_queue, timeout)["Body"])

    def next_event(self, timeout: float = 10) -> dict[str, Any]:
        """The next event the bus delivered to the monitoring rules (as the Lambda target gets it)."""
        return json.loads(_receive(self.events_queue, timeout)["Body"])

    def stop_all(self) -> None:
        """Stop what still runs, so no execution outlives the test's moto."""
        sfn = boto3.client("stepfunctions")
        for arn in (self.state_machine_arn, self.other_state_machine_arn):
            for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=execution["executionArn"])

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
    sfn = boto3.client("stepfunctions")
    deadline = time.time() + timeout
    while True:
        description = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING" or time.time() > deadline:
            return description
        time.sleep(0.05)


def definition_on_moto(work_seconds: int, timeout: int, bus_arn: str, monitor_queue: str) -> dict[str, Any]:
    """The component's rendered definition, its monitor Task sending the register payload to SQS."""
    work = {"StartAt": "Work", "States": {"Work": {"Type": "Wait", "Seconds": work_seconds, "End": True}}}
    template = monitored_definition(work, timeout, SOURCE, STOP)
    document = render(template, {"RegisterFunction": "unused", "EventBusArn": bus_arn})
    monitor = document["States"][PARALLEL_STATE]["Branches"][0]["States"][MONITOR_STATE]
    payload = copy.deepcopy(monitor["Parameters"]["Payload"])
    monitor["Resource"] = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    monitor["Parameters"] = {"QueueUrl": monitor_queue, "MessageBody": payload}
    return document


def build_stack(monkeypatch: pytest.MonkeyPatch, work_seconds: int = 2, timeout: int = 30) -> MonitoredStack:
    """Create the table, bus, rules, queues and state machines in moto; set the handlers' environment."""
    suffix = uuid.uuid4().hex[:6]
    table = token_table("monitor-tokens")
    events = boto3.client("events")
    bus_name = f"monitor-bus-{suffix}"
    bus_arn = events.create_event_bus(Name=bus_name)["EventBusArn"]
    sqs = boto3.client("sqs")
    monitor_queue = sqs.create_queue(QueueName=f"monitor-{suffix}")["QueueUrl"]
    events_queue = sqs.create_queue(QueueName=f"events-{suffix}")["QueueUrl"]
    events_queue_arn = sqs.get_queue_attributes(QueueUrl=events_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="monitoring",
        EventBusName=bus_name,
        EventPattern=json.dumps({"source": [SOURCE], "detail-type": [STOP, ERROR]}),
    )
    events.put_targets(Rule="monitoring", EventBusName=bus_name, Targets=[{"Id": "capture", "Arn": events_queue_arn}])

    sfn = boto3.client("stepfunctions")
    definition = json.dumps(definition_on_moto(work_seconds, timeout, bus_arn, monitor_queue))
    arn = sfn.create_state_machine(name=f"monitored-{suffix}", definition=definition, roleArn=ROLE)["stateMachineArn"]
    other = sfn.create_state_machine(name=f"other-{suffix}", definition=definition, roleArn=ROLE)["stateMachineArn"]
    for name, value in {
        "TABLE_NAME": table,
        "STATE_MACHINE_ARN": arn,
        "EVENT_BUS_ARN": bus_arn,
        "EVENT_SOURCE": SOURCE,
        "STOP_DETAIL_TYPE": STOP,
        "ERROR_DETAIL_TYPE": ERROR,
        "MONITOR_TIMEOUT_SECONDS": str(timeout),
    }.items():
        monkeypatch.setenv(name, value)
    return MonitoredStack(table, bus_arn, monitor_queue, events_queue, arn, other)
