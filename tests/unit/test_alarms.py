"""Alarms, the stack's alarm topic and the dashboard, under Pulumi mocks.

Read from the resource graph the way an operator would check it: every state machine, dead-letter
queue, Lambda and HTTP API of the demo stack has its alarms, on the right metric with exactly the
right dimensions, all notifying one encrypted topic.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.program import FakeCloud, ProgramRun, run_program
from sfn_patterns.blocks import alarms
from sfn_patterns.blocks.dashboard import StackDashboard
from sfn_patterns.blocks.function import HandlerFunction
from sfn_patterns.demo.external_service import DEMO_HANDLERS_DIR
from sfn_patterns.blocks.state_machine import StateMachine
from tests.unit.helpers import DEMO_HANDLERS, DEMO_WORKFLOWS, build

DEMO_CODE = {"handlers_dir": DEMO_HANDLERS, "workflows_dir": DEMO_WORKFLOWS}

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


@pytest.fixture(scope="module")
def demo() -> ProgramRun:
    return run_program(FakeCloud(), config={"sfn-patterns:alarmEmail": "oncall@example.com"})


def test_the_stack_s_alarm_period_reaches_every_alarm() -> None:
    run = run_program(FakeCloud(), config={"sfn-patterns:alarmPeriodSeconds": "60"})
    assert {a.inputs["period"] for a in run.of_type(ALARM)} == {60}


def alarms_on(run: ProgramRun, namespace: str, dimensions: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """metric name -> alarm inputs, for the alarms on exactly these dimensions."""
    return {
        a.inputs["metricName"]: a.inputs
        for a in run.of_type(ALARM)
        if a.inputs["namespace"] == namespace and a.inputs["dimensions"] == dimensions
    }


def dead_letter_queue_arns(run: ProgramRun) -> set[str]:
    """Queues something sends its failures to: Lambda destinations, SNS redrive, EventBridge DLQs (read from the graph)."""
    arns = set()
    for config in run.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        arns.add(config.inputs["destinationConfig"]["onFailure"]["destination"])
    for subscription in run.of_type("aws:sns/topicSubscription:TopicSubscription"):
        if subscription.inputs.get("redrivePolicy"):
            arns.add(json.loads(subscription.inputs["redrivePolicy"])["deadLetterTargetArn"])
    for target in run.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        if target.inputs.get("deadLetterConfig"):
            arns.add(target.inputs["deadLetterConfig"]["arn"])
    return arns


def test_every_state_machine_alarms_on_failed_timed_out_aborted_and_throttled_executions(demo: ProgramRun) -> None:
    machines = demo.of_type("aws:sfn/stateMachine:StateMachine")
    assert len(machines) == 5
    for machine in machines:
        found = alarms_on(demo, "AWS/States", {"StateMachineArn": machine.state["arn"]})
        assert set(found) == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted", "ExecutionThrottled"}, machine.name
        for alarm in found.values():
            assert alarm["statistic"] == "Sum" and alarm["threshold"] == 1
            assert alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
            assert alarm["period"] == 300 and alarm["evaluationPeriods"] == 1
            assert alarm["treatMissingData"] == "notBreaching"


def test_every_dead_letter_queue_alarms_on_any_message(demo: ProgramRun) -> None:
    queues = {q.state["arn"]: q for q in demo.of_type("aws:sqs/queue:Queue")}
    dead_letter_arns = dead_letter_queue_arns(demo)
    assert len(dead_letter_arns) == 7 and dead_letter_arns <= set(queues)
    for arn in dead_letter_arns:
        found = alarms_on(demo, "AWS/SQS", {"QueueName": queues[arn].state["name"]})
        assert set(found) == {"ApproximateNumberOfMessagesVisible"}, queues[arn].name
        alarm = found["ApproximateNumberOfMessagesVisible"]
        assert alarm["statistic"] == "Maximum" and alarm["threshold"] == 0
        assert alarm["comparisonOperator"] == "GreaterThanThreshold"
        # SQS stops reporting a queue idle for 6 hours, messages or not: the alarm keeps its state.
        assert alarm["treatMissingData"] == "ignore"


def test_every_lambda_alarms_on_errors_and_throttles(demo: ProgramRun) -> None:
    functions = demo.of_type("aws:lambda/function:Function")
    assert len(functions) >= 10
    for function in functions:
        found = alarms_on(demo, "AWS/Lambda", {"FunctionName": function.state["name"]})
        assert set(found) == {"Errors", "Throttles"}, function.name
        assert all(a["statistic"] == "Sum" and a["threshold"] == 1 for a in found.values())


def test_every_http_api_alarms_on_5xx_of_its_stage(demo: ProgramRun) -> None:
    apis = demo.of_type("aws:apigatewayv2/api:Api")
    assert len(apis) == 5
    stages = {s.inputs["apiId"]: s.inputs["name"] for s in demo.of_type("aws:apigatewayv2/stage:Stage")}
    for api in apis:
        # HTTP APIs (API Gateway v2) report "5xx" (REST APIs: "5XXError") by ApiId and Stage.
        api_id = _api_id(demo, api)
        found = alarms_on(demo, "AWS/ApiGateway", {"ApiId": api_id, "Stage": "$default"})
        assert stages[api_id] == "$default"
        assert set(found) == {"5xx"}, api.name
        assert found["5xx"]["statistic"] == "Sum" and found["5xx"]["threshold"] == 1


def _api_id(run: ProgramRun, api: Any) -> str:
    # The mock's physical id is the one the API's endpoint carries: https://<id>.execute-api...
    return api.state["apiEndpoint"].split("//", 1)[1].split(".", 1)[0]


def test_no_other_alarms_and_every_alarm_notifies_the_one_encrypted_stack_topic(demo: ProgramRun) -> None:
    machines = len(demo.of_type("aws:sfn/stateMachine:StateMachine"))
    functions = len(demo.of_type("aws:lambda/function:Function"))
    apis = len(demo.of_type("aws:apigatewayv2/api:Api"))
    every = demo.of_type(ALARM)
    assert len(every) == 4 * machines + 2 * functions + apis + 7
    topics = [t for t in demo.of_type("aws:sns/topic:Topic") if t.name == alarms.STACK_TOPIC_NAME]
    assert len(topics) == 1
    topic = topics[0]
    assert topic.parent_types == ["sfn-patterns:index:AlarmTopic"]
    key = demo.named_of("aws:kms/key:Key", f"{alarms.STACK_TOPIC_NAME}-key")
    assert topic.inputs["kmsMasterKeyId"] == key.state["arn"] and key.inputs["enableKeyRotation"] is True
    for alarm in every:
        assert alarm.inputs["alarmActions"] == [topic.state["arn"]] and alarm.inputs["okActions"] == [topic.state["arn"]]
    assert demo.outputs["alarmTopic"] == topic.state["arn"]


def test_the_alarm_topic_gets_the_configured_subscriber(demo: ProgramRun) -> None:
    subscriptions = [s for s in demo.of_type("aws:sns/topicSubscription:TopicSubscription") if s.inputs["protocol"] == "email"]
    assert [s.inputs["endpoint"] for s in subscriptions] == ["oncall@example.com"]
    assert subscriptions[0].inputs["topic"] == demo.outputs["alarmTopic"]


def test_without_subscription_config_the_topic_has_no_subscriber() -> None:
    run = run_program(FakeCloud())
    assert not [s for s in run.of_type("aws:sns/topicSubscription:TopicSubscription") if s.inputs["protocol"] in ("email", "https")]


@pytest.mark.parametrize("email, https", [("not-an-address", None), (None, "http://plain.example.com"), ("a@b@c.com", None)])
def test_a_bad_subscriber_stops_the_program(email: Any, https: Any) -> None:
    with pytest.raises(Exception, match="alarm"):
        build(lambda: alarms.subscribe_stack_alarms(email=email, https_endpoint=https))


def test_a_component_s_settings_reach_its_building_blocks_and_can_switch_alarms_off() -> None:
    def program() -> None:
        from sfn_patterns import Workflow

        Workflow("quiet", {"definition_file": "chain.yaml", **DEMO_CODE, "alarms": {"enabled": False}})
        Workflow("tuned", {"definition_file": "chain.yaml", **DEMO_CODE,
                           "alarms": {"period_seconds": 60, "executions_failed_threshold": 5, "lambda_errors_threshold": 3}})

    run = build(program)
    names = [a.name for a in run.of_type(ALARM)]
    assert not [n for n in names if n.startswith("quiet")]
    failed = run.named_of(ALARM, "tuned-executions-failed").inputs
    assert failed["threshold"] == 5 and failed["period"] == 60
    assert run.named_of(ALARM, "tuned-executions-timed-out").inputs["threshold"] == 1
    # The workflow's handler Lambdas inherit the workflow's settings.
    errors = run.named_of(ALARM, "tuned-reverse-errors").inputs
    assert errors["threshold"] == 3 and errors["period"] == 60


def test_an_explicit_topic_replaces_the_stack_topic() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:team-pager"

    def program() -> None:
        StateMachine("sm", {"definition": PASS, "alarms": {"topic_arn": topic}})

    run = build(program)
    assert not run.of_type("aws:sns/topic:Topic")
    assert all(a.inputs["alarmActions"] == [topic] for a in run.of_type(ALARM))


def test_one_stack_topic_however_many_components() -> None:
    def program() -> None:
        StateMachine("a", {"definition": PASS})
        StateMachine("b", {"definition": PASS})
        HandlerFunction("fn", {"handler": "reverse", "handlers_dir": str(DEMO_HANDLERS_DIR), "async_invocation": True})

    run = build(program)
    assert [t.name for t in run.of_type("aws:sns/topic:Topic")] == [alarms.STACK_TOPIC_NAME]
    # The function's dead-letter queue is alarmed too, without the function asking.
    queue = run.named_of("aws:sqs/queue:Queue", "fn-dlq")
    assert alarms_on(run, "AWS/SQS", {"QueueName": queue.state["name"]})


@pytest.mark.parametrize(
    "settings",
    [{"period_seconds": 45}, {"period_seconds": 0}, {"evaluation_periods": 0}, {"lambda_errors_threshold": -1},
     {"executions_failed_threshold": True}, {"periods": 5}],
)
def test_bad_alarm_settings_stop_the_program(settings: dict[str, Any]) -> None:
    with pytest.raises(Exception, match="alarms"):
        build(lambda: StateMachine("sm", {"definition": PASS, "alarms": settings}))


def test_the_dashboard_shows_each_workflow_dead_letter_queue_and_api(demo: ProgramRun) -> None:
    dashboards = demo.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert len(dashboards) == 1
    assert demo.outputs["dashboard"] == dashboards[0].inputs["dashboardName"] == "sfn-patterns-dev"
    widgets = json.loads(dashboards[0].inputs["dashboardBody"])["widgets"]
    by_title = {w["properties"]["title"]: w["properties"] for w in widgets}
    for machine in demo.of_type("aws:sfn/stateMachine:StateMachine"):
        widget = by_title[f"{machine.name} executions"]
        assert [m[:4] for m in widget["metrics"]] == [
            ["AWS/States", metric, "StateMachineArn", machine.state["arn"]]
            for metric in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut")
        ]
    queues = {q.state["arn"]: q.state["name"] for q in demo.of_type("aws:sqs/queue:Queue")}
    depth = by_title["Dead-letter queues (messages waiting)"]
    assert sorted(m[3] for m in depth["metrics"]) == sorted(queues[arn] for arn in dead_letter_queue_arns(demo))
    assert depth["stat"] == "Maximum"
    for api in demo.of_type("aws:apigatewayv2/api:Api"):
        widget = by_title[f"{api.name} answers"]
        assert [m[1] for m in widget["metrics"]] == ["4xx", "5xx", "Latency"]
        assert all(m[2:6] == ["ApiId", _api_id(demo, api), "Stage", "$default"] for m in widget["metrics"])
    # Laid out two to a row without overlap.
    assert len({(w["x"], w["y"]) for w in widgets}) == len(widgets)


def test_a_dashboard_of_an_empty_stack_has_no_widgets() -> None:
    run = build(lambda: StackDashboard("d", {"dashboard_name": "empty one"}))
    dashboard = run.named_of("aws:cloudwatch/dashboard:Dashboard", "d")
    assert dashboard.inputs["dashboardName"] == "empty-one"
    assert json.loads(dashboard.inputs["dashboardBody"]) == {"widgets": []}


def test_state_machine_log_level_and_execution_data_are_args() -> None:
    def program() -> None:
        StateMachine("quiet", {"definition": PASS, "log_level": "ERROR"})
        StateMachine("verbose", {"definition": PASS, "log_execution_data": True})

    run = build(program)
    quiet = run.named_of("aws:sfn/stateMachine:StateMachine", "quiet").inputs["loggingConfiguration"]
    verbose = run.named_of("aws:sfn/stateMachine:StateMachine", "verbose").inputs["loggingConfiguration"]
    assert (quiet["level"], quiet["includeExecutionData"]) == ("ERROR", False)
    assert (verbose["level"], verbose["includeExecutionData"]) == ("ALL", True)
    with pytest.raises(Exception, match="log_level"):
        build(lambda: StateMachine("bad", {"definition": PASS, "log_level": "DEBUG"}))


def test_every_demo_state_machine_leaves_execution_data_out_of_its_logs(demo: ProgramRun) -> None:
    for machine in demo.of_type("aws:sfn/stateMachine:StateMachine"):
        logging = machine.inputs["loggingConfiguration"]
        assert logging["level"] == "ALL" and logging["includeExecutionData"] is False, machine.name
