"""MonitoredWorkflow's monitor: register the execution's task token under its ``workflowkey``.

Invoked by Step Functions (``lambda:invoke.waitForTaskToken``) with
``{"workflowkey", "executionArn", "taskToken"}``; the monitor then waits until an event for that key
completes the token (see ``monitor_events``) or its timeout passes. The registration is conditional
(``TokenStore.register``): while another execution's monitor waits under the same key, this one
raises :class:`DuplicateWorkflowKey`, so its Task (and the execution) fails at once with that error
name and the first execution keeps its token. The token is never logged or returned.

Environment: ``TABLE_NAME`` (the token table), ``MONITOR_TIMEOUT_SECONDS`` (the monitor's wait:
the row's deadline and TTL).
"""

from __future__ import annotations

from typing import Any, Mapping

from common import env, log
from common.errors import aws_calls
from common.tokens import KeyInUse, TokenStore
from common.validation import valid_name


class DuplicateWorkflowKey(Exception):
    """Another live execution is already monitored under this workflowkey (the execution's error name)."""


class InvalidWorkflowKey(Exception):
    """The execution input has no valid workflowkey (1-80 characters of A-Z a-z 0-9 - _)."""


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Store ``event["taskToken"]`` as WAITING under ``event["workflowkey"]``."""
    key = event.get("workflowkey")
    if not valid_name(key):
        raise InvalidWorkflowKey(
            f"workflowkey must be 1 to 80 characters of A-Z a-z 0-9 - _ (got {str(key)[:100]!r})"
        )
    execution_arn = event["executionArn"]
    try:
        with aws_calls("registering the monitor's token"):  # a failing table: retried by the wait
            TokenStore(env.require("TABLE_NAME")).register(
                key, event["taskToken"], env.get_int("MONITOR_TIMEOUT_SECONDS", 3600), execution_arn
            )
    except KeyInUse as error:
        log.warning("duplicate workflowkey refused", workflowkey=key, executionArn=execution_arn)
        raise DuplicateWorkflowKey(
            f"another execution is already monitored under workflowkey {key!r}"
        ) from error
    log.info("monitoring", workflowkey=key, executionArn=execution_arn)
    return {"workflowkey": key}
