"""The CallbackWorkflow's contract between its register and API handlers: the notification and its limits.

The external party receives ``{"taskId", "input", "callbackUrl", "secret"}`` on the topic; the
register Lambda gets ``{"taskId", "executionArn", "taskToken", "input"}`` from the wait state. Both
carry the task's input, so ``POST /tasks`` checks both final documents (:func:`check_documents`)
before it starts anything: an input that fits the execution but not its notification would be
accepted and never reach the external party.
"""

from __future__ import annotations

from typing import Any

from common import documents
from sfn_patterns.contracts import callback as contract
from sfn_patterns.contracts.callback import SECRET_CHARS

__all__ = ["SECRET_CHARS", "callback_url", "check_documents", "notification", "wait_payload"]


def callback_url(api_url: str, task_id: str) -> str:
    """Where the external party completes the task."""
    return f"{api_url.rstrip('/')}/tasks/{task_id}"


def notification(task_id: str, task_input: Any, api_url: str, secret: str) -> dict[str, Any]:
    """The message the external party receives (no token: the secret proves it was handed the task)."""
    return {"taskId": task_id, "input": task_input, "callbackUrl": callback_url(api_url, task_id), "secret": secret}


def wait_payload(task_id: str, execution_arn: str, task_input: Any, token: str) -> dict[str, Any]:
    """The register Lambda's payload as the wait state renders it (its Parameters)."""
    return {
        contract.REGISTER_TASK_ID: task_id,
        contract.REGISTER_EXECUTION_ARN: execution_arn,
        contract.REGISTER_TASK_TOKEN: token,
        contract.REGISTER_INPUT: task_input,
    }


def check_documents(task_id: str, task_input: Any, api_url: str, execution_arn: str) -> None:
    """Raise :class:`documents.DocumentTooLarge` unless the task's notification and the wait's
    payload (with the longest token Step Functions issues) fit AWS's 256 KiB."""
    documents.check_size(
        "the task's notification (input, callbackUrl and secret)",
        documents.dumps(notification(task_id, task_input, api_url, "s" * SECRET_CHARS)),
    )
    documents.check_size(
        "the callback wait's input (input, task token and execution ARN)",
        documents.dumps(wait_payload(task_id, execution_arn, task_input, "t" * documents.MAX_TASK_TOKEN_CHARS)),
    )
