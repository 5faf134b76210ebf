"""Helpers for unit tests under Pulumi mocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

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
