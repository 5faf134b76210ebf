"""Distributed Map on the local stack: the example workflow, its S3 bucket and moto's gaps filled (local/distributed_map.py).

The machines are deployed once by ``Workflow`` under ``MotoCloud`` (the local stack's materializer)
and their executions started together; each test judges what a user sees: the execution's status,
error and output, the result files in S3 and the Map Run's counts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import boto3
import pulumi
import pulumi_aws as aws
import pytest
from moto import mock_aws

from local import distributed_map, stepfunctions
from local.cloud import MotoCloud
from local.program import run_inline
from sfn_patterns.patterns.workflow import Workflow
from tests.unit.helpers import InProcessAws, run_all

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workflows" / "distributed_map.yaml"
EXCEEDED = "States.ExceedToleratedFailureThreshold"
WRITER = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "${DataBucket}", "Prefix": "out"}}


def _machine(**fields: Any) -> dict[str, Any]:
    """A Distributed Map over ``$.items`` whose child fails (``Bad``) for an item whose ``ok`` is false."""
    child = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"}],
                  "Default": "Reject"},
        "Done": {"Type": "Pass", "End": True},
        "Reject": {"Type": "Fail", "Error": "Bad", "Cause": "item refused"}}}
    state = {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": child, **({} if "Next" in fields else {"End": True}), **fields}
    return {"StartAt": "Each", "States": {"Each": state}}


MACHINES = {
    "percentage": _machine(ToleratedFailurePercentage=25, ResultWriter=WRITER),
    "count": _machine(ToleratedFailureCount=1, ResultWriter=WRITER, Next="TooMany",
                      Catch=[{"ErrorEquals": [EXCEEDED], "ResultPath": "$.error", "Next": "TooMany"}]),
    "count_path": _machine(ToleratedFailureCountPath="$.tolerate"),
    "percentage_path": _machine(ToleratedFailurePercentagePath="$.pct"),
    "strict": _machine(MaxConcurrency=1, ResultWriter=WRITER),
    "both": _machine(ToleratedFailureCount=0, ToleratedFailurePercentage=50),
    "all": _machine(ToleratedFailurePercentage=100),
    "legacy_parameters": _machine(
        Parameters={"value.$": "$$.Map.Item.Value.n"}, ItemBatcher={"MaxItemsPerBatch": 5},
        ItemProcessor={"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Echo",
                       "States": {"Echo": {"Type": "Pass", "End": True}}}),
    "batched": _machine(
        ItemSelector={"value.$": "$$.Map.Item.Value.n", "index.$": "$$.Map.Item.Index", "tag.$": "$.tag"},
        ItemBatcher={"MaxItemsPerBatchPath": "$.size", "BatchInput": {"job": "j-1"}},
        ItemProcessor={"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Echo",
                       "States": {"Echo": {"Type": "Pass", "End": True}}}),
    "jsonata": {"QueryLanguage": "JSONata", "StartAt": "Each", "States": {"Each": {
        "Type": "Map", "Items": "{% $states.input.items %}", "ToleratedFailureCount": "{% $states.input.tolerate %}",
        "ItemSelector": {"n": "{% $states.context.Map.Item.Value.n %}", "ok": "{% $states.context.Map.Item.Value.ok %}"},
        "ItemBatcher": {"MaxItemsPerBatch": 2}, "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Check", "States": {
            "Check": {"Type": "Choice", "Default": "Done",
                      "Choices": [{"Condition": "{% $count($states.input.Items[ok = false]) > 0 %}", "Next": "Reject"}]},
            "Done": {"Type": "Pass", "End": True},
            "Reject": {"Type": "Fail", "Error": "Bad", "Cause": "batch refused"}}}}}},
}
MACHINES["count"]["States"]["TooMany"] = {"Type": "Pass", "End": True}


def _items(*oks: bool) -> list[dict[str, Any]]:
    return [{"n": n, "ok": ok} for n, ok in enumerate(oks)]


def _rows(count: int, without_amount: tuple[int, ...] = ()) -> bytes:
    return ("id,amount\n" + "".join(f"r{i},{'' if i in without_amount else i}\n" for i in range(count))).encode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The example and the test machines over one bucket, materialized into moto as the local stack does."""
    folder = tmp_path_factory.mktemp("workflows")
    for name, machine in MACHINES.items():
        (folder / f"{name}.json").write_text(json.dumps(machine))
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        stepfunctions.install()
        try:
            out: dict[str, Any] = {}

            def program() -> None:
                bucket = aws.s3.Bucket("data")
                subs = {"DataBucket": bucket.bucket}
                arns = {name: Workflow(name.replace("_", "-"), {"definition_file": str(folder / f"{name}.json"),
                                                                 "substitutions": subs}).arn for name in MACHINES}
                arns["example"] = Workflow("rows", {"definition_file": str(EXAMPLE), "substitutions": subs}).arn
                pulumi.Output.all(bucket.bucket, pulumi.Output.all(**arns)).apply(
                    lambda v: out.update(bucket=v[0], **v[1]))

            run_inline(MotoCloud(InProcessAws(), "http://127.0.0.1:1"), program)  # type: ignore[arg-type]
            yield out
        finally:
            stepfunctions.uninstall()


@pytest.fixture(scope="module")
def runs(stack: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every scenario's execution, run together (the example's rows are read from its bucket)."""
    s3 = boto3.client("s3", region_name="us-east-1")
    # 200 rows in 20 batches of 10; row 57 has no amount: its batch (10 rows, 5%) fails, within the 5%.
    s3.put_object(Bucket=stack["bucket"], Key="input/rows.csv", Body=_rows(200, without_amount=(57,)))
    return run_all({
        "example": (stack["example"], {}),
        "below": (stack["percentage"], {"items": _items(True, False, True, True, True)}),  # 20% < 25%
        "at_percentage": (stack["percentage"], {"items": _items(True, True, False, True)}),  # 25% = 25%
        "above_percentage": (stack["percentage"], {"items": _items(False, True, False, True, True)}),  # 40%
        "at_count": (stack["count"], {"items": _items(False, True, True)}),
        "above_count": (stack["count"], {"items": _items(False, True, False)}),
        "count_path_at": (stack["count_path"], {"tolerate": 2, "items": _items(False, False, True)}),
        "count_path_above": (stack["count_path"], {"tolerate": 1, "items": _items(False, False, True)}),
        "percentage_path_at": (stack["percentage_path"], {"pct": 50, "items": _items(False, True)}),
        "percentage_path_above": (stack["percentage_path"], {"pct": 49, "items": _items(False, True)}),
        "strict": (stack["strict"], {"items": _items(True, False, True, True)}),
        "both": (stack["both"], {"items": _items(False, True, True, True)}),  # 25% < 50%, but 1 > count 0
        "all_fail": (stack["all"], {"items": _items(False, False)}),
        "batched": (stack["batched"], {"size": 2, "tag": "t", "items": _items(True, True, True)}),
        "legacy_parameters": (stack["legacy_parameters"], {"items": _items(True, True)}),
        # batches [0, 1] [2, 3] [4]: the second fails, its 2 items counted.
        "jsonata_at": (stack["jsonata"], {"tolerate": 2, "items": _items(True, True, False, True, True)}),
        "jsonata_above": (stack["jsonata"], {"tolerate": 1, "items": _items(True, True, False, True, True)}),
    })


def _s3_json(bucket: str, key: str) -> Any:
    return json.loads(boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read())


def _map_run(description: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    [run] = sfn.list_map_runs(executionArn=description["executionArn"])["mapRuns"]
    return sfn.describe_map_run(mapRunArn=run["mapRunArn"])


def _result_files(bucket: str, manifest_key: str) -> dict[str, list[dict[str, Any]]]:
    """Each status's records, read through the manifest (whose sizes must be the files')."""
    manifest = _s3_json(bucket, manifest_key)
    s3 = boto3.client("s3", region_name="us-east-1")
    files: dict[str, list[dict[str, Any]]] = {}
    for status, entries in manifest["ResultFiles"].items():
        files[status] = []
        for entry in entries:
            assert entry["Key"] == f"{manifest_key.rsplit('/', 1)[0]}/{status}_0.json"
            assert s3.head_object(Bucket=bucket, Key=entry["Key"])["ContentLength"] == entry["Size"]
            files[status] += _s3_json(bucket, entry["Key"])
    return files


def _inputs(records: list[dict[str, Any]]) -> list[Any]:
    return sorted((json.loads(r["Input"]) for r in records), key=json.dumps)


def _manifest(description: dict[str, Any]) -> str:
    return str(json.loads(description["output"])["ResultWriterDetails"]["Key"])


def test_example_tolerates_one_failed_batch_in_twenty(stack: dict[str, str], runs: dict[str, dict[str, Any]]) -> None:
    description = runs["example"]
    assert description["status"] == "SUCCEEDED", description
    details = json.loads(description["output"])["ResultWriterDetails"]
    assert details["Bucket"] == stack["bucket"] and details["Key"].startswith("results/")
    files = _result_files(stack["bucket"], details["Key"])
    [failed] = files["FAILED"]
    assert (failed["Status"], failed["Error"], failed["Cause"]) == ("FAILED", "MissingAmount", "a row of the batch has no amount")
    batch = json.loads(failed["Input"])
    # ItemSelector shaped each row, then the rows were batched (the batch of rows 50-59), BatchInput merged.
    assert batch["BatchInput"] == {"source": "input/rows.csv"}
    assert [row["row"] for row in batch["Items"]] == list(range(50, 60))
    assert batch["Items"][7] == {"id": "r57", "amount": "", "row": 57}
    assert sorted(b["Items"][0]["row"] for b in _inputs(files["SUCCEEDED"])) == [i * 10 for i in range(20) if i != 5]
    assert [json.loads(r["Output"]) for r in files["SUCCEEDED"]] == [{"rows": 10, "source": "input/rows.csv"}] * 19
    assert files["PENDING"] == []
    counts = _map_run(description)
    assert counts["status"] == "SUCCEEDED" and counts["toleratedFailurePercentage"] == 5.0
    assert {k: counts["itemCounts"][k] for k in ("total", "succeeded", "failed", "running", "pending")} == {
        "total": 200, "succeeded": 190, "failed": 10, "running": 0, "pending": 0}
    assert {k: counts["executionCounts"][k] for k in ("total", "succeeded", "failed", "running")} == {
        "total": 20, "succeeded": 19, "failed": 1, "running": 0}


def test_below_the_percentage_succeeds_with_the_failed_item_in_failed_file(
        stack: dict[str, str], runs: dict[str, dict[str, Any]]) -> None:
    description = runs["below"]
    assert description["status"] == "SUCCEEDED", description
    files = _result_files(stack["bucket"], _manifest(description))
    assert _inputs(files["FAILED"]) == [{"n": 1, "ok": False}]
    assert [(r["Status"], r["Error"], r["Cause"]) for r in files["FAILED"]] == [("FAILED", "Bad", "item refused")]
    assert _inputs(files["SUCCEEDED"]) == [{"n": n, "ok": True} for n in (0, 2, 3, 4)]
    assert [json.loads(r["Output"]) for r in files["SUCCEEDED"]] == [json.loads(r["Input"]) for r in files["SUCCEEDED"]]
    assert files["PENDING"] == []


def test_exactly_at_the_percentage_is_tolerated(stack: dict[str, str], runs: dict[str, dict[str, Any]]) -> None:
    description = runs["at_percentage"]
    assert description["status"] == "SUCCEEDED", description
    files = _result_files(stack["bucket"], _manifest(description))
    assert _inputs(files["FAILED"]) == [{"n": 2, "ok": False}]
    assert len(files["SUCCEEDED"]) == 3
    counts = _map_run(description)
    assert (counts["status"], counts["itemCounts"]["succeeded"], counts["itemCounts"]["failed"]) == ("SUCCEEDED", 3, 1)


def test_above_the_percentage_fails_the_map_and_still_writes_the_results(
        stack: dict[str, str], runs: dict[str, dict[str, Any]]) -> None:
    description = runs["above_percentage"]
    assert (description["status"], description["error"]) == ("FAILED", EXCEEDED), description
    assert description["cause"] == "The specified tolerated failure threshold was exceeded"
    run = _map_run(description)
    assert run["status"] == "FAILED"
    manifest = f"out/{run['mapRunArn'].split(':')[-1]}/manifest.json"
    files = _result_files(stack["bucket"], manifest)
    # Once exceeded no more children start (on AWS a few more may run): the failed ones are failing
    # items, and every item is in exactly one file.
    assert {json.dumps(i) for i in _inputs(files["FAILED"])} <= {json.dumps({"n": n, "ok": False}) for n in (0, 2)}
    assert len(files["FAILED"]) >= 1
    assert sorted(i["n"] for s in files for i in _inputs(files[s])) == [0, 1, 2, 3, 4]


def test_count_at_threshold_succeeds_and_above_is_caught_by_its_error_name(runs: dict[str, dict[str, Any]]) -> None:
    assert runs["at_count"]["status"] == "SUCCEEDED", runs["at_count"]
    caught = runs["above_count"]
    assert caught["status"] == "SUCCEEDED", caught
    assert json.loads(caught["output"])["error"] == {"Error": EXCEEDED, "Cause": "The specified tolerated failure threshold was exceeded"}


def test_path_forms_read_the_tolerance_from_the_input(runs: dict[str, dict[str, Any]]) -> None:
    assert runs["count_path_at"]["status"] == "SUCCEEDED", runs["count_path_at"]
    assert (runs["count_path_above"]["status"], runs["count_path_above"]["error"]) == ("FAILED", EXCEEDED)
    # Without a ResultWriter the result holds each child's output, or the failed child's record.
    output = json.loads(runs["percentage_path_at"]["output"])
    assert output[1] == {"n": 1, "ok": True}
    assert {k: output[0][k] for k in ("Status", "Error", "Cause", "Input")} == {
        "Status": "FAILED", "Error": "Bad", "Cause": "item refused", "Input": json.dumps({"n": 0, "ok": False})}
    assert (runs["percentage_path_above"]["status"], runs["percentage_path_above"]["error"]) == ("FAILED", EXCEEDED)


def test_no_tolerance_fails_at_the_first_failure_and_leaves_the_rest_pending(
        stack: dict[str, str], runs: dict[str, dict[str, Any]]) -> None:
    description = runs["strict"]
    assert (description["status"], description["error"]) == ("FAILED", EXCEEDED)
    run = _map_run(description)
    manifest = f"out/{run['mapRunArn'].split(':')[-1]}/manifest.json"
    files = _result_files(stack["bucket"], manifest)
    # MaxConcurrency 1: item 0 succeeds, item 1 fails, items 2 and 3 never start.
    assert _inputs(files["SUCCEEDED"]) == [{"n": 0, "ok": True}]
    assert _inputs(files["FAILED"]) == [{"n": 1, "ok": False}]
    assert _inputs(files["PENDING"]) == [{"n": 2, "ok": True}, {"n": 3, "ok": True}]
    assert {r["Status"] for r in files["PENDING"]} == {"PENDING"}
    assert {k: run["itemCounts"][k] for k in ("total", "succeeded", "failed", "pending", "running")} == {
        "total": 4, "succeeded": 1, "failed": 1, "pending": 2, "running": 0}


def test_jsonata_count_counts_every_item_of_a_failed_batch(runs: dict[str, dict[str, Any]]) -> None:
    description = runs["jsonata_at"]
    assert description["status"] == "SUCCEEDED", description
    first, failed, last = json.loads(description["output"])
    assert (first, last) == ({"Items": _items(True, True)}, {"Items": [{"n": 4, "ok": True}]})
    assert (failed["Status"], failed["Error"], json.loads(failed["Input"])) == (
        "FAILED", "Bad", {"Items": [{"n": 2, "ok": False}, {"n": 3, "ok": True}]})
    counts = _map_run(description)
    assert (counts["toleratedFailureCount"], counts["itemCounts"]["failed"], counts["executionCounts"]["failed"]) == (2, 2, 1)
    assert (runs["jsonata_above"]["status"], runs["jsonata_above"]["error"]) == ("FAILED", EXCEEDED)


def test_both_given_fails_when_either_is_exceeded_and_100_percent_never_fails(runs: dict[str, dict[str, Any]]) -> None:
    assert (runs["both"]["status"], runs["both"]["error"]) == ("FAILED", EXCEEDED)
    assert runs["all_fail"]["status"] == "SUCCEEDED", runs["all_fail"]
    assert [r["Status"] for r in json.loads(runs["all_fail"]["output"])] == ["FAILED", "FAILED"]


def test_item_selector_applies_to_each_item_then_items_are_batched(runs: dict[str, dict[str, Any]]) -> None:
    description = runs["batched"]
    assert description["status"] == "SUCCEEDED", description
    assert json.loads(description["output"]) == [
        {"Items": [{"value": 0, "index": 0, "tag": "t"}, {"value": 1, "index": 1, "tag": "t"}], "BatchInput": {"job": "j-1"}},
        {"Items": [{"value": 2, "index": 2, "tag": "t"}], "BatchInput": {"job": "j-1"}},
    ]
    counts = _map_run(description)
    assert (counts["itemCounts"]["total"], counts["executionCounts"]["total"]) == (3, 2)
    legacy = runs["legacy_parameters"]  # Parameters, the Map's older name for ItemSelector
    assert json.loads(legacy["output"]) == [{"Items": [{"value": 0}, {"value": 1}]}], legacy


@pytest.mark.parametrize(("failed", "total", "count", "percentage", "exceeded"), [
    (0, 10, None, None, False), (1, 10, None, None, True),  # neither given: tolerance 0
    (1, 10, 1, None, False), (2, 10, 1, None, True),
    (1, 10, None, 10.0, False), (2, 10, None, 10.0, True), (1, 3, None, 33.3, True), (1, 3, None, 33.34, False),
    (1, 10, 0, 50.0, True), (6, 10, 9, 50.0, True), (5, 10, 9, 50.0, False),  # both: either exceeded
    (10, 10, None, 100.0, False), (1, 10, None, 0.0, True), (0, 0, None, 0.0, False),
])
def test_threshold_rule(failed: int, total: int, count: int | None, percentage: float | None, exceeded: bool) -> None:
    assert distributed_map.exceeds(failed, total, count, percentage) is exceeded


def test_batches_follow_max_items_max_bytes_and_batch_input() -> None:
    items = [{"n": i} for i in range(5)]
    assert [len(b["Items"]) for b in distributed_map.batch(items, {"MaxItemsPerBatch": 2})] == [2, 2, 1]
    assert [len(b["Items"]) for b in distributed_map.batch(items, {"MaxInputBytesPerBatch": 16})] == [2, 2, 1]
    assert distributed_map.batch(items[:1], {"MaxItemsPerBatch": 5, "BatchInput": {"job": "x"}}) == [
        {"Items": [{"n": 0}], "BatchInput": {"job": "x"}}]


def test_rewrite_takes_item_batcher_out_notes_the_tolerance_and_makes_it_decimal() -> None:
    definition = _machine(ItemBatcher={"MaxItemsPerBatch": 3}, ToleratedFailurePercentage=5,
                          ItemSelector={"x.$": "$$.Map.Item.Value"})
    text, configs = distributed_map.rewrite(json.dumps(definition))
    state = json.loads(text)["States"]["Each"]
    assert "ItemBatcher" not in state and state["ToleratedFailurePercentage"] == 5.0
    assert state["ItemSelector"] == {"x.$": "$$.Map.Item.Value"}
    assert (configs["Each"].batcher, configs["Each"].percentage_given, configs["Each"].count_given) == (
        {"MaxItemsPerBatch": 3}, True, False)
    for bad in ({"MaxItemsPerBatch": "{% 3 %}"}, {"MaxItemsPerBatch": 0}, {"MaxItems": 3}, {"BatchInput": {"a": "{% 1 %}"}}):
        with pytest.raises(ValueError, match="ItemBatcher"):
            distributed_map.rewrite(json.dumps(_machine(ItemBatcher=bad)))
