"""The local stack's in-process Lambda runtime and per-thread environment (no moto needed)."""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from local import environ
from local.lambdas import LambdaRuntime

COUNTER = "count = 0\n\ndef bump():\n    global count\n    count += 1\n    return count\n"


def package(files: dict[str, str]) -> bytes:
    """A deployment package (zip) holding ``files``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, text in files.items():
            bundle.writestr(name, text)
    return buffer.getvalue()


def function(name: str, files: dict[str, str], handler: str = "app.handler", env: dict[str, str] | None = None,
             timeout: float = 3, invoke_config: dict[str, Any] | None = None) -> Any:
    """A stand-in for moto's LambdaFunction with the attributes the runtime reads."""
    return SimpleNamespace(
        function_name=name,
        function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        handler=handler,
        code_bytes=package(files),
        environment_vars=env or {},
        timeout=timeout,
        memory_size=128,
        run_time="python3.14",
        version="$LATEST",
        logs_group_name=f"/aws/lambda/{name}",
        event_invoke_config=[SimpleNamespace(config=invoke_config)] if invoke_config else [],
    )


class CapturingRuntime(LambdaRuntime):
    """A runtime whose destinations are recorded instead of sent to AWS."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, "", "us-east-1", retry_delay_seconds=0.01)
        self.delivered: list[tuple[str, dict[str, Any]]] = []
        self.done = threading.Event()

    def _deliver(self, target_arn: str, record: Any) -> None:
        self.delivered.append((target_arn, record))
        self.done.set()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[CapturingRuntime]:
    environ.install()
    rt = CapturingRuntime(tmp_path)
    try:
        yield rt
    finally:
        rt.stop()
        environ.uninstall()


def test_the_handler_named_by_the_setting_runs_with_the_function_environment(runtime: CapturingRuntime) -> None:
    code = {
        "pkg/__init__.py": "",
        "pkg/entry.py": "import os\nfrom common import helper\n\ndef main(event, context):\n"
        "    return {'greeting': helper.greet(event['who']), 'env': os.environ.get('GREETING'),"
        " 'name': context.function_name, 'region': os.environ['AWS_REGION']}\n",
        "common/__init__.py": "",
        "common/helper.py": "import os\n\ndef greet(who):\n    return os.environ['GREETING'] + ', ' + who\n",
    }
    fn = function("greeter", code, handler="pkg/entry.main", env={"GREETING": "hello"})
    result = runtime.run(fn, {"who": "mom"})
    assert not result.failed, result.payload
    assert result.json() == {"greeting": "hello, mom", "env": "hello", "name": "greeter", "region": "us-east-1"}
    assert os.environ.get("GREETING") is None  # the process environment is untouched


def test_functions_shipping_the_same_module_do_not_share_its_state(runtime: CapturingRuntime) -> None:
    code = {"app.py": "from common import counter\n\ndef handler(event, context):\n    return counter.bump()\n",
            "common/__init__.py": "", "common/counter.py": COUNTER}
    first, second = function("first", code), function("second", code)
    assert [runtime.run(first, {}).json() for _ in range(3)] == [1, 2, 3]
    assert runtime.run(second, {}).json() == 1  # its own `common`, not first's
    assert runtime.run(first, {}).json() == 4


def test_concurrent_functions_see_only_their_own_environment(runtime: CapturingRuntime) -> None:
    code = {"app.py": "import os, time\n\ndef handler(event, context):\n    seen = []\n"
            "    for _ in range(20):\n        seen.append(os.environ['WHO'])\n        time.sleep(0.005)\n    return seen\n"}
    fns = [function(f"fn{i}", code, env={"WHO": f"fn{i}"}) for i in range(4)]
    results: dict[str, Any] = {}
    threads = [threading.Thread(target=lambda f=f: results.update({f.function_name: runtime.run(f, {}).json()}))
               for f in fns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {f"fn{i}": [f"fn{i}"] * 20 for i in range(4)}


def test_a_handler_exception_is_lambdas_unhandled_error(runtime: CapturingRuntime) -> None:
    code = {"app.py": "class InvalidPayload(Exception):\n    pass\n\ndef handler(event, context):\n"
            "    raise InvalidPayload('payload must be a string')\n"}
    result = runtime.run(function("failing", code), {})
    assert result.function_error == "Unhandled"
    error = result.json()
    assert error["errorType"] == "InvalidPayload"
    assert error["errorMessage"] == "payload must be a string"
    assert error["stackTrace"] and all("local/lambdas.py" not in line for line in error["stackTrace"])
    assert "app.py" in error["stackTrace"][-1]


@pytest.mark.parametrize(
    "files, handler, error_type",
    [
        ({"app.py": "import no_such_module\n"}, "app.handler", "Runtime.ImportModuleError"),
        ({"app.py": "x = 1\n"}, "app.handler", "Runtime.HandlerNotFound"),
        ({"app.py": "def handler(e, c):\n    return {1, 2}\n"}, "app.handler", "Runtime.MarshalError"),
        ({"app.py": ""}, "nohandler", "Runtime.MalformedHandlerName"),
    ],
)
def test_runtime_failures_have_lambdas_error_types(runtime: CapturingRuntime, files: dict, handler: str, error_type: str) -> None:
    result = runtime.run(function("broken", files, handler=handler), {})
    assert result.failed and result.json()["errorType"] == error_type


def test_a_handler_outliving_its_timeout_is_cut_off(runtime: CapturingRuntime) -> None:
    code = {"app.py": "import time\n\ndef handler(event, context):\n    time.sleep(2)\n    return 'late'\n"}
    started = time.monotonic()
    result = runtime.run(function("slow", code, timeout=0.3), {})
    assert time.monotonic() - started < 1.5
    assert result.failed and result.json()["errorType"] == "Sandbox.Timedout"


def test_async_invocation_retries_then_sends_the_record_to_the_failure_destination(runtime: CapturingRuntime) -> None:
    code = {"app.py": "from common import counter\n\ndef handler(event, context):\n"
            "    raise RuntimeError(f'attempt {counter.bump()}')\n", "common/__init__.py": "", "common/counter.py": COUNTER}
    dlq = "arn:aws:sqs:us-east-1:123456789012:dlq"
    fn = function("async-failing", code, invoke_config={"MaximumRetryAttempts": 2,
                                                        "DestinationConfig": {"OnFailure": {"Destination": dlq}}})
    runtime.invoke_async(fn, {"order": 7})
    assert runtime.done.wait(5)
    (target, record), = runtime.delivered
    assert target == dlq
    assert record["requestPayload"] == {"order": 7}
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "attempt 3"
    assert runtime.stats.snapshot()["invocations"]["async-failing"] == 3


def test_async_invocation_that_recovers_reaches_the_success_destination_only(runtime: CapturingRuntime) -> None:
    code = {"app.py": "from common import counter\n\ndef handler(event, context):\n"
            "    if counter.bump() < 2:\n        raise RuntimeError('transient')\n    return {'ok': True}\n",
            "common/__init__.py": "", "common/counter.py": COUNTER}
    fn = function("async-flaky", code, invoke_config={
        "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:123456789012:ok"},
                              "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:dlq"}}})
    runtime.invoke_async(fn, {"n": 1})
    assert runtime.done.wait(5)
    (target, record), = runtime.delivered
    assert target.endswith(":ok")
    assert record["requestContext"]["condition"] == "Success" and record["responsePayload"] == {"ok": True}
    assert record["requestContext"]["approximateInvokeCount"] == 2


def test_environment_views_nest_and_stay_per_thread() -> None:
    environ.install()
    try:
        os.environ["LOCAL_TEST_OUTER"] = "process"
        with environ.function_environment({"A": "1"}):
            assert os.environ.get("A") == "1" and "LOCAL_TEST_OUTER" not in os.environ
            with environ.function_environment({"A": "2"}):
                assert os.getenv("A") == "2"
                os.environ["WRITTEN"] = "inner"
            assert os.environ["A"] == "1" and "WRITTEN" not in os.environ
            seen = {}
            thread = threading.Thread(target=lambda: seen.update(a=os.environ.get("A"),
                                                                 outer=os.environ.get("LOCAL_TEST_OUTER")))
            thread.start()
            thread.join()
            assert seen == {"a": "1", "outer": None}  # a thread started here inherits the view
        assert os.environ["LOCAL_TEST_OUTER"] == "process" and "A" not in os.environ
    finally:
        os.environ.pop("LOCAL_TEST_OUTER", None)
        environ.uninstall()
    assert not isinstance(os.environ, environ.ThreadEnviron)
    json.dumps(dict(os.environ))  # the real environment is back


def test_threads_a_handler_starts_share_its_environment(runtime: CapturingRuntime) -> None:
    code = {"app.py": "import os, threading\n\ndef handler(event, context):\n    seen = []\n"
            "    workers = [threading.Thread(target=lambda: seen.append(os.environ.get('WHO'))) for _ in range(2)]\n"
            "    [w.start() for w in workers]\n    [w.join() for w in workers]\n    return seen\n"}
    assert runtime.run(function("threaded", code, env={"WHO": "threaded"}), {}).json() == ["threaded", "threaded"]
    outside: list = []
    thread = threading.Thread(target=lambda: outside.append(os.environ.get("WHO")))
    thread.start()
    thread.join()
    assert outside == [None]
