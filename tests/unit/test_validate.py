"""sfn_patterns.validate: the States Language schema (cfn-lint's E3601 schema), the graph, the query languages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from local.program import FakeCloud, run_inline
from sfn_patterns import validate
from sfn_patterns.patterns.workflow import Workflow, WorkflowDefinitionError

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = sorted((ROOT / "examples" / "workflows").glob("*.yaml")) + sorted((ROOT / "workflows").glob("*.yaml"))


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_shipped_definitions_are_valid(path: Path) -> None:
    assert validate.problems(validate.load(path)) == []


def _lines(document: object) -> list[str]:
    return [p.line("wf.yaml") for p in validate.problems(document)]


def _task(**fields: object) -> dict[str, object]:
    return {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", **fields}}}


@pytest.mark.parametrize("document, line", [
    (_task(End=True, Retry=[{"IntervalSeconds": 1}]), "wf.yaml: state 'A': field 'Retry[0]': 'ErrorEquals' is a required property"),
    (_task(End=True, HeartbeatSeconds=0), "wf.yaml: state 'A': field 'HeartbeatSeconds': 0 is less than the minimum of 1"),
    (_task(End=True, Next="A"), "wf.yaml: state 'A': only one of ['Next', 'End'] may be given"),
    (_task(End=True, Resource="sns:publish"), "wf.yaml: state 'A': field 'Resource': 'sns:publish' does not match"),
    ({"StartAt": "A", "States": {"A": {"Type": "Map", "End": True, "ItemProcessor": {"StartAt": "X", "States": {
        "X": {"Type": "Pass", "Next": "Gone"}}}}}}, "wf.yaml: state 'A/X': field 'Next': transition to unknown state 'Gone'"),
    ({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "B"}],
                                       "Default": "Nope"}, "B": {"Type": "Succeed"}}},
     "wf.yaml: state 'A': field 'Default': transition to unknown state 'Nope'"),
    ({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}},
     "wf.yaml: field 'End': no reachable state ends the machine (End, Succeed or Fail)"),
    ({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Arguments": {"Message.$": "$.m"}, "End": True}}},
     "wf.yaml: state 'A': field 'Arguments.Message.$': '.$' keys are JSONPath; in JSONata write the value as {% ... %}"),
    ({"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "B"}]},
                                 "B": {"Type": "Succeed"}}},
     "wf.yaml: state 'A': field 'Choices[0].Condition': is JSONata; a JSONPath Choice rule uses Variable"),
    ({"StartAt": "A", "States": {"A": {"Type": "Map", "End": True, "ToleratedFailurePercentage": 150, "ItemProcessor": {
        "StartAt": "X", "States": {"X": {"Type": "Succeed"}}}}}},
     "wf.yaml: state 'A': field 'ToleratedFailurePercentage': ToleratedFailurePercentage must be from 0 to 100 (got 150)"),
    ({"StartAt": "A", "States": {"A": {"Type": "Map", "End": True, "ToleratedFailureCount": -1, "ItemProcessor": {
        "StartAt": "X", "States": {"X": {"Type": "Succeed"}}}}}},
     "wf.yaml: state 'A': field 'ToleratedFailureCount': ToleratedFailureCount must be 0 or more (got -1)"),
])
def test_each_problem_names_the_state_and_the_field(document: object, line: str) -> None:
    assert any(found.startswith(line) for found in _lines(document)), _lines(document)


def test_jsonata_definition_with_jsonata_fields_is_valid() -> None:
    document = {"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Output": "{% $states.input %}", "Assign": {"x": 1}, "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Condition": "{% $x = 1 %}", "Next": "C"}], "Default": "C"},
        "C": {"Type": "Wait", "Seconds": "{% 1 %}", "Next": "D"},
        "D": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Arguments": "{% {'TopicArn': 't'} %}",
              "TimeoutSeconds": "{% 5 %}", "End": True},
    }}
    assert _lines(document) == []


def test_library_references_and_placeholders_are_accepted() -> None:
    assert _lines(_task(Resource="handler:reverse", End=True)) == []
    assert _lines(_task(Resource="${Fn}", End=True)) == []


def test_command_prints_one_line_per_problem_and_exits_1(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.json"
    good.write_text("StartAt: A\nStates:\n  A: {Type: Succeed}\n")
    bad.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "C"}, "B": {"Type": "Succeed"}}}')
    run = subprocess.run([sys.executable, "-m", "sfn_patterns.validate", str(good), str(bad)], capture_output=True, text=True)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert f"{bad}: state 'A': field 'Next': transition to unknown state 'C'" in lines
    assert f"{bad}: state 'B': cannot be reached from StartAt 'A'" in lines
    assert not any(str(good) in line for line in lines)
    ok = subprocess.run([sys.executable, "-m", "sfn_patterns.validate", str(good)], capture_output=True, text=True)
    assert (ok.returncode, ok.stdout) == (0, "")
    assert subprocess.run([sys.executable, "-m", "sfn_patterns.validate"], capture_output=True).returncode == 2


def test_validator_imports_no_pulumi() -> None:
    code = "import sys, sfn_patterns.validate; assert not any(m.startswith('pulumi') for m in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_malformed_definition_stops_the_program_before_any_resource(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("StartAt: A\nStates:\n  A: {Type: Task, Resource: 'handler:reverse', Next: Missing}\n")
    mocks = FakeCloud()
    with pytest.raises(WorkflowDefinitionError, match=r"bad\.yaml: state 'A': field 'Next': transition to unknown state"):
        run_inline(mocks, lambda: Workflow("wf", {"definition_file": str(path)}))
    assert mocks.declared == []


@pytest.mark.parametrize("nesting", ["Parallel", "Map"])
def test_a_state_name_is_unique_in_the_whole_machine(nesting: str) -> None:
    inner = {"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": True}}}
    outer: dict[str, object] = {"Type": nesting, "Next": "Work"}
    outer.update({"Branches": [inner]} if nesting == "Parallel" else {"ItemProcessor": inner})
    document = {"StartAt": "Fan", "States": {"Fan": outer, "Work": {"Type": "Succeed"}}}
    where = "Fan/branch0/Work" if nesting == "Parallel" else "Fan/Work"
    assert _lines(document) == [
        f"wf.yaml: state 'Work': the state name 'Work' is also used by {where!r}; state names must be unique in the whole state machine"
    ]
    inner["States"] = {"Other": {"Type": "Pass", "End": True}}
    inner["StartAt"] = "Other"
    assert _lines(document) == []


def test_two_branches_may_not_share_a_name() -> None:
    branch = {"StartAt": "Same", "States": {"Same": {"Type": "Pass", "End": True}}}
    document = {"StartAt": "Fan", "States": {"Fan": {"Type": "Parallel", "End": True, "Branches": [branch, branch]}}}
    assert [line for line in _lines(document) if "unique" in line] == [
        "wf.yaml: state 'Fan/branch1/Same': the state name 'Same' is also used by 'Fan/branch0/Same'; "
        "state names must be unique in the whole state machine"
    ]


@pytest.mark.parametrize("name, text", [
    ("twice.yaml", "StartAt: A\nStates:\n  A: {Type: Pass, End: true}\n  A: {Type: Fail, Error: Boom}\n"),
    ("twice.json", '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "A": {"Type": "Fail", "Error": "Boom"}}}'),
    ("field.yaml", "StartAt: A\nStates:\n  A:\n    Type: Pass\n    End: true\n    End: false\n"),
])
def test_a_key_given_twice_refuses_the_file(tmp_path: Path, name: str, text: str) -> None:
    # A plain YAML/JSON load keeps the last one silently: the machine deployed would not be the one written.
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"(?s){name}: not valid YAML/JSON: .*(key '(A|End)' twice|key 'A' is given twice)"):
        validate.load(path)
    mocks = FakeCloud()
    with pytest.raises(WorkflowDefinitionError, match="twice"):
        run_inline(mocks, lambda: Workflow("wf", {"definition_file": str(path)}))
    assert mocks.declared == []


def test_yaml_merge_keys_and_anchors_still_load(tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text("StartAt: A\nStates:\n  A: &pass {Type: Pass, Next: B}\n  B:\n    <<: *pass\n    Next: C\n  C: {Type: Succeed}\n")
    document = validate.load(path)
    assert document["States"]["B"] == {"Type": "Pass", "Next": "C"} and validate.problems(document) == []


def test_every_state_machine_the_demo_renders_passes_the_same_checks() -> None:
    # The patterns build their ASL in Python; it must hold to what a user's YAML is held to.
    from tests.policy.program import production

    definitions = production().graph.state_machine_definitions()
    assert len(definitions) >= 5
    assert {sm.name: [p.line(sm.name) for p in validate.problems(d)] for sm, d in definitions} == {
        sm.name: [] for sm, _ in definitions
    }
