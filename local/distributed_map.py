"""Distributed Map on moto 5.2.5's Step Functions interpreter.

moto runs a ``Map`` in ``DISTRIBUTED`` mode (child executions per item, ``ItemReader`` from S3:
objects, JSON, CSV, manifest; ``ResultWriter``; ``MaxConcurrency``), with these gaps, filled here:

- **``ItemBatcher`` is not in its grammar**: a definition holding one is refused
  (``ASLParserException``). Here the field is taken out before moto parses the definition and
  applied to the items the reader produced, as Step Functions does: each child gets
  ``{"Items": [...], "BatchInput": ...}`` with at most ``MaxItemsPerBatch`` items and
  ``MaxInputBytesPerBatch`` bytes of items (``BatchInput`` only when given). (Batching is applied to
  the reader's items before moto applies an ``ItemSelector``; on AWS the selector comes first, so a
  definition using both is refused here rather than run differently.)
- **``ResultWriter`` writes an empty manifest** (its results are dropped, "TODO: results"). Here
  the children's results go to ``<Prefix>/<map run id>/SUCCEEDED_0.json``, one entry per child
  (``Status``, ``Output`` as a JSON string, as in AWS's result files; the children's execution
  ARNs and dates are not known here), listed in ``manifest.json`` as on AWS.
- **An integer ``ToleratedFailurePercentage`` is refused by its grammar** (it takes only a decimal
  literal); here it is written as a decimal. moto gives the tolerance no effect ("currently have no
  effect"): any failed child fails the Map, as with a tolerance of 0.

:func:`install` is called by :func:`local.stepfunctions.install`.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

from sfn_patterns.contracts.common import MAX_INPUT_BYTES

_originals: list[tuple[Any, str, Any]] = []
_BATCHER = "_sfn_patterns_item_batcher"


def rewrite(definition: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """The definition moto can parse, and each Distributed Map's ``ItemBatcher`` by state name."""
    try:
        document = json.loads(definition)
    except ValueError:
        return definition, {}
    batchers: dict[str, dict[str, Any]] = {}
    changed = False
    for name, state in _maps(document):
        batcher = state.pop("ItemBatcher", None)
        if batcher is not None:
            if "ItemSelector" in state:
                raise ValueError(f"state {name!r}: ItemBatcher with ItemSelector is not emulated by the local stack")
            batchers[name] = batcher
            changed = True
        tolerance = state.get("ToleratedFailurePercentage")
        if isinstance(tolerance, int) and not isinstance(tolerance, bool):
            state["ToleratedFailurePercentage"] = float(tolerance)
            changed = True
    return (json.dumps(document) if changed else definition), batchers


def _maps(machine: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(machine, Mapping):
        return
    for name, state in (machine.get("States") or {}).items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Map":
            yield name, state
            yield from _maps(state.get("ItemProcessor") or state.get("Iterator"))
        for branch in state.get("Branches") or []:
            yield from _maps(branch)


def batch(items: list[Any], batcher: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Items grouped as a Distributed Map's ``ItemBatcher`` groups them for its children."""
    max_items = batcher.get("MaxItemsPerBatch")
    max_bytes = batcher.get("MaxInputBytesPerBatch", MAX_INPUT_BYTES)
    batches: list[list[Any]] = []
    current: list[Any] = []
    size = 0
    for item in items:
        item_size = len(json.dumps(item, separators=(",", ":")).encode())
        if current and ((max_items and len(current) >= max_items) or size + item_size > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        batches.append(current)
    out = []
    for group in batches:
        child: dict[str, Any] = {"Items": group}
        if "BatchInput" in batcher:
            child["BatchInput"] = batcher["BatchInput"]
        out.append(child)
    return out


def _attach(component: Any, batchers: Mapping[str, Any], seen: set[int]) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap

    if id(component) in seen or not hasattr(component, "__dict__"):
        return
    seen.add(id(component))
    if isinstance(component, StateMap) and component.name in batchers and component.item_reader is not None:
        setattr(component.item_reader, _BATCHER, batchers[component.name])
    for value in vars(component).values():
        values = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if hasattr(item, "__dict__") and type(item).__module__.startswith("moto.stepfunctions.parser"):
                _attach(item, batchers, seen)


def write_results(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    """``ResultWriter`` to S3: the result file of the succeeded children, and the manifest naming it."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (
        ResourceEvalS3,
    )

    parameters = env.stack.pop()
    results = env.stack.pop()
    s3 = ResourceEvalS3._get_s3_client(resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
    map_run_arn = env.map_run_record_pool_manager.get_all().pop().map_run_arn
    prefix = parameters.get("Prefix", "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    base = f"{prefix}{map_run_arn.split(':')[-1]}/"
    entries = [{"Status": "SUCCEEDED", "Output": json.dumps(result)} for result in results or []]
    succeeded_key = base + "SUCCEEDED_0.json"
    s3.put_object(Bucket=parameters["Bucket"], Key=succeeded_key, Body=json.dumps(entries).encode())
    manifest = {
        "DestinationBucket": parameters["Bucket"],
        "MapRunArn": map_run_arn,
        "ResultFiles": {
            "FAILED": [],
            "PENDING": [],
            "SUCCEEDED": [{"Key": succeeded_key, "Size": len(json.dumps(entries).encode())}],
        },
    }
    key = base + "manifest.json"
    s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=json.dumps(manifest, indent=2).encode())
    env.stack.append({"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": key}})


def install() -> None:
    """Patch moto's parser and ItemReader (see the module docstring); idempotent."""
    if _originals:
        return
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.item_reader_decl import ItemReader
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    original_parse = AmazonStateLanguageParser.__dict__["parse"].__func__

    def parse(definition: str) -> Any:
        text, batchers = rewrite(definition)
        program, tree = original_parse(text)
        if batchers:
            _attach(program, batchers, set())
        return program, tree

    original_reader = ItemReader._eval_body

    def reader_body(self: Any, env: Any) -> None:
        original_reader(self, env)
        batcher = getattr(self, _BATCHER, None)
        if batcher is not None:
            env.stack.append(batch(env.stack.pop(), batcher))

    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (
        ResourceEvalS3,
    )

    _originals.append((ResourceEvalS3, "_handle_put_object", ResourceEvalS3.__dict__["_handle_put_object"]))
    ResourceEvalS3._handle_put_object = staticmethod(write_results)  # type: ignore[method-assign]
    _originals.append((AmazonStateLanguageParser, "parse", AmazonStateLanguageParser.__dict__["parse"]))
    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]
    _originals.append((ItemReader, "_eval_body", ItemReader.__dict__["_eval_body"]))
    ItemReader._eval_body = reader_body  # type: ignore[method-assign]


def uninstall() -> None:
    """Undo :func:`install`."""
    while _originals:
        owner, name, original = _originals.pop()
        setattr(owner, name, original)
