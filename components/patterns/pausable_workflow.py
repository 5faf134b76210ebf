"""``PausableWorkflow``: preprocessing, a pause until an async service or a person resumes the job
through an SNS topic, then post processing (seed 004, without its faults).

The state machine has three states on the happy path (as seed 004) and one Fail state:

``Preprocess`` (a handler Lambda; its result goes to ``$.preprocessed``) -> ``Pause`` (a
``lambda:invoke.waitForTaskToken`` task on the pause Lambda, result to ``$.result``) ->
``Postprocess`` (a handler Lambda; its result is the execution's output). ``Pause`` has
``TimeoutSeconds``; a timeout is caught into ``PauseTimedOut`` (a Fail state with that error).
Both steps are optional (no preprocessing or post-processing state unless given): a job with
neither is one state transition instead of three. Each step, like the async service (required), is
a handler module of the user's ``handlers_dir`` or an existing Lambda by ARN.

The pause Lambda validates the manual flag (``InvalidManualFlag`` fails the execution), stores the
task token in the pause table under the job id (the execution name) and, unless the job is manual,
invokes the async service Lambda asynchronously with ``{"jobId", "input"}``. The async service (or
anyone allowed to publish) answers on the resume topic with ``{"jobId", "status", "output" |
"error", "cause"}``; the resume Lambda, subscribed to it, completes the pause exactly once through
``CallbackTaskFinalizer``. An HTTP API starts jobs, reads them (``PAUSED`` while waiting) and
publishes resumes for people.
"""

from typing import Any, Optional, Required

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks import alarms, iam
from sfn_patterns.blocks.args import ArgsError, check_args
from sfn_patterns.blocks.function import HandlerFunction, StepArgs, check_step, pattern_function, step_function
from sfn_patterns.blocks.http_api import ApiArgs, HttpApi, api_function, function_api, operations_routes
from sfn_patterns.blocks.messaging import secure_table, secure_topic, subscribe_lambda
from sfn_patterns.blocks.state_machine import (
    AWS_UNAVAILABLE_ERROR,
    RESERVED_ERRORS_ENV,
    WAIT_EXPIRED_ERRORS,
    LoggingArgs,
    StateMachine,
    lambda_retry,
    logging_settings,
)
from sfn_patterns.contracts import common, pausable, timeouts
from sfn_patterns.contracts.pausable import DEFAULT_PAUSE_TIMEOUT_SECONDS, PAUSE_TIMED_OUT

# The default pause, its timeout error, its longest value (Step Functions' limit, checked by the
# contract's one timeout rule) and the names the Lambdas read are ``sfn_patterns.contracts.pausable``'s.


class PausableWorkflowArgs(ApiArgs, LoggingArgs, total=False):
    """Arguments of :class:`PausableWorkflow`.

    ``authorization_type`` covers every route: ``POST /jobs``, ``GET /jobs/{jobId}``,
    ``POST /jobs/{jobId}/resume`` and the operations routes (``GET /jobs``, ``DELETE /jobs/{jobId}``,
    ``POST /jobs/{jobId}/redrive``).
    """

    async_service: Required[StepArgs]
    """The async service that does the long job: a handler module of ``handlers_dir`` (the component
    builds its Lambda, sets ``RESUME_TOPIC_ARN`` in its environment and lets it publish there; timeout
    default 60 s) or an existing Lambda by ``function_arn`` (which must publish to the output
    ``resume_topic_arn`` itself). It is invoked asynchronously with ``{"jobId", "input"}`` and answers
    with ``{"jobId", "status", "output" | "error", "cause"}`` on the resume topic (it may also hand the
    job id on to an outside service that publishes later).
    A plain value, not an Output: a handler's archive is built from its module when the component is constructed."""
    preprocess: StepArgs
    """The preprocessing step (gets the execution input; its result goes to ``$.preprocessed``). Default:
    none, no state nor Lambda, and the async service gets the job's ``input``. Each step is a billed state
    transition ($25 per million executions).
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    postprocess: StepArgs
    """The post-processing step (gets the state after the pause, the resume's output at ``$.result``); its
    result is the execution's output. Default: none, and the execution's output is the resume's ``output``.
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    handlers_dir: str
    """Folder of your handler modules, which handler steps name (absolute, or relative to the program's
    working directory). Required when a step names a handler. A plain value, not an Output: the archives
    are built from its files when the component is constructed."""
    pause_timeout_seconds: int
    """Seconds a job may stay paused before the execution fails with ``PauseTimedOut``; the pause
    table's rows expire with it. Default 86400 (a day); at most a year.
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""


def pausable_definition(
    pause_timeout_seconds: int, preprocess: bool = True, postprocess: bool = True
) -> dict[str, Any]:
    """The ASL of the workflow, with ``${Pause}`` (and ``${Preprocess}``, ``${Postprocess}`` for the steps it has) placeholders."""
    retry_lambda = [lambda_retry()]
    pause: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": "${Pause}",
            # The event pausable_pause reads (field names: the contract's PAUSE_*).
            "Payload": {
                f"{pausable.PAUSE_TOKEN}.$": "$$.Task.Token",
                f"{pausable.PAUSE_JOB_ID}.$": "$$.Execution.Name",
                f"{pausable.PAUSE_EXECUTION_ARN}.$": "$$.Execution.Id",
                f"{pausable.PAUSE_JOB}.$": "$",
            },
        },
        "TimeoutSeconds": pause_timeout_seconds,
        # With post processing, it gets the state and the resume's output at $.result; without, the
        # resume's output is the execution's output.
        "ResultPath": f"$.{pausable.RESULT_FIELD}" if postprocess else "$",
        # The pause Lambda raises AwsServiceUnavailable (table) or AsyncServiceUnavailable: retried.
        "Retry": [lambda_retry(AWS_UNAVAILABLE_ERROR, pausable.ASYNC_SERVICE_UNAVAILABLE_ERROR)],
        "Catch": [{"ErrorEquals": list(WAIT_EXPIRED_ERRORS), "ResultPath": "$.timeout", "Next": PAUSE_TIMED_OUT}],
    }
    states: dict[str, Any] = {}
    if preprocess:
        states["Preprocess"] = {
            "Type": "Task", "Resource": "${Preprocess}", "ResultPath": f"$.{pausable.PREPROCESSED_FIELD}", "Retry": retry_lambda, "Next": "Pause",
        }
    states["Pause"] = pause
    if postprocess:
        pause["Next"] = "Postprocess"
        states["Postprocess"] = {"Type": "Task", "Resource": "${Postprocess}", "Retry": retry_lambda, "End": True}
    else:
        pause["End"] = True
    states[PAUSE_TIMED_OUT] = {
        "Type": "Fail",
        "Error": PAUSE_TIMED_OUT,
        "Cause": f"the job was not resumed within {pause_timeout_seconds} seconds",
    }
    return {
        "Comment": "Preprocess, pause until resumed through the resume topic, post-process (seed 004)",
        "StartAt": "Preprocess" if preprocess else "Pause",
        "States": states,
    }


class PausableWorkflow(pulumi.ComponentResource):
    """Preprocess, pause until resumed through an SNS topic (by a service or a person), post-process."""

    # Only outputs are annotated here (the component schema is inferred from them); a Python program
    # also reaches the children: ``state_machine``, ``functions`` (``preprocess``, ``postprocess``,
    # ``pause``, ``async_service``, ``resume``, ``api``), ``resume_dead_letter_queue`` and ``http_api``.
    url: pulumi.Output[str]
    """Base URL of the HTTP API (``POST {url}/jobs``, ``GET {url}/jobs/{jobId}``, ``POST {url}/jobs/{jobId}/resume``)."""
    resume_topic_arn: pulumi.Output[str]
    """ARN of the SNS topic a resume message (``jobId``, ``status``, ``output`` or ``error``/``cause``) is published to."""
    table_name: pulumi.Output[str]
    """Name of the DynamoDB table holding each paused job's token, by job id."""
    state_machine_arn: pulumi.Output[str]
    """ARN of the Standard state machine; executions are named by job id."""

    def __init__(self, name: str, args: PausableWorkflowArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        check_args(f"PausableWorkflow {name!r}", args, PausableWorkflowArgs)
        super().__init__("sfn-patterns:index:PausableWorkflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarms.settings_for(self, args.get("alarms"), opts)
        retention = args.get("log_retention_days", 14)
        try:
            timeout, _ = timeouts.check_timeouts(
                args.get("pause_timeout_seconds", DEFAULT_PAUSE_TIMEOUT_SECONDS), timeout_field="pause_timeout_seconds"
            )
        except ValueError as error:
            raise ValueError(f"PausableWorkflow {name!r}: {error}") from error

        if args.get("async_service") is None:
            raise ArgsError(f"PausableWorkflow {name!r}: async_service is required (a handler or a function_arn)")
        for key in ("async_service", "preprocess", "postprocess"):
            if args.get(key) is not None:
                check_step(args[key], args.get("handlers_dir"), f"PausableWorkflow {name!r}: {key}")

        # Storage and messaging: the pause table (token per job id, expiring with the pause) and the resume topic.
        table = secure_table(f"{name}-pauses", child, hash_key=common.ROW_KEY, ttl_attribute=common.ROW_EXPIRES_AT)
        topic = secure_topic(f"{name}-resume", child)

        def function(suffix: str, settings: dict[str, Any]) -> HandlerFunction:
            return pattern_function(f"{name}-{suffix}", {"log_retention_days": retention, **settings}, opts=child)

        def step(key: str, **extra: Any) -> tuple[Optional[HandlerFunction], pulumi.Input[str]]:
            return step_function(
                f"{name}-{key.replace('_', '-')}", args[key], args.get("handlers_dir"), retention, child,  # type: ignore[literal-required]
                f"PausableWorkflow {name!r}: {key}", default_timeout=60, extra=extra,  # type: ignore[arg-type]
            )

        # The async service (a handler gets the resume topic and the rights to publish on it), and the
        # optional steps (absent: no state at all).
        async_service, async_service_arn = step(
            "async_service",
            environment={pausable.ENV_RESUME_TOPIC_ARN: topic.arn},
            statements=iam.grant_publish(topic.arn),
            async_invocation=True,
        )
        built = {"async_service": async_service}
        steps: dict[str, pulumi.Input[str]] = {}
        for key in ("preprocess", "postprocess"):
            if args.get(key) is not None:
                built[key], steps[key] = step(key)
        pause = function(
            "pause",
            {
                "handler": "pausable_pause",
                "environment": {
                    pausable.ENV_TABLE_NAME: table.name,
                    pausable.ENV_PAUSE_TIMEOUT_SECONDS: str(timeout),
                    pausable.ENV_ASYNC_SERVICE_ARN: async_service_arn,
                },
                # register() is a conditional PutItem; nothing else touches the table.
                "statements": [iam.statement(["dynamodb:PutItem"], [table.arn])] + iam.grant_invoke(async_service_arn),
            },
        )

        # The state machine: its role is derived from the three Task states.
        self.state_machine: StateMachine = StateMachine(
            f"{name}-workflow",
            {
                "definition": pausable_definition(timeout, "preprocess" in steps, "postprocess" in steps),
                "substitutions": {"Pause": pause.arn, **{key.capitalize(): arn for key, arn in steps.items()}},
                "log_retention_days": retention,
                **logging_settings(args),
            },
            opts=child,
        )
        state_machine_arn = self.state_machine.arn

        # Resume: the topic's Lambda subscriber, with a redrive policy to an encrypted dead-letter queue.
        resume = function(
            "resume",
            {
                "handler": "pausable_resume",
                "environment": {pausable.ENV_TABLE_NAME: table.name, RESERVED_ERRORS_ENV: self.state_machine.reserved_error_names},
                "statements": [
                    # CallbackTaskFinalizer: claim/restore/mark (UpdateItem), read on refusal (GetItem).
                    iam.statement(["dynamodb:GetItem", "dynamodb:UpdateItem"], [table.arn]),
                    iam.statement(["states:SendTaskSuccess", "states:SendTaskFailure"], [state_machine_arn]),
                    # ... and asks the execution whether it still runs before sending its token.
                    iam.statement(["states:DescribeExecution"], [iam.executions_of(state_machine_arn)]),
                ],
                "async_invocation": True,
            },
        )
        self.resume_dead_letter_queue: aws.sqs.Queue
        _, self.resume_dead_letter_queue = subscribe_lambda(f"{name}-resume", topic.arn, resume.arn, resume.name, child)

        # The HTTP API: start, read, resume by hand.
        api = api_function(
            f"{name}-api",
            {
                "log_retention_days": retention,
                "handler": "pausable_api",
                "environment": {
                    pausable.ENV_STATE_MACHINE_ARN: state_machine_arn,
                    pausable.ENV_TABLE_NAME: table.name,
                    pausable.ENV_RESUME_TOPIC_ARN: topic.arn,
                    RESERVED_ERRORS_ENV: self.state_machine.reserved_error_names,
                },
                "statements": iam.grant_start_execution(state_machine_arn)
                + iam.grant_operations(state_machine_arn)
                # Reads the pause row; marks and unmarks its resumeRequestedAt, releases it (UpdateItem).
                + [iam.statement(["dynamodb:GetItem", "dynamodb:UpdateItem"], [table.arn])]
                + iam.grant_start_claims(table.arn)
                + iam.grant_publish(topic.arn),
            },
            opts=child,
        )
        authorization = args.get("authorization_type", "AWS_IAM")
        routes = {
            "POST /jobs": authorization,
            "GET /jobs/{jobId}": authorization,
            "POST /jobs/{jobId}/resume": authorization,
            **operations_routes("jobs", "jobId", authorization),
        }
        self.http_api: HttpApi = function_api(f"{name}-api", api, routes, args, child)

        # The Lambdas the component built (a step given by function_arn is not among them).
        self.functions: dict[str, HandlerFunction] = {
            **{key: fn for key, fn in built.items() if fn is not None},
            "pause": pause,
            "resume": resume,
            "api": api,
        }
        self.url = self.http_api.url
        self.resume_topic_arn = topic.arn
        self.table_name = table.name
        self.state_machine_arn = state_machine_arn
        self.register_outputs(
            {
                "url": self.url,
                "resume_topic_arn": self.resume_topic_arn,
                "table_name": self.table_name,
                "state_machine_arn": self.state_machine_arn,
            }
        )
