"""PausableWorkflow on moto: its routes, pause and resume handlers, on the component's real ASL.

See ``pausable_stack`` for the set-up: the handlers run in-process, the resume topic is read
through an SQS queue and its messages handed to ``pausable_resume`` as SNS would.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Iterator

import boto3
import pytest

import pausable_pause
import pausable_resume
from common import log
from sfn_patterns.blocks.state_machine import reserved_error_names
from sfn_patterns.patterns.pausable_workflow import pausable_definition
from tests.handlers.conftest import emulated_aws, race, scheduled_tasks
from tests.handlers.pausable_stack import PausableStack, deploy, sns_event


@pytest.fixture(scope="module")
def deployed() -> Iterator[PausableStack]:
    """One stack for the module (deploying takes a while); each test uses its own job ids."""
    with emulated_aws(), pytest.MonkeyPatch.context() as patch:
        yield deploy(patch)


@pytest.fixture
def stack(deployed: PausableStack) -> PausableStack:
    """The module's stack, with the resume topic's queue drained of earlier tests' messages."""
    deployed.published(wait=0)
    return deployed


def _executions(stack: PausableStack) -> list[str]:
    listed = boto3.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    return [e["name"] for e in listed]


def _start(stack: PausableStack, job_id: str, **body: Any) -> dict[str, Any]:
    status, answer = stack.start({"jobId": job_id, **body})
    assert status == 202, answer
    return answer


# --- automatic resume (the async service) ------------------------------------------------------


def test_automatic_job_pauses_then_the_async_service_resumes_it(stack: PausableStack) -> None:
    answer = _start(stack, "auto-1", input={"order": 7})
    assert answer["jobId"] == "auto-1" and answer["created"] is True
    view = stack.paused("auto-1")
    assert view["status"] == "PAUSED" and view["manual"] is False
    assert view["pausedSince"] and view["pausedSince"].endswith("+00:00")
    assert view["input"] == {"order": 7} and view["output"] is None

    # The async service answered on the topic with the contract's message, naming the job only.
    token = stack.row("auto-1")["token"]
    envelopes = stack.published()
    assert len(envelopes) == 1
    message = json.loads(envelopes[0]["Message"])
    assert message["jobId"] == "auto-1" and message["status"] == "SUCCEEDED"
    assert token not in envelopes[0]["Message"]
    pausable_resume.handler(sns_event(envelopes[0]["Message"]))

    execution = stack.execution("auto-1")
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {
        "result": {"data": {"order": 7}, "steps": ["preprocess", "long job"], "tookSeconds": 0.0},
        "steps": ["preprocess", "long job", "postprocess"],
    }
    status, view = stack.get("auto-1")
    assert status == 200 and view["status"] == "SUCCEEDED" and view["pausedSince"] is None
    assert view["output"]["steps"][-1] == "postprocess"
    assert stack.row("auto-1")["status"] == "SUCCEEDED" and "token" not in stack.row("auto-1")


def test_demo_service_can_fail_the_job(stack: PausableStack) -> None:
    _start(stack, "auto-fail", input={"fail": True})
    stack.paused("auto-fail")
    assert stack.deliver() == [{"resumed": 1, "dropped": 0}]
    execution = stack.execution("auto-fail")
    assert execution["status"] == "FAILED" and execution["error"] == "DemoJobFailed"


def test_the_token_never_reaches_a_log_line_or_an_answer(stack: PausableStack, monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str] = []
    real = log.log
    monkeypatch.setattr(log, "log", lambda level, message, **fields: (lines.append(json.dumps(fields)), real(level, message, **fields)))
    answers = [json.dumps(_start(stack, "quiet-1", manual=True))]
    answers.append(json.dumps(stack.paused("quiet-1")))
    token = stack.row("quiet-1")["token"]
    answers.append(json.dumps(stack.resume("quiet-1", {"status": "SUCCEEDED", "output": {}})[1]))
    stack.deliver(job_id="quiet-1")
    assert stack.execution("quiet-1")["status"] == "SUCCEEDED"
    assert lines and not any(token in line for line in lines)
    assert not any(token in answer for answer in answers)


# --- starting jobs --------------------------------------------------------------------------------


def test_same_id_and_input_is_the_same_job_other_input_is_409(stack: PausableStack) -> None:
    first = _start(stack, "same-1", input={"a": 1}, manual=True)
    assert first["status"] == "RUNNING"  # just started: not paused yet (and no read of the pause table)
    stack.paused("same-1")
    again = _start(stack, "same-1", input={"a": 1}, manual=True)
    assert again["created"] is False and again["status"] == "PAUSED"
    status, answer = stack.start({"jobId": "same-1", "input": {"a": 2}, "manual": True})
    assert status == 409 and answer["error"] == "NameConflict"
    assert _executions(stack).count("same-1") == 1


def test_a_job_id_is_generated_when_absent(stack: PausableStack) -> None:
    status, answer = stack.start({"input": {}, "manual": True})
    assert status == 202 and len(answer["jobId"]) == 32
    assert stack.paused(answer["jobId"])["status"] == "PAUSED"


INVALID_FLAGS = [
    {"manual": "true"},
    {"manual": 1},
    {"manual": None},
    {"IsManualCallback": "yes"},
    {"IsManualCallback": True},
    {"manual": False, "IsManualCallback": "True"},
]


def test_an_invalid_manual_flag_is_a_400_and_starts_nothing(stack: PausableStack) -> None:
    for body in INVALID_FLAGS:
        status, answer = stack.start({"jobId": "bad-flag", **body})
        assert status == 400 and answer["error"] == "InvalidManualFlag", body
    assert "bad-flag" not in _executions(stack)


BAD_STARTS = [
    (None, "{not json", "MalformedJson"),
    (None, "[1]", "InvalidBody"),
    ({"input": [1]}, None, "InvalidInput"),
    ({"jobId": "no spaces please"}, None, "InvalidName"),
    ({"jobId": "x" * 81}, None, "InvalidName"),
    ({"jobId": None}, None, "MissingField"),
]


def test_bad_start_requests_are_400_and_start_nothing(stack: PausableStack) -> None:
    before = _executions(stack)
    for body, raw, code in BAD_STARTS:
        status, answer = stack.call("POST /jobs", body, raw_body=raw)
        assert status == 400 and answer["error"] == code and answer["message"], (body, raw)
    assert _executions(stack) == before


def test_seed_string_flag_true_pauses_for_a_person(stack: PausableStack) -> None:
    _start(stack, "seed-manual", input={"x": 1}, IsManualCallback="True")
    view = stack.paused("seed-manual")
    assert view["manual"] is True and view["status"] == "PAUSED"
    assert stack.row("seed-manual")["manual"] is True
    assert stack.published(wait=0.5) == []  # the async service was not asked


def test_seed_string_flag_false_calls_the_async_service(stack: PausableStack) -> None:
    _start(stack, "seed-auto", IsManualCallback="False")
    stack.paused("seed-auto")
    assert stack.deliver() == [{"resumed": 1, "dropped": 0}]
    assert stack.execution("seed-auto")["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("execution_input", "expected"),
    [
        ({"IsManualCallback": "True"}, "PAUSED"),  # seed 004's own input
        ({}, "AUTO"),  # a missing flag: not manual (seed 004 crashed here)
        ({"IsManualCallback": "Maybe"}, "InvalidManualFlag"),
        ({"manual": "yes"}, "InvalidManualFlag"),
    ],
)
def test_executions_started_outside_the_api_validate_the_flag(
    stack: PausableStack, execution_input: dict, expected: str
) -> None:
    name = f"outside-{abs(hash(json.dumps(execution_input))) % 10**8}"
    boto3.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn, name=name, input=json.dumps(execution_input)
    )
    if expected == "InvalidManualFlag":
        execution = stack.execution(name)
        assert execution["status"] == "FAILED" and execution["error"] == "InvalidManualFlag"
        assert stack.row(name) is None  # nothing was parked
        status, answer = stack.resume(name, {"status": "SUCCEEDED"})
        assert status == 409 and answer["error"] == "NotPaused"
    elif expected == "PAUSED":
        assert stack.paused(name)["manual"] is None  # the API's normalized flag is absent
        assert stack.row(name)["manual"] is True
    else:
        stack.paused(name)
        stack.deliver(job_id=name)
        assert stack.execution(name)["status"] == "SUCCEEDED"


# --- resuming by hand ------------------------------------------------------------------------------


def test_manual_resume_succeeds_through_the_topic(stack: PausableStack) -> None:
    _start(stack, "man-1", input={"doc": "d"}, manual=True)
    stack.paused("man-1")
    status, answer = stack.resume("man-1", {"status": "SUCCEEDED", "output": {"approved": True}})
    assert status == 202 and answer == {"jobId": "man-1", "status": "RESUMING", "resume": "SUCCEEDED"}
    assert stack.get("man-1")[1]["resumeRequestedAt"]
    assert stack.deliver() == [{"resumed": 1, "dropped": 0}]
    execution = stack.execution("man-1")
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {"result": {"approved": True}, "steps": ["postprocess"]}
    # Resumed once: another resume is refused and changes nothing.
    status, answer = stack.resume("man-1", {"status": "FAILED", "error": "Late"})
    assert status == 409 and answer["error"] == "AlreadyResumed"
    assert stack.published(wait=0.3) == []


def test_manual_failure_resume_fails_the_job_with_the_error(stack: PausableStack) -> None:
    _start(stack, "man-fail", manual=True)
    stack.paused("man-fail")
    status, _ = stack.resume("man-fail", {"status": "FAILED", "error": "Rejected", "cause": "the reviewer said no"})
    assert status == 202
    stack.deliver(job_id="man-fail")
    execution = stack.execution("man-fail")
    assert execution["status"] == "FAILED" and execution["error"] == "Rejected"
    status, view = stack.get("man-fail")
    assert view["status"] == "FAILED" and view["error"] == "Rejected"
    assert stack.row("man-fail")["status"] == "FAILED"


def test_concurrent_resume_requests_give_one_202(stack: PausableStack) -> None:
    _start(stack, "race-1", manual=True)
    stack.paused("race-1")
    barrier = threading.Barrier(5)
    statuses: list[int] = []

    def resume(n: int) -> None:
        barrier.wait()
        statuses.append(stack.resume("race-1", {"status": "SUCCEEDED", "output": {"n": n}})[0])

    threads = [threading.Thread(target=resume, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202, 409, 409, 409, 409]
    assert len(stack.published()) == 1


def test_unknown_job_is_404_and_bad_bodies_are_400(stack: PausableStack) -> None:
    assert stack.resume("nobody", {"status": "SUCCEEDED"})[0] == 404
    assert stack.get("nobody")[0] == 404
    assert stack.get("bad id")[0] == 400
    _start(stack, "bodies", manual=True)
    stack.paused("bodies")
    for body, raw in [
        (None, "{"),
        ({"status": "DONE"}, None),
        ({"status": "SUCCEEDED", "output": "text"}, None),
        ({"status": "FAILED"}, None),
        ({"status": "FAILED", "error": "E" * 300}, None),
        ({"jobId": "other", "status": "SUCCEEDED"}, None),
    ]:
        status, answer = stack.resume("bodies", body, raw_body=raw)
        assert status == 400, (body, answer)
    assert stack.get("bodies")[1]["status"] == "PAUSED"
    assert stack.published(wait=0.3) == []
    assert "resumeRequestedAt" not in stack.row("bodies")


def test_a_stale_resume_request_may_be_repeated(stack: PausableStack) -> None:
    _start(stack, "stale", manual=True)
    stack.paused("stale")
    boto3.client("dynamodb").update_item(  # a request made long ago whose message never arrived
        TableName=stack.table, Key={"pk": {"S": "stale"}}, UpdateExpression="SET resumeRequestedAt = :t",
        ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 3600)}},
    )
    assert stack.resume("stale", {"status": "SUCCEEDED"})[0] == 202


def test_a_failed_publish_undoes_the_request_mark(stack: PausableStack, monkeypatch: pytest.MonkeyPatch) -> None:
    _start(stack, "nopub", manual=True)
    stack.paused("nopub")
    monkeypatch.setenv("RESUME_TOPIC_ARN", stack.topic_arn + "-gone")
    status, answer = stack.resume("nopub", {"status": "SUCCEEDED"})
    assert status == 500 and answer["error"] == "InternalError"
    assert "resumeRequestedAt" not in stack.row("nopub")
    monkeypatch.setenv("RESUME_TOPIC_ARN", stack.topic_arn)
    assert stack.resume("nopub", {"status": "SUCCEEDED"})[0] == 202


# --- the resume handler -----------------------------------------------------------------------------


def test_resume_messages_complete_a_pause_exactly_once(stack: PausableStack) -> None:
    _start(stack, "once", manual=True)
    stack.paused("once")
    barrier = threading.Barrier(4)
    results: list[dict[str, int]] = []

    def deliver(n: int) -> None:
        message = json.dumps({"jobId": "once", "status": "SUCCEEDED", "output": {"n": n}})
        barrier.wait()
        results.append(pausable_resume.handler(sns_event(message)))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r["resumed"] for r in results) == [0, 0, 0, 1]
    assert sum(r["dropped"] for r in results) == 3
    execution = stack.execution("once")
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"])["result"]["n"] in range(4)


DROPPED_MESSAGES = [
    "not json",
    json.dumps(["a"]),
    json.dumps({"status": "SUCCEEDED"}),
    json.dumps({"jobId": "dropme", "status": "MAYBE"}),
    json.dumps({"jobId": "dropme", "status": "FAILED"}),
    json.dumps({"jobId": "nobody", "status": "SUCCEEDED"}),  # unknown job
]


def test_malformed_or_unknown_messages_are_dropped(stack: PausableStack) -> None:
    _start(stack, "dropme", manual=True)
    stack.paused("dropme")
    for message in DROPPED_MESSAGES:
        assert pausable_resume.handler(sns_event(message)) == {"resumed": 0, "dropped": 1}, message
    assert stack.get("dropme")[1]["status"] == "PAUSED"


def test_a_message_for_an_already_resumed_job_is_dropped(stack: PausableStack) -> None:
    _start(stack, "twice", manual=True)
    stack.paused("twice")
    message = json.dumps({"jobId": "twice", "status": "SUCCEEDED", "output": {"first": True}})
    assert pausable_resume.handler(sns_event(message))["resumed"] == 1
    late = json.dumps({"jobId": "twice", "status": "FAILED", "error": "Late"})
    assert pausable_resume.handler(sns_event(late)) == {"resumed": 0, "dropped": 1}
    execution = stack.execution("twice")
    assert execution["status"] == "SUCCEEDED" and json.loads(execution["output"])["result"] == {"first": True}


def test_an_aws_failure_raises_so_sns_retries(stack: PausableStack, monkeypatch: pytest.MonkeyPatch) -> None:
    _start(stack, "retry-me", manual=True)
    stack.paused("retry-me")
    message = json.dumps({"jobId": "retry-me", "status": "SUCCEEDED", "output": {}})
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    with pytest.raises(Exception, match="ResourceNotFound|Requested resource not found"):
        pausable_resume.handler(sns_event(message))
    monkeypatch.setenv("TABLE_NAME", stack.table)
    assert pausable_resume.handler(sns_event(message))["resumed"] == 1  # the retry completes it
    assert stack.execution("retry-me")["status"] == "SUCCEEDED"


# --- the pause handler ------------------------------------------------------------------------------


def test_pause_raises_a_retryable_error_when_the_async_service_cannot_be_invoked(
    stack: PausableStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNC_SERVICE_ARN", "arn:aws:lambda:us-east-1:123456789012:function:gone")
    event = {"token": "tok-123", "jobId": "direct", "executionArn": "arn:x", "job": {"preprocessed": {}}}
    with pytest.raises(pausable_pause.AsyncServiceUnavailable):
        pausable_pause.handler(event)
    assert stack.row("direct")["status"] == "WAITING"  # a retry registers its new token over it


def test_pause_rows_expire_with_the_pause_timeout(stack: PausableStack) -> None:
    _start(stack, "ttl", manual=True)
    stack.paused("ttl")
    row = stack.row("ttl")
    assert row["expiresAt"] - row["createdAt"] == 60  # the deployed timeout


# --- the pause timeout ----------------------------------------------------------------------------


def test_a_pause_that_outlives_its_timeout_fails_with_pause_timed_out(
    deployed: PausableStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = deploy(monkeypatch, timeout=1)  # a second workflow beside the module's, with a 1 s pause
    _start(stack, "slow", manual=True)
    stack.paused("slow")
    execution = stack.execution("slow", timeout=10)
    assert execution["status"] == "FAILED" and execution["error"] == "PauseTimedOut"
    status, view = stack.get("slow")
    assert view["status"] == "FAILED" and view["error"] == "PauseTimedOut" and view["pausedSince"] is None
    status, answer = stack.resume("slow", {"status": "SUCCEEDED"})
    assert status == 409 and answer["error"] == "NotPaused"
    late = json.dumps({"jobId": "slow", "status": "SUCCEEDED", "output": {}})
    assert stack.row("slow")["status"] == "WAITING"  # only the execution knows the pause is over
    assert pausable_resume.handler(sns_event(late)) == {"resumed": 0, "dropped": 1}
    assert stack.row("slow")["status"] == "TIMED_OUT"  # PauseTimedOut: the finalizer's timed-out wait


# --- what an execution costs ---------------------------------------------------------------------


def test_a_job_enters_three_states_and_its_lambdas_run_once_each(stack: PausableStack, monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.handlers.pausable_stack as support

    calls: list[str] = []
    for name, function in list(support.IN_PROCESS.items()):
        def counted(event: Any, context: Any, n: str = name, f: Any = function) -> Any:
            if "costly" in json.dumps(event):  # this job's invocations only, not other tests' stragglers
                calls.append(n)
            return f(event, context)

        monkeypatch.setitem(support.IN_PROCESS, name, counted)
    _start(stack, "costly", input={"tag": "costly"})
    stack.paused("costly")
    stack.deliver(job_id="costly")
    assert stack.execution("costly")["status"] == "SUCCEEDED"
    arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":costly"
    events = boto3.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered == ["Preprocess", "Pause", "Postprocess"]
    # In the workflow: preprocess, pause, the async service (asked by the pause), postprocess; plus
    # the resume Lambda once (SNS delivery, here ``deliver``).
    assert sorted(calls) == ["async-service", "pause", "postprocess", "preprocess"]


# --- Operations: cancel and redrive release the pause (common.operations) -----------------------


def test_cancel_releases_the_pause(stack: PausableStack) -> None:
    _start(stack, "ops-cancel", manual=True)
    stack.paused("ops-cancel")
    status, body = stack.call("DELETE /jobs/{jobId}", path={"jobId": "ops-cancel"})
    assert status == 200 and body["jobId"] == "ops-cancel" and body["status"] == "ABORTED"
    assert stack.row("ops-cancel")["status"] == "RELEASED" and "token" not in stack.row("ops-cancel")
    status, body = stack.resume("ops-cancel", {"status": "SUCCEEDED", "output": {}})
    assert status == 409 and body["error"] == "NotPaused"
    message = json.dumps({"jobId": "ops-cancel", "status": "SUCCEEDED", "output": {}})
    assert pausable_resume.handler(sns_event(message)) == {"resumed": 0, "dropped": 1}
    assert stack.get("ops-cancel")[1]["status"] == "ABORTED"


def test_a_failed_job_redriven_pauses_again_and_completes(stack: PausableStack) -> None:
    _start(stack, "ops-redrive", manual=True, input={"n": 3})
    stack.paused("ops-redrive")
    assert stack.resume("ops-redrive", {"status": "FAILED", "error": "Broken", "cause": "x"})[0] == 202
    stack.deliver(job_id="ops-redrive")
    assert stack.execution("ops-redrive")["status"] == "FAILED"
    status, body = stack.call("POST /jobs/{jobId}/redrive", path={"jobId": "ops-redrive"})
    assert status == 202 and body["redriveCount"] == 1
    view = stack.paused("ops-redrive")
    assert view["status"] == "PAUSED" and view["input"] == {"n": 3}
    assert stack.resume("ops-redrive", {"status": "SUCCEEDED", "output": {"fixed": True}})[0] == 202
    stack.deliver(job_id="ops-redrive")
    assert stack.execution("ops-redrive")["status"] == "SUCCEEDED"
    status, page = stack.call("GET /jobs", path=None)
    assert status == 200 and "ops-redrive" in [i["jobId"] for i in page["items"]]


def test_no_reported_error_name_can_steer_the_pause(stack: PausableStack) -> None:
    """Every name a Retry or Catch of the pause matches: the resume route refuses it (400); a resume
    message on the topic naming it fails the job once with ExternalFailure (no re-run of the pause)."""
    reserved = reserved_error_names(pausable_definition(60))
    assert {"AwsServiceUnavailable", "AsyncServiceUnavailable", "Lambda.ServiceException", "PauseTimedOut"} <= set(reserved)
    jobs = {f"steer-{index}": name for index, name in enumerate(reserved)}
    for job in jobs:
        _start(stack, job, manual=True)
    for job, name in jobs.items():
        stack.paused(job)
        status, body = stack.resume(job, {"status": "FAILED", "error": name})
        assert (status, body["error"]) == (400, "ReservedError") and "PauseTimedOut" in body["message"], name
        message = json.dumps({"jobId": job, "status": "FAILED", "error": name, "cause": "from outside"})
        assert pausable_resume.handler(sns_event(message)) == {"resumed": 1, "dropped": 0}
    assert stack.published(wait=0.3) == []  # the route published nothing
    for job, name in jobs.items():
        execution = stack.execution(job)
        assert (execution["status"], execution.get("error")) == ("FAILED", "ExternalFailure"), name
        assert scheduled_tasks(execution["executionArn"], "waitForTaskToken") == 1, name  # one Pause: no re-run


def test_resume_messages_that_are_not_strict_json_are_dropped(stack: PausableStack) -> None:
    _start(stack, "strict-1", manual=True)
    stack.paused("strict-1")
    for message in (
        '{"jobId": "strict-1", "status": "SUCCEEDED", "output": {"n": NaN}}',
        '{"jobId": "strict-1", "status": "SUCCEEDED", "output": {"n": 1e400}}',
        '{"jobId": "strict-1", "status": "FAILED", "status": "SUCCEEDED", "error": "E"}',
    ):
        assert pausable_resume.handler(sns_event(message)) == {"resumed": 0, "dropped": 1}, message
    assert stack.get("strict-1")[1]["status"] == "PAUSED"


def test_of_20_concurrent_starts_exactly_one_is_told_created(stack: PausableStack) -> None:
    answers = race(20, lambda _: stack.start({"jobId": "race-20", "input": {"n": 1}, "manual": True}))
    assert [status for status, _ in answers] == [202] * 20
    assert sum(body["created"] is True for _, body in answers) == 1
    assert _executions(stack).count("race-20") == 1
