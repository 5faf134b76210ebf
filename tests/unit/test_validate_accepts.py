"""Valid definitions in the forms AWS's own examples use: sfn_patterns.validate finds nothing in them.

The field checks (Wait, Choice, Fail, Task, Retry/Catch, paths, intrinsics, Map modes, JSONata) refuse
what AWS refuses; these guard the other side: nothing AWS accepts is refused.
"""

from __future__ import annotations

import pytest

from sfn_patterns import validate

L = "arn:aws:states:::lambda:invoke"
FN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def one(state: dict, **top: object) -> dict:  # type: ignore[type-arg]
    """A machine of the one state ``state``."""
    return {"StartAt": "S", "States": {"S": state}, **top}


cases = {
 "paths": {"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": L, "InputPath": "$.detail", "OutputPath": "$.Payload", "ResultPath": "$.results[0]",
               "Parameters": {"FunctionName": FN, "Payload.$": "$", "cheap.$": "$.items[?(@.price < 10)]"},
               "ResultSelector": {"body.$": "$.Payload.body", "n.$": "States.ArrayLength($.Payload.items)"}, "End": True,
               "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 0}],
               "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "F"}]}, "F": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "States.Format('failed: {}', $.error.Cause)"}}},
 "intrinsics": one({"Type": "Pass", "Parameters": {"a.$": "States.JsonToString(States.Array(1, 2))", "b.$": "States.Format('it\\'s {}', $.n)",
                    "c.$": "States.StringToJson($.s)", "d.$": "States.JsonMerge($.a, $.b, false)", "e.$": "States.UUID()",
                    "f.$": "$$.Map.Item.Value", "g.$": "$myVar"}, "Assign": {"count.$": "$.n", "label": "x"}, "End": True}),
 "map": one({"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0, "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value"},
             "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}),
 "dist": one({"Type": "Map", "Label": "my-map_1", "ToleratedFailurePercentage": 5, "MaxConcurrency": 1000,
              "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "b", "Prefix": "in/"}},
              "ItemBatcher": {"MaxItemsPerBatch": 10}, "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "out"}},
              "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}),
 "choice": {"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [
     {"Variable": "$.file", "StringMatches": "log-*.txt", "Next": "D"},
     {"Or": [{"Variable": "$.n", "NumericGreaterThanPath": "$.limit"}, {"Variable": "$.flag", "BooleanEquals": True}], "Next": "D", "Assign": {"hit": True}},
     {"Variable": "$.t", "TimestampLessThanEquals": "2026-12-31T23:59:59.999Z", "Next": "D"}], "Default": "W"},
     "W": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "D"}, "D": {"Type": "Succeed"}}},
 "task timeouts": one({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "TimeoutSecondsPath": "$.timeout",
                       "HeartbeatSeconds": 60, "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                       "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}),
 "jsonata": {"QueryLanguage": "JSONata", "StartAt": "T", "States": {
     "T": {"Type": "Task", "Resource": L, "Arguments": {"FunctionName": FN, "Payload": "{% $states.input %}"},
           "Output": "{% $states.result.Payload %}", "Assign": {"price": "{% $states.result.Payload.price %}"},
           "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "BackoffRate": 2.0, "JitterStrategy": "FULL", "MaxDelaySeconds": 30}],
           "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "F"}], "Next": "C"},
     "C": {"Type": "Choice", "Choices": [{"Condition": "{% $price > 10 and $states.input.kind = \"it's\" %}", "Next": "M"}], "Default": "W"},
     "W": {"Type": "Wait", "Seconds": "{% $price %}", "Next": "M"},
     "M": {"Type": "Map", "Items": "{% $states.input.items %}", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% {'v': $states.input} %}", "End": True}}}, "Next": "Done"},
     "Done": {"Type": "Succeed", "Output": "{% $states.input %}"},
     "F": {"Type": "Fail", "Error": "{% $states.input.Error %}", "Cause": "Broken"}}},
}


@pytest.mark.parametrize("name", sorted(cases))
def test_what_aws_accepts_is_accepted(name: str) -> None:
    assert [p.line(name) for p in validate.problems(cases[name])] == []
