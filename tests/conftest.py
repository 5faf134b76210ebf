"""Shared test setup: fake AWS credentials (nothing may reach real AWS) and the handlers on sys.path."""

import ast
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "handlers", ROOT / "handlers" / "demo"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# Never real AWS: fake credentials and a fixed region for every boto3 client the tests create.
for key, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}.items():
    os.environ[key] = value

# CPython 3.11 keeps the AST constructor's recursion depth per interpreter (python/cpython#106905):
# two threads' ast.parse calls that interleave can raise "SystemError: AST constructor recursion
# depth mismatch" for valid source. The library serializes its own parses
# (sfn_patterns.blocks.imports.parse_module); in the tests pytest parses too (assertion rewriting,
# failure tracebacks) while the local stack's and Pulumi's threads run, and one such clash crashed a
# whole run with INTERNALERROR. Every ast.parse of the session goes through one lock, and one that
# still meets a parse outside it (C code) is tried once more.
_AST_PARSE = ast.parse
_AST_LOCK = threading.RLock()


def _serialized_parse(*args: Any, **kwargs: Any) -> Any:
    with _AST_LOCK:
        try:
            return _AST_PARSE(*args, **kwargs)
        except SystemError:
            return _AST_PARSE(*args, **kwargs)


ast.parse = _serialized_parse  # type: ignore[assignment]

# moto's Step Functions interpreter logs every failed state (expected in failure-path tests) with
# the whole parsed program; keep the test output readable.
logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
