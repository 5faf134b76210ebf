"""Injected faults through the local stack: failing dependencies never lose work.

Faults come from ``local/faults.py``: the stack runs with ``--faults <plan>``, and each scenario adds
rules to that plan (the session's :class:`~tests.e2e.conftest.FaultPlan`) to make chosen AWS API
calls INSIDE the stack fail (as errors that outlasted the SDK's own retries), matched to its own
job/task/key so nothing else is hit. The plan's log proves each fault really fired. Timings come
from ``E2E_CONFIG`` and the stack's shortened asynchronous retry delay (0.1 s, then 0.2 s; Lambda's
defaults: 2 retries).

The scenarios wait on retries, dead-letter queues, the monitored work's 2 s and the losers of a race,
so they all start at once in one module fixture, each in its own thread, and each test asserts the
outcome of its own scenario: the module costs about as long as its slowest scenario.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import Future
from functools import partial
from typing import Any, Callable, Iterator

import pytest

from tests.e2e.conftest import FaultPlan, LocalStackProcess, run_together

FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _history(stack: Any, pattern: str, name: str) -> list[dict[str, Any]]:
    arn = stack.outputs["stateMachines"][pattern].replace(":stateMachine:", ":execution:") + f":{name}"
    return stack.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]


def _token_completions(stack: Any, pattern: str, name: str, detail: bool = False) -> Any:
    """Completions (TaskSucceeded/TaskFailed) of the execution's ``.waitForTaskToken`` task."""
    found = []
    for event in _history(stack, pattern, name):
        details = event.get("taskSucceededEventDetails") or event.get("taskFailedEventDetails") or {}
        if event["type"] in ("TaskSucceeded", "TaskFailed") and details.get("resource", "").endswith("waitForTaskToken"):
            found.append(event["type"])
    return found if detail else len(found)


def _execution(stack: Any, pattern: str, name: str) -> dict[str, Any]:
    arn = stack.outputs["stateMachines"][pattern].replace(":stateMachine:", ":execution:") + f":{name}"
    return stack.client("stepfunctions").describe_execution(executionArn=arn)


def _final(stack: Any, pattern: str, name: str, timeout: float = 15) -> dict[str, Any]:
    return stack.wait_for(lambda: (lambda d: d if d["status"] in FINAL else None)(_execution(stack, pattern, name)), timeout)


def _topic(stack: Any, fragment: str) -> str:
    topics = [t["TopicArn"] for t in stack.client("sns").list_topics()["Topics"] if fragment in t["TopicArn"]]
    assert len(topics) == 1, topics
    return topics[0]


def _dead_letter_queue(stack: Any, handler_module: str) -> str:
    """URL of the on-failure destination queue of the function running ``handler_module``."""
    lam = stack.client("lambda")
    functions = [f for page in lam.get_paginator("list_functions").paginate() for f in page["Functions"]
                 if f.get("Handler") == f"{handler_module}.handler"]
    assert len(functions) == 1, [f["FunctionName"] for f in functions]
    config = lam.get_function_event_invoke_config(FunctionName=functions[0]["FunctionName"])
    arn = config["DestinationConfig"]["OnFailure"]["Destination"]
    return stack.client("sqs").get_queue_url(QueueName=arn.split(":")[5])["QueueUrl"]


def _dead_letter(stack: Any, queue_url: str, matches: Callable[[dict[str, Any]], bool], timeout: float = 15) -> dict[str, Any]:
    """The first invocation record in the queue whose request payload ``matches`` (removed from the queue)."""
    sqs = stack.client("sqs")

    def look() -> Any:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []):
            record = json.loads(message["Body"])
            if matches(record.get("requestPayload") or {}):
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                return record
        return None

    return stack.wait_for(look, timeout, interval=0.2)


def _start_manual_job(stack: Any, job_id: str) -> str:
    base = stack.endpoints["pausable"].rstrip("/")
    assert stack.request("POST", f"{base}/jobs", json={"jobId": job_id, "manual": True, "input": {"n": 1}})[0] == 202
    stack.wait_for(lambda: stack.request("GET", f"{base}/jobs/{job_id}")[1].get("status") == "PAUSED", 10)
    return base


# --- A Lambda that fails transiently is retried and the execution succeeds --------------------------


def _throttled_lambda(stack: LocalStackProcess, plan: FaultPlan) -> dict[str, Any]:
    """The callback wait invokes its register Lambda; Lambda answers 429 TooManyRequestsException once."""
    task_id = _id("throttled")
    rule = plan.add(service="lambda", operation="Invoke", match=task_id, error="TooManyRequestsException",
                    status=429, times=1)
    base = stack.endpoints["callback"].rstrip("/")
    start = stack.request("POST", f"{base}/tasks", json={"taskId": task_id, "input": {"simulate": "succeed"}})[0]
    execution = _final(stack, "callback", task_id)
    failures = [e for e in _history(stack, "callback", task_id) if e["type"] == "TaskFailed"]
    return {"start": start, "execution": execution, "fired": plan.fired(rule),
            "errors": [e["taskFailedEventDetails"]["error"] for e in failures]}


def _async_service_unavailable(stack: LocalStackProcess, plan: FaultPlan) -> dict[str, Any]:
    """The pause Lambda's asynchronous invoke of the async service fails once."""
    job_id = _id("async-down")
    rule = plan.add(service="lambda", operation="Invoke", match=[job_id, '"InvocationType": "Event"'],
                    error="ServiceException", status=500, times=1)
    base = stack.endpoints["pausable"].rstrip("/")
    start = stack.request("POST", f"{base}/jobs", json={"jobId": job_id, "input": {"n": 2}})[0]
    execution = _final(stack, "pausable", job_id)
    errors = [e["taskFailedEventDetails"]["error"] for e in _history(stack, "pausable", job_id) if e["type"] == "TaskFailed"]
    return {"start": start, "execution": execution, "fired": plan.fired(rule), "errors": errors}


# --- An AWS call failing inside a handler gives a retry, not a lost task ------------------------------


#: The monitor path's DynamoDB operations throttled once, and the Task errors each leaves in the history.
THROTTLED = {
    # The stop event's handler claims the monitor's row: Lambda retries the event; no Task fails.
    "UpdateItem": [],
    # The monitor Task writes its token row itself (an SDK integration): its Retry writes it again.
    "PutItem": ["DynamoDb.ProvisionedThroughputExceededException"],
}


def _throttled_dynamodb(stack: LocalStackProcess, plan: FaultPlan, operation: str) -> dict[str, Any]:
    """A monitored execution whose monitor path has ``operation`` throttled once (matching only its key)."""
    key = _id(f"ddb-throttle-{operation.lower()}")
    # "executionArn": the monitor's row (its write and its claim), not the API's start claim of the key.
    rule = plan.add(service="dynamodb", operation=operation, match=[key, "executionArn"],
                    error="ProvisionedThroughputExceededException", status=400, times=1)
    base = stack.endpoints["monitored"].rstrip("/")
    start = stack.request("POST", f"{base}/monitored", json={"workflowkey": key, "input": {}})[0]
    execution = _final(stack, "monitored", key, timeout=20)
    errors = [e["taskFailedEventDetails"]["error"] for e in _history(stack, "monitored", key) if e["type"] == "TaskFailed"]
    return {"start": start, "execution": execution, "fired": plan.fired(rule), "errors": errors}


def _send_task_success_in_the_resume_path(stack: LocalStackProcess, plan: FaultPlan) -> dict[str, Any]:
    """The resume Lambda claims the pause, then Step Functions fails SendTaskSuccess once: the claim is
    undone, the invocation fails, Lambda retries it and the job completes with the resume's output."""
    job_id = _id("sfn-down")
    _start_manual_job(stack, job_id)
    rule = plan.add(service="stepfunctions", operation="SendTaskSuccess", match=job_id,
                    error="ServiceUnavailable", status=503, times=1)
    stack.client("sns").publish(TopicArn=_topic(stack, ":pausable-resume"), Message=json.dumps(
        {"jobId": job_id, "status": "SUCCEEDED", "output": {"resumedBy": job_id}}))
    execution = _final(stack, "pausable", job_id)
    return {"job": job_id, "execution": execution, "fired": plan.fired(rule)}


def _callback_completion_hit_by_an_aws_error(stack: LocalStackProcess, plan: FaultPlan) -> dict[str, Any]:
    """A PUT completing a waiting task while SendTaskSuccess fails once, then the same PUT again."""
    base = stack.endpoints["callback"].rstrip("/")
    sns, sqs = stack.client("sns"), stack.client("sqs")
    inbox = sqs.create_queue(QueueName=_id("faults-inbox"))["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=_topic(stack, ":callback-tasks"), Protocol="sqs",
                                 Endpoint=inbox_arn)["SubscriptionArn"]
    task_id = _id("retry-put")
    assert stack.request("POST", f"{base}/tasks", json={"taskId": task_id, "input": {"simulate": "ignore"}})[0] == 202

    def notification() -> Any:
        for message in sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", []):
            body = json.loads(json.loads(message["Body"])["Message"])
            if body["taskId"] == task_id:
                return body
        return None

    try:
        secret = stack.wait_for(notification, 10)["secret"]
        plan.add(service="stepfunctions", operation="SendTaskSuccess", match=f"paid-once-{task_id}",
                 error="ServiceUnavailable", status=503, times=1)
        put = {"status": "SUCCEEDED", "output": {f"paid-once-{task_id}": True}}
        failed = stack.request("PUT", f"{base}/tasks/{task_id}", json=put, headers={"X-Task-Secret": secret})
        after_failure = stack.request("GET", f"{base}/tasks/{task_id}")[1]
        retried = stack.request("PUT", f"{base}/tasks/{task_id}", json=put, headers={"X-Task-Secret": secret})
        execution = _final(stack, "callback", task_id)
    finally:
        sns.unsubscribe(SubscriptionArn=subscription)  # moto gap: a publish to a deleted SQS subscriber fails
        sqs.delete_queue(QueueUrl=inbox)
    return {"task": task_id, "failed": failed[:2], "after_failure": after_failure, "retried": retried[:2],
            "execution": execution}


def _sns_publish_in_the_callback_register(stack: LocalStackProcess, plan: FaultPlan) -> dict[str, Any]:
    """The register Lambda's Publish of the task notification fails once."""
    task_id = _id("publish-down")
    rule = plan.add(service="sns", operation="Publish", match=task_id, error="InternalError", status=500, times=1)
    base = stack.endpoints["callback"].rstrip("/")
    start = stack.request("POST", f"{base}/tasks", json={"taskId": task_id, "input": {"simulate": "succeed"}})[0]
    execution = _final(stack, "callback", task_id)
    return {"start": start, "execution": execution, "fired": plan.fired(rule)}


# --- A handler that keeps failing on an SNS / EventBridge delivery ends in its dead-letter queue -------


def _resume_dead_lettered_and_replayed(stack: LocalStackProcess, plan: FaultPlan) -> dict[str, Any]:
    """A resume whose SendTaskSuccess always fails is dead-lettered; replayed once the fault is gone."""
    job_id = _id("sns-dlq")
    base = _start_manual_job(stack, job_id)
    dlq = _dead_letter_queue(stack, "pausable_resume")
    rule = plan.add(service="stepfunctions", operation="SendTaskSuccess", match=job_id,
                    error="ServiceUnavailable", status=503)  # every time
    message = json.dumps({"jobId": job_id, "status": "SUCCEEDED", "output": {"replayed": job_id, "text": "ünïcödé ✓"}})
    topic = _topic(stack, ":pausable-resume")
    try:
        stack.client("sns").publish(TopicArn=topic, Message=message)
        record = _dead_letter(stack, dlq, lambda payload: job_id in json.dumps(payload))
        fired = plan.fired(rule)
        paused = stack.request("GET", f"{base}/jobs/{job_id}")[1]["status"]
    finally:
        plan.remove(rule)  # the dependency is back: replaying the dead letter completes the job
    stack.client("sns").publish(TopicArn=topic, Message=record["requestPayload"]["Records"][0]["Sns"]["Message"])
    execution = _final(stack, "pausable", job_id)
    return {"job": job_id, "message": message, "record": record, "fired": fired, "paused": paused,
            "execution": execution}


def _monitor_event_dead_lettered(stack: LocalStackProcess, plan: FaultPlan) -> dict[str, Any]:
    """A WorkflowError event whose SendTaskFailure always fails is dead-lettered; the work's own stop
    event then still completes the monitor."""
    key = _id("eb-dlq")
    base = stack.endpoints["monitored"].rstrip("/")
    dlq = _dead_letter_queue(stack, "monitor_events")
    boom = f"BoomFromOutside{uuid.uuid4().hex[:6]}"
    rule = plan.add(service="stepfunctions", operation="SendTaskFailure", match=boom,
                    error="ServiceUnavailable", status=503)  # every time, for this key's error event only
    try:
        assert stack.request("POST", f"{base}/monitored", json={"workflowkey": key, "input": {}})[0] == 202
        stack.wait_for(lambda: stack.request("GET", f"{base}/monitored/{key}")[1].get("monitor") == "WAITING", 10)
        status, body, _ = stack.request("POST", f"{base}/monitored/{key}/events",
                                        json={"message": "WorkflowError", "error": boom, "cause": "c"})
        assert status == 202, body
        record = _dead_letter(stack, dlq, lambda payload: (payload.get("detail") or {}).get("workflowkey") == key)
        fired = plan.fired(rule)
    finally:
        plan.remove(rule)
    return {"boom": boom, "event_id": body["eventId"], "record": record, "fired": fired,
            "execution": _final(stack, "monitored", key, timeout=20)}


# --- Completions racing each other complete once -----------------------------------------------------


def _racing_resumes(stack: LocalStackProcess) -> dict[str, Any]:
    """Three resumes from the topic and two from the API, let go at once."""
    job_id = _id("race-job")
    base = _start_manual_job(stack, job_id)
    topic = _topic(stack, ":pausable-resume")
    sns = stack.client("sns")
    answers: list[int] = []
    barrier = threading.Barrier(5)

    def publish(n: int) -> None:
        barrier.wait()
        sns.publish(TopicArn=topic, Message=json.dumps({"jobId": job_id, "status": "SUCCEEDED", "output": {"by": n}}))

    def http() -> None:
        barrier.wait()
        answers.append(stack.request("POST", f"{base}/jobs/{job_id}/resume", json={"status": "FAILED", "error": "ByHand"})[0])

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(3)] + [threading.Thread(target=http) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    execution = _final(stack, "pausable", job_id)
    time.sleep(1.5)  # the losing resumes (and their retries) have run
    return {"execution": execution, "answers": answers, "completions": _token_completions(stack, "pausable", job_id)}


def _racing_stop_and_error_events(stack: LocalStackProcess) -> dict[str, Any]:
    """Three stop and three error events for one waiting monitor, let go at once."""
    key = _id("race-key")
    base = stack.endpoints["monitored"].rstrip("/")
    assert stack.request("POST", f"{base}/monitored", json={"workflowkey": key, "input": {}})[0] == 202
    stack.wait_for(lambda: stack.request("GET", f"{base}/monitored/{key}")[1].get("monitor") == "WAITING", 10)
    answers: list[int] = []
    barrier = threading.Barrier(6)

    def send(message: str) -> None:
        barrier.wait()
        answers.append(stack.request("POST", f"{base}/monitored/{key}/events", json={"message": message, "error": "Raced"})[0])

    threads = [threading.Thread(target=send, args=(m,)) for m in ["StopWorkflowMonitoring", "WorkflowError"] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    execution = _final(stack, "monitored", key, timeout=20)
    time.sleep(1.0)  # the losing events have been handled (dropped as already completed)
    return {"execution": execution, "answers": answers,
            "outcomes": _token_completions(stack, "monitored", key, detail=True)}


@pytest.fixture(scope="module")
def outcomes(local_stack: LocalStackProcess, fault_plan: FaultPlan) -> Iterator[dict[str, Future]]:
    """Every scenario, started at once (each adding only rules that match its own traffic); tests read
    their own one's result."""
    scenarios: dict[str, Callable[[], dict[str, Any]]] = {
        "throttled_lambda": lambda: _throttled_lambda(local_stack, fault_plan),
        "async_service_unavailable": lambda: _async_service_unavailable(local_stack, fault_plan),
        **{f"throttled_{operation}": partial(_throttled_dynamodb, local_stack, fault_plan, operation)
           for operation in THROTTLED},
        "send_task_success": lambda: _send_task_success_in_the_resume_path(local_stack, fault_plan),
        "callback_completion": lambda: _callback_completion_hit_by_an_aws_error(local_stack, fault_plan),
        "sns_publish": lambda: _sns_publish_in_the_callback_register(local_stack, fault_plan),
        "resume_dead_letter": lambda: _resume_dead_lettered_and_replayed(local_stack, fault_plan),
        "monitor_dead_letter": lambda: _monitor_event_dead_lettered(local_stack, fault_plan),
        "racing_resumes": lambda: _racing_resumes(local_stack),
        "racing_events": lambda: _racing_stop_and_error_events(local_stack),
    }
    with run_together(local_stack, scenarios) as futures:
        yield futures


def result(outcomes: dict[str, Future], name: str) -> dict[str, Any]:
    return outcomes[name].result(timeout=90)


def test_throttled_lambda_invoke_is_retried_by_the_state_machine(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "throttled_lambda")
    assert run["start"] == 202
    assert run["execution"]["status"] == "SUCCEEDED"
    assert run["fired"] == 1
    assert run["errors"] == ["Lambda.TooManyRequestsException"]


def test_async_service_unavailable_once_is_retried_and_the_job_completes(outcomes: dict[str, Future]) -> None:
    # The pause fails with AsyncServiceUnavailable, the state machine retries it (re-registering the
    # job), the job completes.
    run = result(outcomes, "async_service_unavailable")
    assert run["start"] == 202
    assert run["execution"]["status"] == "SUCCEEDED", run["execution"]
    assert run["fired"] == 1
    assert run["errors"] == ["AsyncServiceUnavailable"]


@pytest.mark.parametrize("operation", list(THROTTLED))
def test_dynamodb_throttling_in_the_monitor_path_is_retried(outcomes: dict[str, Future], operation: str) -> None:
    run = result(outcomes, f"throttled_{operation}")
    assert run["start"] == 202
    assert run["execution"]["status"] == "SUCCEEDED", run["execution"]
    assert run["fired"] == 1
    assert run["errors"] == THROTTLED[operation]


def test_send_task_success_failing_in_the_resume_path_is_retried(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "send_task_success")
    assert run["execution"]["status"] == "SUCCEEDED", run["execution"]
    assert run["fired"] == 1
    assert json.loads(run["execution"]["output"])["result"] == {"resumedBy": run["job"]}


def test_callback_completion_hit_by_an_aws_error_answers_5xx_and_can_be_retried(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "callback_completion")
    status, body = run["failed"]
    assert status >= 500 and "token" not in json.dumps(body).lower()  # an AWS failure, not the caller's: 5xx, nothing leaked
    assert run["after_failure"]["status"] == "WAITING"  # not lost: still completable
    assert run["retried"] == (200, {"taskId": run["task"], "status": "SUCCEEDED"})
    assert json.loads(run["execution"]["output"]) == {f"paid-once-{run['task']}": True}


def test_sns_publish_failing_once_in_the_callback_register_is_retried(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "sns_publish")
    assert run["start"] == 202
    assert run["fired"] == 1
    assert run["execution"]["status"] == "SUCCEEDED", run["execution"].get("error")


def test_resume_that_keeps_failing_is_dead_lettered_intact_and_can_be_replayed(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "resume_dead_letter")
    record = run["record"]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3  # the first try and Lambda's 2 retries
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == run["message"]  # intact, byte for byte
    assert run["fired"] == 3
    assert run["paused"] == "PAUSED"  # each claim was undone
    # Replayed once the dependency was back: the job completed with the dead letter's output.
    assert run["execution"]["status"] == "SUCCEEDED", run["execution"]
    assert json.loads(run["execution"]["output"])["result"] == {"replayed": run["job"], "text": "ünïcödé ✓"}


def test_monitor_event_that_keeps_failing_is_dead_lettered_intact(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "monitor_dead_letter")
    event = run["record"]["requestPayload"]
    assert event["detail-type"] == "WorkflowError" and event["source"] == "sfn-patterns.monitored"
    assert event["detail"]["error"] == run["boom"] and event["detail"]["cause"] == "c"
    assert event["id"] == run["event_id"]  # the very event the API put
    assert run["record"]["requestContext"]["approximateInvokeCount"] == 3
    assert run["fired"] == 3
    # Each failed try gave the claim back: the work's own stop event still completed the monitor.
    assert run["execution"]["status"] == "SUCCEEDED"


def test_racing_resumes_from_the_topic_and_the_api_complete_a_job_once(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "racing_resumes")
    assert run["completions"] == 1  # the pause's token was used exactly once
    assert run["execution"]["status"] in ("SUCCEEDED", "FAILED")
    assert all(a in (202, 409) for a in run["answers"]), run["answers"]


def test_racing_stop_and_error_events_end_a_monitored_execution_once(outcomes: dict[str, Future]) -> None:
    run = result(outcomes, "racing_events")
    outcomes_ = run["outcomes"]
    assert len(outcomes_) == 1, outcomes_  # the monitor's token was used exactly once
    assert run["execution"]["status"] == ("SUCCEEDED" if outcomes_ == ["TaskSucceeded"] else "FAILED")
    assert all(a in (202, 404) for a in run["answers"]), run["answers"]
