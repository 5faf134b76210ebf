"""MonitoredWorkflow routes: start a monitored execution by workflowkey, read it, put events for it.

- ``POST /monitored`` ``{"workflowkey", "input"}``: starts the execution named by the key with
  ``{"workflowkey", "input"}`` (202, ``created`` true for exactly one caller). The same key and
  input again answer from the same execution (202, ``created`` false); the key with another input
  is a 409; an execution input over 256 KiB a 413.
- ``GET /monitored/{workflowkey}``: status, input, output, error, cause and dates of the execution,
  plus ``monitor`` (the monitor's state: ``WAITING``, ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT``). 404
  for an unknown key.
- ``POST /monitored/{workflowkey}/events`` ``{"message": "WorkflowError" | "StopWorkflowMonitoring",
  "error"?, "cause"?}``: puts that event on the bus for the execution monitored under the key (202),
  for callers without EventBridge rights. 404 when no execution is monitored under the key, 409
  when its execution has ended, 400 for an ``error`` the monitor reserves (``common.failures``).

- ``GET /monitored``, ``DELETE /monitored/{workflowkey}``, ``POST /monitored/{workflowkey}/redrive``:
  list, cancel, redrive (``common.operations``); cancelling or redriving releases the monitor's key
  (its token row), so no event completes the ended monitor.

Environment: ``STATE_MACHINE_ARN``, ``TABLE_NAME``, ``EVENT_BUS_ARN``, ``EVENT_SOURCE``,
``STOP_DETAIL_TYPE``, ``ERROR_DETAIL_TYPE``, ``RESERVED_ERROR_NAMES`` (names from ``sfn_patterns.contracts.monitored``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from common import env, executions, log, operations
from common.clients import client
from common.http import HttpError, Request, Response, Router, conflict, json_response, not_found
from common.route_failures import refuse_reserved
from common.tokens import WAITING, TokenStore
from common.validation import one_of, optional_object, optional_string, require_name
from sfn_patterns.contracts import monitored
from sfn_patterns.contracts.common import ROW_EXECUTION_ARN, ROW_EXPIRES_AT, ROW_STATUS
from sfn_patterns.contracts.monitored import KEY, MAX_CAUSE_CHARS, MAX_ERROR_CHARS

router = Router()


@router.route("POST /monitored")
def start(request: Request) -> Response:
    """Start (once) the execution monitored under ``workflowkey`` with ``input``."""
    body = request.json_object()
    key = require_name(body.get(KEY), KEY)
    execution_input = {KEY: key, "input": optional_object(body, "input")}
    description, created = executions.start_once(
        env.require(monitored.ENV_STATE_MACHINE_ARN), key, execution_input, env.require(monitored.ENV_TABLE_NAME)
    )
    return json_response(
        202,
        {KEY: key, "executionArn": description["executionArn"], "created": created},
        headers={"location": f"/monitored/{key}"},
    )


@router.route("GET /monitored/{workflowkey}")
def get(request: Request) -> Response:
    """The execution named by the key, and its monitor's state."""
    key = require_name(request.path(KEY), KEY)
    description = executions.describe(env.require(monitored.ENV_STATE_MACHINE_ARN), key)
    if description is None:
        raise not_found(f"no execution is monitored under workflowkey {key!r}")
    store = TokenStore(env.require(monitored.ENV_TABLE_NAME))
    row = store.get(key)
    monitor = store.status(key) if row is not None and row.get(ROW_EXECUTION_ARN) == description["executionArn"] else None
    return json_response(200, {KEY: key, **executions.view(description), "monitor": monitor})


@router.route("POST /monitored/{workflowkey}/events")
def put_event(request: Request) -> Response:
    """Put a stop or error event for the execution monitored under the key on the bus."""
    key = require_name(request.path(KEY), KEY)
    body = request.json_object()
    stop, error = env.require(monitored.ENV_STOP_DETAIL_TYPE), env.require(monitored.ENV_ERROR_DETAIL_TYPE)
    message = one_of(body, "message", (error, stop))
    error_name = optional_string(body, "error", MAX_ERROR_CHARS)
    cause = optional_string(body, "cause", MAX_CAUSE_CHARS)
    if message == error and error_name:
        refuse_reserved(error_name)

    row = TokenStore(env.require(monitored.ENV_TABLE_NAME)).get(key)
    if row is None or row.get(ROW_STATUS) != WAITING or row.get(ROW_EXPIRES_AT, 0) < time.time():
        raise not_found(f"no execution is monitored under workflowkey {key!r} (unknown, finished or timed out)")
    status = client("stepfunctions").describe_execution(executionArn=row[ROW_EXECUTION_ARN])["status"]
    if status != "RUNNING":
        raise conflict(f"the execution monitored under workflowkey {key!r} has ended ({status})", "ExecutionEnded")

    detail = {KEY: key, monitored.DETAIL_EXECUTION_ARN: row[ROW_EXECUTION_ARN]}
    if message == error:
        detail.update({monitored.DETAIL_ERROR: error_name or error, monitored.DETAIL_CAUSE: cause or ""})
    response = client("events").put_events(
        Entries=[
            {
                "EventBusName": env.require(monitored.ENV_EVENT_BUS_ARN),
                "Source": env.require(monitored.ENV_EVENT_SOURCE),
                "DetailType": message,
                "Detail": json.dumps(detail),
            }
        ]
    )
    entry = response["Entries"][0]
    if response.get("FailedEntryCount") or "EventId" not in entry:
        log.error("event not accepted by the bus", workflowkey=key, errorCode=entry.get("ErrorCode"))
        raise HttpError(503, "EventNotAccepted", "the event bus did not accept the event; try again")
    log.info("event put", workflowkey=key, detailType=message, eventId=entry["EventId"])
    return json_response(202, {KEY: key, "message": message, "eventId": entry["EventId"]})


def _release(key: str, description: Any) -> None:
    """Free the monitor's key (its token row), held by the cancelled or redriven execution."""
    operations.release_ended(TokenStore(env.require(monitored.ENV_TABLE_NAME)), key, description["executionArn"])


operations.register(router, "monitored", "workflowkey", _release)

handler = router.handler
