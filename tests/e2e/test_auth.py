"""Authorization on the local stack as the committed ``Pulumi.dev.yaml`` configures it (AWS_IAM).

Every route answers 403 to an unsigned request, GET included, but the callback completion routes
(proven by the per-task secret); the ``try:`` lines the stack prints work as printed, with curl's
own SigV4 signer.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import json
import uuid

import pytest

#: A request per AWS_IAM route of the demo stack (path parameters are unknown names: the gateway
#: must refuse before the handler would answer 404).
UNSIGNED = [
    ("chain", "POST", "/workflow", {"name": "x", "input": {}}),
    ("chain", "GET", "/workflow/nobody", None),
    ("composite", "POST", "/workflow", {"name": "x", "input": {"items": []}}),
    ("composite", "GET", "/workflow/nobody", None),
    ("callback", "POST", "/tasks", {"taskId": "x", "input": {}}),
    ("callback", "GET", "/tasks/nobody", None),
    ("pausable", "POST", "/jobs", {"jobId": "x", "input": {}}),
    ("pausable", "GET", "/jobs/nobody", None),
    ("pausable", "POST", "/jobs/nobody/resume", {"status": "SUCCEEDED", "output": {}}),
    ("monitored", "POST", "/monitored", {"workflowkey": "x", "input": {}}),
    ("monitored", "GET", "/monitored/nobody", None),
    ("monitored", "POST", "/monitored/nobody/events", {"type": "stop"}),
]


@pytest.mark.parametrize(("pattern", "method", "path", "body"), UNSIGNED, ids=[f"{p}:{m} {q}" for p, m, q, _ in UNSIGNED])
def test_an_unsigned_request_is_forbidden(local_stack, pattern, method, path, body) -> None:
    url = local_stack.endpoints[pattern] + path
    status, answer, headers = local_stack.request(method, url, json=body, signed=False)
    assert status == 403 and answer == {"message": "Forbidden"}, (status, answer)
    # The same request signed reaches the handler (its own answer, not the gateway's 403).
    status, answer, _ = local_stack.request(method, url, json=body)
    assert status != 403 and isinstance(answer, dict) and answer.get("message") != "Forbidden", (status, answer)


def test_a_signature_with_other_credentials_is_forbidden(local_stack) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = local_stack.endpoints["chain"] + "/workflow/nobody"
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials("testing", "not-the-secret"), "execute-api", local_stack.region).add_auth(request)
    status, answer, _ = local_stack.request("GET", url, headers=dict(request.headers.items()), signed=False)
    assert status == 403 and answer == {"message": "Forbidden"}


def test_the_callback_completion_routes_take_the_secret_not_a_signature(local_stack) -> None:
    # Unsigned: the handler answers (here 404 for an unknown task), not the gateway's 403; the secret
    # proof itself is tested in test_callback.py.
    url = local_stack.endpoints["callback"] + "/tasks/nobody"
    for path in ("", "/heartbeat"):
        method = "PUT" if not path else "POST"
        status, answer, _ = local_stack.request(method, url + path, json={"status": "SUCCEEDED", "output": {}}, signed=False)
        assert status != 403 and "error" in answer, (status, answer)


def _try_lines(log: str) -> list[str]:
    lines, take_next = [], False
    for line in log.splitlines():
        stripped = line.strip()
        if stripped.startswith("try: curl "):
            lines.append(stripped[len("try: "):])
            take_next = True
        elif take_next and stripped.startswith("curl "):
            lines.append(stripped)
            take_next = False
        else:
            take_next = False
    return lines


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_printed_try_lines_work_as_printed(local_stack) -> None:
    lines = _try_lines(local_stack.log())
    # One POST and one GET per pattern, every one signed.
    assert len(lines) == 2 * len(local_stack.endpoints), lines
    assert all("--aws-sigv4 aws:amz:us-east-1:execute-api --user testing:testing" in line for line in lines), lines
    run = uuid.uuid4().hex[:8]
    for line in lines:
        # The printed name is demo-1; a fresh one keeps the test repeatable on a long-lived stack.
        command = shlex.split(line.replace("demo-1", f"try-{run}")) + ["-w", "\n%{http_code}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
        body, _, code = result.stdout.rpartition("\n")
        assert code.startswith("2"), (line, code, body)
        json.loads(body)
        unsigned = [p for p in shlex.split(line) if p not in ("--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", "testing:testing")]
        result = subprocess.run(unsigned + ["-w", "\n%{http_code}"], capture_output=True, text=True, timeout=30, check=True)
        assert result.stdout.rpartition("\n")[2] == "403", (unsigned, result.stdout)
