"""Run a Pulumi Python program under the SDK's mock runtime and collect what it declares.

Used by the unit tests (with :class:`FakeCloud`, which invents ARNs) and by the local stack (with
mocks that create each resource in moto). No Pulumi CLI or engine is involved.
"""

from __future__ import annotations

import json
import os
import runpy
import zlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
import yaml
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import Stack, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT_DIR = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass
class DeclaredResource:
    """One resource the program declared: type token, logical name, URN, inputs and returned state."""

    type: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    custom: bool
    urn: str = ""
    id: str = ""
    """The physical id the mocks gave it (custom resources)."""
    dependencies: dict[str, list[str]] = field(default_factory=dict)
    """The URNs of the resources each input property's Outputs came from (Pulumi's ``propertyDependencies``)."""

    @property
    def parent_types(self) -> list[str]:
        """Types of the ancestors, outermost first (read from the URN's type chain)."""
        chain = self.urn.split("::")[2].split("$") if self.urn else []
        return chain[:-1]


@dataclass
class ProgramRun:
    """The outcome of :func:`run_program`: its stack outputs and every resource it declared."""

    outputs: dict[str, Any]
    resources: list[DeclaredResource] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[DeclaredResource]:
        """The declared resources of one type (``aws:lambda/function:Function`` ...)."""
        return [r for r in self.resources if r.type == type_token]

    def named(self, name: str) -> DeclaredResource:
        """The declared resource with this logical name."""
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def named_of(self, type_token: str, name: str) -> DeclaredResource:
        """The declared resource of one type with this logical name."""
        matches = [r for r in self.of_type(type_token) if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources of type {type_token} named {name!r}")
        return matches[0]


class RecordingMocks(pulumi.runtime.Mocks):
    """Base mocks that record each declared resource; subclasses decide its id and state."""

    def __init__(self) -> None:
        self.declared: list[DeclaredResource] = []

    def create(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Return (physical id, state) for a custom resource. Override."""
        raise NotImplementedError

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict]:
        if not args.custom:  # component resources: nothing to create
            self.declared.append(DeclaredResource(args.typ, args.name, dict(args.inputs), {}, False))
            return f"{args.name}-component", {}
        resource_id, state = self.create(args)
        self.declared.append(DeclaredResource(args.typ, args.name, dict(args.inputs), state, True, id=resource_id))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, Optional[list]]:
        raise NotImplementedError(f"the program calls {args.token}; invokes are not supported")


class FakeCloud(RecordingMocks):
    """Mocks that invent plausible physical names, ARNs and URLs (for unit tests)."""

    def create(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        name = inputs.get("name") or (inputs.get("namePrefix", "") + args.name if "namePrefix" in inputs else args.name)
        module, kind = args.typ.split(":")[1].split("/")[0], args.typ.split(":")[-1]
        state = {**inputs, "name": name}
        arn = f"arn:aws:{module}:{REGION}:{ACCOUNT}:{kind.lower()}/{name}"
        rid = name
        if args.typ == "aws:lambda/function:Function":
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            state["invokeArn"] = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
        elif args.typ == "aws:iam/role:Role":
            arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        elif args.typ == "aws:cloudwatch/logGroup:LogGroup":
            arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
        elif args.typ == "aws:sfn/stateMachine:StateMachine":
            arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        elif args.typ == "aws:sqs/queue:Queue":
            arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
            rid = state["url"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        elif args.typ == "aws:sns/topic:Topic":
            rid = arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"
        elif args.typ == "aws:dynamodb/table:Table":
            arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        elif args.typ == "aws:cloudwatch/eventBus:EventBus":
            arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"
        elif args.typ == "aws:cloudwatch/eventRule:EventRule":
            bus = inputs.get("eventBusName", "default")
            arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/{name}"
        elif args.typ == "aws:apigatewayv2/api:Api":
            rid = f"api{zlib.crc32(name.encode()) % 10**6:06d}"
            state["apiEndpoint"] = f"https://{rid}.execute-api.{REGION}.amazonaws.com"
            state["executionArn"] = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{rid}"
            arn = f"arn:aws:apigateway:{REGION}::/apis/{rid}"
        elif args.typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"
        state["arn"] = arn
        return rid, state


def read_stack_config(project_dir: Path = PROJECT_DIR, stack: str = "dev") -> dict[str, str]:
    """The config of ``Pulumi.<stack>.yaml`` as the flat ``{"ns:key": "value"}`` map Pulumi passes."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text()) if path.is_file() else None
    config = (document or {}).get("config") or {}
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def run_program(
    mocks: RecordingMocks,
    program: Path = PROJECT_DIR / "__main__.py",
    stack: str = "dev",
    config: Optional[dict[str, str]] = None,
) -> ProgramRun:
    """Run the Pulumi program file ``program`` under ``mocks`` with the stack's config (plus overrides).

    The project (``Pulumi.yaml`` and the stack's config) is the program's folder, or the nearest folder
    above it that has a ``Pulumi.yaml`` (so a program kept in a sub-folder, as ``bench/stack.py``, runs
    as part of this project). Returns its resolved stack outputs and every resource it declared, in
    declaration order.
    """
    program = program.resolve()
    project_dir = next((d for d in program.parents if (d / "Pulumi.yaml").is_file()), program.parent)

    def body() -> None:
        cwd = os.getcwd()
        sys.path.insert(0, str(project_dir))
        os.chdir(project_dir)
        try:
            runpy.run_path(str(program), run_name="__main__")
        finally:
            os.chdir(cwd)
            sys.path.remove(str(project_dir))

    settings = read_stack_config(project_dir, stack)
    settings.update(config or {})
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]
    return run_inline(mocks, body, project=project, stack=stack, config=settings)


def run_inline(
    mocks: RecordingMocks,
    build: Callable[[], Any],
    project: str = "sfn-patterns",
    stack: str = "dev",
    config: Optional[dict[str, str]] = None,
) -> ProgramRun:
    """Run ``build()`` as a Pulumi program under ``mocks`` (config: a flat ``{"ns:key": value}`` map).

    Stack outputs are what ``build`` exported with ``pulumi.export``.
    """
    settings = dict(config or {})
    pulumi.runtime.settings.SETTINGS.rpc_manager.clear()
    pulumi.runtime.settings.SETTINGS.outputs.clear()
    # A fresh root stack per run: set_mocks reuses the previous one (and its exports) otherwise.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    pulumi.runtime.set_all_config(settings)
    monitor = pulumi.runtime.settings.get_monitor()
    assert isinstance(monitor, MockMonitor), "set_mocks installs a MockMonitor"
    os.environ.setdefault("AWS_REGION", settings.get("aws:region", REGION))
    dependencies = _record_property_dependencies(monitor)

    collected: dict[str, Any] = {}

    def body() -> Any:
        build()
        root = pulumi.runtime.settings.get_root_resource()
        if not isinstance(root, Stack):
            raise RuntimeError(f"the program's root resource is {root!r}, not a stack")
        return pulumi.Output.from_input(dict(root.outputs)).apply(collected.update)

    _sync_await(run_pulumi_func(lambda: _sync_await(pulumi.Output.from_input(body()).future())))
    by_name: dict[str, list[str]] = {}
    for registration in monitor.resources.values():
        by_name.setdefault(registration.urn.split("::")[-1], []).append(registration.urn)
    for resource in mocks.declared:
        urns = by_name.get(resource.name, [])
        resource.urn = next((u for u in urns if u.split("::")[2].split("$")[-1] == resource.type), "")
        resource.dependencies = dependencies.get(resource.urn, {})
    return ProgramRun(outputs=collected, resources=list(mocks.declared))


def _record_property_dependencies(monitor: MockMonitor) -> dict[str, dict[str, list[str]]]:
    """Make ``monitor`` keep each registration's ``propertyDependencies`` (which the mocks' ``new_resource``
    is not given); returns the map it fills: URN -> input property -> URNs its Outputs came from."""
    recorded: dict[str, dict[str, list[str]]] = {}
    register = monitor.RegisterResource

    def recording(request: Any) -> Any:
        urn = monitor.make_urn(request.parent, request.type, request.name)
        recorded[urn] = {key: sorted(deps.urns) for key, deps in request.propertyDependencies.items() if deps.urns}
        return register(request)

    monitor.RegisterResource = recording  # type: ignore[method-assign]
    return recorded
