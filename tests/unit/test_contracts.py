"""The contracts (``sfn_patterns.contracts``): one definition of each name both sides use, and both sides agree."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from local.program import FakeCloud, ProgramRun, run_program
from sfn_patterns.blocks.function import HANDLERS_DIR
from sfn_patterns.demo.external_service import DEMO_HANDLERS_DIR
from sfn_patterns.contracts import callback, common, idempotent, monitored, pausable, timeouts
from sfn_patterns.patterns.monitored_workflow import monitor_branch

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = (common, callback, monitored, pausable, idempotent)
HANDLER_SOURCES = sorted(HANDLERS_DIR.glob("*.py")) + sorted(DEMO_HANDLERS_DIR.glob("*.py"))


@pytest.fixture(scope="module")
def program() -> ProgramRun:
    return run_program(FakeCloud())


def test_importing_every_handler_module_never_imports_pulumi() -> None:
    modules = [p.stem for p in HANDLER_SOURCES if p.stem != "__init__"]
    probe = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(HANDLERS_DIR)!r}, {str(DEMO_HANDLERS_DIR)!r}]\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "assert 'sfn_patterns.contracts.common' in sys.modules, 'the handlers import the contracts'\n"
        "print(sorted(m for m in sys.modules if m == 'pulumi' or m.startswith(('pulumi.', 'pulumi_'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd="/", timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_contract_modules_use_the_standard_library_only() -> None:
    allowed = set(sys.stdlib_module_names) | {"sfn_patterns"}
    for path in sorted((ROOT / "components" / "contracts").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
                if name.startswith("sfn_patterns"):
                    assert name.startswith("sfn_patterns.contracts"), f"{path.name} imports {name}"


@pytest.mark.parametrize(
    ("timeout", "heartbeat", "minimum", "expected"),
    [
        (60, None, 1, (60, None)),
        (60, 0, 1, (60, None)),
        (60, 59, 1, (60, 59)),
        (timeouts.MAX_TIMEOUT_SECONDS, None, 1, (timeouts.MAX_TIMEOUT_SECONDS, None)),
        (0, None, 0, (0, None)),
    ],
)
def test_the_timeout_rule_accepts_what_step_functions_accepts(timeout: Any, heartbeat: Any, minimum: int, expected: Any) -> None:
    assert timeouts.check_timeouts(timeout, heartbeat, minimum=minimum) == expected


@pytest.mark.parametrize(
    ("timeout", "heartbeat"),
    [(0, None), (-1, None), (1.5, None), ("60", None), (True, None), (timeouts.MAX_TIMEOUT_SECONDS + 1, None),
     (60, 60), (60, 61), (60, -1), (60, 1.5), (60, True), (60, "5")],
)
def test_the_timeout_rule_refuses_the_rest_naming_the_field(timeout: Any, heartbeat: Any) -> None:
    with pytest.raises(ValueError, match="wait_seconds|beat_seconds"):
        timeouts.check_timeouts(timeout, heartbeat, timeout_field="wait_seconds", heartbeat_field="beat_seconds")


@pytest.mark.parametrize(
    "build",
    [
        lambda: __import__("sfn_patterns").CallbackWorkflow("c", {"timeout_seconds": timeouts.MAX_TIMEOUT_SECONDS + 1}),
        lambda: __import__("sfn_patterns").MonitoredWorkflow("m", {"monitor_timeout_seconds": timeouts.MAX_TIMEOUT_SECONDS + 1}),
        lambda: __import__("sfn_patterns").PausableWorkflow("p", {"pause_timeout_seconds": timeouts.MAX_TIMEOUT_SECONDS + 1, "async_service": {"function_arn": "arn:aws:lambda:us-east-1:1:function:f"}}),
    ],
)
def test_every_component_refuses_a_timeout_beyond_the_one_maximum(build: Any) -> None:
    from tests.unit.helpers import build as run_build

    with pytest.raises(ValueError, match=str(timeouts.MAX_TIMEOUT_SECONDS)):
        run_build(build)


class _RecordingDynamoDb:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {}


def test_the_monitor_writes_the_same_token_row_as_the_handlers() -> None:
    from common.tokens import TokenStore

    dynamodb = _RecordingDynamoDb()
    TokenStore("t", dynamodb).register("key", "token", 60, "arn:aws:states:us-east-1:1:execution:sm:key")
    written = dynamodb.calls[0]
    monitor = monitor_branch(60)["States"]["Monitor"]["Arguments"]

    assert {name: next(iter(typed)) for name, typed in monitor["Item"].items()} == {
        name: next(iter(typed)) for name, typed in written["Item"].items()
    }
    assert monitor["ConditionExpression"] == written["ConditionExpression"]
    assert monitor["ExpressionAttributeNames"] == written["ExpressionAttributeNames"]
    assert set(monitor["ExpressionAttributeValues"]) == set(written["ExpressionAttributeValues"])
    assert monitor["Item"][common.ROW_STATUS] == written["Item"][common.ROW_STATUS] == {"S": common.WAITING}
    assert common.EXECUTION_NAME_REGEX in monitor["Item"][common.ROW_KEY]["S"]


def _env_names_read(source: Path) -> Iterator[str]:
    """The environment variables a handler reads through ``env.require`` / ``env.get_int`` of a contract name."""
    tree = ast.parse(source.read_text())
    aliases = {
        alias.asname or alias.name: f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "sfn_patterns.contracts"
        for alias in node.names
    }
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "env"):
            continue
        argument = node.args[0]
        assert isinstance(argument, ast.Attribute) and isinstance(argument.value, ast.Name), (
            f"{source.name}: env.{node.func.attr}({ast.unparse(argument)}) does not name a contract constant"
        )
        yield getattr(importlib.import_module(aliases[argument.value.id]), argument.attr)


def test_every_variable_a_handler_reads_is_set_by_its_component(program: ProgramRun) -> None:
    sources = {p.stem: p for p in HANDLER_SOURCES}
    checked = 0
    for fn in program.of_type("aws:lambda/function:Function"):
        module = fn.inputs["handler"].rsplit(".", 1)[0]
        environment = (fn.inputs.get("environment") or {}).get("variables") or {}
        for name in _env_names_read(sources[module]):
            assert name in environment, f"{fn.name} ({module}) reads {name}, which its component does not set"
            checked += 1
    assert checked >= 20


def _literals(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    # Docstrings and ``__all__`` lists name things; they do not define them.
    docstrings = {
        id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            docstrings |= {id(element) for element in ast.walk(node.value)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_name_of_a_contract_is_typed_again_outside_it() -> None:
    guarded = {
        value: f"{module.__name__}.{name}"
        for module in CONTRACTS
        for name, value in vars(module).items()
        if isinstance(value, str)
        and (name.startswith("ENV_") or name.endswith("_ERROR") or name in ("SECRET_HASH_ATTRIBUTE", "PAUSE_TIMED_OUT"))
        and not name.startswith("DETAIL_")  # ``error``: a field name every JSON answer uses too
    }
    assert {"TABLE_NAME", "CallbackTimedOut", "AwsServiceUnavailable", "secretHash", "AsyncServiceUnavailable"} <= set(guarded)
    files = [p for p in (ROOT / "components").rglob("*.py") if "contracts" not in p.parts]
    files += list((ROOT / "handlers").rglob("*.py"))
    found = [
        f"{path.relative_to(ROOT)}:{line}: {value!r} is {guarded[value]}"
        for path in files
        for line, value in _literals(path)
        if value in guarded
    ]
    assert found == [], "\n".join(found)


def test_the_contract_values_are_what_the_deployed_asl_uses(program: ProgramRun) -> None:
    definitions = [json.loads(sm.inputs["definition"]) for sm in program.of_type("aws:sfn/stateMachine:StateMachine")]
    text = json.dumps(definitions)
    for error in (callback.TIMED_OUT_ERROR, common.AWS_UNAVAILABLE_ERROR, pausable.ASYNC_SERVICE_UNAVAILABLE_ERROR,
                  pausable.PAUSE_TIMED_OUT, monitored.TIMED_OUT_ERROR, monitored.DUPLICATE_KEY_ERROR):
        assert f'"{error}"' in text
