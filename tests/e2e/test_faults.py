"""Injected faults through the local stack: failing dependencies never lose work.

Faults come from ``local/faults.py``: the e2e fixture starts the stack with ``--faults <plan>``, and
a test writes rules into that plan to make chosen AWS API calls INSIDE the stack fail (as errors
that outlasted the SDK's own retries), matched to its own job/task/key so nothing else is hit. The
plan's log proves each fault really fired. Timings come from ``E2E_CONFIG`` and the stack's
shortened asynchronous retry delay (0.5 s, then 1 s; Lambda's defaults: 2 retries).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class Faults:
    """Writes the stack's fault plan and reads what fired."""

    def __init__(self, stack: Any) -> None:
        self.plan = Path(stack.log_path).parent / "faults.json"
        self.log = self.plan.with_name(self.plan.name + ".log")

    def inject(self, *rules: dict[str, Any]) -> None:
        """Replace the plan with ``rules`` (each gets a fresh id unless it has one)."""
        rules = tuple({"id": uuid.uuid4().hex[:8], **rule} for rule in rules)
        temporary = self.plan.with_suffix(".tmp")
        temporary.write_text(json.dumps(list(rules)))
        temporary.replace(self.plan)
        self.rules = rules
        time.sleep(0.01)  # a new mtime for the next plan

    def clear(self) -> None:
        """No faults."""
        self.inject()

    def fired(self, rule_id: str) -> int:
        """How many calls the rule made fail so far."""
        if not self.log.exists():
            return 0
        return sum(1 for line in self.log.read_text().splitlines() if json.loads(line)["id"] == rule_id)


@pytest.fixture()
def faults(local_stack: Any) -> Any:
    injector = Faults(local_stack)
    injector.clear()
    yield injector
    injector.clear()


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


def test_throttled_lambda_invoke_is_retried_by_the_state_machine(local_stack: Any, faults: Faults) -> None:
    # The callback wait invokes its register Lambda; Lambda answers 429 TooManyRequestsException once.
    task_id = _id("throttled")
    faults.inject({"service": "lambda", "operation": "Invoke", "match": task_id,
                   "error": "TooManyRequestsException", "status": 429, "times": 1})
    base = local_stack.endpoints["callback"].rstrip("/")
    assert local_stack.request("POST", f"{base}/tasks", json={"taskId": task_id, "input": {"simulate": "succeed"}})[0] == 202
    execution = _final(local_stack, "callback", task_id)
    assert execution["status"] == "SUCCEEDED"
    assert faults.fired(faults.rules[0]["id"]) == 1
    failures = [e for e in _history(local_stack, "callback", task_id) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failures] == ["Lambda.TooManyRequestsException"]


def test_async_service_unavailable_once_is_retried_and_the_job_completes(local_stack: Any, faults: Faults) -> None:
    # The pause Lambda's asynchronous invoke of the async service fails once: the pause fails with
    # AsyncServiceUnavailable, the state machine retries it (re-registering the job), the job completes.
    job_id = _id("async-down")
    faults.inject({"service": "lambda", "operation": "Invoke", "match": [job_id, '"InvocationType": "Event"'],
                   "error": "ServiceException", "status": 500, "times": 1})
    base = local_stack.endpoints["pausable"].rstrip("/")
    assert local_stack.request("POST", f"{base}/jobs", json={"jobId": job_id, "input": {"n": 2}})[0] == 202
    execution = _final(local_stack, "pausable", job_id)
    assert execution["status"] == "SUCCEEDED", execution
    assert faults.fired(faults.rules[0]["id"]) == 1
    errors = [e["taskFailedEventDetails"]["error"] for e in _history(local_stack, "pausable", job_id) if e["type"] == "TaskFailed"]
    assert errors == ["AsyncServiceUnavailable"]


# --- An AWS call failing inside a handler gives a retry, not a lost task ------------------------------


#: The monitor path's DynamoDB operations throttled once, and the Task errors each leaves in the history.
THROTTLED = {
    # The stop event's handler claims the monitor's row: Lambda retries the event; no Task fails.
    "UpdateItem": [],
    # The monitor Task writes its token row itself (an SDK integration): its Retry writes it again.
    "PutItem": ["DynamoDb.ProvisionedThroughputExceededException"],
}


@pytest.fixture(scope="module")
def throttled(local_stack: Any) -> dict[str, tuple[str, str]]:
    """One monitored execution per throttled operation, all started together under one plan holding a rule
    per operation (each matching only its own key): operation -> (key, rule id). The plan is cleared by
    the next test's ``faults`` fixture; the tests using this one run back to back."""
    injector = Faults(local_stack)
    keys = {operation: _id(f"ddb-throttle-{operation.lower()}") for operation in THROTTLED}
    # "executionArn": the monitor's row (its write and its claim), not the API's start claim of the key.
    injector.inject(*({"service": "dynamodb", "operation": operation, "match": [key, "executionArn"],
                       "error": "ProvisionedThroughputExceededException", "status": 400, "times": 1}
                      for operation, key in keys.items()))
    base = local_stack.endpoints["monitored"].rstrip("/")
    for key in keys.values():
        assert local_stack.request("POST", f"{base}/monitored", json={"workflowkey": key, "input": {}})[0] == 202
    return {operation: (key, rule["id"]) for (operation, key), rule in zip(keys.items(), injector.rules)}


@pytest.mark.parametrize("operation", list(THROTTLED))
def test_dynamodb_throttling_in_the_monitor_path_is_retried(
    local_stack: Any, throttled: dict[str, tuple[str, str]], operation: str
) -> None:
    key, rule_id = throttled[operation]
    execution = _final(local_stack, "monitored", key, timeout=20)
    assert execution["status"] == "SUCCEEDED", execution
    assert Faults(local_stack).fired(rule_id) == 1
    errors = [e["taskFailedEventDetails"]["error"] for e in _history(local_stack, "monitored", key) if e["type"] == "TaskFailed"]
    assert errors == THROTTLED[operation]


def test_send_task_success_failing_in_the_resume_path_is_retried(local_stack: Any, faults: Faults) -> None:
    # The resume Lambda claims the pause, then Step Functions fails SendTaskSuccess once: the claim is
    # undone, the invocation fails, Lambda retries it and the job completes with the resume's output.
    job_id = _id("sfn-down")
    _start_manual_job(local_stack, job_id)
    faults.inject({"service": "stepfunctions", "operation": "SendTaskSuccess", "match": job_id,
                   "error": "ServiceUnavailable", "status": 503, "times": 1})
    local_stack.client("sns").publish(TopicArn=_topic(local_stack, ":pausable-resume"), Message=json.dumps(
        {"jobId": job_id, "status": "SUCCEEDED", "output": {"resumedBy": job_id}}))
    execution = _final(local_stack, "pausable", job_id)
    assert execution["status"] == "SUCCEEDED", execution
    assert faults.fired(faults.rules[0]["id"]) == 1
    assert json.loads(execution["output"])["result"] == {"resumedBy": job_id}


def test_callback_completion_hit_by_an_aws_error_answers_5xx_and_can_be_retried(local_stack: Any, faults: Faults) -> None:
    base = local_stack.endpoints["callback"].rstrip("/")
    sns, sqs = local_stack.client("sns"), local_stack.client("sqs")
    inbox = sqs.create_queue(QueueName=_id("faults-inbox"))["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=_topic(local_stack, ":callback-tasks"), Protocol="sqs",
                                 Endpoint=inbox_arn)["SubscriptionArn"]
    task_id = _id("retry-put")
    assert local_stack.request("POST", f"{base}/tasks", json={"taskId": task_id, "input": {"simulate": "ignore"}})[0] == 202

    def notification() -> Any:
        for message in sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", []):
            body = json.loads(json.loads(message["Body"])["Message"])
            if body["taskId"] == task_id:
                return body
        return None

    secret = local_stack.wait_for(notification, 10)["secret"]
    faults.inject({"service": "stepfunctions", "operation": "SendTaskSuccess", "match": "paid-once",
                   "error": "ServiceUnavailable", "status": 503, "times": 1})
    put = {"status": "SUCCEEDED", "output": {"paid-once": True}}
    status, body, _ = local_stack.request("PUT", f"{base}/tasks/{task_id}", json=put, headers={"X-Task-Secret": secret})
    assert status >= 500 and "token" not in json.dumps(body).lower()  # an AWS failure, not the caller's: 5xx, nothing leaked
    assert local_stack.request("GET", f"{base}/tasks/{task_id}")[1]["status"] == "WAITING"  # not lost: still completable
    assert local_stack.request("PUT", f"{base}/tasks/{task_id}", json=put, headers={"X-Task-Secret": secret})[:2] == (
        200, {"taskId": task_id, "status": "SUCCEEDED"})
    assert json.loads(_final(local_stack, "callback", task_id)["output"]) == {"paid-once": True}
    sns.unsubscribe(SubscriptionArn=subscription)  # moto gap: a publish to a deleted SQS subscriber fails
    sqs.delete_queue(QueueUrl=inbox)


def test_sns_publish_failing_once_in_the_callback_register_is_retried(local_stack: Any, faults: Faults) -> None:
    task_id = _id("publish-down")
    faults.inject({"service": "sns", "operation": "Publish", "match": task_id,
                   "error": "InternalError", "status": 500, "times": 1})
    base = local_stack.endpoints["callback"].rstrip("/")
    assert local_stack.request("POST", f"{base}/tasks", json={"taskId": task_id, "input": {"simulate": "succeed"}})[0] == 202
    execution = _final(local_stack, "callback", task_id)
    assert faults.fired(faults.rules[0]["id"]) == 1
    assert execution["status"] == "SUCCEEDED", execution.get("error")


# --- A handler that keeps failing on an SNS / EventBridge delivery ends in its dead-letter queue -------


def test_resume_that_keeps_failing_is_dead_lettered_intact_and_can_be_replayed(local_stack: Any, faults: Faults) -> None:
    job_id = _id("sns-dlq")
    _start_manual_job(local_stack, job_id)
    dlq = _dead_letter_queue(local_stack, "pausable_resume")
    faults.inject({"service": "stepfunctions", "operation": "SendTaskSuccess", "match": job_id,
                   "error": "ServiceUnavailable", "status": 503})  # every time
    message = json.dumps({"jobId": job_id, "status": "SUCCEEDED", "output": {"replayed": job_id, "text": "ünïcödé ✓"}})
    topic = _topic(local_stack, ":pausable-resume")
    local_stack.client("sns").publish(TopicArn=topic, Message=message)

    record = _dead_letter(local_stack, dlq, lambda payload: job_id in json.dumps(payload))
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3  # the first try and Lambda's 2 retries
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == message  # intact, byte for byte
    assert faults.fired(faults.rules[0]["id"]) == 3
    base = local_stack.endpoints["pausable"].rstrip("/")
    assert local_stack.request("GET", f"{base}/jobs/{job_id}")[1]["status"] == "PAUSED"  # each claim was undone

    faults.clear()  # the dependency is back: replaying the dead letter completes the job
    local_stack.client("sns").publish(TopicArn=topic, Message=record["requestPayload"]["Records"][0]["Sns"]["Message"])
    execution = _final(local_stack, "pausable", job_id)
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"])["result"] == {"replayed": job_id, "text": "ünïcödé ✓"}


def test_monitor_event_that_keeps_failing_is_dead_lettered_intact(local_stack: Any, faults: Faults) -> None:
    key = _id("eb-dlq")
    base = local_stack.endpoints["monitored"].rstrip("/")
    dlq = _dead_letter_queue(local_stack, "monitor_events")
    boom = f"BoomFromOutside{uuid.uuid4().hex[:6]}"
    faults.inject({"service": "stepfunctions", "operation": "SendTaskFailure", "match": boom,
                   "error": "ServiceUnavailable", "status": 503})  # every time, for this key's error event only
    assert local_stack.request("POST", f"{base}/monitored", json={"workflowkey": key, "input": {}})[0] == 202
    local_stack.wait_for(lambda: local_stack.request("GET", f"{base}/monitored/{key}")[1].get("monitor") == "WAITING", 10)
    status, body, _ = local_stack.request("POST", f"{base}/monitored/{key}/events",
                                          json={"message": "WorkflowError", "error": boom, "cause": "c"})
    assert status == 202, body

    record = _dead_letter(local_stack, dlq, lambda payload: (payload.get("detail") or {}).get("workflowkey") == key)
    event = record["requestPayload"]
    assert event["detail-type"] == "WorkflowError" and event["source"] == "sfn-patterns.monitored"
    assert event["detail"]["error"] == boom and event["detail"]["cause"] == "c"
    assert event["id"] == body["eventId"]  # the very event the API put
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert faults.fired(faults.rules[0]["id"]) == 3
    # Each failed try gave the claim back: the work's own stop event still completes the monitor.
    faults.clear()
    assert _final(local_stack, "monitored", key, timeout=20)["status"] == "SUCCEEDED"


# --- Completions racing each other complete once -----------------------------------------------------


def test_racing_resumes_from_the_topic_and_the_api_complete_a_job_once(local_stack: Any) -> None:
    job_id = _id("race-job")
    base = _start_manual_job(local_stack, job_id)
    topic = _topic(local_stack, ":pausable-resume")
    sns = local_stack.client("sns")
    answers: list[int] = []
    barrier = threading.Barrier(5)

    def publish(n: int) -> None:
        barrier.wait()
        sns.publish(TopicArn=topic, Message=json.dumps({"jobId": job_id, "status": "SUCCEEDED", "output": {"by": n}}))

    def http() -> None:
        barrier.wait()
        answers.append(local_stack.request("POST", f"{base}/jobs/{job_id}/resume",
                                           json={"status": "FAILED", "error": "ByHand"})[0])

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(3)] + [threading.Thread(target=http) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    execution = _final(local_stack, "pausable", job_id)
    time.sleep(1.5)  # the losing resumes (and their retries) have run
    assert _token_completions(local_stack, "pausable", job_id) == 1  # the pause's token was used exactly once
    assert execution["status"] in ("SUCCEEDED", "FAILED")
    assert all(a in (202, 409) for a in answers), answers


def test_racing_stop_and_error_events_end_a_monitored_execution_once(local_stack: Any) -> None:
    key = _id("race-key")
    base = local_stack.endpoints["monitored"].rstrip("/")
    assert local_stack.request("POST", f"{base}/monitored", json={"workflowkey": key, "input": {}})[0] == 202
    local_stack.wait_for(lambda: local_stack.request("GET", f"{base}/monitored/{key}")[1].get("monitor") == "WAITING", 10)
    answers: list[int] = []
    barrier = threading.Barrier(6)

    def send(message: str) -> None:
        barrier.wait()
        answers.append(local_stack.request("POST", f"{base}/monitored/{key}/events",
                                           json={"message": message, "error": "Raced"})[0])

    threads = [threading.Thread(target=send, args=(m,)) for m in ["StopWorkflowMonitoring", "WorkflowError"] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    execution = _final(local_stack, "monitored", key, timeout=20)
    time.sleep(1.0)  # the losing events have been handled (dropped as already completed)
    outcomes = _token_completions(local_stack, "monitored", key, detail=True)
    assert len(outcomes) == 1, outcomes  # the monitor's token was used exactly once
    assert execution["status"] == ("SUCCEEDED" if outcomes == ["TaskSucceeded"] else "FAILED")
    assert all(a in (202, 404) for a in answers), answers
