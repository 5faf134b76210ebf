"""Shared test setup: fake AWS credentials (nothing may reach real AWS) and the handlers on sys.path."""

import logging
import os
import sys
from pathlib import Path

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

# moto's Step Functions interpreter logs every failed state (expected in failure-path tests) with
# the whole parsed program; keep the test output readable.
logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
