"""Distributed Map on the local stack: the example workflow, its S3 bucket and moto's gaps filled (local/distributed_map.py)."""

from __future__ import annotations

import json
import time
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

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workflows" / "distributed_map.yaml"


class InProcessAws:
    region = "us-east-1"

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region)


@pytest.fixture
def deployed() -> Iterator[tuple[Any, str, str]]:
    """The example Distributed Map workflow and its bucket, materialized into moto as the local stack does."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        stepfunctions.install()
        try:
            out: dict[str, Any] = {}

            def program() -> None:
                bucket = aws.s3.Bucket("data")
                wf = Workflow("rows", {"definition_file": str(EXAMPLE), "substitutions": {"DataBucket": bucket.bucket}})
                pulumi.Output.all(wf.arn, bucket.bucket).apply(lambda v: out.update(arn=v[0], bucket=v[1]))

            run_inline(MotoCloud(InProcessAws(), "http://127.0.0.1:1"), program)  # type: ignore[arg-type]
            yield boto3.client("stepfunctions", region_name="us-east-1"), out["arn"], out["bucket"]
        finally:
            stepfunctions.uninstall()


def _run(sfn: Any, arn: str) -> dict[str, Any]:
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    return sfn.describe_execution(executionArn=execution)


def test_distributed_map_reads_csv_batches_rows_and_writes_results(deployed: tuple[Any, str, str]) -> None:
    sfn, arn, bucket = deployed
    s3 = boto3.client("s3", region_name="us-east-1")
    rows = "id,name\n" + "".join(f"{i},n{i}\n" for i in range(25))
    s3.put_object(Bucket=bucket, Key="input/rows.csv", Body=rows.encode())
    description = _run(sfn, arn)
    assert description["status"] == "SUCCEEDED", description
    details = json.loads(description["output"])["ResultWriterDetails"]
    assert details["Bucket"] == bucket and details["Key"].startswith("results/")
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=details["Key"])["Body"].read())
    [result_file] = manifest["ResultFiles"]["SUCCEEDED"]
    results = json.loads(s3.get_object(Bucket=bucket, Key=result_file["Key"])["Body"].read())
    # MaxItemsPerBatch 10: three children of 10, 10 and 5 rows.
    assert sorted(json.loads(r["Output"])["rows"] for r in results) == [5, 10, 10]


def test_batches_follow_max_items_max_bytes_and_batch_input() -> None:
    items = [{"n": i} for i in range(5)]
    assert [len(b["Items"]) for b in distributed_map.batch(items, {"MaxItemsPerBatch": 2})] == [2, 2, 1]
    assert [len(b["Items"]) for b in distributed_map.batch(items, {"MaxInputBytesPerBatch": 16})] == [2, 2, 1]
    assert distributed_map.batch(items[:1], {"MaxItemsPerBatch": 5, "BatchInput": {"job": "x"}}) == [
        {"Items": [{"n": 0}], "BatchInput": {"job": "x"}}]


def test_rewrite_takes_item_batcher_out_and_makes_tolerance_decimal() -> None:
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemBatcher": {"MaxItemsPerBatch": 3}, "ToleratedFailurePercentage": 5, "End": True,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}}
    text, batchers = distributed_map.rewrite(json.dumps(definition))
    state = json.loads(text)["States"]["M"]
    assert "ItemBatcher" not in state and state["ToleratedFailurePercentage"] == 5.0
    assert batchers == {"M": {"MaxItemsPerBatch": 3}}
    definition["States"]["M"]["ItemSelector"] = {"x.$": "$$.Map.Item.Value"}
    with pytest.raises(ValueError, match="ItemBatcher with ItemSelector"):
        distributed_map.rewrite(json.dumps(definition))
