"""The integration catalogue: each example workflow's role is exactly the statements AWS documents.

Every file of examples/workflows/ is rendered by ``Workflow`` under Pulumi mocks; the role's
statements (less the log delivery and X-Ray ones every state machine has) are compared with the
policy on the AWS page cited beside the catalogue entry (sfn_patterns/blocks/integrations.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sfn_patterns.blocks import iam
from sfn_patterns.blocks.integrations import NotDerivable, UnsupportedTask, sdk_iam_actions, statements_for_definition
from sfn_patterns.patterns.workflow import Workflow, WorkflowDefinitionError
from local.program import FakeCloud, run_inline
from tests.unit.helpers import build, policy_statements

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
R, A = "us-east-1", "123456789012"
FN = f"arn:aws:lambda:{R}:{A}:function:score"
FN2 = f"arn:aws:lambda:{R}:{A}:function:approve"
TABLE = f"arn:aws:dynamodb:{R}:{A}:table/orders"
TOPIC = f"arn:aws:sns:{R}:{A}:notices"
QUEUE_URL = f"https://sqs.{R}.amazonaws.com/{A}/work"
QUEUE = f"arn:aws:sqs:{R}:{A}:work"
BUS = f"arn:aws:events:{R}:{A}:event-bus/orders"
CHILD = f"arn:aws:states:{R}:{A}:stateMachine:child"
EXPRESS = f"arn:aws:states:{R}:{A}:stateMachine:express-child"
CLUSTER = f"arn:aws:ecs:{R}:{A}:cluster/render"
TASK_DEF = f"arn:aws:ecs:{R}:{A}:task-definition/render:3"
TASK_ROLE = f"arn:aws:iam::{A}:role/render-task"
EXEC_ROLE = f"arn:aws:iam::{A}:role/render-exec"
JOB_QUEUE = f"arn:aws:batch:{R}:{A}:job-queue/crunch"
JOB_DEF = f"arn:aws:batch:{R}:{A}:job-definition/crunch:1"
CONNECTION = f"arn:aws:events:{R}:{A}:connection/payments/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
SECRET = f"arn:aws:secretsmanager:{R}:{A}:secret:api-key-AbCdEf"
SUBSTITUTIONS = {
    "ScoreFunction": FN, "ApproveFunction": FN2, "OrdersTable": TABLE, "NoticeTopic": TOPIC,
    "WorkQueueUrl": QUEUE_URL, "OrdersBus": BUS, "Child": CHILD, "ExpressChild": EXPRESS,
    "Cluster": CLUSTER, "TaskDefinition": TASK_DEF, "Subnet": "subnet-0abc", "TaskRole": TASK_ROLE,
    "ExecutionRole": EXEC_ROLE, "JobQueue": JOB_QUEUE, "JobDefinition": JOB_DEF,
    "PaymentsConnection": CONNECTION, "Bucket": "orders-bucket", "ApiSecret": SECRET, "DataBucket": "data-bucket",
}
EVENTS_RULE = ["events:DescribeRule", "events:PutRule", "events:PutTargets"]


def allow(actions: list[str], resources: list[str], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        stmt["Condition"] = condition
    return stmt


#: file -> (the role's statements, the statements naming the machine itself) as AWS documents them.
DOCUMENTED: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    # https://docs.aws.amazon.com/step-functions/latest/dg/lambda-iam.html
    "lambda.yaml": ([allow(["lambda:InvokeFunction"], [FN, FN + ":*"]),
                     allow(["lambda:InvokeFunction"], [FN2, FN2 + ":*"])], []),
    # https://docs.aws.amazon.com/step-functions/latest/dg/dynamo-iam.html
    "dynamodb.yaml": ([allow([f"dynamodb:{a}"], [TABLE]) for a in ("PutItem", "GetItem", "UpdateItem", "DeleteItem")], []),
    # https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html, .../sqs-iam.html
    "messaging.yaml": ([allow(["sns:Publish"], [TOPIC]), allow(["sqs:SendMessage"], [QUEUE])], []),
    # https://docs.aws.amazon.com/step-functions/latest/dg/cw-events-iam.html
    "eventbridge.yaml": ([allow(["events:PutEvents"], [BUS])], []),
    # https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html
    "nested.yaml": ([
        allow(["states:StartExecution"], [CHILD]),
        allow(["states:DescribeExecution", "states:StopExecution"], [f"arn:aws:states:{R}:{A}:execution:child:*"]),
        allow(EVENTS_RULE, [f"arn:aws:events:{R}:{A}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"]),
        allow(["states:StartSyncExecution"], [EXPRESS]),
    ], []),
    # https://docs.aws.amazon.com/step-functions/latest/dg/ecs-iam.html
    "ecs.yaml": ([
        allow(["ecs:RunTask"], [TASK_DEF]),
        allow(["ecs:DescribeTasks", "ecs:StopTask"], ["*"]),
        allow(EVENTS_RULE, [f"arn:aws:events:{R}:{A}:rule/StepFunctionsGetEventsForECSTaskRule"]),
        allow(["iam:PassRole"], [TASK_ROLE, EXEC_ROLE], {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
    ], []),
    # https://docs.aws.amazon.com/step-functions/latest/dg/batch-iam.html
    "batch.yaml": ([
        allow(["batch:DescribeJobs", "batch:SubmitJob", "batch:TerminateJob"], ["*"]),
        allow(EVENTS_RULE, [f"arn:aws:events:{R}:{A}:rule/StepFunctionsGetEventsForBatchJobsRule"]),
    ], []),
    # https://docs.aws.amazon.com/step-functions/latest/dg/glue-iam.html
    "glue.yaml": ([allow(["glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun"], ["*"])], []),
    # https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html#connect-http-task-permissions
    "http.yaml": ([
        allow(["events:RetrieveConnectionCredentials"], [CONNECTION]),
        allow(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
              [f"arn:aws:secretsmanager:{R}:{A}:secret:events!connection/payments/*"]),
    ], [allow(["states:InvokeHTTPEndpoint"], ["<self>"], {
        "StringEquals": {"states:HTTPMethod": "POST"},
        "StringLike": {"states:HTTPEndpoint": "https://api.example.com/v1/charges*"},
    })]),
    # https://docs.aws.amazon.com/step-functions/latest/dg/bedrock-iam.html
    "bedrock.yaml": ([allow(["bedrock:InvokeModel"],
                            ["arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"])], []),
    # https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
    "aws_sdk.yaml": ([
        allow(["s3:GetObject"], ["arn:aws:s3:::orders-bucket/inbox/order.json"]),
        allow(["s3:PutObject"], ["arn:aws:s3:::orders-bucket/outbox/order.json"]),
        allow(["sqs:ReceiveMessage"], [QUEUE]),
        allow(["secretsmanager:GetSecretValue"], [SECRET]),
        allow(["dynamodb:Query"], [TABLE]),
    ], []),
    # https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html
    "distributed_map.yaml": ([
        allow(["s3:GetObject"], ["arn:aws:s3:::data-bucket/input/rows.csv"]),
        allow(["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
              ["arn:aws:s3:::data-bucket/results/*"]),
    ], [
        allow(["states:StartExecution"], ["<self>"]),
        allow(["states:DescribeExecution", "states:StopExecution"], ["<self-executions>"]),
    ]),
    "jsonata.yaml": ([allow(["dynamodb:PutItem"], [TABLE]), allow(["sns:Publish"], [TOPIC])], []),
}


def _roles(file: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    run = build(lambda: Workflow("wf", {"definition_file": str(EXAMPLES / file), "substitutions": SUBSTITUTIONS}))
    baseline = json.loads(json.dumps(iam.grant_log_delivery() + iam.grant_xray_write()))
    main = [s for s in policy_statements(run, "wf-policy") if s not in baseline]
    own_policies = [r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "wf-own-policy"]
    own = json.loads(own_policies[0].inputs["policy"])["Statement"] if own_policies else []
    arn = run.named_of("aws:sfn/stateMachine:StateMachine", "wf").state["arn"]
    return main, own, arn


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted(DOCUMENTED)


@pytest.mark.parametrize("file", sorted(DOCUMENTED))
def test_example_role_is_what_aws_documents(file: str) -> None:
    main, own, arn = _roles(file)
    expected_main, expected_own = DOCUMENTED[file]
    executions = arn.replace(":stateMachine:", ":execution:") + "/*"
    expected_own = json.loads(json.dumps(expected_own).replace("<self-executions>", executions).replace("<self>", arn))
    assert main == expected_main
    assert own == expected_own


def _task(resource: str, **params: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "Parameters": params, "End": True}}}


def test_dynamic_table_name_names_the_state_and_the_statements_arg() -> None:
    with pytest.raises(NotDerivable, match=r"state 'T'.*'Parameters\.TableName'.*`statements` arg.*dynamodb:GetItem"):
        statements_for_definition(_task("arn:aws:states:::dynamodb:getItem", **{"TableName.$": "$.table", "Key": {}}))


def test_dynamic_jsonata_argument_is_not_derivable() -> None:
    definition = {"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish",
        "Arguments": {"TopicArn": "{% $states.input.topic %}", "Message": "x"}, "End": True}}}
    with pytest.raises(NotDerivable, match=r"Arguments\.TopicArn"):
        statements_for_definition(definition)


def test_explicit_statements_cover_a_dynamic_field_and_are_added_not_replacing() -> None:
    definition = _task("arn:aws:states:::dynamodb:getItem", **{"TableName.$": "$.table", "Key": {}})
    explicit = [allow(["dynamodb:GetItem"], [TABLE])]
    assert statements_for_definition(definition, explicit) == []  # the explicit statement stands in
    # Under Workflow the explicit statements join the derived ones in the role.
    def program() -> None:
        from sfn_patterns.blocks.state_machine import StateMachine

        StateMachine("sm", {"definition": {"StartAt": "A", "States": {
            "A": {**definition["States"]["T"], "End": None, "Next": "B"},
            "B": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                  "Parameters": {"TopicArn": TOPIC, "Message": "m"}, "End": True}}}, "statements": explicit})

    statements = policy_statements(build(program), "sm-policy")
    assert allow(["sns:Publish"], [TOPIC]) in statements and allow(["dynamodb:GetItem"], [TABLE]) in statements


def test_ecs_without_role_overrides_asks_for_pass_role_but_keeps_the_rest() -> None:
    definition = _task("arn:aws:states:::ecs:runTask.sync", Cluster=CLUSTER, TaskDefinition="render:3")
    with pytest.raises(NotDerivable, match=r"iam:PassRole"):
        statements_for_definition(definition)
    pass_role = allow(["iam:PassRole"], [TASK_ROLE])
    derived = statements_for_definition(definition, [pass_role])
    assert derived[0] == allow(["ecs:RunTask"], [TASK_DEF])
    assert len(derived) == 3


def test_unsupported_resource_and_unmapped_sdk_names_are_refused() -> None:
    with pytest.raises(UnsupportedTask, match=r"state 'T'.*arn:aws:states:::nosuch:thing"):
        statements_for_definition(_task("arn:aws:states:::nosuch:thing"))
    with pytest.raises(NotDerivable, match=r"aws-sdk:cloudwatchlogs:putLogEvents.*logs:PutLogEvents"):
        statements_for_definition(_task("arn:aws:states:::aws-sdk:cloudwatchlogs:putLogEvents", logGroupName="g"))


@pytest.mark.parametrize("service, action, expected", [
    ("sfn", "startSyncExecution", ["states:StartSyncExecution"]),
    ("cloudwatchlogs", "putLogEvents", ["logs:PutLogEvents"]),
    ("eventbridge", "putEvents", ["events:PutEvents"]),
    ("s3", "listObjectsV2", ["s3:ListBucket"]),
    ("efs", "describeFileSystems", ["elasticfilesystem:DescribeFileSystems"]),
    ("sqs", "receiveMessage", ["sqs:ReceiveMessage"]),
    ("bedrockruntime", "invokeModel", ["bedrock:InvokeModel"]),
    ("s3control", "createJob", ["s3:CreateJob"]),
    ("configservice", "putEvaluations", ["config:PutEvaluations"]),
    ("redshiftdata", "executeStatement", ["redshift-data:ExecuteStatement"]),
    ("rdsdata", "executeStatement", ["rds-data:ExecuteStatement"]),
    ("resourcegroupstaggingapi", "getResources", ["tag:GetResources"]),
    ("cloudcontrol", "getResource", ["cloudformation:GetResource"]),
    ("s3", "deleteObjects", ["s3:DeleteObject"]),
    ("s3", "listObjectVersions", ["s3:ListBucketVersions"]),
    ("s3", "createMultipartUpload", ["s3:PutObject"]),
    ("dynamodb", "executeStatement",
     ["dynamodb:PartiQLSelect", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"]),
])
def test_sdk_iam_action_names(service: str, action: str, expected: list[str]) -> None:
    assert sdk_iam_actions(service, action) == expected


@pytest.mark.parametrize("resource, params, actions", [
    # A resource the task does not give (SMS, tables under RequestItems) or gives by another name (a KMS
    # alias): not derivable, named with the statements arg, and covered by explicit statements.
    ("arn:aws:states:::sns:publish", {"PhoneNumber": "+15555550100", "Message": "hi"}, ["sns:Publish"]),
    ("arn:aws:states:::aws-sdk:dynamodb:batchGetItem", {"RequestItems": {"t": {"Keys": []}}}, ["dynamodb:BatchGetItem"]),
    ("arn:aws:states:::aws-sdk:dynamodb:listTables", {}, ["dynamodb:ListTables"]),
    ("arn:aws:states:::aws-sdk:kms:encrypt", {"KeyId": "alias/k", "Plaintext": "x"}, ["kms:Encrypt"]),
    ("arn:aws:states:::aws-sdk:kms:encrypt", {"KeyId": f"arn:aws:kms:{R}:{A}:alias/k", "Plaintext": "x"}, ["kms:Encrypt"]),
])
def test_a_resource_the_task_does_not_show_is_fixed_by_the_statements_arg(
    resource: str, params: dict[str, Any], actions: list[str]
) -> None:
    with pytest.raises(NotDerivable, match=r"state 'T'.*`statements` arg"):
        statements_for_definition(_task(resource, **params))
    assert statements_for_definition(_task(resource, **params), [allow(actions, ["*"])]) == []


def test_an_arn_of_another_service_is_refused_in_every_partition() -> None:
    for topic in ("arn:aws:sns:us-east-1:123456789012:t", "arn:aws-cn:sns:cn-north-1:123456789012:t"):
        with pytest.raises(NotDerivable, match=r"must be the dynamodb ARN"):
            statements_for_definition(_task("arn:aws:states:::aws-sdk:dynamodb:getItem", TableName=topic, Key={}))
    china = "arn:aws-cn:sns:cn-north-1:123456789012:t"
    assert statements_for_definition(_task("arn:aws:states:::sns:publish", TopicArn=china, Message="m")) == [
        allow(["sns:Publish"], [china])]


def test_sdk_s3_copy_reads_its_source_and_a_bucket_arn_is_a_bucket() -> None:
    copy = _task("arn:aws:states:::aws-sdk:s3:copyObject", Bucket="arn:aws:s3:::dest", Key="k", CopySource="src/a%20b.txt")
    assert statements_for_definition(copy) == [
        allow(["s3:GetObject"], ["arn:aws:s3:::src/a b.txt"]), allow(["s3:PutObject"], ["arn:aws:s3:::dest/k"])]


def test_glue_has_no_callback_pattern() -> None:
    with pytest.raises(UnsupportedTask):
        statements_for_definition(_task("arn:aws:states:::glue:startJobRun.waitForTaskToken", JobName="j"))


def test_workflow_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "dyn.yaml"
    path.write_text(
        "StartAt: T\nStates:\n  T:\n    Type: Task\n    Resource: arn:aws:states:::dynamodb:getItem\n"
        "    Parameters: {TableName.$: $.t, Key: {}}\n    End: true\n"
    )
    mocks = FakeCloud()
    with pytest.raises(WorkflowDefinitionError, match=r"dyn\.yaml: state 'T'.*TableName.*`statements`"):
        run_inline(mocks, lambda: Workflow("wf", {"definition_file": str(path)}))
    assert mocks.declared == []  # stopped before any resource, the component included


def test_a_result_writer_prefix_with_a_trailing_slash_is_one_prefix() -> None:
    from sfn_patterns.blocks.integrations import distributed_map_statements

    for prefix in ("res", "res/", "/res/"):
        state = {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}},
                 "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "o", "Prefix": prefix}}}
        assert distributed_map_statements("M", state, False)[0][-1]["Resource"] == ["arn:aws:s3:::o/res/*"]


# --- Held-out definitions (found by probing): each part of a task's IAM stands on its own ------------


def _state(resource: str, **params: Any) -> dict[str, Any]:
    return _task(resource, **params)["States"]["T"]


def test_a_dynamic_field_covered_by_statements_keeps_the_states_other_parts() -> None:
    # A Distributed Map whose ItemReader key is dynamic still starts, describes and stops its children
    # and writes its results (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html).
    dist_map = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket": "data-bucket", "Key.$": "$.key"}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "data-bucket", "Prefix": "results"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}}
    with pytest.raises(NotDerivable, match=r"ItemReader.*Parameters\.Key.*s3:GetObject"):
        statements_for_definition(dist_map)
    explicit = [allow(["s3:GetObject"], ["arn:aws:s3:::data-bucket/input/*"])]
    derived = statements_for_definition(dist_map, explicit)
    assert allow(["states:StartExecution"], ["${Self::StateMachineArn}"]) in derived
    assert allow(["states:DescribeExecution", "states:StopExecution"], ["${Self::MapRunExecutions}"]) in derived
    assert allow(["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
                 ["arn:aws:s3:::data-bucket/results/*"]) in derived


@pytest.mark.parametrize("resource, params, explicit_actions, kept", [
    # .sync:2 with a dynamic child: the managed rule is the parent's own, in its region and account.
    ("arn:aws:states:::states:startExecution.sync:2", {"StateMachineArn.$": "$.child", "Input": {}},
     ["states:StartExecution", "states:DescribeExecution", "states:StopExecution"],
     allow(EVENTS_RULE, ["arn:aws:events:${Self::Region}:${Self::Account}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"])),
    ("arn:aws:states:::ecs:runTask.sync",
     {"Cluster": CLUSTER, "TaskDefinition.$": "$.td", "Overrides": {"TaskRoleArn": TASK_ROLE, "ExecutionRoleArn": EXEC_ROLE}},
     ["ecs:RunTask"], allow(["ecs:DescribeTasks", "ecs:StopTask"], ["*"])),
    ("arn:aws:states:::batch:submitJob.sync", {"JobQueue.$": "$.q", "JobDefinition": JOB_DEF, "JobName": "j"},
     [], allow(["batch:DescribeJobs", "batch:SubmitJob", "batch:TerminateJob"], ["*"])),
    ("arn:aws:states:::http:invoke", {"ApiEndpoint.$": "$.url", "Method": "GET",
                                      "Authentication": {"ConnectionArn": CONNECTION}},
     ["states:InvokeHTTPEndpoint"], allow(["events:RetrieveConnectionCredentials"], [CONNECTION])),
    ("arn:aws:states:::bedrock:invokeModel", {"ModelId.$": "$.model", "Input": {"S3Uri": "s3://in/prompt.json"}},
     ["bedrock:InvokeModel"], allow(["s3:GetObject"], ["arn:aws:s3:::in/prompt.json"])),
])
def test_each_part_of_a_task_is_derived_on_its_own(
    resource: str, params: dict[str, Any], explicit_actions: list[str], kept: dict[str, Any]
) -> None:
    explicit = [allow(explicit_actions, ["*"])] if explicit_actions else []
    assert kept in statements_for_definition(_task(resource, **params), explicit)


def test_ecs_overriding_one_role_still_asks_for_the_other() -> None:
    # https://docs.aws.amazon.com/step-functions/latest/dg/ecs-iam.html: both the task's roles are passed.
    definition = _task("arn:aws:states:::ecs:runTask", Cluster=CLUSTER, TaskDefinition=TASK_DEF,
                       Overrides={"TaskRoleArn": TASK_ROLE})
    with pytest.raises(NotDerivable, match=r"ExecutionRoleArn.*iam:PassRole"):
        statements_for_definition(definition)


@pytest.mark.parametrize("resource, params, expected", [
    # A query or scan of an index is authorised on the index
    # (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/api-permissions-reference.html).
    ("arn:aws:states:::aws-sdk:dynamodb:query", {"TableName": TABLE, "IndexName": "byCustomer"},
     [allow(["dynamodb:Query"], [f"{TABLE}/index/byCustomer"])]),
    ("arn:aws:states:::aws-sdk:dynamodb:scan", {"TableName": TABLE}, [allow(["dynamodb:Scan"], [TABLE])]),
    # A partial secret ARN (no random suffix) matches the secret as name-??????.
    ("arn:aws:states:::aws-sdk:secretsmanager:getSecretValue", {"SecretId": f"arn:aws:secretsmanager:{R}:{A}:secret:api-key"},
     [allow(["secretsmanager:GetSecretValue"], [f"arn:aws:secretsmanager:{R}:{A}:secret:api-key-??????"])]),
    ("arn:aws:states:::aws-sdk:secretsmanager:getSecretValue", {"SecretId": SECRET},
     [allow(["secretsmanager:GetSecretValue"], [SECRET])]),
    # S3 actions on the bucket are granted on the bucket ARN, object actions on objects.
    ("arn:aws:states:::aws-sdk:s3:getBucketLocation", {"Bucket": "b"}, [allow(["s3:GetBucketLocation"], ["arn:aws:s3:::b"])]),
    ("arn:aws:states:::aws-sdk:s3:putBucketPolicy", {"Bucket": "b", "Policy": "{}"}, [allow(["s3:PutBucketPolicy"], ["arn:aws:s3:::b"])]),
    ("arn:aws:states:::aws-sdk:s3:getBucketEncryption", {"Bucket": "b"},
     [allow(["s3:GetEncryptionConfiguration"], ["arn:aws:s3:::b"])]),
    ("arn:aws:states:::aws-sdk:s3:listMultipartUploads", {"Bucket": "b"},
     [allow(["s3:ListBucketMultipartUploads"], ["arn:aws:s3:::b"])]),
    ("arn:aws:states:::aws-sdk:s3:listBuckets", {}, [allow(["s3:ListAllMyBuckets"], ["*"])]),
    ("arn:aws:states:::aws-sdk:s3:deleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}]}},
     [allow(["s3:DeleteObject"], ["arn:aws:s3:::b/x", "arn:aws:s3:::b/y"])]),
    # A literal * or ? in a key is written as IAM's ${*} / ${?}, not a wildcard.
    ("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "b", "Key": "reports/*?.csv"},
     [allow(["s3:GetObject"], ["arn:aws:s3:::b/reports/${*}${?}.csv"])]),
    # Credentials: the task runs as the role it names; this role needs only sts:AssumeRole on it
    # (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-access-cross-acct-resources.html).
    ("arn:aws:states:::dynamodb:getItem", {"TableName": "arn:aws:dynamodb:us-east-1:999999999999:table/t", "Key": {}},
     [allow(["sts:AssumeRole"], ["arn:aws:iam::999999999999:role/reader"])]),
    # An execution through an alias or a version is an execution of the state machine.
    ("arn:aws:states:::states:startExecution.sync", {"StateMachineArn": f"{CHILD}:prod"}, [
        allow(["states:StartExecution"], [f"{CHILD}:prod"]),
        allow(["states:DescribeExecution", "states:StopExecution"], [f"arn:aws:states:{R}:{A}:execution:child:*"]),
        allow(EVENTS_RULE, ["arn:aws:events:${Self::Region}:${Self::Account}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"]),
    ]),
    # Bedrock: an inference profile also needs its foundation model (in each Region it routes to)
    # (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html).
    ("arn:aws:states:::bedrock:invokeModel", {"ModelId": "us.anthropic.claude-3-haiku-20240307-v1:0"}, [allow(["bedrock:InvokeModel"], [
        "arn:aws:bedrock:${Self::Region}:${Self::Account}:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"])]),
    ("arn:aws:states:::bedrock:invokeModel",
     {"ModelId": f"arn:aws:bedrock:{R}:{A}:inference-profile/eu.amazon.nova-lite-v1:0"}, [allow(["bedrock:InvokeModel"], [
         f"arn:aws:bedrock:{R}:{A}:inference-profile/eu.amazon.nova-lite-v1:0",
         "arn:aws:bedrock:*::foundation-model/amazon.nova-lite-v1:0"])]),
])
def test_held_out_resources_get_what_aws_documents(resource: str, params: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    definition = _task(resource, **params)
    if "999999999999" in json.dumps(params):
        definition["States"]["T"]["Credentials"] = {"RoleArn": "arn:aws:iam::999999999999:role/reader"}
    assert statements_for_definition(definition) == expected


@pytest.mark.parametrize("resource, params, field", [
    ("arn:aws:states:::aws-sdk:dynamodb:query", {"TableName": TABLE, "IndexName.$": "$.index"}, "IndexName"),
    ("arn:aws:states:::bedrock:invokeModel", {"ModelId": TOPIC}, "ModelId"),
    ("arn:aws:states:::bedrock:invokeModel", {"ModelId": f"arn:aws:bedrock:{R}:{A}:application-inference-profile/abc123"},
     "ModelId (the foundation models"),
    ("arn:aws:states:::states:startExecution", {"StateMachineArn": f"arn:aws:states:{R}:{A}:activity:a"}, "StateMachineArn"),
    ("arn:aws:states:::dynamodb:getItem", {"TableName": "arn:aws:dynamodb:", "Key": {}}, "TableName"),
])
def test_held_out_resources_that_cannot_be_derived_name_the_field(resource: str, params: dict[str, Any], field: str) -> None:
    with pytest.raises(NotDerivable, match=re.escape(field)):
        statements_for_definition(_task(resource, **params))


def test_a_dynamic_credentials_role_is_not_derivable() -> None:
    definition = _task("arn:aws:states:::dynamodb:getItem", TableName=TABLE, Key={})
    definition["States"]["T"]["Credentials"] = {"RoleArn.$": "$.role"}
    with pytest.raises(NotDerivable, match=r"Credentials\.RoleArn.*sts:AssumeRole"):
        statements_for_definition(definition)


@pytest.mark.parametrize("resource, params", [
    ("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "arn:aws-cn:s3:::b", "Key": "k"}),
])
def test_a_resource_we_would_build_in_the_wrong_partition_is_refused(resource: str, params: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="aws partition"):
        statements_for_definition(_task(resource, **params))
    dist_map = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": True, "ItemReader": {"Resource": "arn:aws-cn:states:::s3:getObject", "Parameters": {"Bucket": "b", "Key": "k"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}}
    with pytest.raises(UnsupportedTask, match="ItemReader"):
        statements_for_definition(dist_map)
