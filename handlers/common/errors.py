"""Errors a handler raises for Step Functions to act on by name."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from botocore.exceptions import BotoCoreError, ClientError


class AwsServiceUnavailable(RuntimeError):
    """An AWS call the handler made failed (throttled, unavailable, ...).

    A Lambda Task retries it by this name (``sfn_patterns.blocks.state_machine.AWS_UNAVAILABLE_ERROR``), so a
    passing failure of the table, topic or bus costs a retry, never the task.
    """


@contextmanager
def aws_calls(what: str) -> Iterator[None]:
    """Turn an AWS SDK error raised inside the block into :class:`AwsServiceUnavailable` naming ``what``.

    Domain errors (a refused conditional write surfaced as ``KeyInUse``, say) pass through unchanged.
    """
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise AwsServiceUnavailable(f"{what} failed: {error}") from error
