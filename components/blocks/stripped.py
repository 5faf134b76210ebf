"""The text a Lambda archive carries for a Python source file: without docstrings and comments, on the same lines.

A Lambda never reads its modules' docstrings or comments, yet they are most of their bytes. The
archive builder (``sfn_patterns.blocks.function.handler_archive``) carries :func:`stripped_source`
of each file instead, and the local stack and the benchmark zip those same bytes. Every line keeps
its number and every statement its column, so a traceback from the Lambda points at the line of
the repository's source that raised:

- a docstring (the first statement of a module, class or function, a string), or any other
  statement that is only a string (an attribute's docstring), becomes blank lines, or ``...`` on its
  first line when it was the whole block (a block cannot be empty);
- a comment is cut from its line (found with :mod:`tokenize`, so a ``#`` inside a string stays),
  except a PEP 263 encoding declaration on line 1 or 2;
- a docstring followed on its last line by more code (``'''doc'''; x = 1``) is kept as it is.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import tokenize

from sfn_patterns.blocks.imports import parse_module

#: A PEP 263 encoding declaration (kept: it tells Python how to read the file).
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")


def _docstrings(tree: ast.Module) -> list[tuple[ast.Expr, bool]]:
    """Each statement that is only a string (a docstring, or an attribute's docstring after it), and
    whether it is the whole of a block that cannot be empty (any block but the module's)."""
    found = []
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if not isinstance(block, list):
                continue
            for statement in block:
                if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
                        and isinstance(statement.value.value, str):
                    found.append((statement, len(block) == 1 and not isinstance(node, ast.Module)))
    return found


def _chars(line: str, byte_offset: int) -> int:
    """The character offset of ``byte_offset`` (``ast`` columns count UTF-8 bytes) in ``line``."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8"))


@functools.lru_cache(maxsize=256)
def stripped_source(text: str) -> str:
    """``text`` (a Python module's source) without its docstrings and comments, every line where it was.

    Cached by text: every handler's archive carries the same shared modules, so a program with a
    dozen Lambdas would otherwise strip each of them a dozen times while it is evaluated.
    """
    lines = text.split("\n")
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type != tokenize.COMMENT:
            continue
        row, column = token.start
        if row <= 2 and _CODING.match(lines[row - 1]):
            continue
        lines[row - 1] = lines[row - 1][:column].rstrip()
    # Last first, so the positions of the ones before stay true.
    for node, whole_body in sorted(_docstrings(parse_module(text)), key=lambda found: found[0].lineno, reverse=True):
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        rest = lines[last][_chars(lines[last], node.end_col_offset or 0):]
        if rest.strip():
            continue
        start = lines[first][: _chars(lines[first], node.col_offset)]
        for row in range(first, last + 1):
            lines[row] = ""
        lines[first] = f"{start}..." if whole_body else start.rstrip()
    return "\n".join(lines)
