"""A PausableWorkflow deployed on moto for the handler tests, and the means to drive it.

The state machine is the component's real ASL (``pausable_definition``) run by moto's interpreter.
Its Lambdas (preprocess, pause, postprocess, the demo async service) are moto functions whose
invocations run the handler modules in this process (moto would need Docker); an ``Event``
invocation runs at once. The resume topic has an SQS queue subscribed, standing in for the resume
Lambda's subscription: :meth:`PausableStack.deliver` hands what the topic received to
``pausable_resume`` as SNS would.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import boto3
import pytest

import pausable_api
import pausable_async_service
import pausable_pause
import pausable_postprocess
import pausable_preprocess
import pausable_resume
from common.tokens import TokenStore
from sfn_patterns.patterns.pausable_workflow import pausable_definition
from sfn_patterns.blocks.state_machine import RESERVED_ERRORS_ENV, render, reserved_error_names
from tests.handlers.conftest import execution_status, http_event, in_process_lambdas, response_json, token_table, topic_with_inbox

#: Handler modules run in-process, by moto function name (less its ``-<suffix>``).
IN_PROCESS: dict[str, Callable[[Any, Any], Any]] = {
    "preprocess": pausable_preprocess.handler,
    "pause": pausable_pause.handler,
    "postprocess": pausable_postprocess.handler,
    "async-service": pausable_async_service.handler,
}


@dataclass
class PausableStack:
    """One pausable workflow on moto."""

    state_machine_arn: str
    table: str
    topic_arn: str
    queue_url: str
    delivered: list[dict[str, Any]] = field(default_factory=list)

    # --- routes --------------------------------------------------------------------------------

    def call(self, route_key: str, body: Any = None, path: Optional[dict[str, str]] = None,
             raw_body: Optional[str] = None) -> tuple[int, Any]:
        """Serve one request with ``pausable_api``: (status, parsed body)."""
        response = pausable_api.handler(http_event(route_key, body, path, raw_body=raw_body))
        return response["statusCode"], response_json(response)

    def start(self, body: Any) -> tuple[int, Any]:
        """``POST /jobs``."""
        return self.call("POST /jobs", body)

    def get(self, job_id: str) -> tuple[int, Any]:
        """``GET /jobs/{jobId}``."""
        return self.call("GET /jobs/{jobId}", path={"jobId": job_id})

    def resume(self, job_id: str, body: Any = None, raw_body: Optional[str] = None) -> tuple[int, Any]:
        """``POST /jobs/{jobId}/resume``."""
        return self.call("POST /jobs/{jobId}/resume", body, {"jobId": job_id}, raw_body)

    # --- the topic and the resume handler -------------------------------------------------------

    def published(self, wait: float = 5) -> list[dict[str, Any]]:
        """The SNS envelopes the resume topic delivered since the last call (waits for at least one)."""
        sqs = boto3.client("sqs")
        found: list[dict[str, Any]] = []
        deadline = time.time() + wait
        while not found and time.time() < deadline:
            for message in sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", []):
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if not found:
                time.sleep(0.05)
        return found

    def deliver(self, wait: float = 5, job_id: Optional[str] = None) -> list[dict[str, int]]:
        """Hand every message the topic received to the resume handler, one SNS event each.

        With ``job_id``, until one of them names that job (a message of an earlier test's job may come
        first: the first batch alone could leave this job's message undelivered)."""
        results = []
        deadline = time.time() + wait
        while True:
            envelopes = self.published(max(deadline - time.time(), 0.05))
            for envelope in envelopes:
                results.append(pausable_resume.handler(sns_event(envelope["Message"], envelope.get("MessageId"))))
            if job_id is None or any(job_id in e["Message"] for e in envelopes) or time.time() >= deadline:
                return results

    # --- state ---------------------------------------------------------------------------------

    def execution(self, job_id: str, until_not: str = "RUNNING", timeout: float = 10) -> dict[str, Any]:
        """The job's execution once its status is no longer ``until_not`` (or after ``timeout``)."""
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"
        return execution_status(arn, timeout, until_not)

    def row(self, job_id: str) -> Optional[dict[str, Any]]:
        """The pause row of ``job_id``."""
        return TokenStore(self.table).get(job_id)

    def paused(self, job_id: str, timeout: float = 10) -> dict[str, Any]:
        """Wait until the job's pause row is WAITING; return ``GET /jobs/{jobId}``'s body."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            row = self.row(job_id)
            if row and row["status"] == "WAITING":
                return self.get(job_id)[1]
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never paused: {self.get(job_id)}")

    def history_errors(self, job_id: str) -> list[str]:
        """The error names of the failed events in the job's history."""
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job_id}"
        events = boto3.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
        errors = []
        for event in events:
            for key, details in event.items():
                if key.endswith("EventDetails") and isinstance(details, dict) and "error" in details:
                    errors.append(details["error"])
        return errors


def sns_event(message: str, message_id: Optional[str] = None) -> dict[str, Any]:
    """The event SNS gives a subscribed Lambda for one message."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {"Type": "Notification", "MessageId": message_id or str(uuid.uuid4()), "Message": message},
            }
        ]
    }


def deploy(
    monkeypatch: pytest.MonkeyPatch, timeout: int = 60, job_seconds: float = 0, steps: bool = True
) -> PausableStack:
    """Create the table, topic, Lambdas and state machine on moto and point the handlers' environment at them.

    ``steps=False``: the workflow without its preprocessing and post-processing steps.
    """
    functions = in_process_lambdas(monkeypatch, IN_PROCESS)
    table = token_table("pauses")
    topic_arn, queue_url = topic_with_inbox("resume")
    suffix = uuid.uuid4().hex[:6]
    role = "arn:aws:iam::123456789012:role/sfn"
    definition = render(
        pausable_definition(timeout, preprocess=steps, postprocess=steps),
        {"Preprocess": functions["preprocess"], "Pause": functions["pause"], "Postprocess": functions["postprocess"]},
    )
    state_machine_arn = boto3.client("stepfunctions").create_state_machine(
        name=f"pausable-{suffix}", definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]
    for key, value in {
        "STATE_MACHINE_ARN": state_machine_arn,
        "TABLE_NAME": table,
        "RESUME_TOPIC_ARN": topic_arn,
        "PAUSE_TIMEOUT_SECONDS": str(timeout),
        "ASYNC_SERVICE_ARN": functions["async-service"],
        "JOB_SECONDS": str(job_seconds),
        RESERVED_ERRORS_ENV: json.dumps(reserved_error_names(definition)),
    }.items():
        monkeypatch.setenv(key, value)
    return PausableStack(state_machine_arn, table, topic_arn, queue_url)
