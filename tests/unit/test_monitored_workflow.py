"""MonitoredWorkflow under Pulumi mocks: resources, rules, targets, IAM, alarms, encryption and the rendered ASL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfn_patterns.patterns.monitored_workflow import MonitoredWorkflow, monitored_definition, work_branch
from sfn_patterns.patterns.workflow import WorkflowDefinitionError
from local.program import ProgramRun
from tests.unit.helpers import DEMO_HANDLERS, DEMO_WORKFLOWS, component_resources, actions, build, policy_statements

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    def program() -> None:
        import pulumi

        workflow = MonitoredWorkflow("mon", {"work_seconds": 7, "monitor_timeout_seconds": 600})
        pulumi.export("url", workflow.url)
        pulumi.export("bus", workflow.event_bus_name)
        pulumi.export("busArn", workflow.event_bus_arn)
        pulumi.export("table", workflow.table_name)
        pulumi.export("sm", workflow.state_machine_arn)
        pulumi.export("alarms", workflow.alarm_topic_arn)

    return build(program)


def definition(run: ProgramRun, name: str = "mon") -> dict[str, Any]:
    return json.loads(run.named_of("aws:sfn/stateMachine:StateMachine", name).inputs["definition"])


def branches(run: ProgramRun, name: str = "mon") -> tuple[dict[str, Any], dict[str, Any]]:
    monitor, work = definition(run, name)["States"]["MonitoredWork"]["Branches"]
    return monitor, work


def arn_of(run: ProgramRun, type_token: str, name: str) -> str:
    return run.named_of(type_token, name).state["arn"]


def test_outputs(run: ProgramRun) -> None:
    bus = run.named_of("aws:cloudwatch/eventBus:EventBus", "mon-bus")
    assert run.outputs["bus"] == bus.state["name"] and run.outputs["busArn"] == bus.state["arn"]
    assert run.outputs["table"] == run.named_of("aws:dynamodb/table:Table", "mon-tokens").state["name"]
    assert run.outputs["sm"] == arn_of(run, "aws:sfn/stateMachine:StateMachine", "mon")
    assert run.outputs["alarms"] == arn_of(run, "aws:sns/topic:Topic", "stack-alarms")
    assert run.outputs["url"] == run.named_of("aws:apigatewayv2/api:Api", "mon-api").state["apiEndpoint"]


def test_every_resource_is_parented_under_the_component(run: ProgramRun) -> None:
    # (The mock URNs carry the immediate parent's type only.) Building blocks sit in the component,
    # every cloud resource in the component or one of those building blocks.
    blocks = [r for r in component_resources(run) if not r.custom and r.type != "sfn-patterns:index:MonitoredWorkflow"]
    assert {b.type for b in blocks} == {"sfn-patterns:index:HandlerFunction", "sfn-patterns:index:StateMachine",
                                        "sfn-patterns:index:HttpApi"}
    assert all(b.parent_types == ["sfn-patterns:index:MonitoredWorkflow"] for b in blocks)
    allowed = {"sfn-patterns:index:MonitoredWorkflow"} | {b.type for b in blocks}
    assert all(r.parent_types and r.parent_types[-1] in allowed for r in component_resources(run) if r.custom)
    for token, name in [
        ("aws:cloudwatch/eventBus:EventBus", "mon-bus"),
        ("aws:cloudwatch/eventRule:EventRule", "mon-stop"),
        ("aws:cloudwatch/eventTarget:EventTarget", "mon-error"),
        ("aws:sqs/queue:Queue", "mon-rules-dlq"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "mon-rules-dlq-messages"),
    ]:
        assert run.named_of(token, name).parent_types == ["sfn-patterns:index:MonitoredWorkflow"]
    functions = {f.name for f in run.of_type("aws:lambda/function:Function")}
    # No Lambda registers the monitor (a DynamoDB SDK Task) nor sends the stop event (putEvents).
    assert functions == {"mon-events", "mon-api"}


def test_token_table_is_encrypted_with_ttl(run: ProgramRun) -> None:
    table = run.named_of("aws:dynamodb/table:Table", "mon-tokens")
    assert table.inputs["hashKey"] == "pk" and table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["serverSideEncryption"] == {"enabled": True}
    assert table.inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}


def test_rules_match_each_event_kind_on_the_bus(run: ProgramRun) -> None:
    bus = run.named_of("aws:cloudwatch/eventBus:EventBus", "mon-bus").state["name"]
    patterns = {}
    for rule in run.of_type("aws:cloudwatch/eventRule:EventRule"):
        assert rule.inputs["eventBusName"] == bus
        patterns[rule.name] = json.loads(rule.inputs["eventPattern"])
    assert patterns == {
        "mon-stop": {"source": ["sfn-patterns.monitored"], "detail-type": ["StopWorkflowMonitoring"],
                     "detail": {"workflowkey": [{"exists": True}]}},
        "mon-error": {"source": ["sfn-patterns.monitored"], "detail-type": ["WorkflowError"],
                      "detail": {"workflowkey": [{"exists": True}]}},
    }


def test_targets_retry_and_dead_letter_to_an_encrypted_queue_only_their_rules_may_use(run: ProgramRun) -> None:
    events_fn = arn_of(run, "aws:lambda/function:Function", "mon-events")
    dlq = run.named_of("aws:sqs/queue:Queue", "mon-rules-dlq")
    assert dlq.inputs["sqsManagedSseEnabled"] is True
    rule_arns = {r.name: r.state["arn"] for r in run.of_type("aws:cloudwatch/eventRule:EventRule")}
    targets = {t.name: t for t in run.of_type("aws:cloudwatch/eventTarget:EventTarget")}
    assert set(targets) == {"mon-stop", "mon-error"}
    for name, target in targets.items():
        assert target.inputs["arn"] == events_fn
        assert target.inputs["rule"] == run.named_of("aws:cloudwatch/eventRule:EventRule", name).state["name"]
        assert target.inputs["retryPolicy"] == {"maximumRetryAttempts": 4, "maximumEventAgeInSeconds": 3600}
        assert target.inputs["deadLetterConfig"] == {"arn": dlq.state["arn"]}
    policy = json.loads(run.named_of("aws:sqs/queuePolicy:QueuePolicy", "mon-rules-dlq-policy").inputs["policy"])
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len({s["Sid"] for s in policy["Statement"]}) == len(policy["Statement"])  # unique Sids
    assert sorted(s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in allows) == sorted(rule_arns.values())
    assert all(s["Principal"] == {"Service": "events.amazonaws.com"} and s["Action"] == "sqs:SendMessage" for s in allows)
    # The Lambda itself, invoked asynchronously, retries and dead-letters too.
    config = run.named_of("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "mon-events-async")
    assert config.inputs["destinationConfig"]["onFailure"]["destination"] == arn_of(run, "aws:sqs/queue:Queue", "mon-events-dlq")


def test_eventbridge_may_invoke_the_events_lambda_only_from_its_rules(run: ProgramRun) -> None:
    permissions = {
        p.name: p for p in run.of_type("aws:lambda/permission:Permission") if p.inputs["principal"] == "events.amazonaws.com"
    }
    assert set(permissions) == {"mon-stop", "mon-error"}
    for name, permission in permissions.items():
        assert permission.inputs["action"] == "lambda:InvokeFunction"
        assert permission.inputs["function"] == run.named_of("aws:lambda/function:Function", "mon-events").state["name"]
        assert permission.inputs["sourceArn"] == arn_of(run, "aws:cloudwatch/eventRule:EventRule", name)


def test_events_lambda_may_only_complete_tokens_of_its_state_machine(run: ProgramRun) -> None:
    table = arn_of(run, "aws:dynamodb/table:Table", "mon-tokens")
    sm = run.outputs["sm"]
    statements = policy_statements(run, "mon-events-policy")
    assert {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"], "Resource": [table]} in statements
    assert {"Effect": "Allow", "Action": ["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"],
            "Resource": [sm]} in statements
    assert {"Effect": "Allow", "Action": ["states:DescribeExecution"],
            "Resource": [sm.replace(":stateMachine:", ":execution:") + ":*"]} in statements
    own = actions(statements) - {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"}
    assert {a for a in own if not a.startswith("xray:")} == {
        "dynamodb:GetItem", "dynamodb:UpdateItem", "states:SendTaskFailure", "states:SendTaskHeartbeat",
        "states:SendTaskSuccess", "states:DescribeExecution",
    }


def test_api_lambda_may_only_start_read_operate_and_put_events_on_its_bus(run: ProgramRun) -> None:
    table = arn_of(run, "aws:dynamodb/table:Table", "mon-tokens")
    statements = policy_statements(run, "mon-api-policy")
    # UpdateItem: a cancel or redrive releases the monitor's row.
    assert {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"], "Resource": [table]} in statements
    executions = run.outputs["sm"].replace(":stateMachine:", ":execution:") + ":*"
    assert {"Effect": "Allow", "Action": ["states:ListExecutions"], "Resource": [run.outputs["sm"]]} in statements
    assert {"Effect": "Allow", "Action": ["states:RedriveExecution", "states:StopExecution"],
            "Resource": [executions]} in statements
    assert {"Effect": "Allow", "Action": ["events:PutEvents"], "Resource": [run.outputs["busArn"]]} in statements
    assert {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [run.outputs["sm"]]} in statements
    # PutItem/DeleteItem: the start claim that tells exactly one caller it created the execution.
    assert {"Effect": "Allow", "Action": ["dynamodb:DeleteItem", "dynamodb:PutItem"], "Resource": [table]} in statements
    assert {a for a in actions(statements) if not a.startswith(("xray:", "logs:"))} == {
        "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "events:PutEvents",
        "states:StartExecution", "states:DescribeExecution", "states:ListExecutions", "states:StopExecution",
        "states:RedriveExecution",
    }
    env = run.named_of("aws:lambda/function:Function", "mon-api").inputs["environment"]["variables"]
    reserved = json.loads(env["RESERVED_ERROR_NAMES"])
    assert {"DynamoDb.ThrottlingException", "DynamoDb.ConditionalCheckFailedException", "MonitorTimedOut"} <= set(reserved)
    events_env = run.named_of("aws:lambda/function:Function", "mon-events").inputs["environment"]["variables"]
    assert events_env["RESERVED_ERROR_NAMES"] == env["RESERVED_ERROR_NAMES"]
    assert env["EVENT_BUS_ARN"] == run.outputs["busArn"] and env["EVENT_SOURCE"] == "sfn-patterns.monitored"
    assert env["STOP_DETAIL_TYPE"] == "StopWorkflowMonitoring" and env["ERROR_DETAIL_TYPE"] == "WorkflowError"


def test_state_machine_may_only_put_tokens_in_its_table_and_put_events_on_the_bus(run: ProgramRun) -> None:
    table = arn_of(run, "aws:dynamodb/table:Table", "mon-tokens")
    statements = policy_statements(run, "mon-policy")
    assert {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": [table]} in statements
    assert {"Effect": "Allow", "Action": ["events:PutEvents"], "Resource": [run.outputs["busArn"]]} in statements
    assert {a for a in actions(statements) if not a.startswith(("xray:", "logs:"))} == {
        "dynamodb:PutItem", "events:PutEvents",
    }


def test_rendered_asl_runs_monitor_and_work_in_parallel(run: ProgramRun) -> None:
    document = definition(run)
    assert document["StartAt"] == "MonitoredWork"
    assert document["TimeoutSeconds"] == 600 + 300  # a bound beyond the monitor's own timeout
    parallel = document["States"]["MonitoredWork"]
    assert parallel["Type"] == "Parallel" and parallel["End"] is True
    assert parallel["OutputPath"] == "$[1]"  # the execution's output is the work's output
    monitor, work = branches(run)

    wait = monitor["States"][monitor["StartAt"]]
    # The monitor registers itself, as seed 003: a DynamoDB SDK Task, no Lambda hop.
    assert wait["Resource"] == "arn:aws:states:::aws-sdk:dynamodb:putItem.waitForTaskToken"
    assert wait["QueryLanguage"] == "JSONata" and "Parameters" not in wait  # $millis() for the epoch seconds
    arguments = wait["Arguments"]
    assert arguments["TableName"] == arn_of(run, "aws:dynamodb/table:Table", "mon-tokens")
    item = arguments["Item"]
    assert set(item) == {"pk", "status", "token", "executionArn", "createdAt", "expiresAt"}  # TokenStore's row
    assert item["status"] == {"S": "WAITING"} and item["token"] == {"S": "{% $states.context.Task.Token %}"}
    assert item["expiresAt"] == {"N": "{% $string($floor($millis() / 1000) + 600) %}"}  # TTL = the monitor's wait
    assert arguments["ConditionExpression"] == (
        "attribute_not_exists(pk) OR executionArn = :arn OR #s <> :waiting OR expiresAt < :now"
    )
    assert wait["TimeoutSeconds"] == 600
    catches = {c["Next"]: c["ErrorEquals"] for c in wait["Catch"]}
    assert set(catches["MonitorTimedOut"]) == {"States.Timeout", "States.HeartbeatTimeout"}
    assert catches["DuplicateWorkflowKey"] == ["DynamoDb.ConditionalCheckFailedException"]
    assert catches["InvalidWorkflowKey"] == ["States.QueryEvaluationError"]
    assert monitor["States"]["MonitorTimedOut"] == {
        "Type": "Fail", "Error": "MonitorTimedOut", "Cause": "no StopWorkflowMonitoring or error event arrived within 600 seconds",
    }
    assert monitor["States"]["DuplicateWorkflowKey"]["Error"] == "DuplicateWorkflowKey"
    # Only DynamoDB's transient errors are retried: never a duplicate, and never States.TaskFailed, which
    # would also match the error an event fails the monitor with and start the wait over.
    (retry,) = wait["Retry"]
    assert "DynamoDb.ProvisionedThroughputExceededException" in retry["ErrorEquals"]
    assert all(not e.startswith("States.") and "ConditionalCheckFailed" not in e for e in retry["ErrorEquals"])

    assert work["StartAt"] == "Work"
    assert work["States"]["Work"] == {"Type": "Wait", "Seconds": 7, "Next": "StopWorkflowMonitoring"}
    stop = work["States"]["StopWorkflowMonitoring"]
    assert stop["Resource"] == "arn:aws:states:::events:putEvents"  # direct integration, no Lambda
    assert stop["Parameters"]["Entries"] == [{
        "EventBusName": run.outputs["busArn"],
        "Source": "sfn-patterns.monitored",
        "DetailType": "StopWorkflowMonitoring",
        "Detail": {"workflowkey.$": "$$.Execution.Input.workflowkey", "executionArn.$": "$$.Execution.Id"},
    }]
    assert stop["ResultPath"] is None and stop["End"] is True  # the work's output passes through


def test_alarms_on_executions_to_the_encrypted_stack_topic(run: ProgramRun) -> None:
    topic = run.named_of("aws:sns/topic:Topic", "stack-alarms")
    key = run.named_of("aws:kms/key:Key", "stack-alarms-key")
    assert topic.inputs["kmsMasterKeyId"] == key.state["arn"] and key.inputs["enableKeyRotation"] is True
    key_policy = json.loads(key.inputs["policy"])
    cloudwatch = next(s for s in key_policy["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"})
    assert cloudwatch["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    topic_policy = json.loads(run.named_of("aws:sns/topicPolicy:TopicPolicy", "stack-alarms-policy").inputs["policy"])
    effects = {s["Sid"]: s for s in topic_policy["Statement"]}
    assert effects["DenyInsecureTransport"]["Effect"] == "Deny"
    assert effects["CloudWatchAlarmsPublish"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    alarms = {
        a.inputs["metricName"]: a.inputs
        for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["namespace"] == "AWS/States"
    }
    assert set(alarms) == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted", "ExecutionThrottled"}
    for alarm in alarms.values():
        assert alarm["dimensions"] == {"StateMachineArn": run.outputs["sm"]}
        assert alarm["statistic"] == "Sum" and alarm["threshold"] == 1
        assert alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["alarmActions"] == [topic.state["arn"]]
    # Its rules' dead-letter queue is alarmed too.
    queue = run.named_of("aws:sqs/queue:Queue", "mon-rules-dlq")
    assert run.named_of("aws:cloudwatch/metricAlarm:MetricAlarm", "mon-rules-dlq-messages").inputs["dimensions"] == {
        "QueueName": queue.state["name"]
    }


def test_routes_and_their_authorization(run: ProgramRun) -> None:
    routes = {r.inputs["routeKey"]: r.inputs["authorizationType"] for r in run.of_type("aws:apigatewayv2/route:Route")}
    assert routes == {
        "POST /monitored": "AWS_IAM",  # secure by default
        "GET /monitored/{workflowkey}": "AWS_IAM",  # GET too: it returns input and output
        "POST /monitored/{workflowkey}/events": "AWS_IAM",
        "GET /monitored": "AWS_IAM",
        "DELETE /monitored/{workflowkey}": "AWS_IAM",
        "POST /monitored/{workflowkey}/redrive": "AWS_IAM",
    }


def test_every_knob_reaches_the_resources() -> None:
    existing = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders"

    def program() -> None:
        MonitoredWorkflow("m", {
            "work_definition_file": "monitored_work.yaml",
            "workflows_dir": DEMO_WORKFLOWS,
            "handlers_dir": DEMO_HANDLERS,
            "monitor_timeout_seconds": 45,
            "event_source": "shop.orders",
            "stop_detail_type": "OrderShipped",
            "error_detail_type": "OrderFailed",
            "event_bus_arn": existing,
            "authorization_type": "NONE",
            "throttle_rate": 3,
            "throttle_burst": 4,
            "log_retention_days": 30,
            "work_handlers": {"reverse": {"timeout": 20, "environment": {"MODE": "x"}}},
        })

    run = build(program)
    assert not run.of_type("aws:cloudwatch/eventBus:EventBus")  # the existing bus is used
    for rule in run.of_type("aws:cloudwatch/eventRule:EventRule"):
        assert rule.inputs["eventBusName"] == "orders"
        assert json.loads(rule.inputs["eventPattern"])["source"] == ["shop.orders"]
    assert {json.loads(r.inputs["eventPattern"])["detail-type"][0] for r in run.of_type("aws:cloudwatch/eventRule:EventRule")} == {
        "OrderShipped", "OrderFailed"}
    assert all(t.inputs["eventBusName"] == "orders" for t in run.of_type("aws:cloudwatch/eventTarget:EventTarget"))
    monitor, work = branches(run, "m")
    assert monitor["States"]["Monitor"]["TimeoutSeconds"] == 45
    stop = work["States"]["StopWorkflowMonitoring"]["Parameters"]["Entries"][0]
    assert (stop["EventBusName"], stop["Source"], stop["DetailType"]) == (existing, "shop.orders", "OrderShipped")
    # The YAML work: its handler becomes a Lambda, its ending states go on to the stop event.
    reverse = run.named_of("aws:lambda/function:Function", "m-reverse")
    assert reverse.inputs["timeout"] == 20 and reverse.inputs["environment"] == {"variables": {"MODE": "x"}}
    assert work["States"]["Reverse"]["Resource"] == reverse.state["arn"]
    assert work["States"]["Reverse"]["Next"] == "StopWorkflowMonitoring" and "End" not in work["States"]["Reverse"]
    assert work["States"]["NothingToDo"] == {"Type": "Pass", "Next": "StopWorkflowMonitoring"}
    assert {"Effect": "Allow", "Action": ["events:PutEvents"], "Resource": [existing]} in policy_statements(run, "m-api-policy")
    assert {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [reverse.state["arn"], reverse.state["arn"] + ":*"]} in (
        policy_statements(run, "m-policy"))
    routes = {r.inputs["routeKey"]: r.inputs["authorizationType"] for r in run.of_type("aws:apigatewayv2/route:Route")}
    assert set(routes.values()) == {"NONE"}
    assert all(g.inputs["retentionInDays"] == 30 for g in run.of_type("aws:cloudwatch/logGroup:LogGroup"))
    stage = run.named_of("aws:apigatewayv2/stage:Stage", "m-api-default")
    assert stage.inputs["defaultRouteSettings"] == {"throttlingRateLimit": 3, "throttlingBurstLimit": 4}
    env = run.named_of("aws:lambda/function:Function", "m-events").inputs["environment"]["variables"]
    assert (env["STOP_DETAIL_TYPE"], env["ERROR_DETAIL_TYPE"]) == ("OrderShipped", "OrderFailed")


def test_a_handler_module_as_the_work() -> None:
    run = build(lambda: MonitoredWorkflow("h", {"work_step": {"handler": "reverse", "timeout": 7}, "handlers_dir": DEMO_HANDLERS}))
    _, work = branches(run, "h")
    task = work["States"]["Work"]
    assert task["Resource"] == arn_of(run, "aws:lambda/function:Function", "h-work")
    assert run.named_of("aws:lambda/function:Function", "h-work").inputs["handler"] == "reverse.handler"
    assert run.named_of("aws:lambda/function:Function", "h-work").inputs["timeout"] == 7
    assert task["Next"] == "StopWorkflowMonitoring"
    assert {e for r in task["Retry"] for e in r["ErrorEquals"]} == {
        "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}


@pytest.mark.parametrize(
    "args, error",
    [
        ({"work_seconds": 5, "work_step": {"handler": "reverse"}}, "at most one"),
        ({"work_seconds": -1}, "work_seconds"),
        ({"monitor_timeout_seconds": 0}, "monitor_timeout_seconds"),
        ({"monitor_timeout_seconds": "60"}, "monitor_timeout_seconds"),
        ({"work_step": {"handler": "not-a-module"}, "handlers_dir": DEMO_HANDLERS}, "work_step"),
        ({"work_step": {"handler": "reverse"}}, "needs handlers_dir"),
        ({"work_step": {"handler": "nosuch"}, "handlers_dir": DEMO_HANDLERS}, "no handler module nosuch.py"),
        ({"work_step": {}}, "exactly one of handler, function_arn"),
        ({"stop_detail_type": "Same", "error_detail_type": "Same"}, "must differ"),
    ],
)
def test_bad_arguments_stop_the_program(args: dict, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        build(lambda: MonitoredWorkflow("bad", args))


def test_a_work_file_must_exist_and_not_clash_with_the_stop_state(tmp_path) -> None:
    with pytest.raises(WorkflowDefinitionError, match="not found"):
        work_branch({"work_definition_file": str(tmp_path / "missing.yaml")})
    clash = {"StartAt": "StopWorkflowMonitoring", "States": {"StopWorkflowMonitoring": {"Type": "Pass", "End": True}}}
    with pytest.raises(ValueError, match="StopWorkflowMonitoring"):
        monitored_definition(clash)
