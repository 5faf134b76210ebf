"""CallbackWorkflow's HTTP routes: start a task, read it, complete it, keep it alive.

- ``POST /tasks`` ``{"input": {...}, "taskId"?}``: 202 ``{"taskId", "status", "created"}``; the same task id
  with the same input again is the same task (202, ``created`` false: exactly one caller is told
  true); with another input 409; an input whose execution input, notification or wait payload
  would exceed 256 KiB 413.
- ``GET /tasks/{taskId}``: status (RUNNING, WAITING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED), input, output or error.
- ``PUT /tasks/{taskId}`` ``{"status": "SUCCEEDED", "output": {...}}`` or
  ``{"status": "FAILED", "error", "cause"?}``: 200 accepted; 404, 409 completed or execution ended,
  410 timed out, 400 bad body or a reserved error name (``common.failures``), 413 output over 256 KiB.
- ``POST /tasks/{taskId}/heartbeat``: 200 while the task waits; 404, 409, 410.
- ``GET /tasks``, ``DELETE /tasks/{taskId}``, ``POST /tasks/{taskId}/redrive``: list, cancel, redrive
  (``common.operations``). Cancelling or redriving releases the task's token row, so the secret of
  the wait that ended completes nothing (410); a redriven wait sends a new notification with a new secret.

``PUT`` and the heartbeat need the per-task secret of the notification in the ``X-Task-Secret``
header: missing 401, wrong 403; either way nothing changes. Completion goes through
``CallbackTaskFinalizer`` (exactly once: of two concurrent completions one gets 200, one 409).

Environment: ``STATE_MACHINE_ARN``, ``TABLE_NAME``, ``API_URL``, ``RESERVED_ERROR_NAMES``. These names,
the secret header and row attribute and the ``CallbackTimedOut`` error are ``sfn_patterns.contracts.callback``'s.
"""

from __future__ import annotations

import uuid
from typing import Any, Optional

from common import documents, env, executions, operations
from common.callback import check_documents
from common.completion import CallbackTaskFinalizer, TokenError, classify_execution
from common.http import HttpError, Request, Response, Router, bad_request, json_response, not_found, too_large
from common.route_failures import refuse_reserved
from common.task_secret import secret_matches
from common.tokens import TIMED_OUT, WAITING, TokenStore
from common.validation import one_of, optional_object, optional_string, require_name
from sfn_patterns.contracts import callback
from sfn_patterns.contracts.common import ROW_STATUS
from sfn_patterns.contracts.callback import (
    MAX_CAUSE_CHARS,
    MAX_ERROR_CHARS,
    SECRET_HASH_ATTRIBUTE,
    SECRET_HEADER,
    TIMED_OUT_ERROR,
)

router = Router()

_COMPLETION_FIELDS = {"SUCCEEDED": {"status", "output"}, "FAILED": {"status", "error", "cause"}}


def _task_id(request: Request) -> str:
    return require_name(request.path("taskId"), "taskId")


def _task_status(description: dict[str, Any]) -> str:
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT (also a wait caught into ``CallbackTimedOut``) or ABORTED."""
    return classify_execution(description, TIMED_OUT_ERROR)


def _finalizer() -> CallbackTaskFinalizer:
    """Completes this workflow's tasks; an execution failed with ``CallbackTimedOut`` is a timed-out task (410)."""
    return CallbackTaskFinalizer(env.require(callback.ENV_TABLE_NAME), timed_out_error=TIMED_OUT_ERROR)


@router.route("POST /tasks")
def start(request: Request) -> Response:
    """Start the task ``taskId`` (generated when absent) with ``input``, once."""
    body = request.json_object()
    unknown = sorted(set(body) - {"taskId", "input"})
    if unknown:
        raise bad_request("UnknownField", f"unknown field(s) {unknown}; send 'input' and optionally 'taskId'")
    task_id = require_name(body["taskId"], "taskId") if "taskId" in body else uuid.uuid4().hex
    task_input = optional_object(body, "input")
    state_machine_arn = env.require(callback.ENV_STATE_MACHINE_ARN)
    try:
        check_documents(
            task_id, task_input, env.require(callback.ENV_API_URL), executions.execution_arn(state_machine_arn, task_id)
        )
    except documents.DocumentTooLarge as error:
        raise too_large(error) from error
    description, created = executions.start_once(
        state_machine_arn, task_id, task_input, env.require(callback.ENV_TABLE_NAME)
    )
    return json_response(202, {"taskId": task_id, "status": _task_status(description), "created": created})


@router.route("GET /tasks/{taskId}")
def get(request: Request) -> Response:
    """The task's status, input, and output or error."""
    task_id = _task_id(request)
    description = executions.describe(env.require(callback.ENV_STATE_MACHINE_ARN), task_id)
    if description is None:
        raise not_found(f"no task {task_id!r}")
    view = executions.view(description)
    status = _task_status(description)
    if status == "RUNNING":
        # The execution runs; it waits when its row says so (even past the row's deadline: the
        # execution, not the row, says when the wait is over).
        row = TokenStore(env.require(callback.ENV_TABLE_NAME)).get(task_id)
        if row is not None and row.get(ROW_STATUS) == WAITING and row.get("executionArn") == description["executionArn"]:
            status = WAITING
    answer: dict[str, Any] = {"taskId": task_id, "status": status, "input": view["input"]}
    if status == "SUCCEEDED":
        answer["output"] = view["output"]
    elif status in ("FAILED", TIMED_OUT, "ABORTED"):
        answer["error"] = view["error"] or ("ExecutionTimedOut" if status == TIMED_OUT else "ExecutionAborted")
        if view["cause"]:
            answer["cause"] = view["cause"]
    answer["startDate"] = view["startDate"]
    answer["stopDate"] = view["stopDate"]
    return json_response(200, answer)


def _proven_task(request: Request) -> str:
    """The task id of a completion request whose ``X-Task-Secret`` proves it was handed the task.

    404 unknown task; 409/410 when the task has no row to prove against (not waiting yet, or its
    row expired); 401 no secret; 403 wrong secret. Whether a row that says ``WAITING`` still waits
    is the finalizer's to judge, from the execution (one ``DescribeExecution`` per completion).
    """
    task_id = _task_id(request)
    row = TokenStore(env.require(callback.ENV_TABLE_NAME)).get(task_id)
    if row is None:
        _refuse_ended(task_id, executions.describe(env.require(callback.ENV_STATE_MACHINE_ARN), task_id))
        raise HttpError(409, "NotWaiting", f"the task {task_id!r} is not waiting for a callback yet")
    secret = request.header(SECRET_HEADER)
    if not secret:
        raise HttpError(401, "MissingSecret", "send the task's secret from its notification in the X-Task-Secret header")
    if not secret_matches(secret, row.get(callback.SECRET_HASH_ATTRIBUTE)):
        raise HttpError(403, "WrongSecret", f"the X-Task-Secret header does not match task {task_id!r}")
    return task_id


def _refuse_ended(task_id: str, description: Optional[dict[str, Any]]) -> None:
    """Raise the answer for a completion of a task without a row that is unknown (404) or whose execution ended (409/410).

    Without a row there is no wait to end: an execution that ended otherwise is ``AlreadyCompleted``.
    """
    if description is None:
        raise not_found(f"no task {task_id!r}")
    status = _task_status(description)
    if status == TIMED_OUT:
        raise HttpError(410, "TaskTimedOut", f"the task {task_id!r} timed out and can no longer be completed")
    if status == "ABORTED":
        raise HttpError(410, "TaskReleased", f"the task {task_id!r} was cancelled and can no longer be completed")
    if status != "RUNNING":
        raise HttpError(409, "AlreadyCompleted", f"the task {task_id!r} is already completed ({status})")


def _completion(body: dict[str, Any]) -> tuple[str, Any, Optional[str], str]:
    """(status, output, error, cause) of a valid completion body; otherwise a 400."""
    status = one_of(body, "status", ("SUCCEEDED", "FAILED"))
    extra = sorted(set(body) - _COMPLETION_FIELDS[status])
    if extra:
        raise bad_request("UnknownField", f"field(s) {extra} do not belong to a {status} completion")
    if status == "SUCCEEDED":
        return status, optional_object(body, "output"), None, ""
    error = optional_string(body, "error", MAX_ERROR_CHARS)
    if not error:
        raise bad_request("MissingField", "'error' (a name such as PaymentDeclined) is required when status is FAILED")
    refuse_reserved(error)  # a name the wait retries or catches, or States.*: 400
    cause = optional_string(body, "cause", MAX_CAUSE_CHARS) or ""
    return status, None, error, cause


def _answer_token_error(error: TokenError) -> HttpError:
    return HttpError(error.status, error.code, str(error))


@router.route("PUT /tasks/{taskId}")
def complete(request: Request) -> Response:
    """Complete the waiting task with the caller's outcome, exactly once."""
    task_id = _proven_task(request)
    status, output, error, cause = _completion(request.json_object())
    finalizer = _finalizer()
    try:
        if status == "SUCCEEDED":
            finalizer.success(task_id, output)
        else:
            finalizer.failure(task_id, error or "", cause)
    except TokenError as refused:
        raise _answer_token_error(refused) from refused
    return json_response(200, {"taskId": task_id, "status": status})


@router.route("POST /tasks/{taskId}/heartbeat")
def heartbeat(request: Request) -> Response:
    """Tell the workflow the task is still being worked on (resets the heartbeat clock)."""
    task_id = _proven_task(request)
    try:
        _finalizer().heartbeat(task_id)
    except TokenError as refused:
        raise _answer_token_error(refused) from refused
    return json_response(200, {"taskId": task_id, "status": WAITING})


def _release(task_id: str, description: Any) -> None:
    """Free the task's token row (the cancelled or redriven wait's secret then completes nothing)."""
    operations.release_ended(TokenStore(env.require(callback.ENV_TABLE_NAME)), task_id, description["executionArn"])


operations.register(router, "tasks", "taskId", _release)

handler = router.handler
