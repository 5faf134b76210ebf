"""Operations routes every pattern's API serves: list executions by status, cancel one, redrive one.

:func:`register` adds three routes to a pattern's :class:`~common.http.Router`, for its collection
(``/workflow``, ``/tasks``, ``/jobs``, ``/monitored``) and its id path parameter:

- ``GET /<collection>?status=FAILED&limit=50&nextToken=...``: 200 ``{"items": [{"name", <id>, "status",
  "startDate", "stopDate", "redriveCount"}], "nextToken"}`` (ListExecutions, newest first). ``status``
  is one of Step Functions' statuses, ``limit`` an integer from 1 to 1000 (default 100), ``nextToken``
  the previous page's; anything else (an unknown parameter, a repeated one, a forged token) is 400.
- ``DELETE /<collection>/{id}``: StopExecution; 200 ``{"name", <id>, "status": "ABORTED", "stopDate"}``.
  The pattern's ``release`` then frees what the execution held (a token row). 404 unknown, 409
  when the execution has already ended (or ends by itself, or by a concurrent cancel, first).
- ``POST /<collection>/{id}/redrive``: RedriveExecution (Standard only: FAILED, TIMED_OUT or ABORTED
  within 14 days, from the failed state, same name and ARN). 202 ``{"name", <id>, "status",
  "redriveCount"}``; 409 ``NotRedrivable`` with AWS's reason; 404 unknown. The pattern's ``release``
  runs first, so a wait the redrive repeats registers afresh and the old one's secret completes nothing.

Environment: ``STATE_MACHINE_ARN``. IAM: ``states:ListExecutions`` on the state machine,
``states:DescribeExecution``/``StopExecution``/``RedriveExecution`` on its executions.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Mapping, Optional

from botocore.exceptions import ClientError

from common import env, executions, log
from common.clients import client
from common.http import HttpError, Request, Response, Router, bad_request, conflict, json_response, not_found
from common.validation import require_name
from sfn_patterns.contracts.common import ENV_STATE_MACHINE_ARN, ROW_EXECUTION_ARN

#: Step Functions' execution statuses (ListExecutions' statusFilter).
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
#: ListExecutions' maxResults: 1 to 1000; the page size when ``limit`` is absent.
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
#: ListExecutions' nextToken is 1 to 1024 characters.
MAX_NEXT_TOKEN_CHARS = 1024
#: The error and cause a cancelled execution records (DescribeExecution shows them).
CANCEL_ERROR = "Cancelled"
CANCEL_CAUSE = "cancelled through the HTTP API (DELETE)"
_LIST_PARAMETERS = {"status", "limit", "nextToken"}

#: ``release(name, description)``: free what the named execution holds (its token row ...).
Release = Callable[[str, Mapping[str, Any]], None]


def release_ended(store: Any, key: str, execution_arn: str) -> bool:
    """Release ``key`` in ``store`` (a ``common.tokens.TokenStore``) for the ended execution ``execution_arn``.

    The row is read first, then the execution asked again: a concurrent redrive that ran it again
    (and whose wait may have registered afresh under the same ARN) keeps its row, and the release
    is conditional on the registration read (``TokenStore.release``). False when nothing was released.
    """
    row = store.get(key)
    if row is None or row.get(ROW_EXECUTION_ARN) != execution_arn:
        return False
    if client("stepfunctions").describe_execution(executionArn=execution_arn)["status"] == "RUNNING":
        return False
    return bool(store.release(key, execution_arn, row))


def _query(request: Request) -> dict[str, str]:
    parameters = dict(request.event.get("queryStringParameters") or {})
    unknown = sorted(set(parameters) - _LIST_PARAMETERS)
    if unknown:
        raise bad_request("UnknownParameter", f"unknown query parameter(s) {unknown}; use status, limit, nextToken")
    return parameters


def _limit(value: Optional[str]) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:
        raise bad_request("InvalidLimit", f"'limit' must be an integer from 1 to {MAX_LIMIT} (got {value[:20]!r})")
    return int(value)


def list_page(request: Request, id_field: str) -> Response:
    """``GET /<collection>``: one page of the state machine's executions, optionally of one status."""
    parameters = _query(request)
    arguments: dict[str, Any] = {"stateMachineArn": env.require(ENV_STATE_MACHINE_ARN), "maxResults": _limit(parameters.get("limit"))}
    status = parameters.get("status")
    if status is not None:
        if status not in STATUSES:
            raise bad_request("InvalidStatus", f"'status' must be one of {', '.join(STATUSES)} (got {status[:40]!r})")
        arguments["statusFilter"] = status
    token = parameters.get("nextToken")
    if token is not None:
        if not 1 <= len(token) <= MAX_NEXT_TOKEN_CHARS:
            raise bad_request("InvalidNextToken", "'nextToken' is not a token this API handed out")
        arguments["nextToken"] = token
    try:
        page = client("stepfunctions").list_executions(**arguments)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("InvalidToken", "ValidationException"):
            raise bad_request("InvalidNextToken", "'nextToken' is not a token this API handed out") from error
        raise
    items = [_item(execution, id_field) for execution in page.get("executions", [])]
    return json_response(200, {"items": items, "nextToken": page.get("nextToken")})


def _item(execution: Mapping[str, Any], id_field: str) -> dict[str, Any]:
    item = {"name": execution["name"], id_field: execution["name"], "status": execution["status"]}
    item.update(_dates(execution))
    item["redriveCount"] = execution.get("redriveCount", 0)
    return item


def _dates(description: Mapping[str, Any]) -> dict[str, Any]:
    view = executions.view({"name": "", "executionArn": "", "status": "", **description})
    return {"startDate": view["startDate"], "stopDate": view["stopDate"]}


def _described(request: Request, id_field: str) -> tuple[str, dict[str, Any]]:
    name = require_name(request.path(id_field), id_field)
    description = executions.describe(env.require(ENV_STATE_MACHINE_ARN), name)
    if description is None:
        raise not_found(f"no execution named {name!r}")
    return name, description


def cancel(request: Request, id_field: str, release: Optional[Release] = None) -> Response:
    """``DELETE /<collection>/{id}``: stop the running execution (ABORTED), then release what it held.

    Exactly one of concurrent cancels answers 200: each stops with a cause naming its own request,
    and StopExecution of an execution already stopped changes nothing, so the cause the execution
    keeps names the winner; the others get 409. A cancel of an ``ABORTED`` execution releases what it
    may still hold before its 409 (a stop from outside the API, or a cancel whose release failed), so
    a retried cancel finishes the work of one that failed half-way.
    """
    name, description = _described(request, id_field)
    if description["status"] != "RUNNING":
        if description["status"] == "ABORTED" and release is not None:
            release(name, description)
        raise conflict(f"the execution {name!r} has already ended ({description['status']})", "NotRunning")
    sfn = client("stepfunctions")
    request_id = str((request.event.get("requestContext") or {}).get("requestId") or uuid.uuid4())
    cause = f"{CANCEL_CAUSE}, request {request_id}"
    try:
        sfn.stop_execution(executionArn=description["executionArn"], error=CANCEL_ERROR, cause=cause)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionDoesNotExist":
            raise not_found(f"no execution named {name!r}") from error
        raise
    stopped = sfn.describe_execution(executionArn=description["executionArn"])
    won = stopped["status"] == "ABORTED" and stopped.get("cause", cause) == cause
    if stopped["status"] == "ABORTED" and release is not None:
        release(name, stopped)
    if not won:  # it ended by itself, or another cancel stopped it, just before this stop
        raise conflict(f"the execution {name!r} has already ended ({stopped['status']})", "NotRunning")
    log.info("execution cancelled", name=name, executionArn=stopped["executionArn"], requestId=request_id)
    return json_response(200, {"name": name, id_field: name, "status": "ABORTED", **_dates(stopped)})


def redrive(request: Request, id_field: str, release: Optional[Release] = None) -> Response:
    """``POST /<collection>/{id}/redrive``: continue the unsuccessful execution from its failed state."""
    name, description = _described(request, id_field)
    if description.get("redriveStatus") == "NOT_REDRIVABLE":
        raise _not_redrivable(name, description.get("redriveStatusReason") or f"it is {description['status']}")
    if release is not None and description["status"] != "RUNNING":
        release(name, description)  # the wait it repeats registers afresh; the old one completes nothing
    sfn = client("stepfunctions")
    try:
        sfn.redrive_execution(executionArn=description["executionArn"])
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "ExecutionNotRedrivable":
            raise _not_redrivable(name, error.response["Error"].get("Message") or "") from error
        if code == "ExecutionDoesNotExist":
            raise not_found(f"no execution named {name!r}") from error
        raise
    redriven = sfn.describe_execution(executionArn=description["executionArn"])
    log.info("execution redriven", name=name, redriveCount=redriven.get("redriveCount"))
    return json_response(
        202, {"name": name, id_field: name, "status": redriven["status"], "redriveCount": redriven.get("redriveCount", 0)}
    )


def _not_redrivable(name: str, reason: str) -> HttpError:
    return conflict(f"the execution {name!r} cannot be redriven: {reason}", "NotRedrivable")


def register(router: Router, collection: str, id_field: str, release: Optional[Release] = None) -> None:
    """Add the list, cancel and redrive routes of ``/<collection>`` (id path parameter ``id_field``) to ``router``."""
    base = f"/{collection.strip('/')}"
    router.route(f"GET {base}")(lambda request: list_page(request, id_field))
    router.route(f"DELETE {base}/{{{id_field}}}")(lambda request: cancel(request, id_field, release))
    router.route(f"POST {base}/{{{id_field}}}/redrive")(lambda request: redrive(request, id_field, release))

