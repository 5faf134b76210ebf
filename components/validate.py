"""Check Step Functions definitions before deploy: ``python -m sfn_patterns.validate FILE...``.

Two kinds of checks, both run by ``Workflow`` when the program runs (so at ``pulumi preview``)
and by this command in a CI pipeline:

1. **The Amazon States Language schema**, the one cfn-lint ships for its rule E3601 (vendored in
   ``schemas/statemachine.json``, see its README), evaluated with ``jsonschema``; a top-level
   ``QueryLanguage: JSONata`` document is checked against the JSONata variant of that schema.
2. **The graph and the query languages**: ``StartAt`` and every transition (``Next``, ``Default``,
   ``Choices[].Next``, ``Catch[].Next``) name a state of the same machine; every state can be
   reached from ``StartAt``; some state ends the machine; no state name is used twice, in one
   mapping or anywhere in the nesting (the file is refused when a key repeats); no JSONPath field (``Parameters``,
   ``InputPath``, ``ResultPath``, ``*.$`` keys ...) in a JSONata state and no JSONata field
   (``Arguments``, ``Output``, ``Condition``) in a JSONPath state; no JSONPath state in a JSONata
   document (AWS refuses each).

Each problem names the file, the state (``Outer/branch0/Inner`` for nested ones) and the field. The
command prints one line per problem and exits 1 if there is any, 0 otherwise. Only the standard
library, PyYAML and jsonschema are imported (no Pulumi).

``handler:<module>`` / ``function:<name>`` / ``workflow:<name>`` references and ``${Name}`` placeholders (the library's
own notations, filled in before deploy) are accepted wherever a string is.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

import yaml

SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "statemachine.json"
_JSONPATH_ONLY = ("Parameters", "InputPath", "OutputPath", "ResultPath", "ResultSelector", "ItemsPath")
_JSONATA_ONLY = ("Arguments", "Output")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: where (state, field) and what."""

    state: Optional[str]
    field: Optional[str]
    message: str

    def line(self, file: str) -> str:
        """``file: state 'X': field 'Y': message`` (state/field left out when not known)."""
        parts = [file]
        if self.state is not None:
            parts.append(f"state {self.state!r}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return ": ".join(parts + [self.message])


# --- 1. the schema ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _validator(jsonata: bool) -> Any:
    import jsonschema
    from jsonschema import Draft202012Validator, ValidationError

    def required_xor(validator: Any, keys: Sequence[str], instance: Any, schema: Any) -> Iterator[Any]:
        # cfn-lint's custom keyword: exactly one of ``keys`` is present.
        if not validator.is_type(instance, "object"):
            return
        present = [key for key in keys if key in instance]
        if not present:
            yield ValidationError(f"one of {list(keys)} is required")
        elif len(present) > 1:
            yield ValidationError(f"only one of {present} may be given")

    # The vendored file refers to its root as "#/" (a key named ""); draft 2020-12 wants "#".
    schema = json.loads(SCHEMA_FILE.read_text().replace('"$ref": "#/"', '"$ref": "#"'))
    if jsonata:
        schema = jsonata_schema(schema)
    cls = jsonschema.validators.extend(Draft202012Validator, {"requiredXor": required_xor})
    return cls(schema)


def jsonata_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema for a document whose top-level ``QueryLanguage`` is JSONata (states inherit it)."""
    result = copy.deepcopy(dict(schema))
    definitions = result["definitions"]
    definitions["common"] = {
        "properties": {"QueryLanguage": {"const": "JSONata"}, **{field: False for field in _JSONPATH_ONLY}}
    }
    definitions["choice"]["allOf"] = []  # its JSONPath/JSONata switch keys on a declared QueryLanguage
    definitions["choice"]["properties"]["Choices"] = {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["Condition", "Next"],
            "properties": {
                "Comment": {"type": "string"},
                "Condition": {"type": ["string", "boolean"]},
                "Next": {"type": "string", "pattern": "^.{1,128}$"},
                "Assign": {"type": "object"},
                "Output": {},
            },
        },
    }
    for state_type in ("choice", "fail", "map", "parallel", "pass", "task", "wait", "succeed"):
        properties = definitions[state_type].setdefault("properties", {})
        properties["Arguments"] = {"type": ["string", "object"]}
        properties["Output"] = {}
        for field in ("Seconds", "Timestamp", "TimeoutSeconds", "HeartbeatSeconds", "MaxConcurrency",
                      "ToleratedFailurePercentage", "ToleratedFailureCount", "Items", "Error", "Cause"):
            if field in properties:
                properties[field] = {"type": ["number", "string", "array", "integer"]}
    return result


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and ("${" in value or value.startswith(("handler:", "function:", "workflow:")))


def _locate(path: Sequence[Any]) -> tuple[Optional[str], Optional[str]]:
    """(state path, field) of a JSON path into a definition."""
    state: list[str] = []
    index = 0
    items = list(path)
    last_state_end = 0
    while index < len(items):
        key = items[index]
        if key == "States" and index + 1 < len(items):
            state.append(str(items[index + 1]))
            index += 2
            last_state_end = index
            continue
        if key == "Branches" and index + 1 < len(items) and state:
            state[-1] = f"{state[-1]}/branch{items[index + 1]}"
            index += 2
            continue
        if key in ("ItemProcessor", "Iterator") and index + 1 < len(items) and items[index + 1] in ("States", "StartAt"):
            index += 1
            continue
        index += 1
    if not state:
        return None, ".".join(str(p) for p in items) or None
    rest = items[last_state_end:]
    field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in rest).replace(".[", "[") or None
    return "/".join(state), field


def schema_problems(document: Any) -> list[Problem]:
    """What the States Language schema refuses in ``document``."""
    jsonata = isinstance(document, Mapping) and document.get("QueryLanguage") == "JSONata"
    problems = []
    for error in _validator(jsonata).iter_errors(document):
        for leaf in _leaves(error):
            # A "false" sub-schema is the schema's JSONPath/JSONata mixing rule: graph_problems
            # reports those with the field named (jsonschema cannot tell which field it was).
            if _is_reference(leaf.instance) or leaf.schema is False:
                continue
            state, field = _locate(list(leaf.absolute_path))
            problems.append(Problem(state, field, leaf.message))
    return problems


def _leaves(error: Any) -> Iterator[Any]:
    # allOf/if-then nest the useful errors; report the innermost ones.
    if error.context:
        for child in error.context:
            yield from _leaves(child)
    else:
        yield error


# --- 2. graph and query languages -------------------------------------------------------------


def _targets(state: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    yield "Next", state.get("Next")
    yield "Default", state.get("Default")
    for index, choice in enumerate(state.get("Choices") or []):
        if isinstance(choice, Mapping):
            yield f"Choices[{index}].Next", choice.get("Next")
    for index, catch in enumerate(state.get("Catch") or []):
        if isinstance(catch, Mapping):
            yield f"Catch[{index}].Next", catch.get("Next")


def _terminal(state: Mapping[str, Any]) -> bool:
    return state.get("Type") in ("Succeed", "Fail") or state.get("End") is True


def _named(machine: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(state name, its path) of every state of a machine, nested branches and Map processors included."""
    states = machine.get("States") if isinstance(machine, Mapping) else None
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        where = f"{prefix}{name}"
        yield str(name), where
        if not isinstance(state, Mapping):
            continue
        for index, branch in enumerate(state.get("Branches") or []):
            yield from _named(branch, f"{where}/branch{index}/")
        if state.get("Type") == "Map":
            yield from _named(state.get("ItemProcessor") or state.get("Iterator"), f"{where}/")


def name_problems(machine: Any) -> list[Problem]:
    """A state name used twice anywhere in the machine: the States Language wants every name unique
    "within the scope of the whole state machine" (a Parallel branch or a Map's processor included)."""
    first: dict[str, str] = {}
    problems = []
    for name, where in _named(machine):
        if name in first:
            problems.append(Problem(where, None, f"the state name {name!r} is also used by {first[name]!r}; "
                                                 "state names must be unique in the whole state machine"))
        else:
            first[name] = where
    return problems


def graph_problems(machine: Any, prefix: str = "", jsonata: bool = False, top: bool = True) -> list[Problem]:
    """Transitions, reachability, an end, and JSONPath/JSONata mixing, for a machine and its nested ones."""
    if not isinstance(machine, Mapping):
        return [Problem(prefix.rstrip("/") or None, None, "is not a mapping")]
    states = machine.get("States")
    if not isinstance(states, Mapping) or not states:
        return [Problem(prefix.rstrip("/") or None, "States", "has no States")]
    problems: list[Problem] = []
    start = machine.get("StartAt")
    if start not in states:
        problems.append(Problem(prefix.rstrip("/") or None, "StartAt", f"StartAt {start!r} names no state"))
    if top and machine.get("QueryLanguage") == "JSONata":
        jsonata = True
    edges: dict[str, list[str]] = {}
    for name, state in states.items():
        where = f"{prefix}{name}"
        if not isinstance(state, Mapping):
            problems.append(Problem(where, None, "is not a mapping"))
            continue
        edges[name] = []
        for field, target in _targets(state):
            if target is None:
                continue
            if target not in states:
                problems.append(Problem(where, field, f"transition to unknown state {target!r}"))
            else:
                edges[name].append(str(target))
        problems += _language_problems(where, state, jsonata)
        state_jsonata = state.get("QueryLanguage", "JSONata" if jsonata else "JSONPath") == "JSONata"
        for index, branch in enumerate(state.get("Branches") or []):
            problems += graph_problems(branch, f"{where}/branch{index}/", state_jsonata, top=False)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if state.get("Type") == "Map":
            problems += graph_problems(processor, f"{where}/", state_jsonata, top=False)
            problems += _tolerance_problems(where, state)
    if isinstance(start, str) and start in states:
        reached, queue = {start}, [start]
        while queue:
            for target in edges.get(queue.pop(), []):
                if target not in reached:
                    reached.add(target)
                    queue.append(target)
        for name in states:
            if name not in reached:
                problems.append(Problem(f"{prefix}{name}", None, f"cannot be reached from StartAt {start!r}"))
        if not any(isinstance(states[n], Mapping) and _terminal(states[n]) for n in reached):
            problems.append(Problem(prefix.rstrip("/") or None, "End", "no reachable state ends the machine (End, Succeed or Fail)"))
    return problems


def _tolerance_problems(where: str, state: Mapping[str, Any]) -> list[Problem]:
    """A Map's failure tolerance out of the range AWS accepts (a percentage 0 to 100, a count from 0).

    The schema types these fields only (JSONata may give them as expressions); a number is judged here.
    """
    problems = []
    for field, high in (("ToleratedFailurePercentage", 100), ("ToleratedFailureCount", None)):
        value = state.get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (value < 0 or (high is not None and value > high)):
            bound = f"from 0 to {high}" if high is not None else "0 or more"
            problems.append(Problem(where, field, f"{field} must be {bound} (got {value})"))
    return problems


def _dollar_keys(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if str(key).endswith(".$"):
                yield f"{path}.{key}"
            yield from _dollar_keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _dollar_keys(item, f"{path}[{index}]")


def _language_problems(where: str, state: Mapping[str, Any], inherited_jsonata: bool) -> list[Problem]:
    declared = state.get("QueryLanguage")
    if inherited_jsonata and declared == "JSONPath":
        return [Problem(where, "QueryLanguage", "a JSONPath state cannot sit in a JSONata definition")]
    jsonata = (declared or ("JSONata" if inherited_jsonata else "JSONPath")) == "JSONata"
    problems = []
    if jsonata:
        for field in _JSONPATH_ONLY:
            if field in state:
                problems.append(Problem(where, field, "is a JSONPath field; a JSONata state uses Arguments/Output/Assign"))
        for field in ("Arguments", "Output", "Assign", "ItemSelector"):
            for key in _dollar_keys(state.get(field), field):
                problems.append(Problem(where, key, "'.$' keys are JSONPath; in JSONata write the value as {% ... %}"))
        for index, choice in enumerate(state.get("Choices") or []):
            if isinstance(choice, Mapping) and "Condition" not in choice:
                problems.append(Problem(where, f"Choices[{index}]", "a JSONata Choice rule needs Condition"))
    else:
        for field in _JSONATA_ONLY:
            if field in state:
                problems.append(Problem(where, field, "is a JSONata field; set QueryLanguage: JSONata to use it"))
        for index, choice in enumerate(state.get("Choices") or []):
            if isinstance(choice, Mapping) and "Condition" in choice:
                problems.append(Problem(where, f"Choices[{index}].Condition", "is JSONata; a JSONPath Choice rule uses Variable"))
    return problems


def problems(document: Any) -> list[Problem]:
    """Every problem of a parsed definition, one per state and field (our explanation before the schema's)."""
    found = graph_problems(document) + name_problems(document)
    if isinstance(document, Mapping):
        found = found + schema_problems(document)
    seen: set[tuple[Optional[str], Optional[str]]] = set()
    unique = []
    for problem in found:
        key = (problem.state, problem.field)
        if key in seen and problem.field is not None:
            continue
        seen.add(key)
        unique.append(problem)
    return unique


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error.

    (Plain ``safe_load`` keeps the last of them silently, so two states written under one name
    would deploy as one; AWS refuses such a definition as JSON.)
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # ``<<: *anchor``: a key written beside it overrides the merged one, as YAML means
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found the key {key!r} twice (first at line {seen[key].start_mark.line + 1})", key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"the key {key!r} is given twice in one object")
    return dict(pairs)


def load(path: Path) -> Any:
    """Parse a YAML or JSON definition file (``ValueError`` naming the file when it is neither, or
    when one mapping gives a key twice: of two states under one name, only one would deploy)."""
    if not path.is_file():
        raise ValueError(f"{path}: workflow definition file not found")
    text = path.read_text()
    try:
        if path.suffix == ".json":
            return json.loads(text, object_pairs_hook=_unique_pairs)
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except (ValueError, yaml.YAMLError) as error:
        raise ValueError(f"{path.name}: not valid YAML/JSON: {error}") from error


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Check each FILE; print one line per problem; 0 when none, 1 otherwise (2 for no files)."""
    files = list(sys.argv[1:] if argv is None else argv)
    if not files:
        print("usage: python -m sfn_patterns.validate FILE...", file=sys.stderr)
        return 2
    failed = False
    for name in files:
        try:
            found = problems(load(Path(name)))
        except ValueError as error:
            print(error)
            failed = True
            continue
        for problem in found:
            print(problem.line(name))
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
