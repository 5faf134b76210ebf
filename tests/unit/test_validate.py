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
    (_task(End=True, HeartbeatSeconds=0), "wf.yaml: state 'A': field 'HeartbeatSeconds': must be a whole number from 1 to 99999999 (got 0)"),
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
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "X", "States": {"X": {"Type": "Succeed"}}}}}},
     "wf.yaml: state 'A': field 'ToleratedFailurePercentage': ToleratedFailurePercentage must be from 0 to 100 (got 150)"),
    ({"StartAt": "A", "States": {"A": {"Type": "Map", "End": True, "ToleratedFailureCount": -1, "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
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


# --- Held-out definitions (found by probing): what AWS refuses is refused, what it accepts is not ---------

LAMBDA = "arn:aws:states:::lambda:invoke"


def _one(state: dict[str, object], **top: object) -> dict[str, object]:
    return {"StartAt": "S", "States": {"S": state}, **top}


def _next(state: dict[str, object]) -> dict[str, object]:
    return {"StartAt": "S", "States": {"S": {**state, "Next": "Done"}, "Done": {"Type": "Succeed"}}}


def _t(**fields: object) -> dict[str, object]:
    return {"Type": "Task", "Resource": LAMBDA, "End": True, **fields}


def _dist(**fields: object) -> dict[str, object]:
    return {"Type": "Map", "End": True, "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, **fields}


def _inline(**fields: object) -> dict[str, object]:
    return {"Type": "Map", "End": True, "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, **fields}


ACCEPTED = {
    "succeed with paths": _one({"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}),
    "pass with null ResultPath": _one({"Type": "Pass", "ResultPath": None, "End": True}),
    "China partition": _one({"Type": "Task", "Resource": "arn:aws-cn:lambda:cn-north-1:123456789012:function:f", "End": True}),
    "fractional tolerance": _one(_dist(ToleratedFailurePercentage=2.5)),
    "retry and catch on parallel": _one({"Type": "Parallel", "End": True, "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}],
                                         "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 1.5, "JitterStrategy": "FULL",
                                                    "MaxDelaySeconds": 10}]}),
    "intrinsic and context values": _one(_t(Parameters={"a.$": "States.Format('{} it\\'s', $.x)", "b.$": "$$.Execution.Id",
                                                        "c.$": "States.ArrayGetItem($.l, 0)"})),
    "choice with nested rules": {"StartAt": "C", "States": {"C": {"Type": "Choice", "Default": "D", "Choices": [
        {"And": [{"Variable": "$.a", "IsPresent": True}, {"Not": {"Variable": "$.b", "StringEquals": "x"}}], "Next": "D"},
        {"Variable": "$.t", "TimestampGreaterThan": "2026-01-01T00:00:00Z", "Next": "D"}]}, "D": {"Type": "Succeed"}}},
    "wait timestamp": _one({"Type": "Wait", "Timestamp": "2026-01-01T00:00:00.5+01:00", "End": True}),
    "jsonata expressions": _one({"Type": "Pass", "Output": "{% $states.input.items.* %}", "Assign": {"total": "{% $sum([1, 2]) %}"},
                                 "End": True}, QueryLanguage="JSONata"),
}

REFUSED = {
    "wait with both": (_one({"Type": "Wait", "Seconds": 1, "Timestamp": "2026-01-01T00:00:00Z", "End": True}), "'Timestamp': cannot be given with 'Seconds'"),
    "wait with neither": (_one({"Type": "Wait", "End": True}), "needs exactly one of ['Seconds'"),
    "lower-case z": (_one({"Type": "Wait", "Timestamp": "2026-01-01T00:00:00z", "End": True}), "not an RFC 3339 timestamp"),
    "fractional seconds": (_one({"Type": "Wait", "Seconds": 1.5, "End": True}), "'Seconds': must be a whole number"),
    "empty choices": ({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [], "Default": "D"}, "D": {"Type": "Succeed"}}},
                      "'Choices': must hold at least one rule"),
    "choice with end": ({"StartAt": "C", "States": {"C": {"Type": "Choice", "End": True, "Choices": [
        {"Variable": "$.a", "IsPresent": True, "Next": "D"}]}, "D": {"Type": "Succeed"}}}, "a Choice state has no Next or End"),
    "empty and": ({"StartAt": "C", "States": {"C": {"Type": "Choice", "Default": "D", "Choices": [{"And": [], "Next": "D"}]},
                                              "D": {"Type": "Succeed"}}}, "must be a non-empty list of rules"),
    "nested next": ({"StartAt": "C", "States": {"C": {"Type": "Choice", "Default": "D", "Choices": [
        {"Not": {"Variable": "$.a", "IsPresent": True, "Next": "D"}, "Next": "D"}]}, "D": {"Type": "Succeed"}}}, "a nested Choice rule has no Next"),
    "error and errorpath": (_one({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}), "'ErrorPath': cannot be given with 'Error'"),
    "heartbeat not below timeout": (_one(_t(TimeoutSeconds=10, HeartbeatSeconds=10)), "must be smaller than TimeoutSeconds"),
    "timeout and its path": (_one(_t(TimeoutSeconds=10, TimeoutSecondsPath="$.t")), "cannot be given with 'TimeoutSeconds'"),
    "backoff below one": (_one(_t(Retry=[{"ErrorEquals": ["E"], "BackoffRate": 0.5}])), "'Retry[0].BackoffRate': must be 1.0 or more"),
    "too many attempts": (_one(_t(Retry=[{"ErrorEquals": ["E"], "MaxAttempts": 100000000}])), "'Retry[0].MaxAttempts': must be a whole number"),
    "jitter": (_one(_t(Retry=[{"ErrorEquals": ["E"], "JitterStrategy": "HALF"}])), "is FULL or NONE"),
    "states.all not alone": (_one(_t(Retry=[{"ErrorEquals": ["States.ALL", "States.Timeout"]}])), "States.ALL must be alone"),
    "states.all not last": (_next(_t(End=None, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Done"},
                                                      {"ErrorEquals": ["E"], "Next": "Done"}])), "States.ALL must be alone in the last catcher"),
    "empty error list": (_one(_t(Retry=[{"ErrorEquals": []}])), "must name at least one error"),
    "unknown retrier field": (_one(_t(Retry=[{"ErrorEquals": ["E"], "Backoff": 2}])), "'Retry[0].Backoff': is not a field of a retrier"),
    "result path not a reference path": (_one({"Type": "Pass", "ResultPath": "$..a", "End": True}), "is not a Reference Path"),
    "unclosed path": (_one({"Type": "Pass", "InputPath": "$.a[", "End": True}), "is not a JSONPath"),
    "a .$ value that is no path": (_one({"Type": "Pass", "Parameters": {"a.$": "hello"}, "End": True}), "is neither a path"),
    "unknown intrinsic": (_one({"Type": "Pass", "Parameters": {"a.$": "States.Foo($.a)"}, "End": True}), "unknown intrinsic function 'States.Foo'"),
    "unclosed intrinsic": (_one({"Type": "Pass", "Parameters": {"a.$": "States.Format('{}', $.a"}, "End": True}), "is not closed"),
    "value and path": (_one({"Type": "Pass", "Parameters": {"a": 1, "a.$": "$.x"}, "End": True}), "given both as a value and as a path"),
    "inline reader": (_one(_inline(ItemReader={"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b", "Key": "k"}})),
                      "'ItemReader': belongs to a DISTRIBUTED Map"),
    "distributed without type": (_one({**_dist(), "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P",
                                                                     "States": {"P": {"Type": "Pass", "End": True}}}}), "ExecutionType"),
    "unknown mode": (_one({**_dist(), "ItemProcessor": {"ProcessorConfig": {"Mode": "FAST"}, "StartAt": "P",
                                                        "States": {"P": {"Type": "Pass", "End": True}}}}), "is INLINE or DISTRIBUTED"),
    "long label": (_one(_dist(Label="x" * 41)), "a Label is 1 to 40 characters"),
    "empty branches": (_one({"Type": "Parallel", "Branches": [], "End": True}), "must hold at least one branch"),
    "empty expression": (_one({"Type": "Pass", "Output": "{%  %}", "End": True}, QueryLanguage="JSONata"), "the JSONata expression is empty"),
    "unclosed expression": (_one({"Type": "Pass", "Output": "{% $states.input.a( %}", "End": True}, QueryLanguage="JSONata"),
                            "is not a complete JSONata expression"),
    "arguments not an expression": (_one(_t(Arguments="hello"), QueryLanguage="JSONata"), "a string Arguments is a JSONata expression"),
    "reserved variable": (_one({"Type": "Pass", "Assign": {"states": 1}, "End": True}), "not 'states'"),
    "jsonpath field in jsonata": (_one({"Type": "Wait", "SecondsPath": "$.s", "End": True}, QueryLanguage="JSONata"), "is a JSONPath field"),
    "items in jsonpath": (_one(_inline(Items=[1, 2])), "is a JSONata field"),
    "a long state name": ({"StartAt": "M", "States": {"M": {**_inline(), "ItemProcessor": {"StartAt": "N" * 81, "States": {
        "N" * 81: {"Type": "Pass", "End": True}}}}}}, "a state name is at most 80 characters"),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_held_out_definitions_aws_accepts_are_accepted(name: str) -> None:
    assert _lines(ACCEPTED[name]) == []


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_held_out_definitions_aws_refuses_are_refused_naming_the_field(name: str) -> None:
    document, message = REFUSED[name]
    lines = _lines(document)
    assert any(message in line and "state '" in line for line in lines), lines


@pytest.mark.parametrize("text, problem", [
    # YAML 1.1 reads Yes/No/on/off as booleans and 1 as a number: a state named No stays "No", a number is refused.
    ("StartAt: Ask\nStates:\n  Ask: {Type: Choice, Choices: [{Variable: $.x, IsPresent: true, Next: 'No'}], Default: Yes}\n"
     "  Yes: {Type: Succeed}\n  No: {Type: Succeed}\n", None),
    ("StartAt: A\nStates:\n  A: {Type: Wait, Timestamp: 2026-01-01T00:00:00Z, End: true}\n", None),
    ("StartAt: '1'\nStates:\n  1: {Type: Succeed}\n", "the state name 1 is not a string: quote it"),
    ("StartAt: A\nStates:\n  A: {Type: Pass, Result: .nan, End: true}\n", "nan is not a JSON number"),
])
def test_yaml_scalars_are_read_as_a_definition_means_them(tmp_path: Path, text: str, problem: str | None) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(text)
    lines = [p.line("wf.yaml") for p in validate.problems(validate.load(path))]
    assert (lines == []) if problem is None else any(problem in line for line in lines), lines


def test_json_nan_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "wf.json"
    path.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": NaN, "End": true}}}')
    with pytest.raises(ValueError, match="NaN is not a JSON number"):
        validate.load(path)
