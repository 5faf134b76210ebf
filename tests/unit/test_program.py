"""The whole demo stack (__main__.py) under Pulumi mocks: outputs, parenting and stack-wide rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.program import FakeCloud, ProgramRun, run_program
from tests.unit.helpers import actions, build, policy_statements


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


def test_idempotent_api_grants_only_start_describe_operations_and_its_claims() -> None:
    from sfn_patterns.patterns.idempotent_api import IdempotentApi
    from tests.unit.helpers import policy_statements

    sm = "arn:aws:states:us-east-1:123456789012:stateMachine:wf"
    run = build(lambda: IdempotentApi("api", {"state_machine_arn": sm}))
    fn = run.named_of("aws:lambda/function:Function", "api-handler")
    claims = run.named_of("aws:dynamodb/table:Table", "api-claims")
    assert fn.inputs["environment"] == {"variables": {"STATE_MACHINE_ARN": sm, "TABLE_NAME": claims.state["name"]}}
    assert claims.inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}
    assert fn.parent_types == ["sfn-patterns:index:HandlerFunction"]
    statements = policy_statements(run, "api-handler-policy")
    assert {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [sm]} in statements
    assert {"Effect": "Allow", "Action": ["states:DescribeExecution"],
            "Resource": ["arn:aws:states:us-east-1:123456789012:execution:wf:*"]} in statements
    assert {"Effect": "Allow", "Action": ["states:ListExecutions"], "Resource": [sm]} in statements
    assert {"Effect": "Allow", "Action": ["states:RedriveExecution", "states:StopExecution"],
            "Resource": ["arn:aws:states:us-east-1:123456789012:execution:wf:*"]} in statements
    assert {a for a in actions(statements) if a.startswith("states:")} == {
        "states:StartExecution", "states:DescribeExecution", "states:ListExecutions", "states:StopExecution",
        "states:RedriveExecution",
    }
    assert {"Effect": "Allow", "Action": ["dynamodb:DeleteItem", "dynamodb:PutItem"],
            "Resource": [claims.state["arn"]]} in statements
    routes = {r.inputs["routeKey"]: r.inputs["authorizationType"] for r in run.of_type("aws:apigatewayv2/route:Route")}
    assert routes == {  # secure by default, GET too
        "POST /workflow": "AWS_IAM", "GET /workflow/{name}": "AWS_IAM",
        "GET /workflow": "AWS_IAM", "DELETE /workflow/{name}": "AWS_IAM", "POST /workflow/{name}/redrive": "AWS_IAM",
    }


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
    variants = {"pausable-lean", "composite-express"}
    assert set(bench.outputs["endpoints"]) == set(program.outputs["endpoints"]) | variants
    assert set(bench.outputs["stateMachines"]) == set(program.outputs["stateMachines"]) | variants
    demo = {(r.type, r.name) for r in program.resources}
    extra = {(r.type, r.name) for r in bench.resources} - demo
    assert demo <= {(r.type, r.name) for r in bench.resources}  # the demo stack, unchanged
    assert all(name.startswith(("pausable-lean", "chain-express", "composite-express")) for _, name in extra)
    assert not any(name.startswith(("pausable-lean-preprocess", "pausable-lean-postprocess")) for _, name in extra)


def _rules(choice_rules: list) -> list:
    """Every rule of a Choice state, nested And/Or/Not included, each with its enclosing And's siblings."""
    found = []

    def walk(rule: dict, guards: list) -> None:
        for key in ("And", "Or"):
            for inner in rule.get(key, []):
                walk(inner, guards + (rule["And"] if key == "And" else []))
        if "Not" in rule:
            walk(rule["Not"], guards)
        if "Variable" in rule:
            found.append((rule, guards))

    for rule in choice_rules:
        walk(rule, [])
    return found


def test_every_choice_rule_on_a_path_guards_with_is_present(program: ProgramRun) -> None:
    # On AWS, a comparison on a path the input lacks fails the execution (States.Runtime) rather
    # than not matching: every rule on a Variable is IsPresent itself, or sits in an And beside an
    # IsPresent of that Variable.
    from sfn_patterns.blocks.state_machine import iter_states

    from sfn_patterns.patterns.workflow import load_definition
    from tests.unit.helpers import DEMO_HANDLERS, DEMO_WORKFLOWS

    definitions = [json.loads(m.inputs["definition"]) for m in program.of_type("aws:sfn/stateMachine:StateMachine")]
    definitions += [load_definition(path, DEMO_HANDLERS)[0] for path in sorted(Path(DEMO_WORKFLOWS).glob("*.yaml"))]
    checked = 0
    for definition in definitions:
        for path, state in iter_states(definition):
            if state.get("Type") != "Choice" or state.get("QueryLanguage") == "JSONata":
                continue
            for rule, guards in _rules(state["Choices"]):
                checked += 1
                if "IsPresent" in rule:
                    continue
                assert any(g.get("Variable") == rule["Variable"] and g.get("IsPresent") is True for g in guards), (path, rule)
    assert checked >= 2  # the monitored work's HasPayload (its IsPresent and its IsString)


def test_retries_name_only_errors_step_functions_reports_and_never_a_catch_all(program: ProgramRun) -> None:
    # An SDK integration's error is <Service>.<Name>Exception (Step Functions adds the suffix even
    # where the service's code has none); a catch-all also matches permanent errors.
    from sfn_patterns.blocks.state_machine import SDK_CATCH_ALL_ERRORS, iter_states

    names = set()
    for machine in program.of_type("aws:sfn/stateMachine:StateMachine"):
        for path, state in iter_states(json.loads(machine.inputs["definition"])):
            for rule in state.get("Retry", []):
                for name in rule["ErrorEquals"]:
                    names.add(name)
                    assert name not in SDK_CATCH_ALL_ERRORS and name not in ("States.ALL", "States.TaskFailed"), (path, name)
                    service, dot, error = name.partition(".")
                    if dot and service != "States" and name != "EventBridge.FailedEntry":
                        assert error.endswith("Exception"), (path, name)
    assert "StepFunctions.ExecutionLimitExceededException" in names and "DynamoDb.ThrottlingException" in names
