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
