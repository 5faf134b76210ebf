"""Run each pattern's happy path on the local stack and count what one execution costs.

The local stack (``python -m local``) runs once, in a subprocess, with short demo timings
(:data:`STACK_CONFIG`). Executions run one at a time; for each, the counters of ``GET /_local/stats``
(HTTP API requests, Lambda invocations per function, embedded-AWS requests per service and action)
are read before the start and again once the execution has ended and the counters have stopped
moving, and the difference is what that execution caused, minus the benchmark's own requests
(its DescribeExecution polls and its stats reads, counted on its side).

State transitions are counted from the execution history as Step Functions bills them: one per
state entered (``*StateEntered`` events: Task, Pass, Choice, Wait, Succeed, Fail, Map, Parallel,
and every state of every Map iteration and Parallel branch), plus one per retry of a Task (Task
or Lambda scheduled again within the same state). Child executions a state starts
(``states:startExecution``) are billed as executions of their own; their transitions are added to
the pattern's total (and shown as ``childTransitions``).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from bench.costs import dynamodb_units, express_gb_seconds, load_prices
from bench.logs import access_log_line, state_machine_log_bytes
from local import launcher
from local.aws import signed_headers

ROOT = Path(__file__).resolve().parent.parent
#: Short demo timings: the pausable demo job takes 0.1 s, the monitored work (a Wait) 1 s.
STACK_CONFIG = {
    "sfn-patterns:pausableJobSeconds": "0.1",
    "sfn-patterns:monitorWorkSeconds": "1",
}
STARTUP_TIMEOUT_SECONDS = 120
EXECUTION_TIMEOUT_SECONDS = 60
FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


@dataclass
class Scenario:
    """A pattern's happy path: the request that starts it (by execution name), and the seed design it is compared with."""

    pattern: str
    description: str
    method: str
    path: str
    body: Callable[[str], dict[str, Any]]
    seed: str = ""
    """The seed design compared (a key of ``bench.seeds.SEEDS``). Default: ``pattern``."""
    key: str = ""
    """The stack's ``endpoints`` / ``stateMachines`` key. Default: ``pattern``."""
    direct: bool = False
    """Started with StartExecution (``body`` is the execution input), as the seeds are, not through the HTTP API."""

    def __post_init__(self) -> None:
        self.seed = self.seed or self.pattern
        self.key = self.key or self.pattern


#: The program the benchmark's local stack runs: the demo stack plus the design variants (``pausable-lean``).
STACK_PROGRAM = ROOT / "bench" / "stack.py"

SCENARIOS: dict[str, Scenario] = {
    s.pattern: s
    for s in (
        Scenario("chain", "IdempotentApi POST /workflow, chain of 2 Lambdas", "POST", "/workflow",
                 lambda n: {"name": n, "input": {"payload": "hi mom"}}),
        Scenario("composite", "IdempotentApi POST /workflow, Map of 2 items, each a chain child execution", "POST",
                 "/workflow", lambda n: {"name": n, "input": {"items": [{"payload": "ab"}, {"payload": "cd"}]}}),
        Scenario("composite-express", "IdempotentApi POST /workflow, Map of 2 items, each the chain as a synchronous "
                 "Express child (workflows/composite_express.yaml)", "POST", "/workflow",
                 lambda n: {"name": n, "input": {"items": [{"payload": "ab"}, {"payload": "cd"}]}}, seed="composite"),
        Scenario("callback", "POST /tasks; demo external service (SNS) calls back PUT /tasks/{id} (succeed)", "POST",
                 "/tasks", lambda n: {"taskId": n, "input": {"simulate": "succeed"}}),
        Scenario("monitored", "POST /monitored; 1 s of work, then graceful stop through the bus", "POST",
                 "/monitored", lambda n: {"workflowkey": n, "input": {}}),
        Scenario("monitored-direct", "StartExecution (as seed 003 is started: no HTTP API); 1 s of work, graceful stop",
                 "", "", lambda n: {"workflowkey": n, "input": {}}, seed="monitored", key="monitored", direct=True),
        Scenario("pausable", "POST /jobs; demo async service (0.1 s job) resumes through the SNS topic", "POST",
                 "/jobs", lambda n: {"jobId": n, "input": {}, "manual": False}),
        Scenario("pausable-direct", "StartExecution (as seed 004 is started: no HTTP API); demo async service resumes",
                 "", "", lambda n: {"input": {}, "manual": False}, seed="pausable", key="pausable", direct=True),
        Scenario("pausable-lean", "POST /jobs on a PausableWorkflow without its optional steps (preprocess=None, "
                 "postprocess=None); demo async service resumes", "POST", "/jobs",
                 lambda n: {"jobId": n, "input": {}, "manual": False}, seed="pausable"),
    )
}


def count_transitions(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Billed transitions of one execution's history (see the module docstring), and its child executions."""
    entered = [e for e in events if e["type"].endswith("StateEntered")]
    task_entries = sum(1 for e in entered if e["type"] == "TaskStateEntered")
    scheduled = sum(1 for e in events if e["type"] in ("TaskScheduled", "LambdaFunctionScheduled"))
    children: list[str] = []
    express_ms: list[float] = []
    for event in events:
        succeeded = event.get("taskSucceededEventDetails") or {}
        if succeeded.get("resourceType") == "aws-sdk:sfn" and str(succeeded.get("resource", "")).startswith("startSyncExecution"):
            try:
                answer = json.loads(succeeded.get("output") or "{}")
                express_ms.append(float(answer["StopDate"]) - float(answer["StartDate"]))
            except (ValueError, KeyError, TypeError):
                express_ms.append(0.0)
        details = event.get("taskSubmittedEventDetails") or event.get("taskSucceededEventDetails") or {}
        if details.get("resourceType") == "states" and str(details.get("resource", "")).startswith("startExecution"):
            try:
                arn = json.loads(details.get("output") or "{}").get("ExecutionArn")
            except ValueError:
                arn = None
            if arn and arn not in children:
                children.append(arn)
    states: dict[str, int] = {}
    for event in entered:
        name = event["stateEnteredEventDetails"]["name"]
        states[name] = states.get(name, 0) + 1
    return {"entered": len(entered), "retries": max(0, scheduled - task_entries), "states": states, "children": children,
            "expressMilliseconds": express_ms}


@dataclass
class LocalStack:
    """``python -m local`` in a subprocess, and the benchmark's own (counted) requests to it."""

    config: dict[str, str] = field(default_factory=lambda: dict(STACK_CONFIG))
    process: Optional[subprocess.Popen] = None
    description: dict[str, Any] = field(default_factory=dict)
    own_aws: dict[str, int] = field(default_factory=dict)
    stats_reads: int = 0
    startup_seconds: float = 0.0
    _workdir: Optional[tempfile.TemporaryDirectory] = None
    _sfn: Any = None

    def start(self) -> "LocalStack":
        """Start the stack (:data:`STACK_PROGRAM`) and wait until it serves."""
        self._workdir = tempfile.TemporaryDirectory(prefix="sfn-bench-")
        started = time.monotonic()
        try:
            self.process, self.description, _ = launcher.start(
                Path(self._workdir.name), ["--program", str(STACK_PROGRAM)], self.config, STARTUP_TIMEOUT_SECONDS
            )
        except RuntimeError:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        """Stop the subprocess and remove its folder."""
        if self.process is not None:
            launcher.stop(self.process)
        self.process = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def client(self, service: str) -> Any:
        """A boto3 client on the embedded AWS whose every request is counted in :attr:`own_aws`."""
        import boto3

        client = boto3.client(
            service, region_name=self.description["region"], endpoint_url=self.description["awsEndpoint"],
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )

        def count(event_name: str, **_: Any) -> None:
            # event_name: before-send.<service>.<Operation>
            parts = event_name.split(".")
            key = f"{parts[1]}.{parts[2]}" if len(parts) > 2 else event_name
            self.own_aws[key] = self.own_aws.get(key, 0) + 1

        client.meta.events.register("before-send", count)
        return client

    @property
    def sfn(self) -> Any:
        """The counted Step Functions client."""
        if self._sfn is None:
            self._sfn = self.client("stepfunctions")
        return self._sfn

    def stats(self) -> dict[str, Any]:
        """``GET /_local/stats`` (counted in :attr:`stats_reads`: the gateway counts it as a request)."""
        base = "http://127.0.0.1:{}".format(self.description["httpPort"])
        with urllib.request.urlopen(base + "/_local/stats", timeout=10) as response:
            self.stats_reads += 1
            return json.loads(response.read())

    def request(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        """One JSON request to an endpoint."""
        data = json.dumps(body).encode()
        headers = signed_headers(method, url, data, {"content-type": "application/json"})  # every demo route is AWS_IAM
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")


def _flatten(requests: dict[str, dict[str, int]]) -> dict[str, int]:
    return {f"{service}.{action}": n for service, actions in requests.items() for action, n in actions.items()}


def _difference(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)}


def _moving_parts(stats: dict[str, Any], stack: LocalStack) -> tuple[Any, ...]:
    """What must stop changing before an execution's counters are read (own requests left out)."""
    aws = _flatten(stats.get("awsRequests", {}))
    theirs = {k: v - stack.own_aws.get(_own_key(k), 0) for k, v in aws.items()}
    return (
        json.dumps(stats["lambda"]["invocations"], sort_keys=True),
        json.dumps(theirs, sort_keys=True),
        stats["httpRequests"] - stack.stats_reads,
    )


#: The counter's service names (credential scope) -> botocore's service ids in event names.
_SCOPE_TO_BOTOCORE = {"states": "sfn", "events": "eventbridge"}


def _own_key(counter_key: str) -> str:
    service, _, action = counter_key.partition(".")
    return f"{_SCOPE_TO_BOTOCORE.get(service, service)}.{action}"


def run_once(stack: LocalStack, scenario: Scenario, functions: dict[str, dict[str, Any]], run: int) -> dict[str, Any]:
    """One execution of ``scenario``: its billed figures (see :mod:`bench.costs`) and timings."""
    name = f"bench-{scenario.pattern}-{run}-{uuid.uuid4().hex[:8]}"
    sm_arn = stack.description["outputs"]["stateMachines"][scenario.key]
    execution_arn = sm_arn.replace(":stateMachine:", ":execution:") + ":" + name

    before = stack.stats()
    own_before, reads_before = dict(stack.own_aws), stack.stats_reads
    started = time.monotonic()
    if scenario.direct:  # the benchmark's own (counted, subtracted) request, as a console or CLI start
        stack.sfn.start_execution(stateMachineArn=sm_arn, name=name, input=json.dumps(scenario.body(name)))
    else:
        url = stack.description["endpoints"][scenario.key].rstrip("/") + scenario.path
        status, answer = stack.request(scenario.method, url, scenario.body(name))
        if status >= 300:
            raise RuntimeError(f"{scenario.pattern}: {scenario.method} {scenario.path} answered {status}: {answer}")
    deadline = started + EXECUTION_TIMEOUT_SECONDS
    while True:
        description = stack.sfn.describe_execution(executionArn=execution_arn)
        if description["status"] in FINAL or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    seconds = time.monotonic() - started
    if description["status"] != "SUCCEEDED":
        raise RuntimeError(f"{scenario.pattern}: execution {name} ended {description['status']}: {description.get('error')}")

    # Asynchronous work (SNS / EventBridge deliveries, API answers) may still be finishing: wait until
    # nothing moves for 0.5 s.
    previous, after, still = None, before, 0
    settle_deadline = time.monotonic() + 15
    while still < 2 and time.monotonic() < settle_deadline:
        time.sleep(0.25)
        after = stack.stats()
        moving = _moving_parts(after, stack)
        still = still + 1 if moving == previous else 0
        previous = moving

    own = _difference(own_before, stack.own_aws)
    aws = _difference(_flatten(before.get("awsRequests", {})), _flatten(after.get("awsRequests", {})))
    for key in list(aws):
        aws[key] -= own.get(_own_key(key), 0)
        if aws[key] <= 0:
            del aws[key]
    http = after["httpRequests"] - before["httpRequests"] - (stack.stats_reads - reads_before)
    invoked = _difference(before["lambda"]["invocations"], after["lambda"]["invocations"])

    transitions = _transitions(stack, execution_arn, _logs_execution_data(stack, sm_arn))
    lambda_log_bytes = sum(_difference(before["lambda"].get("logBytes", {}), after["lambda"].get("logBytes", {})).values())
    access_log_bytes = http * (len(access_log_line(f"{scenario.method} {scenario.path}").encode()) if http else 0)
    dynamodb_actions = {k.split(".", 1)[1]: n for k, n in aws.items() if k.startswith("dynamodb.")}
    return {
        "execution": name,
        "seconds": round(seconds, 3),
        "transitions": transitions["total"],
        "childTransitions": transitions["children"],
        "childExecutions": transitions["childExecutions"],
        "states": transitions["states"],
        "lambda": {
            "invocations": sum(invoked.values()),
            "functions": {
                fn: {"invocations": n, **functions.get(fn, {"memoryMb": 128, "architecture": "arm64", "handler": "?"})}
                for fn, n in sorted(invoked.items())
            },
        },
        "dynamodb": {**dynamodb_units(dynamodb_actions), "byAction": dynamodb_actions},
        # SNS uses the query protocol (no action header): every SNS request in a window is a Publish here
        # (the patterns make no other SNS call at run time).
        "sns": sum(n for k, n in aws.items() if k.startswith("sns.")),
        "sqs": sum(n for k, n in aws.items() if k.startswith("sqs.")),
        "eventbridge": sum(n for k, n in aws.items() if k == "events.PutEvents"),
        "httpApi": http,
        "restApi": 0,
        "logBytes": lambda_log_bytes + transitions["logBytes"] + access_log_bytes,
        "logs": {"lambda": lambda_log_bytes, "stateMachine": transitions["logBytes"], "apiAccess": access_log_bytes},
        # Synchronous Express children (aws-sdk:sfn:startSyncExecution): requests and billed GB-s.
        "express": {
            "requests": len(transitions["expressMilliseconds"]),
            "gbSeconds": express_gb_seconds(transitions["expressMilliseconds"], load_prices()),
            "milliseconds": transitions["expressMilliseconds"],
        },
        "awsRequests": aws,
    }


def _logs_execution_data(stack: LocalStack, sm_arn: str) -> bool:
    """Whether the state machine logs execution data (its logging configuration)."""
    logging = stack.sfn.describe_state_machine(stateMachineArn=sm_arn).get("loggingConfiguration") or {}
    return bool(logging.get("includeExecutionData"))


def _transitions(stack: LocalStack, execution_arn: str, include_data: bool = False) -> dict[str, Any]:
    """Transitions and state machine log bytes of an execution and of every child execution it started (recursively)."""
    total, children_total, child_count, log_bytes = 0, 0, 0, 0
    express_ms: list[float] = []
    states: dict[str, int] = {}
    pending, top = [execution_arn], True
    while pending:
        arn = pending.pop()
        events = _history(stack, arn)
        counted = count_transitions(events)
        log_bytes += state_machine_log_bytes(events, arn, include_data)
        billed = counted["entered"] + counted["retries"]
        total += billed
        if not top:
            children_total += billed
            child_count += 1
        prefix = "" if top else "child "
        for state, n in counted["states"].items():
            states[prefix + state] = states.get(prefix + state, 0) + n
        pending.extend(counted["children"])
        express_ms += counted["expressMilliseconds"]
        top = False
    return {"total": total, "children": children_total, "childExecutions": child_count, "states": states, "logBytes": log_bytes,
            "expressMilliseconds": express_ms}


def _history(stack: LocalStack, execution_arn: str) -> list[dict[str, Any]]:
    # A child may still be closing its history when the parent has ended; read until it has ended too.
    for _ in range(50):
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = stack.sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        if events and events[-1]["type"].startswith("Execution") and not events[-1]["type"].endswith("Started"):
            return events
        time.sleep(0.1)
    return events


def deployed_functions(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """Every Lambda of the running stack: name -> handler module, memory, architecture."""
    client = stack.client("lambda")
    functions: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            functions[fn["FunctionName"]] = {
                "handler": fn["Handler"].rsplit(".", 1)[0],
                "memoryMb": fn.get("MemorySize", 128),
                "architecture": (fn.get("Architectures") or ["x86_64"])[0],
            }
    return functions


def average(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-execution figures over ``runs`` (the mean; the counts are identical run to run on the happy path)."""
    n = len(runs)

    def mean(values: list[float]) -> float:
        value = sum(values) / n
        return int(value) if value == int(value) else round(value, 3)

    functions: dict[str, dict[str, Any]] = {}
    for run in runs:
        for fn, spec in run["lambda"]["functions"].items():
            entry = functions.setdefault(fn, {**spec, "invocations": 0})
            entry["invocations"] += spec["invocations"]
    for entry in functions.values():
        entry["invocations"] = mean([entry["invocations"]])
    actions: dict[str, int] = {}
    for run in runs:
        for action, count in run["dynamodb"]["byAction"].items():
            actions[action] = actions.get(action, 0) + count
    keys = ("transitions", "childTransitions", "childExecutions", "sns", "sqs", "eventbridge", "httpApi", "restApi", "logBytes")
    result = {k: mean([r[k] for r in runs]) for k in keys}
    result["lambda"] = {"invocations": mean([r["lambda"]["invocations"] for r in runs]), "functions": functions}
    result["dynamodb"] = {
        "reads": mean([r["dynamodb"]["reads"] for r in runs]),
        "writes": mean([r["dynamodb"]["writes"] for r in runs]),
        "byAction": {a: mean([c]) for a, c in sorted(actions.items())},
    }
    result["logs"] = {part: mean([r["logs"][part] for r in runs]) for part in runs[0]["logs"]}
    result["express"] = {
        "requests": mean([r.get("express", {}).get("requests", 0) for r in runs]),
        "gbSeconds": mean([r.get("express", {}).get("gbSeconds", 0.0) for r in runs]),
    }
    result["states"] = runs[0]["states"]
    result["seconds"] = {"min": min(r["seconds"] for r in runs), "max": max(r["seconds"] for r in runs)}
    result["varies"] = sorted(
        k for k in ("transitions", "sns", "sqs", "eventbridge", "httpApi")
        if len({r[k] for r in runs}) > 1
    ) + (["lambda"] if len({r["lambda"]["invocations"] for r in runs}) > 1 else [])
    result["awsRequests"] = runs[0]["awsRequests"]
    return result


def measure_patterns(patterns: list[str], runs: int, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Start the local stack, run every pattern ``runs`` times, stop it; per-pattern figures and raw runs."""
    stack = LocalStack().start()
    log(f"local stack up in {stack.startup_seconds:.1f} s")
    try:
        functions = deployed_functions(stack)
        results: dict[str, Any] = {}
        for pattern in patterns:
            scenario = SCENARIOS[pattern]
            measured = [run_once(stack, scenario, functions, i) for i in range(runs)]
            log(f"{pattern}: {runs} run(s), {measured[0]['transitions']} transitions, "
                f"{measured[0]['lambda']['invocations']} Lambda invocations")
            results[pattern] = {"scenario": scenario.description, "perExecution": average(measured), "runs": measured}
        cloudwatch = stack.client("cloudwatch")
        alarms = [a for page in cloudwatch.get_paginator("describe_alarms").paginate() for a in page["MetricAlarms"]]
        dashboards = len(cloudwatch.list_dashboards().get("DashboardEntries", []))
        return {"startupSeconds": round(stack.startup_seconds, 2), "config": stack.config, "patterns": results,
                "alarms": alarms, "dashboards": dashboards}
    finally:
        stack.stop()
