"""The whole demo stack (__main__.py) under Pulumi mocks: outputs, parenting and stack-wide rules."""

from __future__ import annotations

import json

import pytest

from local.program import FakeCloud, ProgramRun, run_program
from tests.unit.helpers import build


@pytest.fixture(scope="module")
def program() -> ProgramRun:
    return run_program(FakeCloud())


def test_endpoints_output_maps_each_pattern_to_its_api_url(program: ProgramRun) -> None:
    endpoints = program.outputs["endpoints"]
    assert {"chain", "composite"} <= set(endpoints)
    api_urls = {api.state["apiEndpoint"] for api in program.of_type("aws:apigatewayv2/api:Api")}
    for url in endpoints.values():
        assert url in api_urls


def test_state_machine_arns_are_exported(program: ProgramRun) -> None:
    arns = {sm.state["arn"] for sm in program.of_type("aws:sfn/stateMachine:StateMachine")}
    assert set(program.outputs["stateMachines"].values()) <= arns
    assert {"chain", "composite"} <= set(program.outputs["stateMachines"])


def test_every_cloud_resource_belongs_to_a_component(program: ProgramRun) -> None:
    for resource in program.resources:
        if resource.custom:
            assert resource.parent_types and resource.parent_types[-1].startswith("sfn-patterns:"), resource.name


def test_no_policy_allows_a_wildcard_action(program: ProgramRun) -> None:
    for policy in program.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            assert statement["Effect"] == "Allow"
            assert not any("*" in action for action in statement["Action"]), policy.name


def test_log_groups_keep_logs_for_the_configured_days(program: ProgramRun) -> None:
    groups = program.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert groups and all(g.inputs["retentionInDays"] == 14 for g in groups)


def test_config_knobs_reach_the_resources() -> None:
    run = run_program(
        FakeCloud(),
        config={
            "sfn-patterns:logRetentionDays": "30",
            "sfn-patterns:apiThrottleRate": "7",
            "sfn-patterns:apiThrottleBurst": "9",
            "sfn-patterns:apiAuthorization": "AWS_IAM",
        },
    )
    assert all(g.inputs["retentionInDays"] == 30 for g in run.of_type("aws:cloudwatch/logGroup:LogGroup"))
    for stage in run.of_type("aws:apigatewayv2/stage:Stage"):
        assert stage.inputs["defaultRouteSettings"] == {"throttlingRateLimit": 7, "throttlingBurstLimit": 9}
    workflow_posts = [r for r in run.of_type("aws:apigatewayv2/route:Route") if r.inputs["routeKey"] == "POST /workflow"]
    assert len(workflow_posts) == 2 and all(r.inputs["authorizationType"] == "AWS_IAM" for r in workflow_posts)


def test_idempotent_api_grants_only_start_and_describe() -> None:
    from sfn_patterns.patterns.idempotent_api import IdempotentApi
    from tests.unit.helpers import policy_statements

    sm = "arn:aws:states:us-east-1:123456789012:stateMachine:wf"
    run = build(lambda: IdempotentApi("api", {"state_machine_arn": sm}))
    fn = run.named_of("aws:lambda/function:Function", "api-handler")
    assert fn.inputs["environment"] == {"variables": {"STATE_MACHINE_ARN": sm}}
    assert fn.parent_types == ["sfn-patterns:index:HandlerFunction"]
    statements = policy_statements(run, "api-handler-policy")
    assert {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [sm]} in statements
    assert {"Effect": "Allow", "Action": ["states:DescribeExecution"],
            "Resource": ["arn:aws:states:us-east-1:123456789012:execution:wf:*"]} in statements
    routes = {r.inputs["routeKey"]: r.inputs["authorizationType"] for r in run.of_type("aws:apigatewayv2/route:Route")}
    assert routes == {"POST /workflow": "AWS_IAM", "GET /workflow/{name}": "AWS_IAM"}  # secure by default, GET too


def test_every_callback_wait_retries_aws_failures_and_ends_through_a_catch(program: ProgramRun) -> None:
    from sfn_patterns.blocks.state_machine import iter_states

    waits = []
    for machine in program.of_type("aws:sfn/stateMachine:StateMachine"):
        for path, state in iter_states(json.loads(machine.inputs["definition"])):
            if state.get("Type") == "Task" and state["Resource"].endswith(".waitForTaskToken"):
                waits.append(path)
                retried = {e for rule in state.get("Retry", []) for e in rule["ErrorEquals"]}
                # A failing table/topic costs a retry: raised by a register Lambda, or DynamoDB's own errors.
                assert retried & {"AwsServiceUnavailable", "DynamoDb.ProvisionedThroughputExceededException"}, path
                # ... but never a wildcard: it would also retry the error a SendTaskFailure delivers.
                assert not retried & {"States.ALL", "States.TaskFailed"}, path
                assert 0 < state["TimeoutSeconds"], path  # never a silent hang
                caught = {e for rule in state.get("Catch", []) for e in rule["ErrorEquals"]}
                assert {"States.Timeout", "States.HeartbeatTimeout"} <= caught, path
    assert len(waits) == 3  # callback, monitored, pausable


def test_http_api_handlers_get_256_mb_and_every_other_handler_128(program: ProgramRun) -> None:
    memory = {f.inputs["handler"].split(".")[0]: f.inputs["memorySize"] for f in program.of_type("aws:lambda/function:Function")}
    api = {"idempotent_api", "callback_api", "monitor_api", "pausable_api"}
    assert {m: memory[m] for m in api} == dict.fromkeys(api, 256)  # a caller waits on their cold start
    assert {m: size for m, size in memory.items() if m not in api} == dict.fromkeys(set(memory) - api, 128)
    assert len(memory) >= 12


def test_the_benchmark_stack_is_the_demo_stack_plus_its_variants(program: ProgramRun) -> None:
    from pathlib import Path

    bench = run_program(FakeCloud(), Path(__file__).resolve().parents[2] / "bench" / "stack.py")
    assert set(bench.outputs["endpoints"]) == set(program.outputs["endpoints"]) | {"pausable-lean"}
    assert set(bench.outputs["stateMachines"]) == set(program.outputs["stateMachines"]) | {"pausable-lean"}
    demo = {(r.type, r.name) for r in program.resources}
    extra = {(r.type, r.name) for r in bench.resources} - demo
    assert demo <= {(r.type, r.name) for r in bench.resources}  # the demo stack, unchanged
    assert all(name.startswith("pausable-lean") for _, name in extra)
    assert not any(name.startswith(("pausable-lean-preprocess", "pausable-lean-postprocess")) for _, name in extra)
