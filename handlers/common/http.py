"""HTTP API (payload format 2.0) plumbing: routing, JSON bodies, errors as ``{"error", "message"}``.

A handler module declares a :class:`Router`, registers one function per route key, and exports
``handler = router.handler``. Anything the caller got wrong is raised as :class:`HttpError` and
answered with its 4xx status; an unexpected exception is logged and answered 500 without details.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable, Mapping, Optional

from common import documents, log

Response = dict[str, Any]
RouteFunction = Callable[["Request"], Response]

#: Largest request body the routes accept (bytes). Step Functions' own input limit is 256 KiB.
MAX_BODY_BYTES = 512 * 1024
JSON_HEADERS = {"content-type": "application/json"}


class HttpError(Exception):
    """An error answered to the caller: ``status`` with ``{"error": code, "message": message}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(code: str, message: str) -> HttpError:
    """A 400 error."""
    return HttpError(400, code, message)


def not_found(message: str) -> HttpError:
    """A 404 error."""
    return HttpError(404, "NotFound", message)


def conflict(message: str, code: str = "Conflict") -> HttpError:
    """A 409 error."""
    return HttpError(409, code, message)


def too_large(error: "documents.DocumentTooLarge") -> HttpError:
    """A 413 ``PayloadTooLarge`` for a document AWS would refuse."""
    return HttpError(413, "PayloadTooLarge", str(error))


def json_response(status: int, body: Any, headers: Optional[Mapping[str, str]] = None) -> Response:
    """A payload-2.0 response with a JSON body."""
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, **(headers or {})},
        # allow_nan=False: a body is always RFC 8259 JSON (no NaN or Infinity).
        "body": json.dumps(body, default=str, allow_nan=False),
    }


def error_response(error: HttpError) -> Response:
    """The response for an :class:`HttpError`."""
    return json_response(error.status, {"error": error.code, "message": error.message})


class Request:
    """A payload-2.0 HTTP API event, with typed accessors."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        self.route_key: str = event.get("routeKey", "")
        self.headers: dict[str, str] = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        self.path_parameters: dict[str, str] = dict(event.get("pathParameters") or {})
        context = event.get("requestContext") or {}
        domain = context.get("domainName")
        self.base_url = f"https://{domain}" if domain else ""

    def header(self, name: str) -> Optional[str]:
        """A request header (case-insensitive), or None."""
        return self.headers.get(name.lower())

    def path(self, name: str) -> str:
        """A path parameter; a missing one is a 400."""
        value = self.path_parameters.get(name)
        if value is None:
            raise bad_request("MissingPathParameter", f"path parameter {name!r} is missing")
        return value

    def raw_body(self) -> str:
        """The body as text (decoded from base64 when the API encoded it)."""
        body = self.event.get("body") or ""
        if self.event.get("isBase64Encoded"):
            try:
                return base64.b64decode(body).decode("utf-8")
            except (ValueError, UnicodeDecodeError) as error:
                raise bad_request("MalformedBody", "the body is not valid UTF-8 text") from error
        return body

    def json_object(self) -> dict[str, Any]:
        """The body parsed as a JSON object; anything else is a 400 (413 when too large)."""
        body = self.raw_body()
        if len(body.encode("utf-8")) > MAX_BODY_BYTES:
            raise HttpError(413, "PayloadTooLarge", f"the body is larger than {MAX_BODY_BYTES} bytes")
        if not body.strip():
            raise bad_request("MalformedJson", "the body is empty; send a JSON object")
        try:
            # Strict RFC 8259 (common.documents): no duplicate keys, NaN, Infinity or overflowing numbers.
            value = documents.loads(body)
        except documents.NotJson as error:
            raise bad_request("MalformedJson", f"the body is not valid JSON: {error}") from error
        if not isinstance(value, dict):
            raise bad_request("InvalidBody", "the body must be a JSON object")
        return value


class Router:
    """Maps route keys (``"POST /tasks"``) to functions; its :meth:`handler` is the Lambda entry point."""

    def __init__(self) -> None:
        self.routes: dict[str, RouteFunction] = {}

    def route(self, route_key: str) -> Callable[[RouteFunction], RouteFunction]:
        """Decorator registering a function for ``route_key``."""

        def register(function: RouteFunction) -> RouteFunction:
            self.routes[route_key] = function
            return function

        return register

    def handler(self, event: Mapping[str, Any], context: Any = None) -> Response:
        """Serve one HTTP API event."""
        request = Request(event)
        function = self.routes.get(request.route_key)
        try:
            if function is None:
                raise not_found(f"no route {request.route_key!r}")
            return function(request)
        except HttpError as error:
            log.info("request refused", route=request.route_key, status=error.status, error=error.code)
            return error_response(error)
        except Exception as error:  # noqa: BLE001 - last resort: never leak internals to callers
            log.error("request failed", route=request.route_key, exception=repr(error))
            return json_response(500, {"error": "InternalError", "message": "the request could not be completed"})
