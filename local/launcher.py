"""The local stack in a subprocess, for the end-to-end tests and the benchmark: start it, wait until it serves, stop it.

``start`` runs ``python -m local`` on free ports (``--port 0 --aws-port 0``) from the project folder,
with the caller's options and ``--config`` overrides, and no ``AWS_*`` variables of the caller (the
stack sets its own), its output going to a log file. It returns once the stack has written its ready
file (the endpoints, the embedded AWS endpoint and the program's outputs, as JSON); if the stack
exits or is not ready in time, it is stopped and the error carries the tail of its log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from local.program import PROJECT_DIR


def start(
    workdir: Path,
    options: Sequence[str] = (),
    config: Mapping[str, str] | None = None,
    timeout: float = 120,
    log_name: str = "local.log",
) -> tuple[subprocess.Popen, dict[str, Any], Path]:
    """Start the stack (files in ``workdir``); return the process, the ready file's description and the log's path."""
    ready = workdir / "ready.json"
    log_path = workdir / log_name
    command = [sys.executable, "-m", "local", "--port", "0", "--aws-port", "0", "--ready-file", str(ready), *options]
    for key, value in (config or {}).items():
        command += ["--config", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONUNBUFFERED"] = "1"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            code = process.poll()
            stop(process)
            raise RuntimeError(
                f"the local stack did not start (exit code {code}):\n{log_path.read_text(errors='replace')[-5000:]}"
            )
        time.sleep(0.1)
    return process, json.loads(ready.read_text()), log_path


def stop(process: subprocess.Popen) -> None:
    """Stop the stack: SIGTERM (it shuts down cleanly), then kill if it has not exited within 15 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
