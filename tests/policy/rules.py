"""Policy rules over every resource a Pulumi program declares (run under mocks).

Each rule is a small named function with an id and a one-line rationale, modelled on cdk-nag's
AwsSolutions / Serverless packs and Checkov's AWS checks (``source`` names the checks it follows).
A rule returns the problems it finds in one resource (empty: the resource complies). Rules read only
the declared resources (type, logical name, inputs, state) and the resource graph between them
(ARNs, names, policies, state machine definitions): they never import the components, so they
check what the components declare, not what the components believe they declare.

A rule that applies to a resource only in some cases (an asynchronously invoked Lambda, a table
holding task tokens, a queue that has a consumer) says so with ``applies``; those cases are found
from the graph, never from names.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

from local.program import DeclaredResource, ProgramRun

ROOT = Path(__file__).resolve().parents[2]
HANDLERS_DIR = ROOT / "handlers"

SFN = "aws:sfn/stateMachine:StateMachine"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
TABLE = "aws:dynamodb/table:Table"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
API = "aws:apigatewayv2/api:Api"
ROUTE = "aws:apigatewayv2/route:Route"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
STAGE = "aws:apigatewayv2/stage:Stage"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
KEY = "aws:kms/key:Key"

#: Types holding an IAM policy document (identity or resource policy), and the input holding it.
POLICY_INPUTS = {
    ROLE_POLICY: "policy",
    MANAGED_POLICY: "policy",
    ROLE: "assumeRolePolicy",
    QUEUE_POLICY: "policy",
    TOPIC_POLICY: "policy",
    KEY: "policy",
    QUEUE: "policy",
    TOPIC: "policy",
}

#: Actions AWS offers NO resource-level permission for: the only ones an Allow may grant on ``*``.
#: Each with the AWS documentation's reason (Service Authorization Reference, "Resource types" column empty).
WILDCARD_RESOURCE_ALLOWED: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray: no resource types (Service Authorization Reference for AWS X-Ray); "
    "AWS's AWSXRayDaemonWriteAccess policy grants it on *",
    "xray:PutTelemetryRecords": "X-Ray: no resource types; granted on * by AWSXRayDaemonWriteAccess",
    "xray:GetSamplingRules": "X-Ray: no resource types; granted on * by AWSXRayDaemonWriteAccess",
    "xray:GetSamplingTargets": "X-Ray: no resource types; granted on * by AWSXRayDaemonWriteAccess",
    "logs:CreateLogDelivery": "CloudWatch Logs vended-log delivery: no resource types; the Step Functions guide "
    "'Logging using CloudWatch Logs' documents this policy with Resource *",
    "logs:GetLogDelivery": "vended-log delivery: no resource types (same Step Functions logging policy)",
    "logs:UpdateLogDelivery": "vended-log delivery: no resource types (same Step Functions logging policy)",
    "logs:DeleteLogDelivery": "vended-log delivery: no resource types (same Step Functions logging policy)",
    "logs:ListLogDeliveries": "vended-log delivery: no resource types (same Step Functions logging policy)",
    "logs:PutResourcePolicy": "account-level CloudWatch Logs resource policy: no resource types "
    "(same Step Functions logging policy)",
    "logs:DescribeResourcePolicies": "account-level listing: no resource types (same Step Functions logging policy)",
    "logs:DescribeLogGroups": "listing call (the Step Functions logging policy grants it on *); "
    "its log-group resource type only filters what a caller may see",
}

#: Service principals that invoke a Lambda asynchronously (Lambda's "Invoking functions asynchronously").
ASYNC_PRINCIPALS = {
    "sns.amazonaws.com",
    "events.amazonaws.com",
    "s3.amazonaws.com",
    "ses.amazonaws.com",
    "iot.amazonaws.com",
    "codecommit.amazonaws.com",
    "config.amazonaws.com",
    "cloudformation.amazonaws.com",
}
#: CloudWatch Logs' accepted retention values (days).
LOG_RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
#: Lambda's limits, and this suite's budget: more memory than this needs a suppression with a reason.
MAX_LAMBDA_TIMEOUT_SECONDS = 900
MAX_LAMBDA_MEMORY_MB = 1024
#: The newest Python runtime pulumi-aws 7.51 accepts (cdk-nag AwsSolutions-L1: latest runtime).
LATEST_PYTHON_RUNTIME = "python3.14"
#: SQS's longest retention: a dead-letter queue keeps its messages this long for a human to look at.
MAX_SQS_RETENTION_SECONDS = 14 * 24 * 3600
#: AWS's guidance for an SQS event source: visibility timeout at least 6 x the function's timeout.
SQS_VISIBILITY_FACTOR = 6
#: Lambda's default timeout (s) when a function does not set one.
LAMBDA_DEFAULT_TIMEOUT = 3


# --- Reading the declared resources ------------------------------------------------------------


def document(value: Any) -> Any:
    """A policy/definition input as a dict (JSON strings parsed)."""
    if isinstance(value, str):
        return json.loads(value)
    return value


def as_list(value: Any) -> list[Any]:
    """A policy element (string or list) as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def statements(policy: Any) -> list[dict[str, Any]]:
    """The statements of a policy document (string or dict)."""
    doc = document(policy) or {}
    return as_list(doc.get("Statement"))


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM resource matching: ``*`` and ``?`` wildcards."""
    return fnmatch.fnmatchcase(arn, pattern)


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching (case-insensitive, ``*`` wildcards)."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def short_type(type_token: str) -> str:
    """``aws:apigatewayv2/route:Route`` -> ``apigatewayv2.Route``."""
    module = type_token.split(":")[1].split("/")[0]
    return f"{module}.{type_token.split(':')[-1]}"


def iter_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (name, state) of an ASL document, inside Parallel branches and Map processors too."""
    for name, state in (definition.get("States") or {}).items():
        yield name, state
        for branch in state.get("Branches") or []:
            yield from iter_states(branch)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from iter_states(processor)


@dataclass
class Graph:
    """The declared resources and the relations between them that the rules need."""

    run: ProgramRun
    resources: list[DeclaredResource] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.resources = [r for r in self.run.resources if r.custom]
        self.by_arn = {r.state["arn"]: r for r in self.resources if isinstance(r.state.get("arn"), str)}

    # generic lookups

    def of_type(self, type_token: str) -> list[DeclaredResource]:
        """Declared resources of one type."""
        return [r for r in self.resources if r.type == type_token]

    def physical_name(self, resource: DeclaredResource) -> str:
        """The resource's physical name (as the mocks returned it)."""
        return str(resource.state.get("name") or resource.name)

    def function(self, name_or_arn: Any) -> Optional[DeclaredResource]:
        """The Lambda function with this name or ARN (qualified ARNs included)."""
        if not isinstance(name_or_arn, str):
            return None
        for fn in self.of_type(FUNCTION):
            arn = fn.state.get("arn", "")
            if name_or_arn in (arn, self.physical_name(fn)) or name_or_arn.startswith(arn + ":"):
                return fn
        return None

    def log_group_by_name(self, name: Any) -> Optional[DeclaredResource]:
        """The declared log group with this physical name."""
        return next((g for g in self.of_type(LOG_GROUP) if self.physical_name(g) == name), None)

    def log_group_by_arn(self, arn: Any) -> Optional[DeclaredResource]:
        """The declared log group of a log group ARN (with or without ``:*``)."""
        if not isinstance(arn, str):
            return None
        base = arn[:-2] if arn.endswith(":*") else arn
        return next((g for g in self.of_type(LOG_GROUP) if g.state.get("arn") == base), None)

    def role(self, arn: Any) -> Optional[DeclaredResource]:
        """The declared role with this ARN."""
        return next((r for r in self.of_type(ROLE) if r.state.get("arn") == arn), None)

    def role_statements(self, role: DeclaredResource) -> list[dict[str, Any]]:
        """Every statement of the role's inline policies and attached customer managed policies."""
        name = self.physical_name(role)
        found: list[dict[str, Any]] = []
        for policy in self.of_type(ROLE_POLICY):
            if policy.inputs.get("role") in (name, role.state.get("arn")):
                found += statements(policy.inputs.get("policy"))
        for attachment in self.of_type(POLICY_ATTACHMENT):
            if attachment.inputs.get("role") in (name, role.state.get("arn")):
                managed = self.by_arn.get(attachment.inputs.get("policyArn"))
                if managed is not None:
                    found += statements(managed.inputs.get("policy"))
        return found

    def role_allows(self, role: Optional[DeclaredResource], action: str, arn: str) -> bool:
        """Whether the role's policies allow ``action`` on ``arn`` (no Deny statements are used here)."""
        if role is None:
            return False
        for statement in self.role_statements(role):
            if statement.get("Effect") != "Allow":
                continue
            if any(action_matches(a, action) for a in as_list(statement.get("Action"))) and any(
                arn_matches(r, arn) for r in as_list(statement.get("Resource"))
            ):
                return True
        return False

    def trusted_service(self, role: DeclaredResource) -> set[str]:
        """Service principals the role's trust policy lets assume it."""
        services: set[str] = set()
        for statement in statements(role.inputs.get("assumeRolePolicy")):
            principal = statement.get("Principal") or {}
            if isinstance(principal, dict):
                services.update(as_list(principal.get("Service")))
        return services

    def queue_policies(self, queue: DeclaredResource) -> list[dict[str, Any]]:
        """Statements of the queue's own policy and of the QueuePolicy resources attached to it."""
        found = statements(queue.inputs.get("policy")) if queue.inputs.get("policy") else []
        for policy in self.of_type(QUEUE_POLICY):
            if policy.inputs.get("queueUrl") in (queue.state.get("url"), queue.state.get("id")):
                found += statements(policy.inputs.get("policy"))
        return found

    def topic_policies(self, topic: DeclaredResource) -> list[dict[str, Any]]:
        """Statements of the topic's own policy and of the TopicPolicy resources attached to it."""
        found = statements(topic.inputs.get("policy")) if topic.inputs.get("policy") else []
        for policy in self.of_type(TOPIC_POLICY):
            if policy.inputs.get("arn") == topic.state.get("arn"):
                found += statements(policy.inputs.get("policy"))
        return found

    def state_machine_definitions(self) -> list[tuple[DeclaredResource, dict[str, Any]]]:
        """Each state machine with its parsed definition."""
        return [(sm, document(sm.inputs.get("definition")) or {}) for sm in self.of_type(SFN)]

    def functions_behind_routes(self) -> dict[str, list[DeclaredResource]]:
        """Function ARN -> the API integrations that proxy to it."""
        found: dict[str, list[DeclaredResource]] = {}
        for integration in self.of_type(INTEGRATION):
            fn = self.function(integration.inputs.get("integrationUri"))
            if fn is not None:
                found.setdefault(fn.state["arn"], []).append(integration)
        return found

    # dead-letter destinations

    def dead_letter_references(self) -> list[tuple[DeclaredResource, str]]:
        """(resource, target ARN) for every dead-letter queue / failure destination any resource names."""
        found: list[tuple[DeclaredResource, str]] = []
        for config in self.of_type(INVOKE_CONFIG):
            target = ((config.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destination")
            if target:
                found.append((config, target))
        for fn in self.of_type(FUNCTION):
            target = (fn.inputs.get("deadLetterConfig") or {}).get("targetArn")
            if target:
                found.append((fn, target))
        for subscription in self.of_type(SUBSCRIPTION):
            target = (document(subscription.inputs.get("redrivePolicy")) or {}).get("deadLetterTargetArn")
            if target:
                found.append((subscription, target))
        for target_resource in self.of_type(EVENT_TARGET):
            target = (target_resource.inputs.get("deadLetterConfig") or {}).get("arn")
            if target:
                found.append((target_resource, target))
        for queue in self.of_type(QUEUE):
            target = (document(queue.inputs.get("redrivePolicy")) or {}).get("deadLetterTargetArn")
            if target:
                found.append((queue, target))
        for mapping in self.of_type(EVENT_SOURCE_MAPPING):
            target = ((mapping.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
            if target:
                found.append((mapping, target))
        return found

    def is_dead_letter_queue(self, queue: DeclaredResource) -> bool:
        """Whether any resource sends its dead letters / failed events to this queue."""
        return any(target == queue.state.get("arn") for _, target in self.dead_letter_references())

    # asynchronous invocation, found from the graph

    def async_invokers(self, fn: DeclaredResource) -> list[str]:
        """What invokes ``fn`` asynchronously (empty: only synchronous callers)."""
        arn, name = fn.state.get("arn"), self.physical_name(fn)
        found: list[str] = []
        for subscription in self.of_type(SUBSCRIPTION):
            if subscription.inputs.get("protocol") == "lambda" and self.function(subscription.inputs.get("endpoint")) is fn:
                found.append(f"SNS subscription {subscription.name}")
        for target in self.of_type(EVENT_TARGET):
            if self.function(target.inputs.get("arn")) is fn:
                found.append(f"EventBridge target {target.name}")
        for permission in self.of_type(PERMISSION):
            if self.function(permission.inputs.get("function")) is fn and permission.inputs.get("principal") in ASYNC_PRINCIPALS:
                found.append(f"permission {permission.name} for {permission.inputs.get('principal')}")
        for sm, definition in self.state_machine_definitions():
            for state_name, state in iter_states(definition):
                params = state.get("Parameters") or state.get("Arguments") or {}
                if (
                    str(state.get("Resource", "")).startswith("arn:aws:states:::lambda:invoke")
                    and self.function(params.get("FunctionName")) is fn
                    and params.get("InvocationType") == "Event"
                ):
                    found.append(f"state {state_name} of {sm.name} (InvocationType Event)")
        # A Lambda granted lambda:InvokeFunction on fn whose handler invokes with InvocationType Event.
        for caller in self.of_type(FUNCTION):
            if caller is fn:
                continue
            role = self.role(caller.inputs.get("roleArn") or caller.inputs.get("role"))
            if role is not None and self.role_allows(role, "lambda:InvokeFunction", arn) and handler_invokes_async(caller):
                found.append(f"Lambda {caller.name} (InvocationType Event)")
        del name
        return found

    # tables holding task tokens, found from the graph

    def token_tables(self) -> dict[str, list[str]]:
        """Table ARN -> why it holds task tokens.

        A table holds tokens when a ``.waitForTaskToken`` Task writes the token (``$$.Task.Token``, or
        ``$states.context.Task.Token`` in a JSONata state) into it directly (an optimized or AWS SDK
        DynamoDB integration), or hands the token to a Lambda whose role may write (PutItem/UpdateItem) the table.
        """
        found: dict[str, list[str]] = {}
        tables = self.of_type(TABLE)
        for sm, definition in self.state_machine_definitions():
            for state_name, state in iter_states(definition):
                resource = str(state.get("Resource", ""))
                params = state.get("Parameters") or state.get("Arguments") or {}
                carries_token = any(token in json.dumps(params) for token in ("$$.Task.Token", "$states.context.Task.Token"))
                if resource.startswith(("arn:aws:states:::dynamodb:", "arn:aws:states:::aws-sdk:dynamodb:")) and carries_token:
                    found.setdefault(params.get("TableName", ""), []).append(f"{sm.name}.{state_name} writes the token")
                if resource.startswith("arn:aws:states:::lambda:invoke.waitForTaskToken") and carries_token:
                    fn = self.function(params.get("FunctionName"))
                    role = self.role(fn.inputs.get("role")) if fn else None
                    for table in tables:
                        if any(self.role_allows(role, action, table.state["arn"]) for action in ("dynamodb:PutItem", "dynamodb:UpdateItem")):
                            found.setdefault(table.state["arn"], []).append(
                                f"{sm.name}.{state_name} hands the token to {fn.name if fn else '?'}, which writes it"
                            )
        return found


def handler_invokes_async(fn: DeclaredResource) -> bool:
    """Whether the function's handler module invokes Lambdas with ``InvocationType=Event`` (read from its source)."""
    module = str(fn.inputs.get("handler", "")).rpartition(".")[0]
    sources = [folder / f"{module.replace('.', '/')}.py" for folder in (HANDLERS_DIR, HANDLERS_DIR / "demo")]
    source = next((path for path in sources if path.is_file()), sources[0])
    if not module or not source.is_file():
        return True  # unknown code: assume the worst
    text = source.read_text()
    return bool(re.search(r"InvocationType\s*[=:]\s*['\"]Event['\"]", text))


# --- The rules ----------------------------------------------------------------------------------


Check = Callable[[DeclaredResource, Graph], list[str]]
Applies = Callable[[DeclaredResource, Graph], bool]


@dataclass(frozen=True)
class Rule:
    """One policy rule: id, resource types, rationale, the packs' checks it follows, and the check."""

    id: str
    types: tuple[str, ...]
    rationale: str
    source: str
    check: Check
    applies: Optional[Applies] = None

    def targets(self, graph: Graph) -> list[DeclaredResource]:
        """The resources this rule checks in ``graph``."""
        return [
            r for r in graph.resources if r.type in self.types and (self.applies is None or self.applies(r, graph))
        ]


RULES: list[Rule] = []


def rule(rule_id: str, types: Iterable[str], rationale: str, source: str, applies: Optional[Applies] = None) -> Callable[[Check], Check]:
    """Register a check function as a rule."""

    def register(check: Check) -> Check:
        if any(r.id == rule_id for r in RULES):
            raise ValueError(f"duplicate rule id {rule_id}")
        RULES.append(Rule(rule_id, tuple(types), rationale, source, check, applies))
        return check

    return register


# State machines


@rule("SFN-LOG-ALL", [SFN], "Execution history of every state goes to a log group of the stack, without execution "
      "data: it would write every waiting task's token to the logs.",
      "cdk-nag AwsSolutions-SF1, Serverless-StepFunctionStateMachineAllLogsToCloudWatch; Checkov CKV_AWS_285 "
      "(which asks for execution data: refused here, for the tokens)")
def sfn_log_all(sm: DeclaredResource, graph: Graph) -> list[str]:
    logging = sm.inputs.get("loggingConfiguration") or {}
    problems = []
    if logging.get("level") != "ALL":
        problems.append(f"logging level is {logging.get('level')!r}, not ALL")
    if logging.get("includeExecutionData") is True:
        problems.append("execution data is logged: every task token ($$.Task.Token) would be readable in the logs")
    if graph.log_group_by_arn(logging.get("logDestination")) is None:
        problems.append(f"log destination {logging.get('logDestination')!r} is no log group of the stack")
    return problems


@rule("SFN-WAIT-BOUNDED", [SFN], "A task waiting for a token has a timeout or heartbeat, so a lost callback ends the run.",
      "project contract (DESIGN.md: every callback wait has a heartbeat or timeout); AWS SFN best practice 'use timeouts'")
def sfn_wait_bounded(sm: DeclaredResource, graph: Graph) -> list[str]:
    problems = []
    for name, state in iter_states(document(sm.inputs.get("definition")) or {}):
        if state.get("Type") == "Task" and str(state.get("Resource", "")).endswith(".waitForTaskToken"):
            if not any(k in state for k in ("TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath")):
                problems.append(f"state {name} waits for a token without TimeoutSeconds or HeartbeatSeconds")
            caught = {e for c in state.get("Catch") or [] for e in c.get("ErrorEquals") or []}
            if not caught & {"States.Timeout", "States.HeartbeatTimeout", "States.ALL"}:
                problems.append(f"state {name} does not catch its timeout into a named error")
    return problems


# Lambda functions


@rule("LAMBDA-TIMEOUT", [FUNCTION], "An explicit, bounded timeout; behind an API, no longer than the integration waits.",
      "cdk-nag Serverless-LambdaDefaultTimeout")
def lambda_timeout(fn: DeclaredResource, graph: Graph) -> list[str]:
    timeout = fn.inputs.get("timeout")
    if timeout is None:
        return [f"no timeout set (Lambda's default is {LAMBDA_DEFAULT_TIMEOUT} s)"]
    problems = []
    if not 1 <= float(timeout) <= MAX_LAMBDA_TIMEOUT_SECONDS:
        problems.append(f"timeout {timeout} s is outside 1..{MAX_LAMBDA_TIMEOUT_SECONDS}")
    for integration in graph.functions_behind_routes().get(fn.state["arn"], []):
        limit = float(integration.inputs.get("timeoutMilliseconds") or 30000) / 1000
        if float(timeout) > limit:
            problems.append(f"timeout {timeout} s exceeds the {limit:g} s its API integration {integration.name} waits")
    return problems


@rule("LAMBDA-MEMORY", [FUNCTION], "An explicit memory size within the suite's budget (128..1024 MB).",
      "cdk-nag Serverless-LambdaDefaultMemorySize")
def lambda_memory(fn: DeclaredResource, graph: Graph) -> list[str]:
    memory = fn.inputs.get("memorySize")
    if memory is None:
        return ["no memory size set (Lambda's default is 128 MB)"]
    if not 128 <= float(memory) <= MAX_LAMBDA_MEMORY_MB:
        return [f"memory {memory} MB is outside 128..{MAX_LAMBDA_MEMORY_MB}"]
    return []


@rule("LAMBDA-LOGS", [FUNCTION], "Structured JSON logs into a log group of the stack (so its retention applies).",
      "cdk-nag Serverless-LambdaLogFormat; Checkov CKV_AWS_66 (via the log group)")
def lambda_logs(fn: DeclaredResource, graph: Graph) -> list[str]:
    logging = fn.inputs.get("loggingConfig") or {}
    problems = []
    if logging.get("logFormat") != "JSON":
        problems.append(f"log format is {logging.get('logFormat')!r}, not JSON")
    group_name = logging.get("logGroup")
    if graph.log_group_by_name(group_name) is None and graph.log_group_by_name(f"/aws/lambda/{graph.physical_name(fn)}") is None:
        problems.append(f"logs go to {group_name or '/aws/lambda/<name>'!r}, which the stack does not declare (no retention)")
    return problems


@rule("LAMBDA-RUNTIME", [FUNCTION], "The newest Python runtime (longest security support).",
      "cdk-nag AwsSolutions-L1")
def lambda_runtime(fn: DeclaredResource, graph: Graph) -> list[str]:
    runtime = fn.inputs.get("runtime")
    return [] if runtime == LATEST_PYTHON_RUNTIME else [f"runtime {runtime!r} is not {LATEST_PYTHON_RUNTIME}"]


@rule("LAMBDA-ASYNC-DLQ", [FUNCTION],
      "An asynchronously invoked function retries a bounded number of times, then keeps the event in a DLQ it may write.",
      "cdk-nag Serverless-LambdaDLQ, Serverless-LambdaAsyncFailureDestination; Checkov CKV_AWS_116",
      applies=lambda fn, graph: bool(graph.async_invokers(fn)))
def lambda_async_dlq(fn: DeclaredResource, graph: Graph) -> list[str]:
    name = graph.physical_name(fn)
    configs = [c for c in graph.of_type(INVOKE_CONFIG) if graph.function(c.inputs.get("functionName")) is fn]
    targets = [((c.inputs.get("destinationConfig") or {}).get("onFailure") or {}).get("destination") for c in configs]
    targets.append((fn.inputs.get("deadLetterConfig") or {}).get("targetArn"))
    targets = [t for t in targets if t]
    invokers = ", ".join(graph.async_invokers(fn))
    if not targets:
        return [f"invoked asynchronously ({invokers}) without an on-failure destination or dead-letter queue"]
    problems = []
    if not any(c.inputs.get("maximumRetryAttempts") is not None for c in configs):
        problems.append("no explicit maximumRetryAttempts for asynchronous invocations")
    role = graph.role(fn.inputs.get("role"))
    for target in targets:
        if target not in graph.by_arn:
            problems.append(f"dead-letter target {target} is not a resource of the stack")
        action = "sqs:SendMessage" if ":sqs:" in target else "sns:Publish" if ":sns:" in target else None
        if action and not graph.role_allows(role, action, target):
            problems.append(f"the function's role may not {action} to its dead-letter target {target}")
    del name
    return problems


# SQS


def _denies_insecure_transport(policy_statements: list[dict[str, Any]], service: str, arn: str) -> bool:
    for statement in policy_statements:
        principal = statement.get("Principal")
        if statement.get("Effect") != "Deny" or principal not in ("*", {"AWS": "*"}):
            continue
        condition = (statement.get("Condition") or {}).get("Bool") or {}
        if str(condition.get("aws:SecureTransport")).lower() != "false":
            continue
        if any(a in ("*", f"{service}:*") for a in as_list(statement.get("Action"))) and any(
            arn_matches(r, arn) for r in as_list(statement.get("Resource"))
        ):
            return True
    return False


@rule("SQS-TLS-ONLY", [QUEUE], "The queue policy denies every request not made over TLS.",
      "cdk-nag AwsSolutions-SQS4")
def sqs_tls_only(queue: DeclaredResource, graph: Graph) -> list[str]:
    if _denies_insecure_transport(graph.queue_policies(queue), "sqs", queue.state["arn"]):
        return []
    return ["no policy statement denies sqs:* when aws:SecureTransport is false"]


@rule("SQS-DLQ", [QUEUE], "A queue has a redrive policy to a dead-letter queue, or is one.",
      "cdk-nag AwsSolutions-SQS3, Serverless-SQSRedrivePolicy")
def sqs_dlq(queue: DeclaredResource, graph: Graph) -> list[str]:
    if (document(queue.inputs.get("redrivePolicy")) or {}).get("deadLetterTargetArn") or graph.is_dead_letter_queue(queue):
        return []
    return ["the queue has no redrive policy and is no resource's dead-letter queue"]


@rule("SQS-DLQ-RETENTION", [QUEUE], "A dead-letter queue keeps messages 14 days (SQS's longest) for a human to act.",
      "AWS SQS dead-letter queue guidance (retention of the DLQ longer than the source's)",
      applies=lambda queue, graph: graph.is_dead_letter_queue(queue))
def sqs_dlq_retention(queue: DeclaredResource, graph: Graph) -> list[str]:
    seconds = queue.inputs.get("messageRetentionSeconds")
    if seconds is None or int(seconds) < MAX_SQS_RETENTION_SECONDS:
        return [f"a dead-letter queue keeps messages {seconds or 345600} s, less than {MAX_SQS_RETENTION_SECONDS} s"]
    return []


def _consumers(queue: DeclaredResource, graph: Graph) -> list[DeclaredResource]:
    return [
        fn
        for mapping in graph.of_type(EVENT_SOURCE_MAPPING)
        if mapping.inputs.get("eventSourceArn") == queue.state.get("arn")
        for fn in [graph.function(mapping.inputs.get("functionName"))]
        if fn is not None
    ]


@rule("SQS-VISIBILITY", [QUEUE], "A queue's visibility timeout is at least 6x its consumer Lambda's timeout.",
      "cdk-nag Serverless-LambdaEventSourceSQSVisibilityTimeout; AWS Lambda 'Using Lambda with Amazon SQS'",
      applies=lambda queue, graph: bool(_consumers(queue, graph)))
def sqs_visibility(queue: DeclaredResource, graph: Graph) -> list[str]:
    visibility = float(queue.inputs.get("visibilityTimeoutSeconds") or 30)
    problems = []
    for fn in _consumers(queue, graph):
        timeout = float(fn.inputs.get("timeout") or LAMBDA_DEFAULT_TIMEOUT)
        if visibility < SQS_VISIBILITY_FACTOR * timeout:
            problems.append(f"visibility {visibility:g} s < {SQS_VISIBILITY_FACTOR} x {fn.name}'s timeout {timeout:g} s")
    return problems


# SNS


@rule("SNS-TLS-ONLY", [TOPIC], "The topic policy denies every request not made over TLS.",
      "cdk-nag AwsSolutions-SNS3")
def sns_tls_only(topic: DeclaredResource, graph: Graph) -> list[str]:
    if _denies_insecure_transport(graph.topic_policies(topic), "sns", topic.state["arn"]):
        return []
    return ["no policy statement denies sns:* when aws:SecureTransport is false"]


def _queue_allows_sender(graph: Graph, queue_arn: str, service: str, source_arn: str) -> bool:
    queue = graph.by_arn.get(queue_arn)
    if queue is None or queue.type != QUEUE:
        return False
    for statement in graph.queue_policies(queue):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal") or {}
        if not isinstance(principal, dict) or service not in as_list(principal.get("Service")):
            continue
        if not any(action_matches(a, "sqs:SendMessage") for a in as_list(statement.get("Action"))):
            continue
        conditions = statement.get("Condition") or {}
        sources = [v for op in conditions.values() for k, v in op.items() if k.lower() == "aws:sourcearn"]
        if any(arn_matches(s, source_arn) for value in sources for s in as_list(value)):
            return True
    return False


@rule("SNS-SUBSCRIPTION-DLQ", [SUBSCRIPTION],
      "A subscription redrives undeliverable messages to a DLQ whose policy lets this topic send.",
      "cdk-nag Serverless-SNSRedrivePolicy")
def sns_subscription_dlq(subscription: DeclaredResource, graph: Graph) -> list[str]:
    target = (document(subscription.inputs.get("redrivePolicy")) or {}).get("deadLetterTargetArn")
    if not target:
        return ["no redrive policy: undeliverable messages are lost"]
    if not _queue_allows_sender(graph, target, "sns.amazonaws.com", subscription.inputs.get("topic", "")):
        return [f"the dead-letter queue {target} does not let the topic {subscription.inputs.get('topic')} send"]
    return []


# DynamoDB


@rule("DDB-ENCRYPTED", [TABLE], "Items are encrypted with KMS (AWS managed key or a customer key), not only the default.",
      "Checkov CKV_AWS_119 (KMS), cdk-nag AwsSolutions (DynamoDB encryption)")
def ddb_encrypted(table: DeclaredResource, graph: Graph) -> list[str]:
    sse = table.inputs.get("serverSideEncryption") or {}
    return [] if sse.get("enabled") is True else ["server-side encryption with KMS is not enabled"]


@rule("DDB-TTL-TOKENS", [TABLE], "A table holding task tokens expires its rows (TTL): no token outlives its wait.",
      "project contract (DESIGN.md: a token table with TTL)",
      applies=lambda table, graph: table.state.get("arn") in graph.token_tables())
def ddb_ttl_tokens(table: DeclaredResource, graph: Graph) -> list[str]:
    ttl = table.inputs.get("ttl") or {}
    if ttl.get("enabled") is True and ttl.get("attributeName"):
        return []
    return [f"holds task tokens ({'; '.join(graph.token_tables()[table.state['arn']])}) without TTL"]


# EventBridge


@rule("EVENTS-TARGET-RETRY", [EVENT_TARGET], "A target has an explicit retry policy (attempts and event age).",
      "cdk-nag Serverless-EventBusDLQ (retry + DLQ); AWS EventBridge 'Retrying events'")
def events_target_retry(target: DeclaredResource, graph: Graph) -> list[str]:
    retry = target.inputs.get("retryPolicy") or {}
    if retry.get("maximumRetryAttempts") is None or retry.get("maximumEventAgeInSeconds") is None:
        return ["no retry policy with maximumRetryAttempts and maximumEventAgeInSeconds"]
    return []


@rule("EVENTS-TARGET-DLQ", [EVENT_TARGET], "A target sends undeliverable events to a DLQ whose policy lets its rule send.",
      "cdk-nag Serverless-EventBusDLQ")
def events_target_dlq(target: DeclaredResource, graph: Graph) -> list[str]:
    dlq = (target.inputs.get("deadLetterConfig") or {}).get("arn")
    if not dlq:
        return ["no dead-letter queue: events that cannot be delivered are lost"]
    rules = [
        r
        for r in graph.of_type(EVENT_RULE)
        if graph.physical_name(r) == target.inputs.get("rule")
        and (r.inputs.get("eventBusName") or "default") == (target.inputs.get("eventBusName") or "default")
    ]
    if len(rules) != 1:
        return [f"its rule {target.inputs.get('rule')!r} is not one rule of the stack"]
    if not _queue_allows_sender(graph, dlq, "events.amazonaws.com", rules[0].state["arn"]):
        return [f"the dead-letter queue {dlq} does not let the rule {rules[0].state['arn']} send"]
    return []


# API Gateway


@rule("API-THROTTLING", [API], "Every stage of the API throttles requests (rate and burst).",
      "cdk-nag Serverless-APIGWDefaultThrottling")
def api_throttling(api: DeclaredResource, graph: Graph) -> list[str]:
    stages = [s for s in graph.of_type(STAGE) if s.inputs.get("apiId") == _api_id(api)]
    if not stages:
        return ["the API has no stage"]
    problems = []
    for stage in stages:
        settings = stage.inputs.get("defaultRouteSettings") or {}
        rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
        if not rate or not burst or float(rate) <= 0 or float(burst) <= 0:
            problems.append(f"stage {stage.name} sets no throttling rate and burst")
    return problems


def _api_id(api: DeclaredResource) -> str:
    # The id the mocks returned: the last segment of the API's ARN (arn:aws:apigateway:<region>::/apis/<id>).
    return str(api.state.get("arn", "")).rsplit("/", 1)[-1]


# IAM, in every policy document (role policies, trust policies, queue/topic/key policies)


@rule("IAM-NO-WILDCARD-ACTION", list(POLICY_INPUTS), "No Allow statement grants a '*' action (or NotAction).",
      "cdk-nag AwsSolutions-IAM5; Checkov CKV_AWS_1, CKV_AWS_62, CKV_AWS_63, CKV_AWS_290",
      applies=lambda r, graph: bool(r.inputs.get(POLICY_INPUTS[r.type])))
def iam_no_wildcard_action(resource: DeclaredResource, graph: Graph) -> list[str]:
    problems = []
    for statement in statements(resource.inputs.get(POLICY_INPUTS[resource.type])):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            problems.append(f"statement {statement.get('Sid', '')!r} allows NotAction {statement['NotAction']}")
        wild = [a for a in as_list(statement.get("Action")) if "*" in a]
        if wild:
            problems.append(f"statement {statement.get('Sid', '')!r} allows wildcard action(s) {wild}")
    return problems


@rule("IAM-WILDCARD-RESOURCE", list(POLICY_INPUTS),
      "A '*' resource only for actions AWS offers no resource-level permission for (explicit allow-list).",
      "cdk-nag AwsSolutions-IAM5; Checkov CKV_AWS_355, CKV_AWS_290",
      applies=lambda r, graph: bool(r.inputs.get(POLICY_INPUTS[r.type])))
def iam_wildcard_resource(resource: DeclaredResource, graph: Graph) -> list[str]:
    if resource.type == KEY:
        # AWS KMS: "In a key policy, the value of the Resource element is "*", which means "this KMS key"."
        return []
    problems = []
    for statement in statements(resource.inputs.get(POLICY_INPUTS[resource.type])):
        if statement.get("Effect") != "Allow":
            continue
        resources = as_list(statement.get("Resource"))
        broad = [r for r in resources if r == "*" or re.fullmatch(r"arn:[^:]*:[^:]*:[^:]*:[^:]*:(\*|[^:/]+/\*)", str(r))]
        if not broad:
            continue
        restrictable = [a for a in as_list(statement.get("Action")) if a not in WILDCARD_RESOURCE_ALLOWED]
        if restrictable:
            problems.append(f"{restrictable} granted on {broad}, though AWS offers resource-level permissions for them")
    return problems


@rule("IAM-NO-PUBLIC-PRINCIPAL", [QUEUE_POLICY, TOPIC_POLICY, KEY, QUEUE, TOPIC],
      "A resource policy allows named principals only, and a service principal only for a named source (confused deputy).",
      "Checkov CKV_AWS_33, CKV_AWS_168, CKV_AWS_169; AWS IAM 'The confused deputy problem'",
      applies=lambda r, graph: bool(r.inputs.get(POLICY_INPUTS[r.type])))
def iam_no_public_principal(resource: DeclaredResource, graph: Graph) -> list[str]:
    problems = []
    for statement in statements(resource.inputs.get(POLICY_INPUTS[resource.type])):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal in ("*", {"AWS": "*"}) or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))):
            problems.append(f"statement {statement.get('Sid', '')!r} allows any principal")
            continue
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        keys = {k.lower() for op in (statement.get("Condition") or {}).values() for k in op}
        if services and not keys & {"aws:sourcearn", "aws:sourceaccount", "aws:sourceowner"}:
            problems.append(f"statement {statement.get('Sid', '')!r} allows {services} from any source")
    return problems


@rule("IAM-NO-MANAGED-POLICY", [ROLE, POLICY_ATTACHMENT], "Roles hold least-privilege inline policies, no AWS managed policies.",
      "cdk-nag AwsSolutions-IAM4")
def iam_no_managed_policy(resource: DeclaredResource, graph: Graph) -> list[str]:
    arns = as_list(resource.inputs.get("managedPolicyArns")) + as_list(resource.inputs.get("policyArn"))
    managed = [a for a in arns if str(a).startswith("arn:aws:iam::aws:policy/")]
    return [f"AWS managed policies attached: {managed}"] if managed else []


def rule_by_id(rule_id: str) -> Rule:
    """The registered rule with this id."""
    for registered in RULES:
        if registered.id == rule_id:
            return registered
    raise KeyError(rule_id)
