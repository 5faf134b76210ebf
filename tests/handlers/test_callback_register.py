"""The register step of CallbackWorkflow against moto: token stored first, then a notification without it."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

import callback_register
from common.env import ConfigurationError
from common.task_secret import secret_hash
from common.tokens import KeyInUse, TokenStore
from tests.handlers.conftest import token_table, topic_with_inbox

TOKEN = "AAAA-the-raw-task-token-" + "x" * 40
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:callback:task-1"


@pytest.fixture
def resources(aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A token table, a topic and an SQS queue subscribed to it; the register environment set."""
    table = token_table()
    topic, queue = topic_with_inbox("tasks")
    for key, value in {"TABLE_NAME": table, "TOPIC_ARN": topic, "API_URL": "https://api.example.com/",
                       "TASK_TIMEOUT_SECONDS": "120"}.items():
        monkeypatch.setenv(key, value)
    return {"table": table, "topic": topic, "queue": queue}


def _event(task_id: str = "task-1", execution: str = EXECUTION) -> dict[str, Any]:
    return {"taskId": task_id, "executionArn": execution, "taskToken": TOKEN, "input": {"amount": 5}}


def _messages(queue: str) -> list[dict[str, Any]]:
    raw = boto3.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    return [json.loads(m["Body"]) for m in raw]


def test_register_stores_the_token_and_publishes_the_task_without_it(resources: dict[str, str]) -> None:
    started = int(time.time())
    result = callback_register.handler(_event())
    assert result["taskId"] == "task-1" and result["messageId"]

    (envelope,) = _messages(resources["queue"])
    assert TOKEN not in json.dumps(envelope)
    message = json.loads(envelope["Message"])
    assert set(message) == {"taskId", "input", "callbackUrl", "secret"}
    assert message["taskId"] == "task-1" and message["input"] == {"amount": 5}
    assert message["callbackUrl"] == "https://api.example.com/tasks/task-1"
    assert len(message["secret"]) >= 40
    assert envelope["MessageAttributes"]["taskId"]["Value"] == "task-1"

    row = TokenStore(resources["table"]).get("task-1")
    assert row["token"] == TOKEN and row["status"] == "WAITING" and row["executionArn"] == EXECUTION
    assert row["secretHash"] == secret_hash(message["secret"])
    assert message["secret"] not in json.dumps(row)  # the secret itself is never stored
    assert started + 120 <= row["expiresAt"] <= int(time.time()) + 120  # TTL = the wait's timeout


def test_the_token_is_stored_before_the_notification_leaves(resources: dict[str, str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    seen_at_publish: list[Any] = []
    sns = boto3.client("sns")

    class WatchingSns:
        def publish(self, **kwargs: Any) -> dict[str, Any]:
            seen_at_publish.append(TokenStore(resources["table"]).get("task-1"))
            return sns.publish(**kwargs)

    monkeypatch.setattr(callback_register, "client", lambda service: WatchingSns())
    callback_register.handler(_event())
    assert seen_at_publish and seen_at_publish[0]["token"] == TOKEN


def test_each_registration_gets_a_new_secret(resources: dict[str, str]) -> None:
    callback_register.handler(_event("task-a", EXECUTION + "a"))
    callback_register.handler(_event("task-b", EXECUTION + "b"))
    secrets = {json.loads(m["Message"])["secret"] for m in _messages(resources["queue"])}
    assert len(secrets) == 2


def test_a_retried_register_replaces_token_and_secret(resources: dict[str, str]) -> None:
    callback_register.handler(_event())
    callback_register.handler({**_event(), "taskToken": "second-token"})
    row = TokenStore(resources["table"]).get("task-1")
    assert row["token"] == "second-token"
    hashes = [secret_hash(json.loads(m["Message"])["secret"]) for m in _messages(resources["queue"])]
    assert len(set(hashes)) == 2 and row["secretHash"] in hashes


def test_another_execution_waiting_under_the_id_is_refused_and_nothing_is_published(resources: dict[str, str]) -> None:
    callback_register.handler(_event())
    _messages(resources["queue"])
    with pytest.raises(KeyInUse):
        callback_register.handler(_event(execution=EXECUTION + "-other"))
    assert TokenStore(resources["table"]).get("task-1")["executionArn"] == EXECUTION
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=resources["queue"], WaitTimeSeconds=0)


def test_missing_configuration_fails_before_anything_is_written(resources: dict[str, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOPIC_ARN")
    with pytest.raises(ConfigurationError):
        callback_register.handler(_event())
    assert TokenStore(resources["table"]).get("task-1") is None
