"""A PausableWorkflow without its optional steps (``preprocess=None``, ``postprocess=None``) on moto:
the pause alone, one state transition, with the same contract for the async service and the resume."""

from __future__ import annotations

import json
from typing import Iterator

import boto3
import pytest

import pausable_resume
from tests.handlers.conftest import emulated_aws
from tests.handlers.pausable_stack import PausableStack, deploy, sns_event


@pytest.fixture
def stack() -> Iterator[PausableStack]:
    with emulated_aws(), pytest.MonkeyPatch.context() as patch:
        yield deploy(patch, steps=False)


def test_the_async_service_gets_the_jobs_input_and_the_resume_output_is_the_executions_output(stack: PausableStack) -> None:
    status, answer = stack.start({"jobId": "lean-1", "input": {"order": 9}})
    assert status == 202 and answer["created"] is True
    assert stack.paused("lean-1")["status"] == "PAUSED"
    (envelope,) = stack.published()
    message = json.loads(envelope["Message"])
    # The demo service saw the job's own input (there was no preprocessing) and no trail of steps.
    assert message == {"jobId": "lean-1", "status": "SUCCEEDED",
                       "output": {"data": {"order": 9}, "steps": ["long job"], "tookSeconds": 0.0}}
    assert pausable_resume.handler(sns_event(envelope["Message"])) == {"resumed": 1, "dropped": 0}
    execution = stack.execution("lean-1")
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == message["output"]  # no post processing: the resume's output
    history = boto3.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])["events"]
    assert [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")] == ["Pause"]


def test_a_manual_job_without_steps_is_resumed_by_hand(stack: PausableStack) -> None:
    assert stack.start({"jobId": "lean-2", "manual": True, "input": {}})[0] == 202
    stack.paused("lean-2")
    assert stack.published(wait=0.3) == []  # a manual job asks no service
    status, _ = stack.resume("lean-2", {"status": "SUCCEEDED", "output": {"approved": True}})
    assert status == 202
    stack.deliver(job_id="lean-2")
    execution = stack.execution("lean-2")
    assert execution["status"] == "SUCCEEDED" and json.loads(execution["output"]) == {"approved": True}
