"""Every Lambda of the program: its archive size, its handler's import (cold start) time and its memory.

The archives are the ``code`` AssetArchives the program declares (run under mocks: each file's
stripped text, ``sfn_patterns.blocks.stripped``, as Pulumi would deploy it), zipped as the
local stack deploys them (:func:`local.cloud.zip_archive`: entries sorted, fixed 1980-01-01
timestamps, mode 0644, deflated), so the size is the same on every run.

Import time: each measurement is a FRESH Python subprocess with the archive extracted into an empty
folder on ``sys.path`` (as Lambda puts the package root there) and ``PYTHONDONTWRITEBYTECODE=1`` (a
Lambda package carries no ``.pyc``: its modules compile at every cold start, while the runtime's
boto3 is precompiled, as in the venv). The subprocess first imports boto3 (timed: boto3's own
import), then the handler module (timed: the handler's own import on top of boto3). Medians over
the repeats are reported; boto3's median is taken over every subprocess.

Memory: the same subprocess then creates a boto3 client for each AWS service the function's role
lets it call (read from its policy: ``dynamodb:*`` actions -> a DynamoDB client, ``states:*`` -> Step
Functions ...) and reports its peak RSS: what the function's memory setting must hold (the Lambda
runtime adds its own few MB).
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from typing import Any, Callable

#: IAM action prefix -> the boto3 client a handler calls it with (``handlers/common/clients.py``).
#: Not here: ``logs``, ``xray`` (the runtime's) and ``sqs`` (a DLQ Lambda itself sends to).
CLIENT_OF_ACTION_PREFIX = {"dynamodb": "dynamodb", "states": "stepfunctions", "sns": "sns", "events": "events",
                           "lambda": "lambda"}

_PROBE = (
    "import sys, time\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "t = time.perf_counter(); import boto3; b = time.perf_counter() - t\n"
    "t = time.perf_counter(); __import__(sys.argv[2]); h = time.perf_counter() - t\n"
    "clients = [boto3.client(s, region_name='us-east-1') for s in sys.argv[3].split(',') if s]\n"
    # VmHWM: this process image's peak RSS (ru_maxrss would carry the forking parent's peak across exec).
    "peak = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1]\n"
    "print(b, h, peak)\n"
)


def program_functions(run: Any) -> list[dict[str, Any]]:
    """The Lambdas a program run declares: logical name, handler module, memory, archive bytes (compressed and not)."""
    from local.cloud import zip_archive

    functions = []
    for resource in run.of_type("aws:lambda/function:Function"):
        package = zip_archive(resource.inputs["code"])
        policy = json.loads(run.named_of("aws:iam/rolePolicy:RolePolicy", f"{resource.name}-policy").inputs["policy"])
        actions = [a for st in policy["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])]
        clients = sorted({CLIENT_OF_ACTION_PREFIX[a.split(":")[0]] for a in actions if a.split(":")[0] in CLIENT_OF_ACTION_PREFIX})
        functions.append(
            {
                "function": resource.name,
                "handler": str(resource.inputs.get("handler", "")).rsplit(".", 1)[0],
                "memoryMb": int(resource.inputs.get("memorySize") or 128),
                "architecture": (resource.inputs.get("architectures") or ["x86_64"])[0],
                # The compressed (deflated) size of the package as deployed, and what it unpacks to.
                "archiveBytes": len(package),
                "archiveUncompressedBytes": sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(package)).infolist()),
                "archiveFiles": len(zipfile.ZipFile(io.BytesIO(package)).namelist()),
                "clients": clients,
                "_package": package,
            }
        )
    return sorted(functions, key=lambda f: f["function"])


def _import_once(folder: str, module: str, clients: list[str]) -> tuple[float, float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"PYTHONDONTWRITEBYTECODE": "1", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"})
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, folder, module, ",".join(clients)],
        capture_output=True, text=True, env=env, cwd=folder, timeout=60,
    )
    if out.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{out.stderr[-2000:]}")
    boto3_seconds, handler_seconds, peak_kib = (float(x) for x in out.stdout.split())
    return boto3_seconds, handler_seconds, peak_kib / 1024  # VmHWM is in kB


def measure_imports(functions: list[dict[str, Any]], repeats: int, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Import-time medians and peak RSS per handler module (each module measured once, whichever functions share it)."""
    boto3_samples: list[float] = []
    per_module: dict[str, dict[str, Any]] = {}
    for fn in functions:
        module = fn["handler"]
        if module in per_module:
            continue
        samples, peaks = [], []
        with tempfile.TemporaryDirectory(prefix="sfn-bench-import-") as folder:
            zipfile.ZipFile(io.BytesIO(fn["_package"])).extractall(folder)
            for _ in range(repeats):
                boto3_seconds, handler_seconds, peak_mib = _import_once(folder, module, fn["clients"])
                boto3_samples.append(boto3_seconds)
                samples.append(handler_seconds)
                peaks.append(peak_mib)
        per_module[module] = {
            "medianMs": round(statistics.median(samples) * 1000, 2),
            "samplesMs": [round(s * 1000, 2) for s in samples],
            "peakRssMb": round(max(peaks), 1),
        }
    log(f"imports: {len(per_module)} handler modules x {repeats}")
    return {
        "repeats": repeats,
        "boto3MedianMs": round(statistics.median(boto3_samples) * 1000, 2),
        "boto3Samples": len(boto3_samples),
        "modules": per_module,
    }


def measure_lambdas(run: Any, repeats: int, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Archive size of every Lambda of ``run`` and its handler's import time."""
    functions = program_functions(run)
    imports = measure_imports(functions, repeats, log)
    rows = []
    for fn in functions:
        own = imports["modules"][fn["handler"]]["medianMs"]
        rows.append(
            {
                **{k: v for k, v in fn.items() if not k.startswith("_")},
                "importMs": own,
                "coldImportMs": round(own + imports["boto3MedianMs"], 2),
                "peakRssMb": imports["modules"][fn["handler"]]["peakRssMb"],
            }
        )
    return {"functions": rows, "imports": imports}
