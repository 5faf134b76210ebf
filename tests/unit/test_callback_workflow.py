"""CallbackWorkflow (and the demo external service) under Pulumi mocks: resources, IAM, encryption, ASL, config."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from sfn_patterns.patterns.callback_workflow import CallbackWorkflow, callback_definition, check_timeouts
from sfn_patterns.demo.external_service import DemoExternalService
from local.program import FakeCloud, ProgramRun, run_program
from tests.unit.helpers import DEMO_HANDLERS, component_resources, actions, build, policy_statements

ACCOUNT_REGION = "us-east-1:123456789012"
SM = f"arn:aws:states:{ACCOUNT_REGION}:stateMachine:cb"
TABLE = f"arn:aws:dynamodb:{ACCOUNT_REGION}:table/cb-tokens"
TOPIC = f"arn:aws:sns:{ACCOUNT_REGION}:cb-tasks"
LOGS_AND_XRAY = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
                 "xray:GetSamplingRules", "xray:GetSamplingTargets"}


def _callback(args: dict[str, Any] | None = None) -> ProgramRun:
    def program() -> None:
        component = CallbackWorkflow("cb", args or {})
        pulumi.export("url", component.url)
        pulumi.export("topic_arn", component.topic_arn)
        pulumi.export("table_name", component.table_name)
        pulumi.export("state_machine_arn", component.state_machine_arn)

    return build(program)


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return _callback()


def _definition(run: ProgramRun) -> dict[str, Any]:
    return json.loads(run.named_of("aws:sfn/stateMachine:StateMachine", "cb").inputs["definition"])


def _non_baseline(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if not set(s["Action"]) <= LOGS_AND_XRAY]


def test_outputs(run: ProgramRun) -> None:
    api = run.named_of("aws:apigatewayv2/api:Api", "cb-api")
    assert run.outputs == {
        "url": api.state["apiEndpoint"],
        "topic_arn": TOPIC,
        "table_name": "cb-tokens",
        "state_machine_arn": SM,
    }


def test_every_resource_is_parented_under_the_component(run: ProgramRun) -> None:
    # (The mock URNs carry the immediate parent's type only.) Every building block sits in the
    # component, and every cloud resource in the component or one of those building blocks.
    blocks = [r for r in component_resources(run) if not r.custom and r.type != "sfn-patterns:index:CallbackWorkflow"]
    assert {b.type for b in blocks} == {"sfn-patterns:index:HandlerFunction", "sfn-patterns:index:StateMachine",
                                        "sfn-patterns:index:HttpApi"}
    assert all(b.parent_types == ["sfn-patterns:index:CallbackWorkflow"] for b in blocks)
    allowed = {"sfn-patterns:index:CallbackWorkflow"} | {b.type for b in blocks}
    assert all(r.parent_types and r.parent_types[-1] in allowed for r in component_resources(run) if r.custom)
    kinds = {(r.type, r.name) for r in run.resources}
    for expected in [
        ("aws:dynamodb/table:Table", "cb-tokens"),
        ("aws:sns/topic:Topic", "cb-tasks"),
        ("aws:lambda/function:Function", "cb-register"),
        ("aws:lambda/function:Function", "cb-api"),
        ("aws:sfn/stateMachine:StateMachine", "cb"),
        ("aws:apigatewayv2/api:Api", "cb-api"),
    ]:
        assert expected in kinds
    assert len(run.of_type("aws:lambda/function:Function")) == 2  # no Lambda beyond register and the routes


def test_token_table_is_encrypted_with_ttl_and_the_topic_encrypted(run: ProgramRun) -> None:
    table = run.named_of("aws:dynamodb/table:Table", "cb-tokens")
    assert table.inputs["hashKey"] == "pk" and table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["serverSideEncryption"] == {"enabled": True}
    assert table.inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}
    topic = run.named_of("aws:sns/topic:Topic", "cb-tasks")
    assert topic.inputs["kmsMasterKeyId"] == "alias/aws/sns"
    policy = json.loads(run.named_of("aws:sns/topicPolicy:TopicPolicy", "cb-tasks-policy").inputs["policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_register_lambda_may_only_put_tokens_and_publish(run: ProgramRun) -> None:
    statements = policy_statements(run, "cb-register-policy")
    assert _non_baseline(statements) == [
        {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": [TABLE]},
        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": [TOPIC]},
    ]
    fn = run.named_of("aws:lambda/function:Function", "cb-register")
    assert fn.inputs["handler"] == "callback_register.handler"
    assert fn.inputs["environment"]["variables"] == {
        "TABLE_NAME": "cb-tokens",
        "TOPIC_ARN": TOPIC,
        "API_URL": run.named_of("aws:apigatewayv2/api:Api", "cb-api").state["apiEndpoint"],
        "TASK_TIMEOUT_SECONDS": "3600",
    }


def test_api_lambda_may_only_start_read_operate_complete_and_use_the_table(run: ProgramRun) -> None:
    statements = policy_statements(run, "cb-api-policy")
    assert _non_baseline(statements) == [
        {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [SM]},
        {"Effect": "Allow", "Action": ["states:DescribeExecution"],
         "Resource": [f"arn:aws:states:{ACCOUNT_REGION}:execution:cb:*"]},
        # The operations routes: list on the state machine, stop and redrive on its executions.
        {"Effect": "Allow", "Action": ["states:ListExecutions"], "Resource": [SM]},
        {"Effect": "Allow", "Action": ["states:RedriveExecution", "states:StopExecution"],
         "Resource": [f"arn:aws:states:{ACCOUNT_REGION}:execution:cb:*"]},
        {"Effect": "Allow", "Action": ["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"],
         "Resource": [SM]},
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"], "Resource": [TABLE]},
        # The start claim (created: true for exactly one caller) and its release.
        {"Effect": "Allow", "Action": ["dynamodb:DeleteItem", "dynamodb:PutItem"], "Resource": [TABLE]},
    ]
    fn = run.named_of("aws:lambda/function:Function", "cb-api")
    variables = dict(fn.inputs["environment"]["variables"])
    reserved = json.loads(variables.pop("RESERVED_ERROR_NAMES"))
    assert variables == {"STATE_MACHINE_ARN": SM, "TABLE_NAME": "cb-tokens", "API_URL": run.outputs["url"]}
    assert {"AwsServiceUnavailable", "Lambda.ServiceException", "States.Timeout", "States.HeartbeatTimeout",
            "CallbackTimedOut"} <= set(reserved)


def test_state_machine_may_only_invoke_the_register_lambda(run: ProgramRun) -> None:
    statements = json.loads(run.named_of("aws:iam/rolePolicy:RolePolicy", "cb-policy").inputs["policy"])["Statement"]
    register = f"arn:aws:lambda:{ACCOUNT_REGION}:function:cb-register"
    assert statements[0] == {"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                             "Resource": [register, f"{register}:*"]}
    assert all(a.startswith(("logs:", "xray:")) for a in actions(statements[1:]))  # log delivery and tracing
    for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            assert not any("*" in action for action in statement["Action"]), policy.name


def test_rendered_asl_waits_with_timeout_heartbeat_and_a_catch(run: ProgramRun) -> None:
    definition = _definition(run)
    assert "${" not in json.dumps(definition)
    assert definition["StartAt"] == "WaitForCallback"
    wait = definition["States"]["WaitForCallback"]
    assert wait["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert wait["Parameters"]["FunctionName"] == f"arn:aws:lambda:{ACCOUNT_REGION}:function:cb-register"
    assert wait["Parameters"]["Payload"] == {
        "taskId.$": "$$.Execution.Name", "executionArn.$": "$$.Execution.Id",
        "taskToken.$": "$$.Task.Token", "input.$": "$",
    }
    assert (wait["TimeoutSeconds"], wait["HeartbeatSeconds"]) == (3600, 300)
    assert wait["Catch"] == [{"ErrorEquals": ["States.Timeout", "States.HeartbeatTimeout"], "Next": "CallbackTimedOut"}]
    assert wait["Retry"][0]["ErrorEquals"][0] == "Lambda.ServiceException"
    assert "States.ALL" not in json.dumps(wait["Retry"]) and "States.TaskFailed" not in json.dumps(wait["Retry"])
    assert wait["End"] is True
    assert definition["States"]["CallbackTimedOut"]["Type"] == "Fail"
    assert definition["States"]["CallbackTimedOut"]["Error"] == "CallbackTimedOut"
    sm = run.named_of("aws:sfn/stateMachine:StateMachine", "cb")
    assert sm.inputs["type"] == "STANDARD" and sm.inputs["tracingConfiguration"] == {"enabled": True}


def test_routes_and_their_authorization(run: ProgramRun) -> None:
    routes = {r.inputs["routeKey"]: r.inputs["authorizationType"] for r in run.of_type("aws:apigatewayv2/route:Route")}
    assert routes == {
        "POST /tasks": "AWS_IAM",  # secure by default
        "GET /tasks/{taskId}": "AWS_IAM",
        "PUT /tasks/{taskId}": "NONE",  # proven by the per-task secret
        "POST /tasks/{taskId}/heartbeat": "NONE",
        # Operations, under the component's authorization_type.
        "GET /tasks": "AWS_IAM",
        "DELETE /tasks/{taskId}": "AWS_IAM",
        "POST /tasks/{taskId}/redrive": "AWS_IAM",
    }
    api_fn = f"arn:aws:lambda:{ACCOUNT_REGION}:function:cb-api"
    assert {i.inputs["integrationUri"] for i in run.of_type("aws:apigatewayv2/integration:Integration")} == {api_fn}


def test_every_knob_reaches_the_resources() -> None:
    run = _callback({
        "timeout_seconds": 90, "heartbeat_seconds": 20, "authorization_type": "NONE",
        "throttle_rate": 3, "throttle_burst": 4, "log_retention_days": 30,
    })
    wait = _definition(run)["States"]["WaitForCallback"]
    assert (wait["TimeoutSeconds"], wait["HeartbeatSeconds"]) == (90, 20)
    register = run.named_of("aws:lambda/function:Function", "cb-register")
    assert register.inputs["environment"]["variables"]["TASK_TIMEOUT_SECONDS"] == "90"
    assert all(r.inputs["authorizationType"] == "NONE" for r in run.of_type("aws:apigatewayv2/route:Route"))
    (stage,) = run.of_type("aws:apigatewayv2/stage:Stage")
    assert stage.inputs["defaultRouteSettings"] == {"throttlingRateLimit": 3, "throttlingBurstLimit": 4}
    groups = run.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 4 and all(g.inputs["retentionInDays"] == 30 for g in groups)


def test_no_heartbeat_when_zero() -> None:
    wait = _definition(_callback({"timeout_seconds": 60, "heartbeat_seconds": 0}))["States"]["WaitForCallback"]
    assert wait["TimeoutSeconds"] == 60 and "HeartbeatSeconds" not in wait


@pytest.mark.parametrize(
    ("timeout", "heartbeat"),
    [(0, None), (-5, None), ("60", None), (True, None), (60, 60), (60, 61), (60, -1), (60, 1.5), (400 * 24 * 3600, None)],
)
def test_impossible_timeouts_are_refused(timeout: Any, heartbeat: Any) -> None:
    with pytest.raises(ValueError):
        check_timeouts(timeout, heartbeat)


def test_before_and_after_handlers_become_lambda_states_around_the_wait() -> None:
    statements = [{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": ["arn:aws:sqs:us-east-1:1:q"]}]
    run = _callback({"before": [{"handler": "reverse", "environment": {"MODE": "x"}, "statements": statements, "timeout": 20}],
                     "after": [{"handler": "shout"}], "handlers_dir": DEMO_HANDLERS})
    definition = _definition(run)
    reverse_arn = f"arn:aws:lambda:{ACCOUNT_REGION}:function:cb-reverse"
    shout_arn = f"arn:aws:lambda:{ACCOUNT_REGION}:function:cb-shout"
    assert definition["StartAt"] == "reverse"
    assert definition["States"]["reverse"]["Resource"] == reverse_arn
    assert definition["States"]["reverse"]["Next"] == "WaitForCallback"
    assert definition["States"]["WaitForCallback"]["Next"] == "shout"
    assert definition["States"]["shout"] == {**definition["States"]["shout"], "Resource": shout_arn, "End": True}
    assert definition["States"]["shout"]["Retry"][0]["ErrorEquals"][0] == "Lambda.ServiceException"
    reverse = run.named_of("aws:lambda/function:Function", "cb-reverse")
    assert reverse.inputs["environment"] == {"variables": {"MODE": "x"}} and reverse.inputs["timeout"] == 20
    assert statements[0] in policy_statements(run, "cb-reverse-policy")
    sm_statements = json.loads(run.named_of("aws:iam/rolePolicy:RolePolicy", "cb-policy").inputs["policy"])["Statement"]
    invoked = {r for s in sm_statements if s["Action"] == ["lambda:InvokeFunction"] for r in s["Resource"]}
    assert {reverse_arn, shout_arn} <= invoked and len(invoked) == 6


@pytest.mark.parametrize(("before", "after"), [(["reverse", "reverse"], []), (["reverse"], ["reverse"]),
                                               (["WaitForCallback"], []), (["not-a-module"], [])])
def test_bad_step_lists_are_refused(before: list[str], after: list[str]) -> None:
    with pytest.raises(ValueError):
        callback_definition(60, None, before, after)


def test_demo_external_service_is_subscribed_with_retries_and_dead_letter_queues() -> None:
    run = build(lambda: DemoExternalService("ext", {"topic_arn": TOPIC}))
    allowed = {"sfn-patterns:index:DemoExternalService", "sfn-patterns:index:HandlerFunction"}
    assert all(r.parent_types and r.parent_types[-1] in allowed for r in component_resources(run) if r.custom)
    assert run.named_of("sfn-patterns:index:HandlerFunction", "ext-fn").parent_types == ["sfn-patterns:index:DemoExternalService"]
    fn = run.named_of("aws:lambda/function:Function", "ext-fn")
    assert fn.inputs["handler"] == "external_service.handler" and fn.inputs["timeout"] == 30
    invoke_config = run.named_of("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "ext-fn-async")
    assert invoke_config.inputs["maximumRetryAttempts"] == 2
    subscription = run.named_of("aws:sns/topicSubscription:TopicSubscription", "ext-subscription")
    assert subscription.inputs["protocol"] == "lambda" and subscription.inputs["topic"] == TOPIC
    dlq = run.named_of("aws:sqs/queue:Queue", "ext-sns-dlq")
    assert dlq.inputs["sqsManagedSseEnabled"] is True
    assert json.loads(subscription.inputs["redrivePolicy"]) == {"deadLetterTargetArn": dlq.state["arn"]}
    queue_policy = json.loads(run.named_of("aws:sqs/queuePolicy:QueuePolicy", "ext-sns-dlq-policy").inputs["policy"])
    allow = [s for s in queue_policy["Statement"] if s["Effect"] == "Allow"]
    assert allow == [{"Sid": "AllowSns", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                      "Action": "sqs:SendMessage", "Resource": dlq.state["arn"],
                      "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}}}]
    permission = run.named_of("aws:lambda/permission:Permission", "ext-sns")
    assert permission.inputs["principal"] == "sns.amazonaws.com" and permission.inputs["sourceArn"] == TOPIC
    assert _non_baseline(policy_statements(run, "ext-fn-policy")) == [
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [f"arn:aws:sqs:{ACCOUNT_REGION}:ext-fn-dlq"]}
    ]


def test_demo_stack_exports_the_callback_endpoint_and_reads_its_config() -> None:
    run = run_program(FakeCloud(), config={"sfn-patterns:callbackTimeoutSeconds": "120",
                                           "sfn-patterns:callbackHeartbeatSeconds": "30"})
    api = run.named_of("aws:apigatewayv2/api:Api", "callback-api")
    assert run.outputs["endpoints"]["callback"] == api.state["apiEndpoint"]
    sm = run.named_of("aws:sfn/stateMachine:StateMachine", "callback")
    assert run.outputs["stateMachines"]["callback"] == sm.state["arn"]
    wait = json.loads(sm.inputs["definition"])["States"]["WaitForCallback"]
    assert (wait["TimeoutSeconds"], wait["HeartbeatSeconds"]) == (120, 30)
    subscription = run.named_of("aws:sns/topicSubscription:TopicSubscription", "external-service-subscription")
    assert subscription.inputs["topic"] == run.named_of("aws:sns/topic:Topic", "callback-tasks").state["arn"]
    # Pulumi.dev.yaml keeps AWS_IAM: POST/GET and the operations routes are signed, the completion routes take the task's secret.
    routes = {r.inputs["routeKey"]: r.inputs["authorizationType"]
              for r in run.of_type("aws:apigatewayv2/route:Route") if "/tasks" in r.inputs["routeKey"]}
    assert routes == {"POST /tasks": "AWS_IAM", "GET /tasks/{taskId}": "AWS_IAM",
                      "PUT /tasks/{taskId}": "NONE", "POST /tasks/{taskId}/heartbeat": "NONE",
                      "GET /tasks": "AWS_IAM", "DELETE /tasks/{taskId}": "AWS_IAM", "POST /tasks/{taskId}/redrive": "AWS_IAM"}


def test_demo_stack_defaults_without_callback_config() -> None:
    run = run_program(FakeCloud(), stack="no-such-stack", config={"aws:region": "us-east-1"})
    wait = json.loads(run.named_of("aws:sfn/stateMachine:StateMachine", "callback").inputs["definition"])
    assert (wait["States"]["WaitForCallback"]["TimeoutSeconds"], wait["States"]["WaitForCallback"]["HeartbeatSeconds"]) == (3600, 300)
    routes = [r for r in run.of_type("aws:apigatewayv2/route:Route") if r.inputs["routeKey"] == "POST /tasks"]
    assert routes[0].inputs["authorizationType"] == "AWS_IAM"
