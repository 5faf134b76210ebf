"""Each rule catches what it is about: a small program declaring one violation per rule, under mocks.

Every rule of ``rules.RULES`` has a case here (checked), so no rule passes only because the demo
program happens to comply.
"""

from __future__ import annotations

import json
from typing import Callable

import pulumi
import pulumi_aws as aws
import pytest

from local.program import FakeCloud, run_inline
from tests.policy.program import isolated
from tests.policy.rules import RULES, Graph, rule_by_id

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/some-role"
PASS_DEFINITION = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})


def _function(name: str = "fn", **overrides) -> aws.lambda_.Function:
    args = dict(
        runtime="python3.14", handler="reverse.handler", role=ROLE_ARN, code=pulumi.AssetArchive({}),
        timeout=10, memory_size=256, tracing_config={"mode": "Active"},
    )
    args.update(overrides)
    return aws.lambda_.Function(name, **args)


def _state_machine(name: str = "sm", definition: pulumi.Input[str] = PASS_DEFINITION, **overrides) -> aws.sfn.StateMachine:
    group = aws.cloudwatch.LogGroup(f"{name}-logs", retention_in_days=14)
    args = dict(
        role_arn=ROLE_ARN,
        definition=definition,
        logging_configuration={"level": "ALL", "include_execution_data": True,
                               "log_destination": group.arn.apply(lambda a: a + ":*")},
        tracing_configuration={"enabled": True},
    )
    args.update(overrides)
    return aws.sfn.StateMachine(name, **args)


def _role_with(name: str, statements: list) -> aws.iam.Role:
    role = aws.iam.Role(name, assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    aws.iam.RolePolicy(f"{name}-policy", role=role.id,
                       policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}))
    return role


def sfn_not_all() -> None:
    _state_machine("bad", logging_configuration={"level": "ERROR", "include_execution_data": False,
                                                 "log_destination": "arn:aws:logs:us-east-1:1:log-group:elsewhere:*"})


def sfn_unbounded_wait() -> None:
    definition = {"StartAt": "W", "States": {"W": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/1/q", "MessageBody": {"t.$": "$$.Task.Token"}},
        "End": True}}}
    _state_machine("bad", definition=json.dumps(definition))


def lambda_timeout_beyond_api() -> None:
    fn = _function("bad", timeout=60)
    api = aws.apigatewayv2.Api("api", protocol_type="HTTP")
    aws.apigatewayv2.Integration("bad-integration", api_id=api.id, integration_type="AWS_PROXY",
                                 integration_uri=fn.arn, timeout_milliseconds=29000)


def lambda_default_memory() -> None:
    _function("bad", memory_size=None)


def lambda_logs_nowhere() -> None:
    _function("bad")  # no loggingConfig, no /aws/lambda/bad log group: logs kept forever


def lambda_old_runtime() -> None:
    _function("bad", runtime="python3.9")


def lambda_async_without_dlq() -> None:
    fn = _function("bad")
    topic = aws.sns.Topic("topic")
    aws.lambda_.Permission("bad-sns", action="lambda:InvokeFunction", function=fn.name,
                           principal="sns.amazonaws.com", source_arn=topic.arn)
    aws.sns.TopicSubscription("sub", topic=topic.arn, protocol="lambda", endpoint=fn.arn)


def queue_without_tls_policy() -> None:
    aws.sqs.Queue("bad", sqs_managed_sse_enabled=True)


def queue_without_dlq() -> None:
    aws.sqs.Queue("bad", sqs_managed_sse_enabled=True)


def dlq_short_retention() -> None:
    dlq = aws.sqs.Queue("bad", sqs_managed_sse_enabled=True)  # SQS keeps messages 4 days by default
    aws.sqs.Queue("source", sqs_managed_sse_enabled=True,
                  redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})))


def queue_visibility_too_short() -> None:
    queue = aws.sqs.Queue("bad", visibility_timeout_seconds=30)
    fn = _function("consumer", timeout=10)
    aws.lambda_.EventSourceMapping("mapping", event_source_arn=queue.arn, function_name=fn.name)


def topic_without_tls_policy() -> None:
    aws.sns.Topic("bad", kms_master_key_id="alias/aws/sns")


def subscription_dlq_refuses_topic() -> None:
    topic = aws.sns.Topic("topic", kms_master_key_id="alias/aws/sns")
    dlq = aws.sqs.Queue("dlq", sqs_managed_sse_enabled=True)  # no policy letting SNS send
    fn = _function("fn")
    aws.sns.TopicSubscription("bad", topic=topic.arn, protocol="lambda", endpoint=fn.arn,
                              redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn})))


def table_unencrypted() -> None:
    aws.dynamodb.Table("bad", hash_key="pk", attributes=[{"name": "pk", "type": "S"}], billing_mode="PAY_PER_REQUEST",
                       point_in_time_recovery={"enabled": True})


def token_table_without_ttl() -> None:
    table = aws.dynamodb.Table("bad", hash_key="pk", attributes=[{"name": "pk", "type": "S"}],
                               billing_mode="PAY_PER_REQUEST", server_side_encryption={"enabled": True})
    role = _role_with("register-role", [{"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": [table.arn]}])
    fn = _function("register", role=role.arn)
    definition = fn.arn.apply(lambda arn: json.dumps({"StartAt": "W", "States": {"W": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": arn, "Payload": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 60, "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "F"}], "End": True},
        "F": {"Type": "Fail", "Error": "TimedOut"}}}))
    _state_machine("sm", definition=definition)


def _event_target(**overrides) -> None:
    bus = aws.cloudwatch.EventBus("bus")
    rule = aws.cloudwatch.EventRule("rule", event_bus_name=bus.name, event_pattern=json.dumps({"source": ["x"]}))
    fn = _function("fn")
    args = dict(rule=rule.name, event_bus_name=bus.name, arn=fn.arn)
    args.update(overrides)
    aws.cloudwatch.EventTarget("bad", **args)


def event_target_without_retry() -> None:
    _event_target()


def event_target_without_dlq() -> None:
    _event_target(retry_policy={"maximum_retry_attempts": 4, "maximum_event_age_in_seconds": 3600})


def api_without_throttling() -> None:
    api = aws.apigatewayv2.Api("bad", protocol_type="HTTP")
    aws.apigatewayv2.Stage("stage", api_id=api.id, name="$default", auto_deploy=True)


def wildcard_action() -> None:
    _role_with("role", [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::bucket/*"]}])


def wildcard_resource() -> None:
    _role_with("role", [{"Effect": "Allow", "Action": ["xray:PutTraceSegments", "dynamodb:GetItem"], "Resource": ["*"]}])


def public_queue_policy() -> None:
    queue = aws.sqs.Queue("queue", sqs_managed_sse_enabled=True)
    aws.sqs.QueuePolicy("bad", queue_url=queue.id, policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": queue.arn}]}))


def managed_policy() -> None:
    role = aws.iam.Role("role", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    aws.iam.RolePolicyAttachment("bad", role=role.name, policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")


#: rule id -> (program declaring a violation, logical name of the resource that must fail).
VIOLATIONS: dict[str, tuple[Callable[[], None], str]] = {
    "SFN-LOG-ALL": (sfn_not_all, "bad"),
    "SFN-WAIT-BOUNDED": (sfn_unbounded_wait, "bad"),
    "LAMBDA-TIMEOUT": (lambda_timeout_beyond_api, "bad"),
    "LAMBDA-MEMORY": (lambda_default_memory, "bad"),
    "LAMBDA-LOGS": (lambda_logs_nowhere, "bad"),
    "LAMBDA-RUNTIME": (lambda_old_runtime, "bad"),
    "LAMBDA-ASYNC-DLQ": (lambda_async_without_dlq, "bad"),
    "SQS-TLS-ONLY": (queue_without_tls_policy, "bad"),
    "SQS-DLQ": (queue_without_dlq, "bad"),
    "SQS-DLQ-RETENTION": (dlq_short_retention, "bad"),
    "SQS-VISIBILITY": (queue_visibility_too_short, "bad"),
    "SNS-TLS-ONLY": (topic_without_tls_policy, "bad"),
    "SNS-SUBSCRIPTION-DLQ": (subscription_dlq_refuses_topic, "bad"),
    "DDB-ENCRYPTED": (table_unencrypted, "bad"),
    "DDB-TTL-TOKENS": (token_table_without_ttl, "bad"),
    "EVENTS-TARGET-RETRY": (event_target_without_retry, "bad"),
    "EVENTS-TARGET-DLQ": (event_target_without_dlq, "bad"),
    "API-THROTTLING": (api_without_throttling, "bad"),
    "IAM-NO-WILDCARD-ACTION": (wildcard_action, "role-policy"),
    "IAM-WILDCARD-RESOURCE": (wildcard_resource, "role-policy"),
    "IAM-NO-PUBLIC-PRINCIPAL": (public_queue_policy, "bad"),
    "IAM-NO-MANAGED-POLICY": (managed_policy, "bad"),
}


def test_every_rule_has_a_violation_case() -> None:
    assert set(VIOLATIONS) == {r.id for r in RULES}


@pytest.mark.parametrize("rule_id", sorted(VIOLATIONS))
def test_rule_catches_its_violation(rule_id: str) -> None:
    build, culprit = VIOLATIONS[rule_id]
    graph = Graph(isolated(run_inline, FakeCloud(), build))
    rule = rule_by_id(rule_id)
    targets = [r for r in rule.targets(graph) if r.name == culprit]
    assert targets, f"{rule_id} does not look at {culprit!r}"
    assert rule.check(targets[0], graph), f"{rule_id} lets {culprit!r} through"
