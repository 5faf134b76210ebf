"""The suppressions the components record, and what the dev stack's configuration relaxes."""

from __future__ import annotations

from tests.policy.program import dev, production
from tests.policy.rules import RULES, rule_by_id

ROUTE = "aws:apigatewayv2/route:Route"

#: Every rule a resource of the demo program breaks on purpose (the reasons live in the components).
EXPECTED_SUPPRESSIONS = {
    ("API-ROUTE-AUTH", ROUTE, "callback-api-put-tasks-taskid"),
    ("API-ROUTE-AUTH", ROUTE, "callback-api-post-tasks-taskid-heartbeat"),
    ("IAM-NO-WILDCARD-ACTION", "aws:kms/key:Key", "stack-alarms-key"),
}



def _failures(program) -> set[tuple[str, str, str]]:
    return {
        (rule.id, resource.type, resource.name)
        for rule in RULES
        for resource in rule.targets(program.graph)
        if rule.check(resource, program.graph)
    }


def test_the_suppressions_are_exactly_the_expected_ones() -> None:
    recorded = {(s.rule_id, s.resource_type, s.resource_name) for s in production().suppressions}
    assert recorded == EXPECTED_SUPPRESSIONS
    for suppression in production().suppressions:
        print(f"{suppression.rule_id} {suppression.resource_type} {suppression.resource_name}: {suppression.reason}")


def test_each_suppression_names_a_rule_and_a_resource_that_breaks_it_with_a_reason() -> None:
    program = production()
    for suppression in program.suppressions:
        rule = rule_by_id(suppression.rule_id)
        resource = next(
            r for r in program.graph.resources
            if (r.type, r.name) == (suppression.resource_type, suppression.resource_name)
        )
        assert rule.check(resource, program.graph), suppression
        assert len(suppression.reason) > 40, suppression


def test_production_config_breaks_only_what_is_suppressed() -> None:
    assert _failures(production()) == EXPECTED_SUPPRESSIONS


def test_the_dev_config_is_the_production_config() -> None:
    # Pulumi.dev.yaml opens nothing: the demo is tried with signed requests (curl --aws-sigv4).
    assert _failures(dev()) == _failures(production()) == EXPECTED_SUPPRESSIONS
