"""Alarms firing on the local stack: what an operator sees with ``aws cloudwatch describe-alarms``.

The stack evaluates its alarms from what it sees (``local/alarms.py``), with 10 s periods here
(``E2E_CONFIG``). One module-scoped incident sets everything off at once, so the waits overlap: a
poisoned notification that the external service can never handle (its dead-letter queue fills), and
a chain execution whose Shout step fails once (an injected Lambda fault). The tests then read the
alarms and repair both (the dead letter removed, the execution redriven to success). Whether the
alarms returned to OK a period later is checked at the end of the session (``at_end``), from the
transitions the local stack made, so the suite does not wait out the period.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

from tests.e2e.conftest import FaultPlan

#: Seconds an alarm may take to follow its datapoints (local evaluation runs four times a second).
REACT_SECONDS = 10
#: The alarm period of the e2e stack (``sfn-patterns:alarmPeriodSeconds``).
PERIOD_SECONDS = 10


def all_alarms(stack: Any) -> list[dict[str, Any]]:
    pages = stack.client("cloudwatch").get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
    return [alarm for page in pages for alarm in page["MetricAlarms"]]


def alarm_on(stack: Any, namespace: str, metric: str, dimensions: dict[str, str]) -> dict[str, Any]:
    """The one alarm on this metric with exactly these dimensions."""
    found = [
        a for a in all_alarms(stack)
        if a["Namespace"] == namespace and a["MetricName"] == metric
        and {d["Name"]: d["Value"] for d in a["Dimensions"]} == dimensions
    ]
    assert len(found) == 1, [a["AlarmName"] for a in found]
    return found[0]


def state(stack: Any, name: str) -> str:
    return stack.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def wait_state(stack: Any, name: str, wanted: str, timeout: float = REACT_SECONDS) -> None:
    stack.wait_for(lambda: state(stack, name) == wanted, timeout, interval=0.2)


def external_service_dlq(stack: Any) -> tuple[str, str]:
    """(function name, dead-letter queue name) of the demo external service's Lambda."""
    lam = stack.client("lambda")
    function = next(f for page in lam.get_paginator("list_functions").paginate() for f in page["Functions"]
                    if f.get("Handler") == "external_service.handler")
    config = lam.get_function_event_invoke_config(FunctionName=function["FunctionName"])
    return function["FunctionName"], config["DestinationConfig"]["OnFailure"]["Destination"].split(":")[5]


@dataclass
class Incident:
    """What the module's incident set off, and the alarms that should see it."""

    chain_arn: str
    failed_execution: str
    fault_plan: FaultPlan
    fault_rule: str
    """The plan's rule failing the chain's Shout once (removed by the repair)."""
    function_name: str
    queue_name: str
    queue_url: str
    failed_alarm: str
    dlq_alarm: str
    errors_alarm: str
    inbox_url: str
    inbox_subscription: str
    repaired: dict[str, float]
    """When the dead letter was removed (``queue``) and the redrive asked (``redrive``), epoch seconds."""


def transitions(stack: Any) -> list[dict[str, Any]]:
    """Every alarm state change the local stack made so far (``GET /_local/stats``)."""
    base = "/".join(next(iter(stack.endpoints.values())).split("/")[:3])
    with urllib.request.urlopen(f"{base}/_local/stats", timeout=10) as response:
        return json.loads(response.read())["alarmTransitions"]


@pytest.fixture(scope="session")
def incident(local_stack: Any, fault_plan: FaultPlan) -> Iterator[Incident]:
    sqs, sns, sfn = local_stack.client("sqs"), local_stack.client("sns"), local_stack.client("stepfunctions")
    chain_arn = local_stack.outputs["stateMachines"]["chain"]
    function_name, queue_name = external_service_dlq(local_stack)
    # An operator's inbox on the stack's alarm topic: the notifications CloudWatch sends.
    inbox_url = sqs.create_queue(QueueName=f"alarm-inbox-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=local_stack.outputs["alarmTopic"], Protocol="sqs", Endpoint=inbox_arn,
                                 ReturnSubscriptionArn=True)["SubscriptionArn"]
    # Alarms an operator might get wrong: ExecutionsFailed by a dimension Step Functions does not report.
    cloudwatch = local_stack.client("cloudwatch")
    for alarm_name, dimensions in (
        ("wrong-dimension", [{"Name": "StateMachineName", "Value": chain_arn.split(":")[-1]}]),
        ("extra-dimension", [{"Name": "StateMachineArn", "Value": chain_arn}, {"Name": "Stage", "Value": "$default"}]),
    ):
        cloudwatch.put_metric_alarm(
            AlarmName=alarm_name, Namespace="AWS/States", MetricName="ExecutionsFailed", Dimensions=dimensions,
            Statistic="Sum", Period=PERIOD_SECONDS, EvaluationPeriods=1, Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="missing",
        )

    # The incident: a notification the external service can never handle, and a failing execution.
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if ":callback-tasks" in t["TopicArn"])
    sns.publish(TopicArn=topic, Message=json.dumps({"poisoned": True}))
    name = f"alarm-{uuid.uuid4().hex[:8]}"
    rule = fault_plan.add(id=name, service="lambda", operation="Invoke", match=["shout", name[::-1]],
                          error="ServiceUnavailable", status=503, times=1)
    failed = sfn.start_execution(stateMachineArn=chain_arn, name=name, input=json.dumps({"payload": name}))
    yield Incident(
        chain_arn=chain_arn,
        failed_execution=failed["executionArn"],
        fault_plan=fault_plan,
        fault_rule=rule,
        function_name=function_name,
        queue_name=queue_name,
        queue_url=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
        failed_alarm=alarm_on(local_stack, "AWS/States", "ExecutionsFailed", {"StateMachineArn": chain_arn})["AlarmName"],
        dlq_alarm=alarm_on(local_stack, "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name})["AlarmName"],
        errors_alarm=alarm_on(local_stack, "AWS/Lambda", "Errors", {"FunctionName": function_name})["AlarmName"],
        inbox_url=inbox_url,
        inbox_subscription=subscription,
        repaired={},
    )
    fault_plan.remove(rule)


def test_a_poisoned_delivery_lands_in_its_dead_letter_queue_and_raises_its_alarm(local_stack: Any, incident: Incident) -> None:
    wait_state(local_stack, incident.dlq_alarm, "ALARM")
    attributes = local_stack.client("sqs").get_queue_attributes(
        QueueUrl=incident.queue_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert int(attributes["ApproximateNumberOfMessages"]) >= 1
    # Each of the three tries failed: the function's errors alarm fired too.
    wait_state(local_stack, incident.errors_alarm, "ALARM")
    alarm = local_stack.client("cloudwatch").describe_alarms(AlarmNames=[incident.dlq_alarm])["MetricAlarms"][0]
    assert alarm["StateReason"].startswith("Threshold Crossed")


def failure(stack: Any, incident: Incident) -> dict[str, Any]:
    """The execution once it has failed (its Shout step's Lambda refused with a 503, retries exhausted)."""
    sfn = stack.client("stepfunctions")
    return stack.wait_for(lambda: (lambda d: d if d["status"] == "FAILED" else None)(
        sfn.describe_execution(executionArn=incident.failed_execution)), 15)


def test_a_failed_execution_raises_the_failed_executions_alarm(local_stack: Any, incident: Incident) -> None:
    failure(local_stack, incident)
    wait_state(local_stack, incident.failed_alarm, "ALARM")
    # Alarms on a dimension Step Functions does not report never see it, on AWS or here.
    try:
        assert state(local_stack, "wrong-dimension") == "INSUFFICIENT_DATA"
        assert state(local_stack, "extra-dimension") == "INSUFFICIENT_DATA"
    finally:
        local_stack.client("cloudwatch").delete_alarms(AlarmNames=["wrong-dimension", "extra-dimension"])


def test_a_redrive_to_success_keeps_the_failure_in_the_history(local_stack: Any, incident: Incident) -> None:
    sqs, sfn = local_stack.client("sqs"), local_stack.client("stepfunctions")
    failure(local_stack, incident)
    wait_state(local_stack, incident.failed_alarm, "ALARM")
    wait_state(local_stack, incident.dlq_alarm, "ALARM")
    # The operator's fix: the dead letter is removed, and the execution is redriven from Shout.
    incident.fault_plan.remove(incident.fault_rule)
    incident.repaired["queue"] = time.time()
    sqs.purge_queue(QueueUrl=incident.queue_url)
    incident.repaired["redrive"] = time.time()
    sfn.redrive_execution(executionArn=incident.failed_execution)
    redriven = local_stack.wait_for(lambda: (lambda d: d if d["status"] == "SUCCEEDED" else None)(
        sfn.describe_execution(executionArn=incident.failed_execution)), 15)
    assert redriven["redriveCount"] == 1
    # The redrive does not erase the failure: it stays in the history (and in the alarm's period).
    events = sfn.get_execution_history(executionArn=incident.failed_execution, maxResults=1000)["events"]
    types = [e["type"] for e in events]
    assert "ExecutionFailed" in types and "ExecutionRedriven" in types and types[-1] == "ExecutionSucceeded"


def test_the_alarm_topic_tells_the_operator(local_stack: Any, incident: Incident) -> None:
    sqs = local_stack.client("sqs")
    seen: dict[str, str] = {}

    def collect() -> bool:
        for message in sqs.receive_message(QueueUrl=incident.inbox_url, MaxNumberOfMessages=10).get("Messages", []):
            notification = json.loads(json.loads(message["Body"])["Message"])
            seen[notification["AlarmName"]] = notification["NewStateValue"]
            sqs.delete_message(QueueUrl=incident.inbox_url, ReceiptHandle=message["ReceiptHandle"])
        return seen.get(incident.failed_alarm) == "ALARM" and seen.get(incident.dlq_alarm) == "ALARM"

    try:
        local_stack.wait_for(collect, REACT_SECONDS, interval=0.2)
    finally:  # the inbox goes: no later test should see its queue fill as alarms change
        local_stack.client("sns").unsubscribe(SubscriptionArn=incident.inbox_subscription)
        sqs.delete_queue(QueueUrl=incident.inbox_url)


@pytest.mark.at_end
def test_the_alarms_returned_to_ok_a_period_after_the_incident(local_stack: Any, incident: Incident) -> None:
    failed_at = next(e for e in local_stack.client("stepfunctions").get_execution_history(
        executionArn=incident.failed_execution, maxResults=1000)["events"] if e["type"] == "ExecutionFailed")["timestamp"].timestamp()
    assert incident.repaired, "the repair test did not run"

    def back_to_ok(alarm: str, since: float) -> dict[str, Any] | None:
        return next((t for t in transitions(local_stack) if t["alarm"] == alarm and t["to"] == "OK" and t["at"] > since), None)

    # Later tests may set these alarms off again; the first return to OK after the repair is what counts.
    ok = local_stack.wait_for(lambda: back_to_ok(incident.failed_alarm, incident.repaired["redrive"]), PERIOD_SECONDS + REACT_SECONDS)
    assert ok["from"] == "ALARM"
    assert ok["at"] - failed_at >= PERIOD_SECONDS - 0.5  # not when the redrive succeeded: a period after the failure
    drained = local_stack.wait_for(lambda: back_to_ok(incident.dlq_alarm, incident.repaired["queue"]), PERIOD_SECONDS + REACT_SECONDS)
    assert drained["at"] - incident.repaired["queue"] >= PERIOD_SECONDS - 0.5  # the message counted for a full period
