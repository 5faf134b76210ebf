"""The example workflows whose services moto emulates, run on the local stack's materialization (MotoCloud + adapters).

Each example of examples/workflows/ is deployed by ``Workflow`` under ``MotoCloud`` (the local stack's
resource materializer) against moto in-process, started, and checked by what it did to its resources.
(Lambda needs the local stack's in-process runtime: the Lambda example runs in the e2e suite's chain;
ECS, Batch, Glue, Bedrock and the HTTP Task are not emulated by moto's interpreter.)
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pulumi
import pulumi_aws as aws
import pytest
from moto import mock_aws

from local import stepfunctions
from local.cloud import MotoCloud
from local.program import run_inline
from sfn_patterns.patterns.workflow import Workflow
from tests.unit.helpers import InProcessAws

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
ROLE = "arn:aws:iam::123456789012:role/sfn"


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")  # as the local stack does (StartSyncExecution)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        stepfunctions.install()
        try:
            yield
        finally:
            stepfunctions.uninstall()


def deploy(file: str, resources: Callable[[], dict[str, Any]]) -> tuple[str, dict[str, str]]:
    """Declare ``resources()`` and the example Workflow over them; their resolved values and the machine's ARN."""
    out: dict[str, Any] = {}

    def program() -> None:
        values = resources()
        wf = Workflow("example", {"definition_file": str(EXAMPLES / file), "substitutions": values})
        pulumi.Output.all(wf.arn, pulumi.Output.all(**values)).apply(lambda v: out.update(arn=v[0], values=v[1]))

    run_inline(MotoCloud(InProcessAws(), "http://127.0.0.1:1"), program)  # type: ignore[arg-type]
    return out["arn"], out["values"]


def run(arn: str, execution_input: Any) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))["executionArn"]
    deadline = time.monotonic() + 20
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    return sfn.describe_execution(executionArn=execution)


def _table() -> aws.dynamodb.Table:
    return aws.dynamodb.Table("orders", attributes=[{"name": "pk", "type": "S"}], hash_key="pk", billing_mode="PAY_PER_REQUEST")


def test_dynamodb_example_puts_gets_updates_and_deletes(moto: None) -> None:
    arn, values = deploy("dynamodb.yaml", lambda: {"OrdersTable": _table().arn})
    description = run(arn, {"id": "o-1"})
    assert description["status"] == "SUCCEEDED", description
    assert json.loads(description["output"])["item"]["Item"]["pk"] == {"S": "o-1"}
    table = values["OrdersTable"].split("/")[-1]
    assert "Item" not in boto3.client("dynamodb", region_name="us-east-1").get_item(TableName=table, Key={"pk": {"S": "o-1"}})


def test_eventbridge_example_puts_an_event_on_the_bus(moto: None) -> None:
    arn, _ = deploy("eventbridge.yaml", lambda: {"OrdersBus": aws.cloudwatch.EventBus("orders").arn})
    description = run(arn, {"order": 1})
    assert description["status"] == "SUCCEEDED", description
    assert json.loads(description["output"])["FailedEntryCount"] == 0


def test_messaging_example_publishes_then_waits_for_the_queue_consumer(moto: None) -> None:
    arn, values = deploy("messaging.yaml", lambda: {
        "NoticeTopic": aws.sns.Topic("notices").arn, "WorkQueueUrl": aws.sqs.Queue("work").url})
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"job": 7}))["executionArn"]
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages: list[Any] = []
    deadline = time.monotonic() + 10
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=values["WorkQueueUrl"], WaitTimeSeconds=1).get("Messages", [])
    body = json.loads(messages[0]["Body"])
    assert body["input"] == {"job": 7}
    sfn.send_task_success(taskToken=body["token"], output=json.dumps({"done": True}))
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    done = sfn.describe_execution(executionArn=execution)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"done": True})


def test_jsonata_example_saves_then_tells(moto: None) -> None:
    arn, values = deploy("jsonata.yaml", lambda: {"OrdersTable": _table().arn, "NoticeTopic": aws.sns.Topic("notices").arn})
    description = run(arn, {"id": "o-2"})
    assert description["status"] == "SUCCEEDED", description
    table = values["OrdersTable"].split("/")[-1]
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(TableName=table, Key={"pk": {"S": "o-2"}})["Item"]
    assert abs(int(item["at"]["N"]) / 1000 - time.time()) < 30  # $millis() at run time
    assert "MessageId" in json.loads(description["output"])


def test_nested_example_runs_every_start_pattern(moto: None) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    child = sfn.create_state_machine(name="child", roleArn=ROLE, definition=json.dumps({
        "StartAt": "Token?", "States": {
            "Token?": {"Type": "Choice", "Choices": [{"Variable": "$.token", "IsPresent": True, "Next": "Answer"}],
                       "Default": "Done"},
            "Answer": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:sendTaskSuccess",
                       "Parameters": {"TaskToken.$": "$.token", "Output": "{\"answered\": true}"}, "End": True},
            "Done": {"Type": "Pass", "Result": {"child": "done"}, "End": True}}}))["stateMachineArn"]
    express = sfn.create_state_machine(name="express-child", type="EXPRESS", roleArn=ROLE, definition=json.dumps({
        "StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "Parameters": {"echo.$": "$.n"}, "End": True}}}))["stateMachineArn"]
    arn, _ = deploy("nested.yaml", lambda: {"Child": child, "ExpressChild": express})
    description = run(arn, {"n": 5})
    assert description["status"] == "SUCCEEDED", description
    output = json.loads(description["output"])
    assert output["Status"] == "SUCCEEDED" and json.loads(output["Output"]) == {"echo": 5}
    started = sfn.list_executions(stateMachineArn=child)["executions"]
    assert len(started) == 4  # startExecution, .sync, .sync:2, .waitForTaskToken


def test_aws_sdk_example_reads_writes_receives_and_queries(moto: None) -> None:
    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="api-key", SecretString="s3cr3t")["ARN"]
    arn, values = deploy("aws_sdk.yaml", lambda: {
        "Bucket": aws.s3.Bucket("orders").bucket, "WorkQueueUrl": aws.sqs.Queue("work").url,
        "OrdersTable": _table().arn, "ApiSecret": secret})
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=values["Bucket"], Key="inbox/order.json", Body=b'{"order": 1}')
    description = run(arn, {})
    assert description["status"] == "SUCCEEDED", description
    assert s3.get_object(Bucket=values["Bucket"], Key="outbox/order.json")["Body"].read() == b'{"order": 1}'
    assert json.loads(description["output"])["Count"] == 0
