"""PausableWorkflow end to end on the local stack, through its HTTP endpoint and its resume topic.

Automatic jobs are resumed by the demo async service (seed 004's; ``pausableJobSeconds`` from
``E2E_CONFIG``); manual jobs by the resume route, as a person would, or by publishing to the resume
topic, as an outside service would. Unresumed jobs time out after ``pauseTimeoutSeconds``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any, Callable

import pytest

from tests.e2e.conftest import E2E_CONFIG

TIMEOUT = int(E2E_CONFIG["sfn-patterns:pauseTimeoutSeconds"])
FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def base(local_stack: Any) -> str:
    """The pausable endpoint's base URL."""
    return local_stack.endpoints["pausable"].rstrip("/")


@pytest.fixture(scope="module")
def api(local_stack: Any, base: str) -> Callable[..., tuple[int, Any]]:
    """``api(method, path, body=None, data=None) -> (status, parsed body)``."""

    def call(method: str, path: str, body: Any = None, data: Any = None) -> tuple[int, Any]:
        status, answer, _ = local_stack.request(method, base + path, json=body, data=data)
        return status, answer

    return call


def _forget(local_stack: Any) -> tuple[str, float, int]:
    """A manual job nobody resumes: its id, start time and start status."""
    job_id = _id("forgotten")
    status, _, _ = local_stack.request("POST", local_stack.endpoints["pausable"].rstrip("/") + "/jobs",
                                       json={"jobId": job_id, "manual": True})
    return job_id, time.monotonic(), status


#: Started with the session (conftest ``early``), so the forgotten job's pause times out while other modules run.
EARLY = {"forgotten": _forget}


@pytest.fixture(scope="module")
def forgotten(early: dict[str, Any]) -> tuple[str, float]:
    """The manual job nobody resumes (:func:`_forget`), started with the session: its id and start time."""
    job_id, started, status = early["test_pausable:forgotten"].result(timeout=30)
    assert status == 202
    return job_id, started


def _job(api: Callable[..., tuple[int, Any]], job_id: str) -> dict[str, Any]:
    status, view = api("GET", f"/jobs/{job_id}")
    assert status == 200, view
    return view


def _until(local_stack: Any, api: Callable[..., tuple[int, Any]], job_id: str, statuses: set[str],
           timeout: float = 15) -> dict[str, Any]:
    return local_stack.wait_for(lambda: (v := _job(api, job_id))["status"] in statuses and v, timeout=timeout)


def test_automatic_job_is_resumed_by_the_async_service(local_stack: Any, api: Any, forgotten: Any) -> None:
    job_id = _id("auto")
    status, answer = api("POST", "/jobs", {"jobId": job_id, "input": {"order": 7}})
    assert status == 202 and answer["jobId"] == job_id and answer["created"] is True
    view = _until(local_stack, api, job_id, FINAL)
    assert view["status"] == "SUCCEEDED", view
    assert view["output"]["steps"] == ["preprocess", "long job", "postprocess"]
    assert view["output"]["result"]["data"] == {"order": 7}
    assert view["manual"] is False and view["pausedSince"] is None
    # The same job id and input again: the same job; another input: 409.
    status, again = api("POST", "/jobs", {"jobId": job_id, "input": {"order": 7}})
    assert status == 202 and again["created"] is False and again["status"] == "SUCCEEDED"
    status, answer = api("POST", "/jobs", {"jobId": job_id, "input": {"order": 8}})
    assert status == 409 and answer["error"] == "NameConflict"


def test_async_service_failure_fails_the_job(local_stack: Any, api: Any) -> None:
    status, answer = api("POST", "/jobs", {"input": {"fail": True}})
    assert status == 202 and len(answer["jobId"]) == 32
    view = _until(local_stack, api, answer["jobId"], FINAL)
    assert view["status"] == "FAILED" and view["error"] == "DemoJobFailed"


def test_manual_job_pauses_until_a_person_resumes_it(local_stack: Any, api: Any) -> None:
    job_id = _id("manual")
    assert api("POST", "/jobs", {"jobId": job_id, "input": {"doc": "d"}, "manual": True})[0] == 202
    view = _until(local_stack, api, job_id, {"PAUSED"})
    assert view["manual"] is True and view["pausedSince"] and view["input"] == {"doc": "d"}
    time.sleep(0.5)
    assert _job(api, job_id)["status"] == "PAUSED"  # nobody was asked: it stays paused
    status, answer = api("POST", f"/jobs/{job_id}/resume", {"status": "SUCCEEDED", "output": {"approved": True}})
    assert status == 202 and answer["status"] == "RESUMING"
    view = _until(local_stack, api, job_id, FINAL)
    assert view["status"] == "SUCCEEDED"
    assert view["output"] == {"result": {"approved": True}, "steps": ["postprocess"]}
    status, answer = api("POST", f"/jobs/{job_id}/resume", {"status": "FAILED", "error": "Late"})
    assert status == 409 and answer["error"] == "AlreadyResumed"
    assert _job(api, job_id)["status"] == "SUCCEEDED"


def test_failure_resume_fails_the_job_with_the_error(local_stack: Any, api: Any) -> None:
    job_id = _id("reject")
    assert api("POST", "/jobs", {"jobId": job_id, "IsManualCallback": "True"})[0] == 202  # seed 004's flag
    assert _until(local_stack, api, job_id, {"PAUSED"})["manual"] is True
    status, _ = api("POST", f"/jobs/{job_id}/resume", {"status": "FAILED", "error": "Rejected", "cause": "no"})
    assert status == 202
    view = _until(local_stack, api, job_id, FINAL)
    assert view["status"] == "FAILED" and view["error"] == "Rejected" and view["output"] is None


def test_an_outside_service_resumes_through_the_topic(local_stack: Any, api: Any) -> None:
    job_id = _id("topic")
    assert api("POST", "/jobs", {"jobId": job_id, "manual": True})[0] == 202
    _until(local_stack, api, job_id, {"PAUSED"})
    sns = local_stack.client("sns")
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"] if ":pausable-resume" in t["TopicArn"]]
    assert len(topics) == 1, topics
    # A malformed message and one for an unknown job are dropped; the job stays paused.
    sns.publish(TopicArn=topics[0], Message="not json")
    sns.publish(TopicArn=topics[0], Message=json.dumps({"jobId": "nobody", "status": "SUCCEEDED"}))
    time.sleep(0.5)
    assert _job(api, job_id)["status"] == "PAUSED"
    sns.publish(TopicArn=topics[0], Message=json.dumps({"jobId": job_id, "status": "SUCCEEDED", "output": {"by": "svc"}}))
    view = _until(local_stack, api, job_id, FINAL)
    assert view["status"] == "SUCCEEDED" and view["output"]["result"] == {"by": "svc"}


def test_concurrent_resumes_resume_once(local_stack: Any, api: Any) -> None:
    job_id = _id("race")
    assert api("POST", "/jobs", {"jobId": job_id, "manual": True})[0] == 202
    _until(local_stack, api, job_id, {"PAUSED"})
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def resume(n: int) -> None:
        barrier.wait()
        statuses.append(api("POST", f"/jobs/{job_id}/resume", {"status": "SUCCEEDED", "output": {"n": n}})[0])

    threads = [threading.Thread(target=resume, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202, 409, 409, 409]
    view = _until(local_stack, api, job_id, FINAL)
    assert view["status"] == "SUCCEEDED" and view["output"]["result"]["n"] in range(4)


def test_bad_input_is_refused_and_starts_nothing(local_stack: Any, api: Any) -> None:
    before = len(local_stack.executions("pausable"))
    for body, data, code in [
        ({"manual": "true"}, None, "InvalidManualFlag"),
        ({"IsManualCallback": "yes"}, None, "InvalidManualFlag"),
        ({"manual": True, "IsManualCallback": "False"}, None, "InvalidManualFlag"),
        ({"jobId": "not ok!"}, None, "InvalidName"),
        ({"input": "text"}, None, "InvalidInput"),
        (None, "{broken", "MalformedJson"),
    ]:
        status, answer = api("POST", "/jobs", body, data)
        assert status == 400 and answer["error"] == code, (body, answer)
    assert len(local_stack.executions("pausable")) == before
    assert api("GET", "/jobs/nobody")[0] == 404
    assert api("POST", "/jobs/nobody/resume", {"status": "SUCCEEDED"})[0] == 404
    job_id = _id("badresume")
    assert api("POST", "/jobs", {"jobId": job_id, "manual": True})[0] == 202
    _until(local_stack, api, job_id, {"PAUSED"})
    for body in [{"status": "DONE"}, {"status": "FAILED"}, {"status": "SUCCEEDED", "output": [1]}]:
        status, answer = api("POST", f"/jobs/{job_id}/resume", body)
        assert status == 400 and answer["error"] == "InvalidResume", answer
    assert _job(api, job_id)["status"] == "PAUSED"
    assert api("POST", f"/jobs/{job_id}/resume", {"status": "SUCCEEDED"})[0] == 202  # still resumable


def test_an_unresumed_job_times_out_with_pause_timed_out(local_stack: Any, api: Any, forgotten: Any) -> None:
    job_id, started = forgotten
    view = _until(local_stack, api, job_id, FINAL, timeout=max(TIMEOUT + 15 - (time.monotonic() - started), 1))
    assert view["status"] == "FAILED" and view["error"] == "PauseTimedOut"
    status, answer = api("POST", f"/jobs/{job_id}/resume", {"status": "SUCCEEDED"})
    assert status == 409 and answer["error"] == "NotPaused"
