"""Seed 004's async service, as a demo: does the long job, then answers on the resume topic.

Invoked asynchronously by the pause with ``{"jobId", "input"}`` (``input``: the preprocessed job).
It works for ``JOB_SECONDS`` seconds, then publishes the topic contract's message: ``FAILED`` with
``DemoJobFailed`` when the job's data asks for it (``{"fail": true}``), else ``SUCCEEDED`` with the
data and the trail of steps. It never sees a task token: the job id is all it needs.

Environment: ``RESUME_TOPIC_ARN``, ``JOB_SECONDS`` (default 2; may be fractional).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Mapping

from common import env, log
from common.clients import client
from sfn_patterns.contracts import pausable


def _job_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("JOB_SECONDS") or 2))
    except ValueError:
        return 2.0


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Do the long job of ``event["jobId"]`` and publish its outcome to the resume topic."""
    job_id = event[pausable.ASYNC_JOB_ID]
    given = event.get(pausable.ASYNC_INPUT)
    job: dict[str, Any] = given if isinstance(given, dict) else {}
    data = job.get("data", job)
    given_steps = job.get("steps")
    steps: list[Any] = given_steps if isinstance(given_steps, list) else []
    seconds = _job_seconds()
    time.sleep(seconds)
    if isinstance(data, dict) and data.get("fail") is True:
        message: dict[str, Any] = {
            "jobId": job_id,
            "status": "FAILED",
            "error": "DemoJobFailed",
            "cause": "the job's data asked the demo service to fail",
        }
    else:
        message = {
            "jobId": job_id,
            "status": "SUCCEEDED",
            "output": {"data": data, "steps": steps + ["long job"], "tookSeconds": seconds},
        }
    client("sns").publish(TopicArn=env.require(pausable.ENV_RESUME_TOPIC_ARN), Message=json.dumps(message))
    log.info("long job done", jobId=job_id, status=message["status"])
    return {"jobId": job_id, "status": message["status"]}
