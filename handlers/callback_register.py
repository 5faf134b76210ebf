"""CallbackWorkflow's callback state: store the task token under the task id, THEN notify the external party.

Invoked by Step Functions (``lambda:invoke.waitForTaskToken``) with
``{"taskId", "executionArn", "taskToken", "input"}``. It generates a per-task secret, registers the
token in the token table under the task id with only the secret's SHA-256 hash, and then publishes
``{"taskId", "input", "callbackUrl", "secret"}`` to the topic. Because the row is written before the
notification leaves, a callback that arrives the instant the notification is out finds the token.
The token itself goes nowhere but the table; it is never logged or published.

Environment: ``TABLE_NAME``, ``TOPIC_ARN``, ``API_URL`` (base URL of the component's HTTP API),
``TASK_TIMEOUT_SECONDS`` (the wait's timeout: the row's deadline and TTL). These names, the event's
fields and the row's ``secretHash`` are ``sfn_patterns.contracts.callback``'s.
"""

from __future__ import annotations

from typing import Any, Mapping

from common import documents, env, log
from common.callback import notification
from common.clients import client
from common.errors import aws_calls
from common.task_secret import new_secret, secret_hash
from common.tokens import TokenStore
from sfn_patterns.contracts import callback

__all__ = ["NotificationTooLarge", "handler", "notification"]


class NotificationTooLarge(ValueError):
    """The notification would exceed SNS's 256 KiB (a ``before`` handler grew the input): not retried."""


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Register the token of ``event["taskId"]``, then publish the task's notification."""
    table = env.require(callback.ENV_TABLE_NAME)
    topic, api_url = env.require(callback.ENV_TOPIC_ARN), env.require(callback.ENV_API_URL)
    task_id = event[callback.REGISTER_TASK_ID]
    execution_arn = event[callback.REGISTER_EXECUTION_ARN]
    secret = new_secret()
    message = notification(task_id, event.get(callback.REGISTER_INPUT), api_url, secret)
    try:
        text = documents.check_size("the task's notification", documents.dumps(message))
    except documents.DocumentTooLarge as error:
        log.error("notification too large", taskId=task_id, size=error.size, limit=error.limit)
        raise NotificationTooLarge(str(error)) from error
    # A failing table or topic raises AwsServiceUnavailable: the wait retries this step, which
    # registers a fresh token (same execution) and sends a fresh notification.
    with aws_calls("registering the task token"):
        TokenStore(table).register(
            task_id,
            event[callback.REGISTER_TASK_TOKEN],
            env.get_int(callback.ENV_TASK_TIMEOUT_SECONDS, callback.DEFAULT_TIMEOUT_SECONDS),
            execution_arn,
            attributes={callback.SECRET_HASH_ATTRIBUTE: secret_hash(secret)},
        )
    with aws_calls("publishing the task notification"):
        response = client("sns").publish(
            TopicArn=topic,
            Message=text,
            MessageAttributes={"taskId": {"DataType": "String", "StringValue": task_id}},
        )
    log.info("task waiting for its callback", taskId=task_id, executionArn=execution_arn,
             messageId=response.get("MessageId"))
    return {"taskId": task_id, "messageId": response.get("MessageId")}
