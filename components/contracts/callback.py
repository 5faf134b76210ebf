"""``CallbackWorkflow``'s contract between the component and its ``callback_register`` / ``callback_api`` Lambdas.

Config -> ASL -> handler:

- ``timeout_seconds`` (default :data:`DEFAULT_TIMEOUT_SECONDS`) -> the wait's ``TimeoutSeconds`` and
  :data:`ENV_TASK_TIMEOUT_SECONDS` of ``callback_register`` -> the token row's ``expiresAt``.
- ``heartbeat_seconds`` (default :data:`DEFAULT_HEARTBEAT_SECONDS`) -> the wait's ``HeartbeatSeconds``.
- A wait that expires is caught into the Fail state whose error is :data:`TIMED_OUT_ERROR`;
  ``callback_api`` reports such an execution as ``TIMED_OUT`` and refuses the name from callers.
- The wait's ``Payload`` carries :data:`REGISTER_TASK_ID`, :data:`REGISTER_EXECUTION_ARN`,
  :data:`REGISTER_TASK_TOKEN` and :data:`REGISTER_INPUT`, which ``callback_register`` reads.
- ``callback_register`` stores the per-task secret's hash in the token row under
  :data:`SECRET_HASH_ATTRIBUTE`; ``callback_api`` checks the :data:`SECRET_HEADER` against it.
"""

from __future__ import annotations

from sfn_patterns.contracts.common import (
    ENV_STATE_MACHINE_ARN,
    ENV_TABLE_NAME,
    MAX_CAUSE_CHARS,
    MAX_ERROR_CHARS,
)

__all__ = [
    "DEFAULT_HEARTBEAT_SECONDS", "DEFAULT_TIMEOUT_SECONDS", "ENV_API_URL", "ENV_STATE_MACHINE_ARN",
    "ENV_TABLE_NAME", "ENV_TASK_TIMEOUT_SECONDS", "ENV_TOPIC_ARN", "MAX_CAUSE_CHARS", "MAX_ERROR_CHARS",
    "REGISTER_EXECUTION_ARN", "REGISTER_INPUT", "REGISTER_TASK_ID", "REGISTER_TASK_TOKEN",
    "SECRET_HASH_ATTRIBUTE", "SECRET_HEADER", "TIMED_OUT_ERROR",
]

#: Default seconds a task may wait for its callback: long enough for a service-to-service job
#: (minutes) with a wide margin, short enough that a lost task is noticed within the hour and no
#: token outlives its usefulness by long. Also ``callback_register``'s default row lifetime.
DEFAULT_TIMEOUT_SECONDS = 3600
#: Default seconds without a heartbeat (or completion) before the wait is given up: a worker that
#: crashed is noticed after 5 minutes instead of at the timeout; a long job reports every few minutes.
DEFAULT_HEARTBEAT_SECONDS = 300

#: The error (and Fail state) the execution ends with when no callback came before the wait's
#: timeout or heartbeat; reserved: a caller's failure may not name it.
TIMED_OUT_ERROR = "CallbackTimedOut"

# Environment of ``callback_register`` (besides ENV_TABLE_NAME); ``callback_api`` gets
# ENV_STATE_MACHINE_ARN and ENV_TABLE_NAME.
#: ARN of the topic the task's notification is published to.
ENV_TOPIC_ARN = "TOPIC_ARN"
#: Base URL of the component's HTTP API (the notification's ``callbackUrl`` is ``<API_URL>/tasks/<taskId>``).
ENV_API_URL = "API_URL"
#: The wait's ``TimeoutSeconds``: the token row's deadline and TTL.
ENV_TASK_TIMEOUT_SECONDS = "TASK_TIMEOUT_SECONDS"

# The wait's Payload (``lambda:invoke.waitForTaskToken`` on ``callback_register``).
#: The task id (the execution name).
REGISTER_TASK_ID = "taskId"
#: The waiting execution's ARN.
REGISTER_EXECUTION_ARN = "executionArn"
#: The task token (stored in the token row only; never logged or published).
REGISTER_TASK_TOKEN = "taskToken"
#: The state at the wait (the input the external party gets).
REGISTER_INPUT = "input"

#: Length of a per-task secret (``secrets.token_urlsafe(32)``: 43 characters); the route sizes the
#: notification with one this long before the task starts.
SECRET_CHARS = 43
#: Attribute of the token row holding the SHA-256 hex digest of the per-task secret.
SECRET_HASH_ATTRIBUTE = "secretHash"
#: Request header carrying the per-task secret on ``PUT /tasks/{taskId}`` and the heartbeat (lower case).
SECRET_HEADER = "x-task-secret"
