"""What several patterns share across the component/handler line (standard library only).

- **Execution names and ARNs**: the Step Functions rule every caller-chosen key that becomes an execution
  name follows (task id, workflow key, job id, idempotent name). Handlers check it
  (``handlers/common/validation.py``); the monitor's JSONata state checks it in the ASL
  (``sfn_patterns.patterns.monitored_workflow``) with the same regex.
- **Limits** of Step Functions on the final document: execution input, a task failure's error and
  cause. Handlers refuse anything beyond them, so anything accepted can complete.
- **AwsServiceUnavailable**: the error a handler raises when an AWS call it makes fails; the Lambda
  Tasks of the components retry it by this name (``sfn_patterns.blocks.state_machine.lambda_retry``).
- **The token row** of a token table (``secure_table(hash_key=ROW_KEY, ttl_attribute=ROW_EXPIRES_AT)``):
  written by ``handlers/common/tokens.py``'s ``TokenStore.register`` and by the monitor's JSONata
  ``putItem`` (generated from :func:`token_row` and :data:`REGISTER_CONDITION`), read by ``TokenStore``
  and claimed by ``handlers/common/completion.py``.
- **The timeout rule** is :mod:`sfn_patterns.contracts.timeouts`' (only the components apply it).
- **Environment variables** that more than one pattern sets: :data:`ENV_STATE_MACHINE_ARN`,
  :data:`ENV_TABLE_NAME`. Each pattern's module re-exports the ones its Lambdas get.
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

# --- Execution names -----------------------------------------------------------------------------

#: Step Functions' rule for an execution name, in words (error messages on both sides quote it).
EXECUTION_NAME_RULE = "1 to 80 characters of A-Z a-z 0-9 - _"
#: The same rule as a regular expression (Python ``re`` and JSONata's ``$contains(s, /.../)`` both read it).
EXECUTION_NAME_REGEX = r"^[A-Za-z0-9_-]{1,80}$"
EXECUTION_NAME_PATTERN = re.compile(EXECUTION_NAME_REGEX)


def valid_execution_name(value: Any) -> TypeGuard[str]:
    """True when ``value`` is a string that follows :data:`EXECUTION_NAME_RULE`."""
    return isinstance(value, str) and EXECUTION_NAME_PATTERN.fullmatch(value) is not None


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN the execution ``name`` of ``state_machine_arn`` has (or would have).

    ``name="*"`` gives the IAM resource pattern of every execution (``sfn_patterns.blocks.iam.executions_of``);
    the handlers describe named executions by it (``handlers/common/executions.py``).
    """
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


# --- Step Functions' limits ----------------------------------------------------------------------

#: Largest execution input (and task output) Step Functions accepts, in UTF-8 bytes.
MAX_INPUT_BYTES = 256 * 1024
#: Longest ``error`` of a task failure (SendTaskFailure); handlers refuse or cut longer names.
MAX_ERROR_CHARS = 256
#: Longest ``cause`` of a task failure (SendTaskFailure).
MAX_CAUSE_CHARS = 32768
#: AWS's limit on every document the patterns send, in UTF-8 bytes: a StartExecution input, an SNS
#: message, a SendTaskSuccess output, a state's input, an asynchronous Lambda payload (all 256 KiB).
MAX_DOCUMENT_BYTES = MAX_INPUT_BYTES
#: The longest task token Step Functions issues (SendTaskSuccess's ``taskToken``: 1 to 2048 characters);
#: a payload holding a token is sized with one this long.
MAX_TASK_TOKEN_CHARS = 2048

# --- Failures reported from outside -----------------------------------------------------------------

#: Environment variable of every Lambda that completes a wait: the JSON list of the error names a
#: failure reported from outside must not use, derived by the component from the ASL it renders
#: (``sfn_patterns.blocks.state_machine.reserved_error_names``: each wait's Retry/Catch names and the
#: Fail states' errors) and read by ``handlers/common/failures.py``.
ENV_RESERVED_ERROR_NAMES = "RESERVED_ERROR_NAMES"
#: Step Functions' own error names, reserved besides.
RESERVED_ERROR_PREFIX = "States."
#: The one error a wait fails with when a topic message or bus event reports a reserved name (the
#: reported name is kept at the start of the cause). HTTP routes answer 400 ``ReservedError`` instead.
EXTERNAL_FAILURE_ERROR = "ExternalFailure"

# --- Errors --------------------------------------------------------------------------------------


class AwsServiceUnavailable(RuntimeError):
    """An AWS call a handler made failed (throttled, unavailable, ...).

    Raised by ``handlers/common/errors.aws_calls``. Its class name is the Lambda's ``errorType`` and
    so the Step Functions error name, which the components' Lambda Tasks retry
    (:data:`AWS_UNAVAILABLE_ERROR`): a passing failure of a table, topic or bus costs a retry, never the task.
    """


#: The error name a Retry of a Lambda Task lists to retry :class:`AwsServiceUnavailable`.
AWS_UNAVAILABLE_ERROR = AwsServiceUnavailable.__name__

# --- Environment variables set by several patterns ------------------------------------------------

#: ARN of the pattern's state machine (the API and event Lambdas start, read and check executions of it).
ENV_STATE_MACHINE_ARN = "STATE_MACHINE_ARN"
#: Name of the pattern's token table (the Lambdas that register, read or complete tasks).
ENV_TABLE_NAME = "TABLE_NAME"

# --- The token row ---------------------------------------------------------------------------------

#: The key (task id, workflow key, job id): the table's hash key (string).
ROW_KEY = "pk"
#: ``WAITING`` until completed, then ``SUCCEEDED``, ``FAILED`` or ``TIMED_OUT``; ``RELEASED`` once
#: its execution was cancelled or is being redriven (string).
ROW_STATUS = "status"
#: The task token while ``WAITING``; removed once used (string).
ROW_TOKEN = "token"
#: ARN of the execution that waits (string).
ROW_EXECUTION_ARN = "executionArn"
#: Epoch seconds of registration (number).
ROW_CREATED_AT = "createdAt"
#: Epoch seconds after which the wait has timed out (number); the table's TTL attribute.
ROW_EXPIRES_AT = "expiresAt"
#: Epoch seconds of the completion (number), set when the row leaves ``WAITING``.
ROW_COMPLETED_AT = "completedAt"
#: DynamoDB type of each attribute :func:`token_row` writes.
ROW_TYPES = {
    ROW_KEY: "S",
    ROW_STATUS: "S",
    ROW_TOKEN: "S",
    ROW_EXECUTION_ARN: "S",
    ROW_CREATED_AT: "N",
    ROW_EXPIRES_AT: "N",
}

#: The row statuses.
WAITING = "WAITING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
#: The wait's execution was cancelled, or is being redriven (its repeated wait registers afresh).
RELEASED = "RELEASED"
#: A row whose execution ended (failed, aborted, stopped) while the row still said WAITING.
ENDED = "ENDED"

#: Key prefix of a *start claim* row in a pattern's table (``#`` cannot occur in an execution name,
#: so a claim never meets a task's row): the winner of its conditional PutItem is the one caller
#: told ``created: true`` (``handlers/common/executions.py``). Its :data:`ROW_EXPIRES_AT` (the
#: table's TTL) is :data:`START_CLAIM_TTL_SECONDS` after the start.
START_CLAIM_PREFIX = "start#"
START_CLAIM_TTL_SECONDS = 24 * 3600

#: The condition of a registration: the key is free, or its row is not a live wait of another
#: execution (the same execution may register again: a retried task gets a new token). Values
#: ``:arn`` (the registering execution), ``:waiting`` (:data:`WAITING`), ``:now`` (epoch seconds);
#: names :data:`REGISTER_CONDITION_NAMES`.
REGISTER_CONDITION = (
    f"attribute_not_exists({ROW_KEY}) OR {ROW_EXECUTION_ARN} = :arn OR #s <> :waiting OR {ROW_EXPIRES_AT} < :now"
)
REGISTER_CONDITION_NAMES = {"#s": ROW_STATUS}


def token_row(key: Any, token: Any, execution_arn: Any, created_at: Any, expires_at: Any) -> dict[str, Any]:
    """The attributes of a freshly registered (``WAITING``) token row, by name.

    The values are whatever the writer uses: Python values for ``TokenStore.register``, JSONata
    expressions for the monitor's ``putItem``; :data:`ROW_TYPES` gives each one's DynamoDB type.
    """
    return {
        ROW_KEY: key,
        ROW_STATUS: WAITING,
        ROW_TOKEN: token,
        ROW_EXECUTION_ARN: execution_arn,
        ROW_CREATED_AT: created_at,
        ROW_EXPIRES_AT: expires_at,
    }
