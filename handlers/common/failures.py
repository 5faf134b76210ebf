"""Failures reported from outside a workflow: their error name must never steer it.

A callback, a resume or a monitor event may fail the task it waits on with an error name of the
reporter's choosing. If that name matched a ``Retry`` or ``Catch`` of the waiting state (say
``AwsServiceUnavailable``, ``Lambda.ServiceException`` or ``States.Timeout``), the reporter would
re-run the wait (a new token, a new notification) or take a branch meant for something else. So:

- the names a Retry or Catch of each wait matches, and every Fail state's error, are the
  *reserved* set, derived by the component from the ASL it renders and handed to the handler in
  ``RESERVED_ERROR_NAMES`` (a JSON list; the names are ``sfn_patterns.contracts.common``'s), so a
  Retry added later is reserved at once;
- ``States.`` names are Step Functions' own and reserved too;
- an HTTP route refuses a reserved name with 400 (``common.route_failures.refuse_reserved``); a topic message or a
  bus event cannot be answered, so it fails the wait once with :data:`EXTERNAL_FAILURE`, the
  reported name kept in the cause (:func:`outside_failure`).
"""

from __future__ import annotations

import json
from typing import Iterable, Optional

from common import env
from sfn_patterns.contracts.common import ENV_RESERVED_ERROR_NAMES as RESERVED_ERRORS_ENV
from sfn_patterns.contracts.common import EXTERNAL_FAILURE_ERROR as EXTERNAL_FAILURE
from sfn_patterns.contracts.common import MAX_CAUSE_CHARS, MAX_ERROR_CHARS
from sfn_patterns.contracts.common import RESERVED_ERROR_PREFIX as RESERVED_PREFIX

__all__ = ["EXTERNAL_FAILURE", "MAX_CAUSE_CHARS", "MAX_ERROR_CHARS", "RESERVED_ERRORS_ENV", "RESERVED_PREFIX",
           "describe_reserved", "is_reserved", "outside_failure", "reserved_names"]


def reserved_names() -> frozenset[str]:
    """The reserved error names of this function's workflow (``RESERVED_ERROR_NAMES``)."""
    names = json.loads(env.require(RESERVED_ERRORS_ENV))
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise env.ConfigurationError(f"{RESERVED_ERRORS_ENV} must be a JSON list of error names")
    return frozenset(names)


def is_reserved(name: str, reserved: Optional[Iterable[str]] = None) -> bool:
    """True when ``name`` is under ``States.`` or in the reserved set (default: this function's)."""
    names = reserved_names() if reserved is None else frozenset(reserved)
    return name.startswith(RESERVED_PREFIX) or name in names


def describe_reserved(reserved: Optional[Iterable[str]] = None) -> str:
    """The reserved set in words, for an error message."""
    names = sorted(reserved_names() if reserved is None else set(reserved))
    return f"names starting with {RESERVED_PREFIX!r} and {', '.join(names) or 'no others'}"


def outside_failure(name: str, cause: str, reserved: Optional[Iterable[str]] = None) -> tuple[str, str]:
    """The (error, cause) to fail a wait with for a reported failure: a reserved name becomes
    :data:`EXTERNAL_FAILURE`, the reported name kept at the start of the cause."""
    name = name[:MAX_ERROR_CHARS]
    if not is_reserved(name, reserved):
        return name, cause[:MAX_CAUSE_CHARS]
    return EXTERNAL_FAILURE, f"reported error {name!r} is reserved by the workflow; cause: {cause}"[:MAX_CAUSE_CHARS]
