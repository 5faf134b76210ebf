"""MonitoredWorkflow end to end on the local stack, as outside systems would drive it.

Through its HTTP endpoint (start, read, put events) and straight on its event bus with the embedded
AWS client, as a service with EventBridge rights would. The demo work is a Wait of
``monitorWorkSeconds`` and the monitor gives up after ``monitorTimeoutSeconds`` (``E2E_CONFIG``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import E2E_CONFIG

WORK = int(E2E_CONFIG["sfn-patterns:monitorWorkSeconds"])
TIMEOUT = int(E2E_CONFIG["sfn-patterns:monitorTimeoutSeconds"])
FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
SOURCE = "sfn-patterns.monitored"


@pytest.fixture(scope="module")
def base(local_stack: Any) -> str:
    """The monitored endpoint's base URL."""
    return local_stack.endpoints["monitored"].rstrip("/")


@pytest.fixture(scope="module")
def bus(local_stack: Any) -> str:
    """The name of the component's event bus."""
    buses = [b["Name"] for b in local_stack.client("events").list_event_buses(NamePrefix="monitored-bus")["EventBuses"]]
    assert len(buses) == 1, buses
    return buses[0]


def _key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _start(local_stack: Any, base: str, key: str, work_input: Any) -> tuple[int, Any]:
    status, body, _ = local_stack.request("POST", f"{base}/monitored", json={"workflowkey": key, "input": work_input})
    return status, body


def _get(local_stack: Any, base: str, key: str) -> tuple[int, Any]:
    status, body, _ = local_stack.request("GET", f"{base}/monitored/{key}")
    return status, body


def _monitoring(local_stack: Any, base: str, key: str, work_input: Any = None) -> None:
    """Start the execution of ``key`` and wait until its monitor waits for events."""
    assert _start(local_stack, base, key, work_input or {})[0] == 202
    local_stack.wait_for(lambda: _get(local_stack, base, key)[1].get("monitor") == "WAITING", 10)


def _final(local_stack: Any, base: str, key: str, timeout: float = 15) -> dict[str, Any]:
    answers: list[Any] = []

    def done() -> bool:
        status, body = _get(local_stack, base, key)
        answers.append(body)
        return status == 200 and body["status"] in FINAL

    local_stack.wait_for(done, timeout)
    return answers[-1]


def _put_on_bus(local_stack: Any, bus: str, detail_type: str, detail: dict[str, Any]) -> None:
    response = local_stack.client("events").put_events(
        Entries=[{"EventBusName": bus, "Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail)}]
    )
    assert response["FailedEntryCount"] == 0


def _stop_event_put(local_stack: Any, key: str) -> bool:
    """Whether the execution of ``key`` has put its work's stop event on the bus (its putEvents Task succeeded)."""
    arn = local_stack.outputs["stateMachines"]["monitored"].replace(":stateMachine:", ":execution:") + f":{key}"
    events = local_stack.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return any(e["type"] == "TaskSucceeded" and e["taskSucceededEventDetails"].get("resourceType") == "events"
               for e in events)


def _work_bound(local_stack: Any) -> dict[str, Any]:
    """The two scenarios that wait for the demo work (``WORK`` s), to their end: the graceful key's three
    starts (create, same again, other input) and the duplicate key's two executions."""
    base = local_stack.endpoints["monitored"].rstrip("/")
    graceful, duplicate = _key("graceful"), _key("duplicate")
    starts = [_start(local_stack, base, graceful, {"order": 1}), _start(local_stack, base, graceful, {"order": 1}),
              _start(local_stack, base, graceful, {"order": 2})]
    first = _start(local_stack, base, duplicate, {"n": 1})
    # While the duplicate key's first execution monitors (its work lasts WORK s), a second one starts.
    local_stack.wait_for(lambda: _get(local_stack, base, duplicate)[1].get("monitor") == "WAITING", 10)
    sfn = local_stack.client("stepfunctions")
    second = sfn.start_execution(
        stateMachineArn=local_stack.outputs["stateMachines"]["monitored"], name=f"{duplicate}-again",
        input=json.dumps({"workflowkey": duplicate, "input": {"n": 2}}))["executionArn"]
    second_ended = local_stack.wait_for(lambda: (d := sfn.describe_execution(executionArn=second))["status"] in FINAL and d, 10)
    return {"graceful": graceful, "starts": starts, "graceful_final": _final(local_stack, base, graceful, WORK + 10),
            "duplicate": duplicate, "first": first, "second": second_ended,
            "duplicate_final": _final(local_stack, base, duplicate, WORK + 10)}


#: Started with the session (conftest ``early``): the demo work's waits run while earlier modules run.
EARLY = {"work_bound": _work_bound}


@pytest.fixture(scope="module")
def timers(local_stack: Any, base: str, bus: str, early: dict[str, Any]) -> dict[str, Any]:
    """The monitor no event reaches, started when the module begins so its timeout runs out during the
    tests below: its execution starts with the stop rule disabled, and the rule is enabled again as soon
    as that execution's work has put its stop event (lost: a disabled rule matches nothing). The rule is
    disabled only once every ``EARLY`` scenario of the session has ended (they may need it)."""
    for scenario in early.values():
        scenario.exception(timeout=120)
    events = local_stack.client("events")
    stop_rule = next(r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"] if "monitored-stop" in r["Name"])
    lost = _key("timeout")
    events.disable_rule(Name=stop_rule, EventBusName=bus)
    try:
        _monitoring(local_stack, base, lost)
        local_stack.wait_for(lambda: _stop_event_put(local_stack, lost), WORK + 10)
    finally:
        events.enable_rule(Name=stop_rule, EventBusName=bus)
    return {"lost": lost}


@pytest.fixture(scope="module")
def work_bound(early: dict[str, Any]) -> dict[str, Any]:
    """What :func:`_work_bound` (started with the session) saw."""
    return early["test_monitored:work_bound"].result(timeout=60)


def test_work_done_ends_monitoring_and_the_execution_succeeds_with_the_work_output(
    timers: dict[str, Any], work_bound: dict[str, Any]
) -> None:
    key = work_bound["graceful"]
    (status, body), again, (conflict_status, conflict) = work_bound["starts"]
    assert status == 202 and body["workflowkey"] == key and body["created"] is True
    # Same key and input: same execution, and this caller did not create it.
    assert again == (202, {**body, "created": False})
    assert conflict_status == 409 and conflict["error"] == "NameConflict"
    result = work_bound["graceful_final"]
    assert result["status"] == "SUCCEEDED" and result["monitor"] == "SUCCEEDED"
    assert result["output"] == {"workflowkey": key, "input": {"order": 1}}


def test_workflow_error_posted_to_the_route_fails_the_execution_with_that_error(local_stack: Any, base: str) -> None:
    key = _key("route-error")
    _monitoring(local_stack, base, key)
    status, body, _ = local_stack.request(
        "POST", f"{base}/monitored/{key}/events",
        json={"message": "WorkflowError", "error": "PaymentDeclined", "cause": "card expired"},
    )
    assert status == 202 and body["eventId"]
    result = _final(local_stack, base, key)
    assert result["status"] == "FAILED" and result["error"] == "PaymentDeclined" and result["monitor"] == "FAILED"
    status, body, _ = local_stack.request("POST", f"{base}/monitored/{key}/events", json={"message": "WorkflowError"})
    assert status == 404  # no longer running


def test_workflow_error_put_on_the_bus_fails_the_execution(local_stack: Any, base: str, bus: str) -> None:
    key = _key("bus-error")
    _monitoring(local_stack, base, key)
    _put_on_bus(local_stack, bus, "WorkflowError", {"workflowkey": key, "error": "OrderCancelled", "cause": "by customer"})
    result = _final(local_stack, base, key)
    assert result["status"] == "FAILED" and result["error"] == "OrderCancelled"


def test_second_execution_with_a_live_key_fails_fast_and_the_first_completes(work_bound: dict[str, Any]) -> None:
    key, described = work_bound["duplicate"], work_bound["second"]
    assert work_bound["first"][0] == 202, work_bound["first"]
    assert described["status"] == "FAILED" and described["error"] == "DuplicateWorkflowKey"
    result = work_bound["duplicate_final"]
    assert result["status"] == "SUCCEEDED" and result["output"] == {"workflowkey": key, "input": {"n": 1}}


def test_events_for_unknown_keys_are_refused_at_the_route_and_dropped_on_the_bus(
    local_stack: Any, base: str, bus: str
) -> None:
    key = _key("nobody")
    status, body, _ = local_stack.request("POST", f"{base}/monitored/{key}/events", json={"message": "WorkflowError"})
    assert status == 404 and body["error"] == "NotFound"
    assert _get(local_stack, base, key)[0] == 404
    _put_on_bus(local_stack, bus, "StopWorkflowMonitoring", {"workflowkey": key})
    local_stack.wait_for(lambda: key in local_stack.log() and "event dropped" in local_stack.log(), 10)
    dropped = [json.loads(line) for line in local_stack.log().splitlines() if key in line and line.startswith("{")]
    assert any(entry.get("message") == "event dropped" for entry in dropped), dropped


def test_bad_requests_are_400(local_stack: Any, base: str) -> None:
    for body in ({"workflowkey": "has space"}, {"input": {}}, {"workflowkey": "ok", "input": "x"}):
        status, answer, _ = local_stack.request("POST", f"{base}/monitored", json=body)
        assert status == 400 and answer["error"], body
    status, _, _ = local_stack.request("POST", f"{base}/monitored", data="{nope", headers={"content-type": "application/json"})
    assert status == 400
    status, answer, _ = local_stack.request("POST", f"{base}/monitored/some-key/events", json={"message": "Explode"})
    assert status == 400 and answer["error"] == "InvalidField"


# Last in the module: its monitor's timeout ran out while the tests above ran.
def test_a_monitor_no_event_reaches_times_out(local_stack: Any, base: str, timers: dict[str, Any]) -> None:
    """Its work's stop event was put while the stop rule was disabled (lost): the monitor gives up at its timeout."""
    key = timers["lost"]
    result = _final(local_stack, base, key, TIMEOUT + 10)
    assert result["status"] == "FAILED" and result["error"] == "MonitorTimedOut"
    # The token row reads TIMED_OUT once its deadline (registration + timeout) has passed too.
    local_stack.wait_for(lambda: _get(local_stack, base, key)[1]["monitor"] == "TIMED_OUT", 3)
