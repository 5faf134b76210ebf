"""PausableWorkflow's resume: subscribed to the resume topic, completes a paused job exactly once.

Each SNS record's message follows the topic contract (``common.pausable.parse_resume``):
``{"jobId", "status": "SUCCEEDED", "output"}`` or ``{"jobId", "status": "FAILED", "error", "cause"}``.
The pause is completed with :class:`CallbackTaskFinalizer` (by job id, never by token).

A malformed message (not strict JSON: duplicate keys, NaN, Infinity, overflowing numbers), or one
for an unknown, already resumed, timed-out or ended job, is logged and dropped (the handler returns
normally: retrying cannot help). A FAILED message naming an error the pause retries or catches (or
``States.*``) fails the job once with ``ExternalFailure`` (``common.failures``). An AWS failure
raises, so the invocation is retried and finally dead-lettered.

Environment: ``TABLE_NAME`` (the pause table), ``RESERVED_ERROR_NAMES``.
"""

from __future__ import annotations

from typing import Any, Mapping

from common import documents, env, log
from common.failures import reserved_names
from common.pausable import parse_resume
from common.completion import CallbackTaskFinalizer, TokenError
from sfn_patterns.contracts import pausable


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, int]:
    """Apply every resume message of an SNS event; returns counts of resumed and dropped messages."""
    finalizer = CallbackTaskFinalizer(
        env.require(pausable.ENV_TABLE_NAME), reserved_errors=reserved_names(), timed_out_error=pausable.PAUSE_TIMED_OUT
    )
    counts = {"resumed": 0, "dropped": 0}
    for record in event.get("Records") or []:
        sns = record.get("Sns") or {}
        message_id = sns.get("MessageId")
        try:
            resume = parse_resume(documents.loads(sns.get("Message") or ""))
        except ValueError as error:  # not strict JSON (NotJson) or InvalidResumeMessage
            log.warning("resume message dropped: malformed", messageId=message_id, reason=str(error))
            counts["dropped"] += 1
            continue
        try:
            if resume.status == "SUCCEEDED":
                finalizer.success(resume.job_id, resume.output)
            else:
                finalizer.failure(resume.job_id, resume.error or "JobFailed", resume.cause)
        except TokenError as error:
            log.warning(
                "resume message dropped", messageId=message_id, jobId=resume.job_id, reason=error.code,
                detail=str(error),
            )
            counts["dropped"] += 1
            continue
        log.info("job resumed", messageId=message_id, jobId=resume.job_id, status=resume.status)
        counts["resumed"] += 1
    return counts
