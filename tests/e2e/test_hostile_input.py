"""Hostile input through the local stack: every route of every pattern, property-based.

For each route, Hypothesis (derandomized: the same examples on every run) generates requests that
are wrong in one or more ways, drawn from these families:

- ``non-json``: unicode text, random bytes, empty bodies, base64 of JSON sent as JSON;
- ``non-object``: JSON arrays, strings, numbers, ``null``;
- ``wrong-field``: the route's key field (name, id, status, message) with a wrong type, an invalid
  execution name (unicode, too long, punctuation, trailing newline), or missing; plus extra fields;
- ``non-json-literals``: ``NaN``, ``Infinity``, 5000-digit numbers, duplicate keys;
- ``deep``: bodies nested 500 to 100 000 levels;
- ``huge``: inputs over Step Functions' 256 KiB, bodies over the handlers' 512 KiB and the 10 MB API limit;
- ``content-type``: text/plain, form, octet-stream (base64 to the Lambda), multipart, image ... on any body;
- ``wrong-method``: every method the path does not route;
- ``path-id``: invalid ids (percent-encoded unicode, ``..``, 81 characters, ``%2F``) and valid unknown
  ids; for the callback and pausable action routes also the id of a task/job that really waits.

Every request must be refused with a 4xx and a JSON body naming the problem (never a 5xx, never
accepted), and a route's whole batch of refused requests must start no execution and change no
table row, no queue, no topic (an SQS probe subscribed to every topic) and no event bus (a probe
rule on every custom bus): the embedded AWS is snapshotted before and after. The batches of routes that
need no waiting task/job are sent together (4 threads) between one pair of snapshots; each route that
acts on a waiting task/job gets its own pair, so its target's timers do not run out during the others.
"""

from __future__ import annotations

import base64
import json
import re
import string
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Examples per route: 14 routes x this stays within a few seconds on the 2-core machine.
EXAMPLES_PER_ROUTE = 20
NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    """One route of one pattern's API, and what makes a body for it wrong."""

    pattern: str
    method: str
    path: str  # with {id} for the path parameter
    key_field: Optional[str]  # the body field that decides what happens (None: the body is not read)
    allowed: tuple[Any, ...] = ()  # the key field's valid values when it is not a name
    fields: tuple[str, ...] = ()  # every field the body may carry

    @property
    def label(self) -> str:
        return f"{self.pattern}:{self.method} {self.path}"


ROUTES = [
    Route("chain", "POST", "/workflow", "name", fields=("name", "input")),
    Route("chain", "GET", "/workflow/{id}", None),
    Route("composite", "POST", "/workflow", "name", fields=("name", "input")),
    Route("composite", "GET", "/workflow/{id}", None),
    Route("callback", "POST", "/tasks", "taskId", fields=("taskId", "input")),
    Route("callback", "GET", "/tasks/{id}", None),
    Route("callback", "PUT", "/tasks/{id}", "status", ("SUCCEEDED", "FAILED"), ("status", "output", "error", "cause")),
    Route("callback", "POST", "/tasks/{id}/heartbeat", None),
    Route("pausable", "POST", "/jobs", "jobId", fields=("jobId", "input", "manual")),
    Route("pausable", "GET", "/jobs/{id}", None),
    Route("pausable", "POST", "/jobs/{id}/resume", "status", ("SUCCEEDED", "FAILED"), ("status", "output", "error", "cause", "jobId")),
    Route("monitored", "POST", "/monitored", "workflowkey", fields=("workflowkey", "input")),
    Route("monitored", "GET", "/monitored/{id}", None),
    Route("monitored", "POST", "/monitored/{id}/events", "message",
          ("StopWorkflowMonitoring", "WorkflowError"), ("message", "error", "cause")),
]

#: The operations routes (list, cancel, redrive: handlers/common/operations.py) read no body; their bad
#: query parameters and names are tested in tests/handlers/test_operations.py and tests/e2e/test_operations.py.
#: Here they only count as routed, so no other route's "wrong method" lands on them.
OPERATIONS = [
    (pattern, method, path)
    for pattern, collection in (("chain", "workflow"), ("composite", "workflow"), ("callback", "tasks"),
                                ("pausable", "jobs"), ("monitored", "monitored"))
    for method, path in (("GET", f"/{collection}"), ("DELETE", f"/{collection}/{{id}}"),
                         ("POST", f"/{collection}/{{id}}/redrive"))
]

# --- Strategies ----------------------------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=8)
non_objects = st.one_of(json_scalars, st.lists(json_values, max_size=4))
bad_name_strings = st.one_of(
    st.sampled_from(["", "a" * 81, "abc\n", "a b", "../etc", "caf\u00e9", "\u0000", "x/y", "%2F", "tab\there",
                     "\U0001f4a5", "name;drop", "null"]),
    st.text(min_size=1, max_size=100).filter(lambda s: not NAME.fullmatch(s)),
)
bad_names = st.one_of(bad_name_strings, st.integers(), st.floats(), st.booleans(), st.none(),
                      st.lists(st.text(max_size=5), max_size=2), st.dictionaries(st.text(max_size=5), json_scalars, max_size=2))
unknown_ids = st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True).map(lambda s: f"hostile-unknown-{s}")
header_text = st.text(alphabet=string.printable.strip() + " ", max_size=40)


def extras(route: Route) -> st.SearchStrategy[dict[str, Any]]:
    """Extra fields the route does not define."""
    return st.dictionaries(st.text(max_size=10).filter(lambda k: k not in route.fields), json_values, max_size=3)


def wrong_object(route: Route) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object the route must refuse, whatever its path id."""
    if route.key_field is None:
        return st.one_of(extras(route), st.fixed_dictionaries({"status": json_values}))
    field = route.key_field
    if route.allowed:  # a status/message field: anything but its allowed values, or missing
        bad_value = json_values.filter(lambda v: v not in route.allowed)
        with_bad = st.builds(lambda v, e: {**e, field: v}, bad_value, extras(route))
        return st.one_of(with_bad, extras(route))
    objects = [
        st.builds(lambda v, e, i: {**e, field: v, "input": i}, bad_names, extras(route), json_values),
        # a valid fresh name with an input that is no JSON object (null included)
        st.builds(lambda n, i: {field: n, "input": i}, unknown_ids, non_objects),
    ]
    if field not in ("jobId", "taskId"):  # POST /jobs and POST /tasks without an id are valid (the id is generated)
        objects.append(st.builds(lambda e, i: {**e, "input": i}, extras(route), st.dictionaries(st.text(max_size=5), json_scalars, max_size=2)))
    if field == "jobId":
        objects.append(st.builds(lambda n, m: {"jobId": n, "manual": m}, unknown_ids,
                                 json_values.filter(lambda v: not isinstance(v, bool))))
    if field == "taskId":  # the callback API refuses unknown fields
        objects.append(st.builds(lambda n, e: {**e, "taskId": n}, unknown_ids,
                                 st.dictionaries(st.sampled_from(["extra", "token", "secret", "Input"]), json_values, min_size=1)))
    return st.one_of(objects)


@dataclass
class HostileRequest:
    """One generated request."""

    family: str
    method: str
    path_id: Optional[str]
    body: Optional[bytes]
    headers: dict[str, str]

    def describe(self) -> str:
        body = (self.body or b"")[:160]
        return f"[{self.family}] {self.method} id={self.path_id!r} headers={self.headers} body={body!r}... ({len(self.body or b'')} bytes)"


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def requests_for(route: Route, waiting_ids: list[str]) -> st.SearchStrategy[HostileRequest]:
    """Requests the route must refuse."""
    has_id = "{id}" in route.path
    ids = st.one_of(bad_name_strings.filter(bool), unknown_ids, *( [st.sampled_from(waiting_ids)] if waiting_ids else []))
    path_ids = ids if has_id else st.none()
    objects = wrong_object(route)
    json_ct = {"content-type": "application/json"}
    secret_header = st.one_of(st.just({}), header_text.map(lambda s: {"X-Task-Secret": s}))
    idem_header = st.one_of(st.just({}), bad_name_strings.filter(lambda s: all(32 <= ord(c) < 127 for c in s))
                            .map(lambda s: {"Idempotency-Key": s}))
    extra_headers = st.builds(lambda a, b: {**a, **b}, secret_header, idem_header)

    def make(family: str, body: st.SearchStrategy[bytes], headers: st.SearchStrategy[dict[str, str]] = st.just(json_ct),
             method: st.SearchStrategy[str] = st.just(route.method)) -> st.SearchStrategy[HostileRequest]:
        return st.builds(lambda m, i, b, h, x: HostileRequest(family, m, i, b, {**h, **x}), method, path_ids, body, headers, extra_headers)

    deep = st.sampled_from([500, 5_000, 100_000]).flatmap(lambda n: st.sampled_from([
        b"[" * n + b"]" * n, b'{"a":' * n + b"1" + b"}" * n,
        _json({route.key_field or "x": None})[:-1] + b',"input":' + b'{"a":' * n + b"{}" + b"}" * n + b"}",
    ]))
    literal = st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1" * 5000]).map(
        lambda lit: b'{"%s": "hostile-lit", "input": {"n": %s}, "status": %s, "message": %s}'
        % ((route.key_field or "x").encode(), lit, lit, lit))
    huge = st.sampled_from([300_000, 600_000, 11 * 1024 * 1024]).map(
        lambda n: _json({route.key_field or "x": f"hostile-huge-{n}", "input": {"blob": "x" * n}, "output": {"blob": "x" * n}}))
    content_types = st.sampled_from(["text/plain", "application/x-www-form-urlencoded", "application/octet-stream",
                                     "multipart/form-data; boundary=zz", "image/png", "", "application/json; charset=utf-16",
                                     "application/xml"])
    key = (route.key_field or "x").encode()
    wrong_methods = [m for m in METHODS if m != route.method and not _routed(route, m)]
    families = [
        make("non-json", st.one_of(
            st.text(max_size=60).map(lambda s: s.encode("utf-8")).filter(lambda b: not _is_object(b)),
            st.binary(max_size=60).filter(lambda b: not _is_object(b)),
            objects.map(lambda o: base64.b64encode(_json(o))),
        )),
        make("non-object", non_objects.map(_json)),
        make("wrong-field", objects.map(_json)),
        make("non-json-literals", literal),
        make("deep", deep),
        make("huge", huge),
        make("content-type", st.one_of(objects.map(_json), st.binary(max_size=40)),
             headers=content_types.map(lambda ct: {"content-type": ct} if ct else {})),
        make("duplicate-keys", st.just(b'{"%s": "hostile-dup-ok", "%s": 17}' % (key, key))),
    ]
    if wrong_methods:
        families.append(make("wrong-method", st.one_of(st.none(), objects.map(_json)), method=st.sampled_from(wrong_methods)))
    return st.one_of(families)


def _routed(route: Route, method: str) -> bool:
    return any(r.pattern == route.pattern and r.path == route.path and r.method == method for r in ROUTES) or (
        (route.pattern, method, route.path) in OPERATIONS)


def _is_object(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except (ValueError, RecursionError):
        return False


# --- The embedded AWS, snapshotted ---------------------------------------------------------------


class Probe:
    """Reads everything a request could change on the embedded AWS; probes topics and buses through SQS."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.sfn, self.ddb, self.sqs = stack.client("stepfunctions"), stack.client("dynamodb"), stack.client("sqs")
        sns, events = stack.client("sns"), stack.client("events")
        suffix = uuid.uuid4().hex[:6]
        self.queue_url = self.sqs.create_queue(QueueName=f"hostile-probe-{suffix}")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # The stack's alarm topic is left out: the local stack's alarm evaluator publishes to it whenever an
        # alarm changes state (other test modules set some off on purpose), which no request here causes.
        alarm_topic = stack.outputs.get("alarmTopic")
        for topic in sns.list_topics()["Topics"]:
            if topic["TopicArn"] != alarm_topic:
                sns.subscribe(TopicArn=topic["TopicArn"], Protocol="sqs", Endpoint=queue_arn)
        self.sns, self.alarm_topic = sns, alarm_topic
        for bus in events.list_event_buses()["EventBuses"]:
            if bus["Name"] == "default":
                continue
            rule = f"hostile-probe-{suffix}"
            events.put_rule(Name=rule, EventBusName=bus["Name"], EventPattern=json.dumps({"source": [{"prefix": ""}]}))
            events.put_targets(Rule=rule, EventBusName=bus["Name"], Targets=[{"Id": "probe", "Arn": queue_arn}])
        self.machines = dict(stack.outputs["stateMachines"])

    def executions(self) -> dict[str, list[tuple[str, str]]]:
        found = {}
        for name, arn in self.machines.items():
            pages = self.sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
            found[name] = sorted((e["name"], e["status"]) for page in pages for e in page["executions"])
        return found

    def snapshot(self) -> dict[str, Any]:
        """Execution names, every table's items, every queue's message counts."""
        tables = {}
        for table in self.ddb.list_tables()["TableNames"]:
            items = [i for page in self.ddb.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]
            tables[table] = sorted(json.dumps(i, sort_keys=True) for i in items)
        queues = {}
        # Queues that receive the alarm topic's notifications (an operator's inbox) change with alarm states.
        alarm_inboxes = {
            sub["Endpoint"].rsplit(":", 1)[-1]
            for sub in (self.sns.list_subscriptions_by_topic(TopicArn=self.alarm_topic)["Subscriptions"] if self.alarm_topic else [])
            if sub["Protocol"] == "sqs"
        }
        for url in self.sqs.list_queues().get("QueueUrls", []):
            if url.rsplit("/", 1)[-1] in alarm_inboxes:
                continue
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"])
            queues[url.rsplit("/", 1)[-1]] = sorted(attributes["Attributes"].items())
        executions = {name: [n for n, _ in names] for name, names in self.executions().items()}
        return {"executions": executions, "tables": tables, "queues": queues}

    def settled(self, idle: bool = True, timeout: float = 20) -> dict[str, Any]:
        """A snapshot once two snapshots a moment apart agree (and, if ``idle``, no execution runs)."""
        if idle:
            self.stack.wait_for(
                lambda: not any(s == "RUNNING" for names in self.executions().values() for _, s in names), timeout)
        deadline = time.monotonic() + timeout
        previous = self.snapshot()
        while time.monotonic() < deadline:
            time.sleep(0.15)
            current = self.snapshot()
            if current == previous:
                return current
            previous = current
        raise AssertionError("the embedded AWS does not settle")


def _diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    lines = []
    for section in before:
        for key in set(before[section]) | set(after[section]):
            old, new = before[section].get(key), after[section].get(key)
            if old != new:
                if isinstance(old, list) and isinstance(new, list):
                    lines.append(f"{section}/{key}: +{sorted(set(map(str, new)) - set(map(str, old)))[:5]} "
                                 f"-{sorted(set(map(str, old)) - set(map(str, new)))[:5]}")
                else:
                    lines.append(f"{section}/{key}: {old} -> {new}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def probe(local_stack: Any) -> Probe:
    return Probe(local_stack)


def _waiting_targets(stack: Any, route: Route) -> list[str]:
    """For the callback and pausable action routes: start a task/job that really waits, return its id."""
    base = stack.endpoints[route.pattern].rstrip("/")
    target = f"hostile-target-{uuid.uuid4().hex[:8]}"
    if not _needs_target(route):
        return []
    if route.pattern == "callback":
        status, _, _ = stack.request("POST", f"{base}/tasks", json={"taskId": target, "input": {"simulate": "ignore"}})
        assert status == 202
        stack.wait_for(lambda: stack.request("GET", f"{base}/tasks/{target}")[1].get("status") == "WAITING", 10)
        return [target]
    status, _, _ = stack.request("POST", f"{base}/jobs", json={"jobId": target, "manual": True, "input": {}})
    assert status == 202
    stack.wait_for(lambda: stack.request("GET", f"{base}/jobs/{target}")[1].get("status") == "PAUSED", 10)
    return [target]


def _send(stack: Any, route: Route, request: HostileRequest) -> tuple[int, Any]:
    base = stack.endpoints[route.pattern].rstrip("/")
    path = route.path
    if request.path_id is not None:
        path = path.replace("{id}", urllib.parse.quote(request.path_id, safe=""))
    status, body, _ = stack.request(request.method, base + path, data=request.body, headers=request.headers, timeout=60)
    return status, body


def _needs_target(route: Route) -> bool:
    return (route.pattern == "callback" and route.method != "GET" and "{id}" in route.path) or (
        route.pattern == "pausable" and route.path.endswith("/resume"))


#: Routes whose requests need no waiting task/job: their batches are sent together, between one
#: settled snapshot before and one after (a route's responses are still judged in its own test).
FREE_ROUTES = [r for r in ROUTES if not _needs_target(r)]
#: Routes that need a waiting task/job: one batch at a time, each between its own snapshots, so its
#: targets are fresh (their timers run meanwhile).
TARGET_ROUTES = [r for r in ROUTES if _needs_target(r)]
#: Threads sending the free routes' requests.
SENDERS = 4


def _examples(route: Route, waiting: list[str]) -> list[HostileRequest]:
    """The route's ``EXAMPLES_PER_ROUTE`` derandomized examples (the same on every run), generated up front."""
    generated: list[HostileRequest] = []

    @settings(max_examples=EXAMPLES_PER_ROUTE, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(request=requests_for(route, waiting))
    def collect(request: HostileRequest) -> None:
        generated.append(request)

    collect()
    return generated


def _refusal_problem(route: Route, request: HostileRequest, status: int, body: Any) -> Optional[str]:
    """Why the answer is not a clear refusal (None: it is)."""
    if not 400 <= status < 500:
        return f"{route.label}: {status} {str(body)[:300]} for {request.describe()}"
    if not (isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]):
        return f"{route.label}: {status} without a JSON message: {str(body)[:200]} for {request.describe()}"
    if "error" in body and not (isinstance(body["error"], str) and re.fullmatch(r"[A-Za-z]+", body["error"])):
        return f"{route.label}: error code {body['error']!r} is no name, for {request.describe()}"
    return None


def _suspects(diff: str, sent: dict[str, list[HostileRequest]]) -> list[str]:
    """The routes whose requests carry a name that appears in the diff (which route changed what)."""
    words = set(re.findall(r"[A-Za-z0-9_-]{6,}", diff))
    return sorted(label for label, requests in sent.items()
                  if any(w in (r.path_id or "") or w.encode() in (r.body or b"") for r in requests for w in words))


def _free_examples(local_stack: Any) -> dict[str, list[HostileRequest]]:
    """Every free route's examples (about 150 MB of bodies, seconds of CPU to generate)."""
    return {route.label: _examples(route, []) for route in FREE_ROUTES}


#: Started with the session (conftest ``early``): the free routes' examples are generated while earlier
#: modules wait on their timers. (The examples do not depend on the stack; the routes acting on a
#: waiting task/job generate theirs in their test, with that target's id.)
EARLY = {"free_examples": _free_examples}


@dataclass
class FreeBatch:
    """The free routes' batches, sent together: what each request got, and the embedded AWS before and after."""

    sent: dict[str, list[HostileRequest]]
    problems: dict[str, list[str]]
    before: dict[str, Any]
    after: dict[str, Any]


@pytest.fixture(scope="module")
def free_batch(local_stack: Any, probe: Probe, early: dict[str, Any]) -> FreeBatch:
    """Every free route's hostile requests, sent concurrently between two snapshots of the embedded AWS."""
    from concurrent.futures import ThreadPoolExecutor

    sent: dict[str, list[HostileRequest]] = early["test_hostile_input:free_examples"].result(timeout=300)
    jobs = [(route, request) for route in FREE_ROUTES for request in sent[route.label]]
    before = probe.settled()
    with ThreadPoolExecutor(SENDERS) as pool:
        answers = list(pool.map(lambda job: _send(local_stack, *job), jobs))
    time.sleep(0.2)  # anything a request set off asynchronously (a publish, an event) has landed
    after = probe.snapshot()
    problems: dict[str, list[str]] = {route.label: [] for route in FREE_ROUTES}
    for (route, request), (status, body) in zip(jobs, answers):
        problem = _refusal_problem(route, request, status, body)
        if problem:
            problems[route.label].append(problem)
    return FreeBatch(sent, problems, before, after)


@pytest.mark.parametrize("route", FREE_ROUTES, ids=[r.label for r in FREE_ROUTES])
def test_hostile_requests_are_refused_and_change_nothing(free_batch: FreeBatch, route: Route) -> None:
    requests = free_batch.sent[route.label]
    assert len(requests) == EXAMPLES_PER_ROUTE, len(requests)
    assert not free_batch.problems[route.label], "\n".join(free_batch.problems[route.label])
    diff = _diff(free_batch.before, free_batch.after)
    assert free_batch.after == free_batch.before, (
        f"{route.label}: the refused requests of {len(FREE_ROUTES)} routes (sent together) changed the embedded AWS;"
        f" routes whose requests name what changed: {_suspects(diff, free_batch.sent) or 'none'}:\n{diff}")
    assert len({r.family for r in requests}) >= 6, {r.family for r in requests}


@pytest.mark.parametrize("route", TARGET_ROUTES, ids=[r.label for r in TARGET_ROUTES])
def test_hostile_requests_on_a_waiting_target_are_refused_and_change_nothing(local_stack: Any, probe: Probe,
                                                                            route: Route) -> None:
    waiting = _waiting_targets(local_stack, route)
    before = probe.settled(idle=not waiting)
    families: dict[str, int] = {}

    @settings(max_examples=EXAMPLES_PER_ROUTE, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(request=requests_for(route, waiting))
    def refused(request: HostileRequest) -> None:
        status, body = _send(local_stack, route, request)
        families[request.family] = families.get(request.family, 0) + 1
        problem = _refusal_problem(route, request, status, body)
        assert problem is None, problem

    refused()
    time.sleep(0.2)  # anything a request set off asynchronously (a publish, an event) has landed
    after = probe.snapshot()
    assert after == before, f"{route.label}: refused requests changed the embedded AWS:\n{_diff(before, after)}"
    assert len(families) >= 6, families

