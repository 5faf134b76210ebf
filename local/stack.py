"""``LocalStack``: the Pulumi program running on the embedded AWS, its HTTP APIs served on 127.0.0.1.

Start-up order matters:

1. ``os.environ`` becomes per-thread (:mod:`local.environ`) and points boto3 at the embedded AWS,
   before any boto3 session exists;
2. moto's server starts (:mod:`local.aws`), the in-process Lambda runtime and the adapters
   patch moto (:mod:`local.lambdas`, :mod:`local.delivery`, :mod:`local.stepfunctions`,
   :mod:`local.dynamodb_atomic`), and the alarm evaluator starts (:mod:`local.alarms`);
3. the HTTP API adapter binds its port (:mod:`local.gateway`), so each Api's ``apiEndpoint`` is
   known when the program creates it;
4. the program runs under :class:`local.cloud.MotoCloud`, which creates every resource in moto;
5. the adapter starts serving.

:meth:`LocalStack.stop` undoes all of it and removes the temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from local import dynamodb_atomic, environ, stepfunctions
from local.alarms import AlarmEvaluator
from local.aws import ACCESS_KEY, REGION, SECRET_KEY, EmbeddedAws, local_credentials_environment
from local.cloud import MotoCloud
from local.delivery import Deliveries
from local.gateway import HttpGateway
from local.lambdas import DEFAULT_RETRY_DELAY_SECONDS, LambdaRuntime
from local.program import PROJECT_DIR, ProgramRun, run_program

#: Variables that could send a boto3 call of this process anywhere but the embedded AWS.
_FOREIGN_AWS_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE",
                          "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE")


class LocalStack:
    """The whole local stack; use :meth:`start` / :meth:`stop` (or ``with``)."""

    def __init__(
        self,
        program: Path = PROJECT_DIR / "__main__.py",
        stack: str = "dev",
        config: Optional[dict[str, str]] = None,
        port: int = 0,
        aws_port: int = 0,
        host: str = "127.0.0.1",
        retry_delay_seconds: float = DEFAULT_RETRY_DELAY_SECONDS,
    ) -> None:
        self.program = Path(program).resolve()
        self.stack = stack
        self.config = dict(config or {})
        self.port = port
        self.aws_port = aws_port
        self.host = host
        self.retry_delay_seconds = retry_delay_seconds
        self.region = self.config.get("aws:region", REGION)
        self.aws: Optional[EmbeddedAws] = None
        self.runtime: Optional[LambdaRuntime] = None
        self.deliveries: Optional[Deliveries] = None
        self.gateway: Optional[HttpGateway] = None
        self.alarms: Optional[AlarmEvaluator] = None
        self.run: Optional[ProgramRun] = None
        self.workdir: Optional[Path] = None
        self.startup_seconds = 0.0

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> "LocalStack":
        """Bring everything up (see the module docstring); raises if the program cannot be deployed."""
        started = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def _start(self) -> None:
        environ.install()
        for name in _FOREIGN_AWS_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                           "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region})
        self.workdir = Path(tempfile.mkdtemp(prefix="sfn-patterns-local-"))
        self.aws = EmbeddedAws(self.aws_port, self.host, self.region).start()
        # Anything in this process that builds a boto3 client talks to the embedded AWS.
        os.environ.update(local_credentials_environment(self.aws.endpoint, self.region))
        self.runtime = LambdaRuntime(
            self.workdir, self.aws.endpoint, self.region, retry_delay_seconds=self.retry_delay_seconds
        ).install()
        self.deliveries = Deliveries(self.runtime, self.region).install()
        stepfunctions.install()
        dynamodb_atomic.install()
        self.alarms = AlarmEvaluator(self.region)
        self.runtime.metrics = self.alarms.timeline
        aws, alarms = self.aws, self.alarms
        self.gateway = HttpGateway(
            self.runtime, self.host, self.port, self.region,
            extra_stats=lambda: {"awsRequests": aws.request_counts(), "alarmTransitions": list(alarms.transitions)},
        )
        self.gateway.metrics = self.alarms.timeline
        cloud = MotoCloud(self.aws, self.gateway.base_url, self.runtime)
        self.run = run_program(cloud, self.program, self.stack, self.config)
        self.gateway.start()
        self.alarms.start()

    def stop(self) -> None:
        """Stop serving, undo moto's patches, stop moto and remove the temporary folder."""
        for part in (self.alarms, self.gateway, self.deliveries, self.runtime, self.aws):
            if part is not None:
                try:
                    part.stop()
                except Exception as error:  # noqa: BLE001 - stop the rest anyway
                    print(f"[local] stopping {type(part).__name__}: {error!r}")
        self.alarms = self.gateway = self.deliveries = self.runtime = self.aws = None
        stepfunctions.uninstall()
        dynamodb_atomic.uninstall()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    @property
    def outputs(self) -> dict[str, Any]:
        """The program's stack outputs."""
        return dict(self.run.outputs) if self.run else {}

    @property
    def endpoints(self) -> dict[str, str]:
        """The program's ``endpoints`` output: pattern -> local base URL."""
        return dict(self.outputs.get("endpoints") or {})

    def describe(self) -> dict[str, Any]:
        """What the ready file holds: endpoints, embedded AWS endpoint and credentials, outputs."""
        assert self.aws is not None and self.gateway is not None
        return {
            "endpoints": self.endpoints,
            "awsEndpoint": self.aws.endpoint,
            "awsPort": self.aws.port,
            "httpPort": self.gateway.port,
            "region": self.region,
            "credentials": {"accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY},
            "outputs": self.outputs,
            "startupSeconds": round(self.startup_seconds, 3),
            "pid": os.getpid(),
        }

    def routes(self) -> dict[str, list[tuple[str, str]]]:
        """For each endpoint: its routes as (route key, authorization type), read from the embedded AWS."""
        assert self.gateway is not None
        apis = self.gateway._apis()
        result: dict[str, list[tuple[str, str]]] = {}
        for pattern, url in self.endpoints.items():
            api = apis.get(url.rstrip("/").rsplit("/", 1)[-1])
            routes = self.gateway.routes(api) if api is not None else []
            result[pattern] = sorted((r.route_key, r.authorization_type) for r in routes)
        return result

    def write_ready_file(self, path: Path) -> None:
        """Write :meth:`describe` as JSON to ``path`` atomically."""
        path = Path(path)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(self.describe(), indent=2, default=str))
        temporary.replace(path)
