"""``CallbackWorkflow``: a task that waits for an external system to call back, by task id (seeds 000, 001, 002).

``POST /tasks`` starts an execution named by the task id. Its callback state is one
``lambda:invoke.waitForTaskToken`` Task on the ``callback_register`` Lambda, which stores the task
token in the token table under the task id (with the SHA-256 hash of a fresh per-task secret) and
only THEN publishes ``{"taskId", "input", "callbackUrl", "secret"}`` to the component's SNS topic.
The external party answers with ``PUT /tasks/{taskId}`` (or ``POST /tasks/{taskId}/heartbeat``),
proving with the secret in an ``X-Task-Secret`` header that it was handed the task; the
``callback_api`` Lambda then completes the task exactly once through ``CallbackTaskFinalizer``.
The raw token never leaves AWS. A callback that never comes ends the execution at the wait's
timeout or heartbeat, through a Catch, with the error ``CallbackTimedOut``.

Optional steps run as Lambda Task states before the wait (their output is the input the external
party gets) and after it (they get the callback's output): each a handler module of the user's
``handlers_dir``, or an existing Lambda by ARN.
"""

from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks import alarms, iam, policy
from sfn_patterns.blocks.args import check_args
from sfn_patterns.blocks.function import (
    HandlerFunction,
    StepArgs,
    check_step,
    handler_placeholder,
    pattern_function,
    step_function,
)
from sfn_patterns.blocks.http_api import ApiArgs, HttpApi, api_function, function_api, operations_routes
from sfn_patterns.blocks.messaging import secure_table, secure_topic
from sfn_patterns.blocks.state_machine import (
    AWS_UNAVAILABLE_ERROR,
    RESERVED_ERRORS_ENV,
    WAIT_EXPIRED_ERRORS,
    LoggingArgs,
    StateMachine,
    lambda_retry,
    logging_settings,
)
from sfn_patterns.contracts import callback, common, timeouts
from sfn_patterns.contracts.callback import DEFAULT_HEARTBEAT_SECONDS, DEFAULT_TIMEOUT_SECONDS, TIMED_OUT_ERROR
from sfn_patterns.contracts.timeouts import MAX_TIMEOUT_SECONDS

# The defaults, the timeout error and the names the Lambdas read are the contract's
# (``sfn_patterns.contracts.callback``): DEFAULT_TIMEOUT_SECONDS, DEFAULT_HEARTBEAT_SECONDS, TIMED_OUT_ERROR.
#: Name of the callback state and of the Fail state the execution ends in when no callback comes.
WAIT_STATE = "WaitForCallback"
TIMED_OUT_STATE = TIMED_OUT_ERROR
_RESERVED_STATES = {WAIT_STATE, TIMED_OUT_STATE}


class CallbackWorkflowArgs(ApiArgs, LoggingArgs, total=False):
    """Arguments of :class:`CallbackWorkflow`.

    ``authorization_type`` covers ``POST /tasks``, ``GET /tasks/{taskId}`` and the operations routes
    (``GET /tasks``, ``DELETE /tasks/{taskId}``, ``POST /tasks/{taskId}/redrive``); ``PUT /tasks/{taskId}``
    and the heartbeat route are proven by the per-task secret instead.
    """

    timeout_seconds: int
    """Seconds the task waits for its callback before the execution fails with ``CallbackTimedOut``; also the token row's TTL. Default 3600.
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    heartbeat_seconds: Optional[int]
    """Seconds without a heartbeat or completion before the wait is given up (must be below the timeout); 0 or None: no heartbeat. Default 300.
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    before: Sequence[StepArgs]
    """Steps run, in order, as Lambda Task states before the wait; the last one's output is the task's
    ``input``. A handler step's state is named after its module, a ``function_arn`` step's ``Before<n>``.
    Default: none. A plain list: each step becomes a state of the definition when the component is constructed."""
    after: Sequence[StepArgs]
    """Steps run, in order, after the callback, on its output (states named after the module, or ``After<n>``).
    Default: none. A plain list: each step becomes a state of the definition when the component is constructed."""
    handlers_dir: str
    """Folder of your handler modules, which the ``before``/``after`` handler steps name (absolute, or
    relative to the program's working directory). Required when a step names a handler. A plain value,
    not an Output: the archives are built from its files when the component is constructed."""


class CallbackWorkflow(pulumi.ComponentResource):
    """A Standard workflow whose task waits for an external system, which completes it by task id over HTTP."""

    # Only outputs are annotated here (the component schema is inferred from them); a Python program
    # also reaches the children: ``table``, ``topic``, ``register_function``, ``api_function``,
    # ``step_functions`` (by handler module), ``state_machine`` and ``http_api``.
    url: pulumi.Output[str]
    """Base URL of the HTTP API (``POST {url}/tasks``, ``GET``/``PUT {url}/tasks/{taskId}``, ``POST {url}/tasks/{taskId}/heartbeat``)."""
    topic_arn: pulumi.Output[str]
    """ARN of the SNS topic that hands each task (``taskId``, ``input``, ``callbackUrl``, ``secret``) to the external party."""
    table_name: pulumi.Output[str]
    """Name of the DynamoDB table holding each waiting task's token (never returned by the API)."""
    state_machine_arn: pulumi.Output[str]
    """ARN of the Standard state machine; executions are named by task id."""

    def __init__(self, name: str, args: CallbackWorkflowArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        check_args(f"CallbackWorkflow {name!r}", args, CallbackWorkflowArgs)
        super().__init__("sfn-patterns:index:CallbackWorkflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarms.settings_for(self, args.get("alarms"), opts)
        timeout, heartbeat = check_timeouts(
            args.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS), args.get("heartbeat_seconds", DEFAULT_HEARTBEAT_SECONDS)
        )
        steps: dict[str, list[StepArgs]] = {"before": list(args.get("before", [])), "after": list(args.get("after", []))}
        for kind, kind_steps in steps.items():
            for index, step in enumerate(kind_steps):
                check_step(step, args.get("handlers_dir"), f"CallbackWorkflow {name!r}: {kind}[{index}]")
        before, after = (step_state_names(kind, steps[kind]) for kind in ("before", "after"))
        # Refuse duplicate or reserved state names before anything is built.
        definition = callback_definition(timeout, heartbeat, before, after)
        retention = args.get("log_retention_days", 14)

        # The token table (TTL = the wait's deadline) and the channel to the external party.
        self.table: aws.dynamodb.Table = secure_table(f"{name}-tokens", child, hash_key=common.ROW_KEY, ttl_attribute=common.ROW_EXPIRES_AT)
        self.topic: aws.sns.Topic = secure_topic(f"{name}-tasks", child)

        # The register Lambda needs the API's URL, and the API's routes need a Lambda that needs the
        # state machine, which needs the register Lambda: the URL is filled in once the API exists.
        api_url: pulumi.Output[str]
        resolve_api_url: Callable[[pulumi.Output[str]], None]
        api_url, resolve_api_url = pulumi.deferred_output()
        self.register_function: HandlerFunction = pattern_function(
            f"{name}-register",
            {
                "handler": "callback_register",
                "environment": {
                    callback.ENV_TABLE_NAME: self.table.name,
                    callback.ENV_TOPIC_ARN: self.topic.arn,
                    callback.ENV_API_URL: api_url,
                    callback.ENV_TASK_TIMEOUT_SECONDS: str(timeout),
                },
                "statements": iam.grant_token_registration(self.table.arn) + iam.grant_publish(self.topic.arn),
                "log_retention_days": retention,
            },
            opts=child,
        )

        # Optional work before and after the wait: a Lambda per handler step, or an existing function.
        self.step_functions: dict[str, HandlerFunction] = {}
        substitutions: dict[str, pulumi.Input[str]] = {"RegisterFunction": self.register_function.arn}
        for kind, states in (("before", before), ("after", after)):
            for index, (state, step) in enumerate(zip(states, steps[kind])):
                function, arn = step_function(
                    f"{name}-{state.replace('_', '-').lower()}", step, args.get("handlers_dir"), retention, child,
                    f"CallbackWorkflow {name!r}: {kind}[{index}]",
                )
                if function is not None:
                    self.step_functions[state] = function
                substitutions[handler_placeholder(state)[2:-1]] = arn
        self.state_machine: StateMachine = StateMachine(
            name,
            {
                "definition": definition,
                "substitutions": substitutions,
                "log_retention_days": retention,
                **logging_settings(args),
            },
            opts=child,
        )

        # The HTTP API: start and read tasks, complete them and send heartbeats.
        self.api_function: HandlerFunction = api_function(
            f"{name}-api",
            {
                "handler": "callback_api",
                "environment": {
                    callback.ENV_STATE_MACHINE_ARN: self.state_machine.arn,
                    callback.ENV_TABLE_NAME: self.table.name,
                    # The notification's callbackUrl, to size it before a task starts.
                    callback.ENV_API_URL: api_url,
                    RESERVED_ERRORS_ENV: self.state_machine.reserved_error_names,
                },
                "statements": iam.grant_start_execution(self.state_machine.arn)
                + iam.grant_operations(self.state_machine.arn)
                + iam.grant_task_response(self.state_machine.arn)
                + iam.grant_token_completion(self.table.arn)
                + iam.grant_start_claims(self.table.arn),
                "log_retention_days": retention,
            },
            opts=child,
        )
        caller_auth = args.get("authorization_type", "AWS_IAM")
        routes = {
            "POST /tasks": caller_auth,
            "GET /tasks/{taskId}": caller_auth,
            # Proven by the per-task secret (X-Task-Secret), checked by the handler.
            "PUT /tasks/{taskId}": "NONE",
            "POST /tasks/{taskId}/heartbeat": "NONE",
            # List, cancel (releases the token row) and redrive (a fresh wait, a new secret).
            **operations_routes("tasks", "taskId", caller_auth),
        }
        self.http_api: HttpApi = function_api(f"{name}-api", self.api_function, routes, args, child)
        resolve_api_url(self.http_api.url)
        for route_key in ("PUT /tasks/{taskId}", "POST /tasks/{taskId}/heartbeat"):
            policy.suppress(
                self.http_api.routes[route_key],
                "CKV_AWS_309",
                "the external party is not an IAM principal of this account: it proves it was handed the task with the "
                "per-task secret (X-Task-Secret, compared with its SHA-256 hash in constant time by the handler)",
            )

        self.url = self.http_api.url
        self.topic_arn = self.topic.arn
        self.table_name = self.table.name
        self.state_machine_arn = self.state_machine.arn
        self.register_outputs(
            {
                "url": self.url,
                "topic_arn": self.topic_arn,
                "table_name": self.table_name,
                "state_machine_arn": self.state_machine_arn,
            }
        )


def step_state_names(kind: str, steps: Sequence[StepArgs]) -> list[str]:
    """The state name of each ``before``/``after`` step: its handler module, or ``Before<n>``/``After<n>``."""
    return [
        step["handler"] if isinstance(step, Mapping) and step.get("handler") is not None else f"{kind.capitalize()}{index + 1}"
        for index, step in enumerate(steps)
    ]


def check_timeouts(timeout_seconds: Any, heartbeat_seconds: Any) -> tuple[int, Optional[int]]:
    """The wait's (timeout, heartbeat) when Step Functions accepts them; otherwise ``ValueError``.

    The contract's one timeout rule (:func:`sfn_patterns.contracts.timeouts.check_timeouts`), at most
    :data:`MAX_TIMEOUT_SECONDS`.
    """
    return timeouts.check_timeouts(timeout_seconds, heartbeat_seconds)


def callback_definition(
    timeout_seconds: int,
    heartbeat_seconds: Optional[int] = DEFAULT_HEARTBEAT_SECONDS,
    before: Sequence[str] = (),
    after: Sequence[str] = (),
) -> dict[str, Any]:
    """The ASL of a callback workflow, with ``${RegisterFunction}`` and ``${Handler_<module>}`` placeholders.

    ``before`` handlers -> ``WaitForCallback`` (the register Lambda, ``.waitForTaskToken``) ->
    ``after`` handlers. The wait catches ``States.Timeout`` and ``States.HeartbeatTimeout`` into
    the Fail state ``CallbackTimedOut``; a callback reporting failure fails the execution with
    the caller's error name.
    """
    names = list(before) + list(after)
    for module in names:
        if not isinstance(module, str) or not module.isidentifier():
            raise ValueError(f"handler module names must be Python identifiers, got {module!r}")
    if len(set(names)) != len(names) or _RESERVED_STATES & set(names):
        raise ValueError(f"before/after handlers must be distinct and not named {sorted(_RESERVED_STATES)}: {names}")

    order = list(before) + [WAIT_STATE] + list(after)
    states: dict[str, Any] = {}
    for index, state_name in enumerate(order):
        following = order[index + 1] if index + 1 < len(order) else None
        if state_name == WAIT_STATE:
            state: dict[str, Any] = {
                "Type": "Task",
                "Comment": "Store the token under the task id, then notify the external party; wait for its callback.",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "${RegisterFunction}",
                    # The event callback_register reads (field names: the contract's REGISTER_*).
                    "Payload": {
                        f"{callback.REGISTER_TASK_ID}.$": "$$.Execution.Name",
                        f"{callback.REGISTER_EXECUTION_ARN}.$": "$$.Execution.Id",
                        f"{callback.REGISTER_TASK_TOKEN}.$": "$$.Task.Token",
                        f"{callback.REGISTER_INPUT}.$": "$",
                    },
                },
                "TimeoutSeconds": timeout_seconds,
            }
            if heartbeat_seconds:
                state["HeartbeatSeconds"] = heartbeat_seconds
            # The register Lambda raises AwsServiceUnavailable when the table or topic fails: retried.
            state["Retry"] = [lambda_retry(AWS_UNAVAILABLE_ERROR)]
            state["Catch"] = [{"ErrorEquals": list(WAIT_EXPIRED_ERRORS), "Next": TIMED_OUT_STATE}]
        else:
            state = {"Type": "Task", "Resource": handler_placeholder(state_name), "Retry": [lambda_retry()]}
        if following:
            state["Next"] = following
        else:
            state["End"] = True
        states[state_name] = state
    states[TIMED_OUT_STATE] = {
        "Type": "Fail",
        "Error": TIMED_OUT_ERROR,
        "Cause": "no callback came before the task's timeout or heartbeat expired",
    }
    return {
        "Comment": "Callback workflow: a task waits for an external system, correlated by task id",
        "StartAt": order[0],
        "States": states,
    }

