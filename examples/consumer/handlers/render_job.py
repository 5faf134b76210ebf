"""The render service: does the job, then resumes it on the component's resume topic.

Invoked asynchronously with ``{"jobId", "input"}``; publishes ``{"jobId", "status", "output"}`` to
``RESUME_TOPIC_ARN`` (which the component sets, with the right to publish there).
"""

import json
import os
from typing import Any

import boto3


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Render the job's ``input`` (upper-case its ``text``) and publish the outcome."""
    job = event.get("input") if isinstance(event.get("input"), dict) else {}
    text = job.get("text")
    if isinstance(text, str):
        message: dict[str, Any] = {"jobId": event["jobId"], "status": "SUCCEEDED", "output": {"rendered": text.upper()}}
    else:
        message = {"jobId": event["jobId"], "status": "FAILED", "error": "NothingToRender", "cause": "the job has no text"}
    boto3.client("sns").publish(TopicArn=os.environ["RESUME_TOPIC_ARN"], Message=json.dumps(message))
    return {"jobId": event["jobId"], "status": message["status"]}
