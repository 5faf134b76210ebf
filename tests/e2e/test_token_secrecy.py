"""The task token stays inside AWS: no Lambda log line, HTTP answer or notification holds one.

Tokens are read from where they legitimately live (the token and pause tables, while the tasks
wait); then every log group of the embedded AWS and every answer of the run is searched for them.
"""

from __future__ import annotations

import json
import uuid
from typing import Any


def _tokens(local_stack: Any) -> set[str]:
    dynamodb = local_stack.client("dynamodb")
    found: set[str] = set()
    for table in dynamodb.list_tables()["TableNames"]:
        for item in dynamodb.scan(TableName=table)["Items"]:
            if "token" in item:
                found.add(item["token"]["S"])
    return found


def _log_text(local_stack: Any) -> str:
    logs = local_stack.client("logs")
    lines: list[str] = []
    for group in logs.get_paginator("describe_log_groups").paginate():
        for log_group in group["logGroups"]:
            for page in logs.get_paginator("filter_log_events").paginate(logGroupName=log_group["logGroupName"]):
                lines.extend(event["message"] for event in page["events"])
    return "\n".join(lines)


def test_no_token_in_any_log_group_or_answer(local_stack: Any) -> None:
    answers: list[Any] = []

    def call(method: str, url: str, body: Any = None) -> Any:
        status, answer, _ = local_stack.request(method, url, json=body)
        answers.append(answer)
        return status, answer

    job = f"secret-{uuid.uuid4().hex[:8]}"
    pausable = local_stack.endpoints["pausable"].rstrip("/")
    assert call("POST", f"{pausable}/jobs", {"jobId": job, "manual": True, "input": {"n": 1}})[0] == 202
    local_stack.wait_for(lambda: call("GET", f"{pausable}/jobs/{job}")[1].get("status") == "PAUSED", 10)
    key = f"secret-{uuid.uuid4().hex[:8]}"
    monitored = local_stack.endpoints["monitored"].rstrip("/")
    assert call("POST", f"{monitored}/monitored", {"workflowkey": key, "input": {}})[0] == 202
    local_stack.wait_for(lambda: call("GET", f"{monitored}/monitored/{key}")[1].get("monitor") == "WAITING", 10)

    tokens = _tokens(local_stack)
    assert len(tokens) >= 2, "the waiting job and monitor hold tokens"
    assert call("POST", f"{pausable}/jobs/{job}/resume", {"status": "SUCCEEDED", "output": {"ok": True}})[0] == 202
    local_stack.wait_for(lambda: call("GET", f"{pausable}/jobs/{job}")[1].get("status") == "SUCCEEDED", 10)
    assert call("POST", f"{monitored}/monitored/{key}/events", {"message": "WorkflowError", "error": "Stopped"})[0] == 202
    local_stack.wait_for(lambda: call("GET", f"{monitored}/monitored/{key}")[1].get("status") == "FAILED", 10)

    logs = _log_text(local_stack)
    assert "job paused" in logs and "resume published" in logs  # the Lambda logs were searched
    text = json.dumps(answers)
    for token in tokens:
        assert token not in logs
        assert token not in text
