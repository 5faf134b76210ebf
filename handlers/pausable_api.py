"""PausableWorkflow routes: start a job, read it, resume it by hand.

- ``POST /jobs`` ``{"input": {...}, "manual": true|false, "jobId"?}``: starts the job (the execution
  is named by the job id; one is generated when absent). 202 ``{"jobId", "status", "created"}``; the
  same id and input again answers the same job (``created`` is true for exactly one caller);
  another input 409; bad input 400; an execution input or pause payload over 256 KiB 413.
- ``GET /jobs/{jobId}``: ``status`` (``PAUSED`` while the job waits, with ``pausedSince``), output,
  error, cause, dates; 404 for an unknown job.
- ``POST /jobs/{jobId}/resume`` ``{"status": "SUCCEEDED", "output": {...}}`` or
  ``{"status": "FAILED", "error", "cause"}``: publishes the resume to the resume topic, 202. 404
  unknown job, 409 not paused (not yet, no longer, timed out, its execution ended) or already
  resumed, 400 bad body or a reserved error name (``common.failures``), 413 a message over 256 KiB.

- ``GET /jobs``, ``DELETE /jobs/{jobId}``, ``POST /jobs/{jobId}/redrive``: list, cancel, redrive
  (``common.operations``); cancelling or redriving releases the pause row (a resume of that pause is refused).

Only one resume request per pause is accepted (a conditional ``resumeRequestedAt`` mark on the
pause row; a request older than ``RESUME_RETRY_SECONDS`` may be repeated, in case its message was
dead-lettered). Whatever reaches the topic, the resume handler completes the pause exactly once.

Environment: ``STATE_MACHINE_ARN``, ``TABLE_NAME`` (pause table), ``RESUME_TOPIC_ARN``,
``RESERVED_ERROR_NAMES`` (names, and the row's ``manual`` / ``resumeRequestedAt``, from
``sfn_patterns.contracts.pausable``).
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any, Optional

from botocore.exceptions import ClientError

from common import documents, env, executions, log, operations
from common.clients import client
from common.http import Request, Response, Router, bad_request, conflict, json_response, not_found, too_large
from common.manual import InvalidManualFlag, resolve_manual
from common.pausable import InvalidResumeMessage, parse_resume
from common.route_failures import refuse_reserved
from common.tokens import RELEASED, WAITING, TokenStore
from common.validation import optional_object, require_name
from sfn_patterns.contracts import pausable
from sfn_patterns.contracts.common import ROW_CREATED_AT, ROW_EXPIRES_AT, ROW_KEY, ROW_STATUS
from sfn_patterns.contracts.pausable import MANUAL_ATTRIBUTE, RESUME_REQUESTED_AT_ATTRIBUTE

#: Seconds after which an unanswered resume request may be made again.
RESUME_RETRY_SECONDS = 300

router = Router()


def _store() -> TokenStore:
    return TokenStore(env.require(pausable.ENV_TABLE_NAME))


def _iso(epoch: Any) -> Optional[str]:
    if not isinstance(epoch, (int, float)):
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


def _paused_row(row: Optional[dict[str, Any]], description: dict[str, Any]) -> bool:
    """Paused: the execution runs and its row waits (past the row's deadline too: the execution says when it ends)."""
    return (
        row is not None
        and description["status"] == "RUNNING"
        and row.get(ROW_STATUS) == WAITING
        and row.get("executionArn") == description["executionArn"]
    )


def _job_view(job_id: str, description: dict[str, Any], row: Optional[dict[str, Any]]) -> dict[str, Any]:
    """The caller's view of a job (never the row's token)."""
    view = executions.view(description)
    paused = _paused_row(row, description)
    execution_input = view["input"] if isinstance(view["input"], dict) else {}
    return {
        "jobId": job_id,
        "status": "PAUSED" if paused else view["status"],
        "pausedSince": _iso(row.get(ROW_CREATED_AT)) if paused and row else None,
        "resumeRequestedAt": _iso(row.get(RESUME_REQUESTED_AT_ATTRIBUTE)) if paused and row else None,
        "manual": execution_input.get(MANUAL_ATTRIBUTE),
        "input": execution_input.get(pausable.JOB_INPUT),
        "output": view["output"],
        "error": view["error"],
        "cause": view["cause"],
        "startDate": view["startDate"],
        "stopDate": view["stopDate"],
    }


@router.route("POST /jobs")
def start(request: Request) -> Response:
    """Start the job ``jobId`` (generated when absent) with ``input`` and the ``manual`` flag."""
    body = request.json_object()
    job_input = optional_object(body, "input")
    try:
        manual = resolve_manual(body)
    except InvalidManualFlag as error:
        raise bad_request("InvalidManualFlag", str(error)) from error
    job_id = require_name(body["jobId"], "jobId") if "jobId" in body else uuid.uuid4().hex
    state_machine_arn = env.require(pausable.ENV_STATE_MACHINE_ARN)
    execution_input = {pausable.JOB_INPUT: job_input, MANUAL_ATTRIBUTE: manual}
    _check_pause_payload(job_id, executions.execution_arn(state_machine_arn, job_id), execution_input)
    description, created = executions.start_once(
        state_machine_arn, job_id, execution_input, env.require(pausable.ENV_TABLE_NAME)
    )
    # A job just started cannot be paused yet (its preprocessing runs first): only a repeat reads the row.
    row = None if created else _store().get(job_id)
    view = _job_view(job_id, description, row)
    return json_response(202, {"jobId": job_id, "status": view["status"], "created": created})


def _check_pause_payload(job_id: str, execution_arn: str, execution_input: dict[str, Any]) -> None:
    """413 unless the pause's payload (the job with the longest task token) fits 256 KiB.

    It holds the async service's payload ``{"jobId", "input"}`` too. What a preprocessing step
    adds is not known here: its output must leave room (the README's limit).
    """
    payload = {
        pausable.PAUSE_TOKEN: "t" * documents.MAX_TASK_TOKEN_CHARS,
        pausable.PAUSE_JOB_ID: job_id,
        pausable.PAUSE_EXECUTION_ARN: execution_arn,
        pausable.PAUSE_JOB: execution_input,
    }
    try:
        documents.check_size("the pause's input (the job, its task token and execution ARN)", documents.dumps(payload))
    except documents.DocumentTooLarge as error:
        raise too_large(error) from error


@router.route("GET /jobs/{jobId}")
def get(request: Request) -> Response:
    """The job's status (``PAUSED`` while waiting, since when), output, error and dates."""
    job_id = require_name(request.path("jobId"), "jobId")
    description = executions.describe(env.require(pausable.ENV_STATE_MACHINE_ARN), job_id)
    if description is None:
        raise not_found(f"no job {job_id!r}")
    return json_response(200, _job_view(job_id, description, _store().get(job_id)))


def _mark_resume_requested(table: str, job_id: str) -> bool:
    """Mark the waiting row as having a resume on its way; False when one already is (or it stopped waiting)."""
    now = int(time.time())
    try:
        client("dynamodb").update_item(
            TableName=table,
            Key={ROW_KEY: {"S": job_id}},
            UpdateExpression="SET #r = :now",
            ConditionExpression=f"#s = :waiting AND {ROW_EXPIRES_AT} >= :now AND (attribute_not_exists(#r) OR #r < :stale)",
            ExpressionAttributeNames={"#s": ROW_STATUS, "#r": RESUME_REQUESTED_AT_ATTRIBUTE},
            ExpressionAttributeValues={
                ":waiting": {"S": WAITING},
                ":now": {"N": str(now)},
                ":stale": {"N": str(now - RESUME_RETRY_SECONDS)},
            },
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _unmark_resume_requested(table: str, job_id: str) -> None:
    client("dynamodb").update_item(
        TableName=table, Key={ROW_KEY: {"S": job_id}}, UpdateExpression="REMOVE #r",
        ExpressionAttributeNames={"#r": RESUME_REQUESTED_AT_ATTRIBUTE},
    )


@router.route("POST /jobs/{jobId}/resume")
def resume(request: Request) -> Response:
    """Publish a resume of the paused job to the resume topic (checked first: 404, 409)."""
    job_id = require_name(request.path("jobId"), "jobId")
    try:
        message = parse_resume(request.json_object(), job_id=job_id)
    except InvalidResumeMessage as error:
        raise bad_request("InvalidResume", str(error)) from error
    if message.error is not None:
        refuse_reserved(message.error)
    try:
        text = documents.check_size("the resume message", documents.dumps(message.message()))
    except documents.DocumentTooLarge as error:
        raise too_large(error) from error

    table = env.require(pausable.ENV_TABLE_NAME)
    row = _store().get(job_id)
    if row is None:
        description = executions.describe(env.require(pausable.ENV_STATE_MACHINE_ARN), job_id)
        if description is None:
            raise not_found(f"no job {job_id!r}")
        raise conflict(f"the job {job_id!r} is not paused (it is {description['status']})", "NotPaused")
    if row.get(ROW_STATUS) == RELEASED:
        raise conflict(f"the job {job_id!r} is not paused: it was cancelled or is being redriven", "NotPaused")
    if row.get(ROW_STATUS) != WAITING:
        raise conflict(f"the job {job_id!r} was already resumed ({row.get(ROW_STATUS)})", "AlreadyResumed")
    if row.get(ROW_EXPIRES_AT, 0) < time.time():
        raise conflict(f"the job {job_id!r} is not paused any more: its pause timed out", "NotPaused")
    # The row says WAITING; the execution says whether the job still waits (it may have been stopped).
    description = executions.describe(env.require(pausable.ENV_STATE_MACHINE_ARN), job_id)
    if description is None or description["status"] != "RUNNING" or description["executionArn"] != row.get("executionArn"):
        ended = description["status"] if description else "gone"
        raise conflict(f"the job {job_id!r} is not paused: its execution has ended ({ended})", "NotPaused")
    if not _mark_resume_requested(table, job_id):
        raise conflict(f"a resume of the job {job_id!r} is already on its way", "AlreadyResumed")
    try:
        client("sns").publish(TopicArn=env.require(pausable.ENV_RESUME_TOPIC_ARN), Message=text)
    except Exception:
        _unmark_resume_requested(table, job_id)
        raise
    log.info("resume published", jobId=job_id, status=message.status)
    return json_response(202, {"jobId": job_id, "status": "RESUMING", "resume": message.status})


def _release(job_id: str, description: Any) -> None:
    """Free the job's pause row (a resume of the cancelled or redriven pause is refused)."""
    operations.release_ended(_store(), job_id, description["executionArn"])


operations.register(router, "jobs", "jobId", _release)

handler = router.handler
