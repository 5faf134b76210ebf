"""Operations end to end on the local stack: for each pattern, fail an execution, redrive it to success,
and cancel a waiting one (list, cancel and redrive through the signed HTTP routes).

The scenarios are timer-bound (heartbeats, pauses, monitor waits), so they all start at once in one
module fixture, each in its own thread, and each test asserts the outcome of its scenario: the
module costs about as long as its slowest scenario instead of their sum.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterator, Optional

import pytest

from tests.e2e.conftest import FaultPlan, LocalStackProcess


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Inbox:
    """An SQS queue subscribed to the callback topic: every notification, in order, per task."""

    def __init__(self, stack: LocalStackProcess) -> None:
        sns, self.sqs = stack.client("sns"), stack.client("sqs")
        topic = [t["TopicArn"] for t in sns.list_topics()["Topics"] if ":callback-tasks" in t["TopicArn"]][0]
        self.url = self.sqs.create_queue(QueueName=_id("e2e-ops-inbox"))["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        self.seen: dict[str, list[dict[str, Any]]] = {}

    def nth(self, task_id: str, n: int, timeout: float = 10) -> dict[str, Any]:
        """The ``n``-th (1-based) notification of ``task_id``."""
        deadline = time.monotonic() + timeout
        while len(self.seen.get(task_id, [])) < n and time.monotonic() < deadline:
            for message in self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", []):
                body = json.loads(json.loads(message["Body"])["Message"])
                self.seen.setdefault(body["taskId"], []).append(body)
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            time.sleep(0.05)
        assert len(self.seen.get(task_id, [])) >= n, f"no notification #{n} for {task_id}"
        return self.seen[task_id][n - 1]


class Scenario:
    """Drive one pattern's API: ``call(method, path, json)`` -> (status, body); ``until`` polls a GET."""

    def __init__(self, stack: LocalStackProcess, pattern: str) -> None:
        self.stack, self.base = stack, stack.endpoints[pattern].rstrip("/")

    def call(self, method: str, path: str, body: Any = None, headers: Optional[dict[str, str]] = None,
             signed: bool = True) -> tuple[int, Any]:
        status, answer, _ = self.stack.request(method, self.base + path, json=body, headers=headers, signed=signed)
        return status, answer

    def until(self, path: str, accept: Callable[[Any], bool], timeout: float = 15) -> Any:
        answers: list[Any] = []

        def probe() -> bool:
            status, body = self.call("GET", path)
            answers.append(body)
            return status == 200 and accept(body)

        self.stack.wait_for(probe, timeout, interval=0.05)
        return answers[-1]


def _chain(stack: LocalStackProcess, plan: FaultPlan) -> dict[str, Any]:
    """IdempotentApi: Shout fails once (an injected Lambda fault), the redrive runs Shout only, to success."""
    api, name = Scenario(stack, "chain"), _id("redrive")
    rule = plan.add(id=name, service="lambda", operation="Invoke", match=["shout", name[::-1]],
                    error="ServiceUnavailable", status=503, times=1)
    try:
        assert api.call("POST", "/workflow", {"name": name, "input": {"payload": name}})[0] == 201
        failed = api.until(f"/workflow/{name}", lambda b: b["status"] != "RUNNING")
    finally:
        plan.remove(rule)
    listed = api.call("GET", "/workflow?status=FAILED&limit=1000")[1]
    redrive = api.call("POST", f"/workflow/{name}/redrive")
    done = api.until(f"/workflow/{name}", lambda b: b["status"] != "RUNNING")
    arn = stack.outputs["stateMachines"]["chain"].replace(":stateMachine:", ":execution:") + f":{name}"
    events = stack.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]
    return {"name": name, "failed": failed, "listed": listed, "redrive": redrive, "done": done, "entered": entered,
            "again": api.call("POST", f"/workflow/{name}/redrive"), "cancel_ended": api.call("DELETE", f"/workflow/{name}"),
            "cancel_unknown": api.call("DELETE", f"/workflow/{_id('nobody')}")}


def _callback_redrive(stack: LocalStackProcess, inbox: Inbox) -> dict[str, Any]:
    """CallbackWorkflow: the callback reports a failure; the redrive waits afresh (new secret) and succeeds."""
    api, task = Scenario(stack, "callback"), _id("redrive")
    assert api.call("POST", "/tasks", {"taskId": task, "input": {"simulate": "ignore"}})[0] == 202
    first = inbox.nth(task, 1)
    failed_put = api.call("PUT", f"/tasks/{task}", {"status": "FAILED", "error": "Declined"},
                          {"X-Task-Secret": first["secret"]}, signed=False)
    failed = api.until(f"/tasks/{task}", lambda b: b["status"] != "RUNNING" and b["status"] != "WAITING")
    redrive = api.call("POST", f"/tasks/{task}/redrive")
    second = inbox.nth(task, 2)
    old_secret = api.call("PUT", f"/tasks/{task}", {"status": "SUCCEEDED", "output": {}},
                          {"X-Task-Secret": first["secret"]}, signed=False)
    new_secret = api.call("PUT", f"/tasks/{task}", {"status": "SUCCEEDED", "output": {"fixed": True}},
                          {"X-Task-Secret": second["secret"]}, signed=False)
    done = api.until(f"/tasks/{task}", lambda b: b["status"] not in ("RUNNING", "WAITING"))
    return {"failed_put": failed_put, "failed": failed, "redrive": redrive, "first": first, "second": second,
            "old_secret": old_secret, "new_secret": new_secret, "done": done}


def _callback_cancel(stack: LocalStackProcess, inbox: Inbox) -> dict[str, Any]:
    """CallbackWorkflow: a waiting task cancelled; its secret then completes nothing."""
    api, task = Scenario(stack, "callback"), _id("cancel")
    assert api.call("POST", "/tasks", {"taskId": task, "input": {"simulate": "ignore"}})[0] == 202
    secret = inbox.nth(task, 1)["secret"]
    waiting = api.until(f"/tasks/{task}", lambda b: b["status"] == "WAITING")
    cancel = api.call("DELETE", f"/tasks/{task}")
    put = api.call("PUT", f"/tasks/{task}", {"status": "SUCCEEDED", "output": {}}, {"X-Task-Secret": secret}, signed=False)
    heartbeat = api.call("POST", f"/tasks/{task}/heartbeat", None, {"X-Task-Secret": secret}, signed=False)
    return {"waiting": waiting, "cancel": cancel, "put": put, "heartbeat": heartbeat,
            "after": api.call("GET", f"/tasks/{task}")[1], "again": api.call("DELETE", f"/tasks/{task}")}


def _pausable_redrive(stack: LocalStackProcess) -> dict[str, Any]:
    """PausableWorkflow: a manual job resumed as FAILED; redriven, it pauses again and completes."""
    api, job = Scenario(stack, "pausable"), _id("redrive")
    assert api.call("POST", "/jobs", {"jobId": job, "manual": True, "input": {"n": 1}})[0] == 202
    api.until(f"/jobs/{job}", lambda b: b["status"] == "PAUSED")
    assert api.call("POST", f"/jobs/{job}/resume", {"status": "FAILED", "error": "Broken", "cause": "x"})[0] == 202
    failed = api.until(f"/jobs/{job}", lambda b: b["status"] == "FAILED")
    redrive = api.call("POST", f"/jobs/{job}/redrive")
    paused = api.until(f"/jobs/{job}", lambda b: b["status"] == "PAUSED")
    resume = api.call("POST", f"/jobs/{job}/resume", {"status": "SUCCEEDED", "output": {"fixed": True}})
    done = api.until(f"/jobs/{job}", lambda b: b["status"] not in ("RUNNING", "PAUSED"))
    return {"failed": failed, "redrive": redrive, "paused": paused, "resume": resume, "done": done}


def _pausable_cancel(stack: LocalStackProcess) -> dict[str, Any]:
    """PausableWorkflow: a paused job cancelled; a resume of it is refused."""
    api, job = Scenario(stack, "pausable"), _id("cancel")
    assert api.call("POST", "/jobs", {"jobId": job, "manual": True, "input": {}})[0] == 202
    api.until(f"/jobs/{job}", lambda b: b["status"] == "PAUSED")
    cancel = api.call("DELETE", f"/jobs/{job}")
    resume = api.call("POST", f"/jobs/{job}/resume", {"status": "SUCCEEDED", "output": {}})
    return {"cancel": cancel, "resume": resume, "after": api.call("GET", f"/jobs/{job}")[1]}


def _monitored_redrive(stack: LocalStackProcess) -> dict[str, Any]:
    """MonitoredWorkflow: a WorkflowError fails it; the redrive runs the Parallel again and the work ends it."""
    api, key = Scenario(stack, "monitored"), _id("redrive")
    assert api.call("POST", "/monitored", {"workflowkey": key, "input": {}})[0] == 202
    api.until(f"/monitored/{key}", lambda b: b["monitor"] == "WAITING")
    assert api.call("POST", f"/monitored/{key}/events", {"message": "WorkflowError", "error": "Broken"})[0] == 202
    failed = api.until(f"/monitored/{key}", lambda b: b["status"] != "RUNNING")
    redrive = api.call("POST", f"/monitored/{key}/redrive")
    done = api.until(f"/monitored/{key}", lambda b: b["status"] != "RUNNING")
    return {"failed": failed, "redrive": redrive, "done": done}


def _monitored_cancel(stack: LocalStackProcess) -> dict[str, Any]:
    """MonitoredWorkflow: a monitored execution cancelled while it waits; its key takes no event."""
    api, key = Scenario(stack, "monitored"), _id("cancel")
    assert api.call("POST", "/monitored", {"workflowkey": key, "input": {}})[0] == 202
    api.until(f"/monitored/{key}", lambda b: b["monitor"] == "WAITING")
    cancel = api.call("DELETE", f"/monitored/{key}")
    event = api.call("POST", f"/monitored/{key}/events", {"message": "StopWorkflowMonitoring"})
    return {"cancel": cancel, "event": event, "after": api.call("GET", f"/monitored/{key}")[1]}


@pytest.fixture(scope="module")
def outcomes(local_stack: LocalStackProcess, fault_plan: FaultPlan) -> Iterator[dict[str, Future]]:
    """Every scenario, started at once; tests read their own one's result."""
    inbox = Inbox(local_stack)
    pool = ThreadPoolExecutor(max_workers=7)
    futures = {
        "chain": pool.submit(_chain, local_stack, fault_plan),
        "callback_redrive": pool.submit(_callback_redrive, local_stack, inbox),
        "pausable_redrive": pool.submit(_pausable_redrive, local_stack),
        "pausable_cancel": pool.submit(_pausable_cancel, local_stack),
        "monitored_redrive": pool.submit(_monitored_redrive, local_stack),
        "monitored_cancel": pool.submit(_monitored_cancel, local_stack),
    }
    # The inbox is shared: its two callback scenarios read it one after the other, in one thread.
    futures["callback_cancel"] = pool.submit(lambda: (futures["callback_redrive"].exception(), _callback_cancel(local_stack, inbox))[1])
    yield futures
    pool.shutdown(wait=True)


def result(outcomes: dict[str, Future], name: str) -> dict[str, Any]:
    return outcomes[name].result(timeout=60)


def test_idempotent_api_redrives_a_failed_execution_from_its_failed_state(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "chain")
    assert run["failed"]["status"] == "FAILED" and run["failed"]["error"] == "Exception"
    assert run["name"] in [item["name"] for item in run["listed"]["items"]]
    assert all(item["status"] == "FAILED" for item in run["listed"]["items"])
    assert run["redrive"][0] == 202 and run["redrive"][1]["redriveCount"] == 1
    assert run["redrive"][1]["status"] in ("RUNNING", "SUCCEEDED")  # Shout alone may be done by the answer
    assert run["done"]["status"] == "SUCCEEDED" and run["done"]["output"]["body"] == {"payload": run["name"][::-1].upper()}
    assert run["entered"] == ["Reverse", "Shout", "Shout"]  # Reverse had succeeded: not run again
    assert run["again"][0] == 409 and "Execution is SUCCEEDED and cannot be redriven" in run["again"][1]["message"]
    assert run["cancel_ended"][0] == 409 and run["cancel_ended"][1]["error"] == "NotRunning"
    assert run["cancel_unknown"][0] == 404


def test_callback_redrive_waits_afresh_with_a_new_secret(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "callback_redrive")
    assert run["failed_put"][0] == 200 and run["failed"]["status"] == "FAILED" and run["failed"]["error"] == "Declined"
    assert run["redrive"][0] == 202 and run["redrive"][1]["redriveCount"] == 1
    assert run["second"]["secret"] != run["first"]["secret"] and run["second"]["input"] == {"simulate": "ignore"}
    assert run["old_secret"][0] in (403, 410), run["old_secret"]
    assert run["new_secret"][0] == 200
    assert run["done"]["status"] == "SUCCEEDED" and run["done"]["output"] == {"fixed": True}


def test_a_cancelled_callback_task_is_aborted_and_its_secret_completes_nothing(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "callback_cancel")
    assert run["waiting"]["status"] == "WAITING"
    assert run["cancel"][0] == 200 and run["cancel"][1]["status"] == "ABORTED"
    assert run["put"][0] == 410 and run["heartbeat"][0] == 410
    assert run["after"]["status"] == "ABORTED"
    assert run["again"][0] == 409


def test_pausable_redrive_pauses_again_and_completes(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "pausable_redrive")
    assert run["failed"]["error"] == "Broken"
    assert run["redrive"][0] == 202 and run["redrive"][1]["redriveCount"] == 1
    assert run["paused"]["status"] == "PAUSED" and run["resume"][0] == 202
    assert run["done"]["status"] == "SUCCEEDED"


def test_a_cancelled_pause_takes_no_resume(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "pausable_cancel")
    assert run["cancel"][0] == 200 and run["cancel"][1]["status"] == "ABORTED"
    assert run["resume"][0] == 409 and run["resume"][1]["error"] == "NotPaused"
    assert run["after"]["status"] == "ABORTED"


def test_monitored_redrive_runs_the_work_again_to_success(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "monitored_redrive")
    assert run["failed"]["status"] == "FAILED" and run["failed"]["error"] == "Broken"
    assert run["redrive"][0] == 202 and run["redrive"][1]["redriveCount"] == 1
    assert run["done"]["status"] == "SUCCEEDED", run["done"]


def test_a_cancelled_monitored_execution_takes_no_event(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "monitored_cancel")
    assert run["cancel"][0] == 200 and run["cancel"][1]["status"] == "ABORTED"
    assert run["event"][0] == 404
    assert run["after"]["status"] == "ABORTED" and run["after"]["monitor"] == "RELEASED"


def test_bad_list_parameters_are_400(local_stack: LocalStackProcess) -> None:
    api = Scenario(local_stack, "pausable")
    for query in ("status=NOPE", "limit=0", "limit=abc", "nextToken=forged", "page=2"):
        status, body = api.call("GET", f"/jobs?{query}")
        assert status == 400 and body["error"] in ("InvalidStatus", "InvalidLimit", "InvalidNextToken", "UnknownParameter")
