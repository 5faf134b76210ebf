"""CallbackTaskFinalizer (common.completion) and TokenStore (common.tokens) against moto, with real task tokens from a waiting execution."""

from __future__ import annotations

import json
import threading
import time
import uuid

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.handlers.conftest import execution_status, token_table
from common.completion import (
    AlreadyCompleted,
    CallbackTaskFinalizer,
    ExecutionEnded,
    TaskReleased,
    TaskTimedOut,
    UnknownTask,
    classify_execution,
)
from common.tokens import KeyInUse, TokenStore

ROLE = "arn:aws:iam::123456789012:role/sfn"


def _waiting_execution(timeout: int = 60) -> tuple[str, str, str]:
    """Start an execution that waits on an SQS callback task; return (table, execution ARN, token)."""
    table = token_table()
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "TimeoutSeconds": timeout,
                "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(name=f"sm-{uuid.uuid4().hex[:6]}", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn, name="run-1", input="{}")["executionArn"]
    deadline = time.time() + 10
    while time.time() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])
        if messages:
            return table, execution, json.loads(messages[0]["Body"])["token"]
        time.sleep(0.05)
    raise AssertionError("the execution never sent its task token")


def _status(execution: str, until: str = "RUNNING", timeout: float = 10) -> dict:
    return execution_status(execution, timeout, until)


def test_success_completes_the_execution_once(aws: None) -> None:
    table, execution, token = _waiting_execution()
    TokenStore(table).register("task-1", token, 60, execution)
    finalizer = CallbackTaskFinalizer(table)
    finalizer.success("task-1", {"answer": 42})
    description = _status(execution)
    assert description["status"] == "SUCCEEDED"
    assert json.loads(description["output"]) == {"answer": 42}
    row = TokenStore(table).get("task-1")
    assert row["status"] == "SUCCEEDED" and "token" not in row  # the token is deleted once used
    with pytest.raises(AlreadyCompleted):
        finalizer.success("task-1", {"answer": 43})
    with pytest.raises(AlreadyCompleted):
        finalizer.heartbeat("task-1")


def test_failure_fails_the_execution_with_the_error(aws: None) -> None:
    table, execution, token = _waiting_execution()
    TokenStore(table).register("task-2", token, 60, execution)
    CallbackTaskFinalizer(table, reserved_errors=frozenset()).failure("task-2", "PaymentDeclined", "card expired")
    description = _status(execution)
    assert description["status"] == "FAILED"
    assert description["error"] == "PaymentDeclined"
    assert TokenStore(table).get("task-2")["status"] == "FAILED"


def test_unknown_key_is_refused(aws: None) -> None:
    table, _, _ = _waiting_execution()
    finalizer = CallbackTaskFinalizer(table, reserved_errors=frozenset())
    for call in (lambda: finalizer.success("nope", {}), lambda: finalizer.failure("nope", "E"), lambda: finalizer.heartbeat("nope")):
        with pytest.raises(UnknownTask):
            call()


def test_concurrent_completions_give_one_success(aws: None) -> None:
    table, execution, token = _waiting_execution()
    TokenStore(table).register("task-3", token, 60, execution)
    finalizer = CallbackTaskFinalizer(table)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def complete(n: int) -> None:
        barrier.wait()
        try:
            finalizer.success("task-3", {"by": n})
            outcomes.append("ok")
        except AlreadyCompleted:
            outcomes.append("conflict")

    threads = [threading.Thread(target=complete, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "ok"]
    assert _status(execution)["status"] == "SUCCEEDED"


def test_second_live_execution_cannot_take_the_key(aws: None) -> None:
    table, execution, token = _waiting_execution()
    store = TokenStore(table)
    store.register("order-1", token, 60, execution)
    with pytest.raises(KeyInUse):
        store.register("order-1", "other-token", 60, execution + "-other")
    assert store.get("order-1")["token"] == token  # the first execution keeps its token
    store.register("order-1", "retried-token", 60, execution)  # the same execution may re-register
    assert store.get("order-1")["token"] == "retried-token"


def test_completion_after_the_deadline_is_timed_out(aws: None) -> None:
    table, execution, token = _waiting_execution()
    store = TokenStore(table)
    store.register("task-4", token, 0, execution)
    time.sleep(1.1)
    assert store.status("task-4") == "TIMED_OUT"
    assert store.get("task-4")["status"] == "WAITING"  # the deadline has passed; nothing has marked the row yet
    with pytest.raises(TaskTimedOut):
        CallbackTaskFinalizer(table).success("task-4", {})
    # The refused claim records the timeout, as a claim that reached DescribeExecution would have.
    assert store.get("task-4")["status"] == "TIMED_OUT" and "token" not in store.get("task-4")
    store.register("task-4b", token, 0, execution)
    time.sleep(1.1)
    with pytest.raises(TaskTimedOut):
        CallbackTaskFinalizer(table).heartbeat("task-4b")
    assert store.get("task-4b")["status"] == "TIMED_OUT"


def test_a_row_left_waiting_by_an_ended_execution_is_refused_from_the_execution(aws: None) -> None:
    table, execution, token = _waiting_execution(timeout=1)
    TokenStore(table).register("task-5", token, 60, execution)
    assert _status(execution)["status"] == "FAILED"  # the task timed out in Step Functions; the row says WAITING
    finalizer = CallbackTaskFinalizer(table, reserved_errors=frozenset())
    with pytest.raises(ExecutionEnded):
        finalizer.heartbeat("task-5")
    assert TokenStore(table).get("task-5")["status"] == "ENDED"
    for call in (lambda: finalizer.success("task-5", {}), lambda: finalizer.failure("task-5", "E")):
        with pytest.raises(ExecutionEnded):
            call()


def test_an_execution_failed_with_the_patterns_timed_out_error_is_a_timed_out_task(aws: None) -> None:
    table, execution, token = _waiting_execution(timeout=1)
    TokenStore(table).register("task-5c", token, 60, execution)
    ended = _status(execution)
    assert ended["status"] == "FAILED"
    # The pattern names the error its timed-out wait ends the execution with (here the bare wait's own).
    finalizer = CallbackTaskFinalizer(table, reserved_errors=frozenset(), timed_out_error=ended["error"])
    with pytest.raises(TaskTimedOut):
        finalizer.success("task-5c", {})
    assert TokenStore(table).get("task-5c")["status"] == "TIMED_OUT"
    with pytest.raises(TaskTimedOut):  # now refused from the row, as a heartbeat is
        finalizer.heartbeat("task-5c")


@pytest.mark.parametrize("description, timed_out_error, expected", [
    ({"status": "RUNNING"}, "CallbackTimedOut", "RUNNING"),
    ({"status": "SUCCEEDED"}, "CallbackTimedOut", "SUCCEEDED"),
    ({"status": "FAILED", "error": "CallbackTimedOut"}, "CallbackTimedOut", "TIMED_OUT"),
    ({"status": "FAILED", "error": "CallbackTimedOut"}, None, "FAILED"),
    ({"status": "FAILED", "error": "PaymentDeclined"}, "CallbackTimedOut", "FAILED"),
    ({"status": "FAILED"}, "CallbackTimedOut", "FAILED"),
    ({"status": "TIMED_OUT"}, None, "TIMED_OUT"),
    ({"status": "ABORTED", "error": "CallbackTimedOut"}, "CallbackTimedOut", "ABORTED"),
    ({"status": "PENDING_REDRIVE"}, None, "FAILED"),
])
def test_classify_execution_tells_a_timed_out_wait_from_other_ends(
    description: dict[str, Any], timed_out_error: Any, expected: str
) -> None:
    assert classify_execution(description, timed_out_error) == expected


def test_token_refused_by_step_functions_marks_timed_out(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The execution still ran when asked, and its wait timed out the instant after.
    table, execution, token = _waiting_execution()
    TokenStore(table).register("task-5b", token, 60, execution)
    finalizer = CallbackTaskFinalizer(table)

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "timed out"}}, "SendTaskSuccess")

    monkeypatch.setattr(finalizer.sfn, "send_task_success", refuse)
    with pytest.raises(TaskTimedOut):
        finalizer.success("task-5b", {})
    assert TokenStore(table).get("task-5b")["status"] == "TIMED_OUT"


def test_a_completion_racing_a_cancel_leaves_the_row_released(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The completion claimed the row; a cancel then stopped the execution and released the row; the
    # token is refused. The row keeps the cancel's RELEASED, and the caller hears TaskReleased.
    table, execution, token = _waiting_execution()
    TokenStore(table).register("task-5d", token, 60, execution)
    finalizer = CallbackTaskFinalizer(table)

    def cancelled_meanwhile(**_: Any) -> None:
        assert TokenStore(table).release("task-5d", execution)
        raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "stopped"}}, "SendTaskSuccess")

    monkeypatch.setattr(finalizer.sfn, "send_task_success", cancelled_meanwhile)
    with pytest.raises(TaskReleased):
        finalizer.success("task-5d", {})
    assert TokenStore(table).get("task-5d")["status"] == "RELEASED"
    # A redrive's new wait under the key (same execution ARN) is never overwritten by the old wait's refusal.
    TokenStore(table).register("task-5d", "new-token", 60, execution)
    assert not finalizer.store.mark("task-5d", "TIMED_OUT", {"executionArn": execution}, "SUCCEEDED")
    assert TokenStore(table).get("task-5d")["status"] == "WAITING"


def test_a_release_of_a_registration_keeps_a_redrives_new_wait(aws: None) -> None:
    table, execution, token = _waiting_execution()
    store = TokenStore(table)
    store.register("task-5e", token, 60, execution)
    read = store.get("task-5e")  # a cancel or redrive read the row of the ended wait ...
    store.register("task-5e", "redriven-token", 60, execution)  # ... then a concurrent redrive's wait registered
    assert not store.release("task-5e", execution, read)
    assert store.get("task-5e")["token"] == "redriven-token"
    assert store.release("task-5e", execution, store.get("task-5e"))  # the registration read: released
    released = store.get("task-5e")
    assert released["status"] == "RELEASED" and "token" not in released
    assert store.release("task-5e", execution, released)  # a tokenless row: by its status (released again, harmless)
    assert not store.release("task-5e", "arn:aws:states:us-east-1:123456789012:execution:other:x", released)


def test_transient_aws_failure_restores_the_token(aws: None) -> None:
    table, execution, token = _waiting_execution()
    TokenStore(table).register("task-6", token, 60, execution)
    finalizer = CallbackTaskFinalizer(table)
    real_send = finalizer.sfn.send_task_success
    from botocore.exceptions import ClientError

    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "SendTaskSuccess")

    finalizer.sfn.send_task_success = throttled
    with pytest.raises(ClientError):
        finalizer.success("task-6", {"n": 1})
    row = TokenStore(table).get("task-6")
    assert row["status"] == "WAITING" and row["token"] == token  # nothing lost: a retry can complete it
    finalizer.sfn.send_task_success = real_send
    finalizer.success("task-6", {"n": 1})
    assert _status(execution)["status"] == "SUCCEEDED"
