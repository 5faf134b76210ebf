"""Checkov over every resource of the demo program (as configured for production).

The resources the policy suite collects under mocks are rendered into a Terraform plan
(tests/policy/terraform.py) and checked by Checkov's ``terraform_plan`` framework in one run. Every
failing check must be suppressed beside the resource, with its reason
(``sfn_patterns.blocks.policy.suppress(resource, "CKV_...", reason)``), and every such suppression
must name a check that really fails (no stale excuse). Deliberately broken copies of a queue and a
Lambda (tests/policy/program.py ``CANARIES``) must fail the right checks.
"""

from __future__ import annotations

import pytest

from tests.policy.program import CANARIES, checkov_results, production
from tests.policy.terraform import address, plan

PROGRAM = production()
BY_ADDRESS = {address(r): r for r in PROGRAM.graph.resources if r.custom}


@pytest.fixture(scope="module")
def results():
    return checkov_results()


def _program_results(results):
    return [r for r in results if r.address in BY_ADDRESS]


def test_every_resource_gets_a_terraform_type_checkov_knows(results) -> None:
    # A resource Checkov ran no check on is a resource it did not recognise (a wrong type mapping)
    # or a type it has no check for: the latter are listed here, with why nothing is lost.
    checked = {r.address for r in results}
    unchecked = sorted({BY_ADDRESS[a].type for a in set(BY_ADDRESS) - checked})
    assert unchecked == sorted({
        "aws:apigatewayv2/integration:Integration",  # LAMBDA-TIMEOUT checks it against its Lambda
        "aws:cloudwatch/dashboard:Dashboard",  # graphs of metrics only: it holds no data and grants nothing
        "aws:cloudwatch/eventBus:EventBus",  # no resource policy: only this account can put events
        "aws:cloudwatch/eventRule:EventRule",  # EVENTS-TARGET-* check its targets
        "aws:cloudwatch/eventTarget:EventTarget",  # EVENTS-TARGET-RETRY / -DLQ
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",  # LAMBDA-ASYNC-DLQ
        "aws:sns/topicSubscription:TopicSubscription",  # SNS-SUBSCRIPTION-DLQ
    } & {r.type for r in PROGRAM.graph.resources}), unchecked


def test_every_failing_check_is_suppressed_beside_its_resource(results) -> None:
    unexplained = sorted(
        f"{r.check_id} ({r.check_name}) fails for {r.address}"
        for r in _program_results(results)
        if not r.passed and PROGRAM.suppression(r.check_id, BY_ADDRESS[r.address].type, BY_ADDRESS[r.address].name) is None
    )
    assert not unexplained, "\n".join(unexplained)


def test_every_checkov_suppression_names_a_check_that_fails(results) -> None:
    failing = {(r.check_id, BY_ADDRESS[r.address].type, BY_ADDRESS[r.address].name) for r in _program_results(results) if not r.passed}
    stale = [s for s in PROGRAM.suppressions if s.rule_id.startswith("CKV") and (s.rule_id, s.resource_type, s.resource_name) not in failing]
    assert not stale, stale
    assert all(len(s.reason) > 40 for s in PROGRAM.suppressions if s.rule_id.startswith("CKV"))


@pytest.mark.parametrize("canary", sorted(CANARIES))
def test_a_deliberately_broken_resource_fails_the_right_check(results, canary: str) -> None:
    type_token, _, check_id = CANARIES[canary]
    from tests.policy.terraform import terraform_type

    canary_address = f"{terraform_type(type_token)}.{canary}"
    outcome = {r.check_id: r.passed for r in results if r.address == canary_address}
    assert outcome.get(check_id) is False, outcome
    # ... while every real resource of that type passes it.
    real = [r for r in _program_results(results) if r.check_id == check_id]
    assert real and all(r.passed for r in real), real


def test_the_plan_renders_blocks_as_terraform_does() -> None:
    rendered = {r["address"]: r["values"] for r in plan(PROGRAM.graph.resources)["planned_values"]["root_module"]["resources"]}
    function = next(v for a, v in rendered.items() if a.startswith("aws_lambda_function."))
    assert function["tracing_config"] == [{"mode": "Active"}]
    assert isinstance(function["memory_size"], int)
    table = next(v for a, v in rendered.items() if a.startswith("aws_dynamodb_table."))
    assert table["server_side_encryption"] == [{"enabled": True}] and table["attribute"][0]["type"] == "S"
