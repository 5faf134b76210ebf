"""Completing a callback task by its key, exactly once: :class:`CallbackTaskFinalizer` (seed 002).

Code that finishes a callback task never touches a token: it names the task by its key and calls
``success``, ``failure`` or ``heartbeat``. Completion is exactly once: the row (``common.tokens``)
moves out of ``WAITING`` with a conditional update before the token is sent, so of two concurrent
completions one wins and the other gets :class:`AlreadyCompleted`. If Step Functions then refuses
the token because the task timed out, the row is marked ``TIMED_OUT`` and :class:`TaskTimedOut` is
raised; any other AWS failure puts the row back to ``WAITING`` (token restored) and re-raises, so
the caller's retry can complete it. Before the token is sent the execution itself is asked whether
it still runs (one ``DescribeExecution`` per completion or heartbeat, nowhere else): one that ended
while its row said ``WAITING`` is classified by :func:`classify_execution` (with the pattern's
timed-out error name) and the completion refused accordingly, the row marked ``TIMED_OUT``,
``RELEASED`` or ``ENDED``.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Optional

from botocore.exceptions import ClientError

from common import documents, log
from common.clients import client
from common.failures import outside_failure
from common.tokens import STATUS_TOKEN_NAMES, TokenError, TokenStore, from_item, row_key
from sfn_patterns.contracts.common import (
    ENDED,
    FAILED,
    RELEASED,
    ROW_COMPLETED_AT,
    ROW_EXECUTION_ARN,
    ROW_EXPIRES_AT,
    ROW_STATUS,
    ROW_TOKEN,
    SUCCEEDED,
    TIMED_OUT,
    WAITING,
)

__all__ = [
    "AlreadyCompleted", "CallbackTaskFinalizer", "ClaimingStore", "ExecutionEnded", "NotHeld", "OutputTooLarge",
    "TaskReleased", "TaskTimedOut", "TokenError", "UnknownTask", "classify_execution",
]

#: Errors with which Step Functions refuses a token whose task is over.
_TOKEN_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


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


def _timed_out(key: str) -> TaskTimedOut:
    return TaskTimedOut(f"the task {key!r} timed out and can no longer be completed")


class ClaimingStore(TokenStore):
    """The token table as a completion uses it: the waiting row, claimed exactly once, restored or marked."""

    def _refusal(self, key: str, execution_arn: Optional[str] = None) -> TokenError:
        row = self.get(key)
        if execution_arn is not None and (row is None or row.get(ROW_EXECUTION_ARN) != execution_arn):
            return NotHeld(f"execution {execution_arn} does not hold key {key!r}")
        if row is None:
            return UnknownTask(f"no task is registered under key {key!r}")
        if row[ROW_STATUS] == RELEASED:
            return TaskReleased(f"the task {key!r} was cancelled or redriven: this wait can no longer be completed")
        if row[ROW_STATUS] == TIMED_OUT or (row[ROW_STATUS] == WAITING and row.get(ROW_EXPIRES_AT, 0) < int(time.time())):
            return _timed_out(key)
        if row[ROW_STATUS] == ENDED:
            return ExecutionEnded(f"the execution of task {key!r} has ended; it can no longer be completed")
        return AlreadyCompleted(f"the task {key!r} is already completed ({row[ROW_STATUS]})")

    def _refuse(self, key: str, execution_arn: Optional[str] = None) -> TokenError:
        """:meth:`_refusal`, and a row left ``WAITING`` past its timeout recorded as ``TIMED_OUT``.

        Whichever side of the timeout's second a completion lands on, the row ends the same way.
        """
        refusal = self._refusal(key, execution_arn)
        if isinstance(refusal, TaskTimedOut):
            now = {":waiting": {"S": WAITING}, ":now": {"N": str(int(time.time()))}}
            self.set_status(key, TIMED_OUT, f"#s = :waiting AND {ROW_EXPIRES_AT} < :now", now)
        return refusal

    def waiting(self, key: str) -> dict[str, Any]:
        """The row of a key whose task still waits; otherwise the matching :class:`TokenError`."""
        row = self.get(key)
        if row is None or row[ROW_STATUS] != WAITING or row.get(ROW_EXPIRES_AT, 0) < int(time.time()):
            raise self._refuse(key)
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
                Key=row_key(key),
                UpdateExpression=f"SET #s = :outcome, {ROW_COMPLETED_AT} = :now REMOVE #t",
                ConditionExpression=condition,
                ExpressionAttributeNames=dict(STATUS_TOKEN_NAMES),
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise self._refuse(key, execution_arn) from error
            raise
        return from_item(response["Attributes"])

    def restore(self, key: str, row: Mapping[str, Any], outcome: str) -> None:
        """Undo :meth:`claim` after the token could not be delivered: back to ``WAITING`` with its token."""
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key=row_key(key),
            UpdateExpression=f"SET #s = :waiting, #t = :token REMOVE {ROW_COMPLETED_AT}",
            ConditionExpression="#s = :outcome",
            ExpressionAttributeNames=dict(STATUS_TOKEN_NAMES),
            ExpressionAttributeValues={
                ":waiting": {"S": WAITING},
                ":token": {"S": row[ROW_TOKEN]},
                ":outcome": {"S": outcome},
            },
        )

    def mark(self, key: str, status: str, row: Mapping[str, Any], held: str) -> bool:
        """Set the status of ``key`` (``TIMED_OUT``, ``RELEASED``, ``ENDED``) while ``row``'s wait still holds it as ``held``.

        Conditional on the row's status being ``held`` (``WAITING``, or the outcome a claim set) and on
        ``row``'s execution: a cancel (``RELEASED``) or a redrive's new wait that took the key in the
        meantime is never overwritten. False when the row has moved on.
        """
        condition, values = "#s = :held", {":held": {"S": held}}
        if row.get(ROW_EXECUTION_ARN):
            condition += f" AND {ROW_EXECUTION_ARN} = :arn"
            values[":arn"] = {"S": row[ROW_EXECUTION_ARN]}
        return self.set_status(key, status, condition, values)

    def set_status(self, key: str, status: str, condition: str, values: Mapping[str, Any]) -> bool:
        """Set the status of ``key`` to ``status`` and remove its token, if ``condition`` holds; False otherwise.

        ``condition`` may name ``#s`` (status) and ``#t`` (token); ``values`` are its placeholders'.
        (``TokenStore.release`` writes its own: this one would cost every archive that carries
        ``common.tokens``, and ``callback_register``'s is within bytes of its 8 KiB budget.)
        """
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=row_key(key),
                UpdateExpression="SET #s = :status REMOVE #t",
                ConditionExpression=condition,
                ExpressionAttributeNames=dict(STATUS_TOKEN_NAMES),
                ExpressionAttributeValues={**values, ":status": {"S": status}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def settle(
        self, key: str, refusal: "TaskTimedOut | TaskReleased | ExecutionEnded", row: Mapping[str, Any], held: str
    ) -> TokenError:
        """``refusal``, its status recorded on the row (:meth:`mark`); or, when the row has moved on, the row's own refusal."""
        if self.mark(key, refusal.row_status, row, held):
            return refusal
        return self._refusal(key)


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
        self.store = ClaimingStore(table_name, dynamodb)
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
        self._still_running(task_key, row, WAITING)
        try:
            self.sfn.send_task_heartbeat(taskToken=row[ROW_TOKEN])
        except ClientError as error:
            if error.response["Error"]["Code"] in _TOKEN_GONE:
                raise self.store.settle(task_key, _timed_out(task_key), row, WAITING) from error
            raise

    def _still_running(self, task_key: str, row: Mapping[str, Any], held: str) -> None:
        """Raise (and mark the row, still ``held`` by this wait) when the execution of ``row`` is no longer running."""
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
            refusal = _timed_out(task_key)
        elif status == "ABORTED":  # stopped (cancelled) outside the API: as a cancel would have released it
            refusal = TaskReleased(f"the execution of task {task_key!r} was stopped: this wait can no longer be completed")
        else:
            refusal = ExecutionEnded(f"the execution of task {task_key!r} has ended ({status}); it can no longer be completed")
        raise self.store.settle(task_key, refusal, row, held)

    def _complete(self, task_key: str, outcome: str, send: Any, execution_arn: Optional[str] = None) -> None:
        row = self.store.claim(task_key, outcome, execution_arn)
        try:
            self._still_running(task_key, row, outcome)
            send(row[ROW_TOKEN])
        except ClientError as error:
            if error.response["Error"]["Code"] in _TOKEN_GONE:
                raise self.store.settle(task_key, _timed_out(task_key), row, outcome) from error
            self.store.restore(task_key, row, outcome)
            raise
        log.info("task completed", taskKey=task_key, outcome=outcome, executionArn=row.get(ROW_EXECUTION_ARN))
