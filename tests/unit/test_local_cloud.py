"""``MotoCloud``: every resource a program declares is created in moto and its real ids come back.

A small program using every supported family runs under ``run_inline`` with ``MotoCloud`` against
moto in-process; the test then reads the resources back from moto, as a user would.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

import boto3
import pulumi
import pulumi_aws as aws
import pytest
from moto import mock_aws

from local.cloud import MotoCloud, UnsupportedResource, zip_archive
from local.program import ProgramRun, run_inline
from tests.unit.helpers import InProcessAws

LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
AUTONAME = re.compile(r"^(?P<logical>.+)-[0-9a-f]{7}$")


def program() -> None:
    role = aws.iam.Role("fn-role", assume_role_policy=LAMBDA_TRUST)
    aws.iam.RolePolicy("fn-policy", role=role.id, policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}))
    logs = aws.cloudwatch.LogGroup("fn-logs", retention_in_days=7)
    aws.cloudwatch.LogGroup("prefixed", name_prefix="/aws/vendedlogs/states/x-", retention_in_days=1)
    dlq = aws.sqs.Queue("dlq", sqs_managed_sse_enabled=True)
    queue = aws.sqs.Queue("work", visibility_timeout_seconds=60, redrive_policy=dlq.arn.apply(
        lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})))
    aws.sqs.QueuePolicy("work-policy", queue_url=queue.id, policy=queue.arn.apply(lambda arn: json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": arn,
                                                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})))
    fifo = aws.sqs.Queue("ordered", fifo_queue=True, content_based_deduplication=True)
    code = pulumi.AssetArchive({"app.py": pulumi.StringAsset("def handler(event, context):\n    return event\n")})
    fn = aws.lambda_.Function("fn", runtime="python3.14", handler="app.handler", code=code, role=role.arn, timeout=5,
                              environment={"variables": {"QUEUE": queue.url}},
                              logging_config={"log_format": "JSON", "log_group": logs.name})
    aws.lambda_.FunctionEventInvokeConfig("fn-async", function_name=fn.name, maximum_retry_attempts=1,
                                          destination_config={"on_failure": {"destination": dlq.arn}})
    aws.lambda_.EventSourceMapping("fn-queue", event_source_arn=queue.arn, function_name=fn.arn, batch_size=5)
    topic = aws.sns.Topic("topic", kms_master_key_id="alias/aws/sns")
    aws.sns.TopicPolicy("topic-policy", arn=topic.arn, policy=topic.arn.apply(lambda arn: json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
                                                 "Resource": arn}]})))
    aws.sns.TopicSubscription("topic-fn", topic=topic.arn, protocol="lambda", endpoint=fn.arn,
                              redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn})))
    aws.lambda_.Permission("topic-invoke", function=fn.name, action="lambda:InvokeFunction",
                           principal="sns.amazonaws.com", source_arn=topic.arn)
    table = aws.dynamodb.Table("tokens", billing_mode="PAY_PER_REQUEST", hash_key="pk",
                               attributes=[{"name": "pk", "type": "S"}], ttl={"attribute_name": "expiresAt", "enabled": True},
                               server_side_encryption={"enabled": True}, point_in_time_recovery={"enabled": True})
    bus = aws.cloudwatch.EventBus("bus")
    rule = aws.cloudwatch.EventRule("stop", event_bus_name=bus.name, event_pattern=json.dumps({"source": ["demo"]}))
    aws.cloudwatch.EventTarget("stop-fn", rule=rule.name, event_bus_name=bus.name, arn=fn.arn,
                               retry_policy={"maximum_retry_attempts": 4, "maximum_event_age_in_seconds": 3600},
                               dead_letter_config={"arn": dlq.arn})
    machine_role = aws.iam.Role("sm-role", assume_role_policy=LAMBDA_TRUST.replace("lambda", "states"))
    machine = aws.sfn.StateMachine("flow", role_arn=machine_role.arn, definition=fn.arn.apply(lambda arn: json.dumps(
        {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": arn, "End": True}}})))
    aws.cloudwatch.MetricAlarm("failed", comparison_operator="GreaterThanOrEqualToThreshold", evaluation_periods=1,
                               metric_name="ExecutionsFailed", namespace="AWS/States", period=300, statistic="Sum",
                               threshold=1, dimensions={"StateMachineArn": machine.arn}, alarm_actions=[topic.arn])
    key = aws.kms.Key("key", enable_key_rotation=True)
    aws.kms.Alias("key-alias", name="alias/local-test", target_key_id=key.key_id)
    api = aws.apigatewayv2.Api("api", protocol_type="HTTP")
    integration = aws.apigatewayv2.Integration("api-fn", api_id=api.id, integration_type="AWS_PROXY",
                                               integration_uri=fn.arn, payload_format_version="2.0")
    aws.apigatewayv2.Route("api-get", api_id=api.id, route_key="GET /x/{id}", authorization_type="AWS_IAM",
                           target=integration.id.apply(lambda i: f"integrations/{i}"))
    aws.apigatewayv2.Stage("api-default", api_id=api.id, name="$default", auto_deploy=True)
    pulumi.export("url", api.api_endpoint)
    pulumi.export("queueUrl", queue.url)
    pulumi.export("fifo", fifo.name)
    pulumi.export("table", table.arn)


@pytest.fixture(scope="module")
def deployed() -> Iterator[ProgramRun]:
    with mock_aws():
        yield run_inline(MotoCloud(InProcessAws(), "http://127.0.0.1:8080"), program)  # type: ignore[arg-type]


def test_names_follow_pulumi_auto_naming(deployed: ProgramRun) -> None:
    for name in ("fn", "fn-role", "dlq", "work", "topic", "tokens", "bus", "stop", "flow", "failed", "fn-logs"):
        physical = deployed.named(name).state["name"]
        assert AUTONAME.match(physical) and AUTONAME.match(physical)["logical"] == name, physical
    assert deployed.outputs["fifo"].endswith(".fifo")
    assert deployed.named("prefixed").state["name"].startswith("/aws/vendedlogs/states/x-")
    assert deployed.named("key-alias").state["name"] == "alias/local-test"


def test_the_state_is_what_moto_holds(deployed: ProgramRun) -> None:
    fn = deployed.named("fn").state
    config = boto3.client("lambda", region_name="us-east-1").get_function(FunctionName=fn["name"])["Configuration"]
    assert config["FunctionArn"] == fn["arn"] and fn["id"] == fn["name"]
    assert config["Environment"]["Variables"] == {"QUEUE": deployed.outputs["queueUrl"]}
    assert fn["invokeArn"].endswith(f"/functions/{fn['arn']}/invocations")

    queue = deployed.named("work").state
    sqs = boto3.client("sqs", region_name="us-east-1")
    attributes = sqs.get_queue_attributes(QueueUrl=queue["url"], AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == queue["arn"] and attributes["VisibilityTimeout"] == "60"
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"] == deployed.named("dlq").state["arn"]
    assert "SecureTransport" in attributes["Policy"]

    table = deployed.named("tokens").state
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    assert dynamodb.describe_table(TableName=table["name"])["Table"]["TableArn"] == table["arn"]
    assert dynamodb.describe_time_to_live(TableName=table["name"])["TimeToLiveDescription"]["AttributeName"] == "expiresAt"

    subscription = deployed.named("topic-fn").state
    sns = boto3.client("sns", region_name="us-east-1")
    sub_attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["arn"])["Attributes"]
    assert sub_attributes["Endpoint"] == fn["arn"] and "deadLetterTargetArn" in sub_attributes["RedrivePolicy"]

    events = boto3.client("events", region_name="us-east-1")
    bus = deployed.named("bus").state["name"]
    rule = deployed.named("stop").state
    assert deployed.named("stop").state["id"] == f"{bus}/{rule['name']}"
    (target,) = events.list_targets_by_rule(Rule=rule["name"], EventBusName=bus)["Targets"]
    assert target["Arn"] == fn["arn"] and target["RetryPolicy"]["MaximumRetryAttempts"] == 4
    assert target["DeadLetterConfig"]["Arn"] == deployed.named("dlq").state["arn"]

    machine = deployed.named("flow").state
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    assert json.loads(sfn.describe_state_machine(stateMachineArn=machine["arn"])["definition"])["States"]["Call"]["Resource"] == fn["arn"]
    invoke_config = boto3.client("lambda", region_name="us-east-1").get_function_event_invoke_config(FunctionName=fn["name"])
    assert invoke_config["MaximumRetryAttempts"] == 1


def test_http_apis_point_at_the_local_adapter(deployed: ProgramRun) -> None:
    api = deployed.named("api").state
    assert deployed.outputs["url"] == f"http://127.0.0.1:8080/{api['id']}" == api["apiEndpoint"]
    apigw = boto3.client("apigatewayv2", region_name="us-east-1")
    (route,) = apigw.get_routes(ApiId=api["id"])["Items"]
    assert route["RouteKey"] == "GET /x/{id}" and route["AuthorizationType"] == "AWS_IAM"
    integration = apigw.get_integration(ApiId=api["id"], IntegrationId=route["Target"].split("/")[1])
    assert integration["IntegrationUri"] == deployed.named("fn").state["arn"]


def test_an_unknown_resource_type_stops_the_run_naming_it() -> None:
    with mock_aws(), pytest.raises(UnsupportedResource, match=r"'aws:ecs/cluster:Cluster'"):
        run_inline(MotoCloud(InProcessAws(), "http://127.0.0.1:8080"), lambda: aws.ecs.Cluster("cluster"))  # type: ignore[arg-type]


def test_the_deployment_package_holds_the_archive_files(tmp_path: Any) -> None:
    (tmp_path / "mod.py").write_text("x = 1\n")
    archive = pulumi.AssetArchive({"mod.py": pulumi.FileAsset(str(tmp_path / "mod.py")),
                                   "common/__init__.py": pulumi.StringAsset("")})
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(zip_archive(archive))) as bundle:
        assert sorted(bundle.namelist()) == ["common/__init__.py", "mod.py"]
        assert bundle.read("mod.py") == b"x = 1\n"
    assert zip_archive(archive) == zip_archive(archive)  # deterministic: same code, same hash
