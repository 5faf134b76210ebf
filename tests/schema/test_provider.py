"""The component provider plugin, driven over gRPC as the Pulumi engine drives it (no Pulumi CLI).

One plugin process serves the whole module: ``GetSchema`` must describe every public component
completely and truthfully (every args field, required or not, typed, described; every output), and
``Construct`` must build each component from schema-named inputs, as a TypeScript or YAML program
would send them, and answer with its outputs.
"""

import ast
import inspect
import re
import typing
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest

import sfn_patterns
from sfn_patterns import provider
from sfn_patterns.blocks.http_api import ApiArgs
from tests.schema.engine import PLUGIN_DIR, ROOT, FakeEngine, upstream

TOKEN = "sfn-patterns:index:{}"
#: Each served component's outputs, by schema name.
OUTPUTS = {
    "CallbackWorkflow": {"url", "topicArn", "tableName", "stateMachineArn"},
    "MonitoredWorkflow": {"url", "eventBusName", "eventBusArn", "tableName", "stateMachineArn", "alarmTopicArn"},
    "PausableWorkflow": {"url", "resumeTopicArn", "tableName", "stateMachineArn"},
    "IdempotentApi": {"url"},
    "Workflow": {"arn", "name"},
    "HandlerFunction": {"arn", "name"},
    "StateMachine": {"arn", "name", "definition", "reservedErrorNames"},
    "HttpApi": {"url"},
    "StackDashboard": {"dashboardName"},
}
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def args_type(component: type) -> Any:
    """The TypedDict a component's ``__init__`` takes as ``args``."""
    return typing.get_type_hints(component.__init__)["args"]


@pytest.fixture(scope="module")
def engine() -> Iterator[FakeEngine]:
    with FakeEngine() as running:
        yield running


@pytest.fixture(scope="module")
def schema(engine: FakeEngine) -> dict[str, Any]:
    return engine.schema()


def test_get_schema_serves_every_public_component(schema: dict[str, Any]) -> None:
    assert schema["name"] == "sfn-patterns"
    assert schema["version"] == sfn_patterns.__version__
    assert set(schema["resources"]) == {TOKEN.format(name) for name in OUTPUTS}
    for name, resource in schema["resources"].items():
        assert resource["isComponent"] is True
        assert resource["description"], name


@pytest.mark.parametrize("component", provider.components(), ids=lambda c: c.__name__)
def test_inputs_are_every_args_field_typed_described_and_required_as_in_python(
    schema: dict[str, Any], component: type
) -> None:
    resource = schema["resources"][TOKEN.format(component.__name__)]
    args = args_type(component)
    inputs = resource["inputProperties"]
    assert set(inputs) == {camel(field) for field in args.__annotations__}
    assert set(resource.get("requiredInputs", [])) == {camel(field) for field in args.__required_keys__}
    for name, prop in inputs.items():
        assert prop.get("type") or prop.get("$ref"), name
        assert len(prop.get("description", "")) > 10, f"{component.__name__}.{name} has no description"
        assert not re.search(r"\n {4}", prop["description"]), f"{name}: the docstring's indentation reached the schema"


def test_plain_only_inputs_say_why_they_cannot_be_outputs(schema: dict[str, Any]) -> None:
    """A scalar the component needs while it is constructed (it shapes the ASL or the resources) is
    ``plain`` in the schema, so other languages' SDKs take no Output for it; its description says so."""
    plain = []
    for token, resource in schema["resources"].items():
        for name, prop in resource["inputProperties"].items():
            if prop.get("plain") and prop.get("type") in ("string", "integer", "number", "boolean"):
                plain.append(f"{token}.{name}")
                assert "plain value" in " ".join(prop["description"].split()).lower(), f"{token}.{name}: {prop['description']}"
    assert TOKEN.format("CallbackWorkflow") + ".timeoutSeconds" in plain
    assert TOKEN.format("PausableWorkflow") + ".pauseTimeoutSeconds" in plain
    # Values a component only passes on to a resource stay Inputs.
    callback = schema["resources"][TOKEN.format("CallbackWorkflow")]["inputProperties"]
    assert "plain" not in callback["logRetentionDays"] and callback["logRetentionDays"]["type"] == "integer"
    assert callback["authorizationType"]["plain"] is True  # checked against AWS_IAM/NONE at construction
    idempotent = schema["resources"][TOKEN.format("IdempotentApi")]["inputProperties"]
    assert idempotent["stateMachineArn"] == {"type": "string", "description": "ARN of the Standard workflow the API starts."}


def field_docstrings(cls: type) -> dict[str, str]:
    """The docstring under each field of a class statement, dedented."""
    body = ast.parse(inspect.getsource(cls)).body[0]
    assert isinstance(body, ast.ClassDef)
    found = {}
    for field, doc in zip(body.body, body.body[1:]):
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name) and isinstance(doc, ast.Expr):
            found[field.target.id] = inspect.cleandoc(doc.value.value)  # type: ignore[attr-defined]
    return found


def test_fields_inherited_from_api_args_carry_their_docstrings(schema: dict[str, Any]) -> None:
    """The SDK reads a field's docstring from the analyzed class's own source; ``ApiArgs``'s fields
    reach every pattern's schema through :class:`sfn_patterns.provider.InheritingAnalyzer`."""
    inherited = field_docstrings(ApiArgs)
    assert set(inherited) == set(ApiArgs.__annotations__)
    for name in ("CallbackWorkflow", "MonitoredWorkflow", "PausableWorkflow", "IdempotentApi"):
        inputs = schema["resources"][TOKEN.format(name)]["inputProperties"]
        for field, doc in inherited.items():
            assert inputs[camel(field)]["description"] == doc, f"{name}.{field}"


def test_nested_types_are_described(schema: dict[str, Any]) -> None:
    settings = schema["types"][TOKEN.format("HandlerSettings")]
    assert set(settings["properties"]) == {"environment", "statements", "timeout", "memorySize"}
    assert all(prop.get("description") for prop in settings["properties"].values())
    route = schema["types"][TOKEN.format("RouteArgs")]
    assert set(route["required"]) == {"routeKey", "functionArn", "functionName"}
    handlers = schema["resources"][TOKEN.format("Workflow")]["inputProperties"]["handlers"]
    assert handlers["additionalProperties"]["$ref"] == "#/types/" + TOKEN.format("HandlerSettings")


def test_outputs_are_the_components_output_attributes(schema: dict[str, Any]) -> None:
    for name, expected in OUTPUTS.items():
        resource = schema["resources"][TOKEN.format(name)]
        assert set(resource["properties"]) == expected, name
        assert set(resource["required"]) == expected, name
        for output, prop in resource["properties"].items():
            assert prop["type"] == "string", f"{name}.{output}"
            assert prop.get("description"), f"{name}.{output} has no description"


def test_plugin_requirements_pin_what_the_repository_pins() -> None:
    def pins(path: Path) -> dict[str, str]:
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        return dict(line.split("==") for line in lines if "==" in line)

    plugin, repository = pins(PLUGIN_DIR / "requirements.txt"), pins(ROOT / "requirements.txt")
    assert plugin and all(repository[name] == version for name, version in plugin.items())
    assert "-e .." in (PLUGIN_DIR / "requirements.txt").read_text().splitlines()
    assert (PLUGIN_DIR / "PulumiPlugin.yaml").read_text().strip().endswith("runtime: python")


# --- Construct ------------------------------------------------------------------------------------


def children(engine: FakeEngine, name: str) -> set[str]:
    """Types of the resources declared under the component named ``name``, by logical-name prefix."""
    return {r.type for r in engine.cloud.declared if r.name.startswith(name)}


URL = re.compile(r"^https://api\d{6}\.execute-api\.us-east-1\.amazonaws\.com$")


def test_construct_callback_workflow(engine: FakeEngine) -> None:
    state = engine.construct(TOKEN.format("CallbackWorkflow"), "cb", {"timeoutSeconds": 600, "heartbeatSeconds": 60})
    assert set(state) == OUTPUTS["CallbackWorkflow"]
    assert URL.match(state["url"])
    assert state["topicArn"].startswith("arn:aws:sns:") and state["stateMachineArn"].startswith("arn:aws:states:")
    wait = engine.cloud.declared
    machine = next(r for r in wait if r.type == "aws:sfn/stateMachine:StateMachine" and r.name == "cb")
    assert '"TimeoutSeconds":600' in machine.inputs["definition"] and '"HeartbeatSeconds":60' in machine.inputs["definition"]


def test_construct_monitored_workflow(engine: FakeEngine) -> None:
    state = engine.construct(TOKEN.format("MonitoredWorkflow"), "mon", {"workSeconds": 5, "monitorTimeoutSeconds": 120})
    assert set(state) == OUTPUTS["MonitoredWorkflow"]
    assert URL.match(state["url"]) and state["eventBusArn"].endswith(state["eventBusName"])
    assert "aws:cloudwatch/eventRule:EventRule" in children(engine, "mon-")


def test_construct_pausable_workflow(engine: FakeEngine) -> None:
    fn = "arn:aws:lambda:us-east-1:123456789012:function:render"
    state = engine.construct(TOKEN.format("PausableWorkflow"), "pz", {"pauseTimeoutSeconds": 300, "asyncService": {"functionArn": fn}})
    assert set(state) == OUTPUTS["PausableWorkflow"]
    assert URL.match(state["url"]) and state["resumeTopicArn"].startswith("arn:aws:sns:")


def test_construct_idempotent_api_with_an_input_from_another_resource(engine: FakeEngine) -> None:
    """The ARN comes from a resource of the calling program: the engine sends it with its dependency."""
    upstream = "urn:pulumi:dev::consumer::aws:sfn/stateMachine:StateMachine::orders"
    state = engine.construct(
        TOKEN.format("IdempotentApi"), "idem", {"stateMachineArn": ARN}, dependencies={"stateMachineArn": [upstream]}
    )
    assert set(state) == {"url"} and URL.match(state["url"])
    function = next(r for r in engine.cloud.declared if r.type == "aws:lambda/function:Function" and r.name == "idem-handler")
    assert ARN in str(function.inputs["environment"])


def test_construct_with_outputs_of_the_calling_program_inside_maps_and_lists(engine: FakeEngine, tmp_path: Path) -> None:
    """The engine forwards a program's outputs as output values, also inside plain maps and lists:
    another workflow's ARN in ``workflows``, a table name in a Lambda's ``environment``, a function
    of the program behind a route."""
    chain_arn = upstream(ARN, "urn:pulumi:dev::consumer::sfn-patterns:index:Workflow::chain")
    definition = tmp_path / "calls.yaml"
    definition.write_text(
        "StartAt: Call\nStates:\n  Call:\n    Type: Task\n"
        "    Resource: arn:aws:states:::states:startExecution.sync:2\n"
        "    Parameters: {StateMachineArn: 'workflow:chain', Input.$: $}\n    End: true\n"
    )
    state = engine.construct(TOKEN.format("Workflow"), "caller", {"definitionFile": str(definition), "workflows": {"chain": chain_arn}})
    machine = next(r for r in engine.cloud.declared if r.type == "aws:sfn/stateMachine:StateMachine" and r.name == "caller")
    assert state["arn"].startswith("arn:aws:states:") and ARN in machine.inputs["definition"]

    table = upstream("orders-table", "urn:pulumi:dev::consumer::aws:dynamodb/table:Table::orders")
    (tmp_path / "env_probe.py").write_text("def handler(event, context):\n    return None\n")
    engine.construct(TOKEN.format("HandlerFunction"), "env-fn",
                     {"handler": "env_probe", "handlersDir": str(tmp_path), "environment": {"TABLE": table}})
    function = next(r for r in engine.cloud.declared if r.type == "aws:lambda/function:Function" and r.name == "env-fn")
    assert function.inputs["environment"] == {"variables": {"TABLE": "orders-table"}}

    fn_urn = "urn:pulumi:dev::consumer::aws:lambda/function:Function::mine"
    fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:mine"
    route = {"routeKey": "GET /mine", "functionArn": upstream(fn_arn, fn_urn), "functionName": upstream("mine", fn_urn)}
    api = engine.construct(TOKEN.format("HttpApi"), "mine-api", {"routes": [route]})
    integration = next(r for r in engine.cloud.declared if r.type == "aws:apigatewayv2/integration:Integration" and r.name.startswith("mine-api"))
    assert URL.match(api["url"]) and integration.inputs["integrationUri"] == fn_arn


def test_construct_workflow_with_its_own_handlers(engine: FakeEngine, tmp_path: Path) -> None:
    (tmp_path / "greet.py").write_text("def handler(event, context):\n    return {'hello': event}\n")
    definition = tmp_path / "greet.yaml"
    definition.write_text("StartAt: Greet\nStates:\n  Greet:\n    Type: Task\n    Resource: handler:greet\n    End: true\n")
    state = engine.construct(
        TOKEN.format("Workflow"), "greeter", {"definitionFile": str(definition), "handlersDir": str(tmp_path)}
    )
    assert set(state) == {"arn", "name"} and state["arn"].startswith("arn:aws:states:")
    assert any(r.type == "aws:lambda/function:Function" and r.name == "greeter-greet" for r in engine.cloud.declared)


def test_construct_building_blocks(engine: FakeEngine, tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text("def handler(event, context):\n    return 'hello'\n")
    function = engine.construct(TOKEN.format("HandlerFunction"), "fn", {"handler": "hello", "handlersDir": str(tmp_path), "timeout": 5})
    assert function["arn"].startswith("arn:aws:lambda:") and function["name"] == "fn"
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": "${Greeting}", "End": True}}}
    machine = engine.construct(
        TOKEN.format("StateMachine"), "sm", {"definition": definition, "substitutions": {"Greeting": "hi"}}
    )
    assert '"Result":"hi"' in machine["definition"] and machine["arn"].startswith("arn:aws:states:")
    route = {"routeKey": "GET /hello", "functionArn": function["arn"], "functionName": function["name"]}
    api = engine.construct(TOKEN.format("HttpApi"), "api", {"routes": [route]})
    assert URL.match(api["url"])


def status_details(error: grpc.RpcError) -> str:
    """The error's message and the property errors the provider packs into its status details."""
    metadata = dict(error.trailing_metadata() or ())  # type: ignore[attr-defined]
    raw = metadata.get("grpc-status-details-bin", b"")
    return str(error.details()) + raw.decode("utf-8", "replace")  # type: ignore[attr-defined]


def test_construct_refuses_a_missing_required_input(engine: FakeEngine) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        engine.construct(TOKEN.format("IdempotentApi"), "bad", {})
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "Missing required input 'stateMachineArn' on 'IdempotentApi'" in status_details(refused.value)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"timeoutSeconds": 0}, "timeout_seconds must be an integer from 1 to 31536000, got 0"),
        # A fraction is refused, not truncated to 1 (numbers cross gRPC as doubles).
        ({"timeoutSeconds": 1.5}, "timeout_seconds must be an integer from 1 to 31536000, got 1.5"),
        ({"timeoutSeconds": 60, "heartbeatSeconds": 60}, "heartbeat_seconds must be an integer from 1 to timeout_seconds - 1"),
    ],
)
def test_construct_reports_a_bad_plain_value(engine: FakeEngine, inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        engine.construct(TOKEN.format("CallbackWorkflow"), "badcb", inputs)
    assert message in status_details(refused.value)
