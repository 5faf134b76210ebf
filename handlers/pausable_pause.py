"""PausableWorkflow's pause: the ``lambda:invoke.waitForTaskToken`` task that parks a job.

Event (the state machine's Payload): ``{"token", "jobId", "executionArn", "job"}`` where ``job`` is
the state (execution input plus ``preprocessed`` when the workflow has a preprocessing step). It validates the job's manual flag (an invalid
one fails the execution with ``InvalidManualFlag``), stores the token in the pause table under the
job id (the token never leaves AWS: it is not returned, logged or sent anywhere) and, unless the
job is manual, asks the async service to do the long job by invoking it asynchronously with
``{"jobId", "input"}``. The execution then waits until a resume completes the task.

Environment: ``TABLE_NAME`` (pause table), ``PAUSE_TIMEOUT_SECONDS`` (the task's TimeoutSeconds:
the row expires with it), ``ASYNC_SERVICE_ARN`` (the Lambda doing the long job). These names, the
event's fields and ``AsyncServiceUnavailable`` are ``sfn_patterns.contracts.pausable``'s.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from botocore.exceptions import BotoCoreError, ClientError

from common import env, log
from common.clients import client
from common.errors import aws_calls
from common.manual import InvalidManualFlag, resolve_manual
from common.tokens import TokenStore
from sfn_patterns.contracts import pausable
from sfn_patterns.contracts.pausable import AsyncServiceUnavailable

__all__ = ["AsyncServiceUnavailable", "handler"]


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Park the job: validate its flag, register its token, start the long job unless manual."""
    job_id = event[pausable.PAUSE_JOB_ID]
    job = event.get(pausable.PAUSE_JOB)
    try:
        manual = resolve_manual(job)
    except InvalidManualFlag as error:
        log.warning("invalid manual flag", jobId=job_id, reason=str(error))
        raise
    with aws_calls("registering the job's token"):  # a failing table: retried by the pause
        TokenStore(env.require(pausable.ENV_TABLE_NAME)).register(
            job_id,
            event[pausable.PAUSE_TOKEN],
            env.get_int(pausable.ENV_PAUSE_TIMEOUT_SECONDS, pausable.DEFAULT_PAUSE_TIMEOUT_SECONDS),
            event[pausable.PAUSE_EXECUTION_ARN],
            {pausable.MANUAL_ATTRIBUTE: manual},
        )
    if not manual:
        # The preprocessed job; without a preprocessing step, the job's own input.
        data = job.get(pausable.PREPROCESSED_FIELD, job.get(pausable.JOB_INPUT)) if isinstance(job, dict) else None
        payload = {pausable.ASYNC_JOB_ID: job_id, pausable.ASYNC_INPUT: data}
        try:
            client("lambda").invoke(
                FunctionName=env.require(pausable.ENV_ASYNC_SERVICE_ARN),
                InvocationType="Event",
                Payload=json.dumps(payload).encode("utf-8"),
            )
        except (ClientError, BotoCoreError) as error:
            log.error("async service not invoked", jobId=job_id, exception=repr(error))
            raise AsyncServiceUnavailable(f"the async service could not be invoked: {error}") from error
    log.info("job paused", jobId=job_id, manual=manual)
    return {"jobId": job_id, "manual": manual}
