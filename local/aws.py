"""The embedded AWS: moto 5.2.5 in server mode, inside the local stack's process.

Everything (the Pulumi mocks creating resources, the handlers, the tests, the benchmark, a user's
``aws`` CLI) talks to it over HTTP at :attr:`EmbeddedAws.endpoint` with the fixed local
credentials, so the embedded account can be inspected from outside while the stack runs.

Start-up costs of moto 5.2.5 and botocore are cut here (what moto answers is unchanged):

- **Service models parsed again and again**: every botocore session has a loader of its own, and
  moto makes fresh ones (its response parsing builds a loader per service, ``moto.ec2`` three
  sessions at import time, each backend one more lookup), so one service's JSON model was parsed
  up to four times, EC2's large one three times. Here every session and moto share one loader per
  data path (:func:`share_botocore_data`): botocore's bundled data does not change while the process runs.
- **Region lists**: boto3's ``Session.get_available_regions`` loads the service's whole model to
  read its endpoint prefix; each answer is computed once and reused.
- **API Gateway v2 requests** are signed for ``apigateway``, so moto's dispatcher builds the API
  Gateway (v1) application for them (importing ``openapi_spec_validator`` and pydantic), which
  hands ``/v2/`` paths to the v2 handlers. Here they go to the ``apigatewayv2`` application
  directly, as moto already does for SES v2's ``/v2/`` paths.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from typing import Any, Callable, Optional

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"
ACCOUNT = "123456789012"
#: moto's configuration for the local stack: run state machines for real (the ASL interpreter).
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def local_credentials_environment(endpoint: str, region: str = REGION) -> dict[str, str]:
    """Environment variables that point boto3 / the AWS CLI at the embedded AWS."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # StartSyncExecution goes to the sync-states.<region> host on AWS (a botocore host prefix);
        # the embedded AWS has one host, so clients add no prefix to it.
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }


_region_lookups: dict[tuple[str, str, bool], list[str]] = {}
_loaders: dict[Optional[str], Any] = {}
_loader_lock = threading.Lock()
_region_lock = threading.Lock()


def share_botocore_data() -> None:
    """One botocore data loader per data path for every session and for moto, and region lists computed
    once (see the module docstring). Process-wide and idempotent; never undone, as it changes no answer."""
    import boto3.session
    import botocore.loaders
    import botocore.session
    import moto.core.utils

    if getattr(botocore.session.create_loader, "_shared", False):
        return
    original_create_loader = botocore.loaders.create_loader

    def create_loader(search_path_string: Optional[str] = None) -> Any:
        with _loader_lock:
            if search_path_string not in _loaders:
                _loaders[search_path_string] = original_create_loader(search_path_string)
            return _loaders[search_path_string]

    create_loader._shared = True  # type: ignore[attr-defined]
    botocore.session.create_loader = create_loader  # sessions made from now on share it
    moto.core.utils.create_loader = create_loader  # moto's per-service model loads
    regions = botocore.session.Session()

    def get_available_regions(
        self: Any, service_name: str, partition_name: str = "aws", allow_non_regional: bool = False
    ) -> list[str]:
        key = (service_name, partition_name, allow_non_regional)
        with _region_lock:
            if key not in _region_lookups:
                _region_lookups[key] = regions.get_available_regions(service_name, partition_name, allow_non_regional)
            return list(_region_lookups[key])

    boto3.session.Session.get_available_regions = get_available_regions


_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


class _CountingApp:
    """WSGI middleware counting requests per service (credential scope) and action (X-Amz-Target)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.counts: dict[str, dict[str, int]] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(1) if scope else "unsigned"
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        action = target.rsplit(".", 1)[-1] if target else ""
        if not action and environ.get("PATH_INFO", "").endswith("/invocations"):
            action = "Invoke"
        with self.lock:
            per_service = self.counts.setdefault(service, {})
            per_service[action or "*"] = per_service.get(action or "*", 0) + 1
        return self.app(environ, start_response)


class EmbeddedAws:
    """moto's server on ``127.0.0.1:<port>`` (0: any free port), with the Step Functions interpreter on."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", region: str = REGION) -> None:
        self.host = host
        self.requested_port = port
        self.region = region
        self.port: Optional[int] = None
        self._server: Any = None
        self._clients: dict[str, Any] = {}
        self._counting = _CountingApp(lambda environ, start_response: [])

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self.port is None:
            raise RuntimeError("the embedded AWS is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> "EmbeddedAws":
        """Configure moto and start its server thread."""
        from moto.moto_api import _internal

        try:
            from moto.server import ThreadedMotoServer
        except ImportError as error:  # moto's server mode needs Flask (moto[server])
            raise RuntimeError(
                f"moto's server mode cannot start ({error}); install the pinned requirements:"
                " .venv/bin/pip install -r requirements-local.txt"
            ) from error

        share_botocore_data()
        # Server-mode configuration of moto 5.2.5: the same switch as mock_aws(config=...), through
        # moto's config API (what POST /moto-api/config does).
        _internal.moto_api_backend.set_config(MOTO_CONFIG)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per AWS call

        counting = self._counting

        class CountingMotoServer(ThreadedMotoServer):
            # moto 5.2.5's ThreadedMotoServer builds its WSGI app in _server_entry: wrap it to count requests.
            def _server_entry(self) -> None:
                from werkzeug.serving import make_server

                from moto.moto_server.werkzeug_app import (
                    DomainDispatcherApplication,
                    MotoRequestHandler,
                    create_backend_app,
                )

                class Dispatcher(DomainDispatcherApplication):
                    # API Gateway v2 paths to the apigatewayv2 application (see the module docstring).
                    def infer_service_region_host(self, environ: dict[str, Any], path: str) -> Optional[str]:
                        host = super().infer_service_region_host(environ, path)
                        if host is not None and host.startswith("apigateway.") and path.startswith("/v2/"):
                            return "apigatewayv2"
                        return host

                counting.app = Dispatcher(create_backend_app)
                try:
                    self._server = make_server(
                        self._ip_address, self._port, counting, True, request_handler=MotoRequestHandler
                    )
                except BaseException as error:  # the port is taken: report it instead of hanging start()
                    self.startup_error = error
                    self._server_ready_event.set()
                    return
                self._server_ready_event.set()
                self._server.serve_forever(poll_interval=0.1)  # shutdown seen in 0.1 s, not 0.5 s

        server = CountingMotoServer(ip_address=self.host, port=self.requested_port, verbose=False)
        server.start()
        failure = getattr(server, "startup_error", None)
        if failure is not None:
            reason = "address already in use" if isinstance(failure, SystemExit) else str(failure)  # werkzeug exits
            raise OSError(f"the embedded AWS cannot listen on {self.host}:{self.requested_port}: {reason}") from failure
        self._server = server
        self.port = self._server.get_host_and_port()[1]
        # moto's Step Functions interpreter calls the other services at http://localhost:$MOTO_PORT.
        os.environ["MOTO_PORT"] = str(self.port)
        return self

    def client(self, service: str) -> Any:
        """A boto3 client for the embedded AWS."""
        import boto3

        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                region_name=self.region,
                endpoint_url=self.endpoint,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
            )
        return self._clients[service]

    def request_counts(self) -> dict[str, dict[str, int]]:
        """Requests served so far, per service and action (``*`` when the action is not in a header)."""
        with self._counting.lock:
            return {service: dict(actions) for service, actions in self._counting.counts.items()}

    def stop(self) -> None:
        """Stop the server thread."""
        if self._server is not None:
            self._server.stop()
            self._server = None


def signed_headers(
    method: str, url: str, body: Optional[bytes] = None, headers: Optional[dict[str, str]] = None, region: str = REGION
) -> dict[str, str]:
    """``headers`` plus a SigV4 signature for ``execute-api`` with the local credentials (what
    ``curl --aws-sigv4 "aws:amz:<region>:execute-api" --user testing:testing`` sends), for AWS_IAM routes."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers or {}))
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "execute-api", region).add_auth(request)
    return dict(request.headers.items())
