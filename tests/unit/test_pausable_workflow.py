"""PausableWorkflow under Pulumi mocks: resources, parenting, IAM, encryption, TTL, redrive, ASL, knobs."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from sfn_patterns.patterns.pausable_workflow import PausableWorkflow, pausable_definition
from sfn_patterns.blocks.state_machine import iter_states
from local.program import FakeCloud, ProgramRun, run_program
from tests.unit.helpers import DEMO_HANDLERS, DEMO_PAUSABLE_STEPS, component_resources, build, policy_statements

LAMBDA = "aws:lambda/function:Function"


def _build(args: dict[str, Any] | None = None) -> ProgramRun:
    def program() -> None:
        workflow = PausableWorkflow("pz", {**DEMO_PAUSABLE_STEPS, **(args or {})})
        pulumi.export(
            "pz",
            {
                "url": workflow.url,
                "topic": workflow.resume_topic_arn,
                "table": workflow.table_name,
                "state_machine": workflow.state_machine_arn,
            },
        )

    return build(program)


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return _build({"pause_timeout_seconds": 120, "authorization_type": "AWS_IAM", "log_retention_days": 30})


def _definition(run: ProgramRun) -> dict[str, Any]:
    return json.loads(run.named_of("aws:sfn/stateMachine:StateMachine", "pz-workflow").inputs["definition"])


def _arn(run: ProgramRun, name: str) -> str:
    return run.named_of(LAMBDA, name).state["arn"]


def test_outputs_and_parenting(run: ProgramRun) -> None:
    outputs = run.outputs["pz"]
    assert outputs["url"] == run.named_of("aws:apigatewayv2/api:Api", "pz-api").state["apiEndpoint"]
    assert outputs["topic"] == run.named_of("aws:sns/topic:Topic", "pz-resume").state["arn"]
    assert outputs["table"] == run.named_of("aws:dynamodb/table:Table", "pz-pauses").state["name"]
    assert outputs["state_machine"] == run.named_of("aws:sfn/stateMachine:StateMachine", "pz-workflow").state["arn"]
    component = run.named("pz")
    assert component.type == "sfn-patterns:index:PausableWorkflow" and not component.custom
    # Every resource belongs to the component: directly, or through a building block it made.
    blocks = {r.type for r in component_resources(run) if not r.custom and r.name != "pz"}
    assert blocks == {"sfn-patterns:index:HandlerFunction", "sfn-patterns:index:StateMachine", "sfn-patterns:index:HttpApi"}
    for resource in component_resources(run):
        if resource.name == "pz":
            continue
        parent = resource.parent_types[-1]
        if not resource.custom:
            assert parent == "sfn-patterns:index:PausableWorkflow", resource.name
        else:
            assert parent == "sfn-patterns:index:PausableWorkflow" or parent in blocks, resource.name
    handlers = {fn.name: fn.inputs["handler"] for fn in run.of_type(LAMBDA)}
    assert handlers == {
        "pz-async-service": "pausable_async_service.handler",
        "pz-preprocess": "pausable_preprocess.handler",
        "pz-postprocess": "pausable_postprocess.handler",
        "pz-pause": "pausable_pause.handler",
        "pz-resume": "pausable_resume.handler",
        "pz-api": "pausable_api.handler",
    }


def test_table_is_encrypted_keyed_by_job_and_expires(run: ProgramRun) -> None:
    table = run.named_of("aws:dynamodb/table:Table", "pz-pauses")
    assert table.inputs["hashKey"] == "pk"
    assert table.inputs["serverSideEncryption"] == {"enabled": True}
    assert table.inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}


def test_topic_and_queues_are_encrypted(run: ProgramRun) -> None:
    assert run.named_of("aws:sns/topic:Topic", "pz-resume").inputs["kmsMasterKeyId"] == "alias/aws/sns"
    queues = run.of_type("aws:sqs/queue:Queue")
    assert queues and all(q.inputs["sqsManagedSseEnabled"] is True for q in queues)


def test_resume_subscription_has_a_redrive_policy_to_its_dead_letter_queue(run: ProgramRun) -> None:
    topic = run.named_of("aws:sns/topic:Topic", "pz-resume").state["arn"]
    dlq = run.named_of("aws:sqs/queue:Queue", "pz-resume-sns-dlq").state["arn"]
    subscription = run.named_of("aws:sns/topicSubscription:TopicSubscription", "pz-resume")
    assert subscription.inputs["topic"] == topic
    assert subscription.inputs["protocol"] == "lambda"
    assert subscription.inputs["endpoint"] == _arn(run, "pz-resume")
    assert json.loads(subscription.inputs["redrivePolicy"]) == {"deadLetterTargetArn": dlq}
    # Only this topic may send to the dead-letter queue, and only over TLS.
    policy = json.loads(run.named_of("aws:sqs/queuePolicy:QueuePolicy", "pz-resume-sns-dlq-policy").inputs["policy"])
    allow = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": topic}}
    assert any(s["Effect"] == "Deny" for s in policy["Statement"])
    # SNS may invoke the resume Lambda for this topic only.
    permission = run.named_of("aws:lambda/permission:Permission", "pz-resume-sns")
    assert permission.inputs["principal"] == "sns.amazonaws.com" and permission.inputs["sourceArn"] == topic
    # The asynchronously invoked Lambdas retry, then dead-letter.
    for name in ("pz-resume", "pz-async-service"):
        config = run.named_of("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", f"{name}-async")
        assert config.inputs["maximumRetryAttempts"] == 2


def _granted(run: ProgramRun, policy: str) -> dict[str, set[str]]:
    """action -> resources of a function role, less the logging/tracing every function has."""
    granted: dict[str, set[str]] = {}
    for statement in policy_statements(run, policy):
        for action in statement["Action"]:
            if action.startswith(("logs:", "xray:", "sqs:SendMessage")):
                continue
            granted.setdefault(action, set()).update(statement["Resource"])
    return granted


def test_each_role_holds_exactly_what_its_handler_uses(run: ProgramRun) -> None:
    table = run.named_of("aws:dynamodb/table:Table", "pz-pauses").state["arn"]
    topic = run.named_of("aws:sns/topic:Topic", "pz-resume").state["arn"]
    machine = run.named_of("aws:sfn/stateMachine:StateMachine", "pz-workflow").state["arn"]
    executions = machine.replace(":stateMachine:", ":execution:") + ":*"
    service = _arn(run, "pz-async-service")
    assert _granted(run, "pz-pause-policy") == {
        "dynamodb:PutItem": {table},
        "lambda:InvokeFunction": {service, f"{service}:*"},
    }
    assert _granted(run, "pz-resume-policy") == {
        "dynamodb:GetItem": {table},
        "dynamodb:UpdateItem": {table},
        "states:SendTaskSuccess": {machine},
        "states:SendTaskFailure": {machine},
        "states:DescribeExecution": {executions},  # the execution, not the row, says whether the job waits
    }
    assert _granted(run, "pz-api-policy") == {
        "states:StartExecution": {machine},
        "states:DescribeExecution": {executions},
        "states:ListExecutions": {machine},  # the operations routes
        "states:StopExecution": {executions},
        "states:RedriveExecution": {executions},
        "dynamodb:GetItem": {table},
        "dynamodb:UpdateItem": {table},
        "dynamodb:PutItem": {table},  # the start claim (created: true for exactly one caller)
        "dynamodb:DeleteItem": {table},
        "sns:Publish": {topic},
    }
    assert _granted(run, "pz-async-service-policy") == {"sns:Publish": {topic}}
    assert _granted(run, "pz-preprocess-policy") == {} and _granted(run, "pz-postprocess-policy") == {}
    # The state machine invokes its three Lambdas and nothing else (besides logging and tracing).
    invoked = set()
    for statement in policy_statements(run, "pz-workflow-policy"):
        if statement["Action"] == ["lambda:InvokeFunction"]:
            invoked.update(statement["Resource"])
        else:
            assert all(a.startswith(("logs:", "xray:")) for a in statement["Action"]), statement
    expected = {_arn(run, f"pz-{n}") for n in ("preprocess", "pause", "postprocess")}
    assert invoked == expected | {f"{arn}:*" for arn in expected}
    for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            assert not any("*" in action for action in statement["Action"]), policy.name


def test_function_environments(run: ProgramRun) -> None:
    def env(name: str) -> dict[str, str]:
        return run.named_of(LAMBDA, name).inputs["environment"]["variables"]

    table = run.named_of("aws:dynamodb/table:Table", "pz-pauses").state["name"]
    topic = run.named_of("aws:sns/topic:Topic", "pz-resume").state["arn"]
    assert env("pz-pause") == {
        "TABLE_NAME": table, "PAUSE_TIMEOUT_SECONDS": "120", "ASYNC_SERVICE_ARN": _arn(run, "pz-async-service"),
    }
    resume = env("pz-resume")
    assert set(resume) == {"TABLE_NAME", "RESERVED_ERROR_NAMES"} and resume["TABLE_NAME"] == table
    reserved = json.loads(resume["RESERVED_ERROR_NAMES"])
    assert {"AwsServiceUnavailable", "AsyncServiceUnavailable", "Lambda.ServiceException", "States.Timeout",
            "PauseTimedOut"} <= set(reserved)
    assert env("pz-api")["RESERVED_ERROR_NAMES"] == resume["RESERVED_ERROR_NAMES"]
    assert env("pz-async-service") == {"RESUME_TOPIC_ARN": topic}
    assert env("pz-api")["RESUME_TOPIC_ARN"] == topic and env("pz-api")["TABLE_NAME"] == table


def test_rendered_asl_pauses_with_a_timeout_and_a_named_catch(run: ProgramRun) -> None:
    definition = _definition(run)
    states = definition["States"]
    assert definition["StartAt"] == "Preprocess"
    assert [states[s].get("Next") for s in ("Preprocess", "Pause")] == ["Pause", "Postprocess"]
    assert states["Preprocess"]["Resource"] == _arn(run, "pz-preprocess")
    assert states["Postprocess"]["Resource"] == _arn(run, "pz-postprocess") and states["Postprocess"]["End"]
    pause = states["Pause"]
    assert pause["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert pause["Parameters"]["FunctionName"] == _arn(run, "pz-pause")
    assert pause["Parameters"]["Payload"] == {
        "token.$": "$$.Task.Token", "jobId.$": "$$.Execution.Name", "executionArn.$": "$$.Execution.Id", "job.$": "$",
    }
    assert pause["TimeoutSeconds"] == 120
    (catch,) = pause["Catch"]
    assert set(catch["ErrorEquals"]) == {"States.Timeout", "States.HeartbeatTimeout"}
    assert states[catch["Next"]] == {
        "Type": "Fail", "Error": "PauseTimedOut", "Cause": "the job was not resumed within 120 seconds",
    }
    # An invalid flag (the pause Lambda's InvalidManualFlag) is neither retried nor caught: it fails the run.
    retried = {e for r in pause["Retry"] for e in r["ErrorEquals"]}
    assert "InvalidManualFlag" not in retried and "AsyncServiceUnavailable" in retried
    # Three states on the happy path, as seed 004.
    assert len([s for _, s in iter_states(definition) if s["Type"] != "Fail"]) == 3


def test_routes_and_their_authorization(run: ProgramRun) -> None:
    routes = {r.inputs["routeKey"]: r.inputs["authorizationType"] for r in run.of_type("aws:apigatewayv2/route:Route")}
    assert routes == {
        "POST /jobs": "AWS_IAM", "GET /jobs/{jobId}": "AWS_IAM", "POST /jobs/{jobId}/resume": "AWS_IAM",
        "GET /jobs": "AWS_IAM", "DELETE /jobs/{jobId}": "AWS_IAM", "POST /jobs/{jobId}/redrive": "AWS_IAM",
    }


def test_defaults_and_custom_steps() -> None:
    run = _build({"preprocess": {"handler": "reverse"}, "postprocess": {"handler": "shout"},
                  "async_service": {"handler": "pausable_async_service", "environment": {"JOB_SECONDS": "3"}, "timeout": 20},
                  "authorization_type": "NONE"})
    assert run.named_of(LAMBDA, "pz-preprocess").inputs["handler"] == "reverse.handler"
    assert run.named_of(LAMBDA, "pz-postprocess").inputs["handler"] == "shout.handler"
    service = run.named_of(LAMBDA, "pz-async-service")
    assert service.inputs["timeout"] == 20 and service.inputs["environment"]["variables"]["JOB_SECONDS"] == "3"
    assert _definition(run)["States"]["Pause"]["TimeoutSeconds"] == 86400  # a day by default
    routes = {r.inputs["routeKey"]: r.inputs["authorizationType"] for r in run.of_type("aws:apigatewayv2/route:Route")}
    assert set(routes.values()) == {"NONE"}
    assert all(g.inputs["retentionInDays"] == 14 for g in run.of_type("aws:cloudwatch/logGroup:LogGroup"))


def test_steps_left_out_leave_the_pause_alone() -> None:
    run = build(lambda: PausableWorkflow("pz", {"handlers_dir": DEMO_HANDLERS, "async_service": {"handler": "pausable_async_service"}}))
    functions = {f.name for f in run.of_type(LAMBDA)}
    assert functions == {"pz-pause", "pz-async-service", "pz-resume", "pz-api"}  # no step Lambdas
    definition = _definition(run)
    assert definition["StartAt"] == "Pause" and set(definition["States"]) == {"Pause", "PauseTimedOut"}
    pause = definition["States"]["Pause"]
    assert pause["End"] is True and pause["ResultPath"] == "$"  # the resume's output is the execution's output
    # The role may invoke the pause Lambda only.
    invoked = {r for s in policy_statements(run, "pz-workflow-policy") if "lambda:InvokeFunction" in s["Action"]
               for r in s["Resource"]}
    assert invoked == {_arn(run, "pz-pause"), _arn(run, "pz-pause") + ":*"}


def test_one_step_can_be_left_out() -> None:
    definition = _definition(_build({"postprocess": None}))
    assert definition["StartAt"] == "Preprocess" and definition["States"]["Preprocess"]["Next"] == "Pause"
    assert definition["States"]["Pause"]["End"] is True and "Postprocess" not in definition["States"]
    definition = _definition(_build({"preprocess": None}))
    assert definition["StartAt"] == "Pause" and definition["States"]["Pause"]["Next"] == "Postprocess"
    assert definition["States"]["Pause"]["ResultPath"] == "$.result"


@pytest.mark.parametrize("timeout", [0, -5, 366 * 24 * 3600])
def test_an_unbounded_pause_is_refused(timeout: int) -> None:
    with pytest.raises(Exception, match="pause_timeout_seconds"):
        _build({"pause_timeout_seconds": timeout})


def test_definition_is_a_pure_function_of_the_timeout() -> None:
    assert pausable_definition(5)["States"]["Pause"]["TimeoutSeconds"] == 5
    assert pausable_definition(5) == pausable_definition(5)


def test_demo_stack_wires_the_pausable_workflow_and_its_knobs() -> None:
    run = run_program(
        FakeCloud(),
        config={"sfn-patterns:pauseTimeoutSeconds": "42", "sfn-patterns:pausableJobSeconds": "7"},
    )
    assert run.outputs["endpoints"]["pausable"] == run.named_of("aws:apigatewayv2/api:Api", "pausable-api").state["apiEndpoint"]
    machine = run.named_of("aws:sfn/stateMachine:StateMachine", "pausable-workflow")
    assert run.outputs["stateMachines"]["pausable"] == machine.state["arn"]
    assert json.loads(machine.inputs["definition"])["States"]["Pause"]["TimeoutSeconds"] == 42
    service = run.named_of(LAMBDA, "pausable-async-service")
    assert service.inputs["environment"]["variables"]["JOB_SECONDS"] == "7"
    assert service.inputs["timeout"] >= 7
