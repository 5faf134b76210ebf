"""Named Step Functions executions: start once, read back.

Every pattern starts its executions by a caller-chosen name (workflow name, task id, workflow key,
job id), so a repeated request is answered from the execution it already started and a request
that reuses a name with another input is refused with 409.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from botocore.exceptions import ClientError

from common import log
from common.clients import client
from common.http import conflict
from sfn_patterns.contracts.common import execution_arn

__all__ = ["describe", "execution_arn", "start_once", "view"]


def _parse(document: Optional[str]) -> Any:
    if document is None:
        return None
    try:
        return json.loads(document)
    except ValueError:
        return document


def describe(state_machine_arn: str, name: str) -> Optional[dict[str, Any]]:
    """``DescribeExecution`` of the named execution, or None when there is none."""
    try:
        return client("stepfunctions").describe_execution(executionArn=execution_arn(state_machine_arn, name))
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionDoesNotExist":
            return None
        raise


def view(description: dict[str, Any]) -> dict[str, Any]:
    """The caller-facing view of an execution: status, parsed input and output, error, dates."""
    return {
        "name": description["name"],
        "executionArn": description["executionArn"],
        "status": description["status"],
        "input": _parse(description.get("input")),
        "output": _parse(description.get("output")),
        "error": description.get("error"),
        "cause": description.get("cause"),
        "startDate": _iso(description.get("startDate")),
        "stopDate": _iso(description.get("stopDate")),
    }


def _iso(value: Any) -> Optional[str]:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _same_or_conflict(description: dict[str, Any], name: str, execution_input: dict[str, Any]) -> dict[str, Any]:
    if _parse(description.get("input")) != execution_input:
        raise conflict(f"an execution named {name!r} already exists with a different input", "NameConflict")
    return description


def start_once(state_machine_arn: str, name: str, execution_input: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Start the execution ``name`` with ``execution_input`` unless it exists.

    Returns (description, created). An existing execution of that name with the same input,
    running or finished, is returned with ``created=False``; with another input it is a 409.
    """
    existing = describe(state_machine_arn, name)
    if existing is not None:
        return _same_or_conflict(existing, name, execution_input), False
    try:
        client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(execution_input)
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        # Lost a race with a concurrent request for the same name: answer from its execution.
        racing = describe(state_machine_arn, name)
        if racing is None:
            raise
        return _same_or_conflict(racing, name, execution_input), False
    log.info("execution started", name=name, stateMachineArn=state_machine_arn)
    started = describe(state_machine_arn, name)
    assert started is not None, "an execution just started must be describable"
    return started, True
