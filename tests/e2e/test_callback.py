"""CallbackWorkflow end to end on the local stack, through its HTTP endpoint, as outside callers would.

The demo external service (subscribed to the workflow's topic) completes tasks by ``simulate``;
for the manual cases the test itself plays the external party: it subscribes an SQS queue to the
topic, reads the notification (task id, input, callback URL, secret) and calls back over HTTP.
Short timeouts come from ``E2E_CONFIG`` (callbackTimeoutSeconds / callbackHeartbeatSeconds).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any, Callable, Optional

import pytest

_conftest = pytest.importorskip("tests.e2e.conftest", reason="the local stack's e2e fixture has not landed yet")
E2E_CONFIG: dict[str, str] = _conftest.E2E_CONFIG
if "sfn-patterns:callbackHeartbeatSeconds" not in E2E_CONFIG:  # the stack's 300 s heartbeat is too long for e2e
    pytest.skip("E2E_CONFIG has no short callback timeouts (sfn-patterns:callback*Seconds)", allow_module_level=True)
HEARTBEAT = int(E2E_CONFIG["sfn-patterns:callbackHeartbeatSeconds"])
TIMEOUT = int(E2E_CONFIG["sfn-patterns:callbackTimeoutSeconds"])
FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT"}


@pytest.fixture(scope="module")
def base(local_stack: Any) -> str:
    """The callback endpoint's base URL."""
    return local_stack.endpoints["callback"].rstrip("/")


class Inbox:
    """An SQS queue subscribed to the workflow's topic, read as the external party reads its notifications."""

    def __init__(self, local_stack: Any) -> None:
        sns, self.sqs = local_stack.client("sns"), local_stack.client("sqs")
        topics = [t["TopicArn"] for t in sns.list_topics()["Topics"] if ":callback-tasks" in t["TopicArn"]]
        assert len(topics) == 1, topics
        self.url = self.sqs.create_queue(QueueName=f"e2e-callback-inbox-{uuid.uuid4().hex[:6]}")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topics[0], Protocol="sqs", Endpoint=queue_arn)
        self.seen: dict[str, dict[str, Any]] = {}

    def read(self, task_id: str, timeout: float = 10) -> dict[str, Any]:
        """The notification of ``task_id``."""
        deadline = time.time() + timeout
        while task_id not in self.seen and time.time() < deadline:
            for message in self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", []):
                body = json.loads(json.loads(message["Body"])["Message"])
                if isinstance(body, dict) and "taskId" in body:  # not what others publish (test_alarms' poison)
                    self.seen[body["taskId"]] = body
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            if task_id not in self.seen:
                time.sleep(0.05)
        assert task_id in self.seen, f"no notification for {task_id}"
        return self.seen[task_id]


@pytest.fixture(scope="module")
def inbox(local_stack: Any) -> Callable[[str], dict[str, Any]]:
    """An SQS queue subscribed to the workflow's topic; returns ``read(task_id) -> notification``."""
    return Inbox(local_stack).read


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _start(local_stack: Any, base: str, task_id: str, task_input: dict[str, Any]) -> tuple[int, Any]:
    status, body, _ = local_stack.request("POST", f"{base}/tasks", json={"taskId": task_id, "input": task_input})
    return status, body


def _final(local_stack: Any, base: str, task_id: str, timeout: float = 15) -> dict[str, Any]:
    """GET the task until it is SUCCEEDED, FAILED or TIMED_OUT."""
    answers: list[Any] = []

    def done() -> bool:
        status, body, _ = local_stack.request("GET", f"{base}/tasks/{task_id}")
        answers.append(body)
        return status == 200 and body["status"] in FINAL

    local_stack.wait_for(done, timeout)
    return answers[-1]


def _put(local_stack: Any, base: str, task_id: str, body: Any, secret: Optional[str]) -> tuple[int, Any]:
    headers = {"X-Task-Secret": secret} if secret is not None else {}
    status, answer, _ = local_stack.request("PUT", f"{base}/tasks/{task_id}", json=body, headers=headers)
    return status, answer


def test_demo_service_succeeds_a_task(local_stack: Any, base: str) -> None:
    task_id = _id("ok")
    assert _start(local_stack, base, task_id, {"simulate": "succeed", "n": 1}) == (
        202, {"taskId": task_id, "status": "RUNNING", "created": True})
    task = _final(local_stack, base, task_id)
    assert task["status"] == "SUCCEEDED" and task["input"] == {"simulate": "succeed", "n": 1}
    assert task["output"] == {"handledBy": "demo-external-service", "taskId": task_id,
                              "echo": {"simulate": "succeed", "n": 1}}


def test_demo_service_fails_a_task_with_its_error(local_stack: Any, base: str) -> None:
    task_id = _id("fail")
    assert _start(local_stack, base, task_id, {"simulate": "fail"})[0] == 202
    task = _final(local_stack, base, task_id)
    assert task["status"] == "FAILED" and task["error"] == "ExternalServiceFailed" and "output" not in task


def _heartbeating(local_stack: Any) -> dict[str, Any]:
    """The test as the external party of one task: proofs refused, bad bodies, heartbeats past the heartbeat
    interval, then the completion; what each step answered."""
    base, inbox = local_stack.endpoints["callback"].rstrip("/"), Inbox(local_stack).read
    task_id = _id("manual")
    seen: dict[str, Any] = {"taskId": task_id}
    seen["start"] = _start(local_stack, base, task_id, {"simulate": "ignore", "order": 7})[0]
    message = seen["message"] = inbox(task_id)
    url, secret = message["callbackUrl"], message["secret"]
    seen["heartbeat"] = local_stack.request("POST", f"{url}/heartbeat", headers={"X-Task-Secret": secret})[0]
    seen["no_secret"] = _put(local_stack, base, task_id, {"status": "SUCCEEDED", "output": {}}, None)
    seen["wrong_secret"] = _put(local_stack, base, task_id, {"status": "SUCCEEDED", "output": {}}, "guess")
    seen["wrong_secret_heartbeat"] = local_stack.request("POST", f"{url}/heartbeat", headers={"X-Task-Secret": "guess"})[0]
    seen["after_refusals"] = local_stack.request("GET", f"{base}/tasks/{task_id}")[1]["status"]
    status, body, _ = local_stack.request("PUT", url, data=b"{nope", headers={"X-Task-Secret": secret,
                                                                              "content-type": "application/json"})
    seen["malformed"] = (status, body)
    seen["bad_status"] = _put(local_stack, base, task_id, {"status": "MAYBE"}, secret)
    seen["missing_field"] = _put(local_stack, base, task_id, {"status": "FAILED"}, secret)
    seen["heartbeats"] = []
    for _ in range(3):
        status, body, _ = local_stack.request("POST", f"{url}/heartbeat", headers={"X-Task-Secret": secret})
        seen["heartbeats"].append((status, body))
        time.sleep(HEARTBEAT / 2)
    seen["after_heartbeats"] = local_stack.request("GET", f"{base}/tasks/{task_id}")[1]["status"]
    seen["complete"] = _put(local_stack, base, task_id, {"status": "SUCCEEDED", "output": {"paid": True}}, secret)
    seen["late"] = _put(local_stack, base, task_id, {"status": "FAILED", "error": "Late"}, secret)
    seen["final"] = _final(local_stack, base, task_id)
    return seen


def _ignore(local_stack: Any) -> dict[str, Any]:
    """A task nobody calls back: its id, start time, start status, notification and status once notified."""
    base, inbox = local_stack.endpoints["callback"].rstrip("/"), Inbox(local_stack).read
    task_id = _id("ignored")
    started = time.time()
    status = _start(local_stack, base, task_id, {"simulate": "ignore"})[0]
    message = inbox(task_id)
    waiting = local_stack.request("GET", f"{base}/tasks/{task_id}")[1]["status"]
    return {"taskId": task_id, "started": started, "status": status, "message": message, "waiting": waiting}


#: Started with the session (conftest ``early``): the heartbeat party's heartbeats, spaced over more than the
#: heartbeat interval, and the ignored task's heartbeat expiry run while other modules run.
EARLY = {"heartbeating": _heartbeating, "ignored": _ignore}


def test_twice_completes_exactly_once(local_stack: Any, base: str) -> None:
    task_id = _id("twice")
    assert _start(local_stack, base, task_id, {"simulate": "twice"})[0] == 202
    task = _final(local_stack, base, task_id)
    assert task["status"] == "SUCCEEDED"
    sfn = local_stack.client("stepfunctions")
    arn = local_stack.outputs["stateMachines"]["callback"].replace(":stateMachine:", ":execution:") + f":{task_id}"
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    assert [e["type"] for e in events].count("TaskSucceeded") == 1


def test_concurrent_manual_completions_give_one_200_and_one_409(local_stack: Any, base: str,
                                                                 inbox: Callable[..., dict[str, Any]]) -> None:
    task_id = _id("race")
    assert _start(local_stack, base, task_id, {"simulate": "ignore"})[0] == 202
    secret = inbox(task_id)["secret"]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def complete(outcome: dict[str, Any]) -> None:
        barrier.wait()
        statuses.append(_put(local_stack, base, task_id, outcome, secret)[0])

    threads = [threading.Thread(target=complete, args=(o,)) for o in
               ({"status": "SUCCEEDED", "output": {"by": "a"}}, {"status": "FAILED", "error": "ByB"})]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    assert _final(local_stack, base, task_id)["status"] in ("SUCCEEDED", "FAILED")


def test_repeated_and_concurrent_posts_make_one_task(local_stack: Any, base: str) -> None:
    task_id = _id("dup")
    answers: list[tuple[int, Any]] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        barrier.wait()
        answers.append(_start(local_stack, base, task_id, {"simulate": "succeed", "k": 1}))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(status == 202 and body["taskId"] == task_id for status, body in answers)
    assert sum(body["created"] is True for _, body in answers) == 1  # told to exactly one caller
    status, body = _start(local_stack, base, task_id, {"simulate": "succeed", "k": 2})
    assert status == 409 and body["error"] == "NameConflict"
    assert _final(local_stack, base, task_id)["status"] == "SUCCEEDED"
    assert _start(local_stack, base, task_id, {"simulate": "succeed", "k": 1}) == (
        202, {"taskId": task_id, "status": "SUCCEEDED", "created": False})
    assert [e["name"] for e in local_stack.executions("callback")].count(task_id) == 1


def test_bad_requests_are_4xx_and_start_nothing(local_stack: Any, base: str) -> None:
    before = len(local_stack.executions("callback"))
    json_headers = {"content-type": "application/json"}
    for data, code in [(b"{not json", "MalformedJson"), (b"[]", "InvalidBody"),
                       (b'{"taskId": "bad id", "input": {}}', "InvalidName"),
                       (b'{"input": "text"}', "InvalidInput")]:
        status, body, _ = local_stack.request("POST", f"{base}/tasks", data=data, headers=json_headers)
        assert (status, body["error"]) == (400, code), data
    assert len(local_stack.executions("callback")) == before
    assert local_stack.request("GET", f"{base}/tasks/{_id('nobody')}")[0] == 404
    assert local_stack.request("GET", f"{base}/tasks/bad!id")[0] == 400
    assert _put(local_stack, base, _id("nobody"), {"status": "SUCCEEDED"}, "s")[0] == 404
    assert local_stack.request("POST", f"{base}/tasks/{_id('nobody')}/heartbeat",
                               headers={"X-Task-Secret": "s"})[0] == 404


# Its heartbeats ran with the session (EARLY).
def test_external_party_heartbeats_and_completes_with_proof(base: str, early: dict[str, Future]) -> None:
    seen = early["test_callback:heartbeating"].result(timeout=60)
    task_id, message = seen["taskId"], seen["message"]
    assert seen["start"] == 202
    assert message["callbackUrl"] == f"{base}/tasks/{task_id}"
    assert message["input"] == {"simulate": "ignore", "order": 7}
    assert "token" not in json.dumps(message).lower()
    assert seen["heartbeat"] == 200

    # Knowing the task id is not enough: no proof 401, wrong proof 403, and the task still waits.
    status, body = seen["no_secret"]
    assert status == 401 and body["error"] == "MissingSecret"
    status, body = seen["wrong_secret"]
    assert status == 403 and body["error"] == "WrongSecret"
    assert seen["wrong_secret_heartbeat"] == 403
    assert seen["after_refusals"] == "WAITING"

    # Bad bodies: 400, the task still waits.
    status, body = seen["malformed"]
    assert status == 400 and body["error"] == "MalformedJson"
    assert seen["bad_status"][0] == 400
    assert seen["missing_field"][1]["error"] == "MissingField"

    # Heartbeats keep it alive past its heartbeat interval.
    assert seen["heartbeats"] == [(200, {"taskId": task_id, "status": "WAITING"})] * 3
    assert seen["after_heartbeats"] == "WAITING"

    assert seen["complete"] == (200, {"taskId": task_id, "status": "SUCCEEDED"})
    status, body = seen["late"]
    assert status == 409 and body["error"] == "AlreadyCompleted"
    assert seen["final"]["status"] == "SUCCEEDED" and seen["final"]["output"] == {"paid": True}


# Its task's heartbeat ran out while earlier tests ran (EARLY).
def test_ignored_task_times_out_and_a_late_callback_is_410(local_stack: Any, base: str, early: dict[str, Future]) -> None:
    ignored = early["test_callback:ignored"].result(timeout=60)
    task_id, started, message = ignored["taskId"], ignored["started"], ignored["message"]
    assert ignored["status"] == 202
    assert ignored["waiting"] == "WAITING"
    task = _final(local_stack, base, task_id, timeout=TIMEOUT + 10)
    assert task["status"] == "TIMED_OUT" and task["error"] == "CallbackTimedOut"
    assert HEARTBEAT - 0.5 <= time.time() - started  # not before the heartbeat expired
    status, body = _put(local_stack, base, task_id, {"status": "SUCCEEDED", "output": {}}, message["secret"])
    assert status == 410 and body["error"] == "TaskTimedOut"
    assert local_stack.request("POST", f"{base}/tasks/{task_id}/heartbeat",
                               headers={"X-Task-Secret": message["secret"]})[0] == 410
