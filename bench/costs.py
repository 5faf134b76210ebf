"""The cost model: per-execution figures (ours or a seed's) priced with ``bench/prices.json``.

A figure set is a plain dict (the same shape for a measured pattern and a seed design):

``transitions``      billed state transitions (children included)
``lambda``           ``{"invocations": n, "functions": {name: {"invocations", "memoryMb", "architecture"}}}``
``dynamodb``         ``{"reads": n, "writes": n, "byAction": {...}}`` in request units (see the assumptions)
``sqs``, ``sns``, ``eventbridge``, ``httpApi``, ``restApi``   request counts
``logBytes``         bytes ingested by CloudWatch Logs (:mod:`bench.logs`; 0 when not measured, as for the seeds)

:func:`cost_parts` prices each part in USD per execution; the total is exactly their sum.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

PRICES_FILE = Path(__file__).resolve().parent / "prices.json"

#: DynamoDB data-plane actions and the request units each request consumes (see prices.json assumptions).
DYNAMODB_WRITES = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1, "BatchWriteItem": 1, "TransactWriteItems": 2}
DYNAMODB_READS = {"GetItem": 1, "Query": 1, "Scan": 1, "BatchGetItem": 1, "TransactGetItems": 2}

#: Order of the parts in tables and JSON.
PARTS = (
    "stateTransitions",
    "lambdaRequests",
    "lambdaDuration",
    "dynamodb",
    "sns",
    "sqs",
    "eventbridge",
    "api",
    "logs",
    "express",
)
#: The parts measured for ours and the seeds alike: the ratio ours / seed compares these.
COMPARABLE_PARTS = tuple(p for p in PARTS if p != "logs")


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    """The price file as a dict."""
    return json.loads(Path(path).read_text())


def dynamodb_units(by_action: Mapping[str, int]) -> dict[str, int]:
    """Read and write request units of a ``{action: requests}`` count (other actions are not billed per unit)."""
    return {
        "reads": sum(DYNAMODB_READS[a] * n for a, n in by_action.items() if a in DYNAMODB_READS),
        "writes": sum(DYNAMODB_WRITES[a] * n for a, n in by_action.items() if a in DYNAMODB_WRITES),
    }


def lambda_gb_seconds(functions: Mapping[str, Mapping[str, Any]], billed_ms: float) -> dict[str, float]:
    """GB-seconds per architecture for ``functions`` at ``billed_ms`` per invocation."""
    totals: dict[str, float] = {}
    for spec in functions.values():
        gb_s = spec["invocations"] * billed_ms / 1000 * spec["memoryMb"] / 1024
        totals[spec["architecture"]] = totals.get(spec["architecture"], 0.0) + gb_s
    return totals


def cost_parts(figures: Mapping[str, Any], prices: Mapping[str, Any]) -> dict[str, float]:
    """USD per execution of each part of ``figures`` (keys: :data:`PARTS`)."""
    p = {key: value["usd"] for key, value in prices["prices"].items()}
    billed_ms = prices["assumptions"]["lambdaBilledMillisecondsPerInvocation"]
    gb_seconds = lambda_gb_seconds(figures["lambda"]["functions"], billed_ms)
    duration = sum(
        seconds * (p["lambdaArm64GbSecond"] if arch == "arm64" else p["lambdaX86GbSecond"])
        for arch, seconds in gb_seconds.items()
    )
    events_per_call = prices["assumptions"]["eventBridgeEventsPerPutEvents"]
    return {
        "stateTransitions": figures["transitions"] * p["stepFunctionsStandardTransition"],
        "lambdaRequests": figures["lambda"]["invocations"] * p["lambdaRequest"],
        "lambdaDuration": duration,
        "dynamodb": figures["dynamodb"]["writes"] * p["dynamodbWriteRequestUnit"]
        + figures["dynamodb"]["reads"] * p["dynamodbReadRequestUnit"],
        "sns": figures["sns"] * p["snsPublish"],
        "sqs": figures["sqs"] * p["sqsRequest"],
        "eventbridge": figures["eventbridge"] * events_per_call * p["eventBridgeCustomEvent"],
        "api": figures["httpApi"] * p["httpApiRequest"] + figures.get("restApi", 0) * p["restApiRequest"],
        "logs": figures.get("logBytes", 0) / 1024**3 * p["cloudwatchLogsIngestionGb"],
        # Express child executions: per request and per GB-second of their billed duration.
        "express": figures.get("express", {}).get("requests", 0) * p["stepFunctionsExpressRequest"]
        + figures.get("express", {}).get("gbSeconds", 0.0) * p["stepFunctionsExpressGbSecond"],
    }


def express_gb_seconds(durations_ms: list[float], prices: Mapping[str, Any]) -> float:
    """GB-seconds of Express executions: each rounded up to 100 ms, at the billed memory (64 MB chunks)."""
    memory_gb = prices["assumptions"]["expressMemoryMb"] / 1024
    return sum(math.ceil(max(ms, 1) / 100) * 0.1 * memory_gb for ms in durations_ms)


def priced(figures: dict[str, Any], prices: Mapping[str, Any]) -> dict[str, Any]:
    """``figures`` plus ``costPerMillion``: each part, the total and the total without logs, in USD per million executions."""
    parts = cost_parts(figures, prices)
    per_million = {name: round(value * 1_000_000, 6) for name, value in parts.items()}
    per_million["total"] = round(sum(per_million[name] for name in PARTS), 6)
    per_million["comparable"] = round(sum(per_million[name] for name in COMPARABLE_PARTS), 6)
    return {**figures, "costPerMillion": per_million}
