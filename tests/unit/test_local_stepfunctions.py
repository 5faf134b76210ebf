"""The local stack's fixes to moto's Step Functions interpreter: nested executions, Map/Parallel errors, atomic starts."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import boto3
import pytest
from moto import mock_aws

from local import stepfunctions

ROLE = "arn:aws:iam::123456789012:role/sfn"


@pytest.fixture
def sfn() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        stepfunctions.install()
        try:
            yield boto3.client("stepfunctions", region_name="us-east-1")
        finally:
            stepfunctions.uninstall()


def machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]


def run(sfn: Any, arn: str, name: str, execution_input: Any, timeout: float = 10) -> dict[str, Any]:
    execution = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(execution_input))["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        description = sfn.describe_execution(executionArn=execution)
        if description["status"] != "RUNNING" or time.monotonic() > deadline:
            return description
        time.sleep(0.05)


def nested(child_arn: str, pattern: str, name: bool = True) -> dict[str, Any]:
    parameters: dict[str, Any] = {"StateMachineArn": child_arn, "Input.$": "$.item"}
    if name:
        parameters["Name.$"] = "States.Format('{}-{}', States.Hash($.parent, 'SHA-1'), $.index)"
    return {
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map", "ItemsPath": "$.items",
            "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "parent.$": "$$.Execution.Name"},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Run", "States": {
                "Run": {"Type": "Task", "Resource": f"arn:aws:states:::states:startExecution{pattern}",
                        "Parameters": parameters, "End": True}}},
            "End": True}},
    }


def test_map_of_nested_sync_executions_returns_children_outputs_in_order(sfn: Any) -> None:
    child = machine(sfn, "child", {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "Parameters": {"got.$": "$.v"}, "End": True}}})
    parent = machine(sfn, "parent", nested(child, ".sync:2"))
    done = run(sfn, parent, "p1", {"items": [{"v": 1}, {"v": 2}, {"v": 3}]})
    assert done["status"] == "SUCCEEDED", done
    outputs = json.loads(done["output"])
    assert [o["Output"] for o in outputs] == [{"got": 1}, {"got": 2}, {"got": 3}]
    assert [o["Status"] for o in outputs] == ["SUCCEEDED"] * 3
    names = sorted(e["name"] for e in sfn.list_executions(stateMachineArn=child)["executions"])
    assert names == [f"{__import__('hashlib').sha1(b'p1').hexdigest()}-{i}" for i in range(3)]


def test_a_failed_child_fails_the_map_with_states_task_failed(sfn: Any) -> None:
    child = machine(sfn, "child", {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "no"}}})
    parent = machine(sfn, "parent", nested(child, ".sync:2"))
    done = run(sfn, parent, "p1", {"items": [{"v": 1}]})
    assert done["status"] == "FAILED"
    assert done["error"] == "States.TaskFailed"
    assert json.loads(done["cause"])["Status"] == "FAILED"


def test_parallel_branches_keep_states_error_names(sfn: Any) -> None:
    child = machine(sfn, "child", {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}})
    parent = machine(sfn, "parent", {"StartAt": "Both", "States": {"Both": {
        "Type": "Parallel", "End": True,
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}],
        "Branches": [{"StartAt": "Run", "States": {"Run": {
            "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
            "Parameters": {"StateMachineArn": child, "Input": {}}, "End": True}}}]},
        "Caught": {"Type": "Pass", "Parameters": {"error.$": "$.Error"}, "End": True}}})
    done = run(sfn, parent, "p1", {})
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"error": "States.TaskFailed"}


def test_nested_starts_without_a_name_get_unique_names(sfn: Any) -> None:
    child = machine(sfn, "child", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    parent = machine(sfn, "parent", nested(child, ".sync", name=False))
    done = run(sfn, parent, "p1", {"items": [{}, {}]})
    assert done["status"] == "SUCCEEDED", done
    assert len({e["name"] for e in sfn.list_executions(stateMachineArn=child)["executions"]}) == 2


def test_request_response_start_returns_the_execution_arn(sfn: Any) -> None:
    child = machine(sfn, "child", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    parent = machine(sfn, "parent", {"StartAt": "Start", "States": {"Start": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
        "Parameters": {"StateMachineArn": child, "Name": "kid", "Input": {"a": 1}}, "End": True}}})
    done = run(sfn, parent, "p1", {})
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["ExecutionArn"].endswith(":child:kid") and isinstance(output["StartDate"], int)


def test_concurrent_starts_with_one_name_start_one_execution(sfn: Any) -> None:
    arn = machine(sfn, "slow", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}})

    def start(i: int) -> str:
        try:
            return sfn.start_execution(stateMachineArn=arn, name="once", input=json.dumps({"i": i % 2}))["executionArn"]
        except sfn.exceptions.ExecutionAlreadyExists:
            return "refused"

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(start, range(16)))
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1
    assert answers.count("refused") in range(1, 16) and len(set(answers) - {"refused"}) == 1


def held_open(monkeypatch: pytest.MonkeyPatch, owner: type, method: str, seconds: float) -> tuple[threading.Event, threading.Event]:
    """Make ``owner.method`` (as installed now) wait, on each call, until released or ``seconds`` pass.

    Returns (entered: set when a call is held, release: set it to let calls go on). This holds open
    a window that a loaded machine opens by chance.
    """
    entered, release = threading.Event(), threading.Event()
    installed = getattr(owner, method)

    def held(self: Any, *args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(seconds)
        return installed(self, *args, **kwargs)

    monkeypatch.setattr(owner, method, held)
    return entered, release


def test_an_execution_being_started_reads_as_running(sfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto lists a new execution before its start gives it a status and a worker; read in that
    # window (held open here for up to 0.5 s, as a loaded machine can), moto alone raised
    # AttributeError from DescribeExecution, ListExecutions and SendTaskFailure.
    from moto.stepfunctions.parser.backend.execution import Execution

    arn = machine(sfn, "slow", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}})
    listed, done = held_open(monkeypatch, Execution, "_get_start_execution_worker", 0.5)
    with ThreadPoolExecutor(max_workers=1) as pool:
        start = pool.submit(sfn.start_execution, stateMachineArn=arn, name="early", input="{}")
        assert listed.wait(10)
        execution = arn.replace(":stateMachine:", ":execution:") + ":early"
        try:
            assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
            assert [e["status"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == ["RUNNING"]
            with pytest.raises(sfn.exceptions.InvalidToken):  # an unknown token, looked for in every execution
                sfn.send_task_failure(taskToken="no-such-token", error="E")
        finally:
            done.set()
        assert start.result()["executionArn"] == execution


def _callback_machine(sfn: Any, heartbeat: int) -> tuple[str, str, Any]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="tokens")["QueueUrl"]
    arn = machine(sfn, "wait", {"StartAt": "Wait", "States": {"Wait": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 30, "HeartbeatSeconds": heartbeat, "End": True}}})
    return arn, queue, sqs


def test_an_expired_heartbeat_is_states_heartbeat_timeout(sfn: Any) -> None:
    arn, _, _ = _callback_machine(sfn, heartbeat=1)
    done = run(sfn, arn, "hb", {}, timeout=10)
    assert done["status"] == "FAILED"
    assert done["error"] == "States.HeartbeatTimeout"


def test_send_task_failure_keeps_its_cause(sfn: Any) -> None:
    arn, queue, sqs = _callback_machine(sfn, heartbeat=20)
    execution = sfn.start_execution(stateMachineArn=arn, name="f", input="{}")["executionArn"]
    sfn.send_task_failure(taskToken=_token(sqs, queue), error="Rejected", cause="the partner said no")
    done = wait_until_stopped(sfn, execution)
    assert (done["status"], done.get("error"), done.get("cause")) == ("FAILED", "Rejected", "the partner said no"), done


def wait_until_stopped(sfn: Any, execution: str, timeout: float = 15) -> dict[str, Any]:
    """The execution's description once it is no longer RUNNING (or after ``timeout`` s: a loaded machine is slow)."""
    deadline = time.monotonic() + timeout
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    return sfn.describe_execution(executionArn=execution)


def _token(sqs: Any, queue: str) -> str:
    """The task token the callback machine sent to ``queue`` (waits up to 15 s for it)."""
    deadline = time.monotonic() + 15
    messages: list[Any] = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    return str(json.loads(messages[0]["Body"])["token"])


@pytest.fixture
def wait_held_back(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Hold a task's heartbeat wait back (after its token was sent) until the returned event is set.

    That is the window a loaded machine opens between moto's integration request and its wait.
    """
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

    return held_open(monkeypatch, CallbackEndpoint, "setup_heartbeat_endpoint", 10)[1]


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_a_callback_before_the_task_waits_completes_it(sfn: Any, wait_held_back: threading.Event, outcome: str) -> None:
    # moto alone: the outcome is lost and the task ends as States.HeartbeatTimeout 2 s later.
    arn, queue, sqs = _callback_machine(sfn, heartbeat=2)
    execution = sfn.start_execution(stateMachineArn=arn, name="early", input="{}")["executionArn"]
    token = _token(sqs, queue)
    if outcome == "success":
        sfn.send_task_success(taskToken=token, output=json.dumps({"ok": True}))
    else:
        sfn.send_task_failure(taskToken=token, error="Rejected", cause="too early")
    wait_held_back.set()
    done = wait_until_stopped(sfn, execution)
    if outcome == "success":
        assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"ok": True}), done
    else:
        assert (done["status"], done.get("error"), done.get("cause")) == ("FAILED", "Rejected", "too early"), done


def test_a_heartbeat_before_the_task_waits_is_accepted(sfn: Any, wait_held_back: threading.Event) -> None:
    # moto alone: InvalidToken, which a finalizer reads as "the task timed out".
    arn, queue, sqs = _callback_machine(sfn, heartbeat=20)
    execution = sfn.start_execution(stateMachineArn=arn, name="beat", input="{}")["executionArn"]
    token = _token(sqs, queue)
    sfn.send_task_heartbeat(taskToken=token)
    wait_held_back.set()
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output="{}")
    assert wait_until_stopped(sfn, execution)["status"] == "SUCCEEDED"
    with pytest.raises(sfn.exceptions.InvalidToken):  # a closed task's token is refused, as on AWS
        sfn.send_task_heartbeat(taskToken=token)


def test_a_callback_while_another_execution_starts_completes_its_task(sfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A started execution has no environment until its worker has parsed the ASL (held back here
    # for up to 0.5 s); moto alone looked for any token in every execution's environment and
    # raised AttributeError.
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    other = machine(sfn, "other", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})  # looked in first
    arn, queue, sqs = _callback_machine(sfn, heartbeat=20)
    waiting = sfn.start_execution(stateMachineArn=arn, name="waits", input="{}")["executionArn"]
    token = _token(sqs, queue)
    parsing, done = held_open(monkeypatch, ExecutionWorker, "_get_evaluation_entrypoint", 0.5)
    sfn.start_execution(stateMachineArn=other, name="starting", input="{}")
    assert parsing.wait(10)
    try:
        sfn.send_task_heartbeat(taskToken=token)
        sfn.send_task_success(taskToken=token, output=json.dumps({"ok": 1}))
    finally:
        done.set()
    done_waiting = wait_until_stopped(sfn, waiting)
    assert (done_waiting["status"], json.loads(done_waiting["output"])) == ("SUCCEEDED", {"ok": 1}), done_waiting


def jsonata_machine(sfn: Any) -> str:
    """A JSONata Task whose Arguments raise for a non-positive n (caught), and whose Output computes."""
    return machine(sfn, "jsonata", {
        "StartAt": "List",
        "States": {
            "List": {
                "Type": "Task", "QueryLanguage": "JSONata",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:listTables",
                "Arguments": {"Limit": "{% $states.input.n > 0 ? $states.input.n : $error('n must be positive') %}"},
                "Output": {"double": "{% $states.input.n * 2 %}", "now": "{% $floor($millis() / 1000) %}"},
                "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "BadInput"}],
                "End": True,
            },
            "BadInput": {"Type": "Fail", "Error": "BadInput", "Cause": "n must be positive"},
        },
    })


def test_jsonata_expressions_are_evaluated(sfn: Any) -> None:
    description = run(sfn, jsonata_machine(sfn), "good", {"n": 3})
    assert description["status"] == "SUCCEEDED", description
    output = json.loads(description["output"])
    assert output["double"] == 6 and abs(output["now"] - time.time()) < 5  # $millis(): real epoch time


def test_a_raising_jsonata_expression_is_a_catchable_query_evaluation_error(sfn: Any) -> None:
    description = run(sfn, jsonata_machine(sfn), "bad", {"n": 0})
    assert description["status"] == "FAILED" and description["error"] == "BadInput"  # moto alone: States.Runtime
    history = sfn.get_execution_history(executionArn=description["executionArn"])["events"]
    failed = [e["evaluationFailedEventDetails"] for e in history if e["type"] == "EvaluationFailed"]
    assert failed and "n must be positive" in failed[0]["cause"]


def test_the_context_object_has_a_redrive_count(sfn: Any) -> None:
    # The composite names children by $$.Execution.RedriveCount (0 until a redrive, as on AWS).
    arn = machine(sfn, "ctx", {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"n.$": "$$.Execution.RedriveCount"}, "End": True}}})
    description = run(sfn, arn, "r1", {})
    assert description["status"] == "SUCCEEDED" and json.loads(description["output"]) == {"n": 0}


def test_the_composites_child_names_cannot_be_chosen_by_a_caller(sfn: Any) -> None:
    # workflows/composite.yaml's Map, on a Pass child: names <sha1(parent ARN)>.<redrive>.<index>.
    import hashlib

    from sfn_patterns.patterns.workflow import load_definition
    from tests.unit.helpers import DEMO_HANDLERS, DEMO_WORKFLOWS

    child = machine(sfn, "child", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    definition = json.loads(json.dumps(load_definition(Path(DEMO_WORKFLOWS) / "composite.yaml")[0]).replace("${Workflow_chain}", child))
    parent = machine(sfn, "composite", definition)
    description = run(sfn, parent, "p1", {"items": [{"payload": "a"}, {"payload": "b"}]})
    assert description["status"] == "SUCCEEDED", description
    prefix = hashlib.sha1(description["executionArn"].encode()).hexdigest()
    names = sorted(e["name"] for e in sfn.list_executions(stateMachineArn=child)["executions"])
    assert names == [f"{prefix}.0.0", f"{prefix}.0.1"]
    from sfn_patterns.contracts.common import valid_execution_name

    assert not any(valid_execution_name(n) for n in names)  # no IdempotentApi caller can use them


@pytest.mark.parametrize(("execution_input", "state"), [({"input": {}}, "NothingToDo"), ({"input": {"payload": 7}}, "NothingToDo"),
                                                         ({"input": {"payload": "ab"}}, "Reverse")])
def test_the_monitored_works_choice_takes_input_without_payload(sfn: Any, execution_input: Any, state: str) -> None:
    from sfn_patterns.patterns.workflow import load_definition
    from tests.unit.helpers import DEMO_HANDLERS, DEMO_WORKFLOWS

    definition = load_definition(Path(DEMO_WORKFLOWS) / "monitored_work.yaml", DEMO_HANDLERS)[0]
    definition["States"]["Reverse"] = {"Type": "Pass", "Result": {"went": "Reverse"}, "End": True}
    definition["States"]["NothingToDo"] = {"Type": "Pass", "Result": {"went": "NothingToDo"}, "End": True}
    arn = machine(sfn, "work", definition)
    description = run(sfn, arn, "w1", execution_input)
    assert description["status"] == "SUCCEEDED", description
    assert json.loads(description["output"]) == {"went": state}


@pytest.mark.parametrize("expression, expected", [
    ("$partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3)", [[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
    ("$partition([1, 2, 3, 4, 5], 2)", [[1, 2], [3, 4], [5]]),
    ("$range(0, 10, 2)", [0, 2, 4, 6, 8, 10]),
    ("$range(1, 3)", [1, 2, 3]),
    ("$range(10, 0, -5)", [10, 5, 0]),
    ("$hash('hello', 'SHA-256')", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
    ("$hash('hello', 'MD5')", "5d41402abc4b2a76b9719d911017c592"),
    ("$hash('hello', 'SHA-1')", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"),
    ("$random(42) = $random(42)", True),
    ("$random() >= 0 and $random() < 1", True),
    ("$length($uuid())", 36),
    ("$uuid() != $uuid()", True),
    ("$parse('{\"a\": [1, true, null]}')", {"a": [1, True, None]}),
])
def test_step_functions_jsonata_functions(expression: str, expected: Any) -> None:
    assert stepfunctions.eval_jsonata(expression) == expected


@pytest.mark.parametrize("expression", [
    "$partition([1], 0)", "$partition('x', 2)", "$range(0, 10, 0)", "$range(0, 5000)", "$range(0.5, 2)",
    "$hash('x', 'SHA-3')", "$hash(1, 'MD5')", "$random('seed')", "$parse('{bad')", "$parse('NaN')",
])
def test_step_functions_jsonata_functions_refuse_bad_arguments(expression: str) -> None:
    from moto.stepfunctions.parser.asl.jsonata.jsonata import JSONataException

    with pytest.raises(JSONataException):
        stepfunctions.eval_jsonata(expression)


def test_step_functions_jsonata_functions_run_in_a_jsonata_definition(sfn: Any) -> None:
    arn = machine(sfn, "sfn-functions", {
        "QueryLanguage": "JSONata", "StartAt": "Compute",
        "States": {"Compute": {"Type": "Pass", "End": True, "Output": {
            "chunks": "{% $partition($states.input.items, 2) %}",
            "evens": "{% $range(0, $states.input.n, 2) %}",
            "digest": "{% $hash($states.input.text, 'SHA-256') %}",
            "seeded": "{% $random(7) = $random(7) %}",
            "id": "{% $uuid() %}",
            "parsed": "{% $parse($states.input.json).k %}",
        }}},
    })
    description = run(sfn, arn, "compute", {"items": [1, 2, 3], "n": 4, "text": "hello", "json": "{\"k\": 5}"})
    assert description["status"] == "SUCCEEDED", description
    output = json.loads(description["output"])
    assert output["chunks"] == [[1, 2], [3]] and output["evens"] == [0, 2, 4] and output["parsed"] == 5
    assert (output["digest"][:8], output["seeded"], len(output["id"])) == ("2cf24dba", True, 36), output


def composite_express(sfn: Any) -> str:
    """workflows/composite_express.yaml over an EXPRESS child that echoes its payload or fails on "bad"."""
    import yaml

    from tests.unit.helpers import DEMO_WORKFLOWS

    child = sfn.create_state_machine(name="chain-express", type="EXPRESS", roleArn=ROLE, definition=json.dumps({
        "StartAt": "Check", "States": {
            "Check": {"Type": "Choice", "Choices": [{"Variable": "$.payload", "StringEquals": "bad", "Next": "Bad"}],
                      "Default": "Echo"},
            "Echo": {"Type": "Pass", "Parameters": {"body.$": "$.payload"}, "End": True},
            "Bad": {"Type": "Fail", "Error": "InvalidPayload", "Cause": "bad payload"}}}))["stateMachineArn"]
    text = (Path(DEMO_WORKFLOWS) / "composite_express.yaml").read_text().replace("workflow:chain", child)
    return machine(sfn, "composite-express", yaml.safe_load(text))


@pytest.fixture
def sync_sfn(sfn: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    # StartSyncExecution's endpoint is sync-states.<region>; the local stack turns host prefixes off.
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    return boto3.client("stepfunctions", region_name="us-east-1")


def test_start_sync_execution_runs_an_express_child_and_answers_its_end(sync_sfn: Any) -> None:
    arn = composite_express(sync_sfn)
    child = arn.replace("composite-express", "chain-express")
    answer = sync_sfn.start_sync_execution(stateMachineArn=child, input=json.dumps({"payload": "x"}))
    assert (answer["status"], json.loads(answer["output"])) == ("SUCCEEDED", {"body": "x"})
    failed = sync_sfn.start_sync_execution(stateMachineArn=child, input=json.dumps({"payload": "bad"}))
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "InvalidPayload", "bad payload")
    with pytest.raises(sync_sfn.exceptions.InvalidArn):  # a STANDARD machine has no synchronous start
        sync_sfn.start_sync_execution(stateMachineArn=arn, input="{}")


def test_composite_express_returns_children_outputs_in_order(sync_sfn: Any) -> None:
    description = run(sync_sfn, composite_express(sync_sfn), "ok", {"items": [{"payload": "a"}, {"payload": "b"}]})
    assert description["status"] == "SUCCEEDED", description
    assert json.loads(description["output"]) == {"results": [{"body": "a"}, {"body": "b"}]}


def test_composite_express_fails_naming_the_child_error(sync_sfn: Any) -> None:
    description = run(sync_sfn, composite_express(sync_sfn), "bad", {"items": [{"payload": "a"}, {"payload": "bad"}]})
    assert (description["status"], description["error"]) == ("FAILED", "States.QueryEvaluationError"), description
    assert "FAILED InvalidPayload: bad payload" in description["cause"]


JSONPATH_RESULT_PATH = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.x", "End": True}}}
#: Refused by the parser inside its JSONata scope (ResultPath is JSONPath only).
JSONATA_WITH_RESULT_PATH = {"QueryLanguage": "JSONata", **JSONPATH_RESULT_PATH}


def test_a_refused_jsonata_definition_leaves_later_jsonpath_definitions_running(sfn: Any) -> None:
    # moto alone: the refused parse left its JSONata scope in a list shared by every parse, so each
    # later JSONPath definition was refused too (its executions never ran).
    with pytest.raises(sfn.exceptions.ClientError, match="Unsupported declaration"):
        machine(sfn, "refused", JSONATA_WITH_RESULT_PATH)
    description = run(sfn, machine(sfn, "after", JSONPATH_RESULT_PATH), "a", {})
    assert description["status"] == "SUCCEEDED" and json.loads(description["output"]) == {"x": 1}, description


def test_concurrent_parses_keep_their_own_query_language() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    stepfunctions.install()
    try:
        jsonata = json.dumps({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% 1 %}", "End": True}}})
        jsonpath = json.dumps(JSONPATH_RESULT_PATH)

        def parse(index: int) -> bool:
            AmazonStateLanguageParser.parse(jsonata if index % 2 else jsonpath)
            return True

        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(parse, range(64)))
    finally:
        stepfunctions.uninstall()
