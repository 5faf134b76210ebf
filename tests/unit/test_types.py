"""mypy over the library (``components/`` as ``sfn_patterns``), the Lambda handlers and the local stack: 0 errors.

The settings are ``[tool.mypy]`` in pyproject.toml. Each tree is checked under the names it runs as:
the library through a link named ``sfn_patterns`` (pyproject maps that import name onto
``components/``, which mypy cannot follow), the handlers as top-level modules beside their shared
``common`` package (the Lambda runtime's view of an archive), and ``local`` as a package.
"""

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def mypy_command() -> tuple[list[str], Path]:
    """The mypy command line and the folder that holds the ``sfn_patterns`` link (inside mypy's cache)."""
    links = ROOT / ".mypy_cache" / "import-names"
    links.mkdir(parents=True, exist_ok=True)
    link = links / "sfn_patterns"
    if not link.is_symlink():
        link.symlink_to(ROOT / "components", target_is_directory=True)
    handler_dirs = [ROOT / "handlers", ROOT / "handlers" / "demo"]
    modules = sorted(p.stem for d in handler_dirs for p in d.glob("*.py") if p.stem != "__init__")
    command = [sys.executable, "-m", "mypy", "-p", "sfn_patterns", "-p", "local", "-p", "common"]
    for module in modules:
        command += ["-m", module]
    return command, links


def test_mypy_reports_no_errors() -> None:
    if importlib.util.find_spec("mypy") is None:
        raise AssertionError("mypy is not installed: pip install -r requirements-dev.txt")
    command, links = mypy_command()
    search_path = ":".join(str(p) for p in (links, ROOT / "handlers", ROOT / "handlers" / "demo", ROOT))
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env={"MYPYPATH": search_path, "PATH": "/usr/bin:/bin"}
    )
    assert result.returncode == 0, f"mypy ({time.monotonic() - started:.0f} s):\n{result.stdout}{result.stderr}"
    # Every source file was checked (handlers/__init__.py is not a module the Lambdas import).
    files = [p for tree in ("components", "local", "handlers") for p in (ROOT / tree).rglob("*.py")]
    expected = len([p for p in files if p != ROOT / "handlers" / "__init__.py"])
    assert f"Success: no issues found in {expected} source files" in result.stdout, result.stdout
