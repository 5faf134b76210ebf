"""``Workflow``: a state machine whose ASL definition lives in a YAML or JSON file (seed 002).

In the file, a Task's ``Resource`` (or its ``Parameters.FunctionName``) may be written
``handler:<module>``: the component builds a :class:`HandlerFunction` from ``handlers/<module>.py``
and puts its ARN there. Any string written ``workflow:<name>`` becomes the ARN of that workflow of
the stack, passed in ``workflows``. Other ``${Name}`` placeholders are filled from
``substitutions``. The role then gets exactly what those references need.
"""

from pathlib import Path
from typing import Any, Mapping, Optional, Required, Sequence, TypedDict

import pulumi

from sfn_patterns import validate
from sfn_patterns.blocks import alarms, iam
from sfn_patterns.blocks.alarms import AlarmSettings
from sfn_patterns.blocks.function import (
    DEMO_HANDLERS_DIR,
    HandlerFunction,
    HandlerSettings,
    handler_functions,
    handler_placeholder,
    handler_substitutions,
)
from sfn_patterns.blocks.state_machine import (
    LoggingArgs,
    StateMachine,
    check_type,
    iter_states,
    logging_settings,
    placeholders,
    statements_for_definition,
)

#: Folder of the project's workflow definitions.
WORKFLOWS_DIR = Path(__file__).resolve().parent.parent.parent / "workflows"


class WorkflowDefinitionError(Exception):
    """A workflow file that cannot be turned into a state machine; the message names file and state."""


class WorkflowArgs(LoggingArgs, total=False):
    """Arguments of :class:`Workflow`."""

    definition_file: Required[str]
    """Path of the YAML/JSON definition, absolute or relative to ``workflows/``. A plain value: the file
    is read, checked and turned into the state machine's definition when the component is constructed."""
    workflows: Mapping[str, pulumi.Input[str]]
    """ARNs of other workflows, by the name used in ``workflow:<name>``. Default: none."""
    substitutions: Mapping[str, pulumi.Input[str]]
    """Values of other ``${Name}`` placeholders in the file. Default: none."""
    handlers: Mapping[str, HandlerSettings]
    """Settings of the handler Lambdas, by module name. Default: none."""
    statements: Sequence[iam.Statement]
    """Extra statements for the state machine role. Default: none."""
    type: pulumi.Input[str]
    """``STANDARD`` (default) or ``EXPRESS``."""
    log_retention_days: pulumi.Input[int]
    """Days every log group of the workflow keeps logs. Default 14."""
    handlers_dir: str
    """Folder of handler modules. Default: the demo's ``handlers/demo/``. A plain value, not an Output:
    the Lambda archives are built from its files when the component is constructed."""
    alarms: AlarmSettings
    """The workflow's alarms (executions failed, timed out, aborted, throttled; every handler Lambda's
    errors and throttles): on/off, topic, period, thresholds. Default: on, to the stack's alarm topic."""


class Workflow(pulumi.ComponentResource):
    """A state machine loaded from a definition file, with a Lambda for each ``handler:`` it names."""

    # Only outputs are annotated here (the component schema is inferred from them); a Python program
    # also reaches the children: ``state_machine`` and ``functions`` (by handler module).
    arn: pulumi.Output[str]
    """ARN of the state machine."""
    name: pulumi.Output[str]
    """Name of the state machine."""

    def __init__(self, name: str, args: WorkflowArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        path = Path(args["definition_file"])
        if not path.is_absolute():
            path = WORKFLOWS_DIR / path
        handlers_dir = Path(args.get("handlers_dir") or DEMO_HANDLERS_DIR)
        template, modules, workflow_refs = load_definition(path, handlers_dir)

        known = dict(args.get("workflows", {}))
        for ref, state_path in workflow_refs.items():
            if ref not in known:
                raise WorkflowDefinitionError(
                    f"{path.name}: state {state_path!r}: unknown workflow reference 'workflow:{ref}'"
                    f" (known: {sorted(known) or 'none'})"
                )
        machine_type = args.get("type", "STANDARD")
        # Everything that can be judged from the file is judged before anything is declared.
        check_definition(path.name, template, list(args.get("statements", [])), machine_type)
        super().__init__("sfn-patterns:index:Workflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarms.settings_for(self, args.get("alarms"), opts)
        retention = args.get("log_retention_days", 14)
        self.functions: dict[str, HandlerFunction] = handler_functions(
            name, modules, args.get("handlers", {}), retention, child, handlers_dir=str(handlers_dir)
        )

        substitutions: dict[str, pulumi.Input[str]] = dict(args.get("substitutions", {}))
        substitutions.update(handler_substitutions(self.functions))
        substitutions.update({_workflow_key(w): known[w] for w in workflow_refs})
        missing = sorted(placeholders(template) - set(substitutions))
        if missing:
            raise WorkflowDefinitionError(f"{path.name}: no value for placeholder(s) {missing}")

        self.state_machine: StateMachine = StateMachine(
            name,
            {
                "definition": template,
                "substitutions": substitutions,
                "statements": list(args.get("statements", [])),
                "type": machine_type,
                "log_retention_days": retention,
                **logging_settings(args),
            },
            opts=child,
        )
        self.arn = self.state_machine.arn
        self.name = self.state_machine.name
        self.register_outputs({"arn": self.arn, "name": self.name})


def check_definition(
    file: str, template: Mapping[str, Any], statements: Sequence[iam.Statement], machine_type: Any
) -> None:
    """Refuse a definition whose role cannot be derived or that its machine type cannot run, naming the file."""
    try:
        if isinstance(machine_type, str):
            check_type(template, machine_type)
        statements_for_definition(template, statements, check_only=True)
    except ValueError as error:
        raise WorkflowDefinitionError(f"{file}: {error}") from error


def _workflow_key(workflow: str) -> str:
    return "Workflow_" + "".join(c if c.isalnum() else "_" for c in workflow)


def load_definition(path: Path, handlers_dir: Path = DEMO_HANDLERS_DIR) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """Parse and check a definition file; rewrite its ``handler:``/``workflow:`` references.

    Returns the template (references replaced by ``${...}`` placeholders), the handler modules it
    uses (in order of appearance) and the workflow names it references (each with the first
    state that does). Raises :class:`WorkflowDefinitionError` naming the file and the state.
    """
    try:
        document = validate.load(path)
    except ValueError as error:
        raise WorkflowDefinitionError(str(error)) from error
    found = validate.problems(document)
    if found:
        raise WorkflowDefinitionError("\n".join(problem.line(path.name) for problem in found))

    modules: list[str] = []
    workflow_refs: dict[str, str] = {}

    def rewrite(value: Any, state_path: str) -> Any:
        if isinstance(value, str):
            if value.startswith("handler:"):
                module = value[len("handler:"):]
                if not module.isidentifier() or not (handlers_dir / f"{module}.py").is_file():
                    raise WorkflowDefinitionError(
                        f"{path.name}: state {state_path!r}: unknown handler {value!r}"
                        f" (no handlers/{module}.py)"
                    )
                if module not in modules:
                    modules.append(module)
                return handler_placeholder(module)
            if value.startswith("workflow:"):
                workflow = value[len("workflow:"):]
                workflow_refs.setdefault(workflow, state_path)
                return "${" + _workflow_key(workflow) + "}"
            return value
        if isinstance(value, dict):
            return {k: rewrite(v, state_path) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v, state_path) for v in value]
        return value

    for state_path, state in list(iter_states(document)):
        for key in ("Resource", "Parameters", "Arguments"):
            if key in state:
                state[key] = rewrite(state[key], state_path)  # type: ignore[index]
    return document, modules, workflow_refs
