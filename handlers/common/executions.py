"""Named Step Functions executions: start once, read back.

Every pattern starts its executions by a caller-chosen name (workflow name, task id, workflow key,
job id), so a repeated request is answered from the execution it already started and a request
that reuses a name with another input is refused with 409.

``created`` is told to exactly one caller. StartExecution alone cannot tell: for a running
Standard execution a second StartExecution with the same name and input succeeds with the same
answer, so racing callers all look like its creator. The creator is instead whoever wins one
conditional PutItem of a *start claim* row (``pk = "start#<name>"``; ``#`` is not allowed in an
execution name, so a claim never meets a task's row) in the pattern's table. It costs one write
request unit per new start (a repeat is answered from DescribeExecution and writes nothing); the
row expires after :data:`CLAIM_TTL_SECONDS`.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Optional

from botocore.exceptions import ClientError

from common import documents, log
from common.clients import client
from common.http import conflict, too_large
from sfn_patterns.contracts.common import ROW_CREATED_AT, ROW_EXPIRES_AT, ROW_KEY
from sfn_patterns.contracts.common import START_CLAIM_PREFIX as CLAIM_PREFIX
from sfn_patterns.contracts.common import START_CLAIM_TTL_SECONDS as CLAIM_TTL_SECONDS
from sfn_patterns.contracts.common import execution_arn

__all__ = ["describe", "execution_arn", "start_once", "view"]


def _parse(document: Optional[str]) -> Any:
    if document is None:
        return None
    try:
        return documents.loads(document)
    except documents.NotJson:
        return document  # not strict JSON (NaN, say): answered as the text it is, never as non-JSON


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


def input_document(execution_input: Any) -> str:
    """The exact StartExecution ``input`` text for ``execution_input``; 413 when over 256 KiB."""
    try:
        return documents.check_size("the execution input", documents.dumps(execution_input))
    except documents.DocumentTooLarge as error:
        raise too_large(error) from error


def _claim(table: str, name: str, digest: str) -> bool:
    """True when this caller wins the start claim of ``name``; False when another caller with the same input holds it.

    A live claim with another input is a 409 (``NameConflict``): that caller is starting the name.
    """
    now = int(time.time())
    try:
        client("dynamodb").put_item(
            TableName=table,
            Item={
                ROW_KEY: {"S": CLAIM_PREFIX + name},
                "inputSha256": {"S": digest},
                ROW_CREATED_AT: {"N": str(now)},
                ROW_EXPIRES_AT: {"N": str(now + CLAIM_TTL_SECONDS)},
            },
            ConditionExpression=f"attribute_not_exists({ROW_KEY}) OR {ROW_EXPIRES_AT} < :now",
            ExpressionAttributeValues={":now": {"N": str(now)}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        response: dict[str, Any] = dict(error.response)
        item: dict[str, Any] = response.get("Item") or {}  # ReturnValuesOnConditionCheckFailure=ALL_OLD
        held = item.get("inputSha256", {}).get("S")
        if held is not None and held != digest:
            raise conflict(f"an execution named {name!r} is being started with a different input", "NameConflict")
        return False
    return True


def _release(table: str, name: str) -> None:
    """Drop the start claim of ``name`` (its start failed), so a later request may create it."""
    try:
        client("dynamodb").delete_item(TableName=table, Key={ROW_KEY: {"S": CLAIM_PREFIX + name}})
    except ClientError as error:  # the claim then expires with its TTL
        log.warning("start claim not released", name=name, exception=repr(error))


def start_once(
    state_machine_arn: str, name: str, execution_input: dict[str, Any], claim_table: str
) -> tuple[dict[str, Any], bool]:
    """Start the execution ``name`` with ``execution_input`` unless it exists.

    Returns (description, created). An existing execution of that name with the same input,
    running or finished, is returned with ``created=False``; with another input it is a 409; an
    input over 256 KiB (as sent) is a 413. Of concurrent callers, exactly the one that wins the
    start claim in ``claim_table`` is told ``created=True``.
    """
    existing = describe(state_machine_arn, name)
    if existing is not None:
        return _same_or_conflict(existing, name, execution_input), False
    document = input_document(execution_input)
    created = _claim(claim_table, name, hashlib.sha256(document.encode("utf-8")).hexdigest())
    try:
        # A loser of the claim starts too: the same name and input is idempotent while the execution
        # runs, and it makes sure the execution exists even if the claim's winner failed.
        client("stepfunctions").start_execution(stateMachineArn=state_machine_arn, name=name, input=document)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            if created:
                _release(claim_table, name)
            raise
        # The name exists with another input, or has already finished (a claim's loser may have
        # started it, and it may be over): answer from its execution. The claim's winner is its
        # creator whoever sent the StartExecution that made it.
        racing = describe(state_machine_arn, name)
        if racing is None:
            raise
        return _same_or_conflict(racing, name, execution_input), created
    if created:
        log.info("execution started", name=name, stateMachineArn=state_machine_arn)
    started = describe(state_machine_arn, name)
    assert started is not None, "an execution just started must be describable"
    return started, created
