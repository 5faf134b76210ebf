"""JSON documents as AWS receives them: strict RFC 8259 parsing and the 256 KiB limit of the final document.

Every boundary parses with :func:`loads` (duplicate keys, ``NaN``/``Infinity`` and numbers that
overflow a double are refused: Python's own parser accepts all three, Step Functions does not) and
writes with :func:`dumps` (compact, never ``NaN``). A size limit is checked on the exact text that
is sent (:func:`check_size`), so anything accepted can also be delivered.
"""

from __future__ import annotations

import json
import math
from typing import Any

from sfn_patterns.contracts.common import MAX_DOCUMENT_BYTES, MAX_TASK_TOKEN_CHARS

__all__ = ["DocumentTooLarge", "MAX_DOCUMENT_BYTES", "MAX_TASK_TOKEN_CHARS", "NotJson", "check_size", "dumps",
           "finite", "loads", "size"]


class NotJson(ValueError):
    """The text is not strict JSON (RFC 8259): malformed, a duplicate key, NaN/Infinity or an overflowing number."""


class DocumentTooLarge(ValueError):
    """A document is larger than AWS accepts; ``size`` and ``limit`` are in UTF-8 bytes."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what} would be {size} bytes; AWS accepts at most {limit}")
        self.what = what
        self.size = size
        self.limit = limit


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for key, item in pairs:
        if key in value:
            raise NotJson(f"duplicate key {key[:100]!r}")
        value[key] = item
    return value


def _constant(literal: str) -> Any:
    raise NotJson(f"{literal} is not a JSON value")


def _float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise NotJson(f"the number {literal[:40]} overflows a double")
    return value


def _int(literal: str) -> int:
    value = int(literal)
    try:
        float(value)
    except OverflowError as error:
        raise NotJson(f"the number {literal[:40]}... overflows a double") from error
    return value


def loads(text: str | bytes) -> Any:
    """``text`` parsed as strict JSON; :class:`NotJson` otherwise."""
    try:
        return json.loads(
            text, object_pairs_hook=_object, parse_constant=_constant, parse_float=_float, parse_int=_int
        )
    except NotJson:
        raise
    except (ValueError, RecursionError, TypeError) as error:
        raise NotJson(str(error)) from error


def dumps(value: Any) -> str:
    """``value`` as compact JSON text; ``ValueError`` for NaN or Infinity (never written)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def size(text: str) -> int:
    """The UTF-8 byte length of ``text``."""
    return len(text.encode("utf-8", "surrogatepass"))


def check_size(what: str, text: str, limit: int = MAX_DOCUMENT_BYTES) -> str:
    """``text`` when it is at most ``limit`` UTF-8 bytes; otherwise :class:`DocumentTooLarge` naming ``what``."""
    measured = size(text)
    if measured > limit:
        raise DocumentTooLarge(what, measured, limit)
    return text


def finite(value: Any) -> bool:
    """True when ``value`` (already parsed) holds no NaN or Infinity anywhere."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite(item) for item in value.values())
    if isinstance(value, list):
        return all(finite(item) for item in value)
    return True
