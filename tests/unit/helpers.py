"""Helpers for unit tests under Pulumi mocks."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import boto3

from local.program import FakeCloud, ProgramRun, run_inline

ROOT = Path(__file__).resolve().parents[2]
#: The demo's own handler modules and workflow files, which the tests pass as a user passes theirs.
DEMO_HANDLERS = str(ROOT / "handlers" / "demo")
DEMO_WORKFLOWS = str(ROOT / "workflows")
#: The demo's PausableWorkflow steps (in :data:`DEMO_HANDLERS`).
DEMO_PAUSABLE_STEPS: dict[str, Any] = {
    "handlers_dir": DEMO_HANDLERS,
    "preprocess": {"handler": "pausable_preprocess"},
    "async_service": {"handler": "pausable_async_service"},
    "postprocess": {"handler": "pausable_postprocess"},
}


def build(fn: Callable[[], Any], config: dict[str, str] | None = None) -> ProgramRun:
    """Run ``fn`` as a Pulumi program under :class:`FakeCloud` and return what it declared."""
    return run_inline(FakeCloud(), fn, config=config)


#: Component types a stack has once, whichever component creates them first (at the stack's root).
STACK_LEVEL_TYPES = {"sfn-patterns:index:AlarmTopic"}


def component_resources(run: ProgramRun) -> list:
    """The declared resources but the stack-level ones (the alarm topic and what it holds)."""
    return [
        r for r in run.resources
        if r.type not in STACK_LEVEL_TYPES and not (r.parent_types and r.parent_types[-1] in STACK_LEVEL_TYPES)
    ]


def policy_statements(run: ProgramRun, policy_name: str) -> list[dict[str, Any]]:
    """The statements of the RolePolicy with logical name ``policy_name``."""
    return json.loads(run.named_of("aws:iam/rolePolicy:RolePolicy", policy_name).inputs["policy"])["Statement"]


def actions(statements: list[dict[str, Any]]) -> set[str]:
    """Every action of ``statements``."""
    found: set[str] = set()
    for statement in statements:
        value = statement["Action"]
        found.update([value] if isinstance(value, str) else value)
    return found


class InProcessAws:
    """What MotoCloud needs of the embedded AWS, answered by moto's in-process mock (inside ``mock_aws``)."""

    region = "us-east-1"

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` that moto's in-process mock answers."""
        return boto3.client(service, region_name=self.region)


def run_all(runs: dict[str, tuple[str, Any]], timeout: float = 30, interval: float = 0.02) -> dict[str, dict[str, Any]]:
    """Start every ``name: (machine ARN, input)`` at once (in-process moto); their descriptions once all have ended.

    Fails, naming the executions still running, when they have not all ended within ``timeout`` seconds.
    """
    sfn = boto3.client("stepfunctions", region_name=InProcessAws.region)
    started = {key: sfn.start_execution(stateMachineArn=arn, name=key, input=json.dumps(data))["executionArn"]
               for key, (arn, data) in runs.items()}
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(started) and time.monotonic() < deadline:
        for key, execution in started.items():
            if key not in done and (description := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING":
                done[key] = description
        time.sleep(interval)
    assert len(done) == len(started), f"still running: {sorted(set(started) - set(done))}"
    return done
