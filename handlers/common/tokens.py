"""Task tokens kept in DynamoDB under an application key, and :class:`CallbackTaskFinalizer` (seed 002).

Code that finishes a callback task never touches a token: it names the task by its key (a task id,
a workflow key, a job id) and calls ``success``, ``failure`` or ``heartbeat``. The token table row
(its attribute names are defined once in ``sfn_patterns.contracts.common``, ``ROW_*``, which the
monitor's JSONata ``putItem`` is generated from too):

=============  ===============================================================================
``pk``         the key (string, the table's hash key)
``status``     ``WAITING`` until completed, then ``SUCCEEDED``, ``FAILED`` or ``TIMED_OUT``;
               ``RELEASED`` when its execution was cancelled or is being redriven
``token``      the task token while ``WAITING``; removed once used
``executionArn`` the execution that waits
``createdAt``  epoch seconds of registration
``expiresAt``  epoch seconds after which the wait has timed out; the table's TTL attribute
=============  ===============================================================================

Completion is exactly once: the row moves out of ``WAITING`` with a conditional update before the
token is sent, so of two concurrent completions one wins and the other gets
:class:`AlreadyCompleted`. If Step Functions then refuses the token because the task timed out,
the row is marked ``TIMED_OUT`` and :class:`TaskTimedOut` is raised; any other AWS failure puts the
row back to ``WAITING`` (token restored) and re-raises, so the caller's retry can complete it.
Before the token is sent the execution itself is asked whether it still runs (one
``DescribeExecution`` per completion or heartbeat, nowhere else): one that ended while its row said
``WAITING`` is classified by :func:`classify_execution` (with the pattern's timed-out error name) and
the completion refused accordingly, the row marked ``TIMED_OUT``, ``RELEASED`` or ``ENDED``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any, Mapping, Optional

from botocore.exceptions import ClientError

from common import documents, log
from common.clients import client
from sfn_patterns.contracts.common import (
    FAILED,
    MAX_CAUSE_CHARS,
    MAX_ERROR_CHARS,
    REGISTER_CONDITION,
    RELEASED,
    REGISTER_CONDITION_NAMES,
    ROW_COMPLETED_AT,
    ROW_EXECUTION_ARN,
    ROW_EXPIRES_AT,
    ROW_KEY,
    ROW_STATUS,
    ROW_TOKEN,
    ENDED,
    SUCCEEDED,
    TIMED_OUT,
    WAITING,
    token_row,
)
from common.failures import outside_failure

__all__ = [
    "AlreadyCompleted", "CallbackTaskFinalizer", "ENDED", "ExecutionEnded", "FAILED", "KeyInUse", "MAX_CAUSE_CHARS",
    "MAX_ERROR_CHARS", "NotHeld", "OutputTooLarge", "RELEASED", "SUCCEEDED", "TIMED_OUT", "TaskReleased",
    "TaskTimedOut", "TokenError", "TokenStore", "UnknownTask", "WAITING", "classify_execution", "new_secret", "secret_hash",
    "secret_matches",
]

#: Errors with which Step Functions refuses a token whose task is over.
_TOKEN_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}
#: Expression attribute names of the updates: the status and the token (``status`` and ``token``
#: are DynamoDB reserved words).
_NAMES = {"#s": ROW_STATUS, "#t": ROW_TOKEN}


class TokenError(Exception):
    """A completion the token table refuses; ``status`` and ``code`` say how to answer an HTTP caller."""

    status = 400
    code = "TokenError"


class UnknownTask(TokenError):
    """No task is registered under that key."""

    status = 404
    code = "NotFound"


class AlreadyCompleted(TokenError):
    """The task was already completed (or is being completed by a concurrent caller)."""

    status = 409
    code = "AlreadyCompleted"


class TaskTimedOut(TokenError):
    """The task's wait is over (timeout or heartbeat expired): it can no longer be completed."""

    status = 410
    code = "TaskTimedOut"
    row_status = TIMED_OUT


class TaskReleased(TokenError):
    """The task's execution was cancelled, or redriven (its new wait has a new row): this wait is over."""

    status = 410
    code = "TaskReleased"
    row_status = RELEASED


class ExecutionEnded(TokenError):
    """The execution that waited under the key has ended (failed, timed out): nothing to complete."""

    status = 409
    code = "ExecutionEnded"
    row_status = ENDED


class OutputTooLarge(TokenError):
    """The output is larger than SendTaskSuccess accepts (256 KiB): refused before the task is claimed."""

    status = 413
    code = "PayloadTooLarge"


class NotHeld(TokenError):
    """The named execution does not hold the key (another one does, or none registered yet)."""

    status = 409
    code = "NotHeld"


class KeyInUse(TokenError):
    """Another live execution already waits under that key."""

    status = 409
    code = "KeyInUse"


def classify_execution(description: Mapping[str, Any], timed_out_error: Optional[str] = None) -> str:
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED: how the execution of a task stands.

    ``TIMED_OUT`` also when it ``FAILED`` with ``timed_out_error``, the pattern's Fail state that its
    wait's timeout is caught into (``CallbackTimedOut``, ``PauseTimedOut``, ``MonitorTimedOut``, from
    its contract): for whoever would complete the task, that wait timed out. The one classification
    of an ended execution, shared by :class:`CallbackTaskFinalizer` and the routes that show a task.
    """
    status = str(description["status"])
    if status == "FAILED" and timed_out_error is not None and description.get("error") == timed_out_error:
        return TIMED_OUT
    return status if status in ("RUNNING", "SUCCEEDED", "TIMED_OUT", "ABORTED") else "FAILED"


def new_secret() -> str:
    """A fresh per-task secret (256 random bits, URL-safe text) handed to the party that must complete a task."""
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """The SHA-256 hex digest under which a per-task secret is stored (never the secret itself)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: Any) -> bool:
    """True when ``secret`` hashes to ``stored_hash`` (compared in constant time)."""
    if not isinstance(stored_hash, str) or not stored_hash:
        return False
    return hmac.compare_digest(secret_hash(secret), stored_hash)


def _serialize(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    return {"S": str(value)}


def _key(key: str) -> dict[str, Any]:
    """The DynamoDB key of the row of ``key``."""
    return {ROW_KEY: {"S": key}}


def _deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, typed in item.items():
        (kind, value), = typed.items()
        out[name] = int(value) if kind == "N" and value.lstrip("-").isdigit() else (
            float(value) if kind == "N" else value
        )
    return out


class TokenStore:
    """The token table: register a token under a key, read it, and claim it exactly once."""

    def __init__(self, table_name: str, dynamodb: Any = None) -> None:
        self.table_name = table_name
        self.dynamodb = dynamodb or client("dynamodb")

    def register(
        self,
        key: str,
        token: str,
        timeout_seconds: int,
        execution_arn: str,
        attributes: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Store ``token`` as ``WAITING`` under ``key`` for ``timeout_seconds``.

        Refused with :class:`KeyInUse` while another execution's live wait holds the key; the
        same execution may register again (a retried task gets a new token).
        """
        now = int(time.time())
        item = {**token_row(key, token, execution_arn, now, now + int(timeout_seconds)), **(attributes or {})}
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={name: _serialize(value) for name, value in item.items()},
                ConditionExpression=REGISTER_CONDITION,
                ExpressionAttributeNames=dict(REGISTER_CONDITION_NAMES),
                ExpressionAttributeValues={
                    ":arn": {"S": execution_arn},
                    ":waiting": {"S": WAITING},
                    ":now": {"N": str(now)},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise KeyInUse(f"another execution is already waiting under key {key!r}") from error
            raise

    def get(self, key: str) -> Optional[dict[str, Any]]:
        """The row of ``key`` (strongly consistent), or None."""
        response = self.dynamodb.get_item(TableName=self.table_name, Key=_key(key), ConsistentRead=True)
        return _deserialize(response["Item"]) if "Item" in response else None

    def status(self, key: str) -> Optional[str]:
        """The key's status as callers see it (``WAITING`` past its deadline reads ``TIMED_OUT``)."""
        row = self.get(key)
        if row is None:
            return None
        if row[ROW_STATUS] == WAITING and row.get(ROW_EXPIRES_AT, 0) < time.time():
            return TIMED_OUT
        return row[ROW_STATUS]

    def _refusal(self, key: str, execution_arn: Optional[str] = None) -> TokenError:
        row = self.get(key)
        if execution_arn is not None and (row is None or row.get(ROW_EXECUTION_ARN) != execution_arn):
            return NotHeld(f"execution {execution_arn} does not hold key {key!r}")
        if row is None:
            return UnknownTask(f"no task is registered under key {key!r}")
        if row[ROW_STATUS] == RELEASED:
            return TaskReleased(f"the task {key!r} was cancelled or redriven: this wait can no longer be completed")
        if row[ROW_STATUS] == TIMED_OUT or (row[ROW_STATUS] == WAITING and row.get(ROW_EXPIRES_AT, 0) < time.time()):
            return TaskTimedOut(f"the task {key!r} timed out and can no longer be completed")
        if row[ROW_STATUS] == ENDED:
            return ExecutionEnded(f"the execution of task {key!r} has ended; it can no longer be completed")
        return AlreadyCompleted(f"the task {key!r} is already completed ({row[ROW_STATUS]})")

    def waiting(self, key: str) -> dict[str, Any]:
        """The row of a key whose task still waits; otherwise the matching :class:`TokenError`."""
        row = self.get(key)
        if row is None or row[ROW_STATUS] != WAITING or row.get(ROW_EXPIRES_AT, 0) < time.time():
            raise self._refusal(key)
        return row

    def claim(self, key: str, outcome: str, execution_arn: Optional[str] = None) -> dict[str, Any]:
        """Move ``key`` from ``WAITING`` to ``outcome`` and take its token (removed from the row).

        Returns the row as it was (with the token). Exactly one concurrent caller succeeds. With
        ``execution_arn``, only that execution's wait is claimed (else :class:`NotHeld`), in the
        same single conditional write: the happy path reads nothing.
        """
        now = int(time.time())
        condition = f"#s = :waiting AND attribute_exists(#t) AND {ROW_EXPIRES_AT} >= :now"
        values = {":outcome": {"S": outcome}, ":waiting": {"S": WAITING}, ":now": {"N": str(now)}}
        if execution_arn is not None:
            condition += f" AND {ROW_EXECUTION_ARN} = :arn"
            values[":arn"] = {"S": execution_arn}
        try:
            response = self.dynamodb.update_item(
                TableName=self.table_name,
                Key=_key(key),
                UpdateExpression=f"SET #s = :outcome, {ROW_COMPLETED_AT} = :now REMOVE #t",
                ConditionExpression=condition,
                ExpressionAttributeNames=dict(_NAMES),
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise self._refusal(key, execution_arn) from error
            raise
        return _deserialize(response["Attributes"])

    def restore(self, key: str, row: Mapping[str, Any], outcome: str) -> None:
        """Undo :meth:`claim` after the token could not be delivered: back to ``WAITING`` with its token."""
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key=_key(key),
            UpdateExpression=f"SET #s = :waiting, #t = :token REMOVE {ROW_COMPLETED_AT}",
            ConditionExpression="#s = :outcome",
            ExpressionAttributeNames=dict(_NAMES),
            ExpressionAttributeValues={
                ":waiting": {"S": WAITING},
                ":token": {"S": row[ROW_TOKEN]},
                ":outcome": {"S": outcome},
            },
        )

    def release(self, key: str, execution_arn: str) -> bool:
        """Mark the row of ``key`` ``RELEASED`` (token removed) if ``execution_arn`` holds it; False otherwise.

        Called when that execution is cancelled or about to be redriven: a completion of its old wait
        is then refused (:class:`TaskReleased`), and the key is free for a new wait (``register``).
        """
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=_key(key),
                UpdateExpression="SET #s = :released REMOVE #t",
                ConditionExpression="#e = :arn",
                ExpressionAttributeNames={**_NAMES, "#e": ROW_EXECUTION_ARN},
                ExpressionAttributeValues={":released": {"S": RELEASED}, ":arn": {"S": execution_arn}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark(self, key: str, status: str) -> None:
        """Set the status of ``key`` (used to record ``TIMED_OUT``)."""
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key=_key(key),
            UpdateExpression="SET #s = :status REMOVE #t",
            ExpressionAttributeNames=dict(_NAMES),
            ExpressionAttributeValues={":status": {"S": status}},
        )


class CallbackTaskFinalizer:
    """Finish callback tasks by key, never by token: ``success``, ``failure``, ``heartbeat`` (seed 002).

    Each raises :class:`UnknownTask`, :class:`AlreadyCompleted`, :class:`TaskTimedOut` or
    :class:`ExecutionEnded` when the task cannot take it, and re-raises AWS errors (after undoing its
    claim) so the caller retries. Whether the task can still be completed is judged from the
    execution (``DescribeExecution``), not from the row alone: a row left ``WAITING`` by an execution
    that has ended is marked and refused (:func:`classify_execution` with ``timed_out_error``, the
    pattern's timed-out Fail error: such an execution's task is :class:`TaskTimedOut`; a stopped one
    :class:`TaskReleased`; any other end :class:`ExecutionEnded`). A failure's error name never steers
    the workflow: a name its waits retry or catch becomes ``ExternalFailure`` (``common.failures``).
    """

    def __init__(
        self,
        table_name: str,
        dynamodb: Any = None,
        stepfunctions: Any = None,
        reserved_errors: Optional[frozenset[str]] = None,
        timed_out_error: Optional[str] = None,
    ) -> None:
        self.store = TokenStore(table_name, dynamodb)
        self.sfn = stepfunctions or client("stepfunctions")
        self.reserved_errors = reserved_errors
        self.timed_out_error = timed_out_error

    def success(self, task_key: str, result: Any, execution_arn: Optional[str] = None) -> None:
        """Complete the task under ``task_key`` successfully with ``result`` (JSON-serializable).

        With ``execution_arn``, only if that execution holds the key (else :class:`NotHeld`). An
        output over 256 KiB is :class:`OutputTooLarge`, before anything changes.
        """
        try:
            output = documents.check_size("the task's output", documents.dumps(result))
        except documents.DocumentTooLarge as error:
            raise OutputTooLarge(str(error)) from error
        self._complete(
            task_key, SUCCEEDED, lambda token: self.sfn.send_task_success(taskToken=token, output=output), execution_arn
        )

    def failure(self, task_key: str, error: str, cause: str = "", execution_arn: Optional[str] = None) -> None:
        """Fail the task under ``task_key`` with the named ``error`` and a human ``cause`` (``execution_arn``: as :meth:`success`).

        A reserved ``error`` (``common.failures``) is delivered as ``ExternalFailure``, the name kept in the cause.
        """
        error, cause = outside_failure(error, cause, self.reserved_errors)
        self._complete(
            task_key,
            FAILED,
            lambda token: self.sfn.send_task_failure(taskToken=token, error=error, cause=cause),
            execution_arn,
        )

    def heartbeat(self, task_key: str) -> None:
        """Tell Step Functions the task under ``task_key`` is still being worked on."""
        row = self.store.waiting(task_key)
        self._still_running(task_key, row)
        try:
            self.sfn.send_task_heartbeat(taskToken=row[ROW_TOKEN])
        except ClientError as error:
            if error.response["Error"]["Code"] in _TOKEN_GONE:
                self.store.mark(task_key, TIMED_OUT)
                raise TaskTimedOut(f"the task {task_key!r} timed out and can no longer be completed") from error
            raise

    def _still_running(self, task_key: str, row: Mapping[str, Any]) -> None:
        """Raise (and mark the row) when the execution of ``row`` is no longer running."""
        arn = row.get(ROW_EXECUTION_ARN)
        if not arn:
            return
        try:
            status = classify_execution(self.sfn.describe_execution(executionArn=arn), self.timed_out_error)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise
            status = "ABORTED"
        if status == "RUNNING":
            return
        refusal: TaskTimedOut | TaskReleased | ExecutionEnded
        if status == TIMED_OUT:
            refusal = TaskTimedOut(f"the task {task_key!r} timed out and can no longer be completed")
        elif status == "ABORTED":  # stopped (cancelled) outside the API: as a cancel would have released it
            refusal = TaskReleased(f"the execution of task {task_key!r} was stopped: this wait can no longer be completed")
        else:
            refusal = ExecutionEnded(f"the execution of task {task_key!r} has ended ({status}); it can no longer be completed")
        self.store.mark(task_key, refusal.row_status)
        raise refusal

    def _complete(self, task_key: str, outcome: str, send: Any, execution_arn: Optional[str] = None) -> None:
        row = self.store.claim(task_key, outcome, execution_arn)
        try:
            self._still_running(task_key, row)
            send(row[ROW_TOKEN])
        except ClientError as error:
            if error.response["Error"]["Code"] in _TOKEN_GONE:
                self.store.mark(task_key, TIMED_OUT)
                raise TaskTimedOut(f"the task {task_key!r} timed out and can no longer be completed") from error
            self.store.restore(task_key, row, outcome)
            raise
        log.info("task completed", taskKey=task_key, outcome=outcome, executionArn=row.get(ROW_EXECUTION_ARN))
