"""MonitoredWorkflow's EventBridge target: end or fail the monitor waiting under an event's ``workflowkey``.

Two rules on the bus deliver here, told apart by ``detail-type`` (names from the environment):

- ``StopWorkflowMonitoring`` (``STOP_DETAIL_TYPE``): the monitor ends with success
  (``CallbackTaskFinalizer.success``); the execution then succeeds with its work's output.
- ``WorkflowError`` (``ERROR_DETAIL_TYPE``): the monitor fails with the event's ``error`` (default:
  the detail-type) and ``cause``, so the whole execution fails with that error.

``detail``: ``{"workflowkey", "error"?, "cause"?, "executionArn"?}``. An ``executionArn`` (the
workflow's own stop event and the HTTP route's events carry one) confines the event to that
execution: it never completes another execution's monitor under the same key (one conditional
update claims the row: no read on the way).

What cannot be acted on is acknowledged, logged and dropped (returned, never retried): an event
without a valid key, a key nobody monitors, a monitor already completed, timed out or whose
execution ended, an event holding NaN or Infinity (not JSON). An error event naming an error the
monitor retries or catches (or ``States.*``) fails it once with ``ExternalFailure``
(``common.failures``): it can never re-run the monitor's registration or take its catches. AWS errors
are raised, so the event is retried (then dead-lettered). One case is raised on purpose: an event
naming an execution that still runs but has not registered its monitor yet (its stop event raced
ahead of the registration), so the retry finds the token.

Environment: ``TABLE_NAME``, ``STATE_MACHINE_ARN``, ``STOP_DETAIL_TYPE``, ``ERROR_DETAIL_TYPE``,
``RESERVED_ERROR_NAMES``. These names and the detail's fields are ``sfn_patterns.contracts.monitored``'s.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from botocore.exceptions import ClientError

from common import documents, env, log
from common.clients import client
from common.failures import reserved_names
from common.completion import CallbackTaskFinalizer, NotHeld, TokenError
from sfn_patterns.contracts import monitored
from sfn_patterns.contracts.common import execution_arn
from sfn_patterns.contracts.common import valid_execution_name as valid_name


class MonitorNotRegistered(Exception):
    """The event's execution runs but its monitor has not registered yet: raised so the event is retried."""


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Act on one EventBridge event; returns what was done (``succeeded``, ``failed`` or ``dropped``)."""
    detail_type = event.get("detail-type")
    given = event.get("detail")
    detail: dict[str, Any] = given if isinstance(given, dict) else {}
    key = detail.get(monitored.KEY)
    stop, error = env.require(monitored.ENV_STOP_DETAIL_TYPE), env.require(monitored.ENV_ERROR_DETAIL_TYPE)
    if detail_type not in (stop, error):
        return _dropped(key, detail_type, "unknown detail-type")
    if not valid_name(key):
        return _dropped(None, detail_type, "no valid workflowkey in the detail")
    if not documents.finite(detail):
        return _dropped(key, detail_type, "the detail holds NaN or Infinity, which are not JSON")

    finalizer = CallbackTaskFinalizer(
        env.require(monitored.ENV_TABLE_NAME), reserved_errors=reserved_names(), timed_out_error=monitored.TIMED_OUT_ERROR
    )
    sender = detail.get(monitored.DETAIL_EXECUTION_ARN)
    if not (isinstance(sender, str) and sender):
        sender = None
    elif not sender.startswith(execution_arn(env.require(monitored.ENV_STATE_MACHINE_ARN), "")):
        return _dropped(key, detail_type, "the event names an execution of another state machine")

    try:
        if detail_type == stop:
            finalizer.success(key, {monitored.KEY: key, "stoppedBy": detail_type}, execution_arn=sender)
            outcome = "succeeded"
        else:
            name = _text(detail.get(monitored.DETAIL_ERROR)) or error
            finalizer.failure(key, name, _text(detail.get(monitored.DETAIL_CAUSE)) or "", execution_arn=sender)
            outcome = "failed"
    except NotHeld:  # the event's execution does not (or not yet) hold the key
        if sender is not None and _running(sender):
            raise MonitorNotRegistered(f"the monitor of {sender} has not registered under {key!r} yet")
        return _dropped(key, detail_type, "the event's execution does not hold this workflowkey")
    except TokenError as refusal:  # unknown key, already completed, timed out: nothing to retry
        return _dropped(key, detail_type, refusal.code)
    log.info("monitor completed by event", workflowkey=key, detailType=detail_type, outcome=outcome)
    return {monitored.KEY: key, "outcome": outcome}


def _running(execution_arn: str) -> bool:
    try:
        return client("stepfunctions").describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
            return False
        raise


def _text(value: Any) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _dropped(key: Any, detail_type: Any, reason: str) -> dict[str, Any]:
    log.warning("event dropped", workflowkey=key, detailType=detail_type, reason=reason)
    return {monitored.KEY: key, "outcome": "dropped", "reason": reason}
