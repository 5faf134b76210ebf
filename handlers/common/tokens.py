"""The token table: task tokens kept in DynamoDB under an application key, registered and read.

Code that finishes a callback task never touches a token: it names the task by its key (a task id,
a workflow key, a job id); ``common.completion`` completes it. The token table row (its attribute
names are defined once in ``sfn_patterns.contracts.common``, ``ROW_*``, which the monitor's JSONata
``putItem`` is generated from too):

=============  ===============================================================================
``pk``         the key (string, the table's hash key)
``status``     ``WAITING`` until completed, then ``SUCCEEDED``, ``FAILED`` or ``TIMED_OUT``;
               ``RELEASED`` when its execution was cancelled or is being redriven; ``ENDED`` when
               its execution ended otherwise while the row said ``WAITING``
``token``      the task token while ``WAITING``; removed once used
``executionArn`` the execution that waits
``createdAt``  epoch seconds of registration
``expiresAt``  epoch seconds after which the wait has timed out; the table's TTL attribute
=============  ===============================================================================

This module registers a wait (:meth:`TokenStore.register`: refused with :class:`KeyInUse` while
another execution's live wait holds the key), reads rows and releases a cancelled or redriven wait:
what the register Lambdas and the API routes need. Claiming a row to complete it is
``common.completion``'s.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Optional

from botocore.exceptions import ClientError

from common.clients import client
from sfn_patterns.contracts.common import (
    ENDED,
    FAILED,
    REGISTER_CONDITION,
    REGISTER_CONDITION_NAMES,
    RELEASED,
    ROW_EXECUTION_ARN,
    ROW_EXPIRES_AT,
    ROW_KEY,
    ROW_STATUS,
    ROW_TOKEN,
    SUCCEEDED,
    TIMED_OUT,
    WAITING,
    token_row,
)

__all__ = [
    "ENDED", "FAILED", "KeyInUse", "RELEASED", "STATUS_TOKEN_NAMES", "SUCCEEDED", "TIMED_OUT", "TokenError",
    "TokenStore", "WAITING", "from_item", "row_key",
]

#: Expression attribute names of the updates: the status and the token (``status`` and ``token``
#: are DynamoDB reserved words).
STATUS_TOKEN_NAMES = {"#s": ROW_STATUS, "#t": ROW_TOKEN}


class TokenError(Exception):
    """A completion the token table refuses; ``status`` and ``code`` say how to answer an HTTP caller."""

    status = 400
    code = "TokenError"


class KeyInUse(TokenError):
    """Another live execution already waits under that key."""

    status = 409
    code = "KeyInUse"


def _serialize(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    return {"S": str(value)}


def row_key(key: str) -> dict[str, Any]:
    """The DynamoDB key of the row of ``key``."""
    return {ROW_KEY: {"S": key}}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain values (numbers as int or float)."""
    out: dict[str, Any] = {}
    for name, typed in item.items():
        (kind, value), = typed.items()
        out[name] = int(value) if kind == "N" and value.lstrip("-").isdigit() else (
            float(value) if kind == "N" else value
        )
    return out


class TokenStore:
    """The token table: register a token under a key, read it, and claim it exactly once."""

    def __init__(self, table_name: str, dynamodb: Any = None) -> None:
        self.table_name = table_name
        self.dynamodb = dynamodb or client("dynamodb")

    def register(
        self,
        key: str,
        token: str,
        timeout_seconds: int,
        execution_arn: str,
        attributes: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Store ``token`` as ``WAITING`` under ``key`` for ``timeout_seconds``.

        Refused with :class:`KeyInUse` while another execution's live wait holds the key; the
        same execution may register again (a retried task gets a new token).
        """
        now = int(time.time())
        item = {**token_row(key, token, execution_arn, now, now + int(timeout_seconds)), **(attributes or {})}
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={name: _serialize(value) for name, value in item.items()},
                ConditionExpression=REGISTER_CONDITION,
                ExpressionAttributeNames=dict(REGISTER_CONDITION_NAMES),
                ExpressionAttributeValues={
                    ":arn": {"S": execution_arn},
                    ":waiting": {"S": WAITING},
                    ":now": {"N": str(now)},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise KeyInUse(f"another execution is already waiting under key {key!r}") from error
            raise

    def get(self, key: str) -> Optional[dict[str, Any]]:
        """The row of ``key`` (strongly consistent), or None."""
        response = self.dynamodb.get_item(TableName=self.table_name, Key=row_key(key), ConsistentRead=True)
        return from_item(response["Item"]) if "Item" in response else None

    def status(self, key: str) -> Optional[str]:
        """The key's status as callers see it (``WAITING`` past its deadline reads ``TIMED_OUT``)."""
        row = self.get(key)
        if row is None:
            return None
        if row[ROW_STATUS] == WAITING and row.get(ROW_EXPIRES_AT, 0) < time.time():
            return TIMED_OUT
        return row[ROW_STATUS]

    def release(self, key: str, execution_arn: str, registration: Optional[Mapping[str, Any]] = None) -> bool:
        """Mark the row of ``key`` ``RELEASED`` (token removed) if ``execution_arn`` holds it; False otherwise.

        Called when that execution is cancelled or about to be redriven: a completion of its old wait
        is then refused (:class:`TaskReleased`), and the key is free for a new wait (``register``).
        With ``registration`` (the row as read), only while the row is still that registration (its
        token, or its tokenless status): a redrive's new wait under the same execution ARN is kept
        (``common.operations.release_ended``).
        """
        condition = "#e = :arn"
        values = {":released": {"S": RELEASED}, ":arn": {"S": execution_arn}}
        if registration is not None:
            token = registration.get(ROW_TOKEN)
            condition += " AND #t = :v" if token else " AND attribute_not_exists(#t) AND #s = :v"
            values[":v"] = {"S": token or registration[ROW_STATUS]}
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=row_key(key),
                UpdateExpression="SET #s = :released REMOVE #t",
                ConditionExpression=condition,
                ExpressionAttributeNames={**STATUS_TOKEN_NAMES, "#e": ROW_EXECUTION_ARN},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
