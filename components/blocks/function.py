"""``HandlerFunction``: a Lambda built from one module of ``handlers/`` (or of a folder of the user's).

The archive holds that module and only the modules it imports, found from its imports
(:mod:`sfn_patterns.blocks.imports`): the shared helpers of ``handlers/common`` it uses and the
contracts of ``sfn_patterns.contracts`` (no ``__pycache__``, no other handler, no unused helper),
each without its docstrings and comments but on the same lines (:mod:`sfn_patterns.blocks.stripped`),
which halves the archives (``docs/benchmark.md`` lists their sizes). The function runs on arm64 with the newest Python runtime
pulumi-aws accepts, traces with X-Ray, logs JSON to its own log group with retention, and its
role holds exactly the statements it is given plus log and trace writing.
"""

import importlib.util
from pathlib import Path
from typing import Any, Mapping, Optional, Required, Sequence, TypedDict, cast

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks import alarms, iam, policy
from sfn_patterns.blocks.alarms import AlarmSettings
from sfn_patterns.blocks.args import check_args
from sfn_patterns.blocks.imports import Source, import_closure
from sfn_patterns.blocks.stripped import stripped_source
from sfn_patterns.blocks.messaging import dead_letter_queue


def _package_data_dir(package: str) -> Path:
    """The folder of a data-only subpackage, wherever it is installed (a wheel, or an editable install's mapping)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{package} is not installed; install sfn-patterns (pip install sfn-patterns)")
    return Path(next(iter(spec.submodule_search_locations)))


#: Folder of the patterns' Lambda sources (``handlers/`` in the repository, shipped as ``sfn_patterns.lambdas``);
#: components only read files from it, never import it.
HANDLERS_DIR = _package_data_dir("sfn_patterns.lambdas")
#: Folder of the installed ``sfn_patterns`` package (the contracts a handler imports travel in its archive).
PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: The newest Python runtime pulumi-aws 7 accepts.
RUNTIME = "python3.14"
ARCHITECTURE = "arm64"


#: Memory of a handler Lambda unless told otherwise. Measured: a handler with boto3 and its clients
#: peaks at 34-49 MB RSS (``python -m bench`` reports it), well inside 128 MB with the runtime's own;
#: and a warm invocation waits on one to three AWS calls, not on CPU. 128 MB halves the GB-seconds.
DEFAULT_MEMORY_MB = 128


class HandlerFunctionArgs(TypedDict, total=False):
    """Arguments of :class:`HandlerFunction`."""

    handler: Required[str]
    """Module name in ``handlers_dir`` (``enrich`` for ``<handlers_dir>/enrich.py``); its ``handler`` function is the entry point.
    A plain value, not an Output: the archive is built from that file when the component is constructed."""
    handlers_dir: Required[str]
    """Folder holding the handler module (absolute, or relative to the program's working directory, which
    is the Pulumi project's folder); the patterns pass their own (:data:`HANDLERS_DIR`). A plain value,
    not an Output: the archive is built from its files when the component is constructed."""
    statements: Sequence[iam.Statement]
    """IAM statements the function needs (see ``sfn_patterns.blocks.iam`` grants). Default: none."""
    environment: Mapping[str, pulumi.Input[str]]
    """Environment variables of the function. Default: none."""
    timeout: pulumi.Input[int]
    """Seconds before an invocation is stopped. Default 10."""
    memory_size: pulumi.Input[int]
    """Memory in MB. Default :data:`DEFAULT_MEMORY_MB` (128); HTTP API handlers (``http_api.api_function``) 256."""
    log_retention_days: pulumi.Input[int]
    """Days the function's log group keeps logs. Default 14."""
    async_invocation: bool
    """True when the function is invoked asynchronously (SNS, EventBridge, ``Event`` invokes):
    adds a retry policy (2 retries, 1 hour max age) and an encrypted dead-letter queue for
    events that still fail. Default False. A plain value, not an Output: it decides which resources
    the component declares."""
    alarms: AlarmSettings
    """Its alarms (errors, throttles; and its dead-letter queue's depth). Default: the parent component's settings."""


class HandlerFunction(pulumi.ComponentResource):
    """A Lambda function built from one handler module, with its role, log group and alarms (errors, throttles).

    A Python program also reaches the child resources: ``function``, ``role``, ``log_group``,
    ``dead_letter_queue`` (None unless ``async_invocation``) and ``alarms``.
    """

    # Only outputs are annotated here: the component schema is inferred from these annotations.
    arn: pulumi.Output[str]
    """ARN of the Lambda function."""
    name: pulumi.Output[str]
    """Name of the Lambda function."""

    def __init__(
        self, name: str, args: HandlerFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        check_args(f"HandlerFunction {name!r}", args, HandlerFunctionArgs)
        super().__init__("sfn-patterns:index:HandlerFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarm_settings = alarms.settings_for(self, args.get("alarms"), opts)
        module = args["handler"]
        code = handler_archive(module, user_dir(args["handlers_dir"]))

        self.log_group: aws.cloudwatch.LogGroup = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=args.get("log_retention_days", 14), opts=child
        )
        policy.suppress_all(self.log_group, policy.LOG_GROUP_EXCEPTIONS)
        self.role: aws.iam.Role = aws.iam.Role(
            f"{name}-role", opts=child,
            # AWS's guidance for Lambda execution roles: aws:SourceAccount (Lambda sets no SourceArn).
            assume_role_policy=iam.assume_role_policy("lambda.amazonaws.com", self.log_group.arn),
        )
        statements = list(args.get("statements", []))
        statements += iam.grant_log_write(self.log_group.arn) + iam.grant_xray_write()

        self.dead_letter_queue: Optional[aws.sqs.Queue] = None
        if args.get("async_invocation"):
            self.dead_letter_queue = dead_letter_queue(f"{name}-dlq", opts=child)
            statements += iam.grant_send_message(self.dead_letter_queue.arn)

        role_policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=iam.policy_json(statements), opts=child
        )

        environment = dict(args.get("environment", {}))
        self.function: aws.lambda_.Function = aws.lambda_.Function(
            name,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=f"{module}.handler",
            code=code,
            role=self.role.arn,
            timeout=args.get("timeout", 10),
            memory_size=args.get("memory_size", DEFAULT_MEMORY_MB),
            environment={"variables": environment} if environment else None,
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "JSON", "log_group": self.log_group.name},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        policy.suppress_all(self.function, policy.FUNCTION_EXCEPTIONS)
        policy.suppress_all(
            self.function, policy.ASYNC_FUNCTION_EXCEPTIONS if self.dead_letter_queue else policy.SYNC_FUNCTION_EXCEPTIONS
        )
        if environment:
            policy.suppress_all(self.function, policy.ENVIRONMENT_EXCEPTIONS)

        if self.dead_letter_queue is not None:
            aws.lambda_.FunctionEventInvokeConfig(
                f"{name}-async",
                function_name=self.function.name,
                maximum_retry_attempts=2,
                maximum_event_age_in_seconds=3600,
                destination_config={"on_failure": {"destination": self.dead_letter_queue.arn}},
                opts=child,
            )

        self.alarms: list[aws.cloudwatch.MetricAlarm] = alarms.function_alarms(name, self.function, alarm_settings, child)
        self.arn = self.function.arn
        self.name = self.function.name
        self.register_outputs({"arn": self.arn, "name": self.name})


class HandlerSettings(TypedDict, total=False):
    """Settings of the Lambda built for one handler module that a workflow names (keyed by module)."""

    environment: Mapping[str, pulumi.Input[str]]
    """Environment variables of that handler's Lambda."""
    statements: Sequence[iam.Statement]
    """IAM statements that handler's Lambda needs."""
    timeout: pulumi.Input[int]
    """Seconds; default 10."""
    memory_size: pulumi.Input[int]
    """MB; default :data:`DEFAULT_MEMORY_MB`."""


def handler_placeholder(module: str) -> str:
    """The ``${...}`` placeholder a definition uses for the ARN of ``module``'s Lambda."""
    return "${" + f"Handler_{module}" + "}"


class StepArgs(HandlerSettings, total=False):
    """One Lambda step of a pattern: give ``handler`` (a module of the component's ``handlers_dir``, whose
    Lambda the component builds with the settings of this mapping) or ``function_arn`` (an existing Lambda,
    which the state machine's role may then invoke, and nothing else)."""

    handler: str
    """Module name in the component's ``handlers_dir`` (``enrich`` for ``<handlers_dir>/enrich.py``); its
    ``handler`` function is the entry point."""
    function_arn: pulumi.Input[str]
    """ARN of an existing Lambda function to run instead of a handler module (the settings do not apply to it)."""


def user_dir(path: str) -> Path:
    """A folder of the user's (handlers, workflows): absolute, or relative to the program's working directory."""
    return Path(path).expanduser().resolve()


def check_module(module: object, handlers_dir: Optional[str], where: str) -> Path:
    """The folder of handler ``module``, once it is an identifier naming a file of ``handlers_dir``; else ``ValueError``."""
    if not isinstance(module, str) or not module.isidentifier():
        raise ValueError(f"{where}: a handler must be a Python module name, got {module!r}")
    if not handlers_dir:
        raise ValueError(f"{where}: handler {module!r} needs handlers_dir, the folder of your handler modules")
    folder = user_dir(handlers_dir)
    if not (folder / f"{module}.py").is_file():
        raise ValueError(f"{where}: no handler module {module}.py in handlers_dir {folder}")
    return folder


def handler_functions(
    name: str,
    modules: Sequence[str],
    settings: Mapping[str, HandlerSettings],
    log_retention_days: pulumi.Input[int],
    opts: pulumi.ResourceOptions,
    handlers_dir: Optional[str],
) -> dict[str, HandlerFunction]:
    """One :class:`HandlerFunction` per handler module of ``handlers_dir`` a workflow runs, named ``<name>-<module>``."""
    unused = sorted(set(settings) - set(modules))
    if unused:
        raise ValueError(f"{name!r}: settings for handler(s) {unused} that no state runs (handlers: {list(modules)})")
    return {
        module: _handler_function(f"{name}-{module.replace('_', '-')}", module, settings.get(module, {}),
                                  handlers_dir, log_retention_days, opts, f"{name!r}")
        for module in modules
    }


def _handler_function(
    name: str,
    module: str,
    settings: HandlerSettings,
    handlers_dir: Optional[str],
    log_retention_days: pulumi.Input[int],
    opts: pulumi.ResourceOptions,
    where: str,
    default_timeout: int = 10,
    extra: Optional[HandlerFunctionArgs] = None,
) -> HandlerFunction:
    folder = check_module(module, handlers_dir, where)
    extra = extra if extra is not None else cast(HandlerFunctionArgs, {})
    args: HandlerFunctionArgs = {
        **extra,
        "handler": module,
        "handlers_dir": str(folder),
        "environment": {**settings.get("environment", {}), **extra.get("environment", {})},
        "statements": [*settings.get("statements", []), *extra.get("statements", [])],
        "timeout": settings.get("timeout", default_timeout),
        "memory_size": settings.get("memory_size", DEFAULT_MEMORY_MB),
        "log_retention_days": log_retention_days,
    }
    return HandlerFunction(name, args, opts=opts)


def check_step(step: StepArgs, handlers_dir: Optional[str], where: str) -> str:
    """Which kind of step ``step`` is (``"handler"`` or ``"function_arn"``), once it is a valid one; else ``ValueError``.

    Components check their steps before they create any resource, so a bad step stops the program at once.
    """
    if not isinstance(step, Mapping):
        raise ValueError(f"{where}: a step is a mapping with handler or function_arn, got {step!r}")
    given = [key for key in ("handler", "function_arn") if step.get(key) is not None]
    if len(given) != 1:
        raise ValueError(f"{where}: give exactly one of handler, function_arn; got {given or 'neither'}")
    if given[0] == "function_arn":
        settings = sorted(set(step) - {"function_arn"})
        if settings:
            raise ValueError(f"{where}: {settings} apply to a handler step only, not to an existing function_arn")
    else:
        check_module(step["handler"], handlers_dir, where)
    return given[0]


def step_function(
    name: str,
    step: StepArgs,
    handlers_dir: Optional[str],
    log_retention_days: pulumi.Input[int],
    opts: pulumi.ResourceOptions,
    where: str,
    default_timeout: int = 10,
    extra: Optional[HandlerFunctionArgs] = None,
) -> tuple[Optional[HandlerFunction], pulumi.Input[str]]:
    """The Lambda of one :class:`StepArgs` and the ARN its Task invokes.

    A ``handler`` step gets a :class:`HandlerFunction` named ``name`` (from ``handlers_dir``, with the
    step's settings; ``extra`` adds the component's own environment, statements or async settings);
    a ``function_arn`` step gets none (``(None, arn)``). ``where`` names the step in errors
    (``"CallbackWorkflow 'orders': before[0]"``).
    """
    if check_step(step, handlers_dir, where) == "function_arn":
        return None, step["function_arn"]
    function = _handler_function(
        name, step["handler"], step, handlers_dir, log_retention_days, opts, where, default_timeout, extra
    )
    return function, function.arn


def pattern_function(name: str, args: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None) -> HandlerFunction:
    """A :class:`HandlerFunction` of one of the patterns' own handlers (:data:`HANDLERS_DIR`, shipped in the package)."""
    return HandlerFunction(name, cast(HandlerFunctionArgs, {**args, "handlers_dir": str(HANDLERS_DIR)}), opts=opts)


def handler_substitutions(functions: Mapping[str, HandlerFunction]) -> dict[str, pulumi.Output[str]]:
    """The values of the :func:`handler_placeholder` placeholders: each function's ARN."""
    return {handler_placeholder(m)[2:-1]: fn.arn for m, fn in functions.items()}


def archive_sources(handlers_dir: Path) -> list[Source]:
    """Where a handler's imports are looked up, in order: its own folder, the library's handlers
    (for ``common``) and the installed ``sfn_patterns`` package (for the contracts)."""
    folders = [Source(handlers_dir), Source(HANDLERS_DIR), Source(PACKAGE_DIR, "sfn_patterns")]
    return list(dict.fromkeys(folders))


#: The archive name of the package's own ``__init__.py``, and the text an archive carries there instead.
#: The package's init is the lazy (PEP 562) table of the Pulumi components it exports; a Lambda imports
#: ``sfn_patterns`` only as the parent of ``sfn_patterns.contracts`` (standard library only), and none
#: of those components could load there (the archive holds no Pulumi). An empty init is the same
#: package for every import a handler can make, without those bytes.
PACKAGE_INIT = "sfn_patterns/__init__.py"
PACKAGE_INIT_IN_ARCHIVES = ""


def archive_files(module: str, handlers_dir: Path = HANDLERS_DIR) -> dict[str, tuple[Path, str]]:
    """Archive name -> (source file, text carried) of one handler's archive (see :func:`handler_archive`)."""
    if not (handlers_dir / f"{module}.py").is_file():
        raise FileNotFoundError(f"no handler module {handlers_dir / f'{module}.py'}")
    files = import_closure(module, archive_sources(handlers_dir))
    return {
        name: (path, PACKAGE_INIT_IN_ARCHIVES if name == PACKAGE_INIT else stripped_source(path.read_text(encoding="utf-8")))
        for name, path in files.items()
    }


def handler_archive(module: str, handlers_dir: Path = HANDLERS_DIR) -> pulumi.AssetArchive:
    """The deployment archive of one handler: ``<module>.py`` (from ``handlers_dir``) and exactly the
    modules it imports, recursively (:func:`sfn_patterns.blocks.imports.import_closure`), nothing listed by hand.

    Each file is carried as :func:`sfn_patterns.blocks.stripped.stripped_source` of it (no docstrings or
    comments, every line where it was), the package init as :data:`PACKAGE_INIT_IN_ARCHIVES`. The
    local stack zips these same texts (``local.cloud.zip_archive``), and the benchmark measures that zip.
    """
    return pulumi.AssetArchive(
        {name: pulumi.StringAsset(text) for name, (_, text) in archive_files(module, handlers_dir).items()}
    )
