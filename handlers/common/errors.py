"""Errors a handler raises for Step Functions to act on by name."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from botocore.exceptions import BotoCoreError, ClientError

# Defined in the contract: a Lambda Task retries it by its name (common.AWS_UNAVAILABLE_ERROR).
from sfn_patterns.contracts.common import AwsServiceUnavailable

__all__ = ["AwsServiceUnavailable", "aws_calls"]


@contextmanager
def aws_calls(what: str) -> Iterator[None]:
    """Turn an AWS SDK error raised inside the block into :class:`AwsServiceUnavailable` naming ``what``.

    Domain errors (a refused conditional write surfaced as ``KeyInUse``, say) pass through unchanged.
    """
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise AwsServiceUnavailable(f"{what} failed: {error}") from error
