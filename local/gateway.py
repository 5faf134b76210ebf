"""The HTTP API adapter: serves every API Gateway v2 HTTP API of the embedded AWS on 127.0.0.1.

moto 5.2.5 gap: moto stores HTTP APIs, routes, integrations and stages but serves none of them.
:class:`HttpGateway` does what API Gateway does for the subset the project uses:

- ``http://127.0.0.1:<port>/<apiId>/<path>`` is API ``apiId``'s ``$default`` stage (the Api's
  ``apiEndpoint`` output points here);
- routes are read from moto at request time and matched as API Gateway does: ``METHOD /path``
  with ``{param}`` segments and a greedy ``{proxy+}``, then ``ANY``, then ``$default``; the most
  specific route wins;
- Lambda proxy integrations (``AWS_PROXY``) get the payload format 2.0 event, and the function's
  answer is mapped back (``statusCode``/``headers``/``cookies``/``body``/``isBase64Encoded``, or a
  bare JSON value answered 200 as ``application/json``);
- ``AWS_IAM`` routes need a valid SigV4 signature (service ``execute-api``, the local
  credentials), checked with botocore's signer;
- API Gateway's own errors: 404 ``{"message":"Not Found"}``, 403 ``{"message":"Forbidden"}``,
  413 for bodies over 10 MB, 500 ``{"message":"Internal Server Error"}`` when the Lambda fails,
  503 ``{"message":"Service Unavailable"}`` when it outlives the integration timeout.

A client's mistake never gets a 5xx or an HTML page: any method is routed (an unknown one matches no
route: 404), and malformed framing (a request line or header the parser refuses, a non-numeric,
negative or repeated Content-Length, Content-Length beside chunked, a broken chunk, a body shorter
than announced) gets a 4xx JSON ``{"message": ...}`` and the connection is closed. The listen
backlog holds :data:`LISTEN_BACKLOG` pending connections, so a burst of clients is queued, not reset.

Not emulated: throttling (the stage's limits are stored, not enforced), authorizers other than
AWS_IAM, CORS configuration, custom domains and non-``$default`` stages.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.aws import ACCESS_KEY, ACCOUNT, SECRET_KEY

#: API Gateway's request payload limit.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: How much of a too-large body is read (and dropped) so the client can read the 413 answer.
MAX_DRAIN_BYTES = 64 * 1024 * 1024
#: How far a signature's X-Amz-Date may be from now (AWS allows 5 minutes of skew; 15 for SigV4 overall).
MAX_CLOCK_SKEW_SECONDS = 15 * 60
#: Pending connections the listening socket queues (Python's default of 5 resets a burst of clients).
LISTEN_BACKLOG = 1024
#: Seconds a connection may stay silent mid-request (a body shorter than its Content-Length) before 408.
READ_TIMEOUT_SECONDS = 30
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection"}
_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|x-www-form-urlencoded|javascript|.*\+json|.*\+xml))", re.I)


class FramingError(Exception):
    """The request's framing is broken (the client's mistake): answered ``status`` with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Route:
    """A route of an API as the gateway needs it."""

    route_key: str
    method: str
    path: str
    authorization_type: str
    integration: Any


def route_pattern(path: str) -> re.Pattern[str]:
    """The regex of a route path: ``{name}`` is one segment, ``{name+}`` the rest of the path."""
    parts = []
    for segment in path.strip("/").split("/") if path.strip("/") else []:
        match = re.fullmatch(r"\{([^}/+]+)(\+?)\}", segment)
        if match and match.group(2):
            parts.append(f"(?P<{_group(match.group(1))}>.+)")
        elif match:
            parts.append(f"(?P<{_group(match.group(1))}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


def _group(name: str) -> str:
    return "p_" + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in name)


def _ungroup(group: str) -> str:
    return re.sub(r"_([0-9a-f]+)_", lambda m: chr(int(m.group(1), 16)), group[2:])


def _specificity(route: Route) -> tuple[int, int, int]:
    """Higher is more specific: exact method over ANY, more literal segments, no greedy parameter."""
    segments = [s for s in route.path.strip("/").split("/") if s]
    literal = sum(1 for s in segments if not s.startswith("{"))
    greedy = any(s.endswith("+}") for s in segments)
    return (0 if route.method == "ANY" else 1, literal, 0 if greedy else 1)


def match_route(routes: list[Route], method: str, path: str) -> Optional[tuple[Route, dict[str, str]]]:
    """The route API Gateway would pick for ``method path`` (and its path parameters), or None."""
    candidates = []
    for route in routes:
        if route.route_key == "$default":
            continue
        if route.method not in (method, "ANY"):
            continue
        match = route_pattern(route.path).match(path)
        if match:
            params = {_ungroup(k): unquote(v) for k, v in match.groupdict().items()}
            candidates.append((route, params))
    if candidates:
        return max(candidates, key=lambda c: _specificity(c[0]))
    default = next((r for r in routes if r.route_key == "$default"), None)
    return (default, {}) if default else None


class _SignedHeadersAuth(SigV4Auth):
    """botocore's SigV4 signer, restricted to the headers the caller says it signed."""

    def __init__(self, credentials: Credentials, service: str, region: str, signed: list[str], payload_hash: str) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed
        self._payload_hash = payload_hash

    def headers_to_sign(self, request: AWSRequest) -> Any:
        from botocore.compat import HTTPHeaders

        headers = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or []:
                headers.add_header(name, value)
        return headers

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


def verify_sigv4(method: str, url: str, headers: dict[str, list[str]], body: bytes, region: str) -> Optional[str]:
    """None when the request carries a valid SigV4 signature for ``execute-api``; else why not."""
    authorization = (headers.get("authorization") or [""])[0]
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256\s+Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
        r"SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})\s*",
        authorization,
    )
    if not match:
        return "missing or malformed SigV4 Authorization header"
    access_key, date, scope_region, service, signed_headers, signature = match.groups()
    if access_key != ACCESS_KEY:
        return f"unknown access key {access_key!r}"
    if service != "execute-api":
        return f"signed for service {service!r}, not execute-api"
    if scope_region != region:
        return f"signed for region {scope_region!r}, not {region}"
    amz_date = (headers.get("x-amz-date") or [""])[0]
    try:
        when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return "missing or malformed X-Amz-Date"
    if not amz_date.startswith(date):
        return "X-Amz-Date does not match the credential scope date"
    if abs(time.time() - when.timestamp()) > MAX_CLOCK_SKEW_SECONDS:
        return "signature expired"
    signed = signed_headers.split(";")
    if "host" not in signed:
        return "the host header must be signed"
    if any(name not in headers for name in signed):
        return "a signed header is missing from the request"
    content_hash = next(iter(headers.get("x-amz-content-sha256") or []), None)
    payload_hash = content_hash if content_hash and content_hash != "UNSIGNED-PAYLOAD" else hashlib.sha256(body).hexdigest()
    if content_hash and content_hash not in ("UNSIGNED-PAYLOAD", hashlib.sha256(body).hexdigest()):
        return "x-amz-content-sha256 does not match the body"
    request = AWSRequest(method=method, url=url, data=body)
    for name in signed:
        for value in headers[name]:
            request.headers.add_header(name, value)
    request.context["timestamp"] = amz_date
    auth = _SignedHeadersAuth(Credentials(ACCESS_KEY, SECRET_KEY), "execute-api", region, signed, payload_hash)
    canonical = auth.canonical_request(request)
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    if not _constant_time_equal(expected, signature):
        return "signature does not match"
    return None


def _constant_time_equal(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


class HttpGateway:
    """Serves the HTTP APIs of the embedded AWS (see the module docstring)."""

    def __init__(
        self,
        lambda_runtime: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        account: str = ACCOUNT,
        quiet: bool = True,
        extra_stats: Optional[Any] = None,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self.lambda_runtime = lambda_runtime
        self.read_timeout = read_timeout
        self.extra_stats = extra_stats
        self.region = region
        self.account = account
        self.quiet = quiet
        self.requests = 0
        #: Receives each answer's status for the local alarms (:class:`local.alarms.Timeline`), if set.
        self.metrics: Any = None
        self._count_lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "local-apigateway"

            # Seconds a connection may wait for the request; StreamRequestHandler.setup reads it.
            timeout = read_timeout

            def _serve(self) -> None:
                gateway.handle(self)

            def __getattr__(self, name: str) -> Any:
                # Every method reaches the router (http.server answers an unknown one 501, in HTML).
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

            def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
                # http.server's own refusals (a bad request line or header, an unsupported HTTP
                # version, a line too long) are the client's mistake: 4xx JSON, never HTML or 5xx.
                status = code if 400 <= code < 500 else 400
                _, headers, body = _message(status, message or "Bad Request")
                self.close_connection = True
                # Refused before its version was read, a request counts as HTTP/0.9, which would
                # get a body without a status line.
                self.request_version = self.protocol_version
                self.send_response(status, message)
                for header, value in headers + [("Connection", "close"), ("Content-Length", str(len(body)))]:
                    self.send_header(header, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                if not gateway.quiet:
                    super().log_message(format, *args)

        class Server(ThreadingHTTPServer):
            request_queue_size = LISTEN_BACKLOG

        self._server = Server((host, port), Handler)
        self._server.daemon_threads = True
        self.host, self.port = host, self._server.server_port
        self._thread: Optional[threading.Thread] = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="apigw")

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: an API's URL is this plus ``/<apiId>``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> "HttpGateway":
        """Serve in a background thread (the port is bound from construction on)."""
        # Polled every 0.1 s for shutdown (socketserver's default 0.5 s is what stopping the stack waits for).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="http-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- request handling --------------------------------------------------------------------

    def _apis(self) -> dict[str, Any]:
        from moto.apigatewayv2.models import apigatewayv2_backends

        return apigatewayv2_backends[self.account][self.region].apis

    def routes(self, api: Any) -> list[Route]:
        """The routes of a moto API, with their integrations."""
        result = []
        for route in list(api.routes.values()):
            key = route.route_key
            method, _, path = key.partition(" ") if key != "$default" else ("ANY", "", "/")
            target = route.target or ""
            integration = api.integrations.get(target.split("/", 1)[1]) if target.startswith("integrations/") else None
            result.append(Route(key, method.upper(), path or "/", (route.authorization_type or "NONE").upper(), integration))
        return result

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        """Answer one HTTP request."""
        with self._count_lock:
            self.requests += 1
        try:
            status, headers, body = self._respond(request)
        except FramingError as error:
            request.close_connection = True
            status, headers, body = _message(error.status, error.message, [("Connection", "close")])
        except Exception as error:  # noqa: BLE001 - the gateway never dies on a request
            print(f"[local] HTTP API adapter error: {error!r}")
            status, headers, body = _message(500, "Internal Server Error")
        if self.metrics is not None and self._apis().get(_api_id(request.path)) is not None:
            self.metrics.api_answer(_api_id(request.path), "$default", status)
        request.send_response(status)
        for name, value in headers:
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)

    def _read_body(self, request: BaseHTTPRequestHandler) -> Optional[bytes]:
        """The request body, or None when it is larger than API Gateway accepts; :class:`FramingError`
        when its framing is broken."""
        try:
            return self._read_framed_body(request)
        except (TimeoutError, OSError) as error:
            raise FramingError(408, "Request Timeout: the body did not arrive") from error

    def _read_framed_body(self, request: BaseHTTPRequestHandler) -> Optional[bytes]:
        encodings = [v.strip().lower() for v in ",".join(request.headers.get_all("Transfer-Encoding") or []).split(",") if v.strip()]
        lengths = request.headers.get_all("Content-Length") or []
        if encodings:
            if encodings != ["chunked"]:
                raise FramingError(400, f"Bad Request: unsupported Transfer-Encoding {','.join(encodings)!r}")
            if lengths:
                raise FramingError(400, "Bad Request: Content-Length and Transfer-Encoding: chunked together")
            return self._read_chunked(request)
        if len(set(v.strip() for v in lengths)) > 1:
            raise FramingError(400, "Bad Request: conflicting Content-Length headers")
        text = lengths[0].strip() if lengths else "0"
        if not text.isdigit() or not text.isascii():
            raise FramingError(400, f"Bad Request: Content-Length must be a non-negative integer, got {text[:40]!r}")
        length = int(text)
        if length > MAX_BODY_BYTES:
            request.close_connection = True
            remaining = min(length, MAX_DRAIN_BYTES)
            while remaining > 0:
                chunk = request.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            return None
        body = request.rfile.read(length) if length else b""
        if len(body) < length:
            raise FramingError(400, f"Bad Request: the body ended after {len(body)} of {length} bytes")
        return body

    def _read_chunked(self, request: BaseHTTPRequestHandler) -> Optional[bytes]:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = request.rfile.readline(65537)
            size_text = line.split(b";")[0].strip()
            if not line.endswith(b"\n") or not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise FramingError(400, "Bad Request: malformed chunk size line")
            length = int(size_text, 16)
            if length == 0:
                while request.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields are ignored
                return b"".join(chunks)
            size += length
            if size > MAX_BODY_BYTES:
                request.close_connection = True
                return None
            chunk = request.rfile.read(length)
            if len(chunk) < length or request.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise FramingError(400, "Bad Request: a chunk is shorter than its size or not followed by CRLF")
            chunks.append(chunk)

    def _respond(self, request: BaseHTTPRequestHandler) -> tuple[int, list[tuple[str, str]], bytes]:
        body = self._read_body(request)
        if body is None:
            return _message(413, "Request Entity Too Large")
        split = urlsplit(request.path)
        segments = split.path.split("/", 2)
        if split.path == "/_local/stats":
            return 200, [("Content-Type", "application/json")], json.dumps(self.stats()).encode()
        api_id = segments[1] if len(segments) > 1 else ""
        api = self._apis().get(api_id)
        if api is None:
            return _message(404, "Not Found")
        path = "/" + (segments[2] if len(segments) > 2 else "")
        method = request.command  # case-sensitive (RFC 9110): "get" matches no GET route
        matched = match_route(self.routes(api), method, path)
        if matched is None:
            return _message(404, "Not Found")
        route, path_parameters = matched

        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        if route.authorization_type == "AWS_IAM":
            host = (headers.get("host") or [f"{self.host}:{self.port}"])[0]
            problem = verify_sigv4(method, f"http://{host}{request.path}", headers, body, self.region)
            if problem is not None:
                return _message(403, "Forbidden", [("x-amzn-ErrorType", "ForbiddenException"), ("x-local-reason", problem)])
        elif route.authorization_type not in ("NONE", ""):
            return _message(500, "Internal Server Error", [("x-local-reason", f"{route.authorization_type} not emulated")])

        integration = route.integration
        if integration is None or (integration.integration_type or "").upper() != "AWS_PROXY":
            return _message(500, "Internal Server Error", [("x-local-reason", "only Lambda proxy integrations are emulated")])
        event = self.event(api_id, route, method, split, path_parameters, headers, body, request.client_address[0])
        return self._invoke(integration, event)

    def event(
        self,
        api_id: str,
        route: Route,
        method: str,
        split: Any,
        path_parameters: dict[str, str],
        headers: dict[str, list[str]],
        body: bytes,
        source_ip: str,
    ) -> dict[str, Any]:
        """The payload format 2.0 event API Gateway sends the Lambda."""
        raw_path = split.path[len(api_id) + 1:] or "/"
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(split.query, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        cookies = [c.strip() for value in headers.get("cookie", []) for c in value.split(";") if c.strip()]
        flat_headers = {name: ",".join(values) for name, values in headers.items() if name != "cookie"}
        now = datetime.now(timezone.utc)
        content_type = flat_headers.get("content-type", "")
        is_text = not body or bool(_TEXT_TYPES.match(content_type))
        if is_text:
            try:
                text_body: Optional[str] = body.decode("utf-8")
            except UnicodeDecodeError:
                is_text = False
        request_context: dict[str, Any] = {
            "accountId": self.account,
            "apiId": api_id,
            "domainName": flat_headers.get("host", f"{self.host}:{self.port}"),
            "domainPrefix": api_id,
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": flat_headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
        if route.authorization_type == "AWS_IAM":
            request_context["authorizer"] = {
                "iam": {
                    "accessKey": ACCESS_KEY,
                    "accountId": self.account,
                    "callerId": ACCESS_KEY,
                    "principalOrgId": None,
                    "userArn": f"arn:aws:iam::{self.account}:root",
                    "userId": self.account,
                }
            }
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": raw_path,
            "rawQueryString": split.query,
            "headers": flat_headers,
            "requestContext": request_context,
            "isBase64Encoded": not is_text,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
        if path_parameters:
            event["pathParameters"] = path_parameters
        if body:
            event["body"] = text_body if is_text else base64.b64encode(body).decode()
        return event

    def _invoke(self, integration: Any, event: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        from moto.awslambda.utils import get_backend

        uri = integration.integration_uri or ""
        function_arn = uri.split("/functions/", 1)[1].rsplit("/invocations", 1)[0] if "/functions/" in uri else uri
        try:
            function = get_backend(self.account, self.region).get_function(function_arn)
        except Exception:  # noqa: BLE001 - a missing function is API Gateway's 500
            return _message(500, "Internal Server Error", [("x-local-reason", f"no function {function_arn}")])
        timeout = (integration.timeout_in_millis or 30000) / 1000
        future = self._pool.submit(self.lambda_runtime.run, function, event)
        try:
            result = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            return _message(503, "Service Unavailable")
        if result.failed:
            return _message(500, "Internal Server Error")
        try:
            return map_response(result.json())
        except (ValueError, TypeError, KeyError):
            return _message(500, "Internal Server Error")

    def stats(self) -> dict[str, Any]:
        """Request and Lambda invocation counters (``GET /_local/stats``), plus ``extra_stats()``."""
        stats = {"httpRequests": self.requests, "lambda": self.lambda_runtime.stats.snapshot()}
        if self.extra_stats is not None:
            stats.update(self.extra_stats())
        return stats


def _api_id(path: str) -> str:
    """The API id of a request path (``/<apiId>/...``)."""
    return urlsplit(path).path.split("/", 2)[1] if path.startswith("/") else ""


def map_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """API Gateway's mapping of a payload 2.0 Lambda response to an HTTP response."""
    if isinstance(result, dict) and "statusCode" in result:
        status = int(result["statusCode"])
        headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()
                   if str(k).lower() not in _HOP_HEADERS]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers += [(str(name), str(v)) for v in values]
        headers += [("Set-Cookie", str(c)) for c in result.get("cookies") or []]
        body = result.get("body")
        if body is None:
            data = b""
        elif result.get("isBase64Encoded"):
            data = base64.b64decode(body)
        else:
            data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
        return status, headers, data
    return 200, [("Content-Type", "application/json")], json.dumps(result).encode("utf-8")


def _message(status: int, message: str, extra: Optional[list[tuple[str, str]]] = None) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [("Content-Type", "application/json"), ("apigw-requestid", str(uuid.uuid4()))] + (extra or [])
    return status, headers, json.dumps({"message": message}).encode()

