"""What an archive carries of a source file: the same program on the same lines, without docstrings and comments."""

from __future__ import annotations

import ast
import traceback
from pathlib import Path

import pytest

from sfn_patterns.blocks.function import HANDLERS_DIR, archive_files
from sfn_patterns.blocks.stripped import stripped_source
from sfn_patterns.demo.external_service import DEMO_HANDLERS_DIR

HANDLER_MODULES = [(p.stem, HANDLERS_DIR) for p in sorted(HANDLERS_DIR.glob("*.py")) if p.stem != "__init__"] + [
    (p.stem, DEMO_HANDLERS_DIR) for p in sorted(DEMO_HANDLERS_DIR.glob("*.py")) if p.stem != "__init__"]
#: Every source file some archive carries, once.
ARCHIVED = sorted({path for module, folder in HANDLER_MODULES for path, _ in archive_files(module, folder).values()})

TRICKY = '''#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Module docstring,
over two lines – with a non-ASCII dash."""
from __future__ import annotations  # a trailing comment

import json  # json


class Only:
    """Only a docstring."""


class Fields:
    """Attributes with their own docstrings."""

    size: int = 1
    """The size (an attribute's docstring)."""
    if size:
        "a string alone in a block"
    else:
        pass


class Some:
    """Docstring, then code."""

    #: an attribute comment
    x = "# not a comment"  # but this is

    def one_line(self): """Whole body on one line."""

    def kept(self): """Code follows on its line."""; return 1

    async def later(self) -> int:
        """
        Multi-line, indented.
        """
        return 2  # two


def fails(value: int) -> None:
    """Raises, so the traceback's line can be compared."""
    # a comment before the raise
    text = f"value {value} – é"  # unicode before a comment
    raise ValueError(text)
'''


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """``tree`` without its statements that are only a string (docstrings), and a block that is then only ``...`` emptied."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if not isinstance(block, list) or not block or not isinstance(block[0], ast.stmt):
                continue
            kept = [s for s in block if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                             and isinstance(s.value.value, str))]
            if len(kept) == 1 and isinstance(kept[0], ast.Expr) and isinstance(kept[0].value, ast.Constant) \
                    and kept[0].value.value is Ellipsis:
                kept = []
            setattr(node, name, kept)
    return tree


def _positions(tree: ast.AST) -> list[tuple[str, int, int]]:
    return [(type(n).__name__, n.lineno, n.col_offset) for n in ast.walk(tree) if hasattr(n, "lineno")]


def _same_program(source: str, stripped: str) -> None:
    compile(stripped, "stripped.py", "exec")
    assert stripped.count("\n") == source.count("\n")
    original, carried = _without_docstrings(ast.parse(source)), _without_docstrings(ast.parse(stripped))
    assert ast.dump(carried) == ast.dump(original)
    # Every statement and expression starts on the same line and column: tracebacks point at the source.
    assert _positions(carried) == _positions(original)


@pytest.mark.parametrize("path", ARCHIVED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_archived_file_is_the_same_program_on_the_same_lines(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    stripped = stripped_source(source)
    _same_program(source, stripped)
    assert len(stripped) < len(source) or not source.strip()


def test_docstrings_and_comments_go_and_the_rest_stays() -> None:
    stripped = stripped_source(TRICKY)
    _same_program(TRICKY, stripped)
    lines = stripped.split("\n")
    assert lines[1] == "# -*- coding: utf-8 -*-"  # the encoding declaration stays
    assert lines[0] == "" and "docstring" not in stripped.lower()
    assert '    x = "# not a comment"' in lines  # a # inside a string is not a comment
    assert "    def one_line(self): ..." in lines  # a body that was only its docstring
    assert '    def kept(self): """Code follows on its line."""; return 1' in lines
    assert "class Only:" in lines and lines[lines.index("class Only:") + 1] == "    ..."
    assert "comment" not in stripped.replace("# not a comment", "")
    assert "import json" in lines and "        return 2" in lines
    assert "    size: int = 1" in lines and "attribute" not in stripped
    assert lines[lines.index("    if size:") + 1] == "        ..."  # a block may not be empty


def test_a_traceback_from_the_stripped_text_names_the_sources_line() -> None:
    stripped = stripped_source(TRICKY)
    namespace: dict = {}
    exec(compile(stripped, "tricky.py", "exec"), namespace)
    with pytest.raises(ValueError) as raised:
        namespace["fails"](3)
    frame = traceback.extract_tb(raised.tb)[-1]
    assert frame.lineno == TRICKY.split("\n").index("    raise ValueError(text)") + 1
    assert stripped.split("\n")[frame.lineno - 1] == "    raise ValueError(text)"


def test_an_archive_carries_the_stripped_text_of_each_file() -> None:
    files = archive_files("callback_api")
    assert files["sfn_patterns/__init__.py"][1] == ""  # the package init's lazy Pulumi table stays home
    for name, (path, text) in files.items():
        if name != "sfn_patterns/__init__.py":
            assert text == stripped_source(path.read_text(encoding="utf-8")), name
