"""The demo program (``__main__.py``) run under Pulumi mocks for the policy suite, with its suppressions.

Run once per configuration and cached: the policy tests are parametrized at collection time over
every (rule, resource) pair, so a failure names both.
"""

from __future__ import annotations

import contextvars
import functools
from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar

import pulumi

from sfn_patterns.blocks import policy
from local.program import FakeCloud, run_program
from tests.policy.rules import Graph

#: The production configuration: the components' default authorization (Pulumi.dev.yaml keeps it;
#: see test_the_dev_config_is_the_production_config).
T = TypeVar("T")
PRODUCTION_CONFIG = {"sfn-patterns:apiAuthorization": "AWS_IAM"}


@dataclass(frozen=True)
class CheckedProgram:
    """The resource graph of one run and the suppressions its components recorded."""

    graph: Graph
    suppressions: tuple[policy.Suppression, ...]

    def suppression(self, rule_id: str, resource_type: str, resource_name: str) -> Optional[policy.Suppression]:
        """The suppression of this rule for this resource, if a component recorded one."""
        for entry in self.suppressions:
            if (entry.rule_id, entry.resource_type, entry.resource_name) == (rule_id, resource_type, resource_name):
                return entry
        return None


def isolated(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``function`` in a context of its own, with no Pulumi root stack resource.

    Pulumi keeps the root stack resource (which holds the stack outputs) in a ContextVar that
    ``set_mocks`` reuses when set: without this, the program's exports would leak into every later
    mock run of the test session (and earlier runs' root into this one).
    """

    def fresh() -> T:
        pulumi.runtime.settings.ROOT.set(None)
        return function(*args, **kwargs)

    return contextvars.copy_context().run(fresh)


def check_program(config: Optional[dict[str, str]] = None) -> CheckedProgram:
    """Run ``__main__.py`` (dev stack config plus ``config``) under mocks; its graph and suppressions."""
    policy.clear()
    run = isolated(run_program, FakeCloud(), config=dict(config or {}))
    return CheckedProgram(Graph(run), tuple(policy.suppressions()))


@functools.lru_cache(maxsize=None)
def production() -> CheckedProgram:
    """The program as configured for production (``apiAuthorization=AWS_IAM``)."""
    return check_program(PRODUCTION_CONFIG)


@functools.lru_cache(maxsize=None)
def dev() -> CheckedProgram:
    """The program exactly as ``Pulumi.dev.yaml`` configures it."""
    return check_program()


#: Deliberately broken copies of real resources, checked in the same Checkov run: each must fail the
#: named check (so a green run means the checks ran on our resources), and is no part of the program.
CANARIES = {
    "canary-queue-without-encryption": ("aws:sqs/queue:Queue", ("sqsManagedSseEnabled", "kmsMasterKeyId"), "CKV_AWS_27"),
    "canary-lambda-without-tracing": ("aws:lambda/function:Function", ("tracingConfig",), "CKV_AWS_50"),
}


#: A deliberately broken pair that only a check relating two resources can catch: a copy of a stage
#: whose API (a copy too, the stage's ``apiId`` set from it) is a WEBSOCKET API, which CKV2_AWS_51
#: requires a client certificate of. It fails only when the plan links the stage to its API
#: (tests/policy/terraform.py ``configuration``); each real stage, of an HTTP API, passes.
LINKED_CANARY = ("canary-stage-of-a-websocket-api", "aws:apigatewayv2/stage:Stage", "CKV2_AWS_51")


def canaries(graph: Graph) -> list[Any]:
    """The :data:`CANARIES`: the first resource of each type, renamed, without the inputs that make it
    comply; and the :data:`LINKED_CANARY` stage with its WEBSOCKET API."""
    import dataclasses

    made = []
    for name, (type_token, dropped, _check) in CANARIES.items():
        original = graph.of_type(type_token)[0]
        inputs = {k: v for k, v in original.inputs.items() if k not in dropped}
        state = {k: v for k, v in original.state.items() if k not in dropped}
        made.append(dataclasses.replace(original, name=name, inputs=inputs, state=state))
    stage_name, stage_type, _check = LINKED_CANARY
    stage = graph.of_type(stage_type)[0]
    api = next(r for r in graph.resources if r.urn in stage.dependencies["apiId"])
    websocket = {"protocolType": "WEBSOCKET"}
    api_copy = dataclasses.replace(api, name="canary-websocket-api", urn=f"{api.urn}-canary",
                                   inputs={**api.inputs, **websocket}, state={**api.state, **websocket})
    made += [api_copy, dataclasses.replace(stage, name=stage_name, urn=f"{stage.urn}-canary",
                                           dependencies={**stage.dependencies, "apiId": [api_copy.urn]})]
    return made


@functools.lru_cache(maxsize=None)
def checkov_results() -> tuple[Any, ...]:
    """Checkov's results on the production program plus the :data:`CANARIES` (one run, cached)."""
    import tempfile
    from pathlib import Path

    from tests.policy import checkov, terraform

    program = production()
    with tempfile.TemporaryDirectory(prefix="checkov-") as folder:
        plan = terraform.write_plan(list(program.graph.resources) + canaries(program.graph), Path(folder) / "plan.json")
        return tuple(checkov.run(plan))
