"""The demo program (``__main__.py``) run under Pulumi mocks for the policy suite, with its suppressions.

Run once per configuration and cached: the policy tests are parametrized at collection time over
every (rule, resource) pair, so a failure names both.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

from components import policy
from local.program import FakeCloud, run_program
from tests.policy.rules import Graph

#: The production configuration: the components' default authorization (the dev stack opens the
#: start routes for curl; see test_dev_config_relaxes_exactly_the_start_routes).
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


def check_program(config: Optional[dict[str, str]] = None) -> CheckedProgram:
    """Run ``__main__.py`` (dev stack config plus ``config``) under mocks; its graph and suppressions."""
    policy.clear()
    run = run_program(FakeCloud(), config=dict(config or {}))
    return CheckedProgram(Graph(run), tuple(policy.suppressions()))


@functools.lru_cache(maxsize=None)
def production() -> CheckedProgram:
    """The program as configured for production (``apiAuthorization=AWS_IAM``)."""
    return check_program(PRODUCTION_CONFIG)


@functools.lru_cache(maxsize=None)
def dev() -> CheckedProgram:
    """The program exactly as ``Pulumi.dev.yaml`` configures it."""
    return check_program()
