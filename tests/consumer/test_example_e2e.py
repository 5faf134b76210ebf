"""examples/consumer end to end on the local stack: one execution per component, through its HTTP API.

``python -m local --program examples/consumer/__main__.py`` runs the example (its own project, config
and handlers) on the embedded AWS. Every route is AWS_IAM (signed with SigV4) but the callback's
completion route, which the task's secret proves; the test plays the approver by reading the
notification from an SQS queue it subscribes to the approval topic.
"""

import json
import time
import uuid
from typing import Any, Callable, Iterator

import pytest

from local import launcher
from tests.consumer.conftest import EXAMPLE
from tests.e2e.conftest import STARTUP_TIMEOUT_SECONDS, LocalStackProcess


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    tmp = tmp_path_factory.mktemp("consumer-stack")
    options = ["--program", str(EXAMPLE / "__main__.py"), "--retry-delay", "0.1"]
    process, description, log_path = launcher.start(tmp, options, {}, STARTUP_TIMEOUT_SECONDS, "consumer-stack.log")
    running = LocalStackProcess(
        endpoints=description["endpoints"], aws_endpoint=description["awsEndpoint"], region=description["region"],
        outputs=description["outputs"], process=process, log_path=log_path,
    )
    try:
        yield running
    finally:
        launcher.stop(process)


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _final(stack: LocalStackProcess, url: str, timeout: float = 20) -> dict[str, Any]:
    """GET ``url`` until the execution behind it has ended; its last answer."""
    answers: list[Any] = []

    def ended() -> bool:
        status, body, _ = stack.request("GET", url)
        answers.append(body)
        return status == 200 and body.get("status") not in ("RUNNING", "WAITING", "PAUSED")

    stack.wait_for(ended, timeout)
    return answers[-1]


def test_the_stack_serves_the_examples_endpoints(stack: LocalStackProcess) -> None:
    assert set(stack.endpoints) == {"orders", "approval", "render", "shipping"}
    assert set(stack.outputs["stateMachines"]) == {"orders", "approval", "render", "shipping"}


def test_an_order_runs_the_examples_workflow_through_the_idempotent_api(stack: LocalStackProcess) -> None:
    name = _id("order")
    order = {"items": [{"sku": "A-1", "quantity": 2, "unitCents": 450}, {"sku": "B-2", "quantity": 1, "unitCents": 100}]}
    base = stack.endpoints["orders"].rstrip("/")
    assert stack.request("POST", f"{base}/workflow", json={"name": name, "input": {}}, signed=False)[0] == 403
    status, body, _ = stack.request("POST", f"{base}/workflow", json={"name": name, "input": order})
    assert status == 201 and body["created"] is True, body
    view = _final(stack, f"{base}/workflow/{name}")
    assert view["status"] == "SUCCEEDED", view
    assert view["output"] == {"items": order["items"], "totalCents": 1000}


@pytest.fixture(scope="module")
def approvals(stack: LocalStackProcess) -> Callable[[str], dict[str, Any]]:
    """The approver's inbox: an SQS queue subscribed to the approval topic; ``read(task_id)`` its notification."""
    sns, sqs = stack.client("sns"), stack.client("sqs")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"] if ":approval-tasks" in t["TopicArn"]]
    queue_url = sqs.create_queue(QueueName=_id("approver"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    def read(task_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                body = json.loads(json.loads(message["Body"])["Message"])
                if body["taskId"] == task_id:
                    return body
        raise AssertionError(f"no notification for {task_id}")

    return read


def test_an_approval_runs_the_examples_steps_around_the_callback(
    stack: LocalStackProcess, approvals: Callable[[str], dict[str, Any]]
) -> None:
    task_id = _id("spend")
    base = stack.endpoints["approval"].rstrip("/")
    status, body, _ = stack.request("POST", f"{base}/tasks", json={"taskId": task_id, "input": {"amountCents": 1200}})
    assert status in (201, 202), body
    notification = approvals(task_id)
    # prepare_approval (before the wait) shaped what the approver gets.
    assert notification["input"] == {"request": {"amountCents": 1200}, "question": "Approve a spend of 1200 cents?"}
    decision = {"status": "SUCCEEDED", "output": {"approved": True, "by": "ana"}}
    status, body, _ = stack.request("PUT", notification["callbackUrl"], json=decision,
                                    headers={"X-Task-Secret": notification["secret"]}, signed=False)
    assert status == 200, body
    view = _final(stack, f"{base}/tasks/{task_id}")
    # record_decision (after the callback) made the output.
    assert view["status"] == "SUCCEEDED" and view["output"] == {"approved": True, "by": "ana"}, view


def test_a_render_job_is_done_and_resumed_by_the_examples_async_service(stack: LocalStackProcess) -> None:
    job_id = _id("render")
    base = stack.endpoints["render"].rstrip("/")
    status, body, _ = stack.request("POST", f"{base}/jobs", json={"jobId": job_id, "input": {"text": "hello"}})
    assert status == 202, body
    view = _final(stack, f"{base}/jobs/{job_id}")
    assert view["status"] == "SUCCEEDED", view
    assert view["output"] == {"rendered": "HELLO", "characters": 5}


def test_a_shipment_runs_the_examples_work_and_ends_its_monitor(stack: LocalStackProcess) -> None:
    key = _id("ship")
    base = stack.endpoints["shipping"].rstrip("/")
    status, body, _ = stack.request("POST", f"{base}/monitored", json={"workflowkey": key, "input": {"destination": "Lisbon"}})
    assert status == 202, body
    view = _final(stack, f"{base}/monitored/{key}")
    assert view["status"] == "SUCCEEDED", view
    assert view["output"] == {"label": f"{key}/Lisbon", "shipped": True}
