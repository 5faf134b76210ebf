"""``MonitoredWorkflow``: a monitor beside the work ends or fails the workflow on bus events (seed 003).

The state machine is one Parallel state with two branches:

- the monitor: an ``aws-sdk:dynamodb:putItem.waitForTaskToken`` Task (no Lambda, as seed 003) that
  stores the task token in the token table under the execution's ``workflowkey`` (conditionally: a
  second live execution with the same key fails at once with ``DuplicateWorkflowKey``; the row
  expires with the monitor's timeout) and waits.
  No event within the monitor timeout ends it, through a Catch, with ``MonitorTimedOut``.
- the work (a Wait by default, or states from the user's YAML file, or one Lambda step: a handler
  module of the user's ``handlers_dir`` or an existing Lambda by ARN), then a direct
  ``events:putEvents`` Task that emits ``StopWorkflowMonitoring`` for the key on the bus.

Two rules on the bus send ``StopWorkflowMonitoring`` and ``WorkflowError`` events to the
``monitor_events`` Lambda, which completes the monitor by key through ``CallbackTaskFinalizer``:
stop -> the monitor succeeds and the execution SUCCEEDS with the work's output (the Parallel keeps
only the work branch's output); error -> the monitor fails with the event's error and cause, so
the execution FAILS with that error. The targets retry and dead-letter; the Lambda raises on AWS
errors so events are retried, and drops (logs) events it cannot act on.

An HTTP API starts executions by key, reads them, and puts events on the bus for callers without
EventBridge rights. Its building blocks alarm (``alarms`` arg) to the stack's alarm topic.
"""

import copy
import json
from typing import Any, Mapping, Optional

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks import alarms, iam
from sfn_patterns.blocks.args import check_args
from sfn_patterns.blocks.function import (
    HandlerFunction,
    HandlerSettings,
    StepArgs,
    check_step,
    handler_functions,
    handler_substitutions,
    pattern_function,
    step_function,
)
from sfn_patterns.blocks.http_api import ApiArgs, HttpApi, api_function, function_api, operations_routes
from sfn_patterns.blocks.messaging import dead_letter_queue, secure_table
from sfn_patterns.blocks.state_machine import (
    DYNAMODB_TRANSIENT_ERRORS,
    EVENTBRIDGE_TRANSIENT_ERRORS,
    RESERVED_ERRORS_ENV,
    WAIT_EXPIRED_ERRORS,
    LoggingArgs,
    StateMachine,
    lambda_retry,
    logging_settings,
)
from sfn_patterns.contracts import common, monitored, timeouts
from sfn_patterns.contracts.timeouts import MAX_TIMEOUT_SECONDS
from sfn_patterns.contracts.monitored import (
    DEFAULT_ERROR_DETAIL_TYPE,
    DEFAULT_EVENT_SOURCE,
    DEFAULT_MONITOR_TIMEOUT_SECONDS,
    DEFAULT_STOP_DETAIL_TYPE,
    DUPLICATE_KEY_ERROR,
    INVALID_KEY_ERROR,
    KEY,
    TIMED_OUT_ERROR,
)
from sfn_patterns.patterns.workflow import WorkflowDefinitionError, definition_path, load_definition

# The defaults of the monitor timeout and the events, the error names and the names the Lambdas
# read are the contract's (``sfn_patterns.contracts.monitored``); the timeout rule and the token
# row are ``sfn_patterns.contracts.common``'s.
#: Default length of the demo work (a Wait), in seconds.
DEFAULT_WORK_SECONDS = 10
#: Margin of the execution's own timeout over the monitor's: the monitor's Catch always ends it first.
EXECUTION_TIMEOUT_MARGIN_SECONDS = 300
#: State and error names of the definition.
PARALLEL_STATE = "MonitoredWork"
MONITOR_STATE = "Monitor"
TIMED_OUT_STATE = TIMED_OUT_ERROR
WORK_STATE = "Work"
#: Placeholder of the ARN of the ``work_step`` Lambda.
WORK_PLACEHOLDER = "WorkFunction"
STOP_STATE = "StopWorkflowMonitoring"
#: The Fail state (and error) of a second live execution under the same key.
DUPLICATE_ERROR = DUPLICATE_KEY_ERROR
#: The error of a refused conditional write, as the AWS SDK integration names it.
CONDITION_FAILED_ERROR = "DynamoDb.ConditionalCheckFailedException"
#: EventBridge target delivery: retries and the oldest event still delivered (then: the DLQ).
TARGET_RETRY_ATTEMPTS = 4
TARGET_MAX_EVENT_AGE_SECONDS = 3600


class MonitoredWorkflowArgs(ApiArgs, LoggingArgs, total=False):
    """Arguments of :class:`MonitoredWorkflow`. Give at most one of ``work_seconds``, ``work_definition_file``, ``work_step``.

    ``authorization_type`` covers every route: ``POST /monitored``, ``GET /monitored/{workflowkey}``,
    ``POST /monitored/{workflowkey}/events`` and the operations routes (``GET /monitored``,
    ``DELETE /monitored/{workflowkey}``, ``POST /monitored/{workflowkey}/redrive``).
    """

    work_seconds: int
    """The work is a Wait of this many seconds (the demo). Default 10 when no other work is given.
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    work_definition_file: str
    """The work is the states of your YAML/JSON file (``StartAt`` + ``States``; absolute, or relative to
    ``workflows_dir`` or else to the program's working directory; its ``handler:<module>`` Tasks become
    Lambdas of ``handlers_dir``). Its ending states go on to the stop event.
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    work_step: StepArgs
    """The work is one Lambda Task: a handler module of ``handlers_dir`` (with its settings) or an existing
    Lambda by ``function_arn``. It gets the execution input ``{"workflowkey", "input"}``.
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    work_handlers: Mapping[str, HandlerSettings]
    """Settings (environment, statements, timeout) of the Lambdas of the work file's handlers, by module name. Default: none."""
    handlers_dir: str
    """Folder of your handler modules (absolute, or relative to the program's working directory). Required
    when the work names a handler. A plain value, not an Output: the archives are built from its files
    when the component is constructed."""
    workflows_dir: str
    """Folder of your workflow files, against which a relative ``work_definition_file`` is read. Default: the
    program's working directory. A plain value, not an Output."""
    monitor_timeout_seconds: int
    """Seconds the monitor waits for a stop or error event before the execution fails with
    ``MonitorTimedOut``; also the token row's TTL. Default 3600.
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    event_source: str
    """``source`` of the stop and error events. Default ``sfn-patterns.monitored``.
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    stop_detail_type: str
    """``detail-type`` of the event that ends monitoring gracefully. Default ``StopWorkflowMonitoring``.
    A plain value, not an Output: it is written into the state machine definition when the component is constructed."""
    error_detail_type: str
    """``detail-type`` of the event that fails the workflow. Default ``WorkflowError``.
    A plain value, not an Output: it is written into the error rule's event pattern when the component is constructed."""
    event_bus_arn: pulumi.Input[str]
    """ARN of an existing event bus to use. Default: the component creates its own bus."""


class MonitoredWorkflow(pulumi.ComponentResource):
    """A Standard workflow whose monitor branch lets events on a bus end it gracefully or fail it from outside."""

    # Only outputs are annotated here (the component schema is inferred from them); a Python program
    # also reaches the children: ``event_bus`` (None when ``event_bus_arn`` was given), ``table``,
    # ``events_function``, ``api_function``, ``work_functions`` (by handler module), ``state_machine``,
    # ``rules`` (``stop``, ``error``), ``dead_letter_queue`` and ``http_api``.
    url: pulumi.Output[str]
    """Base URL of the HTTP API (``POST {url}/monitored``, ``GET {url}/monitored/{workflowkey}``, ``POST {url}/monitored/{workflowkey}/events``)."""
    event_bus_name: pulumi.Output[str]
    """Name of the event bus the stop and error events go to."""
    event_bus_arn: pulumi.Output[str]
    """ARN of that event bus (the component's own, or the ``event_bus_arn`` given)."""
    table_name: pulumi.Output[str]
    """Name of the DynamoDB table holding each running execution's monitor token, by workflow key."""
    state_machine_arn: pulumi.Output[str]
    """ARN of the Standard state machine; executions are named by workflow key."""
    alarm_topic_arn: pulumi.Output[str]
    """ARN of the SNS topic every alarm of the component notifies (the stack's alarm topic unless ``alarms.topic_arn``)."""

    def __init__(self, name: str, args: MonitoredWorkflowArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        check_args(f"MonitoredWorkflow {name!r}", args, MonitoredWorkflowArgs)
        super().__init__("sfn-patterns:index:MonitoredWorkflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarm_settings = alarms.settings_for(self, args.get("alarms"), opts)
        timeout = check_timeout(args.get("monitor_timeout_seconds", DEFAULT_MONITOR_TIMEOUT_SECONDS))
        retention = args.get("log_retention_days", 14)
        source = args.get("event_source", DEFAULT_EVENT_SOURCE)
        stop_type = args.get("stop_detail_type", DEFAULT_STOP_DETAIL_TYPE)
        error_type = args.get("error_detail_type", DEFAULT_ERROR_DETAIL_TYPE)
        if stop_type == error_type:
            raise ValueError(f"stop_detail_type and error_detail_type must differ, both are {stop_type!r}")

        work, modules = work_branch(args)
        handlers_dir = args.get("handlers_dir")
        if args.get("work_step") is not None:
            check_step(args["work_step"], handlers_dir, f"MonitoredWorkflow {name!r}: work_step")

        # The bus (the component's own, or one passed in) and the token table (TTL = the monitor's deadline).
        if args.get("event_bus_arn") is not None:
            self.event_bus: Optional[aws.cloudwatch.EventBus] = None
            self.event_bus_arn = pulumi.Output.from_input(args["event_bus_arn"])
            self.event_bus_name = self.event_bus_arn.apply(lambda arn: arn.split("/")[-1])
        else:
            self.event_bus = aws.cloudwatch.EventBus(f"{name}-bus", opts=child)
            self.event_bus_arn, self.event_bus_name = self.event_bus.arn, self.event_bus.name
        self.table: aws.dynamodb.Table = secure_table(f"{name}-tokens", child, hash_key=common.ROW_KEY, ttl_attribute=common.ROW_EXPIRES_AT)

        # The work and the state machine.
        self.work_functions: dict[str, HandlerFunction] = handler_functions(
            name, modules, args.get("work_handlers", {}), retention, child, handlers_dir
        )
        substitutions: dict[str, pulumi.Input[str]] = {
            "TokenTableArn": self.table.arn,
            "EventBusArn": self.event_bus_arn,
        }
        substitutions.update(handler_substitutions(self.work_functions))
        if args.get("work_step") is not None:
            function, substitutions[WORK_PLACEHOLDER] = step_function(
                f"{name}-work", args["work_step"], handlers_dir, retention, child, f"MonitoredWorkflow {name!r}: work_step"
            )
            if function is not None:
                self.work_functions[WORK_STATE] = function
        self.state_machine: StateMachine = StateMachine(
            name,
            {
                "definition": monitored_definition(work, timeout, source, stop_type),
                "substitutions": substitutions,
                "log_retention_days": retention,
                **logging_settings(args),
            },
            opts=child,
        )
        sm_arn = self.state_machine.arn

        # The rules' target: completes the monitor of an event's key.
        self.events_function: HandlerFunction = pattern_function(
            f"{name}-events",
            {
                "handler": "monitor_events",
                "environment": {
                    monitored.ENV_TABLE_NAME: self.table.name,
                    monitored.ENV_STATE_MACHINE_ARN: sm_arn,
                    monitored.ENV_STOP_DETAIL_TYPE: stop_type,
                    monitored.ENV_ERROR_DETAIL_TYPE: error_type,
                    RESERVED_ERRORS_ENV: self.state_machine.reserved_error_names,
                },
                "statements": iam.grant_token_completion(self.table.arn)
                + iam.grant_task_response(sm_arn)
                + [iam.statement(["states:DescribeExecution"], [iam.executions_of(sm_arn)])],
                "async_invocation": True,
                "log_retention_days": retention,
            },
            opts=child,
        )
        self.rules: dict[str, aws.cloudwatch.EventRule] = {}
        for kind, detail_type in (("stop", stop_type), ("error", error_type)):
            self.rules[kind] = aws.cloudwatch.EventRule(
                f"{name}-{kind}",
                event_bus_name=self.event_bus_name,
                description=f"{detail_type} events of {name}: to the monitor of their workflowkey",
                event_pattern=json.dumps(event_pattern(source, detail_type)),
                opts=child,
            )
        self.dead_letter_queue: aws.sqs.Queue = dead_letter_queue(
            f"{name}-rules-dlq",
            child,
            senders=[("events.amazonaws.com", rule.arn) for rule in self.rules.values()],
        )
        for kind, rule in self.rules.items():
            permission = aws.lambda_.Permission(
                f"{name}-{kind}",
                action="lambda:InvokeFunction",
                function=self.events_function.name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{kind}",
                rule=rule.name,
                event_bus_name=self.event_bus_name,
                arn=self.events_function.arn,
                retry_policy={
                    "maximum_retry_attempts": TARGET_RETRY_ATTEMPTS,
                    "maximum_event_age_in_seconds": TARGET_MAX_EVENT_AGE_SECONDS,
                },
                dead_letter_config={"arn": self.dead_letter_queue.arn},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
            )

        # The HTTP API: start by key, read, put events for callers without EventBridge rights.
        self.api_function: HandlerFunction = api_function(
            f"{name}-api",
            {
                "handler": "monitor_api",
                "environment": {
                    monitored.ENV_STATE_MACHINE_ARN: sm_arn,
                    monitored.ENV_TABLE_NAME: self.table.name,
                    monitored.ENV_EVENT_BUS_ARN: self.event_bus_arn,
                    monitored.ENV_EVENT_SOURCE: source,
                    monitored.ENV_STOP_DETAIL_TYPE: stop_type,
                    monitored.ENV_ERROR_DETAIL_TYPE: error_type,
                    RESERVED_ERRORS_ENV: self.state_machine.reserved_error_names,
                },
                "statements": iam.grant_start_execution(sm_arn)
                + iam.grant_operations(sm_arn)
                # Reads the monitor's row; a cancel or redrive releases it (UpdateItem).
                + [iam.statement(["dynamodb:GetItem", "dynamodb:UpdateItem"], [self.table.arn])]
                + iam.grant_start_claims(self.table.arn)
                + iam.grant_put_events(self.event_bus_arn),
                "log_retention_days": retention,
            },
            opts=child,
        )
        caller_auth = args.get("authorization_type", "AWS_IAM")
        routes = {
            "POST /monitored": caller_auth,
            "GET /monitored/{workflowkey}": caller_auth,
            "POST /monitored/{workflowkey}/events": caller_auth,
            **operations_routes("monitored", "workflowkey", caller_auth),
        }
        self.http_api: HttpApi = function_api(f"{name}-api", self.api_function, routes, args, child)

        self.url = self.http_api.url
        self.table_name = self.table.name
        self.state_machine_arn = sm_arn
        # Every building block's alarms (state machine, Lambdas, DLQs, API) notify this topic.
        self.alarm_topic_arn = alarms.topic_arn(alarm_settings, sm_arn)
        self.register_outputs(
            {
                "url": self.url,
                "event_bus_name": self.event_bus_name,
                "event_bus_arn": self.event_bus_arn,
                "table_name": self.table_name,
                "state_machine_arn": self.state_machine_arn,
                "alarm_topic_arn": self.alarm_topic_arn,
            }
        )


# --- Pure helpers (no resources): the definition and the event patterns ------------------------


def check_timeout(timeout_seconds: Any) -> int:
    """The monitor timeout when Step Functions accepts it; otherwise ``ValueError`` (the contract's one timeout rule)."""
    return timeouts.check_timeouts(timeout_seconds, timeout_field="monitor_timeout_seconds")[0]


def event_pattern(source: str, detail_type: str) -> dict[str, Any]:
    """The EventBridge pattern of one kind of monitoring event: its source, detail-type and a workflowkey."""
    return {"source": [source], "detail-type": [detail_type], "detail": {KEY: [{"exists": True}]}}


def work_branch(args: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The work branch (``StartAt`` + ``States``, ending states not yet wired) and the handler modules it runs."""
    given = [k for k in ("work_seconds", "work_definition_file", "work_step") if args.get(k) is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one of work_seconds, work_definition_file, work_step; got {given}")
    if args.get("work_step") is not None:
        task = {"Type": "Task", "Resource": "${" + WORK_PLACEHOLDER + "}", "Retry": [lambda_retry()], "End": True}
        return {"StartAt": WORK_STATE, "States": {WORK_STATE: task}}, []
    if args.get("work_definition_file") is not None:
        path = definition_path(args["work_definition_file"], args.get("workflows_dir"))
        document, modules, refs = load_definition(path, args.get("handlers_dir"))
        if refs:
            raise WorkflowDefinitionError(f"{path.name}: {sorted(refs)}: workflow:/function: references are not supported in monitored work")
        return document, modules
    seconds, _ = timeouts.check_timeouts(args.get("work_seconds", DEFAULT_WORK_SECONDS), timeout_field="work_seconds", minimum=0)
    return {"StartAt": WORK_STATE, "States": {WORK_STATE: {"Type": "Wait", "Seconds": seconds, "End": True}}}, []


def token_row_item(timeout: int) -> dict[str, Any]:
    """The token row the monitor's JSONata ``putItem`` writes, as DynamoDB typed JSONata expressions.

    Generated from the contract's :func:`sfn_patterns.contracts.common.token_row` (the same
    attribute names and types ``TokenStore.register`` writes): the key is the execution input's
    ``workflowkey``, checked against the execution-name rule (else ``$error``:
    ``States.QueryEvaluationError``); the epoch seconds come from ``$millis()``.
    """
    execution = "$states.context.Execution"
    key = f"{execution}.Input.{KEY}"
    now = "$floor($millis() / 1000)"
    row = common.token_row(
        key=(
            f"$type({key}) = 'string' and $contains({key}, /{common.EXECUTION_NAME_REGEX}/) ? {key}"
            f" : $error('{KEY} must be {common.EXECUTION_NAME_RULE}')"
        ),
        token="$states.context.Task.Token",
        execution_arn=f"{execution}.Id",
        created_at=f"$string({now})",
        expires_at=f"$string({now} + {timeout})",
    )
    # Every value is a JSONata expression but the status, a constant (WAITING) ASL takes as it is.
    return {
        name: {common.ROW_TYPES[name]: value if name == common.ROW_STATUS else "{% " + value + " %}"}
        for name, value in row.items()
    }


def monitor_branch(timeout: int, stop_detail_type: str = DEFAULT_STOP_DETAIL_TYPE) -> dict[str, Any]:
    """The monitor branch: one ``aws-sdk:dynamodb:putItem.waitForTaskToken`` Task, no Lambda (as seed 003).

    The Task writes the token row of the contract (:func:`token_row_item`, the row
    ``TokenStore.register`` writes) with the same condition
    (:data:`sfn_patterns.contracts.common.REGISTER_CONDITION`): the key is free, or its row is not a
    live wait of another execution. The row's epoch seconds need ``$millis()``, so this one state is
    JSONata (the rest of the definition stays JSONPath). A refused write is ``DuplicateWorkflowKey``;
    a missing or malformed ``workflowkey`` is ``InvalidWorkflowKey``; DynamoDB's transient failures
    are retried.
    """
    execution = "$states.context.Execution"
    now = "$floor($millis() / 1000)"
    return {
        "StartAt": MONITOR_STATE,
        "States": {
            MONITOR_STATE: {
                "Type": "Task",
                "Comment": "Store the task token under the workflowkey (conditionally) and wait for a stop or error event.",
                "QueryLanguage": "JSONata",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem.waitForTaskToken",
                "Arguments": {
                    "TableName": "${TokenTableArn}",
                    "Item": token_row_item(timeout),
                    "ConditionExpression": common.REGISTER_CONDITION,
                    "ExpressionAttributeNames": dict(common.REGISTER_CONDITION_NAMES),
                    "ExpressionAttributeValues": {
                        ":arn": {"S": "{% " + execution + ".Id %}"},
                        ":waiting": {"S": common.WAITING},
                        ":now": {"N": "{% $string(" + now + ") %}"},
                    },
                },
                "TimeoutSeconds": timeout,
                # DynamoDB's transient failures only (by name: see DYNAMODB_TRANSIENT_ERRORS).
                "Retry": [{"ErrorEquals": DYNAMODB_TRANSIENT_ERRORS, "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2}],
                "Catch": [
                    {"ErrorEquals": list(WAIT_EXPIRED_ERRORS), "Next": TIMED_OUT_STATE},
                    {"ErrorEquals": [CONDITION_FAILED_ERROR], "Next": DUPLICATE_ERROR},
                    {"ErrorEquals": ["States.QueryEvaluationError"], "Next": INVALID_KEY_ERROR},
                ],
                "End": True,
            },
            TIMED_OUT_STATE: {
                "Type": "Fail",
                "Error": TIMED_OUT_ERROR,
                "Cause": f"no {stop_detail_type} or error event arrived within {timeout} seconds",
            },
            DUPLICATE_ERROR: {
                "Type": "Fail",
                "Error": DUPLICATE_ERROR,
                "Cause": "another execution is already monitored under this workflowkey",
            },
            INVALID_KEY_ERROR: {
                "Type": "Fail",
                "Error": INVALID_KEY_ERROR,
                "Cause": f"the execution input's {KEY} must be {common.EXECUTION_NAME_RULE}",
            },
        },
    }


def monitored_definition(
    work: Mapping[str, Any],
    monitor_timeout_seconds: int = DEFAULT_MONITOR_TIMEOUT_SECONDS,
    event_source: str = DEFAULT_EVENT_SOURCE,
    stop_detail_type: str = DEFAULT_STOP_DETAIL_TYPE,
) -> dict[str, Any]:
    """The ASL of a monitored workflow, with ``${TokenTableArn}`` and ``${EventBusArn}`` placeholders.

    One Parallel: [monitor, work -> StopWorkflowMonitoring]; its output is the work branch's output.
    The work's ending states (``End: true``, ``Succeed``) are rewired to the stop event.
    """
    timeout = check_timeout(monitor_timeout_seconds)
    work_states = copy.deepcopy(dict(work["States"]))
    if STOP_STATE in work_states:
        raise ValueError(f"the work may not have a state named {STOP_STATE!r}")
    for state_name, state in work_states.items():
        if state.get("Type") == "Succeed":
            # A Succeed would end the branch without the stop event: it becomes a Pass to it.
            state["Type"] = "Pass"
            state["Next"] = STOP_STATE
        elif state.get("End"):
            del state["End"]
            state["Next"] = STOP_STATE
    work_states[STOP_STATE] = {
        "Type": "Task",
        "Comment": "The work is done: end the monitor gracefully.",
        "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {
            "Entries": [
                {
                    "EventBusName": "${EventBusArn}",
                    "Source": event_source,
                    "DetailType": stop_detail_type,
                    "Detail": {
                        f"{KEY}.$": f"$$.Execution.Input.{KEY}",
                        f"{monitored.DETAIL_EXECUTION_ARN}.$": "$$.Execution.Id",
                    },
                }
            ]
        },
        "ResultPath": None,
        "Retry": [{"ErrorEquals": EVENTBRIDGE_TRANSIENT_ERRORS, "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2}],
        "End": True,
    }
    monitor = monitor_branch(timeout, stop_detail_type)
    return {
        "Comment": "Monitored workflow (seed 003): a monitor beside the work, ended or failed by bus events",
        "StartAt": PARALLEL_STATE,
        "TimeoutSeconds": timeout + EXECUTION_TIMEOUT_MARGIN_SECONDS,
        "States": {
            PARALLEL_STATE: {
                "Type": "Parallel",
                "Branches": [monitor, {"StartAt": work["StartAt"], "States": work_states}],
                # [monitor's output, work's output]: the execution's output is the work's.
                "OutputPath": "$[1]",
                "End": True,
            }
        },
    }
