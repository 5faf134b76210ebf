"""The local stack's StopExecution and RedriveExecution (local/sfn_operations.py), against what AWS documents.

AWS (RedriveExecution API reference, "Redriving executions" guide): a Standard execution that is
FAILED, TIMED_OUT or ABORTED can be redriven within 14 days; it continues from the unsuccessful
step with that step's input, the steps that succeeded are not run again, the name and ARN stay,
``redriveCount`` counts the redrives; anything else is ``ExecutionNotRedrivable`` with a reason.
StopExecution makes a running execution ABORTED, and its waiting task's token can no longer complete it.
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local import sfn_operations, stepfunctions
from tests.unit.test_local_stepfunctions import ROLE, sfn  # noqa: F401 - the moto + adapters fixture


@pytest.fixture
def queue() -> str:
    """An SQS queue the waiting task sends its token to."""
    return boto3.client("sqs", region_name="us-east-1").create_queue(QueueName=f"tokens-{uuid.uuid4().hex[:6]}")["QueueUrl"]


@pytest.fixture
def counter() -> str:
    """A DynamoDB table the first state counts its runs in."""
    name = f"runs-{uuid.uuid4().hex[:6]}"
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )
    return name


def definition(queue_url: str, table: str, catch: bool = False, timeout: int = 30, execution_timeout: int = 0) -> dict[str, Any]:
    """Count (a DynamoDB counter) -> Wait for a token (sent to SQS) -> Done; optionally a Catch to a Fail state."""
    wait: dict[str, Any] = {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token", "seen.$": "$.seen",
                                                              "redrives.$": "$$.Execution.RedriveCount"}},
        "TimeoutSeconds": timeout, "Next": "Done",
    }
    if catch:
        wait["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Gave up"}]
    document: dict[str, Any] = {
        "StartAt": "Count",
        "States": {
            "Count": {
                "Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {"TableName": table, "Key": {"pk": {"S.$": "$$.Execution.Name"}},
                               "UpdateExpression": "ADD runs :one", "ExpressionAttributeValues": {":one": {"N": "1"}}},
                "ResultPath": None, "Next": "Wait",
            },
            "Wait": wait,
            "Done": {"Type": "Pass", "End": True},
            "Gave up": {"Type": "Fail", "Error": "GaveUp", "Cause": "the task failed"},
        },
    }
    if execution_timeout:
        document["TimeoutSeconds"] = execution_timeout
    return document


def machine(sfn: Any, document: dict[str, Any], kind: str = "STANDARD") -> str:
    return sfn.create_state_machine(
        name=f"m-{uuid.uuid4().hex[:6]}", definition=json.dumps(document), roleArn=ROLE, type=kind
    )["stateMachineArn"]


def start(sfn: Any, arn: str, execution_input: Any = None) -> str:
    name = f"e-{uuid.uuid4().hex[:6]}"
    return sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(execution_input or {"seen": 1}))["executionArn"]


def token(queue_url: str, timeout: float = 10) -> dict[str, Any]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            return json.loads(message["Body"])
        time.sleep(0.05)
    raise AssertionError("no token was sent")


def ended(sfn: Any, execution_arn: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        description = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING" or time.monotonic() > deadline:
            return description
        time.sleep(0.05)


def runs(table: str, execution_arn: str) -> int:
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=table, Key={"pk": {"S": execution_arn.rsplit(":", 1)[1]}})["Item"]
    return int(item["runs"]["N"])


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_redrive_continues_from_the_failed_task_and_keeps_what_succeeded(sfn: Any, queue: str, counter: str) -> None:
    arn = machine(sfn, definition(queue, counter))
    execution = start(sfn, arn, {"seen": "original input"})
    first = token(queue)
    assert first["redrives"] == 0
    sfn.send_task_failure(taskToken=first["token"], error="Flaky", cause="try again")
    failed = ended(sfn, execution)
    assert failed["status"] == "FAILED" and failed["error"] == "Flaky"
    assert failed["redriveCount"] == 0 and failed["redriveStatus"] == "REDRIVABLE" and "redriveDate" not in failed

    redrive_date = sfn.redrive_execution(executionArn=execution)["redriveDate"]
    running = sfn.describe_execution(executionArn=execution)
    assert running["status"] == "RUNNING" and running["redriveCount"] == 1 and running["redriveDate"] == redrive_date
    assert running["redriveStatus"] == "NOT_REDRIVABLE"
    assert running["redriveStatusReason"] == "Execution is RUNNING and cannot be redriven"
    assert "stopDate" not in running and "error" not in running

    second = token(queue)  # the failed task runs again, with the input it had, and a new token
    assert second["seen"] == "original input" and second["redrives"] == 1 and second["token"] != first["token"]
    assert error_of(lambda: sfn.send_task_success(taskToken=first["token"], output="{}"))[0] in (
        "TaskTimedOut", "InvalidToken", "TaskDoesNotExist")
    sfn.send_task_success(taskToken=second["token"], output=json.dumps({"ok": True}))
    done = ended(sfn, execution)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"ok": True}
    assert done["executionArn"] == execution and done["startDate"] == failed["startDate"]
    assert done["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
    assert runs(counter, execution) == 1  # the state that had succeeded did not run again

    events = sfn.get_execution_history(executionArn=execution)["events"]
    types = [event["type"] for event in events]
    assert types.count("ExecutionStarted") == 1 and types.count("ExecutionRedriven") == 1
    assert types.index("ExecutionFailed") < types.index("ExecutionRedriven") < types.index("ExecutionSucceeded")
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [(e["name"], e["redriveCount"]) for e in listed] == [(execution.rsplit(":", 1)[1], 1)]


def test_a_failure_caught_into_a_fail_state_fails_again_there(sfn: Any, queue: str, counter: str) -> None:
    arn = machine(sfn, definition(queue, counter, catch=True))
    execution = start(sfn, arn)
    sfn.send_task_failure(taskToken=token(queue)["token"], error="Boom")
    assert ended(sfn, execution)["error"] == "GaveUp"
    sfn.redrive_execution(executionArn=execution)
    again = ended(sfn, execution)
    # The unsuccessful step is the Fail state (entered, never exited): a redrive runs it again.
    assert again["status"] == "FAILED" and again["error"] == "GaveUp" and again["redriveCount"] == 1
    assert runs(counter, execution) == 1
    assert boto3.client("sqs", region_name="us-east-1").receive_message(QueueUrl=queue).get("Messages") is None


def test_refusals_carry_aws_reasons(sfn: Any, queue: str, counter: str) -> None:
    arn = machine(sfn, definition(queue, counter))
    running = start(sfn, arn)
    code, message = error_of(lambda: sfn.redrive_execution(executionArn=running))
    assert code == "ExecutionNotRedrivable" and "Execution is RUNNING and cannot be redriven" in message
    sfn.send_task_success(taskToken=token(queue)["token"], output="{}")
    assert ended(sfn, running)["status"] == "SUCCEEDED"
    code, message = error_of(lambda: sfn.redrive_execution(executionArn=running))
    assert code == "ExecutionNotRedrivable" and "Execution is SUCCEEDED and cannot be redriven" in message
    unknown = running.rsplit(":", 1)[0] + ":nobody"
    assert error_of(lambda: sfn.redrive_execution(executionArn=unknown))[0] == "ExecutionDoesNotExist"


def test_the_redrivable_period_and_the_max_execution_time(sfn: Any, queue: str, counter: str) -> None:
    arn = machine(sfn, definition(queue, counter))
    old, ancient = start(sfn, arn), start(sfn, arn)
    for execution in (old, ancient):
        sfn.stop_execution(executionArn=execution)
    backend = _backend()
    now = datetime.datetime.now(tz=datetime.timezone.utc)
    backend.describe_execution(old).stop_date = now - datetime.timedelta(days=14, minutes=1)
    backend.describe_execution(ancient).start_date = now - datetime.timedelta(days=366)
    described = sfn.describe_execution(executionArn=old)
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    assert described["redriveStatusReason"] == "Execution redrivable period exceeded"
    assert "Execution redrivable period exceeded" in error_of(lambda: sfn.redrive_execution(executionArn=old))[1]
    assert "Execution has exceeded the max execution time" in error_of(
        lambda: sfn.redrive_execution(executionArn=ancient))[1]
    backend.describe_execution(old).stop_date = now - datetime.timedelta(days=13)  # still within 14 days
    sfn.redrive_execution(executionArn=old)
    assert sfn.describe_execution(executionArn=old)["redriveCount"] == 1


def test_express_executions_cannot_be_redriven(sfn: Any) -> None:
    arn = machine(sfn, {"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "No"}}}, kind="EXPRESS")
    execution = start(sfn, arn)
    ended(sfn, execution)
    code, message = error_of(lambda: sfn.redrive_execution(executionArn=execution))
    assert code == "ExecutionNotRedrivable" and "EXPRESS" in message


def test_a_client_token_makes_the_redrive_idempotent(sfn: Any, queue: str, counter: str) -> None:
    arn = machine(sfn, definition(queue, counter))
    execution = start(sfn, arn)
    sfn.send_task_failure(taskToken=token(queue)["token"], error="Flaky")
    ended(sfn, execution)
    first = sfn.redrive_execution(executionArn=execution, clientToken="same-request")["redriveDate"]
    again = sfn.redrive_execution(executionArn=execution, clientToken="same-request")["redriveDate"]
    assert first == again and sfn.describe_execution(executionArn=execution)["redriveCount"] == 1
    token(queue)  # one new wait, not two
    assert boto3.client("sqs", region_name="us-east-1").receive_message(QueueUrl=queue).get("Messages") is None


def test_stopping_a_waiting_task_aborts_at_once_and_voids_its_token(sfn: Any, queue: str, counter: str) -> None:
    arn = machine(sfn, definition(queue, counter, catch=True, timeout=2))
    execution = start(sfn, arn)
    waiting = token(queue)
    stopped = time.monotonic()
    sfn.stop_execution(executionArn=execution, error="Cancelled", cause="the operator said so")
    described = sfn.describe_execution(executionArn=execution)
    assert time.monotonic() - stopped < 1
    assert described["status"] == "ABORTED" and described["error"] == "Cancelled"
    assert described["cause"] == "the operator said so" and described["redriveStatus"] == "REDRIVABLE"
    for call in (
        lambda: sfn.send_task_success(taskToken=waiting["token"], output="{}"),
        lambda: sfn.send_task_failure(taskToken=waiting["token"], error="Late"),
        lambda: sfn.send_task_heartbeat(taskToken=waiting["token"]),
    ):
        assert error_of(call)[0] in ("TaskTimedOut", "InvalidToken")
    time.sleep(2.5)  # past the task's timeout and its Catch: nothing turns the stopped execution FAILED
    later = sfn.describe_execution(executionArn=execution)
    assert later["status"] == "ABORTED" and later["stopDate"] == described["stopDate"]
    types = [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]
    assert "ExecutionAborted" in types and "ExecutionFailed" not in types and "FailStateEntered" not in types
    # Stopping it again changes nothing.
    assert sfn.stop_execution(executionArn=execution)["stopDate"] == described["stopDate"]


def test_an_aborted_wait_redriven_waits_again(sfn: Any, queue: str, counter: str) -> None:
    arn = machine(sfn, definition(queue, counter))
    execution = start(sfn, arn)
    old = token(queue)
    sfn.stop_execution(executionArn=execution)
    sfn.redrive_execution(executionArn=execution)
    new = token(queue)
    assert new["token"] != old["token"]
    sfn.send_task_success(taskToken=new["token"], output="{}")
    assert ended(sfn, execution)["status"] == "SUCCEEDED" and runs(counter, execution) == 1


def test_a_timed_out_execution_redriven_gets_its_whole_timeout_again(sfn: Any, queue: str, counter: str) -> None:
    arn = machine(sfn, definition(queue, counter, execution_timeout=1))
    execution = start(sfn, arn)
    token(queue)
    timed_out = ended(sfn, execution)
    assert timed_out["status"] == "TIMED_OUT" and "stopDate" in timed_out
    sfn.redrive_execution(executionArn=execution)
    time.sleep(0.5)
    sfn.send_task_success(taskToken=token(queue)["token"], output="{}")
    assert ended(sfn, execution)["status"] == "SUCCEEDED"


def _backend() -> Any:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return stepfunctions_parser_backends["123456789012"]["us-east-1"]


def test_install_and_uninstall_restore_moto() -> None:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    stepfunctions.install()
    assert hasattr(StepFunctionResponse, "redrive_execution")
    stepfunctions.uninstall()
    assert not hasattr(StepFunctionResponse, "redrive_execution")
    assert "stop_execution" not in StepFunctionsParserBackend.__dict__
    assert sfn_operations.REDRIVE_WINDOW == datetime.timedelta(days=14)


def test_without_the_interpreter_moto_answers_as_before() -> None:
    from moto import mock_aws

    with mock_aws():
        stepfunctions.install()
        try:
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            arn = machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
            execution = start(sfn, arn)
            sfn.stop_execution(executionArn=execution)
            assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
            assert error_of(lambda: sfn.redrive_execution(executionArn=execution))[0] == "ExecutionNotRedrivable"
        finally:
            stepfunctions.uninstall()


def test_a_failed_parallel_reruns_only_the_branches_that_did_not_succeed(sfn: Any, queue: str, counter: str) -> None:
    count = {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem", "ResultPath": None,
        "Parameters": {"TableName": counter, "Key": {"pk": {"S.$": "$$.Execution.Name"}},
                       "UpdateExpression": "ADD runs :one", "ExpressionAttributeValues": {":one": {"N": "1"}}},
        "Next": "Counted",
    }
    wait = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token", "seen.$": "$.seen",
                                                              "redrives.$": "$$.Execution.RedriveCount"}},
            "End": True}
    arn = machine(sfn, {"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Count", "States": {"Count": count, "Counted": {"Type": "Pass", "Result": "counted", "End": True}}},
        {"StartAt": "Wait", "States": {"Wait": wait}},
    ]}}})
    execution = start(sfn, arn)
    first = token(queue)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the first branch has finished
        item = boto3.client("dynamodb", region_name="us-east-1").get_item(
            TableName=counter, Key={"pk": {"S": execution.rsplit(":", 1)[1]}}).get("Item")
        if item:
            break
        time.sleep(0.05)
    time.sleep(0.2)
    sfn.send_task_failure(taskToken=first["token"], error="Flaky")
    assert ended(sfn, execution)["status"] == "FAILED"
    sfn.redrive_execution(executionArn=execution)
    second = token(queue)
    assert second["redrives"] == 1
    sfn.send_task_success(taskToken=second["token"], output=json.dumps({"waited": True}))
    done = ended(sfn, execution)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == ["counted", {"waited": True}]
    assert runs(counter, execution) == 1  # the branch that had succeeded did not run again
