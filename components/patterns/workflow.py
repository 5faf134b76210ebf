"""``Workflow``: a state machine whose ASL definition lives in a YAML or JSON file (seed 002).

The file and the handlers are the user's: ``definition_file`` is read from ``workflows_dir`` (or the
program's working directory, the Pulumi project's folder), and nothing inside the library is assumed.
In the file, a Task's ``Resource`` (or its ``Parameters.FunctionName``) may be written
``handler:<module>``: the component builds a :class:`HandlerFunction` from
``<handlers_dir>/<module>.py`` and puts its ARN there. ``function:<name>`` is an existing Lambda,
whose ARN is passed in ``functions``; ``workflow:<name>`` is another workflow's ARN, passed in
``workflows``. Other ``${Name}`` placeholders are filled from ``substitutions``. The role then gets
exactly what those references need (``lambda:InvokeFunction`` on exactly the functions named).
"""

from pathlib import Path
from typing import Any, Mapping, Optional, Required, Sequence, TypedDict

import pulumi

from sfn_patterns import validate
from sfn_patterns.blocks import alarms, iam
from sfn_patterns.blocks.alarms import AlarmSettings
from sfn_patterns.blocks.args import check_args
from sfn_patterns.blocks.function import (
    HandlerFunction,
    HandlerSettings,
    handler_functions,
    handler_placeholder,
    handler_substitutions,
    user_dir,
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

#: The kinds of reference a definition may hold besides ``handler:<module>``, and their placeholder prefix.
_REFERENCE_KINDS = {"workflow": "Workflow_", "function": "Function_"}


class WorkflowDefinitionError(Exception):
    """A workflow file that cannot be turned into a state machine; the message names file and state."""


class WorkflowArgs(LoggingArgs, total=False):
    """Arguments of :class:`Workflow`."""

    definition_file: Required[str]
    """Path of your YAML/JSON definition: absolute, or relative to ``workflows_dir`` (when given) or else to
    the program's working directory (the Pulumi project's folder). A plain value: the file is read, checked
    and turned into the state machine's definition when the component is constructed."""
    workflows_dir: str
    """Folder of your workflow files, against which a relative ``definition_file`` is read. Default: the
    program's working directory. A plain value, not an Output."""
    handlers_dir: str
    """Folder of your handler modules, the ``handler:<module>`` Tasks of the file (absolute, or relative to
    the program's working directory). Required when the file names a handler. A plain value, not an
    Output: the Lambda archives are built from its files when the component is constructed."""
    functions: Mapping[str, pulumi.Input[str]]
    """ARNs of existing Lambda functions, by the name used in ``function:<name>``; the role may invoke
    exactly those. Default: none."""
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
        check_args(f"Workflow {name!r}", args, WorkflowArgs)
        path = definition_path(args["definition_file"], args.get("workflows_dir"))
        handlers_dir = args.get("handlers_dir")
        template, modules, refs = load_definition(path, handlers_dir)

        known = {"workflow": dict(args.get("workflows", {})), "function": dict(args.get("functions", {}))}
        substitutions: dict[str, pulumi.Input[str]] = dict(args.get("substitutions", {}))
        for ref, state_path in refs.items():
            kind, _, target = ref.partition(":")
            if target not in known[kind]:
                raise WorkflowDefinitionError(
                    f"{path.name}: state {state_path!r}: unknown {kind} reference {ref!r}"
                    f" (given in {kind}s: {sorted(known[kind]) or 'none'})"
                )
            substitutions[_reference_key(ref)] = known[kind][target]
        machine_type = args.get("type", "STANDARD")
        # Everything that can be judged from the file is judged before anything is declared.
        check_definition(path.name, template, list(args.get("statements", [])), machine_type)
        super().__init__("sfn-patterns:index:Workflow", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarms.settings_for(self, args.get("alarms"), opts)
        retention = args.get("log_retention_days", 14)
        self.functions: dict[str, HandlerFunction] = handler_functions(
            name, modules, args.get("handlers", {}), retention, child, handlers_dir
        )
        substitutions.update(handler_substitutions(self.functions))
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


def _reference_key(ref: str) -> str:
    kind, _, target = ref.partition(":")
    return _REFERENCE_KINDS[kind] + "".join(c if c.isalnum() else "_" for c in target)


def definition_path(definition_file: str, workflows_dir: Optional[str] = None) -> Path:
    """Where a definition file is: absolute, or relative to ``workflows_dir`` or else to the working directory."""
    path = Path(definition_file).expanduser()
    if not path.is_absolute() and workflows_dir:
        path = user_dir(workflows_dir) / path
    return path.resolve()


def load_definition(
    path: Path, handlers_dir: Optional[str] = None
) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """Parse and check a definition file; rewrite its ``handler:``/``function:``/``workflow:`` references.

    Returns the template (references replaced by ``${...}`` placeholders), the handler modules it
    uses (in order of appearance, each a file of ``handlers_dir``) and the other references it
    holds (``"workflow:<name>"``/``"function:<name>"``, each with the first state that uses it).
    Raises :class:`WorkflowDefinitionError` naming the file and the state.
    """
    try:
        document = validate.load(path)
    except ValueError as error:
        raise WorkflowDefinitionError(str(error)) from error
    found = validate.problems(document)
    if found:
        raise WorkflowDefinitionError("\n".join(problem.line(path.name) for problem in found))

    modules: list[str] = []
    refs: dict[str, str] = {}
    folder = user_dir(handlers_dir) if handlers_dir else None

    def rewrite(value: Any, state_path: str) -> Any:
        if isinstance(value, str):
            if value.startswith("handler:"):
                module = value[len("handler:"):]
                if folder is None:
                    raise WorkflowDefinitionError(
                        f"{path.name}: state {state_path!r}: {value!r} needs handlers_dir, the folder of your handler modules"
                    )
                if not module.isidentifier() or not (folder / f"{module}.py").is_file():
                    raise WorkflowDefinitionError(
                        f"{path.name}: state {state_path!r}: unknown handler {value!r} (no {module}.py in {folder})"
                    )
                if module not in modules:
                    modules.append(module)
                return handler_placeholder(module)
            kind, _, target = value.partition(":")
            if kind in _REFERENCE_KINDS and target:
                refs.setdefault(value, state_path)
                return "${" + _reference_key(value) + "}"
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
    return document, modules, refs
