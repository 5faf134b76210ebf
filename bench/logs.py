"""Bytes one execution writes to CloudWatch Logs, and what the stack's alarms and dashboard cost a month.

- **Lambda**: measured. The local runtime writes every invocation's output to the function's log
  group (with Lambda's START / END / REPORT lines) and counts the UTF-8 bytes (``GET /_local/stats``).
- **State machines**: derived from the execution history, because moto writes no execution logs.
  Step Functions writes one log event per history event (level ``ALL``); each is rendered here in
  the shape Step Functions writes it (``id``, ``type``, ``details``, ``previous_event_id``,
  ``event_timestamp``, ``execution_arn``), with the input, output and parameters left out unless the
  state machine logs execution data (``log_execution_data``), as its logging configuration says.
- **HTTP API access logs**: one line per request in the stage's format
  (``sfn_patterns.blocks.http_api.ACCESS_LOG_FORMAT``), filled with values of typical length.

Ingestion is priced per GB (2^30 bytes) of these bytes. Per month: each alarm (standard resolution:
a period of 60 s or more; high resolution, 10 or 30 s, costs more) and each dashboard beyond the
account's first three.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping

from sfn_patterns.blocks.http_api import ACCESS_LOG_FORMAT

#: Fields of a history event's details that hold execution data (left out unless it is logged).
DATA_FIELDS = {"input", "output", "parameters", "result"}
#: Typical values of the access log's ``$context`` variables (their length is what is billed).
ACCESS_LOG_SAMPLE = {
    "requestId": "Lb2qVhxVoAMEbXw=",
    "identity.sourceIp": "203.0.113.27",
    "requestTime": "02/Dec/2026:03:45:12 +0000",
    "status": "202",
    "responseLatency": "48",
    "integrationErrorMessage": "-",
}
GIB = 1024**3


def _details(event: Mapping[str, Any], include_data: bool) -> dict[str, Any]:
    details = next((v for k, v in event.items() if k.endswith("EventDetails")), None) or {}
    if include_data:
        return dict(details)
    kept = {k: v for k, v in details.items() if k not in DATA_FIELDS and not k.endswith("Details")}
    for field in DATA_FIELDS & set(details):
        kept[f"{field}Details"] = {"truncated": False}
    return kept


def state_machine_log_events(events: Iterable[Mapping[str, Any]], execution_arn: str, include_data: bool) -> list[str]:
    """The log events (JSON text) Step Functions writes for this history at level ALL."""
    lines = []
    for event in events:
        timestamp = event.get("timestamp")
        record = {
            "id": str(event.get("id")),
            "type": event.get("type"),
            "details": _details(event, include_data),
            "previous_event_id": str(event.get("previousEventId", 0)),
            "event_timestamp": str(int(timestamp.timestamp() * 1000)) if hasattr(timestamp, "timestamp") else str(timestamp),
            "execution_arn": execution_arn,
        }
        lines.append(json.dumps(record, separators=(",", ":"), default=str))
    return lines


def state_machine_log_bytes(events: Iterable[Mapping[str, Any]], execution_arn: str, include_data: bool) -> int:
    """UTF-8 bytes of :func:`state_machine_log_events`."""
    return sum(len(line.encode("utf-8")) for line in state_machine_log_events(events, execution_arn, include_data))


def access_log_line(route_key: str) -> str:
    """The stage's access log line for one request of ``route_key``."""
    values = {**ACCESS_LOG_SAMPLE, "routeKey": route_key}
    return re.sub(r"\$context\.([A-Za-z.]+)", lambda m: values.get(m.group(1), "-"), ACCESS_LOG_FORMAT)


def monthly_costs(alarms: list[Mapping[str, Any]], dashboards: int, prices: Mapping[str, Any]) -> dict[str, Any]:
    """USD per month of the stack's ``alarms`` (``describe_alarms`` entries) and ``dashboards``."""
    p = {key: value["usd"] for key, value in prices["prices"].items()}
    high = [a for a in alarms if int(a.get("Period") or 60) < 60]
    by_namespace: dict[str, int] = {}
    for alarm in alarms:
        by_namespace[alarm.get("Namespace", "?")] = by_namespace.get(alarm.get("Namespace", "?"), 0) + 1
    alarm_usd = (len(alarms) - len(high)) * p["cloudwatchAlarmStandardMonth"] + len(high) * p["cloudwatchAlarmHighResolutionMonth"]
    return {
        "alarms": len(alarms),
        "highResolutionAlarms": len(high),
        "alarmsByNamespace": dict(sorted(by_namespace.items())),
        "alarmsUsd": round(alarm_usd, 2),
        "dashboards": dashboards,
        "dashboardsUsd": round(dashboards * p["cloudwatchDashboardMonth"], 2),
        "totalUsd": round(alarm_usd + dashboards * p["cloudwatchDashboardMonth"], 2),
        "freeTier": prices["prices"]["cloudwatchDashboardMonth"].get("free", ""),
    }
