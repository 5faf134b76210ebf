"""The component provider: serves sfn-patterns' components to every Pulumi language.

``pulumi package add <repository>/components`` (TypeScript, Go, C#, Java, YAML) runs this folder as
a source-based plugin (``components/PulumiPlugin.yaml``; the Python language host executes
``components/__main__.py``, which calls :func:`main`). ``python -m sfn_patterns <engine address>``
does the same from an installed wheel. The Pulumi SDK's component provider infers the schema
from the type annotations of each component's ``args`` TypedDict (inputs), of the component's
``pulumi.Output`` attributes (outputs) and from the docstrings under them (descriptions); the
schema's resource tokens are ``sfn-patterns:index:<Component>``.

Rules the components follow so the inferred schema is complete and truthful: no
``from __future__ import annotations`` in their modules (the inference reads evaluated
annotations), ``Required[...]`` on required fields of a ``total=False`` TypedDict, only outputs
annotated on a component class (child resources are assigned in ``__init__``), a docstring under
every field and output, and no ``Union`` other than ``Optional``. ``tests/schema`` checks the schema
the host serves against them.

A program's outputs reach a component as the engine forwards them: as output values, also inside
plain maps and lists (``workflows``, a Lambda's ``environment``, ``routes``), which the components
take as they come. An engine or SDK that instead sends plain values with per-input dependencies
makes such a container one Output as a whole, which a component needing its keys at construction
refuses; scalar Inputs work either way.
"""

import ast
import inspect
import sys
import textwrap
from typing import Optional

import pulumi
from pulumi.output import Inputs
from pulumi.provider import main as serve
from pulumi.provider.experimental import analyzer, component

#: The package name of the schema (resource tokens ``sfn-patterns:index:<Component>``).
PACKAGE = "sfn-patterns"


def components() -> list[type[pulumi.ComponentResource]]:
    """Every public component: the five patterns, the three building blocks they are made of, and the stack's dashboard."""
    from sfn_patterns.blocks.dashboard import StackDashboard
    from sfn_patterns.blocks.function import HandlerFunction
    from sfn_patterns.blocks.http_api import HttpApi
    from sfn_patterns.blocks.state_machine import StateMachine
    from sfn_patterns.patterns.callback_workflow import CallbackWorkflow
    from sfn_patterns.patterns.idempotent_api import IdempotentApi
    from sfn_patterns.patterns.monitored_workflow import MonitoredWorkflow
    from sfn_patterns.patterns.pausable_workflow import PausableWorkflow
    from sfn_patterns.patterns.workflow import Workflow

    return [
        CallbackWorkflow,
        MonitoredWorkflow,
        PausableWorkflow,
        IdempotentApi,
        Workflow,
        HandlerFunction,
        StateMachine,
        HttpApi,
        StackDashboard,
    ]


def declared_bases(cls: type) -> list[type]:
    """The classes that ``cls``'s ``class`` statement names as bases.

    Python 3.11 keeps no trace of a TypedDict's TypedDict bases (its ``__mro__`` is ``(cls, dict,
    object)``), so they are read from the source and looked up in the class's module.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return []
    module = sys.modules.get(cls.__module__)
    statement = tree.body[0] if tree.body else None
    if module is None or not isinstance(statement, ast.ClassDef):
        return []
    bases = [getattr(module, base.id, None) for base in statement.bases if isinstance(base, ast.Name)]
    return [base for base in bases if isinstance(base, type) and base not in (dict, object)]


class InheritingAnalyzer(analyzer.Analyzer):
    """The SDK's schema analyzer, also finding the docstring of a field declared on a base class
    (and dedenting docstrings, as ``help()`` shows them).

    The SDK reads a field's docstring from the source of the class being analyzed only, so every
    field a pattern's args inherit from :class:`~sfn_patterns.blocks.http_api.ApiArgs` would have no
    description in the schema.
    """

    def get_docstring(self, typ: type, name: str) -> Optional[str]:
        """The docstring under field ``name`` of ``typ``, or else of the first base class declaring it."""
        found: Optional[str] = super().get_docstring(typ, name)
        if found is not None:
            return inspect.cleandoc(found)
        for base in declared_bases(typ):
            found = self.get_docstring(base, name)
            if found is not None:
                return found
        return None


class SfnPatternsProvider(component.ComponentProvider):
    """The SDK's component provider over :class:`InheritingAnalyzer`, handing components whole numbers as ``int``.

    Numbers cross gRPC as doubles. The SDK (3.272.0) means to turn those of ``integer`` properties
    back into ``int`` but then stores the double again, so ``timeoutSeconds: 600`` from TypeScript
    would reach the component as ``600.0`` and be refused. A whole double becomes an ``int`` here;
    any other (``1.5``) is left for the component's own check to refuse, never truncated.
    """

    def __init__(self, components: list[type[pulumi.ComponentResource]], name: str, version: str) -> None:
        # ComponentProvider builds the schema in __init__ with the module's ``Analyzer``.
        sdk_analyzer = component.Analyzer
        component.Analyzer = InheritingAnalyzer  # type: ignore[misc]
        try:
            super().__init__(components, name, None, version)
        finally:
            component.Analyzer = sdk_analyzer  # type: ignore[misc]

    def map_input_properties(
        self,
        inputs: Inputs,
        properties: dict[str, analyzer.PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> Inputs:
        """The SDK's mapping of schema names to Python names (nested types come back through here),
        with whole numbers of ``integer`` properties as ``int``."""
        mapped = dict(super().map_input_properties(inputs, properties, mapping, component_name, property_path))
        for schema_name, prop in properties.items():
            value = mapped.get(mapping[schema_name])
            if prop.type == analyzer.PropertyType.INTEGER and isinstance(value, float) and value.is_integer():
                mapped[mapping[schema_name]] = int(value)
        return mapped


def main() -> None:
    """Serve the components over gRPC the way the Pulumi engine starts a provider plugin.

    The engine passes its address as the first argument; the provider prints the port it listens
    on. This is what the SDK's ``component_provider_host`` does (``pulumi.provider.main`` over a
    ``ComponentProvider``), with :class:`SfnPatternsProvider` in place of the SDK's provider.
    """
    from sfn_patterns import __version__

    serve(SfnPatternsProvider(components(), PACKAGE, __version__), sys.argv[1:])
