"""The local stack's delivery adapters on moto (in-process): SNS -> Lambda, EventBridge -> targets, SQS -> Lambda.

Functions run in the in-process Lambda runtime; what each one received is recorded by the runtime.
Failures must end where AWS puts them: a function's failure destination, a subscription's redrive
queue, a target's dead-letter queue, a queue's redrive dead-letter queue.
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from moto import mock_aws

from local import environ
from local.delivery import Deliveries, json_path
from local.lambdas import Invocation, LambdaRuntime

HANDLERS = {
    "ok": "import logging\n\ndef handler(event, context):\n    print('handled', context.aws_request_id)\n    return {'ok': True}\n",
    "fail": "def handler(event, context):\n    raise RuntimeError('always fails')\n",
    "partial": "def handler(event, context):\n    return {'batchItemFailures': [{'itemIdentifier': r['messageId']}"
               " for r in event['Records'] if r['body'] == 'bad']}\n",
}


class RecordingRuntime(LambdaRuntime):
    """Runs functions in-process and records every invocation; AWS calls go to moto in-process."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, "", "us-east-1", retry_delay_seconds=0.01)
        self.calls: list[tuple[str, Any]] = []
        self.changed = threading.Condition()

    def run(self, fn: Any, event: Any) -> Invocation:
        result = super().run(fn, event)
        with self.changed:
            self.calls.append((fn.function_name, event))
            self.changed.notify_all()
        return result

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name="us-east-1")

    def events_for(self, name: str, count: int = 1, timeout: float = 5) -> list[Any]:
        with self.changed:
            self.changed.wait_for(lambda: len([c for c in self.calls if c[0] == name]) >= count, timeout)
            return [event for function, event in self.calls if function == name]


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        runtime = RecordingRuntime(tmp_path).install()
        deliveries = Deliveries(runtime, "us-east-1").install()
        lambda_ = boto3.client("lambda", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        role = boto3.client("iam", region_name="us-east-1").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        functions = {
            name: lambda_.create_function(FunctionName=name, Runtime="python3.14", Role=role, Handler="app.handler",
                                          Code={"ZipFile": _zip(source)})["FunctionArn"]
            for name, source in HANDLERS.items()
        }

        def queue(name: str, **attributes: str) -> tuple[str, str]:
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

        try:
            yield {"runtime": runtime, "functions": functions, "queue": queue, "sqs": sqs, "lambda": lambda_}
        finally:
            deliveries.stop()
            runtime.stop()
            environ.uninstall()


def receive(sqs: Any, url: str, timeout: float = 5) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages")
        if messages:
            return messages
        time.sleep(0.05)
    return []


def test_sns_invokes_the_lambda_asynchronously_with_the_real_event(cloud: dict[str, Any]) -> None:
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="t")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=cloud["functions"]["ok"],
                                 ReturnSubscriptionArn=True)["SubscriptionArn"]
    message_id = sns.publish(TopicArn=topic, Message='{"jobId": "j1"}', Subject="s",
                             MessageAttributes={"kind": {"DataType": "String", "StringValue": "resume"}})["MessageId"]
    (event,) = cloud["runtime"].events_for("ok")
    record = event["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == subscription
    assert record["Sns"]["TopicArn"] == topic and record["Sns"]["MessageId"] == message_id
    assert record["Sns"]["Message"] == '{"jobId": "j1"}' and record["Sns"]["Subject"] == "s"
    assert record["Sns"]["MessageAttributes"] == {"kind": {"Type": "String", "Value": "resume"}}

    # What the handler printed is in its log group, framed by Lambda's START / END / REPORT lines.
    logs = boto3.client("logs", region_name="us-east-1")
    messages = [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/ok")["events"]]
    request_id = messages[0].split("RequestId: ")[1].split()[0]
    assert messages[0].startswith("START RequestId:") and f"handled {request_id}" in messages
    assert messages[-2] == f"END RequestId: {request_id}" and messages[-1].startswith(f"REPORT RequestId: {request_id}")


def test_a_handler_failing_on_sns_delivery_ends_in_its_failure_destination(cloud: dict[str, Any]) -> None:
    url, arn = cloud["queue"]("fn-dlq")
    cloud["lambda"].put_function_event_invoke_config(
        FunctionName="fail", MaximumRetryAttempts=2, DestinationConfig={"OnFailure": {"Destination": arn}}
    )
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=cloud["functions"]["fail"])
    sns.publish(TopicArn=topic, Message="keep me intact")
    (message,) = receive(cloud["sqs"], url)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == "keep me intact"
    assert record["responsePayload"]["errorMessage"] == "always fails"
    assert len(cloud["runtime"].events_for("fail", 3)) == 3


def test_sns_delivery_to_a_missing_function_goes_to_the_redrive_queue(cloud: dict[str, Any]) -> None:
    url, arn = cloud["queue"]("sub-dlq")
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint="arn:aws:lambda:us-east-1:123456789012:function:gone",
                  Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn})})
    sns.publish(TopicArn=topic, Message="undeliverable")
    (message,) = receive(cloud["sqs"], url)
    assert json.loads(message["Body"])["Message"] == "undeliverable"


def test_eventbridge_rules_deliver_matching_events_to_lambda_targets(cloud: dict[str, Any]) -> None:
    events = boto3.client("events", region_name="us-east-1")
    events.create_event_bus(Name="bus")
    events.put_rule(Name="stop", EventBusName="bus", EventPattern=json.dumps(
        {"source": ["demo"], "detail-type": ["Stop"], "detail": {"key": [{"exists": True}]}}))
    events.put_targets(Rule="stop", EventBusName="bus", Targets=[
        {"Id": "whole", "Arn": cloud["functions"]["ok"]},
        {"Id": "detail", "Arn": cloud["functions"]["partial"], "InputPath": "$.detail"},
    ])
    entries = [
        {"Source": "demo", "DetailType": "Stop", "Detail": json.dumps({"key": "k1"}), "EventBusName": "bus"},
        {"Source": "demo", "DetailType": "Other", "Detail": json.dumps({"key": "k2"}), "EventBusName": "bus"},
        {"Source": "demo", "DetailType": "Stop", "Detail": json.dumps({"nokey": 1}), "EventBusName": "bus"},
    ]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    (event,) = cloud["runtime"].events_for("ok")
    assert event["source"] == "demo" and event["detail-type"] == "Stop" and event["detail"] == {"key": "k1"}
    assert event["account"] == "123456789012" and event["time"].endswith("Z") and "ingestion-time" not in event
    assert cloud["runtime"].events_for("partial") == [{"key": "k1"}]
    time.sleep(0.2)
    assert len(cloud["runtime"].events_for("ok", timeout=0)) == 1  # the other two events matched nothing


def test_disabled_rules_and_input_transformers(cloud: dict[str, Any]) -> None:
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="off", EventPattern=json.dumps({"source": ["demo"]}), State="DISABLED")
    events.put_targets(Rule="off", Targets=[{"Id": "x", "Arn": cloud["functions"]["fail"]}])
    events.put_rule(Name="on", EventPattern=json.dumps({"source": ["demo"]}))
    events.put_targets(Rule="on", Targets=[{"Id": "x", "Arn": cloud["functions"]["ok"], "InputTransformer": {
        "InputPathsMap": {"k": "$.detail.key", "n": "$.detail.n"},
        "InputTemplate": '{"workflowkey": <k>, "quoted": "key <k>", "n": <n>, "rule": "<aws.events.rule-name>"}'}}])
    events.put_events(Entries=[{"Source": "demo", "DetailType": "Any", "Detail": json.dumps({"key": "k9", "n": 3})}])
    assert cloud["runtime"].events_for("ok") == [{"workflowkey": "k9", "quoted": "key k9", "n": 3, "rule": "on"}]
    time.sleep(0.2)
    assert cloud["runtime"].events_for("fail", timeout=0) == []


def test_eventbridge_undeliverable_targets_go_to_the_target_dead_letter_queue(cloud: dict[str, Any]) -> None:
    url, arn = cloud["queue"]("rule-dlq")
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["demo"]}))
    events.put_targets(Rule="r", Targets=[{
        "Id": "gone", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:gone",
        "RetryPolicy": {"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 60}, "DeadLetterConfig": {"Arn": arn}}])
    events.put_events(Entries=[{"Source": "demo", "DetailType": "X", "Detail": json.dumps({"n": 1})}])
    (message,) = receive(cloud["sqs"], url)
    assert json.loads(message["Body"])["detail"] == {"n": 1}
    assert message["MessageAttributes"]["TARGET_ARN"]["StringValue"].endswith(":function:gone")
    assert message["MessageAttributes"]["RULE_ARN"]["StringValue"].endswith(":rule/r")


def test_eventbridge_starts_state_machine_targets(cloud: dict[str, Any]) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = sfn.create_state_machine(name="m", roleArn="arn:aws:iam::123456789012:role/r", definition=json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["demo"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "sm", "Arn": machine, "InputPath": "$.detail"}])
    events.put_events(Entries=[{"Source": "demo", "DetailType": "X", "Detail": json.dumps({"order": 5})}])

    def started() -> list[Any]:
        return sfn.list_executions(stateMachineArn=machine)["executions"]

    deadline = time.monotonic() + 5
    while not started() and time.monotonic() < deadline:
        time.sleep(0.05)
    (execution,) = started()
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == {"order": 5}


def test_sqs_event_source_mappings_poll_delete_and_redrive(cloud: dict[str, Any]) -> None:
    dlq_url, dlq_arn = cloud["queue"]("esm-dlq")
    url, arn = cloud["queue"]("work", VisibilityTimeout="1",
                              RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    cloud["lambda"].create_event_source_mapping(EventSourceArn=arn, FunctionName="partial", BatchSize=10,
                                                FunctionResponseTypes=["ReportBatchItemFailures"])
    sqs = cloud["sqs"]
    sent = time.monotonic()
    sqs.send_message(QueueUrl=url, MessageBody="good")
    assert time.monotonic() - sent < 0.5  # the sender does not wait for the consumer
    sqs.send_message(QueueUrl=url, MessageBody="bad")
    bodies = [r["body"] for event in cloud["runtime"].events_for("partial", 1) for r in event["Records"]]
    assert "good" in bodies or "bad" in bodies
    record = cloud["runtime"].events_for("partial")[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn and record["receiptHandle"]
    (dead,) = receive(sqs, dlq_url, timeout=8)
    assert dead["Body"] == "bad"
    remaining = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                        "ApproximateNumberOfMessagesNotVisible"])
    assert remaining["Attributes"] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_json_path() -> None:
    document = {"a": {"b": [1, {"c": 2}]}}
    assert json_path(document, "$") == document
    assert json_path(document, "$.a.b[1].c") == 2
    assert json_path(document, "$.a.x") is None
