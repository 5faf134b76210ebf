"""The PausableWorkflow's contracts (common.pausable): the manual flag and the resume message."""

from __future__ import annotations

import pytest

from common.manual import InvalidManualFlag, resolve_manual
from common.pausable import InvalidResumeMessage, Resume, parse_resume


@pytest.mark.parametrize(
    ("document", "manual"),
    [
        ({}, False),
        ({"input": {"manual": True}}, False),  # only the top-level flag counts
        ({"manual": True}, True),
        ({"manual": False}, False),
        ({"IsManualCallback": "True"}, True),  # seed 004's string flag
        ({"IsManualCallback": "False"}, False),
        ({"manual": True, "IsManualCallback": "True"}, True),
        (None, False),
    ],
)
def test_valid_flags(document: object, manual: bool) -> None:
    assert resolve_manual(document) is manual


@pytest.mark.parametrize(
    "document",
    [
        {"manual": "true"},
        {"manual": 1},
        {"manual": None},
        {"IsManualCallback": "true"},
        {"IsManualCallback": True},
        {"IsManualCallback": ""},
        {"manual": True, "IsManualCallback": "False"},
    ],
)
def test_invalid_flags_are_refused(document: dict) -> None:
    with pytest.raises(InvalidManualFlag):
        resolve_manual(document)


def test_resume_messages_round_trip() -> None:
    ok = parse_resume({"jobId": "j-1", "status": "SUCCEEDED", "output": {"x": 1}})
    assert ok == Resume("j-1", "SUCCEEDED", output={"x": 1})
    assert ok.message() == {"jobId": "j-1", "status": "SUCCEEDED", "output": {"x": 1}}
    assert parse_resume({"jobId": "j", "status": "SUCCEEDED"}).output == {}
    failed = parse_resume({"status": "FAILED", "error": "Boom", "cause": "why"}, job_id="j-2")
    assert failed.message() == {"jobId": "j-2", "status": "FAILED", "error": "Boom", "cause": "why"}
    assert parse_resume({"status": "FAILED", "error": "Boom"}, job_id="j").cause == ""


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"status": "SUCCEEDED"},  # no jobId
        {"jobId": "bad id!", "status": "SUCCEEDED"},
        {"jobId": "j", "status": "DONE"},
        {"jobId": "j", "status": "SUCCEEDED", "output": [1]},
        {"jobId": "j", "status": "SUCCEEDED", "output": {"big": "x" * (256 * 1024)}},
        {"jobId": "j", "status": "FAILED"},
        {"jobId": "j", "status": "FAILED", "error": ""},
        {"jobId": "j", "status": "FAILED", "error": "E" * 257},
        {"jobId": "j", "status": "FAILED", "error": "E", "cause": 5},
    ],
)
def test_malformed_resume_messages_are_refused(body: object) -> None:
    with pytest.raises(InvalidResumeMessage):
        parse_resume(body)


def test_a_route_body_may_not_name_another_job() -> None:
    with pytest.raises(InvalidResumeMessage, match="differs"):
        parse_resume({"jobId": "other", "status": "SUCCEEDED"}, job_id="j")
