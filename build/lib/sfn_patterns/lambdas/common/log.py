"""Structured JSON logs, one line per event, in the spirit of Powertools' Logger."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_logger = logging.getLogger("sfn-patterns")
if not _logger.handlers:
    _handler = logging.StreamHandler(sys.stdout)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.addHandler(_handler)
    _logger.setLevel(logging.INFO)
    _logger.propagate = False


def log(level: str, message: str, **fields: Any) -> None:
    """Write one JSON log line: ``{"level", "message", **fields}``."""
    line = json.dumps({"level": level.upper(), "message": message, **fields}, default=str)
    _logger.log(getattr(logging, level.upper(), logging.INFO), line)


def info(message: str, **fields: Any) -> None:
    """Log at INFO."""
    log("info", message, **fields)


def warning(message: str, **fields: Any) -> None:
    """Log at WARNING."""
    log("warning", message, **fields)


def error(message: str, **fields: Any) -> None:
    """Log at ERROR."""
    log("error", message, **fields)
