"""``StateMachine``: a logged, traced Step Functions state machine whose role comes from its definition.

The definition is an ASL document (a dict) in which any string may hold ``${Name}`` placeholders,
filled from ``substitutions`` (Pulumi inputs such as function, table or topic ARNs), like the
CDK's ``definitionSubstitutions``. Once filled in, the definition is walked and the role is
given exactly what its Task states reference (:func:`statements_for_definition`).
"""

import copy
import json
import re
from typing import Any, Iterator, Mapping, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks import alarms, iam, policy
from sfn_patterns.blocks.alarms import AlarmSettings
from sfn_patterns.contracts.common import AWS_UNAVAILABLE_ERROR, execution_arn

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

#: Lambda's own transient errors: the only Lambda errors a Task retries (a handler's own error fails the run).
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
#: DynamoDB's transient errors as an AWS SDK integration names them: ``DynamoDb.<error>`` with the
#: ``Exception`` suffix always added (Step Functions adds it even where the service's error code has
#: none, so ``DynamoDb.RequestLimitExceeded`` or ``DynamoDb.InternalServerError`` never match).
#: Listed by name on purpose: the catch-all ``DynamoDb.DynamoDbException`` also matches permanent
#: errors (validation, access denied), and a callback Task must never retry ``States.TaskFailed``,
#: which also matches the error a SendTaskFailure delivers, so the wait would start over.
DYNAMODB_TRANSIENT_ERRORS = [
    "DynamoDb.ProvisionedThroughputExceededException",
    "DynamoDb.RequestLimitExceededException",
    "DynamoDb.ThrottlingException",
    "DynamoDb.InternalServerErrorException",
    "DynamoDb.SdkClientException",
]
#: The transient errors of the optimized ``events:putEvents`` integration: a non-zero
#: ``FailedEntryCount`` is ``EventBridge.FailedEntry`` (documented without the suffix), the API's own
#: 500 is ``InternalException``, its throttling ``ThrottlingException``. Not ``States.TaskFailed``,
#: which matches every failure, access denied included.
EVENTBRIDGE_TRANSIENT_ERRORS = ["EventBridge.FailedEntry", "EventBridge.InternalException", "EventBridge.ThrottlingException"]
#: Error names of SDK integrations that match any error of the service, permanent ones included:
#: never retried (tests/unit/test_program.py checks every Retry of the demo stack).
SDK_CATCH_ALL_ERRORS = ["DynamoDb.DynamoDbException", "StepFunctions.AWSStepFunctionsException"]
# AWS_UNAVAILABLE_ERROR (imported above, from the contract): the error a handler raises when an AWS
# call it makes fails (``handlers/common/errors.py``), worth a retry.
#: The errors with which Step Functions ends a callback wait (moto reports both as States.Timeout).
WAIT_EXPIRED_ERRORS = ["States.Timeout", "States.HeartbeatTimeout"]


def lambda_retry(*extra_errors: str) -> dict[str, Any]:
    """The Retry rule of a Lambda Task: Lambda's service errors (plus ``extra_errors``), 3 tries, backoff 2."""
    return {
        "ErrorEquals": LAMBDA_SERVICE_ERRORS + list(extra_errors),
        "IntervalSeconds": 1,
        "MaxAttempts": 3,
        "BackoffRate": 2,
    }
_SYNC_RULE = "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
#: The log levels Step Functions accepts (``ALL``: every event of every execution).
LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")


class LoggingArgs(TypedDict, total=False):
    """How a state machine logs its executions (every pattern with a state machine takes these args)."""

    log_level: str
    """Which execution history events go to the state machine's log group: ``ALL`` (default),
    ``ERROR``, ``FATAL`` or ``OFF``. A plain value, not an Output: it is checked when the component is constructed."""
    log_execution_data: bool
    """Also log each event's input, output and task parameters. Default False: those include every
    waiting task's token (``$$.Task.Token``), and anyone who can read the logs could complete the
    task with it, bypassing the component's per-task secret. Turn on only where no token flows.
    A plain value, not an Output: it is read when the component is constructed."""


def logging_settings(args: Mapping[str, Any]) -> LoggingArgs:
    """The :class:`LoggingArgs` of a pattern's args, to pass on to its :class:`StateMachine`."""
    settings: LoggingArgs = {}
    if "log_level" in args:
        settings["log_level"] = args["log_level"]
    if "log_execution_data" in args:
        settings["log_execution_data"] = args["log_execution_data"]
    return settings


class StateMachineArgs(LoggingArgs, total=False):
    """Arguments of :class:`StateMachine`."""

    definition: Required[Mapping[str, Any]]
    """The ASL document, with ``${Name}`` placeholders (a plain value: the role is derived from it when the component is constructed)."""
    substitutions: Mapping[str, pulumi.Input[str]]
    """Values of the placeholders (ARNs, names, URLs). Default: none."""
    statements: Sequence[iam.Statement]
    """Extra IAM statements for what the definition cannot show (rare). Default: none."""
    type: pulumi.Input[str]
    """``STANDARD`` (default) or ``EXPRESS``."""
    log_retention_days: pulumi.Input[int]
    """Days the execution log group keeps logs. Default 14."""
    alarms: AlarmSettings
    """Its alarms (executions failed, timed out, aborted, throttled). Default: the parent component's settings."""


class StateMachine(pulumi.ComponentResource):
    """A Step Functions state machine: logging (level ALL, no execution data, by default), X-Ray
    tracing, a derived role, and alarms on failed, timed-out, aborted and throttled executions.

    A Python program also reaches the child resources: ``state_machine``, ``role``, ``log_group`` and ``alarms``.
    """

    # Only outputs are annotated here: the component schema is inferred from these annotations.
    arn: pulumi.Output[str]
    """ARN of the state machine."""
    name: pulumi.Output[str]
    """Name of the state machine."""
    definition: pulumi.Output[str]
    """The rendered ASL (JSON) the state machine runs, placeholders filled in."""

    def __init__(
        self, name: str, args: StateMachineArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__("sfn-patterns:index:StateMachine", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarm_settings = alarms.settings_for(self, args.get("alarms"), opts)
        log_level = args.get("log_level", "ALL")
        if log_level not in LOG_LEVELS:
            raise ValueError(f"state machine {name!r}: log_level must be one of {list(LOG_LEVELS)}, got {log_level!r}")
        template = args["definition"]
        substitutions = dict(args.get("substitutions", {}))
        missing = sorted(placeholders(template) - set(substitutions))
        if missing:
            raise ValueError(f"state machine {name!r}: no value for placeholder(s) {missing}")

        rendered = pulumi.Output.all(**substitutions).apply(lambda values: render(template, values))
        self.definition = rendered.apply(lambda doc: json.dumps(doc, separators=(",", ":")))

        self.log_group: aws.cloudwatch.LogGroup = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name_prefix=f"/aws/vendedlogs/states/{name}-",
            retention_in_days=args.get("log_retention_days", 14),
            opts=child,
        )
        policy.suppress_all(self.log_group, policy.LOG_GROUP_EXCEPTIONS)
        self.role: aws.iam.Role = aws.iam.Role(
            f"{name}-role", opts=child,
            # The state machine's ARN depends on this role, so the SourceArn condition names the
            # account's state machines (AWS's documented form), beside aws:SourceAccount.
            assume_role_policy=iam.assume_role_policy(
                "states.amazonaws.com", self.log_group.arn, "arn:aws:states:{region}:{account}:stateMachine:*"
            ),
        )
        derived = rendered.apply(statements_for_definition)
        extra = list(args.get("statements", [])) + iam.grant_log_delivery() + iam.grant_xray_write()
        policy_doc = pulumi.Output.all(derived, iam.policy_json(extra)).apply(
            lambda parts: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": parts[0] + json.loads(parts[1])["Statement"],
                }
            )
        )
        role_policy = aws.iam.RolePolicy(f"{name}-policy", role=self.role.id, policy=policy_doc, opts=child)

        self.state_machine: aws.sfn.StateMachine = aws.sfn.StateMachine(
            name,
            type=args.get("type", "STANDARD"),
            role_arn=self.role.arn,
            definition=self.definition,
            logging_configuration={
                "level": log_level,
                "include_execution_data": bool(args.get("log_execution_data", False)),
                "log_destination": self.log_group.arn.apply(lambda a: a if a.endswith(":*") else f"{a}:*"),
            },
            tracing_configuration={"enabled": True},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        if not args.get("log_execution_data", False):
            policy.suppress(
                self.state_machine, "CKV_AWS_285",
                "execution data is left out of the logs by default (log_execution_data): it holds every task's "
                "parameters, task tokens included, which anyone who can read the logs could use to bypass the per-task "
                "secret; every event is still logged (level ALL)",
            )
        self.arn = self.state_machine.arn
        self.name = self.state_machine.name
        self.alarms: list[aws.cloudwatch.MetricAlarm] = alarms.state_machine_alarms(name, self.arn, alarm_settings, child)
        self.register_outputs({"arn": self.arn, "name": self.name})


# --- Pure helpers (no Pulumi): rendering and deriving the role --------------------------------


def placeholders(template: Any) -> set[str]:
    """Every ``${Name}`` placeholder used anywhere in ``template``."""
    found: set[str] = set()
    if isinstance(template, str):
        found.update(_PLACEHOLDER.findall(template))
    elif isinstance(template, Mapping):
        for key, value in template.items():
            found |= placeholders(key) | placeholders(value)
    elif isinstance(template, list):
        for value in template:
            found |= placeholders(value)
    return found


def render(template: Any, values: Mapping[str, str]) -> Any:
    """A deep copy of ``template`` with each ``${Name}`` replaced by ``values[Name]``."""
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)
    if isinstance(template, Mapping):
        return {render(k, values): render(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, values) for v in template]
    return copy.deepcopy(template)


def iter_states(definition: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield (path, state) for every state, descending into Parallel branches and Map processors."""
    for state_name, state in definition.get("States", {}).items():
        state_path = f"{path}{state_name}"
        yield state_path, state
        for index, branch in enumerate(state.get("Branches", []) or []):
            yield from iter_states(branch, f"{state_path}/branch{index}/")
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from iter_states(processor, f"{state_path}/")


def _region_account(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return parts[3], parts[4]


def _sqs_arn(queue_url: str) -> str:
    # https://sqs.<region>.amazonaws.com/<account>/<name>
    host, account, queue = queue_url.split("://", 1)[-1].split("/")[:3]
    region = host.split(".")[1]
    return f"arn:aws:sqs:{region}:{account}:{queue}"


def _task_statements(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    resource: str = state.get("Resource", "")
    params: Mapping[str, Any] = state.get("Parameters") or state.get("Arguments") or {}

    def allow(actions: list[str], resources: list[str]) -> dict[str, Any]:
        return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}

    if resource.startswith("arn:aws:lambda:"):
        return [allow(["lambda:InvokeFunction"], [resource, f"{resource}:*"])]
    if not resource.startswith("arn:aws:states:::"):
        raise ValueError(f"unsupported Task resource {resource!r}")

    integration = resource[len("arn:aws:states:::"):]
    # An AWS SDK integration (aws-sdk:<service>:<action>) needs the same action as the optimized one.
    service, _, action = integration.removeprefix("aws-sdk:").partition(":")
    api = action.split(".")[0]
    pattern = action[len(api):]
    if service == "lambda" and api == "invoke":
        fn = params["FunctionName"]
        return [allow(["lambda:InvokeFunction"], [fn, f"{fn}:*"])]
    if service == "states" and api == "startExecution":
        sm = params["StateMachineArn"]
        stmts = [allow(["states:StartExecution"], [sm])]
        if pattern.startswith(".sync"):
            region, account = _region_account(sm)
            stmts.append(
                allow(
                    ["states:DescribeExecution", "states:StopExecution"],
                    [execution_arn(sm, "*")],
                )
            )
            stmts.append(
                allow(
                    ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    [f"arn:aws:events:{region}:{account}:{_SYNC_RULE}"],
                )
            )
        return stmts
    if service == "dynamodb":
        table = params["TableName"]
        if not table.startswith("arn:"):
            raise ValueError(f"dynamodb TableName must be the table ARN to derive IAM, got {table!r}")
        return [allow([f"dynamodb:{api[0].upper()}{api[1:]}"], [table])]
    if service == "sns" and api == "publish":
        return [allow(["sns:Publish"], [params["TopicArn"]])]
    if service == "sqs" and api == "sendMessage":
        return [allow(["sqs:SendMessage"], [_sqs_arn(params["QueueUrl"])])]
    if service == "events" and api == "putEvents":
        buses = sorted({entry.get("EventBusName", "default") for entry in params["Entries"]})
        if any(not bus.startswith("arn:") for bus in buses):
            raise ValueError(f"events EventBusName must be the bus ARN to derive IAM, got {buses}")
        return [allow(["events:PutEvents"], buses)]
    raise ValueError(f"unsupported Task resource {resource!r}")


def statements_for_definition(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The IAM statements a state machine role needs for the Task states of ``definition``.

    Each Task gets exactly its actions on exactly its resources; identical statements are merged.
    Raises ``ValueError`` naming the state for a Task whose resource it cannot derive.
    """
    statements: list[dict[str, Any]] = []
    for path, state in iter_states(definition):
        if state.get("Type") != "Task":
            continue
        try:
            for stmt in _task_statements(state):
                if stmt not in statements:
                    statements.append(stmt)
        except (KeyError, ValueError, IndexError) as error:
            raise ValueError(f"state {path!r}: cannot derive IAM permissions: {error}") from error
    return statements
