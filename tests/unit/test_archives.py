"""Lambda archives carry only what their handler runs: its import closure, found from its imports."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from local.cloud import zip_archive
from sfn_patterns.blocks.function import HANDLERS_DIR, handler_archive
from sfn_patterns.demo.external_service import DEMO_HANDLERS_DIR
from sfn_patterns.blocks.imports import Source, import_closure, imported_modules

ROOT = Path(__file__).resolve().parents[2]
PATTERN_HANDLERS = sorted(p.stem for p in HANDLERS_DIR.glob("*.py") if p.stem != "__init__")
DEMO_HANDLERS = sorted(p.stem for p in DEMO_HANDLERS_DIR.glob("*.py") if p.stem != "__init__")
#: Imports a handler, with only the archive's folder to find our code in (the editable install's
#: finder is removed: a module the archive lacks must fail to import, as on Lambda), and prints the
#: files of every module it loaded from outside the Python installation.
_PROBE = """
import json, sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "")]
sys.path.insert(0, sys.argv[1])
__import__(sys.argv[2])
prefixes = (sys.base_prefix, sys.prefix)
print(json.dumps(sorted({m.__file__ for m in list(sys.modules.values())
                         if getattr(m, "__file__", None) and not m.__file__.startswith(prefixes)})))
"""


def _loaded_files(archive: bytes, module: str, folder: Path) -> list[str]:
    zipfile.ZipFile(io.BytesIO(archive)).extractall(folder)
    done = subprocess.run([sys.executable, "-c", _PROBE, str(folder), module], capture_output=True, text=True,
                          cwd=folder, timeout=60, env={"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1"})
    assert done.returncode == 0, done.stderr[-2000:]
    return [str(Path(f).relative_to(folder)) for f in json.loads(done.stdout)]


@pytest.mark.parametrize(("module", "folder"), [(m, HANDLERS_DIR) for m in PATTERN_HANDLERS]
                         + [(m, DEMO_HANDLERS_DIR) for m in DEMO_HANDLERS])
def test_each_archive_holds_exactly_what_its_handler_imports(module: str, folder: Path, tmp_path: Path) -> None:
    archive = zip_archive(handler_archive(module, folder))
    names = sorted(zipfile.ZipFile(io.BytesIO(archive)).namelist())
    # Importing the handler from the archive alone works and loads every file the archive has: no more, no less.
    assert _loaded_files(archive, module, tmp_path) == names


def test_idempotent_api_carries_no_token_or_pausable_helpers() -> None:
    assert sorted(handler_archive("idempotent_api").assets) == [
        "common/__init__.py", "common/clients.py", "common/documents.py", "common/env.py", "common/executions.py",
        "common/http.py", "common/log.py", "common/operations.py", "common/validation.py", "idempotent_api.py",
        "sfn_patterns/__init__.py",
        "sfn_patterns/contracts/__init__.py", "sfn_patterns/contracts/common.py", "sfn_patterns/contracts/idempotent.py",
    ]


def test_a_user_handler_that_imports_nothing_of_ours_is_alone(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text("import json\nimport boto3\n\ndef handler(event, context):\n    return event\n")
    (tmp_path / "unused.py").write_text("X = 1\n")
    assert sorted(handler_archive("hello", tmp_path).assets) == ["hello.py"]


def test_a_user_handler_carries_its_own_modules_the_shared_helpers_and_contracts_it_imports(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import helpers.text\n"
        "from common import log\n"
        "from sfn_patterns.contracts import pausable\n"
        "if TYPE_CHECKING:\n"
        "    import unused\n"
        "    from sfn_patterns.blocks import function\n"
        "def handler(event, context):\n"
        "    from helpers import late\n"
        "    return helpers.text.shout(event)\n"
    )
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("")
    (tmp_path / "helpers" / "text.py").write_text("from . import util\nfrom .util import lower\n\ndef shout(s):\n    return s\n")
    (tmp_path / "helpers" / "util.py").write_text("def lower(s):\n    return s\n")
    (tmp_path / "helpers" / "late.py").write_text("")
    (tmp_path / "unused.py").write_text("")
    assert sorted(handler_archive("job", tmp_path).assets) == [
        "common/__init__.py", "common/log.py",
        "helpers/__init__.py", "helpers/late.py", "helpers/text.py", "helpers/util.py",
        "job.py",
        "sfn_patterns/__init__.py", "sfn_patterns/contracts/__init__.py", "sfn_patterns/contracts/common.py",
        "sfn_patterns/contracts/pausable.py",
    ]


def test_a_users_module_shadows_the_librarys_as_on_sys_path(tmp_path: Path) -> None:
    (tmp_path / "fn.py").write_text("from common import log\n")
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "__init__.py").write_text("")
    (tmp_path / "common" / "log.py").write_text("")
    files = import_closure("fn", [Source(tmp_path), Source(HANDLERS_DIR)])
    assert files["common/log.py"] == tmp_path / "common" / "log.py"


def test_relative_imports_resolve_against_the_package() -> None:
    assert imported_modules("from . import a\nfrom ..b import c\n", "p.q.m") == ["p", "p.q", "p.q.a", "p.b", "p.b.c"]
    assert imported_modules("from .x import y\n", "p", is_package=True) == ["p", "p.x", "p.x.y"]
    assert imported_modules("from .... import z\n", "p.m") == []  # beyond the top: skipped


def test_a_missing_handler_module_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nosuch"):
        handler_archive("nosuch", tmp_path)


def test_the_local_stack_writes_deflated_archives() -> None:
    archive = zip_archive(handler_archive("callback_api"))
    infos = zipfile.ZipFile(io.BytesIO(archive)).infolist()
    assert infos and all(info.compress_type == zipfile.ZIP_DEFLATED for info in infos)
    assert len(archive) < sum(info.file_size for info in infos) / 2  # Python source deflates to well under half
