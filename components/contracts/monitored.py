"""``MonitoredWorkflow``'s contract between the component and its ``monitor_api`` / ``monitor_events`` Lambdas.

Config -> ASL -> handler:

- ``monitor_timeout_seconds`` (default :data:`DEFAULT_MONITOR_TIMEOUT_SECONDS`) -> the monitor's
  ``TimeoutSeconds`` and the token row's ``expiresAt`` (written by the monitor's JSONata ``putItem``
  from :func:`sfn_patterns.contracts.common.token_row`).
- ``event_source`` / ``stop_detail_type`` / ``error_detail_type`` (defaults :data:`DEFAULT_EVENT_SOURCE`,
  :data:`DEFAULT_STOP_DETAIL_TYPE`, :data:`DEFAULT_ERROR_DETAIL_TYPE`) -> the stop event the ASL
  puts, the bus rules -> :data:`ENV_EVENT_SOURCE`, :data:`ENV_STOP_DETAIL_TYPE`,
  :data:`ENV_ERROR_DETAIL_TYPE` of the Lambdas.
- The execution input's :data:`KEY` (the workflow key) is the token row's key; the events carry it
  in their ``detail`` with :data:`DETAIL_EXECUTION_ARN` (and :data:`DETAIL_ERROR`, :data:`DETAIL_CAUSE`).
- The execution fails with :data:`TIMED_OUT_ERROR`, :data:`DUPLICATE_KEY_ERROR` or :data:`INVALID_KEY_ERROR`.
"""

from __future__ import annotations

from sfn_patterns.contracts.common import (
    ENV_STATE_MACHINE_ARN,
    ENV_TABLE_NAME,
    MAX_CAUSE_CHARS,
    MAX_ERROR_CHARS,
)

__all__ = [
    "DEFAULT_ERROR_DETAIL_TYPE", "DEFAULT_EVENT_SOURCE", "DEFAULT_MONITOR_TIMEOUT_SECONDS",
    "DEFAULT_STOP_DETAIL_TYPE", "DETAIL_CAUSE", "DETAIL_ERROR", "DETAIL_EXECUTION_ARN",
    "DUPLICATE_KEY_ERROR", "ENV_ERROR_DETAIL_TYPE", "ENV_EVENT_BUS_ARN", "ENV_EVENT_SOURCE",
    "ENV_STATE_MACHINE_ARN", "ENV_STOP_DETAIL_TYPE", "ENV_TABLE_NAME", "INVALID_KEY_ERROR", "KEY",
    "MAX_CAUSE_CHARS", "MAX_ERROR_CHARS", "TIMED_OUT_ERROR",
]

#: Default seconds the monitor waits for an event (stop or error) before the execution fails.
DEFAULT_MONITOR_TIMEOUT_SECONDS = 3600
#: Default ``source`` of the stop and error events.
DEFAULT_EVENT_SOURCE = "sfn-patterns.monitored"
#: Default ``detail-type`` of the event that ends monitoring gracefully.
DEFAULT_STOP_DETAIL_TYPE = "StopWorkflowMonitoring"
#: Default ``detail-type`` of the event that fails the workflow.
DEFAULT_ERROR_DETAIL_TYPE = "WorkflowError"

#: The workflow key: a field of the execution input, of every event's ``detail``, and the token row's key.
KEY = "workflowkey"
#: ``detail`` field naming the execution an event is for (the workflow's own stop event sets it).
DETAIL_EXECUTION_ARN = "executionArn"
#: ``detail`` fields of an error event: the error name and cause the execution fails with.
DETAIL_ERROR = "error"
DETAIL_CAUSE = "cause"

#: Errors the execution fails with: no event within the monitor timeout; another live execution
#: is monitored under the key; the input's key breaks the execution-name rule.
TIMED_OUT_ERROR = "MonitorTimedOut"
DUPLICATE_KEY_ERROR = "DuplicateWorkflowKey"
INVALID_KEY_ERROR = "InvalidWorkflowKey"

# Environment (``monitor_events``: table, state machine, detail types; ``monitor_api``: all).
#: ARN of the bus ``monitor_api`` puts events on.
ENV_EVENT_BUS_ARN = "EVENT_BUS_ARN"
#: ``source`` of the events ``monitor_api`` puts.
ENV_EVENT_SOURCE = "EVENT_SOURCE"
#: ``detail-type`` of the stop event.
ENV_STOP_DETAIL_TYPE = "STOP_DETAIL_TYPE"
#: ``detail-type`` of the error event.
ENV_ERROR_DETAIL_TYPE = "ERROR_DETAIL_TYPE"
