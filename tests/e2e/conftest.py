"""End-to-end fixtures: the local stack (``python -m local``) in a subprocess, once per test session.

The subprocess keeps the local stack's moto server, patched moto classes and per-thread
``os.environ`` away from the handler tests' in-process moto mocks. Tests drive the printed
endpoints over HTTP and inspect the embedded AWS with boto3 (``local_stack.client("stepfunctions")``).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

import pytest

from local import launcher
from local.aws import signed_headers

ROOT = Path(__file__).resolve().parents[2]

#: Stack config overrides for the end-to-end run (short timeouts). Add your pattern's keys here.
E2E_CONFIG: dict[str, str] = {
    # CallbackWorkflow: a task nobody calls back times out in seconds, not an hour.
    "sfn-patterns:callbackTimeoutSeconds": "6",
    "sfn-patterns:callbackHeartbeatSeconds": "2",
    # PausableWorkflow: an unresumed job fails with PauseTimedOut in seconds; the demo job is short.
    "sfn-patterns:pauseTimeoutSeconds": "5",
    "sfn-patterns:pausableJobSeconds": "0.3",
    # MonitoredWorkflow: the demo work (a Wait) lasts 2 s; a monitor no event reaches fails in 4 s.
    "sfn-patterns:monitorWorkSeconds": "2",
    "sfn-patterns:monitorTimeoutSeconds": "4",
    # Alarms: 10 s periods (CloudWatch's shortest), so an alarm returns to OK 10 s after its last datapoint.
    "sfn-patterns:alarmPeriodSeconds": "10",
}
#: Seconds the local stack may take to come up (it takes about 4 s on the 2-core machine).
STARTUP_TIMEOUT_SECONDS = 90


@dataclass
class LocalStackProcess:
    """The running local stack: endpoints, the embedded AWS, and HTTP / polling helpers."""

    endpoints: dict[str, str]
    aws_endpoint: str
    region: str
    outputs: dict[str, Any]
    process: subprocess.Popen
    log_path: Path
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A boto3 client against the embedded AWS."""
        import boto3

        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                region_name=self.region,
                endpoint_url=self.aws_endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._clients[service]

    def executions(self, workflow: str) -> list[dict[str, Any]]:
        """Every execution of one of the program's state machines (``stateMachines`` output), all pages."""
        arn = self.outputs["stateMachines"][workflow]
        found: list[dict[str, Any]] = []
        for page in self.client("stepfunctions").get_paginator("list_executions").paginate(stateMachineArn=arn):
            found += page["executions"]
        return found

    def request(
        self,
        method: str,
        url: str,
        json: Any = None,  # noqa: A002 - mirrors requests' keyword
        headers: Optional[dict[str, str]] = None,
        data: Optional[bytes | str] = None,
        timeout: float = 30,
        signed: bool = True,
    ) -> tuple[int, Any, dict[str, str]]:
        """One HTTP request: (status, body parsed as JSON when it is JSON else text, headers).

        Signed with SigV4 (the local credentials) unless ``signed=False``: every route of the demo
        stack is AWS_IAM but the callback completion routes, which ignore a signature."""
        import json as json_module

        headers = dict(headers or {})
        body: Optional[bytes] = None
        if json is not None:
            body = json_module.dumps(json).encode()
            headers.setdefault("content-type", "application/json")
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        if signed:
            headers = signed_headers(method, url, body, headers, self.region)
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw, response_headers = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, raw, response_headers = error.code, error.read(), dict(error.headers)
        text = raw.decode("utf-8", "replace")
        try:
            return status, json_module.loads(text), response_headers
        except ValueError:
            return status, text, response_headers

    def wait_for(self, probe: Callable[[], Any], timeout: float = 15, interval: float = 0.1) -> Any:
        """Call ``probe`` until it returns something truthy (returned); fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"condition not met within {timeout} s; last value: {last!r}")

    def log(self) -> str:
        """What the local stack printed so far."""
        return self.log_path.read_text(errors="replace")


class FaultPlan:
    """The stack's fault plan (``--faults``, see ``local/faults.py``), shared by the whole session.

    A test adds the rules it needs, each matching only its own traffic (a job id, a key), and removes
    them when done; the plan file always holds every rule added and not removed, so tests whose
    scenarios run at the same time keep each other's faults. ``fired`` counts from the plan's log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.log = path.with_name(path.name + ".log")
        self._rules: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def add(self, **rule: Any) -> str:
        """Add one rule (``service``, ``operation``, ``match``, ``error``, ``status``, ``times``); its id."""
        rule_id = str(rule.setdefault("id", uuid.uuid4().hex[:8]))
        with self._lock:
            self._rules[rule_id] = rule
            self._write()
        return rule_id

    def remove(self, *rule_ids: str) -> None:
        """Take these rules out of the plan (unknown ids are ignored)."""
        with self._lock:
            for rule_id in rule_ids:
                self._rules.pop(rule_id, None)
            self._write()

    def fired(self, rule_id: str) -> int:
        """How many calls the rule made fail so far."""
        if not self.log.exists():
            return 0
        return sum(1 for line in self.log.read_text().splitlines() if json.loads(line)["id"] == rule_id)

    def _write(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(list(self._rules.values())))
        temporary.replace(self.path)
        time.sleep(0.01)  # a new mtime for the next plan (the stack re-reads it when mtime or size change)


def _start(tmp: Path) -> LocalStackProcess:
    options = [
        "--retry-delay", "0.1",  # asynchronous Lambda retries after 0.1 s, 0.2 s (AWS: 1 and 2 minutes)
        "--faults", str(tmp / "faults.json"),  # fault plan of tests/e2e/test_faults.py (empty: no faults)
    ]
    process, description, log_path = launcher.start(tmp, options, E2E_CONFIG, STARTUP_TIMEOUT_SECONDS, "local-stack.log")
    return LocalStackProcess(
        endpoints=description["endpoints"],
        aws_endpoint=description["awsEndpoint"],
        region=description["region"],
        outputs=description["outputs"],
        process=process,
        log_path=log_path,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``at_end`` run last (in their order): they check what the rest of the session's
    time let happen (an alarm returning to OK a period after its incident) instead of waiting for it."""
    items.sort(key=lambda item: item.get_closest_marker("at_end") is not None)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    """The local stack running ``__main__.py`` with :data:`E2E_CONFIG`, for the whole session."""
    stack = _start(tmp_path_factory.mktemp("local-stack"))
    try:
        yield stack
    finally:
        launcher.stop(stack.process)


@contextmanager
def run_together(stack: LocalStackProcess, scenarios: Mapping[str, Callable[[], Any]]) -> Iterator[dict[str, Future]]:
    """Every scenario started at once, each in its own thread: name -> its future (``.result(timeout)``
    gives its outcome or raises what it raised). On exit, waits until every scenario has ended."""
    for service in ("sns", "sqs", "stepfunctions", "lambda", "events"):
        stack.client(service)  # created here: building boto3 clients from many threads at once is not safe
    pool = ThreadPoolExecutor(max_workers=max(1, len(scenarios)))
    try:
        yield {name: pool.submit(scenario) for name, scenario in scenarios.items()}
    finally:
        pool.shutdown(wait=True)


@pytest.fixture(scope="session", autouse=True)
def early(request: pytest.FixtureRequest, local_stack: LocalStackProcess) -> Iterator[dict[str, Future]]:
    """The scenarios the collected test modules list in their ``EARLY`` mapping (name -> function of the
    stack), each started in its own thread as soon as the stack is up, before the first test: a scenario
    whose timer (a pause timeout, a run of heartbeats) needs no isolation then runs out while earlier
    modules run, and its module's test only reads the outcome (``early["<module>:<name>"].result()``).
    A scenario listed here must need nothing the session's other tests change (a rule, a fault); a test
    that changes something shared waits for every early scenario to end first (test_monitored's
    disabled stop rule)."""
    modules = {module for module in (getattr(item, "module", None) for item in request.session.items) if module is not None}
    scenarios = {f"{module.__name__.rsplit('.', 1)[-1]}:{name}": partial(scenario, local_stack)
                 for module in sorted(modules, key=lambda m: m.__name__)
                 for name, scenario in getattr(module, "EARLY", {}).items()}
    with run_together(local_stack, scenarios) as futures:
        yield futures


@pytest.fixture(scope="session")
def fault_plan(local_stack: LocalStackProcess) -> FaultPlan:
    """The running stack's fault plan (empty until a test adds a rule)."""
    return FaultPlan(Path(local_stack.log_path).parent / "faults.json")
