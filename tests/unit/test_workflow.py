"""Workflow: definitions from YAML with handler:/workflow: references, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sfn_patterns.patterns.workflow import Workflow, WorkflowDefinitionError, load_definition
from tests.unit.helpers import DEMO_HANDLERS, DEMO_WORKFLOWS, actions, build, policy_statements

DEMO = {"handlers_dir": DEMO_HANDLERS, "workflows_dir": DEMO_WORKFLOWS}

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


def test_chain_builds_one_lambda_per_handler_and_derives_the_role() -> None:
    run = build(lambda: Workflow("chain", {"definition_file": "chain.yaml", **DEMO}))
    functions = {f.name: f for f in run.of_type("aws:lambda/function:Function")}
    assert set(functions) == {"chain-reverse", "chain-shout"}
    assert functions["chain-reverse"].inputs["handler"] == "reverse.handler"
    sm = run.named_of("aws:sfn/stateMachine:StateMachine", "chain")
    definition = json.loads(sm.inputs["definition"])
    reverse_arn = functions["chain-reverse"].state["arn"]
    shout_arn = functions["chain-shout"].state["arn"]
    assert definition["States"]["Reverse"]["Resource"] == reverse_arn
    assert definition["States"]["Shout"]["Resource"] == shout_arn
    for state in definition["States"].values():
        assert state["Retry"][0]["ErrorEquals"] == LAMBDA_SERVICE_ERRORS  # only Lambda's service errors
        assert "Catch" not in state
    statements = policy_statements(run, "chain-policy")
    invoke = [s for s in statements if s["Action"] == ["lambda:InvokeFunction"]]
    assert [s["Resource"] for s in invoke] == [[reverse_arn, reverse_arn + ":*"], [shout_arn, shout_arn + ":*"]]
    assert not any(a.startswith(("states:", "dynamodb:", "sns:")) for a in actions(statements))


def test_composite_references_the_chain_by_arn() -> None:
    chain_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:chain-abc"
    run = build(lambda: Workflow("composite", {"definition_file": "composite.yaml", "workflows": {"chain": chain_arn}, **DEMO}))
    assert not run.of_type("aws:lambda/function:Function")
    definition = json.loads(run.named_of("aws:sfn/stateMachine:StateMachine", "composite").inputs["definition"])
    task = definition["States"]["EachItem"]["ItemProcessor"]["States"]["RunChain"]
    assert task["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert task["Parameters"]["StateMachineArn"] == chain_arn
    statements = policy_statements(run, "composite-policy")
    assert {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [chain_arn]} in statements


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wf.yaml"
    path.write_text(text)
    return path


def test_unknown_handler_names_file_and_state(tmp_path: Path) -> None:
    path = _write(tmp_path, "StartAt: A\nStates:\n  A: {Type: Task, Resource: 'handler:nosuch', End: true}\n")
    with pytest.raises(WorkflowDefinitionError, match=r"wf\.yaml: state 'A': unknown handler 'handler:nosuch'"):
        load_definition(path, DEMO_HANDLERS)
    with pytest.raises(WorkflowDefinitionError, match=r"wf\.yaml: state 'A': 'handler:nosuch' needs handlers_dir"):
        load_definition(path)


def test_missing_workflow_reference_names_file_and_state(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "StartAt: A\nStates:\n  A:\n    Type: Task\n    Resource: arn:aws:states:::states:startExecution\n"
        "    Parameters: {StateMachineArn: 'workflow:ghost'}\n    End: true\n",
    )
    with pytest.raises(WorkflowDefinitionError, match=r"wf\.yaml: state 'A': unknown workflow reference 'workflow:ghost'"):
        build(lambda: Workflow("wf", {"definition_file": str(path)}))


@pytest.mark.parametrize(
    "text, message",
    [
        ("StartAt: [", "not valid YAML/JSON"),
        ("- a\n- b\n", "is not a mapping"),
        ("StartAt: A\nStates: {}\n", "has no States"),
        ("StartAt: B\nStates:\n  A: {Type: Pass, End: true}\n", "field 'StartAt': StartAt 'B' names no state"),
        ("StartAt: A\nStates:\n  A: {Type: Pas, End: true}\n", "state 'A': field 'Type': 'Pas' is not one of"),
        ("StartAt: A\nStates:\n  A: {Type: Pass, Next: C}\n", "state 'A': field 'Next': transition to unknown state 'C'"),
        ("StartAt: A\nStates:\n  A: {Type: Pass}\n", "state 'A': one of ['Next', 'End'] is required"),
        ("StartAt: A\nStates:\n  A: {Type: Task, End: true}\n", "state 'A': 'Resource' is a required property"),
        ("StartAt: A\nStates:\n  A: {Type: Pass, Next: B}\n  B: {Type: Pass, End: true}\n  C: {Type: Pass, End: true}\n",
         "state 'C': cannot be reached from StartAt 'A'"),
        ("StartAt: A\nStates:\n  A: {Type: Pass, Arguments: {x: 1}, End: true}\n",
         "state 'A': field 'Arguments': is a JSONata field"),
        ("QueryLanguage: JSONata\nStartAt: A\nStates:\n  A: {Type: Pass, QueryLanguage: JSONPath, End: true}\n",
         "state 'A': field 'QueryLanguage': a JSONPath state cannot sit in a JSONata definition"),
        ("StartAt: A\nStates:\n  A: {Type: Wait, Seconds: -1, End: true}\n", "state 'A': field 'Seconds': must be a whole number from 0"),
    ],
)
def test_malformed_definitions_are_refused_with_the_file_name(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(WorkflowDefinitionError, match="wf.yaml") as error:
        load_definition(_write(tmp_path, text))
    assert message in str(error.value)


def test_missing_file_is_refused() -> None:
    with pytest.raises(WorkflowDefinitionError, match="not found"):
        build(lambda: Workflow("wf", {"definition_file": "nosuch.yaml"}))


def test_handler_settings_reach_the_lambda(tmp_path: Path) -> None:
    path = _write(tmp_path, "StartAt: A\nStates:\n  A: {Type: Task, Resource: 'handler:reverse', End: true}\n")
    run = build(
        lambda: Workflow(
            "wf",
            {
                "definition_file": str(path),
                "handlers_dir": DEMO_HANDLERS,
                "handlers": {"reverse": {"environment": {"MODE": "x"}, "timeout": 3}},
                "log_retention_days": 5,
            },
        )
    )
    fn = run.named_of("aws:lambda/function:Function", "wf-reverse")
    assert fn.inputs["environment"] == {"variables": {"MODE": "x"}} and fn.inputs["timeout"] == 3
    assert fn.parent_types == ["sfn-patterns:index:HandlerFunction"]
    assert all(g.inputs["retentionInDays"] == 5 for g in run.of_type("aws:cloudwatch/logGroup:LogGroup"))


def test_express_workflow_has_logging_and_refuses_what_express_cannot_run(tmp_path: Path) -> None:
    run = build(lambda: Workflow("chain", {"definition_file": "chain.yaml", **DEMO, "type": "EXPRESS"}))
    sm = run.named_of("aws:sfn/stateMachine:StateMachine", "chain")
    assert sm.inputs["type"] == "EXPRESS"
    # Express keeps no execution history: the log group is where executions are seen, so logging is ALL.
    assert sm.inputs["loggingConfiguration"]["level"] == "ALL"
    assert sm.inputs["loggingConfiguration"]["logDestination"].endswith(":*")
    assert "logs:CreateLogDelivery" in actions(policy_statements(run, "chain-policy"))
    with pytest.raises(WorkflowDefinitionError, match=r"composite\.yaml: state 'EachItem/RunChain': an EXPRESS state machine cannot wait"):
        build(lambda: Workflow("c", {"definition_file": "composite.yaml", **DEMO, "type": "EXPRESS",
                                     "workflows": {"chain": "arn:aws:states:us-east-1:123456789012:stateMachine:x"}}))


def test_composite_express_runs_the_chain_as_an_express_child() -> None:
    from sfn_patterns.patterns.idempotent_api import IdempotentApi

    def program() -> None:
        chain = Workflow("chain", {"definition_file": "chain.yaml", **DEMO, "type": "EXPRESS"})
        composite = Workflow("composite", {"definition_file": "composite_express.yaml", **DEMO, "workflows": {"chain": chain.arn}})
        IdempotentApi("api", {"state_machine_arn": composite.arn})

    run = build(program)
    chain_arn = run.named_of("aws:sfn/stateMachine:StateMachine", "chain").state["arn"]
    assert run.named_of("aws:sfn/stateMachine:StateMachine", "composite").inputs["type"] == "STANDARD"
    statements = policy_statements(run, "composite-policy")
    assert {"Effect": "Allow", "Action": ["states:StartSyncExecution"], "Resource": [chain_arn]} in statements
    assert not any(a.startswith("events:") for a in actions(statements))  # no .sync rule needed


def test_idempotent_api_refuses_an_express_state_machine() -> None:
    from local.program import FakeCloud, run_inline
    from sfn_patterns.patterns.idempotent_api import IdempotentApi

    def program() -> None:
        chain = Workflow("chain", {"definition_file": "chain.yaml", **DEMO, "type": "EXPRESS"})
        IdempotentApi("api", {"state_machine_arn": chain.arn})

    mocks = FakeCloud()
    with pytest.raises(ValueError, match=r"IdempotentApi 'api': the state machine is EXPRESS, not STANDARD.*no idempotent named start"):
        run_inline(mocks, program)
    assert not [r for r in mocks.declared if r.name.startswith("api")]
    with pytest.raises(ValueError, match="EXPRESS"):
        build(lambda: IdempotentApi("api", {"state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:x",
                                            "state_machine_type": "EXPRESS"}))
