"""workflows/composite_distributed.yaml: the composite through a Distributed Map, past the inline limit.

Its role is rendered under Pulumi mocks and compared with what AWS documents; then it is deployed
by ``Workflow`` on ``MotoCloud`` (the local stack's materializer) over a stand-in chain (a Pass that
echoes the payload, a Fail for ``"bad"``) and run with many items (:data:`ITEMS`), with 3 and with a
failing item.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Iterator

import boto3
import pulumi
import pulumi_aws as aws
import pytest
from moto import mock_aws

from local import stepfunctions
from local.cloud import MotoCloud
from local.program import run_inline
from sfn_patterns.blocks import iam
from sfn_patterns.contracts.idempotent import MapItemsLimit, map_limit_problem
from sfn_patterns.patterns.workflow import Workflow
from tests.unit.helpers import DEMO_WORKFLOWS, InProcessAws, build, policy_statements, run_all

R, A = "us-east-1", "123456789012"
CHAIN = f"arn:aws:states:{R}:{A}:stateMachine:chain"
#: Items of the big run. The local stack spends about 25 ms of CPU per item (two executions parsed
#: and run by moto), so the default keeps the file at a few seconds; the parent's history is shown
#: not to grow with the items, which is what lifts the inline limit. COMPOSITE_DISTRIBUTED_ITEMS=2000
#: runs past the inline composite's 1,470 items (measured: passes in 50 to 65 s).
ITEMS = int(os.environ.get("COMPOSITE_DISTRIBUTED_ITEMS", "100"))
#: The stand-in chain: the payload back under "body" (as the real chain's envelope carries it), or
#: InvalidPayload for "bad" (as the real chain fails a payload it refuses).
CHAIN_DEFINITION = {"StartAt": "Check", "States": {
    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.payload", "StringEquals": "bad", "Next": "Bad"}],
              "Default": "Echo"},
    "Echo": {"Type": "Pass", "Parameters": {"body.$": "$.payload"}, "End": True},
    "Bad": {"Type": "Fail", "Error": "InvalidPayload", "Cause": "bad payload"}}}


def _allow(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def test_role_is_what_aws_documents_for_a_distributed_map_running_the_chain() -> None:
    run = build(lambda: Workflow("big", {
        "definition_file": "composite_distributed.yaml", "workflows_dir": DEMO_WORKFLOWS,
        "workflows": {"chain": CHAIN}, "substitutions": {"ResultsBucket": "results-bucket"}}))
    baseline = json.loads(json.dumps(iam.grant_log_delivery() + iam.grant_xray_write()))
    main = [s for s in policy_statements(run, "big-policy") if s not in baseline]
    [own_policy] = [r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "big-own-policy"]
    own = json.loads(own_policy.inputs["policy"])["Statement"]
    arn = run.named_of("aws:sfn/stateMachine:StateMachine", "big").state["arn"]
    # https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html (startExecution.sync:2)
    # https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html (ResultWriter)
    assert main == [
        _allow(["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
               ["arn:aws:s3:::results-bucket/results/*"]),
        _allow(["states:StartExecution"], [CHAIN]),
        _allow(["states:DescribeExecution", "states:StopExecution"], [f"arn:aws:states:{R}:{A}:execution:chain:*"]),
        _allow(["events:DescribeRule", "events:PutRule", "events:PutTargets"],
               [f"arn:aws:events:{R}:{A}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"]),
    ]
    # iam-policies-eg-dist-map.html: StartExecution on the machine itself, Describe/StopExecution on
    # its executions (the Map Run's children).
    assert own == [
        _allow(["states:StartExecution"], [arn]),
        _allow(["states:DescribeExecution", "states:StopExecution"], [arn.replace(":stateMachine:", ":execution:") + "/*"]),
    ]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The stand-in chain, the composite over it and its results bucket, materialized into moto."""
    folder = tmp_path_factory.mktemp("chain")
    (folder / "chain.json").write_text(json.dumps(CHAIN_DEFINITION))
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        stepfunctions.install()
        try:
            out: dict[str, Any] = {}

            def program() -> None:
                bucket = aws.s3.Bucket("results")
                chain = Workflow("chain", {"definition_file": str(folder / "chain.json")})
                big = Workflow("big", {"definition_file": "composite_distributed.yaml", "workflows_dir": DEMO_WORKFLOWS,
                                       "workflows": {"chain": chain.arn}, "substitutions": {"ResultsBucket": bucket.bucket}})
                pulumi.Output.all(bucket.bucket, big.arn, chain.arn).apply(
                    lambda v: out.update(bucket=v[0], big=v[1], chain=v[2]))

            run_inline(MotoCloud(InProcessAws(), "http://127.0.0.1:1"), program)  # type: ignore[arg-type]
            yield out
        finally:
            stepfunctions.uninstall()


@pytest.fixture(scope="module")
def runs(stack: dict[str, str]) -> dict[str, dict[str, Any]]:
    """:data:`ITEMS` items, 3 items, and 5 items the third of which the chain refuses, run together."""
    inputs = {
        "many": {"items": [{"payload": f"p{i}"} for i in range(ITEMS)]},
        "few": {"items": [{"payload": f"p{i}"} for i in range(3)]},
        "one-bad": {"items": [{"payload": "a"}, {"payload": "b"}, {"payload": "bad"}, {"payload": "c"}, {"payload": "d"}]},
    }
    # moto: about 25 ms of CPU per item
    return run_all({key: (stack["big"], data) for key, data in inputs.items()}, timeout=30 + ITEMS / 10, interval=0.05)


def _files(bucket: str, manifest_key: str) -> dict[str, list[dict[str, Any]]]:
    """Each status's records, read through the ResultWriter's manifest."""
    s3 = boto3.client("s3", region_name=R)

    def read(key: str) -> Any:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    manifest = read(manifest_key)
    return {status: [r for entry in entries for r in read(entry["Key"])] for status, entries in manifest["ResultFiles"].items()}


def test_the_parent_history_does_not_grow_with_the_items(runs: dict[str, dict[str, Any]]) -> None:
    # The inline composite writes up to 17 events per item into the parent (25,000 at most: 1,470
    # items); here each item's events are in its own child execution of the Map Run.
    sfn = boto3.client("stepfunctions", region_name=R)

    def events(key: str) -> list[str]:
        history = sfn.get_execution_history(executionArn=runs[key]["executionArn"], maxResults=1000)
        return [event["type"] for event in history["events"]]

    assert runs["few"]["status"] == "SUCCEEDED", runs["few"]
    assert events("many") == events("few")
    assert len(events("many")) < 20, events("many")


def test_many_items_all_succeed_with_their_chain_outputs(
        stack: dict[str, str], runs: dict[str, dict[str, Any]]) -> None:
    if ITEMS > 1470:
        inline = MapItemsLimit("items", 1470, 143, 3.0, 14)
        assert map_limit_problem(inline, {"items": [{}] * ITEMS})[0] == "TooManyItems"  # type: ignore[index]
    description = runs["many"]
    assert description["status"] == "SUCCEEDED", description
    results = json.loads(description["output"])["results"]
    assert results["Bucket"] == stack["bucket"] and results["Key"].startswith("results/")
    assert results["Key"].endswith("/manifest.json")
    files = _files(stack["bucket"], results["Key"])
    assert files.get("FAILED", []) == [] and files.get("PENDING", []) == []
    by_index = {json.loads(r["Input"])["index"]: r for r in files["SUCCEEDED"]}
    assert sorted(by_index) == list(range(ITEMS))
    for index, record in by_index.items():
        assert json.loads(record["Input"])["item"] == {"payload": f"p{index}"}
        assert json.loads(record["Output"]) == {"body": f"p{index}"}
    # Each chain child is named <sha1(parent ARN)>.<redrive count>.<index>, as in the inline composite.
    sfn = boto3.client("stepfunctions", region_name=R)
    prefix = hashlib.sha1(description["executionArn"].encode()).hexdigest()
    chain_execution = stack["chain"].replace(":stateMachine:", ":execution:") + f":{prefix}.0.{ITEMS - 1}"
    child = sfn.describe_execution(executionArn=chain_execution)
    assert (child["status"], json.loads(child["input"])) == ("SUCCEEDED", {"payload": f"p{ITEMS - 1}"})


def test_a_failed_item_fails_the_execution_and_is_written_with_the_chain_error(
        stack: dict[str, str], runs: dict[str, dict[str, Any]]) -> None:
    description = runs["one-bad"]
    assert (description["status"], description["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold"), description
    sfn = boto3.client("stepfunctions", region_name=R)
    [run] = sfn.list_map_runs(executionArn=description["executionArn"])["mapRuns"]
    files = _files(stack["bucket"], f"results/{run['mapRunArn'].split(':')[-1]}/manifest.json")
    [failed] = files["FAILED"]
    assert json.loads(failed["Input"])["item"] == {"payload": "bad"} and failed["Error"] == "States.TaskFailed"
    assert "InvalidPayload" in failed["Cause"]
    # Every item is in exactly one file (the others succeeded or, once the run failed, never started).
    indexes = sorted(json.loads(r["Input"])["index"] for records in files.values() for r in records)
    assert indexes == [0, 1, 2, 3, 4]
