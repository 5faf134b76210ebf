"""StopExecution and RedriveExecution for moto 5.2.5's Step Functions interpreter, as AWS documents them.

Installed by :func:`local.stepfunctions.install` (so both the local stack and the handler tests get it).

- **StopExecution of a waiting task** (moto 5.2.5 gap): moto only flags the interpreter as stopped.
  The execution stays ``RUNNING`` until its waiting task times out, its task token is still accepted
  meanwhile, and the worker may then end it ``FAILED`` (``States.Runtime``) instead of ``ABORTED``.
  Here, as on AWS, a stop makes the execution ``ABORTED`` at once with the caller's ``error`` and
  ``cause``, wakes every task that waits, and makes its pending task tokens invalid
  (``SendTaskSuccess``/``Failure``/``Heartbeat`` answer ``TaskTimedOut``); nothing that runs on in
  the interpreter afterwards can change the status or the stop date. Stopping an execution that
  has already ended changes nothing and answers its stop date (AWS does not refuse it).
- **RedriveExecution** (not implemented by moto 5.2.5). As in the API reference and the
  "Redriving executions" guide:

  - only a ``STANDARD`` execution that is ``FAILED``, ``TIMED_OUT`` or ``ABORTED`` can be redriven,
    within 14 days of its stop, less than a year after its start, with fewer than 25,000 history
    events; otherwise ``ExecutionNotRedrivable`` with AWS's reason (``Execution is RUNNING and
    cannot be redriven``, ``Execution is SUCCEEDED and cannot be redriven``, ``Execution
    redrivable period exceeded`` ...); an unknown execution is ``ExecutionDoesNotExist``;
  - it continues from the unsuccessful step: the top-level state that was entered and never
    exited (the failed Task, or the Fail state a Catch led to, which then fails again), with the
    input that state was entered with; the states that succeeded are not run again and keep their
    results; the execution keeps its name, ARN, input and start date;
  - the execution-level timeout starts again; retry counters start at 0; a task that waits for a
    token gets a new token (the old one is invalid);
  - ``DescribeExecution`` gains ``redriveCount`` (0 until redriven), ``redriveDate``,
    ``redriveStatus`` (``REDRIVABLE`` / ``NOT_REDRIVABLE``) and ``redriveStatusReason``;
    ``ListExecutions`` items gain ``redriveCount`` / ``redriveDate``; the history continues
    after an ``ExecutionRedriven`` event; ``$$.Execution.RedriveCount`` counts the redrives (0 is
    set for every execution by :mod:`local.stepfunctions`);
  - ``clientToken`` makes a repeated request idempotent (the last 10 tokens, for 15 minutes).

  - a failed top-level Parallel state re-runs only the branches that did not succeed; the ones
    that did keep their output (:func:`_parallel_body`). For the MonitoredWorkflow's Parallel this
    means both branches: when the monitor fails, the work branch is aborted.

  Not emulated: inside a failed inline Map, AWS re-runs only the iterations that did not succeed;
  here the whole Map runs again. Workflow variables (``Assign``) are restored as they were when the
  failed state was entered.
  ``moto``'s ``describe_execution`` also omits ``stopDate`` for ``TIMED_OUT``: it is added here.
"""

from __future__ import annotations

import copy
import datetime
import threading
from typing import Any, Callable, Optional, cast

#: AWS: an execution can be redriven within 14 days of its stop ...
REDRIVE_WINDOW = datetime.timedelta(days=14)
#: ... and while it has been open for less than a year (the maximum execution time) ...
MAX_EXECUTION_TIME = datetime.timedelta(days=365)
#: ... and its history has room for the ExecutionRedriven event under the 25,000-event quota.
MAX_HISTORY_EVENTS = 25_000
#: RedriveExecution's clientToken: the last 10 tokens are remembered for 15 minutes.
CLIENT_TOKENS_KEPT = 10
CLIENT_TOKEN_LIFETIME = datetime.timedelta(minutes=15)

REASON_RUNNING = "Execution is RUNNING and cannot be redriven"
REASON_SUCCEEDED = "Execution is SUCCEEDED and cannot be redriven"
REASON_PERIOD = "Execution redrivable period exceeded"
REASON_MAX_TIME = "Execution has exceeded the max execution time"
REASON_HISTORY = "Execution history event limit exceeded"
REASON_EXPRESS = "This API action is not supported by EXPRESS state machines"

_lock = threading.RLock()


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.timezone.utc)


def redrive_refusal(execution: Any, now: Optional[datetime.datetime] = None) -> Optional[str]:
    """Why ``execution`` cannot be redriven now (AWS's ``redriveStatusReason``), or None when it can."""
    now = now or _now()
    status = execution.status
    # moto keeps the type in ``StateMachine.type`` (its ``sm_type`` always says STANDARD).
    kind = getattr(execution.state_machine, "type", None) or getattr(execution, "sm_type", "STANDARD")
    if str(kind).endswith("EXPRESS"):
        return REASON_EXPRESS
    if status == "RUNNING":
        return REASON_RUNNING
    if status == "SUCCEEDED":
        return REASON_SUCCEEDED
    if now - execution.start_date > MAX_EXECUTION_TIME:
        return REASON_MAX_TIME
    if execution.stop_date is not None and now - execution.stop_date > REDRIVE_WINDOW:
        return REASON_PERIOD
    env = execution.exec_worker.env if execution.exec_worker is not None else None
    if env is not None and _history_length(env.event_manager) >= MAX_HISTORY_EVENTS - 1:
        return REASON_HISTORY
    return None


def _history_length(events: Any) -> int:
    # Counted under the manager's lock, without copying: a copy (get_event_history) iterates event
    # details the running execution may still be changing, and DescribeExecution is called often.
    with events._mutex:
        return len(events._history_event_list)


def redrive_fields(execution: Any) -> dict[str, Any]:
    """The redrive fields DescribeExecution answers for ``execution``."""
    fields: dict[str, Any] = {"redriveCount": getattr(execution, "redrive_count", 0)}
    if getattr(execution, "redrive_date", None) is not None:
        fields["redriveDate"] = execution.redrive_date
    reason = redrive_refusal(execution)
    fields["redriveStatus"] = "NOT_REDRIVABLE" if reason else "REDRIVABLE"
    if reason:
        fields["redriveStatusReason"] = reason
    return fields


#: Task tokens of stopped executions: Step Functions refuses them as ``TaskTimedOut``.
_void_tokens: set[str] = set()


def _invalidate_tokens(env: Any) -> None:
    """Wake every task of ``env`` that waits for a token, and make its token refused as ``TaskTimedOut``."""
    pool = env.callback_pool_manager
    for token, endpoint in list(pool._pool.items()):
        _void_tokens.add(token)
        pool._pool.pop(token, None)
        endpoint.interrupt_all()


def task_timed_out() -> Exception:
    """AWS's ``TaskTimedOut`` error for a token whose task is closed."""
    from moto.core.exceptions import AWSError

    return AWSError("Task Timed Out: 'Provided task does not exist anymore'", "TaskTimedOut", 400)


def stop_execution(backend: Any, execution_arn: str, error: Optional[str] = None, cause: Optional[str] = None) -> Any:
    """StopExecution as on AWS: ``ABORTED`` at once, waiting tasks woken, their tokens invalid."""
    execution = backend.describe_execution(execution_arn)
    with _lock:
        if execution.status != "RUNNING":
            return execution  # already ended: nothing changes (AWS answers without error)
        stop_date = _now()
        execution.exec_status = _status("ABORTED")
        execution.stop_date = stop_date
        execution.error, execution.cause = error, cause
        execution._stopped_at = stop_date
        worker = execution.exec_worker
    # Right after a start the worker's environment may not exist yet: wait for it (briefly) to stop it.
    for _ in range(200):
        if worker is None or worker.env is not None:
            break
        threading.Event().wait(0.005)
    if worker is not None and worker.env is not None:
        worker.env.set_stop(stop_date=stop_date, cause=cause, error=error)
        _invalidate_tokens(worker.env)
    return execution


def not_redrivable(message: str) -> Exception:
    """AWS's ``ExecutionNotRedrivable`` error (HTTP 400) with ``message``."""
    from moto.core.exceptions import AWSError

    return AWSError(message, "ExecutionNotRedrivable", 400)


def _status(name: str) -> Any:
    from moto.stepfunctions.parser.api import ExecutionStatus

    return ExecutionStatus(name)


def redrive_execution(backend: Any, execution_arn: str, client_token: Optional[str] = None) -> datetime.datetime:
    """RedriveExecution as on AWS (see the module docstring); returns the redrive date."""
    execution = backend.describe_execution(execution_arn)
    with _lock:
        now = _now()
        tokens: list[tuple[str, datetime.datetime]] = getattr(execution, "_redrive_tokens", [])
        for token, date in tokens:
            if client_token and token == client_token and now - date <= CLIENT_TOKEN_LIFETIME:
                return date  # the same request again: the redrive it already made
        reason = redrive_refusal(execution, now)
        if reason:
            raise not_redrivable(f"Execution Not Redrivable: '{execution_arn}': {reason}")
        old_worker = execution.exec_worker
        checkpoint = getattr(old_worker.env, "_redrive_checkpoint", None) if old_worker and old_worker.env else None
        history = old_worker.env.event_manager if old_worker and old_worker.env else None
        if old_worker is not None:
            # The old worker may still be unwinding (a stopped task): it can no longer report an outcome.
            old_worker._execution_communication._superseded = True
        execution.redrive_count = getattr(execution, "redrive_count", 0) + 1
        execution.redrive_date = now
        execution.exec_status = _status("RUNNING")
        execution.stop_date = None
        execution.error = execution.cause = execution.output = None
        execution._stopped_at = None
        execution._redrive_tokens = (tokens + [(client_token, now)])[-CLIENT_TOKENS_KEPT:] if client_token else tokens
        execution.exec_worker = _redrive_worker(execution, checkpoint, history)
        execution.exec_worker.start()
    return now


def _redrive_worker(execution: Any, checkpoint: Optional[tuple[str, Any, Any]], history: Any) -> Any:
    """A worker that runs ``execution``'s program from ``checkpoint`` (state name, input, variables)."""
    from moto.stepfunctions.parser.api import ExecutionRedrivenEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext, EventManager

    worker = execution._get_start_execution_worker()
    redrive_count = execution.redrive_count

    def execution_logic() -> None:
        program = worker._get_evaluation_entrypoint()
        env = worker.env = worker._get_evaluation_environment()
        # The history continues where the failed attempt's ended.
        events = EventManager(cloud_watch_logging_session=worker._cloud_watch_logging_session)
        if history is not None:
            previous = history.get_event_history()
            setattr(events, "_history_event_list", previous)  # moto declares it Final: set once, here
            events._event_id_gen._next_id = len(previous) + 1
        env.event_manager = events
        env.states.context_object.context_object_data["Execution"]["RedriveCount"] = redrive_count
        if checkpoint is not None:
            state_name, state_input, variables = checkpoint
            program.start_at.start_at_name = state_name
            env.states.reset(input_value=copy.deepcopy(state_input))
            if variables is not None:
                env.variable_store = copy.deepcopy(variables)
        events.add_event(
            context=EventHistoryContext.of_program_start(),
            event_type=HistoryEventType.ExecutionRedriven,
            # moto's EventDetails TypedDict is total and lacks this kind of detail (moto never redrives).
            event_details=cast(
                EventDetails,
                {"executionRedrivenEventDetails": ExecutionRedrivenEventDetails(redriveCount=redrive_count)},
            ),
            update_source_event_id=False,
        )
        program.eval(env)
        worker._execution_communication.terminated()

    worker._execution_logic = execution_logic
    return worker


#: Outputs of the branches that succeeded in a top-level Parallel state that failed, by
#: (execution ARN, start time) and state name: {branch index: output}. A redrive's run of that
#: Parallel takes them instead of running those branches again.
_succeeded_branches: dict[tuple[str, str], dict[str, dict[int, Any]]] = {}
#: The top-level state each execution is in (a Parallel nested in a branch is not redriven by branch).
_top_level: dict[tuple[str, str], str] = {}


def _parallel_key(env: Any) -> tuple[tuple[str, str], str]:
    context = env.states.context_object.context_object_data
    execution = context["Execution"]
    return (execution["Id"], str(execution["StartTime"])), context.get("State", {}).get("Name", "")


def _parallel_body(self: Any, env: Any) -> None:
    """moto's ``BranchesDecl._eval_body``, keeping the outputs of the branches that succeeded when the
    Parallel fails, and using them (instead of running those branches) when a redrive runs it again."""
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded

    input_value = env.stack.pop()
    execution_key, state_name = _parallel_key(env)
    with _lock:
        kept = _succeeded_branches.get(execution_key, {}).pop(state_name, {})
    if kept:
        kept = kept if env.states.context_object.context_object_data["Execution"].get("RedriveCount") else {}
    to_run = [index for index in range(len(self.programs)) if index not in kept]
    pool = branches_decl.BranchWorkerPool(workers_num=len(to_run))
    workers: dict[int, Any] = {}
    for index in to_run:
        frame = env.open_inner_frame()
        frame.states.reset(input_value=input_value)
        workers[index] = branches_decl.BranchWorker(branch_worker_comm=pool, program=self.programs[index], env=frame)
        workers[index].start()
    if to_run:
        pool.wait()
    failure = pool.get_exit_event_details() if to_run else None
    if failure is not None:
        succeeded = dict(kept)
        for index, worker in workers.items():
            if isinstance(worker.env.program_state(), ProgramEnded):
                succeeded[index] = copy.deepcopy(worker.env.states.get_input())
            worker.stop(stop_date=datetime.datetime.now(), cause=None, error=None)
            env.close_frame(worker.env)
        if succeeded and _top_level.get(execution_key) == state_name:
            with _lock:
                _succeeded_branches.setdefault(execution_key, {})[state_name] = succeeded
        raise FailureEventException(
            failure_event=FailureEvent(
                env=env,
                error_name=branches_decl.CustomErrorName(error_name=failure.get("error")),
                event_type=HistoryEventType.ExecutionFailed,
                event_details=cast(EventDetails, {"executionFailedEventDetails": failure}),  # moto's total TypedDict
            )
        )
    results = []
    for index in range(len(self.programs)):
        if index in kept:
            results.append(kept[index])
        else:
            results.append(workers[index].env.states.get_input())
            env.close_frame(workers[index].env)
    env.stack.append(results)


def install(patch: Callable[[Any, str, Any], None]) -> None:
    """Install the adapters with ``patch(owner, name, replacement)`` (recorded for uninstall)."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    # Checkpoint: each top-level state records the input it was entered with (what a redrive resumes from).
    original_eval_body = CommonStateField._eval_body

    def eval_body(self: Any, env: Any) -> None:
        if not env.is_frame():
            try:
                variables = copy.deepcopy(env.variable_store)
            except Exception:  # noqa: BLE001 - a store that cannot be copied is not restored
                variables = None
            env._redrive_checkpoint = (self.name, copy.deepcopy(env.states.get_input()), variables)
            _top_level[_parallel_key(env)[0]] = self.name
        original_eval_body(self, env)

    patch(CommonStateField, "_eval_body", eval_body)

    # A failed top-level Parallel keeps its succeeded branches for a redrive (see _parallel_body).
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel.branches_decl import BranchesDecl

    patch(BranchesDecl, "_eval_body", _parallel_body)


    # A stopped execution stays stopped: nothing the interpreter does afterwards turns it FAILED or TIMED_OUT.
    for method in ("set_error", "set_timed_out"):
        original = getattr(Environment, method)

        def guarded(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            if isinstance(self._program_state, ProgramStopped):
                self.program_state_event.set()
                self.program_state_event.clear()
                return
            _original(self, *args, **kwargs)

        patch(Environment, method, guarded)

    original_terminated = BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        if getattr(self, "_superseded", False):
            return  # a redrive replaced this worker: its late end is not the execution's
        execution = self.execution
        with _lock:
            stopped_at = getattr(execution, "_stopped_at", None)
            if stopped_at is not None:
                return  # stop_execution already recorded ABORTED, its date, error and cause
            original_terminated(self)

    patch(BaseExecutionWorkerCommunication, "terminated", terminated)

    def backend_stop(self: Any, execution_arn: str, error: Optional[str] = None, cause: Optional[str] = None) -> Any:
        return stop_execution(self, execution_arn, error, cause)

    def backend_redrive(self: Any, execution_arn: str, client_token: Optional[str] = None) -> datetime.datetime:
        return redrive_execution(self, execution_arn, client_token)

    for action in ("send_task_success", "send_task_failure", "send_task_heartbeat"):
        original_send = getattr(StepFunctionsParserBackend, action)

        def send(self: Any, task_token: str, *args: Any, _original: Any = original_send, **kwargs: Any) -> Any:
            if task_token in _void_tokens:
                raise task_timed_out()
            return _original(self, task_token, *args, **kwargs)

        patch(StepFunctionsParserBackend, action, send)
    patch(StepFunctionsParserBackend, "stop_execution", backend_stop)
    patch(StepFunctionsParserBackend, "redrive_execution", backend_redrive)

    original_response_stop = StepFunctionResponse.stop_execution

    def response_stop(self: Any) -> Any:
        if not isinstance(self.stepfunction_backend, StepFunctionsParserBackend):
            return original_response_stop(self)  # the interpreter is off: moto's static executions
        stop: Callable[..., Any] = self.stepfunction_backend.stop_execution  # backend_stop: takes error and cause
        execution = stop(self._get_param("executionArn"), error=self._get_param("error"), cause=self._get_param("cause"))
        return ActionResult({"stopDate": execution.stop_date})

    def response_redrive(self: Any) -> Any:
        backend = self.stepfunction_backend
        if not hasattr(backend, "redrive_execution"):  # the interpreter is off: nothing to run again
            raise not_redrivable("RedriveExecution needs moto's Step Functions interpreter")
        date = backend.redrive_execution(self._get_param("executionArn"), self._get_param("clientToken"))
        return ActionResult({"redriveDate": date})

    original_describe = StepFunctionResponse.describe_execution

    def response_describe(self: Any) -> Any:
        result = original_describe(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        answer = dict(cast(dict[str, Any], result.result))  # moto types an action's result as object
        if getattr(execution, "exec_worker", "absent") != "absent":  # the interpreter's executions only
            answer.update(redrive_fields(execution))
            if execution.stop_date is not None:
                answer["stopDate"] = execution.stop_date  # moto omits it for TIMED_OUT
        return ActionResult(answer)

    original_list = StepFunctionResponse.list_executions

    def response_list(self: Any) -> Any:
        result = original_list(self)
        answer = dict(cast(dict[str, Any], result.result))  # moto types an action's result as object
        items = []
        for item in answer.get("executions", []):
            item = dict(item)
            try:
                execution = self.stepfunction_backend.describe_execution(item["executionArn"])
            except Exception:  # noqa: BLE001 - listed a moment ago; answer the item as moto built it
                execution = None
            if execution is not None and getattr(execution, "exec_worker", "absent") != "absent":
                item["redriveCount"] = getattr(execution, "redrive_count", 0)
                if getattr(execution, "redrive_date", None) is not None:
                    item["redriveDate"] = execution.redrive_date
                if execution.stop_date is not None:
                    item["stopDate"] = execution.stop_date
            items.append(item)
        answer["executions"] = items
        return ActionResult(answer)

    patch(StepFunctionResponse, "stop_execution", response_stop)
    patch(StepFunctionResponse, "redrive_execution", response_redrive)
    patch(StepFunctionResponse, "describe_execution", response_describe)
    patch(StepFunctionResponse, "list_executions", response_list)
