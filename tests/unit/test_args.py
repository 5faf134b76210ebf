"""Args checking (``sfn_patterns.blocks.args``) for every component and building block, and bringing your own code.

A misspelt key fails when the component is constructed, naming the key and the valid ones; nested args
(steps, routes, handler settings) are checked too. User code is read from the folders the program
gives, relative to its working directory, never from inside the library.
"""

import json
from pathlib import Path
from typing import Any, Callable, Required, Sequence, TypedDict

import pytest

import sfn_patterns

from sfn_patterns import (
    CallbackWorkflow,
    HandlerFunction,
    HttpApi,
    IdempotentApi,
    MonitoredWorkflow,
    PausableWorkflow,
    StateMachine,
    Workflow,
)
from sfn_patterns.blocks.args import ArgsError, check_args
from sfn_patterns.demo import external_service
from sfn_patterns.demo.external_service import DemoExternalService
from sfn_patterns.patterns.workflow import WorkflowDefinitionError
from tests.unit.helpers import DEMO_HANDLERS, DEMO_PAUSABLE_STEPS, DEMO_WORKFLOWS, build, policy_statements

ARN = "arn:aws:lambda:us-east-1:123456789012:function:existing"
SM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:sm"
LAMBDA = "aws:lambda/function:Function"

#: Every component and building block with args that build, and the valid keys of its args TypedDict.
COMPONENTS: dict[str, tuple[Callable[[dict[str, Any]], Any], dict[str, Any]]] = {
    "HandlerFunction": (lambda a: HandlerFunction("c", a), {"handler": "reverse", "handlers_dir": DEMO_HANDLERS}),
    "StateMachine": (lambda a: StateMachine("c", a), {"definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}}),
    "HttpApi": (lambda a: HttpApi("c", a), {"routes": [{"route_key": "GET /x", "function_arn": ARN, "function_name": "existing"}]}),
    "Workflow": (lambda a: Workflow("c", a), {"definition_file": "chain.yaml", "workflows_dir": DEMO_WORKFLOWS, "handlers_dir": DEMO_HANDLERS}),
    "IdempotentApi": (lambda a: IdempotentApi("c", a), {"state_machine_arn": SM_ARN}),
    "CallbackWorkflow": (lambda a: CallbackWorkflow("c", a), {}),
    "PausableWorkflow": (lambda a: PausableWorkflow("c", a), dict(DEMO_PAUSABLE_STEPS)),
    "MonitoredWorkflow": (lambda a: MonitoredWorkflow("c", a), {}),
    "DemoExternalService": (lambda a: DemoExternalService("c", a), {"topic_arn": "arn:aws:sns:us-east-1:123456789012:t"}),
}


def _construct(component: str, args: dict[str, Any]) -> None:
    make, _ = COMPONENTS[component]
    build(lambda: make(args))


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_the_valid_args_build(component: str) -> None:
    _construct(component, COMPONENTS[component][1])


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_a_misspelt_key_fails_at_construction_naming_it_and_the_valid_keys(component: str) -> None:
    with pytest.raises(ArgsError) as error:
        _construct(component, {**COMPONENTS[component][1], "timeout_second": 5})
    message = str(error.value)
    assert f"{component} 'c'" in message and "unknown key 'timeout_second'" in message
    args_type = getattr(sfn_patterns, f"{component}Args", None) or getattr(external_service, f"{component}Args")
    valid = sorted(args_type.__annotations__)  # inherited ones included
    assert message.endswith(f"valid keys of {component}Args: {', '.join(valid)}")


def test_inherited_keys_are_valid_and_named() -> None:
    # throttle_rate comes from ApiArgs, which CallbackWorkflowArgs extends.
    _construct("CallbackWorkflow", {"throttle_rate": 5, "log_retention_days": 7})
    with pytest.raises(ArgsError, match=r"'throttle_rat' in args \(did you mean 'throttle_rate'\?\).*throttle_burst"):
        _construct("CallbackWorkflow", {"throttle_rat": 5})


@pytest.mark.parametrize(
    ("component", "args", "where"),
    [
        ("CallbackWorkflow", {"handlers_dir": DEMO_HANDLERS, "before": [{"handler": "reverse", "timout": 3}]},
         r"unknown key 'timout' in args\['before'\]\[0\] \(did you mean 'timeout'\?\)"),
        ("PausableWorkflow", {**DEMO_PAUSABLE_STEPS, "async_service": {"handler": "pausable_async_service", "enviroment": {}}},
         r"unknown key 'enviroment' in args\['async_service'\]"),
        ("MonitoredWorkflow", {"work_step": {"function_arn": ARN, "arn": ARN}}, r"unknown key 'arn' in args\['work_step'\]"),
        ("Workflow", {**COMPONENTS["Workflow"][1], "handlers": {"reverse": {"memory": 256}}},
         r"unknown key 'memory' in args\['handlers'\]\['reverse'\]"),
        ("HttpApi", {"routes": [{"route": "GET /x", "function_arn": ARN, "function_name": "f"}]},
         r"unknown key 'route' in args\['routes'\]\[0\]"),
    ],
)
def test_nested_args_are_checked_too(component: str, args: dict[str, Any], where: str) -> None:
    with pytest.raises(ArgsError, match=where):
        _construct(component, args)


def test_args_must_be_a_mapping() -> None:
    with pytest.raises(ArgsError, match=r"args\['before'\]\[0\] must be a mapping of StepArgs keys, got str"):
        _construct("CallbackWorkflow", {"before": ["reverse"]})


class _Example(TypedDict, total=False):
    """A TypedDict with a required key (as the components mark theirs with ``Required[...]``)."""

    name: Required[str]
    """Required."""
    tags: Sequence[str]
    """Optional."""


def test_required_keys_must_be_present() -> None:
    check_args("Example 'e'", {"name": "x", "tags": ["a"]}, _Example)
    with pytest.raises(ArgsError, match=r"Example 'e': args lacks the required key\(s\) 'name' of _Example"):
        check_args("Example 'e'", {"tags": []}, _Example)


# --- Bringing your own code: folders of the program's, or existing Lambdas by ARN ---------------


def _own_project(tmp_path: Path) -> Path:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "enrich.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "mine.yaml").write_text(
        "StartAt: Enrich\nStates:\n  Enrich: {Type: Task, Resource: 'handler:enrich', Next: Existing}\n"
        "  Existing: {Type: Task, Resource: 'function:legacy', End: true}\n"
    )
    return tmp_path


def test_relative_folders_are_the_programs_not_the_librarys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_own_project(tmp_path))
    run = build(lambda: Workflow("mine", {"definition_file": "mine.yaml", "workflows_dir": "flows",
                                          "handlers_dir": "code", "functions": {"legacy": ARN}}))
    fn = run.named_of(LAMBDA, "mine-enrich")
    assert fn.inputs["handler"] == "enrich.handler"
    definition = json.loads(run.named_of("aws:sfn/stateMachine:StateMachine", "mine").inputs["definition"])
    assert definition["States"]["Existing"]["Resource"] == ARN
    invoked = [s["Resource"] for s in policy_statements(run, "mine-policy") if s["Action"] == ["lambda:InvokeFunction"]]
    assert invoked == [[fn.state["arn"], fn.state["arn"] + ":*"], [ARN, ARN + ":*"]]
    # The demo's file is not found from the user's project: nothing inside the library is assumed.
    with pytest.raises(WorkflowDefinitionError, match="chain.yaml: workflow definition file not found"):
        build(lambda: Workflow("demo", {"definition_file": "chain.yaml"}))
    with pytest.raises(WorkflowDefinitionError, match=r"unknown function reference 'function:legacy' \(given in functions: none\)"):
        build(lambda: Workflow("mine", {"definition_file": "flows/mine.yaml", "handlers_dir": "code"}))


def test_callback_steps_may_be_existing_lambdas() -> None:
    run = build(lambda: CallbackWorkflow("cb", {"before": [{"function_arn": ARN}], "after": [{"handler": "shout"}],
                                                "handlers_dir": DEMO_HANDLERS}))
    definition = json.loads(run.named_of("aws:sfn/stateMachine:StateMachine", "cb").inputs["definition"])
    assert definition["StartAt"] == "Before1" and definition["States"]["Before1"]["Resource"] == ARN
    assert definition["States"]["Before1"]["Next"] == "WaitForCallback"
    assert {f.name for f in run.of_type(LAMBDA)} == {"cb-register", "cb-api", "cb-shout"}  # none for the ARN step
    invoked = {r for s in policy_statements(run, "cb-policy") if s["Action"] == ["lambda:InvokeFunction"] for r in s["Resource"]}
    assert {ARN, ARN + ":*"} <= invoked


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ({"function_arn": ARN, "timeout": 3}, r"\['timeout'\] apply to a handler step only"),
        ({"handler": "reverse", "function_arn": ARN}, "exactly one of handler, function_arn"),
        ({"handler": "reverse"}, "before\\[0\\]: handler 'reverse' needs handlers_dir"),
    ],
)
def test_a_step_is_a_handler_or_an_existing_function(step: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        _construct("CallbackWorkflow", {"before": [step]})


def test_pausable_async_service_may_be_an_existing_lambda_and_the_steps_are_optional() -> None:
    run = build(lambda: PausableWorkflow("pz", {"async_service": {"function_arn": ARN}}))
    assert {f.name for f in run.of_type(LAMBDA)} == {"pz-pause", "pz-resume", "pz-api"}
    pause = run.named_of(LAMBDA, "pz-pause")
    assert pause.inputs["environment"]["variables"]["ASYNC_SERVICE_ARN"] == ARN
    invoke = [s for s in policy_statements(run, "pz-pause-policy") if s["Action"] == ["lambda:InvokeFunction"]]
    assert invoke == [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [ARN, ARN + ":*"]}]
    with pytest.raises(ArgsError, match="lacks the required key|async_service is required"):
        build(lambda: PausableWorkflow("pz", {}))


def test_monitored_work_may_be_an_existing_lambda() -> None:
    run = build(lambda: MonitoredWorkflow("m", {"work_step": {"function_arn": ARN}}))
    definition = json.loads(run.named_of("aws:sfn/stateMachine:StateMachine", "m").inputs["definition"])
    work = definition["States"]["MonitoredWork"]["Branches"][1]["States"]["Work"]
    assert work["Resource"] == ARN and work["Next"] == "StopWorkflowMonitoring"
    assert "m-work" not in {f.name for f in run.of_type(LAMBDA)}


def test_settings_for_a_handler_no_state_runs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"settings for handler\(s\) \['revers'\] that no state runs"):
        _construct("Workflow", {**COMPONENTS["Workflow"][1], "handlers": {"revers": {"timeout": 3}}})
