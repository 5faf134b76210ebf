"""``StateMachine``: a logged, traced Step Functions state machine whose role comes from its definition.

The definition is an ASL document (a dict) in which any string may hold ``${Name}`` placeholders,
filled from ``substitutions`` (Pulumi inputs such as function, table or topic ARNs), like the
CDK's ``definitionSubstitutions``. Once filled in, the definition is walked and the role is
given exactly what its Task states reference (:func:`statements_for_definition`).
"""

import copy
import json
import re
from typing import Any, Iterator, Mapping, Optional, Required, Sequence, TypedDict, cast

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks import alarms, iam, integrations, policy
from sfn_patterns.blocks.alarms import AlarmSettings
from sfn_patterns.contracts.common import AWS_UNAVAILABLE_ERROR, ENV_RESERVED_ERROR_NAMES
from sfn_patterns.blocks.args import check_args

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
#: Environment variable through which a handler that completes waits gets :func:`reserved_error_names`.
RESERVED_ERRORS_ENV = ENV_RESERVED_ERROR_NAMES
#: Error names that match every failure a wait can be sent: no outside failure could avoid them.
_CATCH_ALL_ERRORS = {"States.ALL", "States.TaskFailed"}


def lambda_retry(*extra_errors: str) -> dict[str, Any]:
    """The Retry rule of a Lambda Task: Lambda's service errors (plus ``extra_errors``), 3 tries, backoff 2."""
    return {
        "ErrorEquals": LAMBDA_SERVICE_ERRORS + list(extra_errors),
        "IntervalSeconds": 1,
        "MaxAttempts": 3,
        "BackoffRate": 2,
    }
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
    """Extra IAM statements for what the definition cannot show (a resource only known at run time).
    Added to the derived ones, never replacing them. Default: none."""
    type: pulumi.Input[str]
    """``STANDARD`` (default) or ``EXPRESS`` (no ``.sync``/``.waitForTaskToken``, no Distributed Map)."""
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
    reserved_error_names: pulumi.Output[str]
    """JSON list of the error names a failure reported from outside (a callback, resume or event) may not
    use: every name a Retry or Catch of a callback wait matches, and the Fail states' errors."""

    def __init__(
        self, name: str, args: StateMachineArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        check_args(f"StateMachine {name!r}", args, StateMachineArgs)
        log_level = args.get("log_level", "ALL")
        if log_level not in LOG_LEVELS:
            raise ValueError(f"state machine {name!r}: log_level must be one of {list(LOG_LEVELS)}, got {log_level!r}")
        template = args["definition"]
        substitutions = dict(args.get("substitutions", {}))
        explicit = list(args.get("statements", []))
        machine_type = args.get("type", "STANDARD")
        missing = sorted(placeholders(template) - set(substitutions))
        if missing:
            raise ValueError(f"state machine {name!r}: no value for placeholder(s) {missing}")
        # Checked before anything is declared, so a definition that cannot work stops the program
        # at preview: a Task no catalogue entry knows, a resource only known at run time that the
        # explicit statements do not cover, what an Express machine cannot do.
        if isinstance(machine_type, str):
            check_type(template, machine_type)
        else:  # an Output (another resource's): judged once its value is known, failing the update
            pulumi.Output.from_input(cast(Any, machine_type)).apply(lambda known: check_type(template, known))
        statements_for_definition(template, explicit, check_only=True)
        super().__init__("sfn-patterns:index:StateMachine", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarm_settings = alarms.settings_for(self, args.get("alarms"), opts)

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
        # The stack's own region and account (for resources the machine owns, such as the managed
        # rules of .sync tasks) come from the log group's ARN, made before the role.
        derived = pulumi.Output.all(rendered, self.log_group.arn).apply(
            lambda parts: integrations.fill_here(
                statements_for_definition(parts[0], explicit), *integrations.region_account(parts[1])
            )
        )
        extra = explicit + iam.grant_log_delivery() + iam.grant_xray_write()
        policy_doc = pulumi.Output.all(derived, iam.policy_json(extra)).apply(
            lambda parts: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [s for s in parts[0] if not integrations.is_self_statement(s)]
                    + json.loads(parts[1])["Statement"],
                }
            )
        )
        role_policy = aws.iam.RolePolicy(f"{name}-policy", role=self.role.id, policy=policy_doc, opts=child)

        self.state_machine: aws.sfn.StateMachine = aws.sfn.StateMachine(
            name,
            type=machine_type,
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
        if needs_own_arn(template):
            # A Distributed Map starts executions of this machine, and the HTTP Task's permission is
            # on this machine: statements that need its ARN, so they follow it in a second policy.
            own_doc = pulumi.Output.all(derived, self.state_machine.arn).apply(
                lambda parts: json.dumps({"Version": "2012-10-17", "Statement": own_statements(parts[0], parts[1])})
            )
            aws.iam.RolePolicy(f"{name}-own-policy", role=self.role.id, policy=own_doc, opts=child)
        self.arn = self.state_machine.arn
        self.name = self.state_machine.name
        self.alarms: list[aws.cloudwatch.MetricAlarm] = alarms.state_machine_alarms(name, self.arn, alarm_settings, child)
        #: ``STANDARD`` or ``EXPRESS`` when known at construction (a plain string), else ``None``.
        self.machine_type: Optional[str] = machine_type if isinstance(machine_type, str) else None
        if self.machine_type:
            _KNOWN_TYPES[id(self.arn)] = (self.arn, self.machine_type)
        self.reserved_error_names = rendered.apply(lambda doc: json.dumps(reserved_error_names(doc)))
        self.register_outputs({"arn": self.arn, "name": self.name, "reserved_error_names": self.reserved_error_names})


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
    for state_path, state, _ in integrations.iter_states(definition, path):
        yield state_path, state


def _error_names(state: Mapping[str, Any]) -> list[str]:
    return [name for rule in (state.get("Retry") or []) + (state.get("Catch") or []) for name in rule.get("ErrorEquals", [])]


def reserved_error_names(definition: Mapping[str, Any]) -> list[str]:
    """The error names a failure reported from outside (a callback, resume or event) must not use.

    Every name a ``Retry`` or ``Catch`` of a callback wait (a ``.waitForTaskToken`` Task) matches,
    and of the Parallel/Map states around it (the error reaches them too), and every Fail state's
    ``Error`` (the workflow's own verdicts, such as ``CallbackTimedOut``). ``States.*`` is reserved
    by the handlers besides. Raises ``ValueError`` when a wait matches every error
    (``States.ALL``/``States.TaskFailed``): no outside failure could then avoid steering it.
    """
    found: set[str] = set()

    def walk(document: Mapping[str, Any], around: list[str], path: str) -> None:
        for state_name, state in (document.get("States") or {}).items():
            names = around + _error_names(state)
            if state.get("Type") == "Fail" and isinstance(state.get("Error"), str):
                found.add(state["Error"])
            if state.get("Type") == "Task" and str(state.get("Resource", "")).endswith(".waitForTaskToken"):
                catch_all = sorted(_CATCH_ALL_ERRORS & set(names))
                if catch_all:
                    raise ValueError(
                        f"state {path}{state_name}: a callback wait may not retry or catch {catch_all}: every failure "
                        "reported from outside would match it; name the errors instead"
                    )
                found.update(names)
            for index, branch in enumerate(state.get("Branches") or []):
                walk(branch, names, f"{path}{state_name}/branch{index}/")
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                walk(processor, names, f"{path}{state_name}/")

    walk(definition, [], "")
    return sorted(found)


def needs_own_arn(definition: Mapping[str, Any]) -> bool:
    """Whether some state's IAM names the state machine itself (Distributed Map, HTTP Task)."""
    return any(
        integrations.is_distributed_map(state)
        or (state.get("Type") == "Task" and str(state.get("Resource", "")).startswith("arn:aws:states:::http:invoke"))
        for _, state in iter_states(definition)
    )


def own_statements(statements: Sequence[iam.Statement], state_machine_arn: str) -> list[iam.Statement]:
    """The derived statements that name the state machine itself, with its ARN filled in."""
    executions = state_machine_arn.replace(":stateMachine:", ":execution:", 1) + "/*"
    own = [stmt for stmt in statements if integrations.is_self_statement(stmt)]
    return integrations.fill_tokens(own, {integrations.SELF_ARN: state_machine_arn, integrations.SELF_EXECUTIONS: executions})


#: id(arn output) -> (the output, kept so the id stays its own; the machine's type).
_KNOWN_TYPES: dict[int, tuple[Any, str]] = {}


def known_type(state_machine_arn: Any) -> Optional[str]:
    """The type of the state machine whose ``arn`` output this is, when this program built it."""
    known = _KNOWN_TYPES.get(id(state_machine_arn))
    return known[1] if known and known[0] is state_machine_arn else None


def check_type(definition: Mapping[str, Any], machine_type: str) -> None:
    """Refuse what AWS refuses of an Express state machine (``.sync``, ``.waitForTaskToken``, activities, Distributed Map)."""
    if machine_type not in ("STANDARD", "EXPRESS"):
        raise ValueError(f"state machine type must be STANDARD or EXPRESS, got {machine_type!r}")
    if machine_type != "EXPRESS":
        return
    for path, state in iter_states(definition):
        resource = str(state.get("Resource", "")) if state.get("Type") == "Task" else ""
        if resource.endswith((".sync", ".sync:2", ".waitForTaskToken")) or ":activity:" in resource:
            raise ValueError(
                f"state {path!r}: an EXPRESS state machine cannot wait for a job or a callback ({resource});"
                " run this part in a STANDARD machine"
            )
        if integrations.is_distributed_map(state):
            raise ValueError(f"state {path!r}: a Distributed Map runs only in a STANDARD state machine")


statements_for_definition = integrations.statements_for_definition
