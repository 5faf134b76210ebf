"""DEMO ONLY: seed 000's external service, the outside system a CallbackWorkflow hands its tasks to.

Subscribed to the workflow's SNS topic, it reads each notification ``{"taskId", "input",
"callbackUrl", "secret"}``, does its (tiny) work and reports back over HTTP with urllib, exactly as
a system outside AWS would: ``PUT <callbackUrl>`` with the secret in ``X-Task-Secret``. What it does
follows ``input["simulate"]``:

- ``"succeed"`` (default): completes the task with ``{"handledBy", "echo"}``;
- ``"fail"``: fails it with the error ``ExternalServiceFailed``;
- ``"ignore"``: never calls back (the workflow times out);
- ``"twice"``: sends two completions at the same moment; exactly one is accepted, the other gets 409.

A 5xx or network error raises, so the asynchronous invocation is retried and finally dead-lettered;
a 4xx is the workflow refusing the callback, logged and not retried.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any, Mapping

from common import log

SERVICE_NAME = "demo-external-service"
HTTP_TIMEOUT_SECONDS = 10


class CallbackFailed(RuntimeError):
    """The workflow's API could not be reached or answered 5xx: worth a retry."""


def put_json(url: str, body: Any, secret: str) -> tuple[int, Any]:
    """``PUT`` ``body`` as JSON to ``url`` with the task secret; returns (status, parsed body) for 2xx/4xx."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        method="PUT",
        headers={"content-type": "application/json", "x-task-secret": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return response.status, _parse(response.read())
    except urllib.error.HTTPError as error:
        if error.code >= 500:
            raise CallbackFailed(f"the callback answered {error.code}") from error
        return error.code, _parse(error.read())
    except (urllib.error.URLError, OSError) as error:
        raise CallbackFailed(f"the callback could not be sent: {error}") from error


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode("utf-8", "replace")


def completion(task_id: str, task_input: Mapping[str, Any], simulate: str) -> dict[str, Any]:
    """The body of the callback for this task."""
    if simulate == "fail":
        return {"status": "FAILED", "error": "ExternalServiceFailed", "cause": f"{SERVICE_NAME} was told to fail"}
    if simulate not in ("succeed", "twice"):
        return {"status": "FAILED", "error": "UnsupportedSimulation", "cause": f"unknown simulate value {simulate!r}"}
    return {"status": "SUCCEEDED", "output": {"handledBy": SERVICE_NAME, "taskId": task_id, "echo": dict(task_input)}}


def serve(message: Mapping[str, Any]) -> list[int]:
    """Handle one notification; returns the HTTP statuses of the callbacks it sent."""
    task_id, url, secret = message["taskId"], message["callbackUrl"], message["secret"]
    given = message.get("input")
    task_input: dict[str, Any] = given if isinstance(given, dict) else {}
    simulate = task_input.get("simulate", "succeed")
    if simulate == "ignore":
        log.info("ignoring task", taskId=task_id)
        return []
    body = completion(task_id, task_input, simulate)
    if simulate != "twice":
        statuses = [put_json(url, body, secret)[0]]
    else:
        statuses = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def send() -> None:
            try:
                barrier.wait()
                statuses.append(put_json(url, body, secret)[0])
            except BaseException as error:  # noqa: BLE001 - reported after both threads end
                errors.append(error)

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
    log.info("callback sent", taskId=task_id, simulate=simulate, statuses=sorted(statuses))
    return sorted(statuses)


def handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """Serve every SNS record of ``event``."""
    results = {}
    for record in event.get("Records", []):
        message = json.loads(record["Sns"]["Message"])
        results[message["taskId"]] = serve(message)
    return {"callbacks": results}
