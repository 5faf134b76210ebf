"""Checkov over the program's resources: the plan JSON (tests/policy/terraform.py) checked by the
``terraform_plan`` framework, its results read back per check and resource.

Checkov runs from a virtualenv of its own (``.venv-checkov``, from ``requirements-checkov.txt``):
its pins (boto3 1.35 ...) clash with the program's. It is created on first use (about 30 s), or
``$CHECKOV`` names a checkov executable to use instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-checkov"
REQUIREMENTS = ROOT / "requirements-checkov.txt"


@dataclass(frozen=True)
class CheckResult:
    """One Checkov check on one resource."""

    check_id: str
    """``CKV_AWS_50`` ..."""
    check_name: str
    """What the check asks for."""
    address: str
    """The resource's plan address (``aws_lambda_function.chain-shout``)."""
    passed: bool
    """Whether the resource passes it."""


def executable() -> Path:
    """The checkov command: ``$CHECKOV``, or ``.venv-checkov/bin/checkov`` (created when missing)."""
    if os.environ.get("CHECKOV"):
        return Path(os.environ["CHECKOV"])
    binary = VENV / "bin" / "checkov"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
    return binary


def version() -> str:
    """Checkov's version (``3.3.30``)."""
    return subprocess.run([str(executable()), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def run(plan_path: Path) -> list[CheckResult]:
    """Every check Checkov runs on the plan at ``plan_path``, passed and failed."""
    command = [str(executable()), "-f", str(plan_path), "--framework", "terraform_plan", "-o", "json", "--compact",
               "--skip-download", "--quiet"]
    # --quiet drops passed checks from the output; run without it.
    command.remove("--quiet")
    environment = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_NO_GUIDE": "TRUE", "LOG_LEVEL": "ERROR"}
    result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({result.returncode}):\n{result.stderr[-3000:]}")
    report: Any = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    found = []
    for entry in reports:
        for passed, key in ((True, "passed_checks"), (False, "failed_checks")):
            for check in entry["results"][key]:
                found.append(CheckResult(check["check_id"], check["check_name"], check["resource"], passed))
    return found
