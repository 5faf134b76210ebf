"""CallbackWorkflow's routes against moto, on the component's real ASL run by moto's interpreter.

The state machine is ``callback_definition(...)`` rendered with a moto Lambda whose invocations run
``callback_register`` in-process (moto would need Docker); notifications are read from an SQS queue
subscribed to the topic, as an external party would receive them.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import boto3
import pytest

import callback_api
import callback_register
import reverse
import shout
from common.clients import client
from common.completion import CallbackTaskFinalizer
from common.task_secret import secret_hash
from common.tokens import TokenStore
from sfn_patterns.patterns.callback_workflow import callback_definition
from sfn_patterns.blocks.state_machine import RESERVED_ERRORS_ENV, render, reserved_error_names
from tests.handlers.conftest import (
    execution_status,
    http_event,
    in_process_lambdas,
    race,
    response_json,
    scheduled_tasks,
    token_table,
    topic_with_inbox,
)

API_URL = "https://cb.execute-api.us-east-1.amazonaws.com"
#: Handler modules the fake Lambda service runs in-process, by function name.
IN_PROCESS = {"register": callback_register.handler, "reverse": reverse.handler, "shout": shout.handler}


@dataclass
class CallbackStack:
    """One deployed callback workflow on moto and the means to drive it."""

    state_machine_arn: str
    table: str
    topic_arn: str
    queue_url: str

    def call(self, route_key: str, body: Any = None, path: Optional[dict[str, str]] = None,
             headers: Optional[dict[str, str]] = None, raw_body: Optional[str] = None) -> tuple[int, Any]:
        """Serve one request with ``callback_api``; (status, parsed body)."""
        response = callback_api.handler(http_event(route_key, body, path, headers, raw_body))
        return response["statusCode"], response_json(response)

    def start(self, task_id: str, task_input: Optional[dict[str, Any]] = None) -> tuple[int, Any]:
        """``POST /tasks``."""
        return self.call("POST /tasks", {"taskId": task_id, "input": task_input or {}})

    def get(self, task_id: str) -> tuple[int, Any]:
        """``GET /tasks/{taskId}``."""
        return self.call("GET /tasks/{taskId}", path={"taskId": task_id})

    def put(self, task_id: str, body: Any, secret: Optional[str] = None, raw_body: Optional[str] = None) -> tuple[int, Any]:
        """``PUT /tasks/{taskId}`` with the secret header when given."""
        headers = {"X-Task-Secret": secret} if secret is not None else {}
        return self.call("PUT /tasks/{taskId}", body, {"taskId": task_id}, headers, raw_body)

    def heartbeat(self, task_id: str, secret: Optional[str] = None) -> tuple[int, Any]:
        """``POST /tasks/{taskId}/heartbeat``."""
        headers = {"X-Task-Secret": secret} if secret is not None else {}
        return self.call("POST /tasks/{taskId}/heartbeat", None, {"taskId": task_id}, headers)

    def notification(self, task_id: str, timeout: float = 10) -> dict[str, Any]:
        """The notification the topic delivered for ``task_id`` (waits for it)."""
        sqs = boto3.client("sqs")
        deadline = time.time() + timeout
        while time.time() < deadline:
            for message in sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", []):
                body = json.loads(json.loads(message["Body"])["Message"])
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                if body["taskId"] == task_id:
                    return body
            time.sleep(0.05)
        raise AssertionError(f"no notification for task {task_id}")

    def execution(self, task_id: str, timeout: float = 10) -> dict[str, Any]:
        """The execution of ``task_id`` once it is no longer RUNNING (or after ``timeout``)."""
        return execution_status(self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{task_id}", timeout)

    def row(self, task_id: str) -> Optional[dict[str, Any]]:
        """The token row of ``task_id``."""
        return TokenStore(self.table).get(task_id)


@pytest.fixture
def make_stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., CallbackStack]]:
    """Deploy a callback workflow on moto: ``make_stack(timeout=60, heartbeat=None, before=(), after=())``."""

    def deploy(timeout: int = 60, heartbeat: Optional[int] = None, before: tuple[str, ...] = (),
               after: tuple[str, ...] = ()) -> CallbackStack:
        functions = in_process_lambdas(monkeypatch, IN_PROCESS, ("register", *before, *after))
        table = token_table()
        topic_arn, queue_url = topic_with_inbox("tasks")
        role = "arn:aws:iam::123456789012:role/sfn"
        definition = render(
            callback_definition(timeout, heartbeat, before, after),
            {"RegisterFunction": functions["register"], **{f"Handler_{m}": functions[m] for m in (*before, *after)}},
        )
        sm_arn = boto3.client("stepfunctions").create_state_machine(
            name=f"callback-{uuid.uuid4().hex[:6]}", definition=json.dumps(definition), roleArn=role
        )["stateMachineArn"]
        for key, value in {"STATE_MACHINE_ARN": sm_arn, "TABLE_NAME": table, "TOPIC_ARN": topic_arn,
                           "API_URL": API_URL, "TASK_TIMEOUT_SECONDS": str(timeout),
                           RESERVED_ERRORS_ENV: json.dumps(reserved_error_names(definition))}.items():
            monkeypatch.setenv(key, value)
        return CallbackStack(sm_arn, table, topic_arn, queue_url)

    yield deploy


@pytest.fixture
def stack(make_stack: Callable[..., CallbackStack]) -> CallbackStack:
    """A callback workflow with a 60 s timeout and no heartbeat."""
    return make_stack()


def _waiting(stack: CallbackStack, task_id: str, task_input: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Start a task and return its notification (the task then waits)."""
    assert stack.start(task_id, task_input or {"n": 1})[0] == 202
    return stack.notification(task_id)


# --- POST /tasks -------------------------------------------------------------------------------


def test_post_starts_a_task_that_waits_and_notifies(stack: CallbackStack) -> None:
    status, body = stack.start("order-1", {"amount": 5})
    assert (status, body) == (202, {"taskId": "order-1", "status": "RUNNING", "created": True})
    message = stack.notification("order-1")
    assert message["input"] == {"amount": 5}
    assert message["callbackUrl"] == f"{API_URL}/tasks/order-1"
    assert stack.get("order-1") [1]["status"] == "WAITING"


def test_post_without_task_id_generates_one(stack: CallbackStack) -> None:
    status, body = stack.call("POST /tasks", {"input": {"a": 1}})
    assert status == 202 and len(body["taskId"]) == 32 and body["status"] == "RUNNING"
    assert stack.notification(body["taskId"])["input"] == {"a": 1}


def test_repeated_post_is_the_same_task_and_other_input_conflicts(stack: CallbackStack) -> None:
    assert stack.start("order-2", {"amount": 5}) == (202, {"taskId": "order-2", "status": "RUNNING", "created": True})
    assert stack.start("order-2", {"amount": 5}) == (202, {"taskId": "order-2", "status": "RUNNING", "created": False})
    status, body = stack.start("order-2", {"amount": 6})
    assert status == 409 and body["error"] == "NameConflict"
    stack.notification("order-2")
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    assert len(executions) == 1


def test_concurrent_posts_start_one_task(stack: CallbackStack) -> None:
    results: list[tuple[int, Any]] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        barrier.wait()
        results.append(stack.start("order-3", {"x": 1}))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r[0] for r in results] == [202] * 4
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    assert len(executions) == 1


#: Bad POST bodies and the error code each gets.
BAD_POSTS = [
    ("{not json", "MalformedJson"),
    ("", "MalformedJson"),
    ("[1, 2]", "InvalidBody"),
    ('{"input": [1]}', "InvalidInput"),
    ('{"input": "text"}', "InvalidInput"),
    ('{"taskId": "has space", "input": {}}', "InvalidName"),
    ('{"taskId": "' + "x" * 81 + '", "input": {}}', "InvalidName"),
    ('{"taskId": 12, "input": {}}', "InvalidName"),
    ('{"taskId": null, "input": {}}', "MissingField"),
    ('{"input": {}, "tasId": "typo"}', "UnknownField"),
]


def test_post_refuses_bad_bodies_and_starts_nothing(stack: CallbackStack) -> None:
    for raw, code in BAD_POSTS:
        status, body = stack.call("POST /tasks", raw_body=raw)
        assert (status, body["error"]) == (400, code), raw
        assert body["message"]
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    assert executions == []


def test_post_refuses_an_input_too_large(stack: CallbackStack) -> None:
    status, body = stack.call("POST /tasks", {"input": {"blob": "x" * (256 * 1024)}})
    assert status == 413 and body["error"] == "PayloadTooLarge" and "256 KiB" not in body["message"]
    assert boto3.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)["executions"] == []


# --- GET /tasks/{taskId} -----------------------------------------------------------------------


def test_get_unknown_and_invalid_ids(stack: CallbackStack) -> None:
    status, body = stack.get("nobody")
    assert status == 404 and body["error"] == "NotFound"
    status, body = stack.get("bad id!")
    assert status == 400 and body["error"] == "InvalidName"


def test_get_follows_a_task_to_success(stack: CallbackStack) -> None:
    message = _waiting(stack, "order-4", {"amount": 7})
    status, body = stack.get("order-4")
    assert status == 200 and body["status"] == "WAITING" and body["input"] == {"amount": 7}
    assert "output" not in body and "secret" not in json.dumps(body) and "token" not in json.dumps(body).lower()
    assert stack.put("order-4", {"status": "SUCCEEDED", "output": {"paid": True}}, message["secret"]) == (
        200, {"taskId": "order-4", "status": "SUCCEEDED"})
    assert stack.execution("order-4")["status"] == "SUCCEEDED"
    status, body = stack.get("order-4")
    assert status == 200 and body["status"] == "SUCCEEDED" and body["output"] == {"paid": True}
    assert body["input"] == {"amount": 7} and body["stopDate"]
    # A repeated POST answers with the task as it is now.
    assert stack.start("order-4", {"amount": 7}) == (202, {"taskId": "order-4", "status": "SUCCEEDED", "created": False})


# --- PUT /tasks/{taskId} -----------------------------------------------------------------------


def test_put_failed_fails_the_execution_with_the_callers_error(stack: CallbackStack) -> None:
    message = _waiting(stack, "order-5")
    status, body = stack.put("order-5", {"status": "FAILED", "error": "PaymentDeclined", "cause": "card expired"},
                             message["secret"])
    assert (status, body) == (200, {"taskId": "order-5", "status": "FAILED"})
    description = stack.execution("order-5")
    assert description["status"] == "FAILED" and description["error"] == "PaymentDeclined"
    status, body = stack.get("order-5")
    assert body["status"] == "FAILED" and body["error"] == "PaymentDeclined"
    assert stack.row("order-5")["status"] == "FAILED"


def test_put_unknown_task_is_404(stack: CallbackStack) -> None:
    status, body = stack.put("ghost", {"status": "SUCCEEDED", "output": {}}, "whatever")
    assert status == 404 and body["error"] == "NotFound"
    assert stack.heartbeat("ghost", "whatever")[0] == 404


def test_put_without_or_with_wrong_secret_changes_nothing(stack: CallbackStack) -> None:
    message = _waiting(stack, "order-6")
    before = stack.row("order-6")
    status, body = stack.put("order-6", {"status": "SUCCEEDED", "output": {}})
    assert status == 401 and body["error"] == "MissingSecret"
    status, body = stack.put("order-6", {"status": "SUCCEEDED", "output": {}}, "")
    assert status == 401
    status, body = stack.put("order-6", {"status": "SUCCEEDED", "output": {}}, message["secret"] + "x")
    assert status == 403 and body["error"] == "WrongSecret"
    assert stack.heartbeat("order-6")[0] == 401
    assert stack.heartbeat("order-6", "nope")[0] == 403
    # Another task's secret does not open this one.
    other = _waiting(stack, "order-6b")
    assert stack.put("order-6", {"status": "SUCCEEDED", "output": {}}, other["secret"])[0] == 403
    assert stack.row("order-6") == before
    assert stack.get("order-6")[1]["status"] == "WAITING"
    assert stack.put("order-6", {"status": "SUCCEEDED", "output": {"ok": 1}}, message["secret"])[0] == 200


#: Bad PUT bodies (JSON value or raw text) and the error code each gets.
BAD_PUTS: list[tuple[Any, Optional[str], str]] = [
    (None, "{oops", "MalformedJson"),
    (None, "", "MalformedJson"),
    (["SUCCEEDED"], None, "InvalidBody"),
    ({}, None, "InvalidField"),
    ({"status": "DONE"}, None, "InvalidField"),
    ({"status": "succeeded"}, None, "InvalidField"),
    ({"status": "SUCCEEDED", "output": [1]}, None, "InvalidInput"),
    ({"status": "SUCCEEDED", "output": "text"}, None, "InvalidInput"),
    (None, '{"status": "SUCCEEDED", "status": "FAILED"}', "MalformedJson"),
    (None, '{"status": "SUCCEEDED", "output": {"n": 1e400}}', "MalformedJson"),
    (None, '{"status": "SUCCEEDED", "output": {"n": NaN}}', "MalformedJson"),
    ({"status": "SUCCEEDED", "error": "E"}, None, "UnknownField"),
    ({"status": "FAILED"}, None, "MissingField"),
    ({"status": "FAILED", "error": ""}, None, "MissingField"),
    ({"status": "FAILED", "error": 42}, None, "InvalidField"),
    ({"status": "FAILED", "error": "E" * 257}, None, "InvalidField"),
    ({"status": "FAILED", "error": "E", "cause": 1}, None, "InvalidField"),
    ({"status": "FAILED", "error": "E", "output": {}}, None, "UnknownField"),
    ({"status": "FAILED", "error": "States.Timeout"}, None, "ReservedError"),
    ({"status": "FAILED", "error": "CallbackTimedOut"}, None, "ReservedError"),
    ({"status": "FAILED", "error": "AwsServiceUnavailable"}, None, "ReservedError"),
    ({"status": "FAILED", "error": "Lambda.ServiceException"}, None, "ReservedError"),
    ({"status": "FAILED", "error": "States.HeartbeatTimeout"}, None, "ReservedError"),
]


def test_put_refuses_bad_bodies_and_the_task_keeps_waiting(stack: CallbackStack) -> None:
    message = _waiting(stack, "order-7")
    before = stack.row("order-7")
    for body, raw, code in BAD_PUTS:
        status, answer = stack.put("order-7", body, message["secret"], raw_body=raw)
        assert (status, answer["error"]) == (400, code), (body, raw)
        assert answer["message"]
    status, answer = stack.put("order-7", {"status": "SUCCEEDED", "output": {"blob": "x" * (256 * 1024)}}, message["secret"])
    assert (status, answer["error"]) == (413, "PayloadTooLarge")
    assert stack.row("order-7") == before
    assert stack.get("order-7")[1]["status"] == "WAITING"
    assert stack.put("order-7", {"status": "SUCCEEDED"}, message["secret"]) == (
        200, {"taskId": "order-7", "status": "SUCCEEDED"})  # output defaults to {}
    assert json.loads(stack.execution("order-7")["output"]) == {}


def test_put_on_an_invalid_task_id_is_400(stack: CallbackStack) -> None:
    status, body = stack.put("no/slash", {"status": "SUCCEEDED"}, "s")
    assert status == 400 and body["error"] == "InvalidName"


def test_second_completion_is_409_and_token_consumed_once(stack: CallbackStack) -> None:
    message = _waiting(stack, "order-8")
    assert stack.put("order-8", {"status": "SUCCEEDED", "output": {"n": 1}}, message["secret"])[0] == 200
    status, body = stack.put("order-8", {"status": "FAILED", "error": "Late"}, message["secret"])
    assert status == 409 and body["error"] == "AlreadyCompleted"
    assert stack.heartbeat("order-8", message["secret"])[0] == 409
    assert "token" not in stack.row("order-8")
    assert json.loads(stack.execution("order-8")["output"]) == {"n": 1}


def test_concurrent_completions_give_one_200_and_one_409(stack: CallbackStack) -> None:
    message = _waiting(stack, "order-9")
    results: list[int] = []
    barrier = threading.Barrier(2)

    def complete(n: int) -> None:
        barrier.wait()
        results.append(stack.put("order-9", {"status": "SUCCEEDED", "output": {"by": n}}, message["secret"])[0])

    threads = [threading.Thread(target=complete, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    assert stack.execution("order-9")["status"] == "SUCCEEDED"


def test_put_before_the_task_waits_is_409(make_stack: Callable[..., CallbackStack]) -> None:
    stack = make_stack()
    # A running execution without a token row (as before its register step ran): nothing to prove against.
    _waiting(stack, "early")
    boto3.client("dynamodb").delete_item(TableName=stack.table, Key={"pk": {"S": "early"}})
    status, body = stack.put("early", {"status": "SUCCEEDED"}, "s")
    assert status == 409 and body["error"] == "NotWaiting"
    assert stack.heartbeat("early", "s")[0] == 409


# --- heartbeat and timeouts --------------------------------------------------------------------


def test_heartbeats_keep_a_task_alive_past_its_heartbeat(make_stack: Callable[..., CallbackStack]) -> None:
    stack = make_stack(timeout=30, heartbeat=1)
    message = _waiting(stack, "beat")
    for _ in range(4):  # 2 s in all, twice the heartbeat
        assert stack.heartbeat("beat", message["secret"]) == (200, {"taskId": "beat", "status": "WAITING"})
        time.sleep(0.5)
    assert stack.get("beat")[1]["status"] == "WAITING"
    assert stack.put("beat", {"status": "SUCCEEDED", "output": {}}, message["secret"])[0] == 200
    assert stack.execution("beat")["status"] == "SUCCEEDED"


@contextlib.contextmanager
def describe_calls() -> Iterator[list[str]]:
    """The executions the handlers' Step Functions client describes while inside (one entry per call)."""
    calls: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        calls.append(params["executionArn"])

    events = client("stepfunctions").meta.events
    events.register("provide-client-params.sfn.DescribeExecution", count, unique_id="count-describe")
    try:
        yield calls
    finally:
        events.unregister("provide-client-params.sfn.DescribeExecution", unique_id="count-describe")


def test_a_completion_and_a_heartbeat_each_describe_the_execution_once(make_stack: Callable[..., CallbackStack]) -> None:
    stack = make_stack(timeout=30, heartbeat=10)
    message = _waiting(stack, "once-1")
    with describe_calls() as calls:
        assert stack.heartbeat("once-1", message["secret"])[0] == 200
    assert len(calls) == 1
    with describe_calls() as calls:
        assert stack.put("once-1", {"status": "SUCCEEDED", "output": {"n": 1}}, message["secret"])[0] == 200
    assert len(calls) == 1 and calls[0].endswith(":once-1")
    with describe_calls() as calls:  # the row says it is done: nothing to ask the execution
        assert stack.put("once-1", {"status": "SUCCEEDED"}, message["secret"])[1]["error"] == "AlreadyCompleted"
    assert calls == []


def test_missed_heartbeat_times_out_and_completion_is_410(make_stack: Callable[..., CallbackStack]) -> None:
    stack = make_stack(timeout=30, heartbeat=1)
    message = _waiting(stack, "silent")
    description = stack.execution("silent", timeout=8)
    assert description["status"] == "FAILED" and description["error"] == "CallbackTimedOut"
    status, body = stack.get("silent")
    assert body["status"] == "TIMED_OUT" and body["error"] == "CallbackTimedOut"
    assert stack.row("silent")["status"] == "WAITING"  # only the execution knows the wait is over
    with describe_calls() as calls:
        status, body = stack.put("silent", {"status": "SUCCEEDED", "output": {}}, message["secret"])
    assert status == 410 and body["error"] == "TaskTimedOut"
    assert len(calls) == 1
    assert stack.row("silent")["status"] == "TIMED_OUT"
    assert stack.heartbeat("silent", message["secret"])[0] == 410
    assert stack.put("silent", {"status": "SUCCEEDED", "output": {}}, "wrong")[0] == 403  # proof still checked


def test_task_timeout_ends_the_execution_and_completion_is_410(make_stack: Callable[..., CallbackStack]) -> None:
    stack = make_stack(timeout=2)
    message = _waiting(stack, "slow")
    description = stack.execution("slow", timeout=8)
    assert description["status"] == "FAILED" and description["error"] == "CallbackTimedOut"
    assert _states_entered(stack, "slow") == ["WaitForCallback", "CallbackTimedOut"]  # 2 states when timed out
    assert stack.get("slow")[1]["status"] == "TIMED_OUT"
    status, body = stack.put("slow", {"status": "FAILED", "error": "TooLate"}, message["secret"])
    assert status == 410 and body["error"] == "TaskTimedOut"
    # Once DynamoDB's TTL has deleted the row, the execution still tells what happened.
    boto3.client("dynamodb").delete_item(TableName=stack.table, Key={"pk": {"S": "slow"}})
    status, body = stack.put("slow", {"status": "SUCCEEDED", "output": {}}, message["secret"])
    assert status == 410 and body["error"] == "TaskTimedOut"


# --- work before and after the wait --------------------------------------------------------------


def test_before_and_after_handlers_run_around_the_wait(make_stack: Callable[..., CallbackStack]) -> None:
    stack = make_stack(before=("reverse",), after=("shout",))
    assert stack.start("chain-1", {"payload": "hi mom"})[0] == 202
    message = stack.notification("chain-1")
    assert message["input"] == {"payload": "mom ih"}  # the external party gets the prepared input
    assert stack.put("chain-1", {"status": "SUCCEEDED", "output": {"payload": "done"}}, message["secret"])[0] == 200
    description = stack.execution("chain-1")
    assert description["status"] == "SUCCEEDED"
    assert json.loads(description["output"])["body"] == {"payload": "DONE"}
    status, body = stack.get("chain-1")
    assert body["input"] == {"payload": "hi mom"} and body["output"]["body"] == {"payload": "DONE"}


def test_a_failing_before_handler_fails_the_task_without_notifying(make_stack: Callable[..., CallbackStack]) -> None:
    stack = make_stack(before=("reverse",))
    assert stack.start("chain-2", {"payload": 5})[0] == 202
    description = stack.execution("chain-2")
    assert description["status"] == "FAILED" and description["error"] == "InvalidPayload"
    assert stack.row("chain-2") is None
    assert stack.get("chain-2")[1]["status"] == "FAILED"
    assert stack.put("chain-2", {"status": "SUCCEEDED"}, "s") == (
        409, {"error": "AlreadyCompleted", "message": "the task 'chain-2' is already completed (FAILED)"})


def test_the_secret_is_stored_only_as_its_hash(stack: CallbackStack) -> None:
    message = _waiting(stack, "hash-1")
    row = stack.row("hash-1")
    assert row["secretHash"] == secret_hash(message["secret"])
    assert message["secret"] not in json.dumps(row)


def _states_entered(stack: CallbackStack, task_id: str) -> list[str]:
    arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{task_id}"
    events = boto3.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def test_transitions_and_invocations_per_task(stack: CallbackStack, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setitem(IN_PROCESS, "register", lambda event, context: calls.append("register") or
                        callback_register.handler(event, context))
    message = _waiting(stack, "count-1")
    assert stack.put("count-1", {"status": "SUCCEEDED", "output": {}}, message["secret"])[0] == 200
    assert stack.execution("count-1")["status"] == "SUCCEEDED"
    assert _states_entered(stack, "count-1") == ["WaitForCallback"]  # one state per completed task
    assert calls == ["register"]  # one Lambda invocation by the workflow



# --- Operations: cancel and redrive release the wait (common.operations) ------------------------


def test_cancel_releases_the_wait_and_its_secret_completes_nothing(stack: CallbackStack) -> None:
    message = _waiting(stack, "cancel-me")
    status, body = stack.call("DELETE /tasks/{taskId}", path={"taskId": "cancel-me"})
    assert status == 200 and body["taskId"] == "cancel-me" and body["status"] == "ABORTED"
    row = stack.row("cancel-me")
    assert row["status"] == "RELEASED" and "token" not in row
    status, body = stack.put("cancel-me", {"status": "SUCCEEDED", "output": {}}, message["secret"])
    assert status == 410 and body["error"] == "TaskReleased"
    assert stack.heartbeat("cancel-me", message["secret"])[0] == 410
    assert stack.put("cancel-me", {"status": "SUCCEEDED", "output": {}}, "wrong")[0] == 403
    status, view = stack.get("cancel-me")
    assert view["status"] == "ABORTED" and view["error"] == "Cancelled"
    assert stack.execution("cancel-me")["status"] == "ABORTED"
    assert stack.call("DELETE /tasks/{taskId}", path={"taskId": "cancel-me"})[0] == 409


def test_a_cancelled_wait_whose_row_was_not_released_is_still_410(stack: CallbackStack) -> None:
    message = _waiting(stack, "cancel-raw")
    boto3.client("stepfunctions").stop_execution(  # stopped outside the API: the row still says WAITING
        executionArn=stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":cancel-raw")
    with describe_calls() as calls:
        status, body = stack.put("cancel-raw", {"status": "SUCCEEDED", "output": {}}, message["secret"])
    assert status == 410 and body["error"] == "TaskReleased" and len(calls) == 1
    assert stack.row("cancel-raw")["status"] == "RELEASED"


def test_a_redriven_wait_registers_afresh_with_a_new_secret(stack: CallbackStack) -> None:
    first = _waiting(stack, "again", {"n": 2})
    assert stack.put("again", {"status": "FAILED", "error": "Declined"}, first["secret"])[0] == 200
    assert stack.execution("again")["status"] == "FAILED"
    status, body = stack.call("POST /tasks/{taskId}/redrive", path={"taskId": "again"})
    assert status == 202 and body["taskId"] == "again" and body["redriveCount"] == 1
    second = stack.notification("again")
    assert second["secret"] != first["secret"] and second["input"] == {"n": 2}
    assert stack.put("again", {"status": "SUCCEEDED", "output": {}}, first["secret"])[0] in (403, 410)
    assert stack.put("again", {"status": "SUCCEEDED", "output": {"ok": 1}}, second["secret"])[0] == 200
    done = stack.execution("again")
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"ok": 1}
    status, page = stack.call("GET /tasks")
    assert [(i["taskId"], i["redriveCount"]) for i in page["items"]] == [("again", 1)]


# --- Caller-chosen error names never steer the wait ----------------------------------------------


def test_no_reported_error_name_can_steer_the_wait(stack: CallbackStack) -> None:
    """Every name a Retry or Catch of the wait matches: the route refuses it (400, nothing changes);
    reported any other way (the finalizer, as a topic or bus handler would) it fails the task once."""
    reserved = reserved_error_names(callback_definition(60, None))
    assert {"AwsServiceUnavailable", "Lambda.ServiceException", "States.Timeout", "CallbackTimedOut"} <= set(reserved)
    tasks = {f"steer-{index}": name for index, name in enumerate(reserved)}
    for task, name in tasks.items():
        secret = _waiting(stack, task)["secret"]
        status, body = stack.put(task, {"status": "FAILED", "error": name}, secret)
        assert (status, body["error"]) == (400, "ReservedError") and repr(name) in body["message"]
        assert "CallbackTimedOut" in body["message"]  # the message names the reserved set
        assert stack.row(task)["status"] == "WAITING"
        CallbackTaskFinalizer(stack.table).failure(task, name, "reported from outside")
    for task, name in tasks.items():
        description = stack.execution(task)
        assert (description["status"], description.get("error")) == ("FAILED", "ExternalFailure"), name
        assert scheduled_tasks(description["executionArn"]) == 1, name  # no re-run of the register step
    with pytest.raises(AssertionError):  # and no second notification for any of them
        stack.notification(next(iter(tasks)), timeout=0.5)


def test_of_20_concurrent_starts_exactly_one_is_told_created(stack: CallbackStack) -> None:
    answers = race(20, lambda _: stack.start("race-20", {"n": 1}))
    assert [status for status, _ in answers] == [202] * 20
    assert sum(body["created"] is True for _, body in answers) == 1
    assert len(boto3.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)["executions"]) == 1
