"""IAM policy statements and grant helpers, in the spirit of the CDK's ``grant*`` methods.

Every component builds its roles from these functions, so no IAM JSON is written by hand twice.
A statement is a plain dict (``Effect``/``Action``/``Resource``) whose resources may be Pulumi
outputs; :func:`policy_json` turns a list of them into a policy document.

Rules kept here for every caller: no ``*`` action ever, and a ``*`` resource only for actions that
AWS offers no resource-level permission for (each such place says so).
"""

import json
from typing import Any, Optional, Sequence

import pulumi

from sfn_patterns.contracts.common import execution_arn

Statement = dict[str, Any]


def statement(actions: Sequence[str], resources: Sequence[pulumi.Input[str]]) -> Statement:
    """One ``Allow`` statement for the given actions on the given resource ARNs."""
    if not actions or any("*" in action for action in actions):
        raise ValueError(f"IAM actions must be named one by one, got {list(actions)}")
    return {"Effect": "Allow", "Action": sorted(set(actions)), "Resource": list(resources)}


def policy_json(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """A policy document (JSON string) holding ``statements``; outputs inside are resolved."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def assume_role_policy(service: str, same_account_as: pulumi.Input[str], source_arn_like: Optional[str] = None) -> pulumi.Output[str]:
    """The trust policy that lets one AWS service principal (``lambda.amazonaws.com`` ...) assume a role,
    only on behalf of this account (confused-deputy protection).

    ``same_account_as`` is the ARN of any resource of the stack's account and region (a log group made
    before the role): its account becomes the ``aws:SourceAccount`` condition, so no invoke is needed.
    ``source_arn_like``, when given, is an ARN pattern with ``{region}`` and ``{account}`` fields, and
    becomes an ``ArnLike`` ``aws:SourceArn`` condition (``arn:aws:states:{region}:{account}:stateMachine:*``).
    """

    def document(arn: str) -> str:
        _, partition, _, region, account = arn.split(":")[:5]
        condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account}}
        if source_arn_like is not None:
            pattern = source_arn_like.format(region=region, account=account)
            condition["ArnLike"] = {"aws:SourceArn": pattern.replace("arn:aws:", f"arn:{partition}:", 1)}
        statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", "Condition": condition}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    return pulumi.Output.from_input(same_account_as).apply(document)


def executions_of(state_machine_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The ARN pattern of every execution of a state machine (``...:execution:<name>:*``)."""
    return pulumi.Output.from_input(state_machine_arn).apply(lambda arn: execution_arn(arn, "*"))


# --- Step Functions -------------------------------------------------------------------------


def grant_start_execution(state_machine_arn: pulumi.Input[str]) -> list[Statement]:
    """Start executions of a state machine and read them back (describe)."""
    return [
        statement(["states:StartExecution"], [state_machine_arn]),
        statement(["states:DescribeExecution"], [executions_of(state_machine_arn)]),
    ]


def grant_operations(state_machine_arn: pulumi.Input[str]) -> list[Statement]:
    """List a state machine's executions, stop (cancel) and redrive them: the operations routes of an API."""
    return [
        statement(["states:ListExecutions"], [state_machine_arn]),
        statement(["states:RedriveExecution", "states:StopExecution"], [executions_of(state_machine_arn)]),
    ]


def grant_read_executions(state_machine_arn: pulumi.Input[str]) -> list[Statement]:
    """Describe executions of a state machine and read their history."""
    return [
        statement(
            ["states:DescribeExecution", "states:GetExecutionHistory"],
            [executions_of(state_machine_arn)],
        )
    ]


def grant_task_response(state_machine_arn: pulumi.Input[str]) -> list[Statement]:
    """Send task success, failure and heartbeats for callback tasks of a state machine.

    Like the CDK's ``grantTaskResponse``, scoped to the state machine that issued the tokens.
    """
    return [
        statement(
            ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            [state_machine_arn],
        )
    ]


# --- Data and messaging -----------------------------------------------------------------------


def grant_table_read(table_arn: pulumi.Input[str]) -> list[Statement]:
    """Read items of a DynamoDB table."""
    return [statement(["dynamodb:GetItem", "dynamodb:Query"], [table_arn])]


def grant_table_write(table_arn: pulumi.Input[str]) -> list[Statement]:
    """Write (put, update, delete) items of a DynamoDB table."""
    return [
        statement(["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], [table_arn])
    ]


def grant_table_read_write(table_arn: pulumi.Input[str]) -> list[Statement]:
    """Read and write items of a DynamoDB table."""
    return [
        statement(
            [
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
            ],
            [table_arn],
        )
    ]


def grant_token_registration(table_arn: pulumi.Input[str]) -> list[Statement]:
    """Register task tokens in a token table (``TokenStore.register``: a conditional PutItem)."""
    return [statement(["dynamodb:PutItem"], [table_arn])]


def grant_token_completion(table_arn: pulumi.Input[str]) -> list[Statement]:
    """Read and complete rows of a token table (``TokenStore.get``/``claim``/``restore``/``mark``)."""
    return [statement(["dynamodb:GetItem", "dynamodb:UpdateItem"], [table_arn])]


def grant_start_claims(table_arn: pulumi.Input[str]) -> list[Statement]:
    """Claim the start of a named execution in a table, and release a failed claim
    (``handlers/common/executions.py``: a conditional PutItem, a DeleteItem)."""
    return [statement(["dynamodb:PutItem", "dynamodb:DeleteItem"], [table_arn])]


def grant_publish(topic_arn: pulumi.Input[str]) -> list[Statement]:
    """Publish to an SNS topic."""
    return [statement(["sns:Publish"], [topic_arn])]


def grant_send_message(queue_arn: pulumi.Input[str]) -> list[Statement]:
    """Send messages to an SQS queue."""
    return [statement(["sqs:SendMessage"], [queue_arn])]


def grant_put_events(event_bus_arn: pulumi.Input[str]) -> list[Statement]:
    """Put events on an EventBridge bus."""
    return [statement(["events:PutEvents"], [event_bus_arn])]


def grant_invoke(function_arn: pulumi.Input[str]) -> list[Statement]:
    """Invoke a Lambda function (any version or alias of it)."""
    arn = pulumi.Output.from_input(function_arn)
    return [statement(["lambda:InvokeFunction"], [arn, arn.apply(lambda a: f"{a}:*")])]


# --- Observability ----------------------------------------------------------------------------


def grant_xray_write() -> list[Statement]:
    """Send X-Ray trace segments.

    ``*`` resource: X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level
    permissions.
    """
    return [
        statement(
            [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            ["*"],
        )
    ]


def grant_log_write(log_group_arn: pulumi.Input[str]) -> list[Statement]:
    """Create log streams and put log events in one log group."""
    arn = pulumi.Output.from_input(log_group_arn)
    return [
        statement(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [arn.apply(lambda a: a if a.endswith(":*") else f"{a}:*")],
        )
    ]


def grant_log_delivery() -> list[Statement]:
    """Let a state machine deliver its execution logs to CloudWatch Logs.

    ``*`` resource: the CloudWatch Logs delivery actions used by Step Functions logging have no
    resource-level permissions (AWS documents this policy with ``"Resource": "*"``).
    """
    return [
        statement(
            [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            ["*"],
        )
    ]
