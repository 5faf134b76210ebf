"""Adapters for moto 5.2.5's Step Functions interpreter.

- **Nested executions** (``arn:aws:states:::states:startExecution[.sync|.sync:2]``): moto's port of
  the interpreter dropped the step that turns the ASL's parameter names into boto3's
  (``StateMachineArn`` -> ``stateMachineArn``, the Step Functions API being the camelCase one) and
  the response's names back into the ASL's (``executionArn`` -> ``ExecutionArn``, ``output`` ->
  ``Output``), so every nested execution fails with ``States.Runtime`` ``'StateMachineArn'``.
  :func:`install` restores both conversions for the ``states`` integration, driven by botocore's
  service model, as Step Functions does; dates become epoch milliseconds as in AWS's outputs.
  A nested ``StartExecution`` without ``Name`` gets a fresh UUID name, as on AWS (moto names every
  such child ``None``, so the second one fails with ``ExecutionAlreadyExists``).
- **``States.*`` errors out of Map iterations and Parallel branches**: moto re-wraps the error
  of a failed iteration/branch as a custom error name, which refuses the ``States.`` prefix, so
  ``States.TaskFailed`` (a failed nested execution), ``States.Timeout`` or
  ``States.HeartbeatTimeout`` inside a Map or Parallel became ``States.Runtime`` ("Custom Error
  Names MUST NOT begin with the prefix 'States.'"). Here the error keeps its name.
- **Heartbeat expiry** is reported as ``States.Timeout``; Step Functions reports
  ``States.HeartbeatTimeout``. Here it is ``States.HeartbeatTimeout`` (a Catch of either still works).
- **A callback that arrives before the task waits is lost** (tasks with ``HeartbeatSeconds``):
  moto sends the integration's request (the SQS message, the Lambda invocation carrying the token)
  and only then sets up the task's heartbeat wait, so a SendTaskSuccess/Failure that comes in
  between is recorded but never wakes the wait, which then ends as a heartbeat timeout (measured:
  2 of 30 runs of ``test_send_task_failure_keeps_its_cause`` under CPU load). A SendTaskHeartbeat
  in that window is refused with ``InvalidToken``, as it is for any task without a heartbeat.
  On AWS the token is good from the moment the task is scheduled, and a heartbeat for an open
  task is accepted. Here a heartbeat wait that starts after its outcome arrived ends at once with
  that outcome, and a heartbeat for an open task before its wait (or for one without a heartbeat)
  is accepted.
- **SendTaskFailure drops ``cause``** (moto's response handler never reads it). Here the cause
  reaches the execution, as on AWS.
- **.sync polling**: moto polls a nested execution every 0.5 s (AWS is told by an event); here
  every 0.1 s, so a Map of nested executions is not slowed by the emulator.
- **JSONata** (``"QueryLanguage": "JSONata"`` states, ``{% ... %}`` expressions): moto's port
  evaluates JSONata through LocalStack's JVM bridge, which it does not ship (its evaluator is
  ``None``: every JSONata state fails with ``TypeError``). Here expressions are evaluated by
  ``jsonata-python`` (a pure-Python port of jsonata-java, the library Step Functions' own
  emulators use). An expression that raises (``$error(...)``, a type error) fails its state with
  ``States.QueryEvaluationError``, which a Catch can take, as on AWS (moto let the exception
  escape as ``States.Runtime``). Standard JSONata (``$millis()``, ``$string``, ``$floor`` ...) is
  there, and so are the functions Step Functions adds, as AWS documents them
  (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html):
  ``$partition(array, size)``, ``$range(start, end, step)`` (end included), ``$hash(value,
  algorithm)`` (MD5, SHA-1, SHA-256, SHA-384, SHA-512; hex), ``$random([seed])`` (the same seed
  gives the same number), ``$uuid()`` (v4) and ``$parse(json)``; a bad argument raises, which is
  ``States.QueryEvaluationError``. (moto prepends stand-ins for these to every expression, two of
  which only return "currently not supported"; those are left out.)
- **``$$.Execution.RedriveCount``**: moto's context object has no ``RedriveCount`` (it implements no
  RedriveExecution), so a path to it fails the state. Here every execution starts with 0, as a
  never-redriven execution does on AWS; a redrive (:mod:`local.sfn_operations`) sets its count.
- **The parser's query-language scopes are one list shared by every parse** (a class attribute of
  moto's ``Preprocessor``): a definition refused inside a JSONata scope left that scope behind, so
  every later JSONPath definition was refused ("Unsupported declaration in QueryLanguage=JSONPath
  block", and an execution started or redriven then never ran), and two parses on two threads
  mixed their scopes. Here each parse has its own list.
- **Distributed Map**: ``ItemBatcher`` (after ``ItemSelector``), the tolerated failure threshold,
  result files, Map Run counts and an integer ``ToleratedFailurePercentage``, see
  :mod:`local.distributed_map`.
- **StartExecution atomicity**: moto checks for an execution of that name and then appends the
  new one without a lock, so two concurrent starts with one name could both start an execution.
  Starts are serialized here, so a name is used once, as on AWS. moto also lists the new execution
  before it has a status or a worker (it appends, then starts it), so a DescribeExecution,
  ListExecutions, StopExecution or SendTask* in that window raised ``AttributeError`` (``'NoneType'
  object has no attribute 'value'``: a 500 from IdempotentApi's POST when callers race on one name,
  measured 1 in 2 runs of ``test_of_20_concurrent_starts_exactly_one_is_told_created`` with the
  window widened to 0.3 s). On AWS an execution is RUNNING from the moment anyone can see it. Here
  a reader that finds an execution still being started waits for that start (it holds the start
  lock) and then sees it RUNNING. Even started, an execution has no environment (its task tokens)
  until its worker thread has parsed the ASL, and SendTaskSuccess/Failure/Heartbeat for *any*
  token looked in every execution's environment, so they raised ``AttributeError`` while any
  execution of the account was starting; here they look only in executions that have one.
- **StopExecution of a waiting task** (unreliable in moto) and **RedriveExecution** (missing in
  moto): emulated in :mod:`local.sfn_operations`, installed with the rest.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime
from typing import Any, Callable, Optional, cast

_originals: list[tuple[Any, str, Any]] = []
#: Held by a StartExecution (re-entrant: the starting thread may read what it lists).
_start_lock = threading.RLock()


def _norm(key: str) -> str:
    return key.replace("_", "").lower()


def to_boto_request(parameters: Any, shape: Any) -> None:
    """Rename ``parameters``' keys (in place, recursively) to the member names of botocore ``shape``."""
    from botocore.model import StructureShape

    if not isinstance(parameters, dict) or not isinstance(shape, StructureShape):
        return
    members = {_norm(name): (name, member) for name, member in shape.members.items()}
    for key in list(parameters):
        bound = members.get(_norm(key))
        if bound is None:
            continue
        name, member = bound
        value = parameters.pop(key)
        to_boto_request(value, member)
        parameters[name] = value


def from_boto_response(response: Any, shape: Any) -> None:
    """Rename a boto3 response's keys (in place, recursively) to the ASL's PascalCase; dates to epoch ms."""
    from botocore.model import ListShape, StructureShape

    if not isinstance(response, dict) or not isinstance(shape, StructureShape):
        return
    for key in list(response):
        member = shape.members.get(key)
        if member is None:
            continue
        value = response.pop(key)
        if isinstance(value, datetime):
            value = int(value.timestamp() * 1000)
        elif isinstance(member, StructureShape):
            from_boto_response(value, member)
        elif isinstance(member, ListShape) and isinstance(value, list):
            for item in value:
                from_boto_response(item, member.member)
        response[key[:1].upper() + key[1:]] = value


_models: dict[str, Any] = {}
_models_lock = threading.Lock()


def _operation(service: str, action: str) -> Any:
    """botocore's model of ``service``'s ``action``. Each service's model is loaded once, under a
    lock: a new session reads the models from disk, about 0.1 s of CPU per nested start, which a
    Distributed Map starting hundreds of children at once multiplied into minutes."""
    from botocore import xform_name

    with _models_lock:
        if service not in _models:
            import botocore.session

            _models[service] = botocore.session.get_session().get_service_model(service)
        model = _models[service]
    for name in model.operation_names:
        if xform_name(name) == action:
            return model.operation_model(name)
    raise KeyError(f"{service} has no operation {action}")


#: ``$range`` refuses to build more items than this (as ``States.ArrayRange`` does), so one
#: expression cannot exhaust the emulator's memory.
RANGE_LIMIT = 1000
_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return int(value)


def sfn_partition(array: Any, size: Any) -> list[Any]:
    """``$partition(array, size)``: ``array`` in chunks of ``size`` (the last may be shorter)."""
    if not isinstance(array, list):
        raise ValueError(f"$partition: the first argument must be an array, got {array!r}")
    chunk = _integer(size, "$partition: the chunk size")
    if chunk < 1:
        raise ValueError("$partition: the chunk size must be positive")
    return [array[i:i + chunk] for i in range(0, len(array), chunk)]


def sfn_range(start: Any, end: Any, step: Any = 1) -> list[int]:
    """``$range(start, end, step)``: integers from ``start`` to ``end`` included, ``step`` apart."""
    first, last, by = _integer(start, "$range: start"), _integer(end, "$range: end"), _integer(step, "$range: step")
    if by == 0:
        raise ValueError("$range: step must not be 0")
    count = max(0, (last - first) // by + 1)
    if count > RANGE_LIMIT:
        raise ValueError(f"$range: {count} items is more than {RANGE_LIMIT}")
    return list(range(first, last + (1 if by > 0 else -1), by))


def sfn_hash(value: Any, algorithm: Any) -> str:
    """``$hash(value, algorithm)``: the hex digest of a string."""
    import hashlib

    if not isinstance(value, str):
        raise ValueError(f"$hash: the value must be a string, got {value!r}")
    name = _HASHES.get(str(algorithm))
    if name is None:
        raise ValueError(f"$hash: algorithm must be one of {sorted(_HASHES)}, got {algorithm!r}")
    return hashlib.new(name, value.encode()).hexdigest()


def sfn_random(seed: Any = None) -> float:
    """``$random([seed])``: a number in [0, 1); the same integer seed gives the same number."""
    import random

    if seed is None:
        return random.random()
    return random.Random(_integer(seed, "$random: the seed")).random()


def sfn_uuid() -> str:
    """``$uuid()``: a version 4 UUID."""
    return str(uuid.uuid4())


def sfn_parse(text: Any) -> Any:
    """``$parse(json)``: the value a JSON string holds (strict JSON: no NaN/Infinity)."""
    if not isinstance(text, str):
        raise ValueError(f"$parse: the argument must be a string, got {text!r}")

    def refuse(constant: str) -> Any:
        raise ValueError(f"$parse: {constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


#: Step Functions' own JSONata functions, by name.
SFN_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "partition": sfn_partition,
    "range": sfn_range,
    "hash": sfn_hash,
    "random": sfn_random,
    "uuid": sfn_uuid,
    "parse": sfn_parse,
}


def eval_jsonata(expression: str) -> Any:
    """Evaluate one JSONata expression as moto's JVM bridge would: a JSON value, or ``JSONataException``."""
    import jsonata
    from moto.stepfunctions.parser.asl.jsonata.jsonata import JSONataException

    try:
        compiled = jsonata.Jsonata(expression)
        for name, function in SFN_FUNCTIONS.items():
            compiled.register_lambda(name, function)
        result = compiled.evaluate(None)
        return json.loads(json.dumps(result))  # plain JSON values, as the bridge returns
    except Exception as error:  # jsonata's JException and anything an expression can raise
        raise JSONataException("UNKNOWN", str(error)) from error


def query_evaluation_error(env: Any, expression: str, detail: str) -> Exception:
    """The ``States.QueryEvaluationError`` failure of a JSONata expression that raised (recorded in the history)."""
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType

    name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    details = EvaluationFailedEventDetails(
        cause=f"The JSONata expression '{expression}' failed: {detail}", error=name.error_name
    )
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=_event_details(evaluationFailedEventDetails=details),
    )
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=name,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=_event_details(evaluationFailedEventDetails=details),
        )
    )


def _event_details(**details: Any) -> Any:
    """moto's ``EventDetails`` with the one detail an event carries (moto declares that TypedDict
    total, with every kind of detail required, yet builds it with one key itself)."""
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    return cast(EventDetails, details)


def install() -> None:
    """Patch moto's interpreter (see the module docstring); idempotent."""
    if _originals:
        return
    from local import distributed_map

    distributed_map.install()  # moto 5.2.5 gaps: ItemBatcher, failure tolerance, result files, Map Run counts
    _originals.append((distributed_map, "uninstall", None))
    # moto 5.2.5 gap: no JSONata evaluator without LocalStack's JVM (see the module docstring).
    from moto.stepfunctions.parser.asl.component.common.string import string_expression
    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
    from moto.stepfunctions.parser.asl.jsonata import validations as jsonata_validations

    for module in (string_expression, moto_jsonata, jsonata_validations):
        _patch_global(module, "eval_jsonata_expression", eval_jsonata)
    # moto 5.2.5 gap: it prepends its own JSONata definitions of Step Functions' functions to each
    # expression ($hash and $uuid return "Function ... is currently not supported", $random(seed)
    # is an LCG of its own, $parse is $eval); without them the SFN_FUNCTIONS registered here apply.
    _patch_global(string_expression, "get_intrinsic_functions_declarations", lambda variable_references: "")
    original_jsonata_body = string_expression.StringJSONata._eval_body

    def jsonata_body(self: Any, env: Any) -> None:
        try:
            original_jsonata_body(self, env)
        except moto_jsonata.JSONataException as error:
            raise query_evaluation_error(env, self.expression, error.details or "") from error

    _patch(string_expression.StringJSONata, "_eval_body", jsonata_body)
    # moto 5.2.5 cost: a new boto3 client per Task (see the module docstring).
    _share_interpreter_clients()
    # moto 5.2.5 gap: Preprocessor._query_language_per_scope is a class-level list (see the module docstring).
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original_preprocessor_init = Preprocessor.__init__

    def preprocessor_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_preprocessor_init(self, *args, **kwargs)
        self._query_language_per_scope = []

    _patch(Preprocessor, "__init__", preprocessor_init)
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original_environment = ExecutionWorker._get_evaluation_environment

    # moto 5.2.5 gap: no Execution.RedriveCount in the context object.
    def evaluation_environment(self: Any) -> Any:
        environment = original_environment(self)
        # moto's ExecutionData TypedDict has no RedriveCount key: the context object is a plain dict at run time.
        execution = cast(dict[str, Any], environment.states.context_object.context_object_data["Execution"])
        execution.setdefault("RedriveCount", 0)
        return environment

    _patch(ExecutionWorker, "_get_evaluation_environment", evaluation_environment)
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original_parameters = StateTaskServiceSfn._normalise_parameters

    # moto 5.2.5 gap: the states integration passes the ASL's PascalCase names to boto3.
    def normalise_parameters(
        self: Any, parameters: dict, boto_service_name: Optional[str] = None, service_action_name: Optional[str] = None
    ) -> None:
        original_parameters(self, parameters, boto_service_name, service_action_name)
        operation = _operation(self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name))
        to_boto_request(parameters, operation.input_shape)
        if operation.name == "StartExecution" and not parameters.get("name"):
            parameters["name"] = str(uuid.uuid4())

    # ... and hands boto3's camelCase response to the ASL unchanged.
    def normalise_response(
        self: Any, response: Any, boto_service_name: Optional[str] = None, service_action_name: Optional[str] = None
    ) -> None:
        operation = _operation(self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name))
        from_boto_response(response, operation.output_shape)

    original_start = StepFunctionsParserBackend.start_execution

    # moto 5.2.5 gap: start_execution's name check and append are not atomic.
    def start_execution(backend: Any, *args: Any, **kwargs: Any) -> Any:
        with _start_lock:
            return original_start(backend, *args, **kwargs)

    # moto 5.2.5 gap: an execution is listed before its start has given it a status and a worker.
    from moto.stepfunctions.parser.backend.execution import Execution

    original_status: Callable[[Any], Any] = Execution.__dict__["status"].fget

    def status(self: Any) -> Any:
        if self.exec_status is None:
            with _start_lock:  # its StartExecution holds the lock until the execution runs
                pass
        return original_status(self)

    original_get_executions = StepFunctionsParserBackend._get_executions

    # SendTask* and the map run reads look in every execution's environment, which the execution's
    # worker thread makes only after parsing the ASL: an execution without one holds no token yet.
    def has_environment(execution: Any) -> bool:
        execution.status  # noqa: B018 - waits out a StartExecution under way
        return execution.exec_worker is not None and execution.exec_worker.env is not None

    def get_executions(backend: Any, execution_status: Any = None) -> list[Any]:
        return [e for e in original_get_executions(backend, execution_status) if has_environment(e)]

    _patch_attribute(Execution, "status", property(status))
    _patch(StepFunctionsParserBackend, "_get_executions", get_executions)

    # moto 5.2.5 gap: a failed Map iteration / Parallel branch re-wraps States.* errors as custom names.
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl

    _patch_global(iteration_worker, "CustomErrorName", propagated_error_name)
    _patch_global(branches_decl, "CustomErrorName", propagated_error_name)
    # moto 5.2.5 gap: an expired heartbeat becomes States.Timeout (HeartbeatTimeoutError is a TimeoutError).
    from moto.stepfunctions.parser.api import HistoryEventType, TaskTimedOutEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
    from moto.stepfunctions.parser.asl.eval.callback.callback import HeartbeatTimeoutError

    original_from_error = StateTask._from_error

    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, HeartbeatTimeoutError):
            name = StatesErrorNameType.StatesHeartbeatTimeout
            return FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=name),
                event_type=HistoryEventType.TaskTimedOut,
                event_details=_event_details(taskTimedOutEventDetails=TaskTimedOutEventDetails(error=name.to_name())),
            )
        return original_from_error(self, env, ex)

    # moto 5.2.5 gap: a callback (or heartbeat) before the task's heartbeat wait is set up is lost.
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

    original_setup_heartbeat = CallbackEndpoint.setup_heartbeat_endpoint

    def setup_heartbeat_endpoint(self: Any, heartbeat_seconds: int) -> Any:
        endpoint = original_setup_heartbeat(self, heartbeat_seconds)
        # CallbackEndpoint.notify stores the outcome and then notifies the heartbeat endpoint if it
        # is set; here the endpoint is set and then the outcome read: one of the two sees the other.
        if self.get_outcome() is not None:
            endpoint.notify()
        return endpoint

    original_notify_heartbeat = CallbackEndpoint.notify_heartbeat

    def notify_heartbeat(self: Any) -> bool:
        # No heartbeat wait yet (or none at all) and no outcome: the task is open, the heartbeat taken.
        return bool(original_notify_heartbeat(self)) or (self._heartbeat_endpoint is None and self.get_outcome() is None)

    _patch(CallbackEndpoint, "setup_heartbeat_endpoint", setup_heartbeat_endpoint)
    _patch(CallbackEndpoint, "notify_heartbeat", notify_heartbeat)

    # moto 5.2.5 gap: SendTaskFailure's cause is never read from the request.
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    # Not a gap but the emulator's latency: poll nested executions every 0.1 s instead of 0.5 s.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback

    _patch_global(state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.1)
    _patch(StateTask, "_from_error", from_error)
    _patch(StepFunctionResponse, "send_task_failure", send_task_failure)
    _patch(StateTaskServiceSfn, "_normalise_parameters", normalise_parameters)
    _patch(StateTaskServiceSfn, "_normalise_response", normalise_response)
    # moto 5.2.5 gap: the same for arn:aws:states:::aws-sdk:sfn:<action> (startSyncExecution of an
    # Express child, describeExecution ...): the Step Functions API is the camelCase one.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    def sdk_parameters(self: Any, parameters: dict, boto_service_name: Optional[str] = None,
                       service_action_name: Optional[str] = None) -> None:
        if self.resource.api_name == "sfn":
            operation = _operation("stepfunctions", self._get_boto_service_action(service_action_name))
            to_boto_request(parameters, operation.input_shape)

    def sdk_response(self: Any, response: Any, boto_service_name: Optional[str] = None,
                     service_action_name: Optional[str] = None) -> None:
        if self.resource.api_name == "sfn":
            operation = _operation("stepfunctions", self._get_boto_service_action(service_action_name))
            from_boto_response(response, operation.output_shape)

    _patch(StepFunctionResponse, "start_sync_execution", start_sync_execution)
    _patch(StateTaskServiceAwsSdk, "_normalise_parameters", sdk_parameters)
    _patch(StateTaskServiceAwsSdk, "_normalise_response", sdk_response)
    _patch(StepFunctionsParserBackend, "start_execution", start_execution)
    # moto 5.2.5 gaps: StopExecution of a waiting task, RedriveExecution (see local/sfn_operations.py).
    from local import sfn_operations

    sfn_operations.install(_patch)


#: Express executions last at most five minutes; a synchronous start waits no longer.
EXPRESS_MAX_SECONDS = 300


def start_sync_execution(self: Any) -> Any:
    """StartSyncExecution (moto 5.2.5 gap: no such action): run an Express execution and answer when it ends.

    As on AWS: only for an EXPRESS state machine; the answer carries status, output or error and
    cause (a failed execution is still a 200 answer); a repeated name starts another execution.
    """
    from moto.core.responses import ActionResult
    from moto.stepfunctions.exceptions import InvalidArn

    backend = self.stepfunction_backend
    arn = self._get_param("stateMachineArn")
    machine = backend.describe_state_machine(arn)
    if getattr(machine, "type", "STANDARD") != "EXPRESS":
        raise InvalidArn(f"StartSyncExecution needs an EXPRESS state machine, {arn} is not one")
    name = self._get_param("name") or str(uuid.uuid4())
    # A name of its own per start (Express names need not be unique; moto's would be).
    execution = backend.start_execution(arn, f"{name}-{uuid.uuid4().hex[:8]}", self._get_param("input", if_none="{}"))
    deadline = time.monotonic() + EXPRESS_MAX_SECONDS
    while execution.status == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.02)
    response: dict[str, Any] = {
        "executionArn": execution.execution_arn,
        "stateMachineArn": arn,
        "name": name,
        "startDate": execution.start_date,
        "stopDate": execution.stop_date,
        "status": "TIMED_OUT" if execution.status == "RUNNING" else str(execution.status),
        "input": execution.execution_input,
    }
    if response["status"] == "SUCCEEDED":
        output = execution.output
        response["output"] = output if isinstance(output, str) else json.dumps(output)
    else:
        response["error"] = getattr(execution, "error", None) or "States.Runtime"
        response["cause"] = getattr(execution, "cause", None) or ""
    return ActionResult({k: v for k, v in response.items() if v is not None})


def propagated_error_name(error_name: Optional[str] = None) -> Any:
    """The error name of a failed iteration or branch, as its parent state reports it (``States.*`` kept)."""
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName

    if error_name is None or not error_name.startswith("States."):
        return CustomErrorName(error_name=error_name)
    try:
        return StatesErrorName.from_name(error_name)
    except ValueError:
        name = CustomErrorName.__new__(CustomErrorName)
        ErrorName.__init__(name, error_name=error_name)
        return name


def _share_interpreter_clients() -> None:
    """Every module of moto's interpreter that imported ``boto_client_for`` gets one that reuses its clients."""
    import sys

    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    clients: dict[tuple[str, str, bool, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto 5.2.5 builds every client alike, whatever the state's credentials: they are not part of the key.
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port

        key = (region, service, bool(botocore_stubber.enabled), str(moto_server_port()))
        with lock:
            if key not in clients:
                clients[key] = original(region=region, service=service, state_credentials=state_credentials)
            return clients[key]

    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "boto_client_for", None) is original:
            _patch_global(module, "boto_client_for", boto_client_for)


def _patch_global(module: Any, name: str, replacement: Any) -> None:
    _originals.append((module, name, getattr(module, name)))
    setattr(module, name, replacement)


def _patch(owner: Any, name: str, replacement: Callable[..., Any]) -> None:
    _patch_attribute(owner, name, replacement)


def _patch_attribute(owner: Any, name: str, replacement: Any) -> None:
    _originals.append((owner, name, owner.__dict__.get(name)))
    setattr(owner, name, replacement)


def uninstall() -> None:
    """Undo :func:`install`."""
    while _originals:
        owner, name, original = _originals.pop()
        if name == "uninstall" and original is None:
            owner.uninstall()
        elif original is None and isinstance(owner, type):
            delattr(owner, name)
        else:
            setattr(owner, name, original)
