"""The consumer's view: a wheel built from a clean checkout, installed into a fresh virtual environment.

``installed`` (once per session): ``git clone`` of the repository's HEAD into a temporary folder,
``pip wheel --no-deps`` there, a new virtual environment (``python -m venv``) and the wheel installed
into it with ``pip --python <venv> install --no-deps``. Its dependencies are the pinned runtime
requirements (``requirements.txt`` without its ``-e .``), installed by pip once per set of pins into a
cache folder (``~/.cache/sfn-patterns/test-deps/<hash>``, under a file lock) and put on the fresh
venv's path with a ``.pth`` file: installing pulumi-aws (270 MB unpacked) takes about a minute, far
more than the rest of the suite's budget, and the pins, not the package under test, are what a cache
may keep. The cache holds no sfn-patterns; the tests check that ``sfn_patterns`` is the wheel's.
"""

import fcntl
import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The example project the tests run.
EXAMPLE = ROOT / "examples" / "consumer"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sfn-patterns" / "test-deps"


@dataclass
class Installed:
    """The fresh virtual environment holding the wheel, and what building it measured."""

    python: Path
    wheel: Path
    seconds: dict[str, float]

    def run(self, code: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ``code`` with the venv's Python (no PYTHONPATH of ours), failing on a non-zero exit."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("AWS_")}
        done = subprocess.run([str(self.python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"exit {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        return done


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True,
                   capture_output=True, text=True)


def runtime_pins() -> list[str]:
    """The pinned runtime requirements (``requirements.txt``), without the editable install of the repository."""
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    return [line for line in lines if line and "==" in line]


def dependencies_site() -> Path:
    """A folder with the pinned runtime requirements installed (and nothing else), built once per set of pins."""
    pins = runtime_pins()
    key = hashlib.sha256("\n".join([sys.version, *pins]).encode()).hexdigest()[:16]
    target = CACHE / key
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".complete").exists():
            _pip("install", "--target", str(target), *pins)
            (target / ".complete").write_text("\n".join(pins))
    return target


def _setuptools_builds_here() -> bool:
    try:
        import setuptools

        return int(setuptools.__version__.split(".")[0]) >= 77
    except ImportError:
        return False


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """The wheel of a clean checkout of HEAD, installed into a fresh venv (see the module docstring)."""
    seconds: dict[str, float] = {}
    tmp = tmp_path_factory.mktemp("consumer")
    started = time.perf_counter()
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(tmp / "src")], check=True)
    seconds["clone"] = time.perf_counter() - started

    started = time.perf_counter()
    # The pinned setuptools (requirements-dev.txt) builds without an isolated build environment
    # (which pip would first fill with setuptools: about 10 s more).
    isolation = ["--no-build-isolation"] if _setuptools_builds_here() else []
    _pip("wheel", "--no-deps", *isolation, "-w", str(tmp / "dist"), str(tmp / "src"))
    (wheel,) = (tmp / "dist").glob("sfn_patterns-*.whl")
    seconds["wheel"] = time.perf_counter() - started

    started = time.perf_counter()
    deps = dependencies_site()
    seconds["dependencies"] = time.perf_counter() - started

    started = time.perf_counter()
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "sfn_patterns_test_dependencies.pth").write_text(f"import site; site.addsitedir({str(deps)!r})\n")
    _pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    seconds["venv"] = time.perf_counter() - started
    yield Installed(python=python, wheel=wheel, seconds=seconds)
