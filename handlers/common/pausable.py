"""The PausableWorkflow's resume message, shared by its route and resume handlers.

The resume message on the resume topic: ``{"jobId", "status": "SUCCEEDED", "output": {...}}`` or
``{"jobId", "status": "FAILED", "error": "...", "cause": "..."}``. Anything else is
:class:`InvalidResumeMessage`, a ``ValueError``. The job's manual flag is ``common.manual``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from common import documents
from sfn_patterns.contracts.common import EXECUTION_NAME_RULE
from sfn_patterns.contracts.common import valid_execution_name as valid_name
from sfn_patterns.contracts.pausable import MAX_CAUSE_CHARS, MAX_ERROR_CHARS, RESUME_STATUSES


class InvalidResumeMessage(ValueError):
    """A resume message (or resume request body) that breaks the topic contract."""


@dataclass(frozen=True)
class Resume:
    """One validated resume: the job, the outcome and its payload."""

    job_id: str
    status: str
    output: Any = field(default_factory=dict)
    error: Optional[str] = None
    cause: str = ""

    def message(self) -> dict[str, Any]:
        """The topic message for this resume (the contract's shape)."""
        if self.status == "SUCCEEDED":
            return {"jobId": self.job_id, "status": self.status, "output": self.output}
        return {"jobId": self.job_id, "status": self.status, "error": self.error, "cause": self.cause}


def parse_resume(body: Any, job_id: Optional[str] = None) -> Resume:
    """Validate a resume message (``job_id`` given: a route body whose job comes from the path).

    SUCCEEDED: ``output`` is a JSON object (default ``{}``) within Step Functions' 256 KiB.
    FAILED: ``error`` is a string of 1 to 256 characters, ``cause`` an optional string of at most
    32768 characters.
    """
    if not isinstance(body, Mapping):
        raise InvalidResumeMessage("the resume must be a JSON object")
    if job_id is None:
        job_id = body.get("jobId")
        if not valid_name(job_id):
            raise InvalidResumeMessage(f"'jobId' must be {EXECUTION_NAME_RULE}")
    elif "jobId" in body and body["jobId"] != job_id:
        raise InvalidResumeMessage("'jobId' in the body differs from the job in the path")
    status = body.get("status")
    if status not in RESUME_STATUSES:
        raise InvalidResumeMessage(f"'status' must be one of {', '.join(RESUME_STATUSES)}")
    if status == "SUCCEEDED":
        output = body.get("output", {})
        if not isinstance(output, dict):
            raise InvalidResumeMessage("'output' must be a JSON object")
        size = documents.size(documents.dumps(output))
        if size > documents.MAX_DOCUMENT_BYTES:
            raise InvalidResumeMessage(f"'output' is {size} bytes; SendTaskSuccess accepts at most {documents.MAX_DOCUMENT_BYTES}")
        return Resume(job_id, status, output=output)
    error = body.get("error")
    if not isinstance(error, str) or not 1 <= len(error) <= MAX_ERROR_CHARS:
        raise InvalidResumeMessage(f"'error' must be a string of 1 to {MAX_ERROR_CHARS} characters")
    cause = body.get("cause", "")
    if not isinstance(cause, str) or len(cause) > MAX_CAUSE_CHARS:
        raise InvalidResumeMessage(f"'cause' must be a string of at most {MAX_CAUSE_CHARS} characters")
    return Resume(job_id, status, output=None, error=error, cause=cause)
