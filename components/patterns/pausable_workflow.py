"""``PausableWorkflow``: preprocessing, a pause until an async service or a person resumes the job
through an SNS topic, then post processing (seed 004, without its faults).

The state machine has three states on the happy path (as seed 004) and one Fail state:

``Preprocess`` (a handler Lambda; its result goes to ``$.preprocessed``) -> ``Pause`` (a
``lambda:invoke.waitForTaskToken`` task on the pause Lambda, result to ``$.result``) ->
``Postprocess`` (a handler Lambda; its result is the execution's output). ``Pause`` has
``TimeoutSeconds``; a timeout is caught into ``PauseTimedOut`` (a Fail state with that error).
Either step can be left out (``preprocess=None`` / ``postprocess=None``): a job with neither is
one state transition instead of three.

The pause Lambda validates the manual flag (``InvalidManualFlag`` fails the execution), stores the
task token in the pause table under the job id (the execution name) and, unless the job is manual,
invokes the async service Lambda asynchronously with ``{"jobId", "input"}``. The async service (or
anyone allowed to publish) answers on the resume topic with ``{"jobId", "status", "output" |
"error", "cause"}``; the resume Lambda, subscribed to it, completes the pause exactly once through
``CallbackTaskFinalizer``. An HTTP API starts jobs, reads them (``PAUSED`` while waiting) and
publishes resumes for people.
"""

from typing import Any, Mapping, Optional

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks import alarms, iam
from sfn_patterns.blocks.function import DEMO_HANDLERS_DIR, HandlerFunction, HandlerFunctionArgs
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
from sfn_patterns.contracts import common, pausable
from sfn_patterns.contracts.pausable import DEFAULT_PAUSE_TIMEOUT_SECONDS, PAUSE_TIMED_OUT

# The default pause, its timeout error, its longest value (Step Functions' limit, checked by the
# contract's one timeout rule) and the names the Lambdas read are ``sfn_patterns.contracts.pausable``'s.


class PausableWorkflowArgs(ApiArgs, LoggingArgs, total=False):
    """Arguments of :class:`PausableWorkflow`.

    ``authorization_type`` covers every route: ``POST /jobs``, ``GET /jobs/{jobId}``,
    ``POST /jobs/{jobId}/resume`` and the operations routes (``GET /jobs``, ``DELETE /jobs/{jobId}``,
    ``POST /jobs/{jobId}/redrive``).
    """

    preprocess: Optional[str]
    """Handler module of the preprocessing step (gets the execution input). Default: the demo
    ``pausable_preprocess``. ``None``: no preprocessing state (nor its Lambda); the async service
    gets the job's ``input``. Each step is a billed state transition ($25 per million executions).
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    postprocess: Optional[str]
    """Handler module of the post-processing step (gets the state after the pause). Default: the demo
    ``pausable_postprocess``. ``None``: no post-processing state (nor its Lambda); the execution's
    output is the resume's ``output``.
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    async_service: str
    """Handler module of the async service that does the long job: invoked asynchronously with
    ``{"jobId", "input"}``, it must publish the resume message to ``RESUME_TOPIC_ARN`` (it may
    also hand the job id on to an outside service that publishes later). Default: the demo
    ``pausable_async_service`` (seed 004's).
    A plain value, not an Output: the Lambda's archive is built from that module when the component is constructed."""
    async_service_environment: Mapping[str, pulumi.Input[str]]
    """Extra environment of the async service Lambda (``RESUME_TOPIC_ARN`` is always set). Default: none."""
    async_service_timeout: pulumi.Input[int]
    """Seconds the async service Lambda may run. Default 60."""
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
        super().__init__("sfn-patterns:index:PausableWorkflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarms.settings_for(self, args.get("alarms"), opts)
        retention = args.get("log_retention_days", 14)
        try:
            timeout, _ = common.check_timeouts(
                args.get("pause_timeout_seconds", DEFAULT_PAUSE_TIMEOUT_SECONDS), timeout_field="pause_timeout_seconds"
            )
        except ValueError as error:
            raise ValueError(f"PausableWorkflow {name!r}: {error}") from error

        # Storage and messaging: the pause table (token per job id, expiring with the pause) and the resume topic.
        table = secure_table(f"{name}-pauses", child, hash_key=common.ROW_KEY, ttl_attribute=common.ROW_EXPIRES_AT)
        topic = secure_topic(f"{name}-resume", child)

        def function(suffix: str, settings: HandlerFunctionArgs) -> HandlerFunction:
            return HandlerFunction(f"{name}-{suffix}", {"log_retention_days": retention, **settings}, opts=child)

        # The steps and the async service.
        async_service = function(
            "async-service",
            {
                "handler": args.get("async_service", "pausable_async_service"),
                "handlers_dir": str(DEMO_HANDLERS_DIR),
                "environment": {**args.get("async_service_environment", {}), pausable.ENV_RESUME_TOPIC_ARN: topic.arn},
                "statements": iam.grant_publish(topic.arn),
                "timeout": args.get("async_service_timeout", 60),
                "async_invocation": True,
            },
        )
        # The optional steps: a handler module each, or None for no state at all.
        steps = {
            step: function(step, {"handler": module, "handlers_dir": str(DEMO_HANDLERS_DIR)})
            for step, module in (
                ("preprocess", args.get("preprocess", "pausable_preprocess")),
                ("postprocess", args.get("postprocess", "pausable_postprocess")),
            )
            if module is not None
        }
        pause = function(
            "pause",
            {
                "handler": "pausable_pause",
                "environment": {
                    pausable.ENV_TABLE_NAME: table.name,
                    pausable.ENV_PAUSE_TIMEOUT_SECONDS: str(timeout),
                    pausable.ENV_ASYNC_SERVICE_ARN: async_service.arn,
                },
                # register() is a conditional PutItem; nothing else touches the table.
                "statements": [iam.statement(["dynamodb:PutItem"], [table.arn])] + iam.grant_invoke(async_service.arn),
            },
        )

        # The state machine: its role is derived from the three Task states.
        self.state_machine: StateMachine = StateMachine(
            f"{name}-workflow",
            {
                "definition": pausable_definition(timeout, "preprocess" in steps, "postprocess" in steps),
                "substitutions": {"Pause": pause.arn, **{step.capitalize(): fn.arn for step, fn in steps.items()}},
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

        self.functions: dict[str, HandlerFunction] = {
            **steps,
            "pause": pause,
            "async_service": async_service,
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
