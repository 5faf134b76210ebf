"""boto3 clients, created once per service and region and reused across invocations."""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3

_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    """A boto3 client for ``service`` in the function's region (``AWS_REGION``)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    key = (service, region)
    with _lock:
        if key not in _clients:
            _clients[key] = boto3.client(service, region_name=region)
        return _clients[key]
