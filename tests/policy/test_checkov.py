"""Checkov over every resource of the demo program (as configured for production).

The resources the policy suite collects under mocks are rendered into a Terraform plan
(tests/policy/terraform.py) and checked by Checkov's ``terraform_plan`` framework in one run. Every
failing check must be suppressed beside the resource, with its reason
(``sfn_patterns.blocks.policy.suppress(resource, "CKV_...", reason)``), and every such suppression
must name a check that really fails (no stale excuse). Deliberately broken copies of a queue and a
Lambda (tests/policy/program.py ``CANARIES``) must fail the right checks, and so must a stage whose
API is a WEBSOCKET one (``LINKED_CANARY``), which Checkov can only see when the plan's
``configuration`` links the two.
"""

from __future__ import annotations

import pytest

from tests.policy.program import CANARIES, LINKED_CANARY, checkov_results, production
from tests.policy.terraform import address, plan, terraform_type

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


def test_a_check_relating_two_resources_sees_them_linked(results) -> None:
    # The stage passes CKV2_AWS_51 unless Checkov connects it to its (WEBSOCKET) API.
    name, type_token, check_id = LINKED_CANARY
    outcome = {r.check_id: r.passed for r in results if r.address == f"{terraform_type(type_token)}.{name}"}
    assert outcome.get(check_id) is False, outcome
    real = [r for r in _program_results(results) if r.check_id == check_id]
    assert real and all(r.passed for r in real), real


def test_the_configuration_references_the_resources_an_argument_comes_from() -> None:
    document = plan(PROGRAM.graph.resources)
    planned = {r["address"]: r["values"] for r in document["planned_values"]["root_module"]["resources"]}
    configured = {r["address"]: r["expressions"] for r in document["configuration"]["root_module"]["resources"]}
    unknown = {r["address"]: r["change"]["after_unknown"] for r in document["resource_changes"]}
    function = next(r for r in PROGRAM.graph.resources if r.type == "aws:lambda/function:Function")
    role = next(r for r in PROGRAM.graph.resources if r.type == "aws:iam/role:Role" and r.state["arn"] == function.inputs["role"])
    at = address(function)
    # An argument set from another resource's attribute is that reference, unknown until apply.
    assert configured[at]["role"] == {"references": [f"{address(role)}.arn", address(role)]}
    assert "role" not in planned[at] and unknown[at]["role"] is True
    assert configured[at]["memory_size"] == {"constant_value": function.inputs["memorySize"]}
    # A document that names other resources keeps its value (Checkov reads it) and lists them.
    policy = next(r for r in PROGRAM.graph.resources if r.type == "aws:sqs/queuePolicy:QueuePolicy")
    queue = next(r for r in PROGRAM.graph.resources if r.type == "aws:sqs/queue:Queue" and r.state["url"] == policy.inputs["queueUrl"])
    assert planned[address(policy)]["policy"] == policy.inputs["policy"]
    assert f"{address(queue)}.arn" in configured[address(policy)]["policy"]["references"]
    assert configured[address(policy)]["queue_url"] == {"references": [f"{address(queue)}.id", address(queue)]}


def test_the_plan_renders_blocks_as_terraform_does() -> None:
    rendered = {r["address"]: r["values"] for r in plan(PROGRAM.graph.resources)["planned_values"]["root_module"]["resources"]}
    function = next(v for a, v in rendered.items() if a.startswith("aws_lambda_function."))
    assert function["tracing_config"] == [{"mode": "Active"}]
    assert isinstance(function["memory_size"], int)
    table = next(v for a, v in rendered.items() if a.startswith("aws_dynamodb_table."))
    assert table["server_side_encryption"] == [{"enabled": True}] and table["attribute"][0]["type"] == "S"
