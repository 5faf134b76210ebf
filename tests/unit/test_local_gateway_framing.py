"""The local HTTP API adapter over raw sockets: a client's mistake is a 4xx JSON answer, never a 5xx,
an HTML page or a reset, whatever the method or framing; a burst of 50 connections is served."""

from __future__ import annotations

import json
import socket
import threading
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from tests.unit.test_local_gateway import api_url  # noqa: F401 - the module's fixture

TIMEOUT = 10


@pytest.fixture(scope="module")
def target(api_url: str) -> Iterator[tuple[str, int, str]]:  # noqa: F811
    parts = urlsplit(api_url)
    yield parts.hostname, parts.port, parts.path


def exchange(target: tuple[str, int, str], raw: bytes, half_close: bool = True) -> bytes:
    """Send ``raw`` on a fresh connection and read the whole answer (the server closes after it)."""
    host, port, _ = target
    with socket.create_connection((host, port), timeout=TIMEOUT) as conn:
        conn.sendall(raw)
        if half_close:
            conn.shutdown(socket.SHUT_WR)
        received = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return received
            received += chunk


def parse(answer: bytes) -> tuple[int, dict[str, str], object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", len(body)))
    return status, headers, json.loads(body[:length])


def request(target: tuple[str, int, str], method: str, path: str, headers: str = "", body: bytes = b"") -> bytes:
    _, _, prefix = target
    return f"{method} {prefix}{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode("iso-8859-1") + body


def assert_client_error(answer: bytes, *statuses: int) -> dict:
    status, headers, body = parse(answer)
    assert 400 <= status < 500, answer[:300]
    if statuses:
        assert status in statuses, answer[:300]
    assert headers["content-type"] == "application/json", headers
    assert isinstance(body, dict) and isinstance(body.get("message"), str), body
    return body


@pytest.mark.parametrize("method", ["BREW", "PROPFIND", "TRACE", "CONNECT", "M-SEARCH", "get", "X" * 200])
def test_any_method_is_a_4xx_json(target, method: str) -> None:
    assert_client_error(exchange(target, request(target, method, "/items/a", "Connection: close\r\n")), 404)


@pytest.mark.parametrize(
    ("name", "headers", "body"),
    [
        ("non-numeric-length", "Content-Length: ten\r\n", b"0123456789"),
        ("negative-length", "Content-Length: -5\r\n", b""),
        ("length-with-sign", "Content-Length: +5\r\n", b"12345"),
        ("conflicting-lengths", "Content-Length: 2\r\nContent-Length: 3\r\n", b"123"),
        ("length-and-chunked", "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n"),
        ("unknown-encoding", "Transfer-Encoding: gzip\r\n", b"xx"),
        ("bad-chunk-size", "Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n"),
        ("empty-chunk-size", "Transfer-Encoding: chunked\r\n", b"\r\nabc\r\n0\r\n\r\n"),
        ("short-chunk", "Transfer-Encoding: chunked\r\n", b"10\r\nabc"),
        ("chunk-without-crlf", "Transfer-Encoding: chunked\r\n", b"3\r\nabcdef0\r\n\r\n"),
        ("truncated-chunked", "Transfer-Encoding: chunked\r\n", b"3\r\nabc\r\n"),
        ("short-body", "Content-Length: 100\r\n", b"only ten.."),
    ],
)
def test_malformed_framing_is_a_400_json(target, name: str, headers: str, body: bytes) -> None:
    assert_client_error(exchange(target, request(target, "POST", "/items", headers, body)), 400)


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /x HTTP/9.9\r\nHost: a\r\n\r\n",
        b"GET /x HTTP/1.1\r\nbad header line\r\n\r\n",
        b"GET /x HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"GET /x HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n",
    ],
    ids=["no-request-line", "http-9.9", "header-without-colon", "header-too-long", "line-too-long", "too-many-headers"],
)
def test_a_request_the_parser_refuses_is_a_4xx_json(target, raw: bytes) -> None:
    assert_client_error(exchange(target, raw))


def test_unicode_digits_in_content_length_are_a_400_json(target) -> None:
    raw = request(target, "POST", "/items").replace(b"\r\n\r\n", "\r\nContent-Length: \u0661\u0662\r\n\r\n".encode()) + b"1" * 12
    assert_client_error(exchange(target, raw), 400)


def test_a_good_chunked_request_still_works(target) -> None:
    body = b"{}"
    headers = "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\nConnection: close\r\n"
    raw = request(target, "GET", "/items/a", headers, b"2\r\n" + body + b"\r\n0\r\n\r\n")
    status, _, event = parse(exchange(target, raw))
    assert status == 201 and event["body"] == "{}"


def test_a_body_that_never_arrives_is_a_408_not_a_hang() -> None:
    # Half-open: the client announces 100 bytes, sends 10 and waits; the server gives up with 408
    # (after READ_TIMEOUT_SECONDS, 30; 1 here). The body is read before any API is looked up.
    from local.gateway import HttpGateway

    gateway = HttpGateway(lambda_runtime=None, read_timeout=1).start()
    try:
        with socket.create_connection((gateway.host, gateway.port), timeout=TIMEOUT) as conn:
            conn.sendall(b"POST /api/items HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly ten..")
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
    finally:
        gateway.stop()
    assert_client_error(received, 408)


def test_50_concurrent_connections_are_never_reset(target) -> None:
    host, port, _ = target
    barrier = threading.Barrier(50)
    results: list[object] = [None] * 50

    def client(index: int) -> None:
        try:
            conn = socket.create_connection((host, port), timeout=TIMEOUT * 3)
            barrier.wait(TIMEOUT)
            with conn:
                conn.sendall(request(target, "GET", f"/items/c{index}", "Connection: close\r\n"))
                received = b""
                while chunk := conn.recv(65536):
                    received += chunk
            results[index] = parse(received)[0]
        except Exception as error:  # noqa: BLE001 - recorded and asserted below
            results[index] = error

    threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 4)
    assert results == [201] * 50, [r for r in results if r != 201][:5]


def test_the_listen_backlog_is_raised() -> None:
    from local.gateway import LISTEN_BACKLOG, HttpGateway

    gateway = HttpGateway(lambda_runtime=None)
    try:
        assert gateway._server.request_queue_size == LISTEN_BACKLOG >= 128
    finally:
        gateway.stop()
