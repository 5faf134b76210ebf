"""``PausableWorkflow``'s contract between the component and its ``pausable_*`` Lambdas (and the async service).

Config -> ASL -> handler:

- ``pause_timeout_seconds`` (default :data:`DEFAULT_PAUSE_TIMEOUT_SECONDS`) -> the ``Pause`` Task's
  ``TimeoutSeconds`` and :data:`ENV_PAUSE_TIMEOUT_SECONDS` of ``pausable_pause`` -> the pause row's
  ``expiresAt``. A pause that expires is caught into the Fail state :data:`PAUSE_TIMED_OUT`.
- The ``Pause`` Task's ``Payload`` carries :data:`PAUSE_TOKEN`, :data:`PAUSE_JOB_ID`,
  :data:`PAUSE_EXECUTION_ARN` and :data:`PAUSE_JOB`, which ``pausable_pause`` reads.
- ``pausable_pause`` raises :class:`AsyncServiceUnavailable` when it cannot invoke the async
  service (:data:`ENV_ASYNC_SERVICE_ARN`); the ``Pause`` Task retries it by name.
- The async service gets ``{ASYNC_JOB_ID, ASYNC_INPUT}`` and answers on the resume topic
  (:data:`ENV_RESUME_TOPIC_ARN`) with a status of :data:`RESUME_STATUSES`.
- The pause row holds :data:`MANUAL_ATTRIBUTE`, and :data:`RESUME_REQUESTED_AT_ATTRIBUTE` once a
  resume request is on its way.
"""

from __future__ import annotations

from sfn_patterns.contracts.common import (
    ENV_STATE_MACHINE_ARN,
    ENV_TABLE_NAME,
    MAX_CAUSE_CHARS,
    MAX_ERROR_CHARS,
)

__all__ = [
    "ASYNC_INPUT", "ASYNC_JOB_ID", "AsyncServiceUnavailable", "ASYNC_SERVICE_UNAVAILABLE_ERROR",
    "DEFAULT_PAUSE_TIMEOUT_SECONDS", "ENV_ASYNC_SERVICE_ARN", "JOB_INPUT", "PREPROCESSED_FIELD", "RESULT_FIELD", "ENV_PAUSE_TIMEOUT_SECONDS",
    "ENV_RESUME_TOPIC_ARN", "ENV_STATE_MACHINE_ARN", "ENV_TABLE_NAME", "MANUAL_ATTRIBUTE",
    "MAX_CAUSE_CHARS", "MAX_ERROR_CHARS", "PAUSE_EXECUTION_ARN", "PAUSE_JOB", "PAUSE_JOB_ID",
    "PAUSE_TIMED_OUT", "PAUSE_TOKEN", "RESUME_REQUESTED_AT_ATTRIBUTE", "RESUME_STATUSES",
]

#: Default seconds a job may stay paused before the execution fails with :data:`PAUSE_TIMED_OUT`;
#: also ``pausable_pause``'s default row lifetime.
DEFAULT_PAUSE_TIMEOUT_SECONDS = 24 * 3600
#: The error (and Fail state) of a pause that outlives its timeout.
PAUSE_TIMED_OUT = "PauseTimedOut"


class AsyncServiceUnavailable(RuntimeError):
    """``pausable_pause`` could not invoke the async service; the ``Pause`` Task retries it by this name."""


#: The error name the ``Pause`` Task's Retry lists for :class:`AsyncServiceUnavailable`.
ASYNC_SERVICE_UNAVAILABLE_ERROR = AsyncServiceUnavailable.__name__

# Environment. pausable_pause: ENV_TABLE_NAME, ENV_PAUSE_TIMEOUT_SECONDS, ENV_ASYNC_SERVICE_ARN;
# pausable_resume: ENV_TABLE_NAME; pausable_api: ENV_STATE_MACHINE_ARN, ENV_TABLE_NAME,
# ENV_RESUME_TOPIC_ARN; the async service: ENV_RESUME_TOPIC_ARN.
#: The ``Pause`` Task's ``TimeoutSeconds``: the pause row's deadline and TTL.
ENV_PAUSE_TIMEOUT_SECONDS = "PAUSE_TIMEOUT_SECONDS"
#: ARN of the async service Lambda the pause invokes (``InvocationType=Event``).
ENV_ASYNC_SERVICE_ARN = "ASYNC_SERVICE_ARN"
#: ARN of the resume topic.
ENV_RESUME_TOPIC_ARN = "RESUME_TOPIC_ARN"

# The Pause Task's Payload (``lambda:invoke.waitForTaskToken`` on ``pausable_pause``).
#: The task token (stored in the pause row only; never logged or sent).
PAUSE_TOKEN = "token"
#: The job id (the execution name).
PAUSE_JOB_ID = "jobId"
#: The paused execution's ARN.
PAUSE_EXECUTION_ARN = "executionArn"
#: The state at the pause (execution input, plus ``preprocessed`` after a preprocessing step).
PAUSE_JOB = "job"

# The job's state (the execution input ``{JOB_INPUT, MANUAL_ATTRIBUTE}``, then the steps' results).
#: The job's input (the execution input's field, written by ``pausable_api``).
JOB_INPUT = "input"
#: Where the ``Preprocess`` step's result goes in the state (``ResultPath: $.preprocessed``); the
#: pause hands it to the async service instead of the job's input.
PREPROCESSED_FIELD = "preprocessed"
#: Where the resume's output goes in the state when a ``Postprocess`` step follows (``ResultPath: $.result``).
RESULT_FIELD = "result"

# The async service's event.
#: The job id it must answer for.
ASYNC_JOB_ID = "jobId"
#: The preprocessed job (or the job's input without a preprocessing step).
ASYNC_INPUT = "input"

#: The statuses of a resume message.
RESUME_STATUSES = ("SUCCEEDED", "FAILED")

#: Attribute of the pause row: whether the job waits for a person (boolean).
MANUAL_ATTRIBUTE = "manual"
#: Attribute of the pause row: epoch seconds of the resume request on its way (number).
RESUME_REQUESTED_AT_ATTRIBUTE = "resumeRequestedAt"
