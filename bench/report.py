"""The benchmark's Markdown tables (the JSON is the result dict itself)."""

from __future__ import annotations

from typing import Any

from bench.costs import PARTS

_PART_TITLES = {
    "stateTransitions": "transitions",
    "lambdaRequests": "Lambda requests",
    "lambdaDuration": "Lambda GB-s",
    "dynamodb": "DynamoDB",
    "sns": "SNS",
    "sqs": "SQS",
    "eventbridge": "EventBridge",
    "api": "API",
    "logs": "log ingestion",
    "express": "Express",
}


def _money(value: float) -> str:
    return f"{value:.2f}" if value >= 1 or value == 0 else f"{value:.3f}"


def _num(value: Any) -> str:
    return str(value)


def _figure_row(pattern: str, label: str, f: dict[str, Any], ratio: str) -> str:
    transitions = _num(f["transitions"])
    if f.get("childTransitions"):
        transitions += f" (children {f['childTransitions']})"
    api = _num(f["httpApi"]) if not f.get("restApi") else f"{f['restApi']} REST"
    return (
        f"| {pattern} | {label} | {transitions} | {_num(f['lambda']['invocations'])} | "
        f"{_num(f['dynamodb']['reads'])} / {_num(f['dynamodb']['writes'])} | {_num(f['sqs'])} | {_num(f['sns'])} | "
        f"{_num(f['eventbridge'])} | {api} | {_num(f['logBytes']) if f.get('logBytes') else '–'} | "
        f"{_money(f['costPerMillion']['total'])} | {ratio} |"
    )


def markdown(result: dict[str, Any]) -> str:
    """All tables, with the command and the assumptions under them."""
    lines = [f"Command: `{result['command']}` ({result['mode']} mode, {result['runs']} run(s) per pattern, "
             f"{result['elapsedSeconds']} s)", ""]
    patterns = result.get("patterns", {})
    if patterns:
        lines += [
            "**Per execution (happy path), ours vs the seed design** — transitions billed (children included), "
            "Lambda invocations (all: API, workflow, async, subscribers), DynamoDB read / write request units, "
            "SQS, SNS and EventBridge requests, API requests, bytes ingested by CloudWatch Logs (Lambda, state machine "
            "and access logs; not measured for the seeds), USD per million executions (with log ingestion); "
            "ours / seed compares the cost without log ingestion",
            "",
            "| pattern | design | transitions | Lambda | DynamoDB R / W | SQS | SNS | EventBridge | API | log bytes | $ / 1M | ours / seed |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, entry in patterns.items():
            ours, seed = entry["ours"], entry["seed"]
            lines.append(_figure_row(name, "**ours**", ours, f"{entry['ratio']['cost']:.2f}"))
            lines.append(_figure_row("", seed["design"], seed, ""))
        lines += [
            "",
            "**Cost per million executions by part (USD)**",
            "",
            "| pattern | design | " + " | ".join(_PART_TITLES[p] for p in PARTS) + " | total |",
            "|---|---|" + "---|" * (len(PARTS) + 1),
        ]
        for name, entry in patterns.items():
            for label, f in (("ours", entry["ours"]), ("seed", entry["seed"])):
                c = f["costPerMillion"]
                lines.append(
                    f"| {name if label == 'ours' else ''} | {label} | "
                    + " | ".join(_money(c[p]) for p in PARTS)
                    + f" | {_money(c['total'])} |"
                )
        lines += ["", "Ratios ours / seed per figure: " + "; ".join(
            f"{name}: transitions {e['ratio']['transitions']}, Lambda {e['ratio']['lambdaInvocations']}, "
            f"cost {e['ratio']['cost']}" for name, e in patterns.items()
        ), ""]
    monthly = result.get("monthly")
    if monthly:
        namespaces = ", ".join(f"{n} {c}" for n, c in monthly["alarmsByNamespace"].items())
        lines += [
            "**Per month, whatever the traffic** (the bench stack's alarms and dashboard: the demo stack and the bench's variants, USD)",
            "",
            "| alarms | of which high resolution | alarms $ / month | dashboards | dashboards $ / month | total $ / month |",
            "|---|---|---|---|---|---|",
            f"| {monthly['alarms']} ({namespaces}) | {monthly['highResolutionAlarms']} | {monthly['alarmsUsd']:.2f} | "
            f"{monthly['dashboards']} | {monthly['dashboardsUsd']:.2f} | {monthly['totalUsd']:.2f} |",
            "",
            f"Free tier: an account's first 10 standard alarm metrics; {monthly['freeTier']}.",
            "",
        ]
    lambdas = result.get("lambdas")
    if lambdas:
        imports = lambdas["imports"]
        lines += [
            f"**Lambdas** — archive as deployed (deterministic deflated zip of the handler's import closure; "
            "compressed bytes, and what they unpack to); handler import = median of "
            f"{imports['repeats']} fresh subprocess import(s) with boto3 already imported; "
            f"boto3's own import: **{imports['boto3MedianMs']} ms** (median of {imports['boto3Samples']}); "
            "peak RSS = that process after importing boto3 and the handler and creating a client for each "
            "service the function's role lets it call",
            "",
            "| function | handler | memory MB | peak RSS MB | archive bytes | unpacked bytes | files | handler import ms | cold import incl. boto3 ms |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for fn in lambdas["functions"]:
            lines.append(
                f"| {fn['function']} | {fn['handler']} | {fn['memoryMb']} | {fn['peakRssMb']} | {fn['archiveBytes']} | "
                f"{fn['archiveUncompressedBytes']} | {fn['archiveFiles']} | {fn['importMs']} | {fn['coldImportMs']} |"
            )
        lines.append("")
    program = result.get("program")
    if program:
        main = program["main"]
        lines += [
            "**Program evaluation under mocks** (local.program + FakeCloud)",
            "",
            "| program | instances | resources | seconds | seconds / instance | resources / instance |",
            "|---|---|---|---|---|---|",
            f"| `__main__.py` | 1 | {main['resources']} | {main['seconds']} | {main['seconds']} | {main['resources']} |",
        ]
        for row in program["scaling"]:
            lines.append(
                f"| generated | {row['instances']} | {row['resources']} | {row['seconds']} | "
                f"{row['secondsPerInstance']} | {row['resourcesPerInstance']} |"
            )
        lines.append("")
    a = result["prices"]["assumptions"]
    lines += [
        f"Prices: us-east-1 list prices, {result['prices']['taken']} (`bench/prices.json`, with sources; not fetched "
        f"live). Lambda duration assumed {a['lambdaBilledMillisecondsPerInvocation']} ms per invocation at each "
        "function's memory (ours arm64: 128 MB, HTTP API handlers 256 MB; seeds x86_64 128 MB as published); DynamoDB 1 unit per read / write "
        "request; seed 000 uses REST APIs ($3.50 / 1M). Transitions: one per state entered (Map / Parallel states "
        "and every state of every iteration / branch included) plus Task retries; child executions' transitions "
        "are added to the pattern. Seed counts: `bench/seeds.py`.",
    ]
    return "\n".join(lines)
