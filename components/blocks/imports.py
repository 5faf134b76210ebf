"""The import closure of a handler module: the source files its Lambda archive must carry, found from its imports.

A handler's imports are read with :mod:`ast` (never executed): ``import a.b``, ``from a import b``
(``b`` may be a submodule), relative imports, at any depth of the module (inside functions and
``try`` blocks too), except under ``if TYPE_CHECKING:``, which never runs. Each imported module is
looked up in the *sources*, in order, and the files found there are read in turn, until nothing
new is found. What no source holds (the standard library, boto3, anything the runtime provides)
is not a file to carry and is left out. A package's ``__init__.py`` is carried with every module of
the package, as Python imports it first. Imports made by name at run time (``importlib``) cannot be
seen and are not followed.
"""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence


@dataclass(frozen=True)
class Source:
    """A folder whose modules may be carried: the module ``<package>.x.y`` is ``<folder>/x/y.py`` there.

    ``package`` is the dotted name the folder is imported as (``""`` for a folder that is a root
    of ``sys.path``, such as a handlers folder; ``"sfn_patterns"`` for the installed package).
    Archive names keep that name: ``sfn_patterns/contracts/common.py``.
    """

    folder: Path
    package: str = ""

    def find(self, module: str) -> Optional[tuple[str, Path]]:
        """``(archive name, file)`` of ``module`` in this folder, or None when it is not here."""
        parts = module.split(".")
        prefix = self.package.split(".") if self.package else []
        if parts[: len(prefix)] != prefix:
            return None
        inside = parts[len(prefix):]
        if not prefix and not inside:
            return None
        for relative in (inside[:-1] + [f"{inside[-1]}.py"] if inside else [], inside + ["__init__.py"]):
            if not relative:
                continue
            path = self.folder.joinpath(*relative)
            if path.is_file():
                return "/".join(prefix + relative), path
        return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, skipping the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                if isinstance(other, (ast.Import, ast.ImportFrom)):
                    yield other
                else:
                    yield from _import_nodes(other)
        else:
            yield from _import_nodes(child)


def _with_parents(module: str) -> list[str]:
    """``a.b.c`` -> ``["a", "a.b", "a.b.c"]``: Python imports each package on the way."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


#: Serializes this module's parses (see :func:`parse_module`).
_PARSE_LOCK = threading.Lock()


def parse_module(source: str) -> ast.Module:
    """``ast.parse(source)``, safe beside other threads' parses.

    CPython 3.11 keeps the AST constructor's recursion depth per interpreter, not per call
    (python/cpython#106905, fixed in later releases), so a parse that races another thread's can
    raise ``SystemError: AST constructor recursion depth mismatch`` for valid source. Seen here
    when the program ran beside the local stack's threads. Parses here are serialized, and one
    that still meets a foreign thread's parse is tried once more.
    """
    with _PARSE_LOCK:
        try:
            return ast.parse(source)
        except SystemError:
            return ast.parse(source)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[str]:
    """The dotted names ``source`` (the text of ``module``) may import, parents and submodule candidates included.

    ``from a import b`` yields ``a`` and ``a.b`` (``b`` is a submodule or a name: the lookup tells);
    a relative import is resolved against ``module``'s package (``module`` itself when ``is_package``).
    """
    names: list[str] = []
    package = module if is_package else module.rpartition(".")[0]
    for node in _import_nodes(parse_module(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names += _with_parents(alias.name)
            continue
        if node.level:
            base_parts = package.split(".") if package else []
            if node.level - 1 > len(base_parts):
                continue  # beyond the top: Python would refuse it too
            base_parts = base_parts[: len(base_parts) - (node.level - 1)]
            base = ".".join(base_parts + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        if base:
            names += _with_parents(base)
        names += [f"{base}.{alias.name}" if base else alias.name for alias in node.names if alias.name != "*"]
    return list(dict.fromkeys(names))


def import_closure(module: str, sources: Sequence[Source]) -> dict[str, Path]:
    """Archive name -> file of ``module`` and of every module it imports, recursively, found in ``sources``.

    ``module`` (a top-level handler module) must be found in one of ``sources``; the first source
    holding a module wins, as the first ``sys.path`` entry does.
    """
    files: dict[str, Path] = {}

    def find(name: str) -> Optional[tuple[str, Path]]:
        return next((found for found in (s.find(name) for s in sources) if found is not None), None)

    root = find(module)
    if root is None:
        raise FileNotFoundError(f"no handler module {module!r} in {[str(s.folder) for s in sources]}")
    pending = [(module, *root)]
    seen = {module}
    while pending:
        name, archive_name, path = pending.pop()
        files[archive_name] = path
        is_package = path.name == "__init__.py"
        for imported in imported_modules(path.read_text(encoding="utf-8"), name, is_package):
            if imported in seen:
                continue
            seen.add(imported)
            found = find(imported)
            if found is not None:
                pending.append((imported, *found))
    return dict(sorted(files.items()))
