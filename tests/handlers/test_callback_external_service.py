"""The demo external service: it calls the callback URL over real HTTP (a server on 127.0.0.1 started here).

First against a recording stub server (what it sends, how it treats 4xx/5xx/network errors), then
against a server that serves ``callback_api`` on a callback workflow running on moto.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator, Optional

import pytest

import callback_api
import external_service
from tests.handlers.conftest import http_event
from tests.handlers.test_callback_api import CallbackStack, make_stack  # noqa: F401 - fixture

Answer = Callable[[str, str, dict[str, str], Any], tuple[int, Any]]


class StubServer:
    """An HTTP server on 127.0.0.1 that records each request and answers with ``answer``."""

    def __init__(self, answer: Answer) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer = answer
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append({"method": self.command, "path": self.path, "headers": headers, "body": body})
                status, payload = server.answer(self.command, self.path, headers, raw)
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_PUT = do_POST = do_GET = _serve

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stub() -> Iterator[Callable[[Answer], StubServer]]:
    servers: list[StubServer] = []

    def start(answer: Answer) -> StubServer:
        servers.append(StubServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _sns_event(message: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(message)}}]}


def _notification(url: str, simulate: Optional[str] = None, task_id: str = "t-1") -> dict[str, Any]:
    task_input: dict[str, Any] = {"amount": 3}
    if simulate is not None:
        task_input["simulate"] = simulate
    return {"taskId": task_id, "input": task_input, "callbackUrl": f"{url}/tasks/{task_id}", "secret": "s3cret"}


def test_succeed_is_the_default_and_puts_the_output_with_the_secret(stub: Callable[[Answer], StubServer]) -> None:
    server = stub(lambda *_: (200, {"taskId": "t-1", "status": "SUCCEEDED"}))
    result = external_service.handler(_sns_event(_notification(server.url)))
    assert result == {"callbacks": {"t-1": [200]}}
    (request,) = server.requests
    assert request["method"] == "PUT" and request["path"] == "/tasks/t-1"
    assert request["headers"]["x-task-secret"] == "s3cret"
    assert request["headers"]["content-type"] == "application/json"
    assert request["body"] == {
        "status": "SUCCEEDED",
        "output": {"handledBy": "demo-external-service", "taskId": "t-1", "echo": {"amount": 3}},
    }


def test_fail_reports_a_named_error(stub: Callable[[Answer], StubServer]) -> None:
    server = stub(lambda *_: (200, {}))
    external_service.handler(_sns_event(_notification(server.url, "fail")))
    body = server.requests[0]["body"]
    assert body["status"] == "FAILED" and body["error"] == "ExternalServiceFailed" and body["cause"]


def test_ignore_never_calls_back(stub: Callable[[Answer], StubServer]) -> None:
    server = stub(lambda *_: (200, {}))
    assert external_service.handler(_sns_event(_notification(server.url, "ignore"))) == {"callbacks": {"t-1": []}}
    assert server.requests == []


def test_twice_sends_two_concurrent_callbacks(stub: Callable[[Answer], StubServer]) -> None:
    lock = threading.Lock()
    arrived = threading.Event()
    count = {"n": 0}

    def first_wins(*_: Any) -> tuple[int, Any]:
        with lock:
            count["n"] += 1
            first = count["n"] == 1
        if first:  # hold the first answer until the second request has arrived: they overlap
            assert arrived.wait(5)
            return 200, {}
        arrived.set()
        return 409, {"error": "AlreadyCompleted"}

    server = stub(first_wins)
    result = external_service.handler(_sns_event(_notification(server.url, "twice")))
    assert result == {"callbacks": {"t-1": [200, 409]}}
    assert len(server.requests) == 2 and server.requests[0]["body"] == server.requests[1]["body"]


def test_unknown_simulation_fails_the_task(stub: Callable[[Answer], StubServer]) -> None:
    server = stub(lambda *_: (200, {}))
    external_service.handler(_sns_event(_notification(server.url, "explode")))
    assert server.requests[0]["body"]["error"] == "UnsupportedSimulation"


def test_a_4xx_answer_is_reported_not_retried(stub: Callable[[Answer], StubServer]) -> None:
    server = stub(lambda *_: (410, {"error": "TaskTimedOut"}))
    assert external_service.handler(_sns_event(_notification(server.url))) == {"callbacks": {"t-1": [410]}}


def test_a_5xx_answer_or_no_server_raises_so_the_invocation_is_retried(stub: Callable[[Answer], StubServer]) -> None:
    server = stub(lambda *_: (503, {"error": "Unavailable"}))
    with pytest.raises(external_service.CallbackFailed):
        external_service.handler(_sns_event(_notification(server.url)))
    url = server.url
    server.close()
    with pytest.raises(external_service.CallbackFailed):
        external_service.handler(_sns_event(_notification(url)))


# --- against the real routes on moto -----------------------------------------------------------


def _serve_callback_api(method: str, path: str, headers: dict[str, str], raw: str) -> tuple[int, Any]:
    """Route a request to ``callback_api`` as API Gateway would (payload format 2.0)."""
    parts = path.strip("/").split("/")
    if method == "PUT" and len(parts) == 2:
        route, params = "PUT /tasks/{taskId}", {"taskId": parts[1]}
    elif method == "POST" and len(parts) == 3 and parts[2] == "heartbeat":
        route, params = "POST /tasks/{taskId}/heartbeat", {"taskId": parts[1]}
    else:
        return 404, {"error": "NotFound"}
    response = callback_api.handler(http_event(route, path=params, headers=headers, raw_body=raw))
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize(
    ("simulate", "status", "expected"),
    [("succeed", "SUCCEEDED", [200]), ("fail", "FAILED", [200]), ("twice", "SUCCEEDED", [200, 409])],
)
def test_the_service_completes_real_tasks_over_http(
    make_stack: Callable[..., CallbackStack],  # noqa: F811 - the fixture
    stub: Callable[[Answer], StubServer],
    monkeypatch: pytest.MonkeyPatch,
    simulate: str,
    status: str,
    expected: list[int],
) -> None:
    stack = make_stack()
    server = stub(_serve_callback_api)
    monkeypatch.setenv("API_URL", server.url)
    assert stack.start("job-1", {"simulate": simulate})[0] == 202
    message = stack.notification("job-1")
    assert message["callbackUrl"] == f"{server.url}/tasks/job-1"
    assert external_service.handler(_sns_event(message)) == {"callbacks": {"job-1": expected}}
    description = stack.execution("job-1")
    assert description["status"] == status
    if status == "SUCCEEDED":
        assert json.loads(description["output"])["echo"] == {"simulate": simulate}
    else:
        assert description["error"] == "ExternalServiceFailed"
    assert stack.row("job-1")["status"] == status
