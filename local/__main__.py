"""``python -m local``: run the Pulumi program on the embedded AWS and serve its HTTP APIs on 127.0.0.1.

Prints each pattern's local endpoint with its routes and a curl line to try, and the embedded AWS
endpoint for boto3 / the AWS CLI; serves until Ctrl-C or SIGTERM, then shuts down cleanly.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, Optional

from local.aws import ACCESS_KEY, SECRET_KEY
from local.program import PROJECT_DIR

#: A request to try per route key, printed as a curl line (documentation only; any route still works).
TRY_BODIES: dict[str, dict[str, Any]] = {
    "chain:POST /workflow": {"name": "demo-1", "input": {"payload": "hi mom"}},
    "composite:POST /workflow": {"name": "demo-1", "input": {"items": [{"payload": "ab"}, {"payload": "cd"}]}},
    "POST /workflow": {"name": "demo-1", "input": {}},
    "POST /tasks": {"taskId": "demo-1", "input": {"simulate": "succeed"}},
    "POST /monitored": {"workflowkey": "demo-1", "input": {}},
    "POST /jobs": {"jobId": "demo-1", "input": {}, "manual": False},
}


def parse_config(values: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs as a dict (keys as Pulumi writes them, e.g. ``sfn-patterns:callbackTimeoutSeconds``)."""
    config = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--config expects KEY=VALUE, got {item!r}")
        config[key.strip()] = value
    return config


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m local",
        description="Run the Pulumi program on an embedded AWS (moto) and serve its HTTP APIs on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8080, help="port of the HTTP APIs (0: any free port; default 8080)")
    parser.add_argument("--aws-port", type=int, default=4566, help="port of the embedded AWS (0: any free port; default 4566)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--program", type=Path, default=PROJECT_DIR / "__main__.py", help="the Pulumi program (default ./__main__.py)")
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml config is used (default dev)")
    parser.add_argument(
        "--config", action="append", default=[], metavar="KEY=VALUE",
        help="override a stack config value, e.g. sfn-patterns:callbackTimeoutSeconds=3 (repeatable)",
    )
    parser.add_argument("--ready-file", type=Path, help="write the endpoints as JSON to this file once serving")
    parser.add_argument(
        "--retry-delay", type=float, default=0.5, metavar="SECONDS",
        help="delay before the first retry of a failed asynchronous Lambda invocation (AWS: about 60; default 0.5)",
    )
    parser.add_argument(
        "--faults", type=Path, metavar="PLAN.json",
        help="for tests: inject the AWS API failures listed in this JSON file (re-read on change; see local/faults.py)",
    )
    parser.add_argument("--verbose", action="store_true", help="show moto's own logs (state machine errors in full)")
    return parser


def curl_line(url: str, route_key: str, body: Optional[dict[str, Any]], auth: str) -> str:
    """A curl command for a route (path parameters become ``demo-1``)."""
    method, _, path = route_key.partition(" ")
    path = "/".join("demo-1" if part.startswith("{") else part for part in path.split("/"))
    parts = ["curl", "-s"]
    if method != "GET":
        parts += ["-X", method]
    if auth == "AWS_IAM":
        parts += ["--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", f"{ACCESS_KEY}:{SECRET_KEY}"]
    if body is not None:
        parts += ["-H", "content-type: application/json", "-d", json.dumps(body, separators=(",", ":"))]
    parts.append(url.rstrip("/") + path)
    return " ".join(shlex.quote(p) for p in parts)


def banner(stack: Any) -> str:
    """What the command prints once serving."""
    lines = [
        f"sfn-patterns local stack: {stack.program.name} (stack {stack.stack}) is up in {stack.startup_seconds:.1f} s",
        "",
    ]
    routes = stack.routes()
    width = max((len(p) for p in stack.endpoints), default=0)
    for pattern, url in stack.endpoints.items():
        lines.append(f"  {pattern:<{width}}  {url}")
        for route_key, auth in routes.get(pattern, []):
            lines.append(f"  {'':<{width}}    {route_key}{'  (SigV4: AWS_IAM)' if auth == 'AWS_IAM' else ''}")
        posts = [(k, a) for k, a in routes.get(pattern, []) if k.startswith("POST ") and "{" not in k]
        if posts:
            key, auth = posts[0]
            body = TRY_BODIES.get(f"{pattern}:{key}", TRY_BODIES.get(key, {}))
            lines.append(f"  {'':<{width}}    try: {curl_line(url, key, body, auth)}")
            gets = [(k, a) for k, a in routes.get(pattern, []) if k.startswith("GET ")]
            if gets:
                lines.append(f"  {'':<{width}}         {curl_line(url, gets[0][0], None, gets[0][1])}")
        lines.append("")
    assert stack.aws is not None
    lines += [
        f"  embedded AWS (moto): {stack.aws.endpoint}   region {stack.region}, credentials {ACCESS_KEY}/{SECRET_KEY}",
        f"    e.g. AWS_ENDPOINT_URL={stack.aws.endpoint} AWS_ACCESS_KEY_ID={ACCESS_KEY} "
        f"AWS_SECRET_ACCESS_KEY={SECRET_KEY} AWS_DEFAULT_REGION={stack.region} aws stepfunctions list-state-machines",
        "",
        "Serving; press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``python -m local``."""
    args = build_parser().parse_args(argv)
    try:
        overrides = parse_config(args.config)
    except argparse.ArgumentTypeError as error:
        build_parser().error(str(error))
    if not args.program.is_file():
        build_parser().error(f"no program at {args.program}")
    if not args.verbose:
        # moto's interpreter logs every failed state in full; the execution's history says the same.
        logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from local.stack import LocalStack

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    stack = LocalStack(
        program=args.program, stack=args.stack, config=overrides, port=args.port, aws_port=args.aws_port,
        host=args.host, retry_delay_seconds=args.retry_delay,
    )
    try:
        stack.start()
    except OSError as error:
        print(f"local stack: cannot listen: {error} (try --port 0 / --aws-port 0 for free ports)", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - one clear line, then the details
        print(f"local stack: the program could not be deployed: {error}", file=sys.stderr)
        if args.verbose:
            traceback.print_exc()
        else:
            print("(run with --verbose for the traceback)", file=sys.stderr)
        return 1
    if args.faults:
        from local.faults import FaultInjector

        FaultInjector(args.faults).install()
    try:
        print(banner(stack), flush=True)
        if args.ready_file:
            stack.write_ready_file(args.ready_file)
        while not stop.wait(0.1):
            pass
        print("\nStopping...", flush=True)
    finally:
        stack.stop()
        if args.ready_file and args.ready_file.exists():
            args.ready_file.unlink()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is stopped and cleaned up; do not wait for handler threads still running (a Lambda
    # sleeping in an abandoned invocation) before the process ends.
    os._exit(code)
