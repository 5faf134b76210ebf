"""The suppressions of the project's own rules the components record, and that the dev stack's
configuration relaxes nothing (Checkov's suppressions: tests/policy/test_checkov.py)."""

from __future__ import annotations

from tests.policy.program import dev, production
from tests.policy.rules import RULES, rule_by_id


#: Every project rule a resource of the demo program breaks on purpose (the reasons live in the components).
EXPECTED_SUPPRESSIONS = {
    ("IAM-NO-WILDCARD-ACTION", "aws:kms/key:Key", "stack-alarms-key"),
}


def _project_suppressions(program) -> list:
    return [s for s in program.suppressions if not s.rule_id.startswith("CKV")]



def _failures(program) -> set[tuple[str, str, str]]:
    return {
        (rule.id, resource.type, resource.name)
        for rule in RULES
        for resource in rule.targets(program.graph)
        if rule.check(resource, program.graph)
    }


def test_the_suppressions_are_exactly_the_expected_ones() -> None:
    recorded = {(s.rule_id, s.resource_type, s.resource_name) for s in _project_suppressions(production())}
    assert recorded == EXPECTED_SUPPRESSIONS
    for suppression in _project_suppressions(production()):
        print(f"{suppression.rule_id} {suppression.resource_type} {suppression.resource_name}: {suppression.reason}")


def test_each_suppression_names_a_rule_and_a_resource_that_breaks_it_with_a_reason() -> None:
    program = production()
    for suppression in _project_suppressions(program):
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
