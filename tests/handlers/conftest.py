"""Fixtures for handler tests against moto: an AWS mock and HTTP API events."""

from __future__ import annotations

import contextlib

import json
import threading
import time
import uuid
import zipfile
from io import BytesIO
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from local import dynamodb_atomic, stepfunctions


@contextlib.contextmanager
def emulated_aws() -> Iterator[None]:
    """Every boto3 call inside goes to moto (Step Functions interpreter on).

    With the local stack's fixes for moto's gaps: DynamoDB conditional writes are atomic
    (local/dynamodb_atomic.py: without it, racing completions can both win) and the interpreter
    runs JSONata states and nested executions (local/stepfunctions.py), as on AWS.
    """
    dynamodb_atomic.install()
    stepfunctions.install()
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            yield
    finally:
        stepfunctions.uninstall()
        dynamodb_atomic.uninstall()


def execution_status(execution_arn: str, timeout: float = 10, until_not: str = "RUNNING") -> dict[str, Any]:
    """The execution's description once its status is no longer ``until_not`` (or after ``timeout`` seconds)."""
    sfn = boto3.client("stepfunctions")
    deadline = time.time() + timeout
    while True:
        description = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] != until_not or time.time() > deadline:
            return description
        time.sleep(0.05)


@pytest.fixture
def aws() -> Iterator[None]:
    """The test runs on :func:`emulated_aws`."""
    with emulated_aws():
        yield


def http_event(
    route_key: str,
    body: Any = None,
    path: Optional[dict[str, str]] = None,
    headers: Optional[dict[str, str]] = None,
    raw_body: Optional[str] = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for ``route_key`` with a JSON ``body``."""
    method, route_path = route_key.split(" ", 1)
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": route_path,
        "headers": {"content-type": "application/json", **(headers or {})},
        "pathParameters": path or {},
        "requestContext": {"domainName": "api.example.com", "http": {"method": method, "path": route_path}},
        "body": raw_body if raw_body is not None else (None if body is None else json.dumps(body)),
        "isBase64Encoded": False,
    }


def response_json(response: dict[str, Any]) -> Any:
    """The parsed JSON body of a handler's HTTP response."""
    return json.loads(response["body"])


# --- Small moto deployments shared by the pattern tests ------------------------------------------


def token_table(prefix: str = "tokens") -> str:
    """Create a token table (hash key ``pk``, as ``secure_table`` makes it) and return its name."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def topic_with_inbox(prefix: str) -> tuple[str, str]:
    """Create an SNS topic with an SQS queue subscribed to it (to read what was published): (topic ARN, queue URL)."""
    suffix = uuid.uuid4().hex[:6]
    topic_arn = boto3.client("sns").create_topic(Name=f"{prefix}-{suffix}")["TopicArn"]
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"{prefix}-inbox-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


def _placeholder_zip() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def in_process_lambdas(
    monkeypatch: pytest.MonkeyPatch,
    handlers: Mapping[str, Callable[[Any, Any], Any]],
    names: Optional[Iterable[str]] = None,
) -> dict[str, str]:
    """Create one moto function per handler (``names``, default all) and make moto run it in this process.

    moto runs Lambdas in Docker; here an invocation calls ``handlers[name]`` (looked up at call time,
    so a test may swap it) instead, and a raised exception is answered in Lambda's error shape
    (``errorType`` = the class name), so Step Functions' Retry and Catch see the names they see on
    AWS. Returns the functions' ARNs by handler name.
    """
    suffix = uuid.uuid4().hex[:6]
    role = boto3.client("iam").create_role(RoleName=f"lambda-{suffix}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    by_function: dict[str, str] = {}
    arns: dict[str, str] = {}
    for name in names if names is not None else list(handlers):
        function_name = f"{name}-{suffix}"
        by_function[function_name] = name
        arns[name] = boto3.client("lambda").create_function(
            FunctionName=function_name, Runtime="python3.12", Role=role, Handler="index.handler",
            Code={"ZipFile": _placeholder_zip()},
        )["FunctionArn"]

    def invoke(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        try:
            result = handlers[by_function[self.function_name]](event if event is not None else {}, None)
        except Exception as error:  # noqa: BLE001 - reported as a function error, as Lambda does
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}), True, ""
        return json.dumps(result), False, ""

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", invoke)
    return arns


def scheduled_tasks(execution_arn: str, resource: str = "") -> int:
    """How many Task states (whose resource contains ``resource``) the execution has scheduled so far
    (a retried wait counts again)."""
    sfn = boto3.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    def names(event: dict[str, Any]) -> str:  # "<resourceType>:<resource>", e.g. "aws-sdk:dynamodb:putItem.waitForTaskToken"
        details = event.get("taskScheduledEventDetails", {})
        return f"{details.get('resourceType', '')}:{details.get('resource', '')}"

    return sum(1 for event in events if event["type"] == "TaskScheduled" and resource in names(event))


def race(callers: int, call: Callable[[int], Any]) -> list[Any]:
    """Run ``call(i)`` for ``callers`` threads released at the same instant; their results, in order."""
    results: list[Any] = [None] * callers
    barrier = threading.Barrier(callers)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = call(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
