"""HandlerFunction, StateMachine and HttpApi under Pulumi mocks: what each declares and grants."""

from __future__ import annotations

import json

import pytest

from sfn_patterns.blocks import iam
from sfn_patterns.blocks.function import HandlerFunction
from sfn_patterns.demo.external_service import DEMO_HANDLERS_DIR
from sfn_patterns.blocks.http_api import HttpApi
from sfn_patterns.blocks.state_machine import StateMachine, statements_for_definition
from tests.unit.helpers import actions, build, policy_statements

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"


def test_handler_function_archive_runtime_logging_and_role() -> None:
    def program() -> None:
        HandlerFunction(
            "fn",
            {
                "handler": "reverse", "handlers_dir": str(DEMO_HANDLERS_DIR),
                "statements": iam.grant_table_read(TABLE),
                "environment": {"TABLE": "t"},
                "timeout": 7,
                "memory_size": 512,
                "log_retention_days": 30,
            },
        )

    run = build(program)
    fn = run.named_of("aws:lambda/function:Function", "fn")
    assert fn.parent_types == ["sfn-patterns:index:HandlerFunction"]
    assert fn.inputs["runtime"] == "python3.14"
    assert fn.inputs["architectures"] == ["arm64"]
    assert fn.inputs["handler"] == "reverse.handler"
    assert fn.inputs["timeout"] == 7 and fn.inputs["memorySize"] == 512
    assert fn.inputs["tracingConfig"] == {"mode": "Active"}
    assert fn.inputs["environment"] == {"variables": {"TABLE": "t"}}
    log_group = run.named_of("aws:cloudwatch/logGroup:LogGroup", "fn-logs")
    assert log_group.inputs["retentionInDays"] == 30
    assert fn.inputs["loggingConfig"] == {"logFormat": "JSON", "logGroup": log_group.state["name"]}
    # The archive holds the handler module and what it imports: reverse imports nothing of ours
    # (tests/unit/test_archives.py checks every handler's closure).
    assert sorted(fn.inputs["code"].assets) == ["reverse.py"]
    # The role holds exactly the given statements plus log and trace writing.
    statements = policy_statements(run, "fn-policy")
    assert actions(statements) == {
        "dynamodb:GetItem", "dynamodb:Query", "logs:CreateLogStream", "logs:PutLogEvents",
        "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    }
    log_statement = next(s for s in statements if "logs:PutLogEvents" in s["Action"])
    assert log_statement["Resource"] == [log_group.state["arn"] + ":*"]
    assert next(s for s in statements if "dynamodb:GetItem" in s["Action"])["Resource"] == [TABLE]
    assert not run.of_type("aws:sqs/queue:Queue")  # no DLQ unless invoked asynchronously


def test_async_handler_function_gets_retry_policy_and_encrypted_dlq() -> None:
    run = build(lambda: HandlerFunction("fn", {"handler": "reverse", "handlers_dir": str(DEMO_HANDLERS_DIR), "async_invocation": True}))
    queue = run.named_of("aws:sqs/queue:Queue", "fn-dlq")
    assert queue.inputs["sqsManagedSseEnabled"] is True
    config = run.named_of("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "fn-async")
    assert config.inputs["maximumRetryAttempts"] == 2
    assert config.inputs["destinationConfig"]["onFailure"]["destination"] == queue.state["arn"]
    send = next(s for s in policy_statements(run, "fn-policy") if s["Action"] == ["sqs:SendMessage"])
    assert send["Resource"] == [queue.state["arn"]]
    queue_policy = json.loads(run.named_of("aws:sqs/queuePolicy:QueuePolicy", "fn-dlq-policy").inputs["policy"])
    deny = queue_policy["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_unknown_handler_module_stops_the_program() -> None:
    with pytest.raises(FileNotFoundError, match="nosuch"):
        build(lambda: HandlerFunction("fn", {"handler": "nosuch", "handlers_dir": str(DEMO_HANDLERS_DIR)}))


def test_state_machine_logs_traces_and_derives_its_role() -> None:
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": "${Table}", "Item": {"pk": {"S.$": "$.id"}}},
                "Next": "Notify",
            },
            "Notify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": "${Topic}", "Message.$": "$"},
                "End": True,
            },
        },
    }
    topic = "arn:aws:sns:us-east-1:123456789012:topic"

    def program() -> None:
        StateMachine(
            "sm", {"definition": definition, "substitutions": {"Table": TABLE, "Topic": topic}, "log_retention_days": 7}
        )

    run = build(program)
    sm = run.named_of("aws:sfn/stateMachine:StateMachine", "sm")
    assert sm.parent_types == ["sfn-patterns:index:StateMachine"]
    assert sm.inputs["type"] == "STANDARD"
    assert sm.inputs["tracingConfiguration"] == {"enabled": True}
    logging = sm.inputs["loggingConfiguration"]
    # Every event, but no execution data: it would write each waiting task's token to the logs.
    assert logging["level"] == "ALL" and logging["includeExecutionData"] is False
    log_group = run.named_of("aws:cloudwatch/logGroup:LogGroup", "sm-logs")
    assert logging["logDestination"] == log_group.state["arn"] + ":*"
    assert log_group.inputs["retentionInDays"] == 7
    rendered = json.loads(sm.inputs["definition"])
    assert rendered["States"]["Put"]["Parameters"]["TableName"] == TABLE
    assert rendered["States"]["Notify"]["Parameters"]["TopicArn"] == topic
    statements = policy_statements(run, "sm-policy")
    assert {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": [TABLE]} in statements
    assert {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": [topic]} in statements
    # '*' resources only for log delivery and X-Ray, which have no resource-level permissions.
    for statement in statements:
        assert not any("*" in a for a in statement["Action"])
        if statement["Resource"] == ["*"]:
            assert all(a.startswith(("logs:", "xray:")) for a in statement["Action"])


def test_state_machine_refuses_a_missing_substitution() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "${Nope}", "End": True}}}
    with pytest.raises(ValueError, match="Nope"):
        build(lambda: StateMachine("sm", {"definition": definition}))


def test_derived_statements_cover_each_integration() -> None:
    sm = "arn:aws:states:us-east-1:123456789012:stateMachine:child"
    fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {"StartAt": "L", "States": {"L": {"Type": "Task", "Resource": fn, "End": True}}},
                    {"StartAt": "W", "States": {"W": {
                        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                        "Parameters": {"FunctionName": fn, "Payload": {"t.$": "$$.Task.Token"}}, "End": True}}},
                    {"StartAt": "S", "States": {"S": {
                        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                        "Parameters": {"StateMachineArn": sm, "Input": {}}, "End": True}}},
                    {"StartAt": "E", "States": {"E": {
                        "Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                        "Parameters": {"Entries": [{"EventBusName": "arn:aws:events:us-east-1:123456789012:event-bus/b"}]},
                        "End": True}}},
                    {"StartAt": "Q", "States": {"Q": {
                        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                        "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "MessageBody": "x"},
                        "End": True}}},
                ],
            }
        },
    }
    from sfn_patterns.blocks.integrations import fill_here

    # The managed rule is the machine's own (its region and account, filled in once known).
    statements = fill_here(statements_for_definition(definition), "us-east-1", "123456789012")
    assert {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [fn, fn + ":*"]} in statements
    assert sum(s["Action"] == ["lambda:InvokeFunction"] for s in statements) == 1  # merged
    assert {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [sm]} in statements
    assert {
        "Effect": "Allow", "Action": ["states:DescribeExecution", "states:StopExecution"],
        "Resource": ["arn:aws:states:us-east-1:123456789012:execution:child:*"],
    } in statements
    assert {
        "Effect": "Allow", "Action": ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
        "Resource": ["arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"],
    } in statements
    assert {"Effect": "Allow", "Action": ["events:PutEvents"],
            "Resource": ["arn:aws:events:us-east-1:123456789012:event-bus/b"]} in statements
    assert {"Effect": "Allow", "Action": ["sqs:SendMessage"],
            "Resource": ["arn:aws:sqs:us-east-1:123456789012:q"]} in statements


def test_derivation_names_the_state_it_cannot_handle() -> None:
    definition = {"StartAt": "X", "States": {"X": {"Type": "Task", "Resource": "arn:aws:states:::nosuch:startJobRun", "End": True}}}
    with pytest.raises(ValueError, match="'X'"):
        statements_for_definition(definition)


def test_http_api_routes_stage_logs_and_scoped_permissions() -> None:
    fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"

    def program() -> None:
        HttpApi(
            "api",
            {
                "routes": [
                    {"route_key": "POST /tasks", "function_arn": fn_arn, "function_name": "f", "authorization_type": "AWS_IAM"},
                    {"route_key": "GET /tasks/{taskId}", "function_arn": fn_arn, "function_name": "f"},
                ],
                "throttle_rate": 5,
                "throttle_burst": 10,
                "log_retention_days": 3,
            },
        )

    run = build(program)
    api = run.named_of("aws:apigatewayv2/api:Api", "api")
    assert api.inputs["protocolType"] == "HTTP"
    routes = {r.inputs["routeKey"]: r for r in run.of_type("aws:apigatewayv2/route:Route")}
    assert set(routes) == {"POST /tasks", "GET /tasks/{taskId}"}
    assert routes["POST /tasks"].inputs["authorizationType"] == "AWS_IAM"
    assert routes["GET /tasks/{taskId}"].inputs["authorizationType"] == "NONE"
    for integration in run.of_type("aws:apigatewayv2/integration:Integration"):
        assert integration.inputs["integrationType"] == "AWS_PROXY"
        assert integration.inputs["payloadFormatVersion"] == "2.0"
        assert integration.inputs["integrationUri"] == fn_arn
    sources = sorted(p.inputs["sourceArn"] for p in run.of_type("aws:lambda/permission:Permission"))
    execution_arn = api.state["executionArn"]
    assert sources == [f"{execution_arn}/*/GET/tasks/*", f"{execution_arn}/*/POST/tasks"]
    stage = run.named_of("aws:apigatewayv2/stage:Stage", "api-default")
    assert stage.inputs["name"] == "$default" and stage.inputs["autoDeploy"] is True
    assert stage.inputs["defaultRouteSettings"] == {"throttlingRateLimit": 5, "throttlingBurstLimit": 10}
    access_logs = run.named_of("aws:cloudwatch/logGroup:LogGroup", "api-access-logs")
    assert stage.inputs["accessLogSettings"]["destinationArn"] == access_logs.state["arn"]
    assert access_logs.inputs["retentionInDays"] == 3
    # A vended-logs group: API Gateway's delivery does not grow the account's log resource policy.
    assert access_logs.inputs["namePrefix"] == "/aws/vendedlogs/apigateway/api-"
    assert access_logs.state["name"].startswith("/aws/vendedlogs/apigateway/api-")


def test_a_route_authorization_other_than_iam_or_none_stops_the_program() -> None:
    from sfn_patterns.blocks.http_api import function_api

    def program() -> None:
        fn = HandlerFunction("fn", {"handler": "reverse", "handlers_dir": str(DEMO_HANDLERS_DIR)})
        function_api("api", fn, {"GET /x": "aws_iam"}, {})

    with pytest.raises(Exception, match="authorization_type must be one of"):
        build(program)


def _trust(run, role_name: str) -> dict:
    role = run.named_of("aws:iam/role:Role", role_name)
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    return statement


def test_role_trust_policies_name_the_source_account_and_arn() -> None:
    def program() -> None:
        HandlerFunction("fn", {"handler": "reverse", "handlers_dir": str(DEMO_HANDLERS_DIR)})
        StateMachine("sm", {"definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}})

    run = build(program)
    # Confused deputy: the service may assume the role only on behalf of this account (and, for
    # Step Functions, only for this account's state machines in this region).
    assert _trust(run, "fn-role") == {
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
    }
    assert _trust(run, "sm-role") == {
        "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": "123456789012"},
            "ArnLike": {"aws:SourceArn": "arn:aws:states:us-east-1:123456789012:stateMachine:*"},
        },
    }


def test_grants_never_name_a_wildcard_action() -> None:
    with pytest.raises(ValueError):
        iam.statement(["dynamodb:*"], [TABLE])


def test_reserved_error_names_come_from_the_waits_and_the_fail_states() -> None:
    from sfn_patterns.blocks.state_machine import reserved_error_names

    wait = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Retry": [{"ErrorEquals": ["Later.Added"]}],
        "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}],
        "End": True,
    }
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Retry": [{"ErrorEquals": ["Around.Wait"]}],
                "Branches": [{"StartAt": "Wait", "States": {"Wait": wait, "Late": {"Type": "Fail", "Error": "Late"}}}],
                "End": True,
            },
            "Other": {"Type": "Task", "Resource": "arn:aws:lambda:x", "Retry": [{"ErrorEquals": ["NotAWait"]}], "End": True},
        },
    }
    assert reserved_error_names(definition) == ["Around.Wait", "Late", "Later.Added", "States.Timeout"]
    wait["Catch"] = [{"ErrorEquals": ["States.TaskFailed"], "Next": "Late"}]
    with pytest.raises(ValueError, match="Both/branch0/Wait"):
        reserved_error_names(definition)
