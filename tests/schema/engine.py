"""A stand-in for the Pulumi engine, to talk to the component provider plugin without the Pulumi CLI.

:class:`FakeEngine` serves the engine's two gRPC services the provider calls back (``Engine`` for
logs and ``ResourceMonitor`` for the child resources a ``Construct`` registers; the monitor is the
SDK's :class:`~pulumi.runtime.mocks.MockMonitor` over the unit tests' :class:`FakeCloud`). It starts
the plugin the way the engine does: a subprocess running the plugin folder (``python components
<engine address>``) that prints the port it listens on, then a ``ResourceProvider`` gRPC client.
"""

import asyncio
import json
import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

import grpc
import pulumi
from google.protobuf import empty_pb2, struct_pb2
from pulumi.resource import DependencyResource
from pulumi.runtime import proto, rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2_grpc, resource_pb2, resource_pb2_grpc
from pulumi.runtime.sync_await import _sync_await

from local.program import FakeCloud

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "components"
PROJECT, STACK = "consumer", "dev"


def upstream(value: Any, urn: str) -> pulumi.Output[Any]:
    """An output of the calling program's resource ``urn``: sent to ``Construct`` as an output value
    (with that dependency), as the engine forwards a TypeScript or YAML program's outputs."""

    async def make() -> pulumi.Output[Any]:
        loop = asyncio.get_running_loop()
        value_future, known, secret = loop.create_future(), loop.create_future(), loop.create_future()
        value_future.set_result(value)
        known.set_result(True)
        secret.set_result(False)
        return pulumi.Output({DependencyResource(urn)}, value_future, known, secret)

    output: pulumi.Output[Any] = _sync_await(make())
    return output


class _Monitor(MockMonitor):
    """The SDK's mock monitor, with URNs of a fixed project and stack (no program runs in this process)."""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent:
            type_ = parent.split("::")[2].split("$")[-1] + "$" + type_
        return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


class _MonitorServicer(resource_pb2_grpc.ResourceMonitorServicer):
    """``ResourceMonitor`` over gRPC, answered by a :class:`_Monitor`."""

    def __init__(self, monitor: _Monitor) -> None:
        self.monitor = monitor
        self.lock = threading.Lock()

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        return resource_pb2.SupportsFeatureResponse(hasSupport=self.monitor.SupportsFeature(request).hasSupport)

    def RegisterResource(self, request: Any, context: Any) -> Any:
        with self.lock:
            return self.monitor.RegisterResource(request)

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()

    def Invoke(self, request: Any, context: Any) -> Any:
        return self.monitor.Invoke(request)

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:
        return self.monitor.GetDeploymentInfo(request)

    def RegisterPackage(self, request: Any, context: Any) -> Any:
        return self.monitor.RegisterPackage(request)

    def SignalAndWaitForShutdown(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    """``Engine`` over gRPC: keeps the provider's log messages, has no root resource."""

    def __init__(self) -> None:
        self.logs: list[str] = []

    def Log(self, request: Any, context: Any) -> Any:
        self.logs.append(request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.SetRootResourceResponse()


class FakeEngine:
    """The engine's side of a provider plugin session: serves the monitor, runs the plugin, calls it."""

    def __init__(self) -> None:
        self.cloud = FakeCloud()
        self.monitor = _Monitor(self.cloud)
        self.engine = _EngineServicer()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_MonitorServicer(self.monitor), self.server)
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self.server)
        self.address = f"127.0.0.1:{self.server.add_insecure_port('127.0.0.1:0')}"
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.channel: Optional[grpc.Channel] = None

    def __enter__(self) -> "FakeEngine":
        self.server.start()
        # As the Python language host runs a plugin: `python <plugin folder> <engine address>`.
        self.process = subprocess.Popen(
            [sys.executable, str(PLUGIN_DIR), self.address],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            self.process.kill()
            _, stderr = self.process.communicate(timeout=10)
            raise RuntimeError(f"the provider printed {line!r} instead of its port:\n{stderr.decode()}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        self.provider = provider_pb2_grpc.ResourceProviderStub(self.channel)
        return self

    def __exit__(
        self, kind: Optional[type[BaseException]], error: Optional[BaseException], trace: Optional[TracebackType]
    ) -> None:
        if self.channel is not None:
            self.channel.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()
        self.server.stop(grace=None)

    def schema(self) -> dict[str, Any]:
        """The provider's schema (``GetSchema``), parsed."""
        response = self.provider.GetSchema(proto.GetSchemaRequest(version=0), timeout=60)
        schema: dict[str, Any] = json.loads(response.schema)
        return schema

    def construct(
        self, type_token: str, name: str, inputs: dict[str, Any], dependencies: Optional[dict[str, list[str]]] = None
    ) -> dict[str, Any]:
        """``Construct`` a component as a program in another language would: inputs by schema name (with
        :func:`upstream` outputs inside, sent as output values), and per input the URNs of the caller's
        resources it comes from (the older form, for plain values). Returns the outputs, deserialized."""
        struct: struct_pb2.Struct = _sync_await(rpc.serialize_properties(inputs, {}, keep_output_values=True))
        input_dependencies = {
            key: proto.ConstructRequest.PropertyDependencies(urns=urns) for key, urns in (dependencies or {}).items()
        }
        request = proto.ConstructRequest(
            project=PROJECT,
            stack=STACK,
            dryRun=False,
            parallel=4,
            monitorEndpoint=self.address,
            type=type_token,
            name=name,
            inputs=struct,
            inputDependencies=input_dependencies,
            config={"aws:region": "us-east-1"},
        )
        response = self.provider.Construct(request, timeout=120)
        self.urn = response.urn
        state: dict[str, Any] = rpc.deserialize_properties(response.state)
        return state
