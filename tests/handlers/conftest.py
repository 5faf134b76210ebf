"""Fixtures for handler tests against moto: an AWS mock and HTTP API events."""

from __future__ import annotations

import json
from typing import Any, Iterator, Optional

import pytest
from moto import mock_aws

from local import dynamodb_atomic


@pytest.fixture
def aws() -> Iterator[None]:
    """Every boto3 call inside the test goes to moto (Step Functions interpreter on).

    DynamoDB conditional writes are made atomic as on AWS (a moto gap, see local/dynamodb_atomic.py).
    """
    dynamodb_atomic.install()
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            yield
    finally:
        dynamodb_atomic.uninstall()


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
