"""Every resource of the demo program (as configured for production) against every rule that applies to it.

One test case per (rule, resource) pair, named ``<RULE-ID>:<type>:<resource>``, so a failure says
which rule which resource breaks. A rule a component breaks on purpose is suppressed in the
component (``sfn_patterns.blocks.policy.suppress``) and passes here; a suppression whose rule the resource
does not break fails (a stale excuse must go).
"""

from __future__ import annotations

import pytest

from local.program import DeclaredResource
from tests.policy.program import production
from tests.policy.rules import RULES, Rule, short_type

PROGRAM = production()
CASES = [(rule, resource) for rule in RULES for resource in rule.targets(PROGRAM.graph)]


@pytest.mark.parametrize(
    ("rule", "resource"), CASES, ids=[f"{rule.id}:{short_type(res.type)}:{res.name}" for rule, res in CASES]
)
def test_resource_complies(rule: Rule, resource: DeclaredResource) -> None:
    problems = rule.check(resource, PROGRAM.graph)
    suppression = PROGRAM.suppression(rule.id, resource.type, resource.name)
    if suppression is None:
        assert not problems, (
            f"{rule.id} ({rule.rationale}) fails for {resource.type} {resource.name!r}: {'; '.join(problems)}"
        )
    else:
        assert problems, (
            f"{resource.type} {resource.name!r} is suppressed for {rule.id} but complies: remove the suppression"
        )


#: Resource types neither a project rule nor a Checkov check checks directly, with the reason (the
#: rule that covers them is checked on the resource they belong to).
CHECKED_THROUGH_OTHERS = {
    "aws:apigatewayv2/integration:Integration": "its Lambda's timeout is checked against it (LAMBDA-TIMEOUT)",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "checked as part of its function (LAMBDA-ASYNC-DLQ)",
    "aws:cloudwatch/eventRule:EventRule": "checked through its targets (EVENTS-TARGET-*) and the DLQ policies naming it",
    "aws:cloudwatch/eventBus:EventBus": "a custom bus without a resource policy: only this account can put events on it",
    "aws:cloudwatch/dashboard:Dashboard": "graphs of metrics only: it holds no data and grants nothing",
}


def test_every_declared_resource_is_checked() -> None:
    from tests.policy.program import checkov_results
    from tests.policy.terraform import address

    checked = {id(resource) for _, resource in CASES}
    by_checkov = {result.address for result in checkov_results()}
    unchecked = sorted(
        {r.type for r in PROGRAM.graph.resources if id(r) not in checked and address(r) not in by_checkov}
        - set(CHECKED_THROUGH_OTHERS)
    )
    assert not unchecked, f"resource types no rule or Checkov check checks: {unchecked}"


def test_the_program_declares_what_the_rules_look_for() -> None:
    # The graph detection finds the cases the demo stack really has (a rule with nothing to check
    # proves nothing): the four asynchronously invoked Lambdas, the three token tables.
    graph = PROGRAM.graph
    async_functions = sorted(fn.name for fn in graph.of_type("aws:lambda/function:Function") if graph.async_invokers(fn))
    assert async_functions == ["external-service-fn", "monitored-events", "pausable-async-service", "pausable-resume"]
    token_tables = sorted(graph.by_arn[arn].name for arn in graph.token_tables())
    assert token_tables == ["callback-tokens", "monitored-tokens", "pausable-pauses"]
