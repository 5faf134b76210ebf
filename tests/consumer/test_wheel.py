"""The wheel, installed into a fresh venv: it imports, ships the patterns' handlers and not the demo."""

import json
import zipfile

from tests.consumer.conftest import Installed

PROBE = """
import importlib.util, json, sys
from pathlib import Path
import sfn_patterns
from sfn_patterns import *  # every public name loads (and with it pulumi and pulumi-aws)
lambdas = Path(importlib.util.find_spec("sfn_patterns.lambdas").submodule_search_locations[0])
print(json.dumps({
    "file": sfn_patterns.__file__,
    "prefix": sys.prefix,
    "version": sfn_patterns.__version__,
    "public": sorted(sfn_patterns.__all__),
    "lambdas": sorted(str(p.relative_to(lambdas)) for p in lambdas.rglob("*.py")),
    "demo": importlib.util.find_spec("sfn_patterns.demo") is not None,
    "typed": (Path(sfn_patterns.__file__).parent / "py.typed").is_file(),
}))
"""


def test_the_installed_package_imports_and_ships_the_patterns_handlers_only(installed: Installed) -> None:
    found = json.loads(installed.run(PROBE).stdout)
    # The wheel's copy, not the repository's: sfn_patterns lives in the fresh venv.
    assert found["file"].startswith(found["prefix"]) and found["prefix"] == str(installed.python.parent.parent)
    assert found["version"] == "0.1.0" and found["typed"]
    assert {"CallbackWorkflow", "IdempotentApi", "MonitoredWorkflow", "PausableWorkflow", "Workflow"} <= set(found["public"])
    lambdas = set(found["lambdas"])
    assert {"callback_api.py", "callback_register.py", "idempotent_api.py", "monitor_api.py", "monitor_events.py",
            "pausable_api.py", "pausable_pause.py", "pausable_resume.py", "common/__init__.py"} <= lambdas
    # The demo stays in the repository: no demo package, no demo handler.
    assert not found["demo"]
    assert not any(name.startswith("demo/") for name in lambdas)
    assert not {"reverse.py", "shout.py", "external_service.py", "pausable_async_service.py"} & lambdas


def test_the_wheel_holds_no_demo_and_no_tests(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert not [n for n in names if "/demo/" in n or n.startswith(("tests/", "local/", "bench/", "examples/", "handlers/"))]
    assert installed.wheel.stat().st_size < 512 * 1024, installed.wheel.stat().st_size
    print(f"wheel {installed.wheel.name}: {installed.wheel.stat().st_size} bytes, {len(names)} files; "
          f"setup seconds {({k: round(v, 2) for k, v in installed.seconds.items()})}")
