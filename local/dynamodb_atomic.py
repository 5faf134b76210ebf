"""moto 5.2.5 gap: DynamoDB conditional writes are not atomic across threads.

moto checks a ``ConditionExpression`` and then writes, without a lock, so two threads can both pass
``#s = :waiting`` (measured: 5 of 40 four-way races had two winners). DynamoDB applies each
conditional write atomically; one process-wide lock around moto's write operations does the same.
The local stack installs it for good; the handler tests install it around each test.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

from moto.dynamodb.models import DynamoDBBackend

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_LOCK = threading.RLock()
_ORIGINALS: dict[str, Callable[..., Any]] = {}


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def write(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return write


def install() -> None:
    """Make moto's DynamoDB writes atomic (idempotent)."""
    for name in _WRITES:
        if name not in _ORIGINALS and hasattr(DynamoDBBackend, name):
            _ORIGINALS[name] = getattr(DynamoDBBackend, name)
            setattr(DynamoDBBackend, name, _serialized(_ORIGINALS[name]))


def uninstall() -> None:
    """Restore moto's own write methods."""
    for name, method in _ORIGINALS.items():
        setattr(DynamoDBBackend, name, method)
    _ORIGINALS.clear()
