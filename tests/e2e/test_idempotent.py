"""End to end on the local stack: the IdempotentApi in front of the chain and composite workflows.

Every request goes over HTTP to the local HTTP API adapter, through the real handler, to the
real ASL running on moto's interpreter; what happened is then read back from the embedded AWS.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.conftest import LocalStackProcess

SHOUT_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "content-type": "application/json",
}


def unique(prefix: str = "e2e") -> str:
    """A fresh execution name."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def finished(stack: LocalStackProcess, url: str, name: str, timeout: float = 20) -> dict[str, Any]:
    """Poll ``GET /workflow/{name}`` until the execution is no longer RUNNING; its view."""

    def probe() -> Any:
        status, body, _ = stack.request("GET", f"{url}/workflow/{name}")
        assert status == 200, body
        return body if body["status"] != "RUNNING" else None

    return stack.wait_for(probe, timeout)


@pytest.fixture(params=["chain", "composite"])
def api(request: pytest.FixtureRequest, local_stack: LocalStackProcess) -> tuple[str, str]:
    """(pattern, base URL) of each IdempotentApi of the demo stack."""
    return request.param, local_stack.endpoints[request.param]


def test_chain_runs_to_its_output(local_stack: LocalStackProcess) -> None:
    url, name = local_stack.endpoints["chain"], unique()
    status, body, headers = local_stack.request("POST", f"{url}/workflow", json={"name": name, "input": {"payload": "hi mom"}})
    assert status == 201, body
    assert body["created"] is True and body["name"] == name
    assert body["executionArn"].endswith(f":{name}")
    assert headers["content-type"].startswith("application/json")

    view = finished(local_stack, url, name)
    assert view["status"] == "SUCCEEDED", view
    assert view["input"] == {"payload": "hi mom"}
    assert view["output"] == {"statusCode": 200, "headers": SHOUT_HEADERS, "body": {"payload": "MOM IH"}}
    assert view["error"] is None and view["stopDate"] is not None


def test_chain_failure_ends_with_the_handler_error(local_stack: LocalStackProcess) -> None:
    url, name = local_stack.endpoints["chain"], unique()
    status, body, _ = local_stack.request("POST", f"{url}/workflow", json={"name": name, "input": {"payload": 42}})
    assert status == 201, body
    view = finished(local_stack, url, name)
    assert view["status"] == "FAILED"
    assert view["error"] == "InvalidPayload"
    cause = json.loads(view["cause"])
    assert cause["errorType"] == "InvalidPayload" and "payload" in cause["errorMessage"]
    assert view["output"] is None


def test_composite_runs_the_chain_per_item_in_order(local_stack: LocalStackProcess) -> None:
    url, name = local_stack.endpoints["composite"], unique()
    items = [{"payload": "ab"}, {"payload": "cd"}, {"payload": "hi mom"}]
    status, body, _ = local_stack.request("POST", f"{url}/workflow", json={"name": name, "input": {"items": items}})
    assert status == 201, body

    view = finished(local_stack, url, name)
    assert view["status"] == "SUCCEEDED", view
    assert [r["body"]["payload"] for r in view["output"]["results"]] == ["BA", "DC", "MOM IH"]
    assert all(r["statusCode"] == 200 for r in view["output"]["results"])

    # One child execution of the chain per item, named <sha1(parent execution ARN)>.<redrive count>.<index>.
    prefix = hashlib.sha1(body["executionArn"].encode()).hexdigest()
    children = {e["name"]: e["status"] for e in local_stack.executions("chain") if e["name"].startswith(prefix)}
    assert children == {f"{prefix}.0.{i}": "SUCCEEDED" for i in range(len(items))}


def test_no_caller_can_squat_a_childs_name(local_stack: LocalStackProcess) -> None:
    # A child's name has a '.', which no caller of an IdempotentApi may use: the chain API refuses it.
    chain, composite, name = local_stack.endpoints["chain"], local_stack.endpoints["composite"], unique()
    arn = local_stack.outputs["stateMachines"]["composite"].replace(":stateMachine:", ":execution:") + f":{name}"
    child = f"{hashlib.sha1(arn.encode()).hexdigest()}.0.0"
    for squat in (child, child.replace(".", "-"), f"{hashlib.sha1(name.encode()).hexdigest()}-0"):
        status, body, _ = local_stack.request("POST", f"{chain}/workflow", json={"name": squat, "input": {"payload": "x"}})
        if "." in squat:
            assert status == 400 and body["error"] == "InvalidName", body
        else:
            # Old-style names are still valid chain names, but no composite derives them any more.
            assert status == 201, body
    status, body, _ = local_stack.request("POST", f"{composite}/workflow", json={"name": name, "input": {"items": [{"payload": "ab"}]}})
    assert status == 201 and body["executionArn"] == arn, body
    view = finished(local_stack, composite, name)
    assert view["status"] == "SUCCEEDED", view
    assert [r["body"]["payload"] for r in view["output"]["results"]] == ["BA"]


@pytest.mark.parametrize(
    ("items", "error"),
    [
        ([{"payload": ""}] * 1471, "TooManyItems"),  # one over (25,000 - 6) // 17 = 1,470
        ([{"payload": "x" * 20_000}] * 5, "ResultTooLarge"),  # 5 * (143 + 3 * 20,014) + 18 > 256 KiB
        ("not a list", "InvalidInput"),
        (None, "InvalidInput"),
    ],
    ids=["too-many-items", "results-over-256KiB", "items-not-an-array", "no-items"],
)
def test_the_composite_refuses_what_its_map_cannot_complete(local_stack: LocalStackProcess, items: Any, error: str) -> None:
    url, name = local_stack.endpoints["composite"], unique()
    execution_input = {} if items is None else {"items": items}
    status, body, _ = local_stack.request("POST", f"{url}/workflow", json={"name": name, "input": execution_input})
    assert status == 400 and body["error"] == error, body
    assert name not in {e["name"] for e in local_stack.executions("composite")}


def test_composite_fails_when_a_child_fails(local_stack: LocalStackProcess) -> None:
    url, name = local_stack.endpoints["composite"], unique()
    items = [{"payload": "ok"}, {"payload": 7}]
    assert local_stack.request("POST", f"{url}/workflow", json={"name": name, "input": {"items": items}})[0] == 201
    view = finished(local_stack, url, name)
    assert view["status"] == "FAILED"
    assert view["error"] == "States.TaskFailed"


def test_same_name_and_input_is_answered_from_the_first_execution(local_stack: LocalStackProcess, api: tuple[str, str]) -> None:
    pattern, url = api
    name = unique()
    execution_input = {"payload": "again"} if pattern == "chain" else {"items": [{"payload": "again"}]}
    first = local_stack.request("POST", f"{url}/workflow", json={"name": name, "input": execution_input})
    assert first[0] == 201, first
    finished(local_stack, url, name)

    again = local_stack.request("POST", f"{url}/workflow", json={"name": name, "input": execution_input})
    assert again[0] == 200, again
    assert again[1]["created"] is False
    assert again[1]["executionArn"] == first[1]["executionArn"]
    assert again[1]["status"] == "SUCCEEDED"
    assert [e["name"] for e in local_stack.executions(pattern)].count(name) == 1


def test_same_name_with_other_input_is_a_conflict(local_stack: LocalStackProcess) -> None:
    url, name = local_stack.endpoints["chain"], unique()
    assert local_stack.request("POST", f"{url}/workflow", json={"name": name, "input": {"payload": "one"}})[0] == 201
    status, body, _ = local_stack.request("POST", f"{url}/workflow", json={"name": name, "input": {"payload": "two"}})
    assert status == 409
    assert body["error"] == "NameConflict" and name in body["message"]
    assert finished(local_stack, url, name)["input"] == {"payload": "one"}


def test_idempotency_key_header_names_the_execution(local_stack: LocalStackProcess) -> None:
    url, name = local_stack.endpoints["chain"], unique()
    status, body, _ = local_stack.request(
        "POST", f"{url}/workflow", json={"input": {"payload": "key"}}, headers={"Idempotency-Key": name}
    )
    assert status == 201, body
    assert body["name"] == name
    assert finished(local_stack, url, name)["output"]["body"] == {"payload": "YEK"}

    status, body, _ = local_stack.request(
        "POST", f"{url}/workflow", json={"name": unique(), "input": {}}, headers={"Idempotency-Key": name}
    )
    assert status == 400 and body["error"] == "NameMismatch"


BAD_REQUESTS = [
    pytest.param("{not json", "MalformedJson", id="malformed-json"),
    pytest.param("", "MalformedJson", id="empty-body"),
    pytest.param('["a list"]', "InvalidBody", id="body-not-object"),
    pytest.param('{"input": {}}', "MissingField", id="missing-name"),
    pytest.param('{"name": "has space", "input": {}}', "InvalidName", id="name-with-space"),
    pytest.param(json.dumps({"name": "x" * 81, "input": {}}), "InvalidName", id="name-too-long"),
    pytest.param('{"name": "", "input": {}}', "InvalidName", id="empty-name"),
    pytest.param('{"name": "caf\\u00e9", "input": {}}', "InvalidName", id="non-ascii-name"),
    pytest.param('{"name": 12, "input": {}}', "InvalidName", id="name-not-string"),
    pytest.param('{"name": "ok-name", "input": [1, 2]}', "InvalidInput", id="input-not-object"),
    pytest.param('{"name": "ok-name", "input": "text"}', "InvalidInput", id="input-string"),
    pytest.param('{"name": "ok-name", "name": "other", "input": {}}', "MalformedJson", id="duplicate-key"),
    pytest.param('{"name": "ok-name", "input": {"n": 1e400}}', "MalformedJson", id="number-overflows-a-double"),
]


@pytest.mark.parametrize("raw, code", BAD_REQUESTS)
def test_bad_requests_are_refused_and_start_nothing(local_stack: LocalStackProcess, raw: str, code: str) -> None:
    url = local_stack.endpoints["chain"]
    before = len(local_stack.executions("chain"))
    status, body, _ = local_stack.request("POST", f"{url}/workflow", data=raw, headers={"content-type": "application/json"})
    assert status == 400, body
    assert body["error"] == code and body["message"]
    assert len(local_stack.executions("chain")) == before


def test_an_execution_input_over_256KiB_is_413_and_starts_nothing(local_stack: LocalStackProcess) -> None:
    url = local_stack.endpoints["chain"]
    before = len(local_stack.executions("chain"))
    status, body, _ = local_stack.request("POST", f"{url}/workflow", json={"name": unique(), "input": {"blob": "x" * (256 * 1024)}})
    assert (status, body["error"]) == (413, "PayloadTooLarge") and "262144" in body["message"]
    assert len(local_stack.executions("chain")) == before


def test_unknown_and_invalid_names_are_refused(local_stack: LocalStackProcess, api: tuple[str, str]) -> None:
    _, url = api
    status, body, _ = local_stack.request("GET", f"{url}/workflow/{unique('missing')}")
    assert status == 404 and body["error"] == "NotFound"
    status, body, _ = local_stack.request("GET", f"{url}/workflow/not%20valid")
    assert status == 400 and body["error"] == "InvalidName"


def test_routes_the_api_does_not_have_are_api_gateway_404s(local_stack: LocalStackProcess) -> None:
    url = local_stack.endpoints["chain"]
    for method, path in [("DELETE", "/workflow"), ("PUT", "/workflow"), ("POST", "/nowhere"), ("GET", "/workflow/a/b")]:  # GET /workflow lists
        status, body, _ = local_stack.request(method, f"{url}{path}")
        assert (status, body) == (404, {"message": "Not Found"}), (method, path)
    base = url.rsplit("/", 1)[0]
    assert local_stack.request("GET", f"{base}/noSuchApi/workflow/x")[:2] == (404, {"message": "Not Found"})


def test_concurrent_starts_with_one_name_start_one_execution(local_stack: LocalStackProcess) -> None:
    url, name = local_stack.endpoints["chain"], unique()
    body = {"name": name, "input": {"payload": "race"}}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: local_stack.request("POST", f"{url}/workflow", json=body), range(8)))
    statuses = [status for status, _, _ in answers]
    # StartExecution with the name and input of a RUNNING execution returns that execution (on AWS
    # as on moto), so it cannot tell racers apart: the start claim does, and one racer is told 201.
    assert sorted(statuses) == [200] * 7 + [201], answers
    assert sum(answer["created"] is True for _, answer, _ in answers) == 1
    assert len({answer["executionArn"] for _, answer, _ in answers}) == 1
    assert [e["name"] for e in local_stack.executions("chain")].count(name) == 1
    assert finished(local_stack, url, name)["output"]["body"] == {"payload": "ECAR"}


def test_concurrent_conflicting_starts_leave_one_execution(local_stack: LocalStackProcess) -> None:
    url, name = local_stack.endpoints["chain"], unique()
    bodies = [{"name": name, "input": {"payload": f"p{i}"}} for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda b: local_stack.request("POST", f"{url}/workflow", json=b), bodies))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses.count(201) == 1 and statuses.count(409) == 5, answers
    winner = next(b for b, (status, _, _) in zip(bodies, answers) if status == 201)
    assert finished(local_stack, url, name)["input"] == winner["input"]
    assert [e["name"] for e in local_stack.executions("chain")].count(name) == 1


def test_a_redriven_composite_names_its_rerun_children_afresh(local_stack: LocalStackProcess) -> None:
    # The redrive re-runs the failed item under <prefix>.1.<index>: its old name stays taken (90 days
    # on AWS), so a name without the redrive count would fail the redrive with ExecutionAlreadyExists.
    url, name = local_stack.endpoints["composite"], unique()
    status, body, _ = local_stack.request("POST", f"{url}/workflow", json={"name": name, "input": {"items": [{"payload": "ok"}, {"payload": 7}]}})
    assert status == 201, body
    assert finished(local_stack, url, name)["status"] == "FAILED"
    status, answer, _ = local_stack.request("POST", f"{url}/workflow/{name}/redrive")
    assert 200 <= status < 300, answer
    prefix = hashlib.sha1(body["executionArn"].encode()).hexdigest()

    def rerun() -> Any:
        view = finished(local_stack, url, name)
        children = {e["name"] for e in local_stack.executions("chain") if e["name"].startswith(prefix)}
        return (view, children) if f"{prefix}.1.1" in children else None

    view, children = local_stack.wait_for(rerun, 20)
    assert view["status"] == "FAILED" and view["error"] == "States.TaskFailed", view  # the item's own failure again
    assert {f"{prefix}.0.0", f"{prefix}.0.1", f"{prefix}.1.1"} <= children
