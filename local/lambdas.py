"""In-process Lambda: every invocation of a moto Lambda function runs its real Python handler here.

moto 5.2.5 gap: ``LambdaFunction._invoke_lambda`` runs the code in a Docker container (and with
``use_docker: False`` it runs nothing and answers a canned string). :meth:`LambdaRuntime.install`
replaces ``LambdaFunction._invoke_lambda`` and ``LambdaFunction.invoke`` so that:

- the function's deployment package (the zip moto stores) is extracted once per code hash, and its
  ``Handler`` setting (``module.function``) names what runs, as on AWS;
- each function imports its modules in a namespace of its own (``_lambda_<n>.<module>``), so two
  functions that ship the same module (``common``) never share module state;
- each invocation runs in its own thread with the function's own environment (its variables, the
  Lambda runtime variables, and the embedded AWS endpoint; see :mod:`local.environ`), and is cut
  off after the function's timeout (the thread is abandoned, as Python cannot kill it);
- a handler's exception is answered in Lambda's error shape (``X-Amz-Function-Error: Unhandled``,
  ``{"errorType", "errorMessage", "stackTrace"}``), so Step Functions' Retry/Catch match the
  exception's class name as on AWS;
- what a handler prints or logs is written, per invocation, to the function's CloudWatch log group
  (its ``LoggingConfig`` group, else ``/aws/lambda/<name>``) with Lambda's START/END/REPORT lines,
  as well as to this process's console (moto 5.2.5 keeps no logs of in-process invocations);
- ``InvocationType=Event`` invocations are queued and run asynchronously, with the function's
  ``FunctionEventInvokeConfig`` (maximum retries, maximum event age, on-success/on-failure
  destinations) or its dead-letter config honoured, as on AWS (retry delays are shortened).
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import io
import itertools
import json
import shutil
import sys
import threading
import time
import traceback
import types
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from local import environ

#: Delay before the first retry of a failed asynchronous invocation (AWS: about a minute), doubled after.
DEFAULT_RETRY_DELAY_SECONDS = 0.5
#: Lambda's defaults for asynchronous invocation.
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_EVENT_AGE_SECONDS = 6 * 3600


@dataclass
class Invocation:
    """The outcome of one invocation: the response payload (JSON bytes), the function error, logs."""

    payload: bytes
    function_error: Optional[str] = None
    request_id: str = ""
    duration_ms: float = 0.0

    @property
    def failed(self) -> bool:
        """True when the handler raised, timed out or returned something that is not JSON."""
        return self.function_error is not None

    def json(self) -> Any:
        """The payload parsed."""
        return json.loads(self.payload or b"null")


@dataclass
class _Loaded:
    """A function's handler, imported into its own namespace."""

    prefix: str
    handler: Callable[[Any, Any], Any]


@dataclass
class Stats:
    """Counters for the benchmark and for tests: invocations, errors and bytes logged per function name."""

    invocations: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    log_bytes: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, function_name: str, failed: bool) -> None:
        """Record one invocation."""
        with self.lock:
            self.invocations[function_name] = self.invocations.get(function_name, 0) + 1
            if failed:
                self.errors[function_name] = self.errors.get(function_name, 0) + 1

    def logged(self, function_name: str, size: int) -> None:
        """Record ``size`` bytes of log events (UTF-8 messages) written to the function's log group."""
        with self.lock:
            self.log_bytes[function_name] = self.log_bytes.get(function_name, 0) + size

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A copy of the counters."""
        with self.lock:
            return {"invocations": dict(self.invocations), "errors": dict(self.errors), "logBytes": dict(self.log_bytes)}


class LambdaContext:
    """The ``context`` argument of a handler (the attributes the Python runtime provides)."""

    def __init__(self, fn: Any, request_id: str, deadline: float) -> None:
        self.function_name: str = fn.function_name
        self.function_version: str = str(getattr(fn, "version", "$LATEST"))
        self.invoked_function_arn: str = fn.function_arn
        self.memory_limit_in_mb: int = int(getattr(fn, "memory_size", 128) or 128)
        self.aws_request_id: str = request_id
        self.log_group_name: str = getattr(fn, "logs_group_name", f"/aws/lambda/{fn.function_name}")
        self.log_stream_name: str = f"{datetime.now(timezone.utc):%Y/%m/%d}/[$LATEST]{request_id.replace('-', '')}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_capture = threading.local()
environ.inherit_in_threads(_capture, "lines")  # a handler's own threads log into its stream too


class _ThreadOutput(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` stand-in: a function thread's writes are also kept for its log stream."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def write(self, text: str) -> int:
        lines = getattr(_capture, "lines", None)
        if lines is not None:
            lines.append(text)
        return self.real.write(text)

    def flush(self) -> None:
        self.real.flush()

    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")


def _capture_output() -> None:
    """Make ``sys.stdout``/``sys.stderr`` per-thread capturing (again, if something replaced them)."""
    if not isinstance(sys.stdout, _ThreadOutput):
        sys.stdout = _ThreadOutput(sys.stdout)
    if not isinstance(sys.stderr, _ThreadOutput):
        sys.stderr = _ThreadOutput(sys.stderr)


class _IsolatedLoader(importlib.abc.Loader):
    """Wraps a source loader so that the module runs with its function's private ``__import__``."""

    def __init__(self, inner: Any, builtins_dict: dict[str, Any]) -> None:
        self.inner = inner
        self.builtins_dict = builtins_dict

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[types.ModuleType]:
        return self.inner.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__["__builtins__"] = self.builtins_dict
        self.inner.exec_module(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, is_package ...
        return getattr(self.inner, name)


class _IsolatedFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of the ``_lambda_<n>`` namespaces (one per function) in their code folders."""

    def __init__(self) -> None:
        self.namespaces: dict[str, dict[str, Any]] = {}

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        top = fullname.partition(".")[0]
        builtins_dict = self.namespaces.get(top)
        if builtins_dict is None or fullname == top:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _IsolatedLoader(spec.loader, builtins_dict)
        return spec


def _top_level_names(code_dir: Path) -> set[str]:
    names = {p.stem for p in code_dir.glob("*.py")}
    names |= {p.name for p in code_dir.iterdir() if p.is_dir() and p.name.isidentifier()}
    return names


def _private_import(prefix: str, own: set[str]) -> Callable[..., Any]:
    """An ``__import__`` that resolves the archive's own top-level modules inside ``prefix``."""
    real_import = builtins.__import__

    def _import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        if level == 0:
            top = name.partition(".")[0]
            if top in own:
                module = real_import(f"{prefix}.{name}", globals, locals, fromlist, 0)
                return module if fromlist else sys.modules[f"{prefix}.{top}"]
        return real_import(name, globals, locals, fromlist, level)

    return _import


def error_payload(error: BaseException, error_type: Optional[str] = None) -> dict[str, Any]:
    """Lambda's Python runtime error shape for an exception."""
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "requestId": "",
        # The handler's frames only, as the Lambda runtime reports them (not this runtime's own).
        "stackTrace": [
            line.rstrip("\n")
            for line in traceback.format_list(
                [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename != __file__]
            )
        ],
    }


class LambdaRuntime:
    """Runs moto's Lambda functions in this process (see the module docstring)."""

    def __init__(
        self,
        workdir: Path,
        aws_endpoint: str,
        region: str,
        access_key: str = "testing",
        secret_key: str = "testing",
        retry_delay_seconds: float = DEFAULT_RETRY_DELAY_SECONDS,
        async_workers: int = 8,
    ) -> None:
        self.workdir = Path(workdir)
        self.aws_endpoint = aws_endpoint
        self.region = region
        self.access_key = access_key
        self.secret_key = secret_key
        self.retry_delay_seconds = retry_delay_seconds
        self.stats = Stats()
        #: Receives each invocation's outcome for the local alarms (:class:`local.alarms.Timeline`), if set.
        self.metrics: Any = None
        self.dead_letter_targets: dict[str, str] = {}
        #: Function ARN -> log group of its LoggingConfig (moto 5.2.5 does not keep LoggingConfig).
        self.log_groups: dict[str, str] = {}
        self._finder = _IsolatedFinder()
        self._code_dirs: dict[str, Path] = {}
        self._loaded: dict[tuple[str, str], _Loaded] = {}
        self._load_locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        self._pool = ThreadPoolExecutor(max_workers=async_workers, thread_name_prefix="lambda-async")
        self._stopping = threading.Event()
        self._originals: dict[str, Any] = {}
        self._clients: dict[str, Any] = {}

    # --- installation ------------------------------------------------------------------------

    def install(self) -> "LambdaRuntime":
        """Patch moto's ``LambdaFunction`` so that every invocation runs here."""
        from moto.awslambda.models import LambdaFunction

        environ.install()
        _capture_output()
        runtime = self
        self._originals = {"_invoke_lambda": LambdaFunction._invoke_lambda, "invoke": LambdaFunction.invoke}

        # moto 5.2.5 gap: _invoke_lambda needs Docker. Run the handler in-process instead.
        def _invoke_lambda(fn: Any, event: Any = None) -> tuple[str, bool, str]:
            result = runtime.run(fn, {} if event is None else event)
            return result.payload.decode("utf-8"), result.failed, ""

        # moto 5.2.5 gap: invoke runs Event invocations synchronously and marks errors "Handled".
        def invoke(fn: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
            headers = {str(k).lower(): v for k, v in dict(request_headers or {}).items()}
            invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
            event = json.loads(body) if isinstance(body, (str, bytes)) and body else (body or {})
            response_headers["x-amz-executed-version"] = "$LATEST"
            if invocation_type == "DryRun":
                return b""
            if invocation_type == "Event":
                runtime.invoke_async(fn, event)
                return b""
            result = runtime.run(fn, event)
            if result.failed:
                response_headers["x-amz-function-error"] = result.function_error
            return result.payload

        # moto runs Lambdas in Docker: these two methods run them in-process instead (patched on the class).
        setattr(LambdaFunction, "_invoke_lambda", _invoke_lambda)
        setattr(LambdaFunction, "invoke", invoke)
        return self

    def stop(self) -> None:
        """Undo the patches, stop the asynchronous workers and forget the imported modules."""
        self._stopping.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if isinstance(sys.stdout, _ThreadOutput):
            sys.stdout = sys.stdout.real
        if isinstance(sys.stderr, _ThreadOutput):
            sys.stderr = sys.stderr.real
        if self._originals:
            from moto.awslambda.models import LambdaFunction

            setattr(LambdaFunction, "_invoke_lambda", self._originals["_invoke_lambda"])
            setattr(LambdaFunction, "invoke", self._originals["invoke"])
            self._originals = {}
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        for prefix in list(self._finder.namespaces):
            for name in [n for n in sys.modules if n == prefix or n.startswith(prefix + ".")]:
                del sys.modules[name]
        self._finder.namespaces.clear()
        self._loaded.clear()

    # --- loading -----------------------------------------------------------------------------

    def _code_dir(self, fn: Any) -> Path:
        sha = hashlib.sha256(fn.code_bytes or b"").hexdigest()
        with self._lock:
            if sha not in self._code_dirs:
                target = self.workdir / "code" / sha[:16]
                if target.exists():
                    shutil.rmtree(target)
                target.mkdir(parents=True)
                with zipfile.ZipFile(io.BytesIO(fn.code_bytes or b"")) as archive:
                    archive.extractall(target)
                self._code_dirs[sha] = target
            return self._code_dirs[sha]

    def _load(self, fn: Any) -> _Loaded:
        """Import the function's handler in a namespace of its own (once per function and code)."""
        key = (fn.function_arn, hashlib.sha256(fn.code_bytes or b"").hexdigest())
        with self._lock:
            loaded = self._loaded.get(key)
            if loaded is not None:
                return loaded
            key_lock = self._load_locks.setdefault(key, threading.Lock())
        with key_lock:
            loaded = self._loaded.get(key)
            if loaded is not None:
                return loaded
            code_dir = self._code_dir(fn)
            with self._lock:
                prefix = f"_lambda_{next(self._counter)}"
            builtins_dict = dict(builtins.__dict__)
            builtins_dict["__import__"] = _private_import(prefix, _top_level_names(code_dir))
            package = types.ModuleType(prefix, f"code of {fn.function_name}")
            package.__path__ = [str(code_dir)]
            package.__package__ = prefix
            package.__spec__ = importlib.machinery.ModuleSpec(prefix, None, is_package=True)
            package.__spec__.submodule_search_locations = [str(code_dir)]
            with self._lock:
                sys.modules[prefix] = package
                self._finder.namespaces[prefix] = builtins_dict
                if self._finder not in sys.meta_path:
                    sys.meta_path.insert(0, self._finder)

            handler_setting = fn.handler or ""
            module_path, _, function_name = handler_setting.rpartition(".")
            if not module_path or not function_name:
                raise _RuntimeError("Runtime.MalformedHandlerName", f"Bad handler '{handler_setting}'")
            module_name = module_path.replace("/", ".")
            try:
                module = importlib.import_module(f"{prefix}.{module_name}")
            except Exception as error:  # noqa: BLE001 - reported as Lambda does
                raise _RuntimeError(
                    "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
                ) from error
            handler = getattr(module, function_name, None)
            if not callable(handler):
                raise _RuntimeError(
                    "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
                )
            loaded = self._loaded[key] = _Loaded(prefix, handler)
            return loaded

    def function_environment(self, fn: Any, code_dir: Optional[Path] = None) -> dict[str, str]:
        """What ``os.environ`` holds inside the function: Lambda's variables, the function's own, the endpoint."""
        variables = {
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(getattr(fn, "memory_size", 128)),
            "AWS_LAMBDA_LOG_GROUP_NAME": getattr(fn, "logs_group_name", f"/aws/lambda/{fn.function_name}"),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
            "_HANDLER": fn.handler or "",
            "LAMBDA_TASK_ROOT": str(code_dir or ""),
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }
        if self.aws_endpoint:
            # Every AWS call of the handler goes to the embedded AWS.
            variables["AWS_ENDPOINT_URL"] = self.aws_endpoint
        variables.update({k: str(v) for k, v in (fn.environment_vars or {}).items()})
        return variables

    # --- running -----------------------------------------------------------------------------

    def run(self, fn: Any, event: Any) -> Invocation:
        """Invoke ``fn`` synchronously with ``event``; never raises for a handler's failure."""
        request_id = str(uuid.uuid4())
        timeout = float(getattr(fn, "timeout", 3) or 3)
        started = time.monotonic()
        box: dict[str, Any] = {}

        output: list[str] = []
        _capture_output()

        def target() -> None:
            _capture.lines = output
            try:
                code_dir = self._code_dir(fn)
                with environ.function_environment(self.function_environment(fn, code_dir)):
                    loaded = self._load(fn)
                    context = LambdaContext(fn, request_id, started + timeout)
                    box["result"] = loaded.handler(event, context)
            except _RuntimeError as error:
                box["error"] = error_payload(error, error.error_type)
            except BaseException as error:  # noqa: BLE001 - any handler failure is a function error
                box["error"] = error_payload(error)

        worker = threading.Thread(target=target, name=f"lambda:{fn.function_name}:{request_id[:8]}", daemon=True)
        worker.start()
        worker.join(timeout)
        elapsed = (time.monotonic() - started) * 1000
        if worker.is_alive():
            payload: Any = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
            }
            result = Invocation(json.dumps(payload).encode(), "Unhandled", request_id, elapsed)
        elif "error" in box:
            box["error"]["requestId"] = request_id
            result = Invocation(json.dumps(box["error"]).encode(), "Unhandled", request_id, elapsed)
        else:
            try:
                result = Invocation(json.dumps(box.get("result")).encode(), None, request_id, elapsed)
            except (TypeError, ValueError) as error:
                payload = error_payload(error, "Runtime.MarshalError")
                payload["errorMessage"] = f"Unable to marshal response: {error}"
                result = Invocation(json.dumps(payload).encode(), "Unhandled", request_id, elapsed)
        self.stats.count(fn.function_name, result.failed)
        if self.metrics is not None:
            self.metrics.lambda_invocation(fn.function_name, result.failed)
        self._save_logs(fn, result, list(output))
        return result

    def _save_logs(self, fn: Any, result: Invocation, output: list[str]) -> None:
        """Write one invocation's output to the function's log group, framed as Lambda does."""
        try:
            from moto.logs.models import logs_backends

            backend = logs_backends[fn.function_arn.split(":")[4]][self.region]
        except Exception:  # noqa: BLE001 - no moto here (unit tests): nothing to write to
            return
        group = self.log_groups.get(fn.function_arn) or f"/aws/lambda/{fn.function_name}"
        request_id = result.request_id
        stream = f"{datetime.now(timezone.utc):%Y/%m/%d}/[$LATEST]{request_id.replace('-', '')}"
        lines = [f"START RequestId: {request_id} Version: $LATEST"]
        lines += [line for line in "".join(output).splitlines() if line.strip()]
        if result.failed:
            lines.append(result.payload.decode("utf-8", "replace"))
        lines.append(f"END RequestId: {request_id}")
        lines.append(
            f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms:.2f} ms\t"
            f"Memory Size: {getattr(fn, 'memory_size', 128)} MB"
        )
        now = int(time.time() * 1000)
        try:
            backend.ensure_log_group(group)
            backend.create_log_stream(group, stream)
            backend.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])
            self.stats.logged(fn.function_name, sum(len(line.encode("utf-8")) for line in lines))
        except Exception as error:  # noqa: BLE001 - logs are best effort, never fail an invocation
            print(f"[local] could not write logs of {fn.function_name}: {error!r}", file=sys.__stderr__)

    # --- asynchronous invocation -------------------------------------------------------------

    def invoke_async(self, fn: Any, event: Any) -> str:
        """Queue an ``Event`` invocation (retries and destinations as on AWS); returns its request id."""
        request_id = str(uuid.uuid4())
        if not self._stopping.is_set():
            self._pool.submit(self._run_async, fn, event, request_id, time.time())
        return request_id

    def _run_async(self, fn: Any, event: Any, request_id: str, queued_at: float) -> None:
        config = fn.event_invoke_config[0].config if getattr(fn, "event_invoke_config", None) else {}
        max_retries = int(config.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_SECONDS))
        destinations = config.get("DestinationConfig") or {}
        attempts = 0
        condition = "RetriesExhausted"
        while True:
            result = self.run(fn, event)
            attempts += 1
            if not result.failed:
                target = (destinations.get("OnSuccess") or {}).get("Destination")
                if target:
                    self._deliver(target, self._record(fn, event, result, attempts, "Success", request_id))
                return
            if attempts > max_retries:
                break
            delay = self.retry_delay_seconds * (2 ** (attempts - 1))
            if time.time() + delay - queued_at > max_age:
                condition = "EventAgeExceeded"
                break
            if self._stopping.wait(delay):
                return
        target = (destinations.get("OnFailure") or {}).get("Destination")
        if target:
            self._deliver(target, self._record(fn, event, result, attempts, condition, request_id))
        elif fn.function_arn in self.dead_letter_targets:
            self._dead_letter(self.dead_letter_targets[fn.function_arn], event, result, request_id)
        else:
            print(
                f"[local] {fn.function_name}: asynchronous invocation {request_id} failed {attempts} times"
                " and has no failure destination; the event is dropped (as on AWS)",
                file=sys.stderr,
            )

    @staticmethod
    def _record(fn: Any, event: Any, result: Invocation, attempts: int, condition: str, request_id: str) -> dict:
        """Lambda's invocation record, as sent to destinations."""
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if result.failed:
            response_context["functionError"] = result.function_error
        try:
            response_payload = result.json()
        except ValueError:
            response_payload = result.payload.decode("utf-8", "replace")
        return {
            "version": "1.0",
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": request_id,
                "functionArn": f"{fn.function_arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": response_context,
            "responsePayload": response_payload,
        }

    def client(self, service: str) -> Any:
        """A boto3 client for the embedded AWS (for deliveries made by the platform, not a function)."""
        import boto3

        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(
                    service,
                    region_name=self.region,
                    endpoint_url=self.aws_endpoint,
                    aws_access_key_id=self.access_key,
                    aws_secret_access_key=self.secret_key,
                )
            return self._clients[service]

    def _deliver(self, target_arn: str, record: Mapping[str, Any]) -> None:
        """Send an invocation record to a destination (SQS queue, SNS topic, Lambda function, event bus)."""
        service = target_arn.split(":")[2]
        body = json.dumps(record)
        try:
            if service == "sqs":
                sqs = self.client("sqs")
                sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=target_arn.split(":")[5])["QueueUrl"], MessageBody=body)
            elif service == "sns":
                self.client("sns").publish(TopicArn=target_arn, Message=body)
            elif service == "lambda":
                self.client("lambda").invoke(FunctionName=target_arn, InvocationType="Event", Payload=body)
            elif service == "events":
                self.client("events").put_events(
                    Entries=[{
                        "Source": "lambda",
                        "DetailType": "Lambda Function Invocation Result - "
                        + ("Success" if record["requestContext"]["condition"] == "Success" else "Failure"),
                        "Detail": body,
                        "EventBusName": target_arn,
                    }]
                )
            else:
                raise ValueError(f"unsupported destination {target_arn}")
        except Exception as error:  # noqa: BLE001 - a lost record is reported, never silent
            print(f"[local] could not deliver to destination {target_arn}: {error!r}", file=sys.stderr)

    def _dead_letter(self, target_arn: str, event: Any, result: Invocation, request_id: str) -> None:
        """The function's DeadLetterConfig: the event itself, with the error in message attributes."""
        try:
            error = result.json()
        except ValueError:
            error = {}
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": str(error.get("errorMessage", ""))[:256] or "-"},
        }
        try:
            if ":sqs:" in target_arn:
                sqs = self.client("sqs")
                url = sqs.get_queue_url(QueueName=target_arn.split(":")[5])["QueueUrl"]
                sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event), MessageAttributes=attributes)
            else:
                self.client("sns").publish(TopicArn=target_arn, Message=json.dumps(event), MessageAttributes=attributes)
        except Exception as error:  # noqa: BLE001
            print(f"[local] could not dead-letter to {target_arn}: {error!r}", file=sys.stderr)


class _RuntimeError(Exception):
    """A failure of the Lambda runtime itself (import error, missing handler), with Lambda's error type."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
