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
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

import yaml

from sfn_patterns.blocks.integrations import is_jsonata_expression as _dynamic

SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "statemachine.json"
_JSONPATH_ONLY = ("Parameters", "InputPath", "OutputPath", "ResultPath", "ResultSelector", "ItemsPath", "SecondsPath",
                  "TimestampPath", "TimeoutSecondsPath", "HeartbeatSecondsPath", "ErrorPath", "CausePath",
                  "MaxConcurrencyPath", "ToleratedFailurePercentagePath", "ToleratedFailureCountPath")
_JSONATA_ONLY = ("Arguments", "Output", "Items")


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
    schema = corrected_schema(json.loads(SCHEMA_FILE.read_text().replace('"$ref": "#/"', '"$ref": "#"')))
    if jsonata:
        schema = jsonata_schema(schema)
    cls = jsonschema.validators.extend(Draft202012Validator, {"requiredXor": required_xor})
    return cls(schema)


def corrected_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The vendored schema with what it refuses but AWS accepts let through (found by probing):

    - an ARN of any partition (``arn:aws-cn:``, ``arn:aws-us-gov:``), where its patterns say ``arn:aws:``;
    - ``ResultPath``/``InputPath``/``OutputPath`` ``null`` (spec: "If the value of ResultPath is null ...");
    - ``InputPath``, ``OutputPath`` and ``QueryLanguage`` on a Succeed state (spec: its output is "possibly
      modified by InputPath and/or OutputPath");
    - a fractional ``ToleratedFailurePercentage`` (AWS types it a float).
    """
    result = json.loads(json.dumps(schema).replace('"^arn:aws:', '"^arn:aws(-[a-z]+)*:'))
    definitions = result["definitions"]
    for definition in definitions.values():
        for field in ("ResultPath", "InputPath", "OutputPath"):
            prop = definition.get("properties", {}).get(field)
            if isinstance(prop, dict) and prop.get("type") == "string":
                prop["type"] = ["string", "null"]
    succeed = definitions["succeed"]["properties"]
    succeed.setdefault("InputPath", {"type": ["string", "null"], "pattern": "^\\$"})
    succeed.setdefault("OutputPath", {"type": ["string", "null"], "pattern": "^\\$"})
    succeed.setdefault("QueryLanguage", {"enum": ["JSONPath", "JSONata"]})
    definitions["map"]["properties"]["ToleratedFailurePercentage"] = {"type": "number"}
    return result


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


def _named(machine: Any, prefix: str = "") -> Iterator[tuple[Any, str]]:
    """(state name as given, its path) of every state of a machine, nested branches and Map processors included."""
    states = machine.get("States") if isinstance(machine, Mapping) else None
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        where = f"{prefix}{name}"
        yield name, where
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
        problems += _field_problems(where, state, state_jsonata)
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


# --- 3. the rules the schema leaves out -------------------------------------------------------
# Each cites the Amazon States Language spec (https://states-language.net/spec.html) or the Step
# Functions developer guide page of the state type; a JSONata expression ({% %}) or a library
# placeholder is judged once evaluated, so only static values are checked here.

_RETRIER_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"}
_CATCHER_FIELDS = {"ErrorEquals", "Next", "ResultPath", "Output", "Assign", "Comment"}
_CHOICE_OPERATORS = {
    f"{kind}{op}{suffix}"
    for kind in ("String", "Numeric", "Timestamp")
    for op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
    for suffix in ("", "Path")
} | {"StringMatches", "BooleanEquals", "BooleanEqualsPath", "IsNull", "IsPresent", "IsNumeric", "IsString",
     "IsBoolean", "IsTimestamp"}
_INTRINSICS = {
    "States.Format", "States.StringToJson", "States.JsonToString", "States.Array", "States.ArrayPartition",
    "States.ArrayContains", "States.ArrayRange", "States.ArrayGetItem", "States.ArrayLength", "States.ArrayUnique",
    "States.Base64Encode", "States.Base64Decode", "States.Hash", "States.JsonMerge", "States.MathRandom",
    "States.MathAdd", "States.StringSplit", "States.UUID",
}
#: RFC 3339 as the Wait state takes it: an uppercase T between date and time, Z or an offset.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_LABEL = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,40}$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _static(value: Any) -> bool:
    return not _dynamic(value) and not _is_reference(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer_problem(where: str, field: str, value: Any, low: int, high: Optional[int] = None) -> list[Problem]:
    if value is None or not _static(value):
        return []
    if not _is_int(value) or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        return [Problem(where, field, f"must be a whole number {bound} (got {value!r})")]
    return []


def _exclusive(where: str, state: Mapping[str, Any], *fields: str, required: bool = False) -> list[Problem]:
    given = [f for f in fields if f in state]
    if len(given) > 1:
        return [Problem(where, given[1], f"cannot be given with {given[0]!r} (one of {list(fields)})")]
    if required and not given:
        return [Problem(where, None, f"needs exactly one of {list(fields)}")]
    return []


def _brackets_balanced(text: str) -> bool:
    depth: list[str] = []
    quote: Optional[str] = None
    escaped = False
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth.append(char)
        elif char in pairs:
            if not depth or depth.pop() != pairs[char]:
                return False
    return not depth and quote is None


def _path_problem(where: str, field: str, value: Any, reference: bool = False) -> list[Problem]:
    """A JSONPath ``Path`` (or, with ``reference``, a Reference Path: one node, no ``..``, ``@``, ``,``, ``:``, ``?``, ``*``)."""
    if value is None or not isinstance(value, str) or not _static(value):
        return []
    if not value.startswith("$") or not _brackets_balanced(value):
        return [Problem(where, field, f"{value!r} is not a JSONPath (it starts with '$' and its brackets close)")]
    if reference and not value.startswith("$$") and (".." in value or any(c in value for c in "@,:?*")):
        return [Problem(where, field, f"{value!r} is not a Reference Path (a single node: no '..', '@', ',', ':', '?' or '*')")]
    return []


def _payload_problems(where: str, field: str, value: Any) -> Iterator[Problem]:
    """A Payload Template's ``"key.$"`` values are paths or intrinsic function calls (spec: Payload Template)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{field}.{key}"
            if str(key).endswith(".$"):
                plain = str(key)[:-2]
                if plain in value:
                    yield Problem(where, name, f"{plain!r} is given both as a value and as a path")
                if not isinstance(item, str):
                    yield Problem(where, name, "a '.$' field's value is a path or an intrinsic function call, not a "
                                               f"{type(item).__name__}")
                elif _is_reference(item):
                    continue
                elif item.startswith("States."):
                    function = item.split("(", 1)[0]
                    if function not in _INTRINSICS:
                        yield Problem(where, name, f"unknown intrinsic function {function!r}")
                    elif not (item.rstrip().endswith(")") and _brackets_balanced(item)):
                        yield Problem(where, name, f"{item!r}: the intrinsic function call is not closed")
                elif not item.startswith("$"):
                    yield Problem(where, name, f"{item!r} is neither a path ('$...') nor an intrinsic function call")
                elif not _brackets_balanced(item):
                    yield Problem(where, name, f"{item!r}: its brackets do not close")
            else:
                yield from _payload_problems(where, name, item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _payload_problems(where, f"{field}[{index}]", item)


def _expression_problems(where: str, field: str, value: Any) -> Iterator[Problem]:
    """``{% %}`` strings anywhere in ``value``: not empty, their brackets and quotes close."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{%") or text.endswith("%}"):
            if not (text.startswith("{%") and text.endswith("%}")):
                yield Problem(where, field, f"{value[:60]!r}: a JSONata expression is written {{% ... %}}")
                return
            body = text[2:-2].strip()
            if not body:
                yield Problem(where, field, "the JSONata expression is empty")
            elif not _brackets_balanced(body) or body.endswith(("+", "-", "&", "=", "(", ",", ".")):
                yield Problem(where, field, f"{value[:60]!r} is not a complete JSONata expression")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _expression_problems(where, f"{field}.{key}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _expression_problems(where, f"{field}[{index}]", item)


def _error_handling_problems(where: str, state: Mapping[str, Any], jsonata: bool) -> list[Problem]:
    problems: list[Problem] = []
    for field, allowed in (("Retry", _RETRIER_FIELDS), ("Catch", _CATCHER_FIELDS)):
        rules = state.get(field)
        if not isinstance(rules, list):
            continue
        for index, rule in enumerate(rules):
            at = f"{field}[{index}]"
            if not isinstance(rule, Mapping):
                continue
            for extra in sorted(set(rule) - allowed):
                problems.append(Problem(where, f"{at}.{extra}", f"is not a field of a {'retrier' if field == 'Retry' else 'catcher'}"))
            errors = rule.get("ErrorEquals")
            if isinstance(errors, list):
                if not errors:
                    problems.append(Problem(where, f"{at}.ErrorEquals", "must name at least one error"))
                if "States.ALL" in errors and (len(errors) > 1 or index != len(rules) - 1):
                    problems.append(Problem(where, f"{at}.ErrorEquals",
                                            f"States.ALL must be alone in the last {'retrier' if field == 'Retry' else 'catcher'}"))
            if field == "Retry":
                problems += _integer_problem(where, f"{at}.IntervalSeconds", rule.get("IntervalSeconds"), 1, 99999999)
                problems += _integer_problem(where, f"{at}.MaxAttempts", rule.get("MaxAttempts"), 0, 99999999)
                problems += _integer_problem(where, f"{at}.MaxDelaySeconds", rule.get("MaxDelaySeconds"), 1, 31622400)
                rate = rule.get("BackoffRate")
                if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate < 1:
                    problems.append(Problem(where, f"{at}.BackoffRate", f"must be 1.0 or more (got {rate})"))
                if "JitterStrategy" in rule and rule["JitterStrategy"] not in ("FULL", "NONE"):
                    problems.append(Problem(where, f"{at}.JitterStrategy", f"is FULL or NONE (got {rule['JitterStrategy']!r})"))
            elif not jsonata:
                problems += _path_problem(where, f"{at}.ResultPath", rule.get("ResultPath"), reference=True)
                if "Output" in rule:
                    problems.append(Problem(where, f"{at}.Output", "is a JSONata field; set QueryLanguage: JSONata to use it"))
            elif "ResultPath" in rule:
                problems.append(Problem(where, f"{at}.ResultPath", "is a JSONPath field; a JSONata catcher uses Output"))
    return problems


def _choice_rule_problems(where: str, at: str, rule: Any, top: bool) -> list[Problem]:
    if not isinstance(rule, Mapping):
        return []
    problems: list[Problem] = []
    if not top and "Next" in rule:
        problems.append(Problem(where, f"{at}.Next", "a nested Choice rule has no Next (only the top-level rules do)"))
    combinators = [k for k in ("And", "Or", "Not") if k in rule]
    operators = [k for k in rule if k in _CHOICE_OPERATORS]
    if combinators:
        if "Variable" in rule or operators:
            problems.append(Problem(where, at, f"{combinators[0]} cannot be combined with Variable or a comparison"))
        for key in combinators:
            value = rule[key]
            if key == "Not":
                problems += _choice_rule_problems(where, f"{at}.Not", value, False)
            elif not isinstance(value, list) or not value:
                problems.append(Problem(where, f"{at}.{key}", "must be a non-empty list of rules"))
            else:
                for index, inner in enumerate(value):
                    problems += _choice_rule_problems(where, f"{at}.{key}[{index}]", inner, False)
        return problems
    if "Condition" in rule:
        return problems
    if "Variable" not in rule:
        problems.append(Problem(where, at, "a Choice rule needs Variable (or And/Or/Not, or a JSONata Condition)"))
    else:
        problems += _path_problem(where, f"{at}.Variable", rule["Variable"])
    for extra in sorted(set(rule) - _CHOICE_OPERATORS - {"Variable", "Next", "Comment", "Assign"}):
        problems.append(Problem(where, f"{at}.{extra}", "is not a field of a Choice rule"))
    for operator in operators:
        value = rule[operator]
        if operator.endswith("Path"):
            problems += _path_problem(where, f"{at}.{operator}", value)
        elif operator.startswith("Timestamp") and isinstance(value, str) and not _TIMESTAMP.match(value):
            problems.append(Problem(where, f"{at}.{operator}", f"{value!r} is not an RFC 3339 timestamp (2026-01-01T00:00:00Z)"))
    return problems


def _field_problems(where: str, state: Mapping[str, Any], jsonata: bool) -> list[Problem]:
    """Rules of each state type that the vendored schema does not carry."""
    kind = state.get("Type")
    problems: list[Problem] = []
    if not jsonata:
        for field, reference in (("InputPath", False), ("OutputPath", False), ("ResultPath", True), ("ItemsPath", False)):
            problems += _path_problem(where, field, state.get(field), reference)
        for field in ("Parameters", "ResultSelector", "Assign", "ItemSelector"):
            problems += list(_payload_problems(where, field, state.get(field)))
    for field in ("Arguments", "Output", "Assign", "Items", "Seconds", "Timestamp", "TimeoutSeconds", "HeartbeatSeconds",
                  "MaxConcurrency", "Error", "Cause", "ItemSelector", "ToleratedFailurePercentage", "ToleratedFailureCount"):
        if jsonata:
            problems += list(_expression_problems(where, field, state.get(field)))
    if jsonata and isinstance(state.get("Arguments"), str) and not _dynamic(state["Arguments"]):
        problems.append(Problem(where, "Arguments", "a string Arguments is a JSONata expression written {% ... %}"))
    assign = state.get("Assign")
    if isinstance(assign, Mapping):
        for name in assign:
            plain = str(name)[:-2] if str(name).endswith(".$") else str(name)
            if not _VARIABLE.match(plain) or plain == "states":
                problems.append(Problem(where, f"Assign.{name}", "a variable name is a letter or _ then letters, digits or _, and not 'states'"))
    problems += _error_handling_problems(where, state, jsonata)
    if kind == "Wait":
        problems += _exclusive(where, state, "Seconds", "Timestamp", "SecondsPath", "TimestampPath", required=True)
        problems += _integer_problem(where, "Seconds", state.get("Seconds"), 0, 99999999)
        stamp = state.get("Timestamp")
        if isinstance(stamp, str) and _static(stamp) and not _TIMESTAMP.match(stamp):
            problems.append(Problem(where, "Timestamp", f"{stamp!r} is not an RFC 3339 timestamp (2026-01-01T00:00:00Z: uppercase T and Z)"))
        for field in ("SecondsPath", "TimestampPath"):
            problems += _path_problem(where, field, state.get(field), reference=True)
    elif kind == "Choice":
        choices = state.get("Choices")
        if isinstance(choices, list) and not choices:
            problems.append(Problem(where, "Choices", "must hold at least one rule"))
        for field in ("Next", "End"):
            if field in state:
                problems.append(Problem(where, field, "a Choice state has no Next or End (its rules and Default say where to go)"))
        for index, rule in enumerate(choices if isinstance(choices, list) else []):
            if not jsonata:
                problems += _choice_rule_problems(where, f"Choices[{index}]", rule, True)
            elif isinstance(rule, Mapping) and isinstance(rule.get("Condition"), str) and not _dynamic(rule["Condition"]):
                problems.append(Problem(where, f"Choices[{index}].Condition", "is a boolean or a JSONata expression written {% ... %}"))
    elif kind == "Fail":
        problems += _exclusive(where, state, "Error", "ErrorPath") + _exclusive(where, state, "Cause", "CausePath")
        for field in ("ErrorPath", "CausePath"):
            value = state.get(field)
            if isinstance(value, str) and _static(value) and not (value.startswith("$") or value.startswith("States.")):
                problems.append(Problem(where, field, f"{value!r} is neither a path nor an intrinsic function call"))
        for field in ("InputPath", "OutputPath", "Arguments", "Output", "Assign"):
            if field in state:
                problems.append(Problem(where, field, "is not a field of a Fail state"))
    elif kind == "Task":
        problems += _exclusive(where, state, "TimeoutSeconds", "TimeoutSecondsPath")
        problems += _exclusive(where, state, "HeartbeatSeconds", "HeartbeatSecondsPath")
        problems += _integer_problem(where, "TimeoutSeconds", state.get("TimeoutSeconds"), 1, 99999999)
        problems += _integer_problem(where, "HeartbeatSeconds", state.get("HeartbeatSeconds"), 1, 99999999)
        for field in ("TimeoutSecondsPath", "HeartbeatSecondsPath"):
            problems += _path_problem(where, field, state.get(field), reference=True)
        timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
        if isinstance(timeout, int) and isinstance(heartbeat, int) and _is_int(timeout) and _is_int(heartbeat) and heartbeat >= timeout:
            problems.append(Problem(where, "HeartbeatSeconds", f"must be smaller than TimeoutSeconds ({heartbeat} >= {timeout})"))
    elif kind == "Parallel":
        if isinstance(state.get("Branches"), list) and not state["Branches"]:
            problems.append(Problem(where, "Branches", "must hold at least one branch"))
    elif kind == "Map":
        problems += _map_problems(where, state)
    return problems


def _map_problems(where: str, state: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    processor = state.get("ItemProcessor")
    config = processor.get("ProcessorConfig") if isinstance(processor, Mapping) else None
    config = config if isinstance(config, Mapping) else {}
    mode = config.get("Mode", "INLINE")
    for extra in sorted(set(config) - {"Mode", "ExecutionType"}):
        problems.append(Problem(where, f"ItemProcessor.ProcessorConfig.{extra}", "is not a field of ProcessorConfig (Mode, ExecutionType)"))
    if mode not in ("INLINE", "DISTRIBUTED"):
        problems.append(Problem(where, "ItemProcessor.ProcessorConfig.Mode", f"is INLINE or DISTRIBUTED (got {mode!r})"))
    if mode == "DISTRIBUTED" and config.get("ExecutionType") not in ("STANDARD", "EXPRESS"):
        problems.append(Problem(where, "ItemProcessor.ProcessorConfig.ExecutionType",
                                "a DISTRIBUTED Map's children are STANDARD or EXPRESS (required)"))
    if mode == "INLINE":
        for field in ("ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailurePercentage", "ToleratedFailureCount",
                      "ToleratedFailurePercentagePath", "ToleratedFailureCountPath"):
            if field in state:
                problems.append(Problem(where, field, "belongs to a DISTRIBUTED Map (ItemProcessor.ProcessorConfig.Mode)"))
        if "ExecutionType" in config:
            problems.append(Problem(where, "ItemProcessor.ProcessorConfig.ExecutionType", "belongs to a DISTRIBUTED Map"))
    reader = state.get("ItemReader")
    if isinstance(reader, Mapping) and "Resource" not in reader:
        problems.append(Problem(where, "ItemReader.Resource", "an ItemReader names its Resource"))
    problems += _exclusive(where, state, "MaxConcurrency", "MaxConcurrencyPath")
    problems += _exclusive(where, state, "ToleratedFailurePercentage", "ToleratedFailurePercentagePath")
    problems += _exclusive(where, state, "ToleratedFailureCount", "ToleratedFailureCountPath")
    problems += _exclusive(where, state, "ItemSelector", "Parameters")
    problems += _integer_problem(where, "MaxConcurrency", state.get("MaxConcurrency"), 0)
    label = state.get("Label")
    if isinstance(label, str) and not _LABEL.match(label):
        problems.append(Problem(where, "Label", "a Label is 1 to 40 characters, without spaces or the characters ARNs refuse"))
    return problems


def _shape_problems(machine: Any, prefix: str = "") -> list[Problem]:
    """State names that are not strings (YAML reads an unquoted ``1`` or ``null`` as a number or a null;
    see :func:`_names_are_strings`), names over 80 characters, and numbers JSON cannot carry (NaN, Infinity)."""
    problems: list[Problem] = []

    def numbers(value: Any, where: Optional[str], field: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(where, field or None, f"{value} is not a JSON number"))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if key not in ("States", "Branches", "ItemProcessor", "Iterator"):
                    numbers(item, where, f"{field}.{key}" if field else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                numbers(item, where, f"{field}[{index}]")

    states = machine.get("States") if isinstance(machine, Mapping) else None
    if isinstance(machine, Mapping):
        numbers({k: v for k, v in machine.items() if k != "States"}, prefix.rstrip("/") or None, "")
    if not isinstance(states, Mapping):
        return problems
    for name, state in states.items():
        if not isinstance(name, str):
            problems.append(Problem(f"{prefix}{name}", None, f"the state name {name!r} is not a string: quote it"))
            continue
        if len(name) > 80:
            problems.append(Problem(f"{prefix}{name[:40]}...", None, f"a state name is at most 80 characters (this one has {len(name)})"))
        if not isinstance(state, Mapping):
            continue
        numbers(state, f"{prefix}{name}", "")
        for index, branch in enumerate(state.get("Branches") or [] if isinstance(state.get("Branches"), list) else []):
            problems += _shape_problems(branch, f"{prefix}{name}/branch{index}/")
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if state.get("Type") == "Map":
            problems += _shape_problems(processor, f"{prefix}{name}/")
    return problems


def _names_are_strings(machine: Any) -> bool:
    """Whether every state name, nested ones included, is a string."""
    return all(isinstance(name, str) for name, _ in _named(machine))


def problems(document: Any) -> list[Problem]:
    """Every problem of a parsed definition, one per state and field (our explanation before the schema's)."""
    shape = _shape_problems(document)
    if not _names_are_strings(document):
        return shape  # the other checks read state names as strings
    found = shape + graph_problems(document) + name_problems(document)
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

    # Plain scalars as a definition means them: only true/false are booleans (YAML 1.1 also reads
    # yes/no/on/off, so a state named No would become False) and a timestamp stays text (the Wait
    # state's Timestamp is a string).
    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

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


_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


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
            return json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_no_constant)
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
