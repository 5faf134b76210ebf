"""Fault injection for the local stack (for tests): ``python -m local --faults PLAN.json``.

A plan is a JSON file holding a list of rules; it is re-read whenever it changes, so a test can add
and remove faults while the stack runs. Each rule makes matching AWS API calls made INSIDE the local
stack process fail: calls of the handlers, of Step Functions' interpreter (Lambda invokes, service
integrations) and of the delivery adapters. The call raises botocore's ``ClientError`` where the SDK
call returns, i.e. as an error that outlasted the SDK's own retries (a service error, throttling,
an outage), which is what a handler or Step Functions then has to survive::

    [{"id": "throttle-claim", "service": "dynamodb", "operation": "UpdateItem", "match": "job-42",
      "error": "ProvisionedThroughputExceededException", "status": 400, "times": 1}]

- ``service``: botocore service name or endpoint prefix (``dynamodb``, ``lambda``, ``stepfunctions``
  or ``states``, ``sns`` ...); ``operation``: the API operation (``Invoke``, ``SendTaskSuccess`` ...);
- ``match`` (optional): a substring, or a list of substrings that must all appear, of the call's
  parameters as JSON (a job id, a function name), so that a fault hits one test's traffic only;
- ``error``, ``message``, ``status``: the error code, message and HTTP status of the failure;
- ``times`` (optional): how many calls fail (default: all matching calls while the rule is in the plan).

Every injected failure is appended as one JSON line to ``<plan>.log`` (``{"id", "service",
"operation", "time"}``), so a test can assert the fault really happened. Without ``--faults`` nothing
is patched.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Optional


class FaultInjector:
    """Patches botocore's ``BaseClient._make_api_call`` to fail calls matching the plan's rules."""

    def __init__(self, plan_path: Path) -> None:
        self.plan_path = Path(plan_path)
        self.log_path = self.plan_path.with_name(self.plan_path.name + ".log")
        self._lock = threading.Lock()
        self._rules: list[dict[str, Any]] = []
        self._fired: dict[str, int] = {}
        self._stamp: Optional[tuple[int, int]] = None
        self._original: Any = None

    def install(self) -> "FaultInjector":
        """Start injecting (idempotent)."""
        from botocore.client import BaseClient

        if self._original is not None:
            return self
        injector = self
        # The one method every botocore client call goes through (private: not in botocore-stubs).
        original = self._original = getattr(BaseClient, "_make_api_call")

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            injector.maybe_fail(client, operation_name, api_params)
            return original(client, operation_name, api_params)

        setattr(BaseClient, "_make_api_call", _make_api_call)
        return self

    def stop(self) -> None:
        """Stop injecting."""
        if self._original is not None:
            from botocore.client import BaseClient

            setattr(BaseClient, "_make_api_call", self._original)
            self._original = None

    def _reload(self) -> None:
        try:
            status = os.stat(self.plan_path)
        except FileNotFoundError:
            self._rules, self._stamp = [], None
            return
        stamp = (status.st_mtime_ns, status.st_size)
        if stamp == self._stamp:
            return
        try:
            rules = json.loads(self.plan_path.read_text() or "[]")
        except (OSError, ValueError):
            return  # a plan being written: keep the previous one until it is whole
        self._stamp = stamp
        self._rules = [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []

    def _matching(self, client: Any, operation_name: str, api_params: dict[str, Any]) -> Optional[dict[str, Any]]:
        model = client.meta.service_model
        services = {model.service_name, model.endpoint_prefix}
        text: Optional[str] = None
        for index, rule in enumerate(self._rules):
            if rule.get("service") not in services or rule.get("operation") != operation_name:
                continue
            if rule.get("match"):
                if text is None:
                    text = json.dumps(api_params, default=_text, sort_keys=True)
                wanted = rule["match"] if isinstance(rule["match"], list) else [rule["match"]]
                if not all(str(part) in text for part in wanted):
                    continue
            rule_id = str(rule.get("id", index))
            times = rule.get("times")
            if times is not None and self._fired.get(rule_id, 0) >= int(times):
                continue
            self._fired[rule_id] = self._fired.get(rule_id, 0) + 1
            return {**rule, "id": rule_id}
        return None

    def maybe_fail(self, client: Any, operation_name: str, api_params: dict[str, Any]) -> None:
        """Raise the planned ``ClientError`` if a rule matches this call."""
        with self._lock:
            self._reload()
            if not self._rules:
                return
            rule = self._matching(client, operation_name, api_params)
            if rule is None:
                return
            with self.log_path.open("a") as log:
                log.write(json.dumps({"id": rule["id"], "service": rule["service"], "operation": operation_name,
                                      "time": time.time()}) + "\n")
        code = str(rule.get("error", "ServiceUnavailable"))
        status = int(rule.get("status", 503))
        # As botocore raises it: the service's modeled exception class for a modeled code (what Step
        # Functions' SDK integrations name their errors by), else a plain ClientError.
        raise client.exceptions.from_code(code)(
            {
                "Error": {"Code": code, "Message": str(rule.get("message", f"injected fault {rule['id']}"))},
                "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4()), "RetryAttempts": 0},
            },
            operation_name,
        )


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if hasattr(value, "read"):
        return "<stream>"
    return str(value)
