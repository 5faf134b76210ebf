"""The catalogue of Step Functions integrations: how each Task is recognised and the IAM it needs.

In the spirit of the CDK's task constructs, where a task's ``taskPolicies`` sit beside its
rendering: every entry below says which ``Resource`` it matches and derives, from the Task's
``Parameters`` (JSONPath) or ``Arguments`` (JSONata) when they are static, the statements AWS
documents for it (the page is cited beside each entry). A state machine's role is the union over
its states (:func:`statements_for_definition`).

A field whose value is only known at run time (``TableName.$`` in JSONPath, ``{% ... %}`` in
JSONata) cannot give a resource: :class:`NotDerivable` names the state, the field and the actions,
and the caller (``StateMachine`` / ``Workflow``) stops the program unless the explicit
``statements`` arg grants those actions. Explicit statements are added to the derived set, never
replace it.

Statements that must name the state machine itself (a Distributed Map starting its own child
executions, the HTTP Task's ``states:InvokeHTTPEndpoint``) use :data:`SELF_ARN` /
:data:`SELF_EXECUTIONS`; ``StateMachine`` puts them in a second policy once its ARN exists.

Resources are derived from ARNs: a table, topic, function, state machine, cluster or connection is
referenced by its ARN (``${Name}`` placeholders filled with ARNs), since a bare name does not tell
the region and account.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

from sfn_patterns.contracts.common import execution_arn

Statement = dict[str, Any]

#: Stands for the state machine's own ARN in a derived statement (filled once the machine exists).
SELF_ARN = "${Self::StateMachineArn}"
#: Stands for the ARN pattern of the state machine's Distributed Map child executions.
SELF_EXECUTIONS = "${Self::MapRunExecutions}"
_SELF_TOKENS = (SELF_ARN, SELF_EXECUTIONS)
#: Stand for the region and the account of the state machine itself (filled from the stack's own ARNs
#: before the role is built: :func:`fill_here`), for resources it owns, such as the managed rules.
HERE_REGION = "${Self::Region}"
HERE_ACCOUNT = "${Self::Account}"
_OPTIMIZED = "arn:aws:states:::"
_PATTERNS = (".waitForTaskToken", ".sync:2", ".sync")


class NotDerivable(ValueError):
    """A Task field whose value is only known at run time, so its IAM resource cannot be derived."""

    def __init__(
        self, state: str, field: str, actions: Sequence[str], integration: str, reason: str = "which is only known at run time"
    ) -> None:
        self.state, self.field, self.actions, self.integration = state, field, sorted(set(actions)), integration
        self.reason = reason
        super().__init__(
            f"state {state!r}: {integration}: the IAM resource comes from {field!r}, {reason}; pass the"
            f" `statements` arg with {self.actions} on the resources it can resolve to"
            " (explicit statements are added to the derived ones)"
        )


class UnsupportedTask(ValueError):
    """A Task ``Resource`` that no catalogue entry recognises."""


def allow(actions: Sequence[str], resources: Sequence[str], condition: Optional[Mapping[str, Any]] = None) -> Statement:
    """One ``Allow`` statement (actions sorted, resources in order, optional ``Condition``)."""
    stmt: Statement = {"Effect": "Allow", "Action": sorted(set(actions)), "Resource": list(resources)}
    if condition:
        stmt["Condition"] = dict(condition)
    return stmt


def is_self_statement(stmt: Statement) -> bool:
    """Whether ``stmt`` names the state machine itself (and so waits for its ARN)."""
    return any(token in str(r) for r in stmt["Resource"] for token in _SELF_TOKENS)


# --- Reading a Task's fields ------------------------------------------------------------------


def is_jsonata_expression(value: Any) -> bool:
    """Whether ``value`` is a JSONata expression (a string written ``{% ... %}``), known only at run time."""
    return isinstance(value, str) and value.strip().startswith("{%") and value.strip().endswith("%}")


_dynamic = is_jsonata_expression


class Task:
    """A Task (or ItemReader/ResultWriter) seen through its static fields.

    ``field("A.B")`` returns the value at that path of ``Parameters``/``Arguments``, ``None`` when
    absent, and raises :class:`NotDerivable` when it is only known at run time.
    """

    def __init__(self, path: str, state: Mapping[str, Any], integration: str, jsonata: bool) -> None:
        self.path = path
        self.state = state
        self.integration = integration
        self.resource: str = state.get("Resource", "")
        self.jsonata = jsonata
        self.args: Any = state.get("Arguments") if "Arguments" in state else state.get("Parameters") or {}
        self.pattern = next((p for p in _PATTERNS if self.resource.endswith(p)), "")
        self.field_prefix = "Arguments" if "Arguments" in state else "Parameters"
        #: Parts of the IAM that the definition cannot show (the rest is still derived).
        self.missing: list[NotDerivable] = []

    def field(self, dotted: str, actions: Sequence[str], required: bool = True) -> Any:
        """The static value at ``dotted`` (``Entries[].EventBusName`` style paths not supported here)."""
        where = f"{self.field_prefix}.{dotted}"
        node: Any = self.args
        if _dynamic(node):
            raise NotDerivable(self.path, self.field_prefix, actions, self.integration)
        for part in dotted.split("."):
            if not isinstance(node, Mapping):
                node = None
                break
            if f"{part}.$" in node or _dynamic(node.get(part)):
                raise NotDerivable(self.path, where, actions, self.integration)
            node = node.get(part)
        if node is None and required:  # e.g. SNS publish to a PhoneNumber, DynamoDB batchGetItem's RequestItems
            raise NotDerivable(self.path, where, actions, self.integration, "which this task does not give")
        return node

    def part(self, derive: Callable[[], list[Statement]]) -> list[Statement]:
        """The statements of one part of the task's IAM; a part whose resource the definition cannot
        show is recorded in :attr:`missing` (the state's other parts are still derived)."""
        try:
            return derive()
        except NotDerivable as gap:
            self.missing.append(gap)
            return []

    def arn(self, dotted: str, actions: Sequence[str], service: str, required: bool = True) -> Optional[str]:
        """A static field that must be an ARN of ``service`` (placeholders count as ARNs at check time)."""
        value = self.field(dotted, actions, required)
        if value is None:
            return None
        shape = rf"arn:aws(-[a-z]+)*:{re.escape(service)}:[a-z0-9-]*:(\d{{12}})?:\S+"
        if not isinstance(value, str) or not (re.fullmatch(shape, value) or "${" in value):
            raise NotDerivable(
                self.path, f"{self.field_prefix}.{dotted}", actions, self.integration,
                f"which must be the {service} ARN (a ${{Name}} substitution) to derive it, got {str(value)[:80]!r}",
            )
        return value


def region_account(arn: str) -> tuple[str, str]:
    """Region and account of an ARN (``arn:aws:<svc>:<region>:<account>:...``)."""
    parts = arn.split(":")
    if len(parts) < 6 or not parts[3] or not parts[4]:
        raise ValueError(f"{arn!r} is not a regional ARN")
    return parts[3], parts[4]


def sqs_arn(queue_url: str) -> str:
    """The queue ARN of an SQS queue URL (``https://sqs.<region>.amazonaws.com/<account>/<name>``)."""
    if queue_url.startswith("arn:aws:sqs:"):
        return queue_url
    match = re.match(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com/(\d{12})/([A-Za-z0-9_.-]+)$", queue_url)
    if not match:
        raise ValueError(f"{queue_url!r} is not an SQS queue URL")
    region, account, name = match.groups()
    return f"arn:aws:sqs:{region}:{account}:{name}"


def _executions(state_machine_arn: str) -> str:
    # An execution started through a version or alias ARN (``stateMachine:child:prod``) is an
    # execution of the state machine (``execution:child:<name>``).
    unqualified = ":".join(state_machine_arn.split(":")[:7]) if ":stateMachine:" in state_machine_arn else state_machine_arn
    return execution_arn(unqualified, "*")


def _managed_rule(rule: str) -> Statement:
    # Step Functions makes the rule in the state machine's own account and region.
    return allow(
        ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        [f"arn:aws:events:{HERE_REGION}:{HERE_ACCOUNT}:rule/{rule}"],
    )


def fill_tokens(statements: Sequence[Statement], values: Mapping[str, str]) -> list[Statement]:
    """``statements`` with each token of ``values`` (:data:`SELF_ARN`, :data:`HERE_REGION` ...) replaced by its value."""
    def filled(value: Any) -> Any:
        if isinstance(value, str):
            for token, text in values.items():
                value = value.replace(token, text)
            return value
        if isinstance(value, list):
            return [filled(v) for v in value]
        if isinstance(value, dict):
            return {k: filled(v) for k, v in value.items()}
        return value
    return [filled(stmt) for stmt in statements]


def fill_here(statements: Sequence[Statement], region: str, account: str) -> list[Statement]:
    """``statements`` with :data:`HERE_REGION` / :data:`HERE_ACCOUNT` filled in."""
    return fill_tokens(statements, {HERE_REGION: region, HERE_ACCOUNT: account})


def _s3_object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def s3_literal(text: str) -> str:
    """A key or prefix as an IAM resource matches it literally: ``*``, ``?`` and ``$`` are legal in S3 keys
    but IAM wildcards (or a variable), so they are written ``${*}``, ``${?}``, ``${$}``."""
    return re.sub(r"[*?$]", lambda m: "${" + m.group(0) + "}", text)


def _bucket_name(task: Task, value: Any) -> str:
    """A bucket given by name or by its ARN (aws partition: see the catalogue's Resource patterns)."""
    text = str(value)
    if text.startswith("arn:") and not text.startswith("arn:aws:s3:::"):
        raise ValueError(f"state {task.path!r}: {task.integration}: {task.field_prefix}.Bucket {text!r} is not an S3 bucket ARN of the aws partition")
    return text.removeprefix("arn:aws:s3:::")


# --- The catalogue ----------------------------------------------------------------------------

Derive = Callable[[Task], list[Statement]]


@dataclass(frozen=True)
class Integration:
    """One catalogue entry: the ``Resource`` it matches (regex) and its IAM derivation."""

    name: str
    resource: str
    derive: Derive
    doc: str

    def matches(self, resource: str) -> bool:
        """Whether a Task's ``Resource`` is this integration."""
        return re.fullmatch(self.resource, resource) is not None


def _lambda_arn(task: Task, dotted: str) -> list[Statement]:
    fn = task.arn(dotted, ["lambda:InvokeFunction"], "lambda")
    assert fn is not None
    return [allow(["lambda:InvokeFunction"], [fn, f"{fn}:*"])]


# https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html
def _lambda_invoke(task: Task) -> list[Statement]:
    return _lambda_arn(task, "FunctionName")


def _lambda_direct(task: Task) -> list[Statement]:
    return [allow(["lambda:InvokeFunction"], [task.resource, f"{task.resource}:*"])]


# https://docs.aws.amazon.com/step-functions/latest/dg/dynamo-iam.html
def _dynamodb(task: Task) -> list[Statement]:
    api = task.resource.rsplit(":", 1)[1].split(".")[0]
    action = f"dynamodb:{api[0].upper()}{api[1:]}"
    table = task.arn("TableName", [action], "dynamodb")
    assert table is not None
    return [allow([action], [table])]


# https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html
def _sns_publish(task: Task) -> list[Statement]:
    topic = task.arn("TopicArn", ["sns:Publish"], "sns", required=False)
    if topic is None:
        topic = task.arn("TargetArn", ["sns:Publish"], "sns")
    assert topic is not None
    return [allow(["sns:Publish"], [topic])]


# https://docs.aws.amazon.com/step-functions/latest/dg/sqs-iam.html
def _sqs_send(task: Task) -> list[Statement]:
    url = task.field("QueueUrl", ["sqs:SendMessage"])
    if "${" in str(url):
        return [allow(["sqs:SendMessage"], [str(url)])]  # check time only: resolved before the role is built
    try:
        return [allow(["sqs:SendMessage"], [sqs_arn(str(url))])]
    except ValueError as error:
        raise ValueError(f"state {task.path!r}: {task.integration}: {task.field_prefix}.QueueUrl: {error}") from error


# https://docs.aws.amazon.com/step-functions/latest/dg/cw-events-iam.html
def _put_events(task: Task) -> list[Statement]:
    entries = task.field("Entries", ["events:PutEvents"])
    if not isinstance(entries, list):
        raise NotDerivable(task.path, f"{task.field_prefix}.Entries", ["events:PutEvents"], task.integration)
    buses: list[str] = []
    for index, entry in enumerate(entries):
        where = f"{task.field_prefix}.Entries[{index}].EventBusName"
        if not isinstance(entry, Mapping) or "EventBusName.$" in entry or _dynamic(entry.get("EventBusName")):
            raise NotDerivable(task.path, where, ["events:PutEvents"], task.integration)
        bus = entry.get("EventBusName")
        if not isinstance(bus, str) or not (bus.startswith("arn:aws:events:") or "${" in bus):
            raise ValueError(
                f"state {task.path!r}: {task.integration}: {where} must be the event bus ARN to derive IAM"
                f" (got {bus!r}; the default bus too: arn:aws:events:<region>:<account>:event-bus/default)"
            )
        if bus not in buses:
            buses.append(bus)
    return [allow(["events:PutEvents"], sorted(buses))]


# https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html
def _start_execution(task: Task) -> list[Statement]:
    sync = task.pattern.startswith(".sync")
    actions = ["states:StartExecution"] + (["states:DescribeExecution", "states:StopExecution"] if sync else [])

    def started() -> list[Statement]:
        sm = task.arn("StateMachineArn", actions, "states")
        assert sm is not None
        if ":stateMachine:" not in sm and "${" not in sm:
            raise NotDerivable(task.path, f"{task.field_prefix}.StateMachineArn", actions, task.integration,
                               f"which must be a state machine ARN, got {sm[:80]!r}")
        if not sync:
            return [allow(["states:StartExecution"], [sm])]
        return [allow(["states:StartExecution"], [sm]),
                allow(["states:DescribeExecution", "states:StopExecution"], [_executions(sm)])]

    statements = task.part(started)
    if sync:
        statements.append(_managed_rule("StepFunctionsGetEventsForStepFunctionsExecutionRule"))
    return statements


# https://docs.aws.amazon.com/step-functions/latest/dg/ecs-iam.html
def _ecs_run_task(task: Task) -> list[Statement]:
    def run() -> list[Statement]:
        cluster = task.arn("Cluster", ["ecs:RunTask"], "ecs", required=False)
        definition = str(task.field("TaskDefinition", ["ecs:RunTask"]))
        if definition.startswith("arn:") or "${" in definition:
            task_definition = definition if definition.count(":") >= 6 or "${" in definition else f"{definition}:*"
        elif cluster:
            region, account = region_account(cluster)
            family = definition if ":" in definition else f"{definition}:*"
            task_definition = f"arn:aws:ecs:{region}:{account}:task-definition/{family}"
        else:
            raise ValueError(
                f"state {task.path!r}: {task.integration}: {task.field_prefix}.TaskDefinition must be the task"
                f" definition ARN (or Cluster an ARN) to derive IAM (got {definition!r})"
            )
        return [allow(["ecs:RunTask"], [task_definition])]

    statements = task.part(run)
    if task.pattern == ".sync":
        # ECS task ids are only known once the task runs: AWS's template grants these on "*" (and
        # Step Functions only stops tasks it started).
        statements.append(allow(["ecs:StopTask", "ecs:DescribeTasks"], ["*"]))
        statements.append(_managed_rule("StepFunctionsGetEventsForECSTaskRule"))
    statements += task.part(lambda: _ecs_pass_role(task))
    return statements


def _ecs_pass_role(task: Task) -> list[Statement]:
    """iam:PassRole on the task and execution roles: those the Overrides name; a role left to the task
    definition (which the state machine does not show) is a part the definition cannot show."""
    overrides = task.field("Overrides", ["iam:PassRole"], required=False) or {}
    roles, unnamed = [], []
    for key in ("TaskRoleArn", "ExecutionRoleArn"):
        if isinstance(overrides, Mapping) and (f"{key}.$" in overrides or _dynamic(overrides.get(key))):
            raise NotDerivable(task.path, f"{task.field_prefix}.Overrides.{key}", ["iam:PassRole"], task.integration)
        if isinstance(overrides, Mapping) and isinstance(overrides.get(key), str):
            roles.append(overrides[key])
        else:
            unnamed.append(key)
    if unnamed:
        task.missing.append(NotDerivable(
            task.path, f"{task.field_prefix}.TaskDefinition (its {' and '.join(unnamed)}, not overridden)", ["iam:PassRole"],
            task.integration, "which the state machine does not show",
        ))
    if not roles:
        return []
    return [allow(["iam:PassRole"], roles, {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})]


# https://docs.aws.amazon.com/step-functions/latest/dg/batch-iam.html
def _batch_submit(task: Task) -> list[Statement]:
    # AWS Batch has partial resource-level permissions (job ids are made at run time): AWS's template is "*".
    if task.pattern != ".sync":
        return [allow(["batch:SubmitJob"], ["*"])]
    return [
        allow(["batch:SubmitJob", "batch:DescribeJobs", "batch:TerminateJob"], ["*"]),
        _managed_rule("StepFunctionsGetEventsForBatchJobsRule"),
    ]


# https://docs.aws.amazon.com/step-functions/latest/dg/glue-iam.html
def _glue_start(task: Task) -> list[Statement]:
    # AWS's template for the Glue integration grants these on "*" ("AWS Glue does not have resource-based control").
    given = isinstance(task.args, Mapping) and bool({"JobName", "JobName.$"} & set(task.args))
    if not given:  # the grant is on "*", so a dynamic JobName will do; none at all is NotDerivable
        task.field("JobName", ["glue:StartJobRun"])
    if task.pattern == ".sync":
        return [allow(["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"], ["*"])]
    return [allow(["glue:StartJobRun"], ["*"])]


# https://docs.aws.amazon.com/step-functions/latest/dg/bedrock-iam.html
#: The geography prefixes of Bedrock's system-defined (cross-Region) inference profile ids: ``us.<model id>``.
BEDROCK_PROFILE_GEOGRAPHIES = ("us", "us-gov", "eu", "apac", "jp", "au", "ca", "global")


def _foundation_model(model: str) -> str:
    # A foundation model id names no region; foundation models are AWS-owned, so any region's copy.
    return f"arn:aws:bedrock:*::foundation-model/{model}"


def _profile_model(profile_id: str) -> Optional[str]:
    """The foundation model ARN behind a system-defined inference profile id (``us.<model id>``), else None."""
    geography, _, model = profile_id.partition(".")
    return _foundation_model(model) if geography in BEDROCK_PROFILE_GEOGRAPHIES and "." in model else None


def _bedrock_models(task: Task) -> list[Statement]:
    """The model a ``ModelId`` names: a foundation model (id or ARN), a provisioned or custom model ARN,
    or an inference profile, which also needs its foundation model in each Region it routes to
    (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html)."""
    actions = ["bedrock:InvokeModel"]
    model = str(task.field("ModelId", actions))
    where = f"{task.field_prefix}.ModelId"
    if "${" in model:
        return [allow(actions, [model])]
    if not model.startswith("arn:"):
        behind = _profile_model(model)  # us.anthropic.claude-...: a profile id
        if behind is not None:
            profile = f"arn:aws:bedrock:{HERE_REGION}:{HERE_ACCOUNT}:inference-profile/{model}"
            return [allow(actions, [profile, behind])]
        return [allow(actions, [_foundation_model(model)])]
    if not re.match(r"arn:aws(-[a-z]+)*:bedrock:", model):
        raise NotDerivable(task.path, where, actions, task.integration, f"which must be a Bedrock model ARN, got {model[:80]!r}")
    kind, _, ident = model.split(":", 5)[-1].partition("/")
    behind = _profile_model(ident) if kind == "inference-profile" else None
    if behind is not None:
        return [allow(actions, [model, behind])]
    if kind in ("inference-profile", "application-inference-profile"):
        task.missing.append(NotDerivable(task.path, f"{where} (the foundation models behind the inference profile)",
                                         actions, task.integration, "which the state machine does not show"))
    return [allow(actions, [model])]


def _bedrock_invoke(task: Task) -> list[Statement]:
    statements = task.part(lambda: _bedrock_models(task))
    for field, action in (("Input.S3Uri", "s3:GetObject"), ("Output.S3Uri", "s3:PutObject")):
        statements += task.part(functools.partial(_bedrock_s3, task, field, action))
    return statements


def _bedrock_s3(task: Task, field: str, action: str) -> list[Statement]:
    uri = task.field(field, [action], required=False)
    return [] if uri is None else [allow([action], [_s3_uri_arn(task, field, str(uri))])]


def _s3_uri_arn(task: Task, field: str, uri: str) -> str:
    if not uri.startswith("s3://"):
        raise ValueError(f"state {task.path!r}: {task.integration}: {task.field_prefix}.{field} must be an s3:// URI")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return _s3_object(bucket, s3_literal(key)) if key else f"arn:aws:s3:::{bucket}"


# https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html#connect-http-task-permissions
def _http_invoke(task: Task) -> list[Statement]:
    def invoke() -> list[Statement]:
        endpoint = str(task.field("ApiEndpoint", ["states:InvokeHTTPEndpoint"]))
        method = str(task.field("Method", ["states:InvokeHTTPEndpoint"]))
        return [allow(
            ["states:InvokeHTTPEndpoint"],
            [SELF_ARN],
            {"StringEquals": {"states:HTTPMethod": method}, "StringLike": {"states:HTTPEndpoint": f"{endpoint}*"}},
        )]

    return task.part(invoke) + task.part(lambda: _http_connection(task))


def _http_connection(task: Task) -> list[Statement]:
    connection = task.arn("Authentication.ConnectionArn", ["events:RetrieveConnectionCredentials"], "events")
    assert connection is not None
    statements = [allow(["events:RetrieveConnectionCredentials"], [connection])]
    if "${" in connection:
        secret = "${ConnectionSecret}"
    else:
        region, account = region_account(connection)
        name = connection.split(":connection/", 1)[1].split("/")[0]
        # AWS's template: arn:aws:secretsmanager:*:*:secret:events!connection/*; here scoped to the connection.
        secret = f"arn:aws:secretsmanager:{region}:{account}:secret:events!connection/{name}/*"
    statements.append(allow(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], [secret]))
    return statements


def _activity(task: Task) -> list[Statement]:
    # The workers of an activity call GetActivityTask/SendTask*; the state machine's role needs nothing.
    return []


# --- AWS SDK integrations (arn:aws:states:::aws-sdk:<service>:<action>) ------------------------
# https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
# The IAM action is <service>:<Action> (the SDK action in PascalCase), except where the IAM prefix
# differs from the SDK's service name (SDK_IAM_PREFIX) or one IAM action covers the API under
# another name (SDK_IAM_ACTION).

#: SDK service name (as in ``aws-sdk:<service>:``) -> IAM service prefix, where they differ.
SDK_IAM_PREFIX: dict[str, str] = {
    "sfn": "states",
    "cloudwatchlogs": "logs",
    "eventbridge": "events",
    "sesv2": "ses",
    "efs": "elasticfilesystem",
    "elasticloadbalancingv2": "elasticloadbalancing",
    "emrserverless": "emr-serverless",
    "emrcontainers": "emr-containers",
    "opensearch": "es",
    "elasticsearch": "es",
    "cognitoidentityprovider": "cognito-idp",
    "cognitoidentity": "cognito-identity",
    "applicationautoscaling": "application-autoscaling",
    "acmpca": "acm-pca",
    "costexplorer": "ce",
    "bedrockruntime": "bedrock",
    "bedrockagentruntime": "bedrock",
    "sagemakerruntime": "sagemaker",
    "dynamodbstreams": "dynamodb",
    "iotdata": "iot",
    "lexruntimev2": "lex",
    "mediapackagevod": "mediapackage-vod",
    "mwaa": "airflow",
    "codestarconnections": "codestar-connections",
    "kinesisanalyticsv2": "kinesisanalytics",
    "pipes": "pipes",
    "s3control": "s3",
    "configservice": "config",
    "directoryservice": "ds",
    "databasemigration": "dms",
    "redshiftdata": "redshift-data",
    "rdsdata": "rds-data",
    "timestreamwrite": "timestream",
    "timestreamquery": "timestream",
    "resourcegroupstaggingapi": "tag",
    "ecrpublic": "ecr-public",
    "networkfirewall": "network-firewall",
    "ssmincidents": "ssm-incidents",
    "marketplacemetering": "aws-marketplace",
    "sagemakerfeaturestoreruntime": "sagemaker",
    "ioteventsdata": "iotevents",
    "personalizeruntime": "personalize",
    "cloudcontrol": "cloudformation",
    "appconfigdata": "appconfig",
    "lexmodelsv2": "lex",
    "cloudhsmv2": "cloudhsm",
    "kinesisvideoarchivedmedia": "kinesisvideo",
}
#: (IAM prefix, SDK action) -> IAM actions, where the API is authorised under other names.
SDK_IAM_ACTION: dict[tuple[str, str], list[str]] = {
    ("s3", "listObjectsV2"): ["s3:ListBucket"],
    ("s3", "listObjects"): ["s3:ListBucket"],
    ("s3", "headObject"): ["s3:GetObject"],
    ("s3", "headBucket"): ["s3:ListBucket"],
    ("s3", "copyObject"): ["s3:GetObject", "s3:PutObject"],
    ("s3", "deleteObjects"): ["s3:DeleteObject"],
    ("s3", "listObjectVersions"): ["s3:ListBucketVersions"],
    ("s3", "createMultipartUpload"): ["s3:PutObject"],
    ("s3", "uploadPart"): ["s3:PutObject"],
    ("s3", "completeMultipartUpload"): ["s3:PutObject"],
    ("s3", "abortMultipartUpload"): ["s3:AbortMultipartUpload"],
    ("s3", "listParts"): ["s3:ListMultipartUploadParts"],
    ("s3", "listMultipartUploads"): ["s3:ListBucketMultipartUploads"],
    ("s3", "listBuckets"): ["s3:ListAllMyBuckets"],
    ("s3", "selectObjectContent"): ["s3:GetObject"],
    ("s3", "getObjectAttributes"): ["s3:GetObject", "s3:GetObjectAttributes"],
    ("s3", "deleteObjectTagging"): ["s3:DeleteObjectTagging"],
    ("s3", "getBucketCors"): ["s3:GetBucketCORS"],
    ("s3", "putBucketCors"): ["s3:PutBucketCORS"],
    ("s3", "deleteBucketCors"): ["s3:PutBucketCORS"],
    ("s3", "getBucketEncryption"): ["s3:GetEncryptionConfiguration"],
    ("s3", "putBucketEncryption"): ["s3:PutEncryptionConfiguration"],
    ("s3", "deleteBucketEncryption"): ["s3:PutEncryptionConfiguration"],
    ("s3", "getBucketLifecycleConfiguration"): ["s3:GetLifecycleConfiguration"],
    ("s3", "putBucketLifecycleConfiguration"): ["s3:PutLifecycleConfiguration"],
    ("s3", "deleteBucketLifecycle"): ["s3:PutLifecycleConfiguration"],
    ("s3", "getBucketReplication"): ["s3:GetReplicationConfiguration"],
    ("s3", "putBucketReplication"): ["s3:PutReplicationConfiguration"],
    ("s3", "deleteBucketReplication"): ["s3:PutReplicationConfiguration"],
    ("s3", "getBucketNotificationConfiguration"): ["s3:GetBucketNotification"],
    ("s3", "putBucketNotificationConfiguration"): ["s3:PutBucketNotification"],
    ("s3", "deleteBucketTagging"): ["s3:PutBucketTagging"],
    ("s3", "getPublicAccessBlock"): ["s3:GetBucketPublicAccessBlock"],
    ("s3", "putPublicAccessBlock"): ["s3:PutBucketPublicAccessBlock"],
    ("s3", "deletePublicAccessBlock"): ["s3:PutBucketPublicAccessBlock"],
    ("dynamodb", "executeStatement"): ["dynamodb:PartiQLSelect", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"],
    ("lambda", "invoke"): ["lambda:InvokeFunction"],
    ("lambda", "invokeAsync"): ["lambda:InvokeFunction"],
}
#: Services whose API is not authorised as <prefix>:<Action> at all (e.g. API Gateway's HTTP verbs).
SDK_UNMAPPED = {"apigateway", "apigatewayv2", "apigatewaymanagementapi"}


def sdk_iam_actions(service: str, action: str) -> list[str]:
    """The IAM actions an ``aws-sdk:<service>:<action>`` Task needs (see the exception tables)."""
    if service in SDK_UNMAPPED:
        raise ValueError(f"aws-sdk:{service}:{action} is not authorised as an IAM action of its name")
    prefix = SDK_IAM_PREFIX.get(service, service)
    return SDK_IAM_ACTION.get((prefix, action), [f"{prefix}:{action[:1].upper()}{action[1:]}"])


def _s3_object_level(action: str) -> bool:
    """Whether an S3 IAM action is authorised on objects (``bucket/key``) rather than on the bucket."""
    name = action.split(":", 1)[1]
    return "Object" in name or name in ("AbortMultipartUpload", "ListMultipartUploadParts")


def _sdk_s3(task: Task, action: str) -> list[Statement]:
    actions = sdk_iam_actions("s3", action)
    if action == "listBuckets":  # the account's buckets: no resource-level permission ("*")
        return [allow(actions, ["*"])]
    bucket = _bucket_name(task, task.field("Bucket", actions))  # a bucket's name, or its ARN
    if action == "copyObject":  # reads the CopySource object ("bucket/key", maybe URL-encoded), writes the target
        source = urllib.parse.unquote(str(task.field("CopySource", ["s3:GetObject"]))).lstrip("/").split("?")[0]
        source_bucket, _, source_key = source.partition("/")
        target = task.field("Key", ["s3:PutObject"])  # CopyObject requires it
        return [allow(["s3:GetObject"], [_s3_object(source_bucket, s3_literal(source_key))]),
                allow(["s3:PutObject"], [_s3_object(bucket, s3_literal(str(target)))])]
    if not all(_s3_object_level(a) for a in actions):  # on the bucket: listing, its configuration
        if set(actions) & {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"}:
            prefix = task.field("Prefix", actions, required=False)
            condition = {"StringLike": {"s3:prefix": [f"{s3_literal(str(prefix))}*"]}} if prefix else None
            return [allow(actions, [f"arn:aws:s3:::{bucket}"], condition)]
        return [allow(actions, [f"arn:aws:s3:::{bucket}"])]
    if action == "deleteObjects":  # the keys it deletes, when each is given
        objects = task.field("Delete.Objects", actions)
        keys = [o.get("Key") for o in objects] if isinstance(objects, list) and all(isinstance(o, Mapping) for o in objects) else []
        if keys and all(isinstance(k, str) for k in keys):
            return [allow(actions, [_s3_object(bucket, s3_literal(k)) for k in dict.fromkeys(keys)])]
        raise NotDerivable(task.path, f"{task.field_prefix}.Delete.Objects", actions, task.integration)
    key = task.field("Key", actions, required=False)
    return [allow(actions, [_s3_object(bucket, s3_literal(str(key)) if key is not None else "*")])]


#: For the generic SDK integration: the parameter naming the resource, per IAM prefix.
_SDK_RESOURCE_FIELDS: dict[str, tuple[str, str]] = {
    "dynamodb": ("TableName", "dynamodb"),
    "sns": ("TopicArn", "sns"),
    "states": ("StateMachineArn", "states"),
    "lambda": ("FunctionName", "lambda"),
    "secretsmanager": ("SecretId", "secretsmanager"),
    "kms": ("KeyId", "kms"),
}


def _aws_sdk(task: Task) -> list[Statement]:
    service, action = task.resource[len(_OPTIMIZED) + len("aws-sdk:"):].split(".")[0].split(":", 1)
    actions = sdk_iam_actions(service, action)
    prefix = actions[0].split(":")[0]
    if prefix == "s3":
        return _sdk_s3(task, action)
    if prefix == "sqs":
        url = task.field("QueueUrl", actions)
        return [allow(actions, [str(url) if "${" in str(url) else sqs_arn(str(url))])]
    if prefix == "states" and action in ("describeExecution", "stopExecution", "getExecutionHistory"):
        execution = task.arn("ExecutionArn", actions, "states")
        assert execution is not None
        return [allow(actions, [execution])]
    if prefix == "lambda":
        fn = task.arn("FunctionName", actions, "lambda")
        return [allow(actions, [str(fn), f"{fn}:*"])]
    known = _SDK_RESOURCE_FIELDS.get(prefix)
    if known is not None:
        resource = task.arn(known[0], actions, known[1])
        assert resource is not None
        where = f"{task.field_prefix}.{known[0]}"
        if "${" in resource:
            return [allow(actions, [resource])]
        if prefix == "kms" and ":alias/" in resource:
            # https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html: an alias ARN as
            # the Resource authorises the alias, not the key it points to.
            raise NotDerivable(task.path, where, actions, task.integration,
                               "which is an alias ARN (a policy on it does not reach its key; give the key ARN)")
        if prefix == "secretsmanager":
            # https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html: a
            # secret's ARN ends in "-" and 6 random characters; a partial ARN (without them) is matched as name-??????.
            name = resource.split(":secret:", 1)[-1]
            return [allow(actions, [resource if re.search(r"-[A-Za-z0-9]{6}$", name) else f"{resource}-??????"])]
        if prefix == "dynamodb" and action in ("query", "scan"):
            index = task.field("IndexName", actions, required=False)
            if index is not None:  # a query or scan of an index is authorised on the index
                return [allow(actions, [f"{resource}/index/{index}"])]
        return [allow(actions, [resource])]
    raise NotDerivable(task.path, f"the resource of aws-sdk:{service}:{action}", actions, task.integration)


# https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html
def distributed_map_statements(
    path: str, state: Mapping[str, Any], jsonata: bool
) -> tuple[list[Statement], list[NotDerivable]]:
    """A Distributed Map: start, describe and stop its own child executions; read its items; write results.

    Returns the statements and the parts the definition cannot show (a reader or writer field only
    known at run time), as :func:`state_statements` does."""
    statements = [
        allow(["states:StartExecution"], [SELF_ARN]),
        allow(["states:DescribeExecution", "states:StopExecution"], [SELF_EXECUTIONS]),
    ]
    missing: list[NotDerivable] = []
    reader = state.get("ItemReader")
    if isinstance(reader, Mapping):
        view = Task(f"{path}/ItemReader", reader, f"ItemReader {reader.get('Resource')}", jsonata)
        input_type = (reader.get("ReaderConfig") or {}).get("InputType")
        resource = view.resource
        if resource == f"{_OPTIMIZED}s3:listObjectsV2":
            statements += view.part(lambda: _sdk_s3(view, "listObjectsV2"))
        elif resource == f"{_OPTIMIZED}s3:getObject":
            statements += view.part(lambda: _sdk_s3(view, "getObject"))
            if input_type == "MANIFEST":
                # An S3 inventory manifest lists data files by key in its own bucket.
                statements += view.part(lambda: [allow(["s3:GetObject"], [
                    _s3_object(_bucket_name(view, view.field("Bucket", ["s3:GetObject"])), "*")])])
        else:
            raise UnsupportedTask(f"state {path!r}: unsupported ItemReader Resource {resource!r}")
        missing += view.missing
    writer = state.get("ResultWriter")
    if isinstance(writer, Mapping) and writer.get("Resource"):
        view = Task(f"{path}/ResultWriter", writer, "ResultWriter", jsonata)

        def written() -> list[Statement]:
            actions = ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
            bucket = _bucket_name(view, view.field("Bucket", actions))
            prefix = view.field("Prefix", actions, required=False)
            prefix = s3_literal(str(prefix).strip("/")) if prefix else ""  # "res/" and "res" are one prefix
            return [allow(actions, [_s3_object(bucket, f"{prefix}/*" if prefix else "*")])]

        statements += view.part(written)
        missing += view.missing
    return statements, missing


CATALOGUE: list[Integration] = [
    Integration("Lambda (function ARN)", r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?", _lambda_direct,
                "https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html"),
    Integration("Lambda invoke", r"arn:aws:states:::lambda:invoke(\.waitForTaskToken)?", _lambda_invoke,
                "https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html"),
    Integration("DynamoDB", r"arn:aws:states:::dynamodb:(getItem|putItem|updateItem|deleteItem)", _dynamodb,
                "https://docs.aws.amazon.com/step-functions/latest/dg/dynamo-iam.html"),
    Integration("SNS publish", r"arn:aws:states:::sns:publish(\.waitForTaskToken)?", _sns_publish,
                "https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html"),
    Integration("SQS sendMessage", r"arn:aws:states:::sqs:sendMessage(\.waitForTaskToken)?", _sqs_send,
                "https://docs.aws.amazon.com/step-functions/latest/dg/sqs-iam.html"),
    Integration("EventBridge putEvents", r"arn:aws:states:::events:putEvents(\.waitForTaskToken)?", _put_events,
                "https://docs.aws.amazon.com/step-functions/latest/dg/cw-events-iam.html"),
    Integration("Step Functions startExecution",
                r"arn:aws:states:::states:startExecution(\.sync|\.sync:2|\.waitForTaskToken)?", _start_execution,
                "https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html"),
    Integration("ECS runTask", r"arn:aws:states:::ecs:runTask(\.sync|\.waitForTaskToken)?", _ecs_run_task,
                "https://docs.aws.amazon.com/step-functions/latest/dg/ecs-iam.html"),
    Integration("Batch submitJob", r"arn:aws:states:::batch:submitJob(\.sync)?", _batch_submit,
                "https://docs.aws.amazon.com/step-functions/latest/dg/batch-iam.html"),
    Integration("Glue startJobRun", r"arn:aws:states:::glue:startJobRun(\.sync)?", _glue_start,
                "https://docs.aws.amazon.com/step-functions/latest/dg/glue-iam.html"),
    Integration("Bedrock invokeModel", r"arn:aws:states:::bedrock:invokeModel", _bedrock_invoke,
                "https://docs.aws.amazon.com/step-functions/latest/dg/bedrock-iam.html"),
    Integration("HTTP Task", r"arn:aws:states:::http:invoke", _http_invoke,
                "https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html"),
    Integration("AWS SDK", r"arn:aws:states:::aws-sdk:[a-z0-9]+:[a-zA-Z0-9]+(\.waitForTaskToken)?", _aws_sdk,
                "https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html"),
    Integration("Activity", r"arn:aws[a-z-]*:states:[^:]+:\d{12}:activity:.+", _activity,
                "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-activities.html"),
]


def integration_for(resource: str) -> Integration:
    """The catalogue entry of a Task ``Resource``; :class:`UnsupportedTask` when none matches."""
    for entry in CATALOGUE:
        if entry.matches(resource):
            return entry
    raise UnsupportedTask(f"unsupported Task resource {resource!r} (see sfn_patterns.blocks.integrations.CATALOGUE)")


# --- Walking a definition ---------------------------------------------------------------------


def iter_states(
    definition: Mapping[str, Any], path: str = "", jsonata: bool = False
) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """Yield (path, state, uses JSONata) for every state, descending into Parallel branches and Maps."""
    for state_name, state in (definition.get("States") or {}).items():
        if not isinstance(state, Mapping):
            continue
        state_path = f"{path}{state_name}"
        state_jsonata = state.get("QueryLanguage", "JSONata" if jsonata else "JSONPath") == "JSONata"
        yield state_path, state, state_jsonata
        for index, branch in enumerate(state.get("Branches", []) or []):
            yield from iter_states(branch, f"{state_path}/branch{index}/", state_jsonata)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if isinstance(processor, Mapping):
            yield from iter_states(processor, f"{state_path}/", state_jsonata)


def is_distributed_map(state: Mapping[str, Any]) -> bool:
    """Whether a state is a Map in DISTRIBUTED mode."""
    processor = state.get("ItemProcessor")
    return (
        state.get("Type") == "Map"
        and isinstance(processor, Mapping)
        and (processor.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED"
    )


def state_statements(
    path: str, state: Mapping[str, Any], jsonata: bool
) -> tuple[list[Statement], list[NotDerivable]]:
    """The statements one state needs (Task, Distributed Map; others need none) and what it cannot show."""
    if state.get("Type") == "Task":
        resource = state.get("Resource")
        if not isinstance(resource, str):
            raise ValueError(f"state {path!r}: Task Resource must be a static string")
        try:
            entry = integration_for(resource)
        except UnsupportedTask as error:
            raise UnsupportedTask(f"state {path!r}: {error}") from None
        credentials = state.get("Credentials")
        if credentials is not None:
            return _assumed_role(path, credentials, entry.name), []
        task = Task(path, state, entry.name, jsonata)
        try:
            derived = entry.derive(task)
        except NotDerivable as gap:
            task.missing.append(gap)
            derived = []
        return derived, task.missing
    if is_distributed_map(state):
        return distributed_map_statements(path, state, jsonata)
    return [], []


def _assumed_role(path: str, credentials: Any, integration: str) -> list[Statement]:
    """A Task with ``Credentials`` calls its service as the role it names: the state machine's role
    needs only ``sts:AssumeRole`` on it; that role (often in another account) holds the task's permissions
    (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-access-cross-acct-resources.html)."""
    role = credentials.get("RoleArn") if isinstance(credentials, Mapping) else None
    if (not isinstance(credentials, Mapping) or "RoleArn.$" in credentials or _dynamic(role) or _dynamic(credentials)
            or not isinstance(role, str)):
        raise NotDerivable(path, "Credentials.RoleArn", ["sts:AssumeRole"], integration)
    if not (re.fullmatch(r"arn:aws(-[a-z]+)*:iam::\d{12}:role/\S+", role) or "${" in role):
        raise NotDerivable(path, "Credentials.RoleArn", ["sts:AssumeRole"], integration,
                           f"which must be an IAM role ARN, got {role[:80]!r}")
    return [allow(["sts:AssumeRole"], [role])]


def covers(explicit: Sequence[Statement], actions: Sequence[str]) -> bool:
    """Whether explicit Allow statements grant every one of ``actions`` (on some resource)."""
    granted: set[str] = set()
    for stmt in explicit:
        if stmt.get("Effect", "Allow") != "Allow":
            continue
        value = stmt.get("Action", [])
        granted.update([value] if isinstance(value, str) else value)
    return set(actions) <= granted


def statements_for_definition(
    definition: Mapping[str, Any], explicit: Sequence[Statement] = (), check_only: bool = False
) -> list[Statement]:
    """The IAM statements a state machine role needs for ``definition`` (merged, in state order).

    A field only known at run time raises :class:`NotDerivable` unless ``explicit`` grants its
    actions (then the explicit statements stand in for that part, and the state's other parts are
    still derived). ``check_only`` is for a template whose
    ``${Name}`` placeholders are not filled yet: a malformed value that holds a placeholder is
    left to the real derivation. Other errors are ``ValueError``s naming the state.
    """
    jsonata = definition.get("QueryLanguage") == "JSONata"
    statements: list[Statement] = []
    for path, state, state_jsonata in iter_states(definition, jsonata=jsonata):
        try:
            derived, missing = state_statements(path, state, state_jsonata)
            uncovered = [gap for gap in missing if not covers(explicit, gap.actions)]
            if uncovered:
                first = uncovered[0]  # with every action that waits on the same field
                actions = [a for gap in uncovered if gap.field == first.field for a in gap.actions]
                raise NotDerivable(first.state, first.field, actions, first.integration, first.reason)
        except NotDerivable:
            raise  # not a malformed value: the explicit statements must cover it, placeholders or not
        except (KeyError, IndexError, TypeError) as error:
            if check_only and "${" in str(state):
                continue
            raise ValueError(f"state {path!r}: cannot derive IAM permissions: {error!r}") from error
        except UnsupportedTask:
            if check_only and "${" in str(state.get("Resource", "")):
                continue  # a placeholder Resource: judged once filled in
            raise
        except ValueError:
            if check_only and "${" in str(state):
                continue
            raise
        for stmt in derived:
            if stmt not in statements:
                statements.append(stmt)
    return statements
