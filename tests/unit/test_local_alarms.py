"""The local alarm evaluator (``local/alarms.py``) against moto in this process: states follow datapoints."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import boto3
import pytest
from moto import mock_aws

from local.alarms import AlarmEvaluator, Timeline, aggregate, decide, metric_key

ROLE = "arn:aws:iam::123456789012:role/sfn"
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield {s: boto3.client(s, region_name="us-east-1") for s in ("stepfunctions", "cloudwatch", "sqs", "sns")}


def put_alarm(cloudwatch: Any, name: str, namespace: str, metric: str, dimensions: dict[str, str], **extra: Any) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace=namespace, MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        Statistic=extra.pop("Statistic", "Sum"), Period=extra.pop("Period", 10), EvaluationPeriods=1,
        Threshold=extra.pop("Threshold", 1), ComparisonOperator=extra.pop("ComparisonOperator", "GreaterThanOrEqualToThreshold"),
        TreatMissingData=extra.pop("TreatMissingData", "notBreaching"), **extra,
    )


def state(cloudwatch: Any, name: str) -> str:
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def finish(sfn: Any, arn: str, name: str) -> dict[str, Any]:
    execution = sfn.start_execution(stateMachineArn=arn, name=name)["executionArn"]
    deadline = time.monotonic() + 10
    while (description := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return description


def test_failed_execution_fires_only_the_alarm_on_its_exact_dimensions(aws: dict[str, Any]) -> None:
    sfn, cloudwatch = aws["stepfunctions"], aws["cloudwatch"]
    failing = sfn.create_state_machine(name="failing", definition=json.dumps(FAIL), roleArn=ROLE)["stateMachineArn"]
    other = sfn.create_state_machine(name="other", definition=json.dumps(PASS), roleArn=ROLE)["stateMachineArn"]
    put_alarm(cloudwatch, "failing-failed", "AWS/States", "ExecutionsFailed", {"StateMachineArn": failing})
    put_alarm(cloudwatch, "other-failed", "AWS/States", "ExecutionsFailed", {"StateMachineArn": other})
    put_alarm(cloudwatch, "by-name", "AWS/States", "ExecutionsFailed", {"StateMachineName": "failing"}, TreatMissingData="missing")
    put_alarm(cloudwatch, "wrong-namespace", "AWS/Lambda", "ExecutionsFailed", {"StateMachineArn": failing}, TreatMissingData="missing")
    evaluator = AlarmEvaluator("us-east-1")
    evaluator.evaluate()
    assert state(cloudwatch, "failing-failed") == "OK"

    stopped = finish(sfn, failing, "one")["stopDate"].timestamp()
    evaluator.evaluate(now=stopped + 1)
    assert state(cloudwatch, "failing-failed") == "ALARM"
    assert state(cloudwatch, "other-failed") == "OK"
    assert state(cloudwatch, "by-name") == "INSUFFICIENT_DATA"
    assert state(cloudwatch, "wrong-namespace") == "INSUFFICIENT_DATA"
    # A period (10 s) after the failure, the alarm is OK again; the execution stays FAILED.
    evaluator.evaluate(now=stopped + 9.5)
    assert state(cloudwatch, "failing-failed") == "ALARM"
    evaluator.evaluate(now=stopped + 10.5)
    assert state(cloudwatch, "failing-failed") == "OK"
    assert sfn.describe_execution(executionArn=failing.replace(":stateMachine:", ":execution:") + ":one")["status"] == "FAILED"


def test_queue_depth_alarm_follows_the_messages_waiting(aws: dict[str, Any]) -> None:
    sqs, cloudwatch = aws["sqs"], aws["cloudwatch"]
    url = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    put_alarm(cloudwatch, "depth", "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "dead-letters"},
              Statistic="Maximum", Threshold=0, ComparisonOperator="GreaterThanThreshold", TreatMissingData="ignore")
    evaluator = AlarmEvaluator("us-east-1")
    now = time.time()
    evaluator.evaluate(now=now)
    assert state(cloudwatch, "depth") == "OK"
    sqs.send_message(QueueUrl=url, MessageBody="lost work")
    evaluator.evaluate(now=now + 2)
    assert state(cloudwatch, "depth") == "ALARM"
    sqs.purge_queue(QueueUrl=url)
    evaluator.evaluate(now=now + 4)
    assert state(cloudwatch, "depth") == "ALARM"  # the message was there within the period
    evaluator.evaluate(now=now + 13)
    assert state(cloudwatch, "depth") == "OK"


def test_state_changes_notify_the_alarm_s_topic(aws: dict[str, Any]) -> None:
    sns, sqs, cloudwatch = aws["sns"], aws["sqs"], aws["cloudwatch"]
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    put_alarm(cloudwatch, "errors", "AWS/Lambda", "Errors", {"FunctionName": "fn"}, AlarmActions=[topic], OKActions=[topic])
    evaluator = AlarmEvaluator("us-east-1")
    evaluator.timeline.lambda_invocation("fn", failed=True)
    evaluator.timeline.lambda_invocation("other", failed=True)
    evaluator.evaluate()
    notes = [json.loads(json.loads(m["Body"])["Message"]) for m in sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]]
    assert [(n["AlarmName"], n["OldStateValue"], n["NewStateValue"]) for n in notes] == [("errors", "OK", "ALARM")]
    assert notes[0]["Trigger"]["Dimensions"] == [{"name": "FunctionName", "value": "fn"}]


def test_api_answers_count_by_api_and_by_api_and_stage() -> None:
    timeline = Timeline()
    timeline.api_answer("abc", "$default", 502)
    timeline.api_answer("abc", "$default", 404)
    now = time.time() + 1
    for dimensions in ({"ApiId": "abc"}, {"ApiId": "abc", "Stage": "$default"}):
        assert sum(timeline.values(metric_key("AWS/ApiGateway", "5xx", dimensions), now - 10, now)) == 1
        assert sum(timeline.values(metric_key("AWS/ApiGateway", "4xx", dimensions), now - 10, now)) == 1
        assert len(timeline.values(metric_key("AWS/ApiGateway", "Count", dimensions), now - 10, now)) == 2
    assert timeline.values(metric_key("AWS/ApiGateway", "5xx", {"ApiId": "abc", "Stage": "prod"}), now - 10, now) == []


@pytest.mark.parametrize(
    "values, treat, current, expected",
    [
        ([None], "notBreaching", "ALARM", "OK"),
        ([None], "missing", "OK", "INSUFFICIENT_DATA"),
        ([None], "ignore", "ALARM", "ALARM"),
        ([None], "breaching", "OK", "ALARM"),
        ([0.0], "breaching", "ALARM", "OK"),
        ([2.0], "notBreaching", "OK", "ALARM"),
        ([2.0, None], "notBreaching", "OK", "OK"),  # 2 datapoints to alarm, one breaching
        ([2.0, None], "breaching", "OK", "ALARM"),
    ],
)
def test_decide_follows_treat_missing_data(values: list[Any], treat: str, current: str, expected: str) -> None:
    assert decide(values, "GreaterThanOrEqualToThreshold", 1, len(values), treat, current)[0] == expected


def test_aggregate() -> None:
    assert aggregate("Sum", []) is None
    assert [aggregate(s, [1.0, 3.0]) for s in ("Sum", "SampleCount", "Average", "Minimum", "Maximum")] == [4, 2, 2, 1, 3]
    with pytest.raises(ValueError, match="p99"):
        aggregate("p99", [1.0])
