"""Distributed Map on moto 5.2.5's Step Functions interpreter, run as AWS documents it.

moto runs a ``Map`` in ``DISTRIBUTED`` mode (child runs per item, ``ItemReader`` from S3: objects,
JSON, CSV, manifest; ``ResultWriter``; ``MaxConcurrency``; the tolerance fields and their ``...Path``
forms are parsed and shown by ``DescribeMapRun``), with these gaps, filled here
(https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html):

- **Failed children and the tolerated failure threshold** (moto 5.2.5 gap: "ToleratedFailure...
  declarations currently have no effect"; its ``DistributedItemProcessorWorker._eval_job`` turns a
  failed child into a ``null`` result, so every Map Run succeeded whatever failed, and
  ``ResultWriter`` listed the failed children as ``SUCCEEDED``). Here each child's outcome is kept
  (``SUCCEEDED`` with its output; ``FAILED`` with its ``Error`` and ``Cause``; ``TIMED_OUT``;
  ``ABORTED``) and the Map Run is judged as AWS documents it: the failed items are the failed or
  timed out children's items (a batch counts all its items), and the Map Run fails with
  ``States.ExceedToleratedFailureThreshold`` ("The specified tolerated failure threshold was
  exceeded") only when they *exceed* ``ToleratedFailureCount`` or ``ToleratedFailurePercentage`` of
  the total items (either, when both are given; a count of 0, a percentage of 0 or neither field:
  any failure fails it; 100 percent: never; the ``...Path`` and JSONata forms as moto evaluates
  them, and an ``UpdateMapRun`` change is honoured). Once exceeded, no further child starts (those
  items stay ``PENDING``, as on AWS, which may also let a few more run). Otherwise the Map
  succeeds: its result holds, per item in order, the child's output, or for a failed child its
  record (``Status``, ``Error``, ``Cause``, ``Input``) as AWS returns it untransformed.
- **``ResultWriter`` writes an empty manifest** (moto: "TODO: results"). Here, also when the Map Run
  fails, the children go to ``<Prefix>/<map run id>/SUCCEEDED_0.json``, ``FAILED_0.json`` (failed,
  timed out and aborted) and ``PENDING_0.json`` (never started), each a JSON array of AWS's records
  (``Status``, ``Input`` and ``Output`` as JSON strings with their ``...Details``, ``Error``,
  ``Cause``, ``StartDate``, ``StopDate``; the children's execution ARNs and names are not known
  here), written only when not empty, and listed with their sizes in ``manifest.json``.
- **Map Run counts**: moto counts one item per child (a batch of 5 is 1 item) and never takes a
  failed child off ``running``. Here ``DescribeMapRun``'s ``itemCounts`` count items (``total`` all
  of them from the start, ``pending`` until their child starts) and ``executionCounts`` children.
- **``ItemBatcher`` is not in its grammar**: a definition holding one is refused
  (``ASLParserException``). Here the field is taken out before moto parses the definition and
  applied in the order AWS documents (ItemReader, ItemsPath, ItemSelector, ItemBatcher,
  ResultWriter): the ``ItemSelector`` (``$$.Map.Item.Index``/``Value`` naming each item) makes each
  item, then each child gets ``{"Items": [...], "BatchInput": ...}`` with at most
  ``MaxItemsPerBatch`` items and ``MaxInputBytesPerBatch`` bytes of items (256 KiB by default;
  ``BatchInput`` only when given; the ``...Path`` forms are read from the Map's input).
- **An integer ``ToleratedFailurePercentage`` is refused by its grammar** (it takes only a decimal
  literal); here it is written as a decimal.
- **A JSONata ``ToleratedFailureCount`` (``"{% ... %}"``) is parsed as a percentage** (moto's
  ``Preprocessor.visitTolerated_failure_count_string_jsonata`` builds a
  ``ToleratedFailurePercentageStringJSONata``): the count stayed 0 and its value became the
  percentage. Here it is the count.

:func:`install` is called by :func:`local.stepfunctions.install`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from typing import Any, Iterator, Mapping, Optional, cast

from sfn_patterns.contracts.common import MAX_INPUT_BYTES

_originals: list[tuple[Any, str, Any]] = []
_CONFIG = "_sfn_patterns_distributed_map"
_RUN = "_sfn_patterns_map_run"
EXCEEDED_ERROR = "States.ExceedToleratedFailureThreshold"
EXCEEDED_CAUSE = "The specified tolerated failure threshold was exceeded"
FAILED_STATUSES = ("FAILED", "TIMED_OUT")
MAX_WORKERS = 100
_BATCHER_FIELDS = {"MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath",
                   "BatchInput"}


@dataclass
class MapConfig:
    """What moto's parser drops or cannot tell of one Map state: its ``ItemBatcher`` and which
    tolerance fields the definition gives (an absent one and an explicit 0 differ when both are)."""

    batcher: Optional[dict[str, Any]] = None
    count_given: bool = False
    percentage_given: bool = False
    result_writer: Any = None


@dataclass
class Child:
    """One child run of a Map Run: its input, how many items it carries and how it ended."""

    input: Any
    items: int = 1
    status: str = "PENDING"
    output: Any = None
    error: Optional[str] = None
    cause: Optional[str] = None
    started: Optional[datetime] = None
    stopped: Optional[datetime] = None

    def record(self) -> dict[str, Any]:
        """The child as AWS's result files (and an untransformed Map result) show it."""
        entry: dict[str, Any] = {"Input": json.dumps(self.input), "InputDetails": {"Included": True}}
        if self.status == "SUCCEEDED":
            entry.update(Output=json.dumps(self.output), OutputDetails={"Included": True})
        elif self.status != "PENDING":
            entry.update(Error=self.error or "", Cause=self.cause or "")
        for name, when in (("StartDate", self.started), ("StopDate", self.stopped)):
            if when is not None:
                entry[name] = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        entry["Status"] = self.status
        return entry


@dataclass
class _Run:
    map_run_arn: str
    children: list[Child] = field(default_factory=list)


def rewrite(definition: str) -> tuple[str, dict[str, MapConfig]]:
    """The definition moto can parse, and each Map state's :class:`MapConfig` by state name."""
    try:
        document = json.loads(definition)
    except ValueError:
        return definition, {}
    configs: dict[str, MapConfig] = {}
    changed = False
    for name, state in _maps(document):
        batcher = state.pop("ItemBatcher", None)
        if batcher is not None:
            _check_batcher(name, batcher)
            changed = True
        configs[name] = MapConfig(
            batcher=batcher,
            count_given=any(k in state for k in ("ToleratedFailureCount", "ToleratedFailureCountPath")),
            percentage_given=any(k in state for k in ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath")),
        )
        tolerance = state.get("ToleratedFailurePercentage")
        if isinstance(tolerance, int) and not isinstance(tolerance, bool):
            state["ToleratedFailurePercentage"] = float(tolerance)
            changed = True
    return (json.dumps(document) if changed else definition), configs


def _check_batcher(name: str, batcher: Any) -> None:
    """Refuse an ``ItemBatcher`` this adapter would not run as AWS does (rather than run it otherwise)."""
    if not isinstance(batcher, dict) or set(batcher) - _BATCHER_FIELDS:
        raise ValueError(f"state {name!r}: ItemBatcher takes only {sorted(_BATCHER_FIELDS)}")
    for key in ("MaxItemsPerBatch", "MaxInputBytesPerBatch"):
        value = batcher.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"state {name!r}: ItemBatcher.{key} must be a positive integer here "
                             "(JSONata expressions are not emulated by the local stack)")
    if "{%" in json.dumps(batcher.get("BatchInput")):
        raise ValueError(f"state {name!r}: ItemBatcher.BatchInput: JSONata expressions are not emulated by the "
                         "local stack (give a fixed value)")


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


def exceeds(failed: int, total: int, count: Optional[int], percentage: Optional[float]) -> bool:
    """Whether ``failed`` of ``total`` items exceed the tolerance (``None``: that field not given).

    AWS: the Map Run fails when the failed (or timed out) items exceed the count, or their share of
    all items exceeds the percentage; with both given, when either is exceeded; with neither, any
    failure fails it (both default to 0). Exactly at the threshold is tolerated.
    """
    if count is None and percentage is None:
        return failed > 0
    if count is not None and failed > count:
        return True
    return percentage is not None and total > 0 and Fraction(failed * 100, total) > Fraction(str(percentage))


def _config(component: Any) -> MapConfig:
    config = getattr(component, _CONFIG, None)
    return config if isinstance(config, MapConfig) else MapConfig()


def _attach(component: Any, configs: Mapping[str, MapConfig], seen: set[int]) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
        DistributedIterationComponent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap

    if id(component) in seen or not hasattr(component, "__dict__"):
        return
    seen.add(id(component))
    if (isinstance(component, StateMap) and component.name in configs
            and isinstance(component.iteration_component, DistributedIterationComponent)):
        config = copy.copy(configs[component.name])
        config.result_writer = component.result_writer
        setattr(component.iteration_component, _CONFIG, config)
    for value in vars(component).values():
        values = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if hasattr(item, "__dict__") and type(item).__module__.startswith("moto.stepfunctions.parser"):
                _attach(item, configs, seen)


def _failure(env: Any, error: str, cause: str) -> Exception:
    """A Map Run failure with the ``States.`` ``error`` (Retry and Catch match it by name) and ``cause``."""
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType

    typ = StatesErrorNameType.StatesExceedToleratedFailureThreshold if error == EXCEEDED_ERROR else StatesErrorNameType.StatesRuntime
    # moto's EventDetails TypedDict is total (every kind of detail required); an event carries one.
    details = cast(Any, {"mapRunFailedEventDetails": {"error": error, "cause": cause}})
    return FailureEventException(failure_event=FailureEvent(
        env=env, error_name=StatesErrorName(typ=typ), event_type=HistoryEventType.MapRunFailed, event_details=details))


def _resolve_batcher(env: Any, batcher: dict[str, Any], state_input: Any) -> dict[str, Any]:
    """``batcher`` with its ``...Path`` fields read from the Map's input (each a positive integer)."""
    from moto.stepfunctions.parser.asl.utils.json_path import extract_json

    resolved = dict(batcher)
    for key in ("MaxItemsPerBatch", "MaxInputBytesPerBatch"):
        path = resolved.pop(key + "Path", None)
        if path is None:
            continue
        try:
            value = extract_json(path, state_input)
        except Exception as error:
            raise _failure(env, "States.Runtime", f"ItemBatcher.{key}Path {path!r}: {error}") from error
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _failure(env, "States.Runtime", f"ItemBatcher.{key}Path {path!r} must select a positive integer")
        resolved[key] = value
    return resolved


def _select(env: Any, selector: Any, items: list[Any], state_input: Any) -> list[Any]:
    """Each item through the Map's ``ItemSelector``, ``$$.Map.Item`` naming it, as before batching on AWS."""
    from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData

    selected = []
    frame = env.open_inner_frame()
    try:
        for index, item in enumerate(items):
            frame.states.context_object.context_object_data["Map"] = MapData(Item=ItemData(Index=index, Value=item))
            frame.states.reset(input_value=state_input)
            frame.stack.append(state_input)
            selector.eval(frame)
            selected.append(frame.stack.pop())
            frame.stack.clear()
    finally:
        env.delete_frame(frame)
    return selected


def _make_pool(program: Any, children: list[Child], judge: Any) -> Any:
    """moto's ``JobPool`` that keeps each child's outcome and hands out no job once ``judge`` says
    the failed items exceed the tolerance (moto's stops at the first job that raised)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import JobPool

    class TolerantPool(JobPool):
        def __init__(self) -> None:
            super().__init__(job_program=program, job_inputs=[c.input for c in children])
            self.children = children
            self.exceeded = False
            self._failed_items = 0
            self._handed = 0

        def next_job(self) -> Any:
            with self._mutex:
                if self.exceeded or self._worker_exception is not None or not self._open_jobs:
                    return None
                self._handed += 1
                return self._open_jobs.pop()

        def _is_terminated(self) -> bool:
            closed = len(self._closed_jobs)
            return (closed == self._jobs_number or self._worker_exception is not None
                    or (self.exceeded and closed == self._handed))

        def settle(self, child: Child) -> None:
            """Count ``child``'s outcome, before its worker asks for the next job."""
            with self._mutex:
                if child.status in FAILED_STATUSES:
                    self._failed_items += child.items
                if not self.exceeded and judge(self._failed_items):
                    self.exceeded = True

    return TolerantPool()


def map_run(self: Any, env: Any, eval_input: Any) -> None:
    """moto's ``DistributedIterationComponent._map_run``, with batching after the selector, every
    child's outcome kept, and the tolerated failure threshold applied (see the module docstring)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.max_concurrency import (
        DEFAULT_MAX_CONCURRENCY_VALUE,
    )

    items: list[Any] = env.stack.pop()
    state_input = env.stack[-1] if env.stack else env.states.get_input()
    config = _config(self)
    if config.batcher is not None:
        batcher = _resolve_batcher(env, config.batcher, state_input)
        selector = eval_input.item_selector or eval_input.parameters  # Parameters: the Map's older name for it
        if selector is not None:
            items = _select(env, selector, items, state_input)
        children = [Child(input=b, items=len(b["Items"])) for b in batch(items, batcher)]
        eval_input = copy.copy(eval_input)
        eval_input.item_selector = None  # applied above, to each item
        eval_input.parameters = None
    else:
        children = [Child(input=item) for item in items]
    record = eval_input.map_run_record
    total = sum(c.items for c in children)
    record.item_counter.total.count(total)
    record.item_counter.pending.count(total)

    def judge(failed: int) -> bool:
        count = record.tolerated_failure_count if config.count_given or record.tolerated_failure_count else None
        percentage = (record.tolerated_failure_percentage
                      if config.percentage_given or record.tolerated_failure_percentage else None)
        return exceeds(failed, total, count, percentage)

    pool = _make_pool(self._get_iteration_program(), children, judge)
    workers = len(children) if record.max_concurrency == DEFAULT_MAX_CONCURRENCY_VALUE else record.max_concurrency
    # moto starts a thread per child when MaxConcurrency is 0 (AWS: up to 10,000 at once); here at most
    # MAX_WORKERS, which only orders the children differently (each still runs once).
    for _ in range(min(workers, len(children), MAX_WORKERS)):
        self._launch_worker(env=env, eval_input=eval_input, job_pool=pool)
    pool.await_jobs()
    worker_exception = pool.get_worker_exception()
    if worker_exception is not None:
        raise worker_exception
    setattr(env, _RUN, _Run(map_run_arn=record.map_run_arn, children=children))
    outputs = [c.output if c.status == "SUCCEEDED" else c.record() for c in children if c.status != "PENDING"]
    if pool.exceeded:
        if config.result_writer is not None:
            env.stack.append(outputs)
            config.result_writer.eval(env)
            env.stack.pop()
        raise _failure(env, EXCEEDED_ERROR, EXCEEDED_CAUSE)
    env.stack.append(outputs)


def eval_child(self: Any, env: Any, job: Any) -> None:
    """moto's ``DistributedItemProcessorWorker._eval_job``, keeping the child's outcome (moto made a
    failed child a ``null`` result) and counting items and children as ``DescribeMapRun`` shows them."""
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped, ProgramTimedOut
    from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData

    children = getattr(self._job_pool, "children", None)
    child: Child = children[job.job_index] if children is not None else Child(input=job.job_input)
    items, executions = self._map_run_record.item_counter, self._map_run_record.execution_counter
    items.pending.offset(-child.items)
    items.running.count(child.items)
    executions.total.count()
    executions.running.count()
    child.started = datetime.now(timezone.utc)
    try:
        env.states.context_object.context_object_data["Map"] = MapData(
            Item=ItemData(Index=job.job_index, Value=job.job_input))
        env.states.reset(job.job_input)
        env.stack.append(env.states.get_input())
        self._eval_input(env_frame=env)
        child.input = env.states.get_input()
        job.job_program.eval(env)
        state = env.program_state()
        if isinstance(state, ProgramError):
            details = state.error or {}
            child.status, child.error, child.cause = "FAILED", details.get("error"), details.get("cause")
        elif isinstance(state, ProgramTimedOut):
            child.status, child.error = "TIMED_OUT", "States.Timeout"
        elif isinstance(state, ProgramStopped):
            child.status, child.error, child.cause = "ABORTED", state.error, state.cause
        else:
            child.status, child.output = "SUCCEEDED", env.states.get_input()
    except EvalTimeoutError:
        child.status, child.error = "TIMED_OUT", "States.Timeout"
    except FailureEventException as failure:
        child.status = "FAILED"
        child.error, child.cause = failure.extract_error_cause_pair() or (None, None)
    except Exception as error:  # an interpreter error in the child: it fails, as on AWS, and the Map Run judges it
        child.status, child.error, child.cause = "FAILED", "States.Runtime", str(error)
    finally:
        child.stopped = datetime.now(timezone.utc)
        items.running.offset(-child.items)
        executions.running.offset(-1)
        if child.status == "SUCCEEDED":
            for counter in (items.succeeded, items.results_written):
                counter.count(child.items)
            for counter in (executions.succeeded, executions.results_written):
                counter.count()
        else:
            bucket = {"FAILED": "failed", "TIMED_OUT": "timed_out", "ABORTED": "aborted"}.get(child.status, "failed")
            getattr(items, bucket).count(child.items)
            getattr(executions, bucket).count()
        job.job_output = child.output
        settle = getattr(self._job_pool, "settle", None)
        if settle is not None:
            settle(child)


def write_results(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    """``ResultWriter`` to S3: one file per status that has children, and the manifest naming them."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (
        ResourceEvalS3,
    )

    parameters = env.stack.pop()
    env.stack.pop()  # the Map's result array; the files are written from the children's records
    run = getattr(env, _RUN, None)
    if not isinstance(run, _Run):
        raise RuntimeError("ResultWriter evaluated outside a Distributed Map run (local/distributed_map.py)")
    s3 = ResourceEvalS3._get_s3_client(resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
    prefix = parameters.get("Prefix", "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    base = f"{prefix}{run.map_run_arn.split(':')[-1]}/"
    groups: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for child in run.children:
        groups["SUCCEEDED" if child.status == "SUCCEEDED" else "PENDING" if child.status == "PENDING" else "FAILED"].append(
            child.record())
    files: dict[str, list[dict[str, Any]]] = {status: [] for status in groups}
    for status, entries in groups.items():
        if entries:
            body = json.dumps(entries).encode()
            key = f"{base}{status}_0.json"
            s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    manifest = {"DestinationBucket": parameters["Bucket"], "MapRunArn": run.map_run_arn, "ResultFiles": files}
    key = base + "manifest.json"
    s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=json.dumps(manifest, indent=2).encode())
    env.stack.append({"MapRunArn": run.map_run_arn, "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": key}})


def install() -> None:
    """Patch moto's parser, Map Run and child runs (see the module docstring); idempotent."""
    if _originals:
        return
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
        DistributedIterationComponent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (
        DistributedItemProcessorWorker,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.iterator.distributed_iterator_worker import (
        DistributedIteratorWorker,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (
        ResourceEvalS3,
    )
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    original_parse = AmazonStateLanguageParser.__dict__["parse"].__func__

    def parse(definition: str) -> Any:
        text, configs = rewrite(definition)
        program, tree = original_parse(text)
        if configs:
            _attach(program, configs, set())
        return program, tree

    from moto.stepfunctions.parser.asl.component.state.exec.state_map.tolerated_failure import (
        ToleratedFailureCountStringJSONata,
    )
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    def jsonata_count(visitor: Any, ctx: Any) -> ToleratedFailureCountStringJSONata:
        # moto 5.2.5 gap: it returned a ToleratedFailurePercentageStringJSONata (see the module docstring).
        return ToleratedFailureCountStringJSONata(string_jsonata=visitor.visitString_jsonata(ctx=ctx.string_jsonata()))

    patches: list[tuple[Any, str, Any]] = [
        (Preprocessor, "visitTolerated_failure_count_string_jsonata", jsonata_count),
        (ResourceEvalS3, "_handle_put_object", staticmethod(write_results)),
        (AmazonStateLanguageParser, "parse", staticmethod(parse)),
        (DistributedIterationComponent, "_map_run", map_run),
        (DistributedItemProcessorWorker, "_eval_job", eval_child),
        (DistributedIteratorWorker, "_eval_job", eval_child),
    ]
    for owner, name, replacement in patches:
        _originals.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, replacement)


def uninstall() -> None:
    """Undo :func:`install`."""
    while _originals:
        owner, name, original = _originals.pop()
        setattr(owner, name, original)
