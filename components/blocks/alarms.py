"""Alarms for every state machine, Lambda, dead-letter queue and HTTP API, to one alarm topic per stack.

The building blocks call this module, so whatever a component builds with them is alarmed without
the component doing anything: :class:`~sfn_patterns.blocks.state_machine.StateMachine` (executions
failed, timed out, aborted, throttled), :class:`~sfn_patterns.blocks.function.HandlerFunction`
(errors, throttles), :func:`~sfn_patterns.blocks.messaging.dead_letter_queue` (any message waiting)
and :class:`~sfn_patterns.blocks.http_api.HttpApi` (5xx answers).

Settings (:class:`AlarmSettings`: on/off, topic, period, thresholds) come from the component's
``alarms`` arg and are inherited down the resource tree: a building block inside a component uses
the component's settings, overridden by its own ``alarms`` arg if it has one
(:func:`settings_for`). Every alarm notifies the stack's alarm topic (:func:`stack_alarm_topic`,
created once per stack on first use, encrypted with its own KMS key that CloudWatch may use) unless
the settings name another ``topic_arn``. :func:`subscribe_stack_alarms` adds an e-mail or HTTPS
subscriber to it (the demo stack reads them from config).

What each building block alarms is also recorded for the stack's dashboard
(:class:`~sfn_patterns.blocks.dashboard.StackDashboard`): :func:`monitored_resources`.
"""

import weakref
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks.messaging import alarm_topic

#: Seconds over which each alarm sums (or takes the maximum of) its metric. Five minutes: a failure
#: is heard within minutes, and an alarm returns to OK five minutes after the last one.
DEFAULT_PERIOD_SECONDS = 300
#: The periods CloudWatch accepts for an alarm: 10, 30 (high resolution) or a multiple of 60.
_VALID_SHORT_PERIODS = (10, 30)
#: Stage of every HTTP API of the library (the ``$default`` stage; the ``Stage`` dimension's value).
DEFAULT_STAGE = "$default"
#: Logical name of the stack's alarm topic component.
STACK_TOPIC_NAME = "stack-alarms"


class AlarmSettings(TypedDict, total=False):
    """The alarms of a component (its ``alarms`` arg). Each field defaults as documented.

    A threshold is the count within one period at which the alarm fires (``>=``), except
    ``dead_letter_messages_threshold``: the alarm fires when MORE messages than it wait.
    """

    enabled: bool
    """Create the alarms. Default True."""
    topic_arn: pulumi.Input[str]
    """SNS topic every alarm notifies (on ALARM and on return to OK). Default: the stack's alarm topic (:func:`stack_alarm_topic`)."""
    period_seconds: int
    """Seconds each alarm evaluates (10, 30 or a multiple of 60). Default 300."""
    evaluation_periods: int
    """Periods the condition must hold before the alarm fires. Default 1."""
    executions_failed_threshold: float
    """State machines: failed executions (``AWS/States`` ``ExecutionsFailed``) per period. Default 1."""
    executions_timed_out_threshold: float
    """State machines: timed-out executions (``ExecutionsTimedOut``) per period. Default 1."""
    executions_aborted_threshold: float
    """State machines: aborted executions (``ExecutionsAborted``) per period. Default 1."""
    executions_throttled_threshold: float
    """State machines: throttled execution starts (``ExecutionThrottled``) per period. Default 1."""
    lambda_errors_threshold: float
    """Lambdas: invocations that failed (``AWS/Lambda`` ``Errors``) per period. Default 1."""
    lambda_throttles_threshold: float
    """Lambdas: throttled invocations (``Throttles``) per period. Default 1."""
    api_5xx_threshold: float
    """HTTP APIs: 5xx answers (``AWS/ApiGateway`` ``5xx``) per period. Default 1."""
    dead_letter_messages_threshold: float
    """Dead-letter queues: the alarm fires when more messages than this wait (``AWS/SQS``
    ``ApproximateNumberOfMessagesVisible``, maximum over the period). Default 0: any dead letter."""


DEFAULT_SETTINGS: dict[str, Any] = {
    "enabled": True,
    "period_seconds": DEFAULT_PERIOD_SECONDS,
    "evaluation_periods": 1,
    "executions_failed_threshold": 1,
    "executions_timed_out_threshold": 1,
    "executions_aborted_threshold": 1,
    "executions_throttled_threshold": 1,
    "lambda_errors_threshold": 1,
    "lambda_throttles_threshold": 1,
    "api_5xx_threshold": 1,
    "dead_letter_messages_threshold": 0,
}


@dataclass(frozen=True)
class AlarmSpec:
    """One kind of alarm: the metric it watches, how, and the settings field holding its threshold."""

    slug: str
    """Suffix of the alarm's logical name (``executions-failed``)."""
    namespace: str
    metric: str
    statistic: str
    threshold_setting: str
    comparison: str
    description: str
    """What the alarm says happened (``executions failed``)."""
    treat_missing_data: str = "notBreaching"


_AT_LEAST = "GreaterThanOrEqualToThreshold"

#: The alarms of every state machine (dimension ``StateMachineArn``).
STATE_MACHINE_ALARMS = (
    AlarmSpec("executions-failed", "AWS/States", "ExecutionsFailed", "Sum", "executions_failed_threshold", _AT_LEAST, "executions failed"),
    AlarmSpec("executions-timed-out", "AWS/States", "ExecutionsTimedOut", "Sum", "executions_timed_out_threshold", _AT_LEAST, "executions timed out"),
    AlarmSpec("executions-aborted", "AWS/States", "ExecutionsAborted", "Sum", "executions_aborted_threshold", _AT_LEAST, "executions aborted"),
    AlarmSpec("executions-throttled", "AWS/States", "ExecutionThrottled", "Sum", "executions_throttled_threshold", _AT_LEAST, "execution starts throttled"),
)
#: The alarms of every Lambda (dimension ``FunctionName``).
FUNCTION_ALARMS = (
    AlarmSpec("errors", "AWS/Lambda", "Errors", "Sum", "lambda_errors_threshold", _AT_LEAST, "invocations failed"),
    AlarmSpec("throttles", "AWS/Lambda", "Throttles", "Sum", "lambda_throttles_threshold", _AT_LEAST, "invocations throttled"),
)
#: The alarm of every dead-letter queue (dimension ``QueueName``). SQS stops reporting a queue idle
#: for six hours even while messages wait in it: the alarm then keeps its state (``ignore``).
DEAD_LETTER_ALARMS = (
    AlarmSpec("messages", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "dead_letter_messages_threshold",
              "GreaterThanThreshold", "dead letters waiting", treat_missing_data="ignore"),
)
#: The alarm of every HTTP API (dimensions ``ApiId`` and ``Stage``; HTTP APIs name the metric ``5xx``).
API_ALARMS = (
    AlarmSpec("5xx", "AWS/ApiGateway", "5xx", "Sum", "api_5xx_threshold", _AT_LEAST, "answers were 5xx"),
)


# --- The per-stack record: the alarm topic, its subscribers, what the dashboard shows ------------------


@dataclass
class MonitoredResources:
    """What the building blocks of one stack alarmed, by kind, for the stack's dashboard."""

    state_machines: list[tuple[str, pulumi.Output[str]]] = field(default_factory=list)
    """(logical name, state machine ARN)."""
    dead_letter_queues: list[tuple[str, pulumi.Output[str]]] = field(default_factory=list)
    """(logical name, queue name)."""
    apis: list[tuple[str, pulumi.Output[str]]] = field(default_factory=list)
    """(logical name, API id)."""
    functions: list[tuple[str, pulumi.Output[str]]] = field(default_factory=list)
    """(logical name, function name)."""


@dataclass
class _StackRecord:
    topic: Optional["AlarmTopic"] = None
    subscriptions: list[tuple[str, str]] = field(default_factory=list)
    monitored: MonitoredResources = field(default_factory=MonitoredResources)


class _NoRoot:
    """Stands for the root stack resource when there is none (a component provider's Construct)."""


_NO_ROOT = _NoRoot()
_stacks: "weakref.WeakKeyDictionary[Any, _StackRecord]" = weakref.WeakKeyDictionary()
_settings: "weakref.WeakKeyDictionary[pulumi.Resource, dict[str, Any]]" = weakref.WeakKeyDictionary()


def _record() -> _StackRecord:
    root = pulumi.runtime.settings.get_root_resource() or _NO_ROOT
    record = _stacks.get(root)
    if record is None:
        record = _stacks[root] = _StackRecord()
    return record


def monitored_resources() -> MonitoredResources:
    """What the building blocks of the running stack have alarmed so far (the dashboard's content)."""
    return _record().monitored


# --- Settings ------------------------------------------------------------------------------------------


def check_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` when valid (known fields, a period CloudWatch accepts, numbers); else ``ValueError``."""
    unknown = sorted(set(settings) - set(DEFAULT_SETTINGS) - {"topic_arn"})
    if unknown:
        raise ValueError(f"alarms: unknown setting(s) {unknown}; known: {sorted(set(DEFAULT_SETTINGS) | {'topic_arn'})}")
    period = settings.get("period_seconds")
    if period is not None and (
        isinstance(period, bool) or not isinstance(period, int) or not (period in _VALID_SHORT_PERIODS or (period > 0 and period % 60 == 0))
    ):
        raise ValueError(f"alarms: period_seconds must be 10, 30 or a multiple of 60, got {period!r}")
    periods = settings.get("evaluation_periods")
    if periods is not None and (isinstance(periods, bool) or not isinstance(periods, int) or periods < 1):
        raise ValueError(f"alarms: evaluation_periods must be a positive integer, got {periods!r}")
    for key, value in settings.items():
        if key.endswith("_threshold") and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"alarms: {key} must be a number >= 0, got {value!r}")
    return dict(settings)


def settings_for(
    owner: pulumi.Resource, own: Optional[Mapping[str, Any]], opts: Optional[pulumi.ResourceOptions]
) -> dict[str, Any]:
    """The alarm settings of ``owner``: its parent's (``opts.parent``), overridden by ``own``.

    Recorded for ``owner``, so the building blocks inside it inherit them. Defaults fill the rest.
    """
    resolved = {**inherited_settings(opts), **check_settings(own or {})}
    _settings[owner] = resolved
    return resolved


def inherited_settings(opts: Optional[pulumi.ResourceOptions]) -> dict[str, Any]:
    """The alarm settings of ``opts.parent`` (recorded by :func:`settings_for`), else the defaults."""
    parent = opts.parent if opts is not None else None
    return _settings.get(parent, DEFAULT_SETTINGS) if isinstance(parent, pulumi.Resource) else DEFAULT_SETTINGS


def topic_arn(settings: Mapping[str, Any], arn_in_account: pulumi.Input[str]) -> pulumi.Output[str]:
    """The topic alarms with these settings notify: ``topic_arn``, else the stack's alarm topic."""
    if settings.get("topic_arn"):
        return pulumi.Output.from_input(settings["topic_arn"])
    return stack_alarm_topic(arn_in_account).arn


# --- The stack's alarm topic ---------------------------------------------------------------------------


class AlarmTopicArgs(TypedDict, total=False):
    """Arguments of :class:`AlarmTopic`."""

    account_id: Required[pulumi.Input[str]]
    """The AWS account whose CloudWatch alarms publish to the topic. Required."""


class AlarmTopic(pulumi.ComponentResource):
    """An SNS topic CloudWatch alarms publish to: its own KMS key (rotated), TLS-only, publishable by CloudWatch of this account.

    A Python program also reaches the child resource ``topic`` and adds subscribers with :meth:`subscribe`.
    """

    # Only outputs are annotated here (see sfn_patterns.provider).
    arn: pulumi.Output[str]
    """ARN of the topic."""

    def __init__(self, name: str, args: AlarmTopicArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("sfn-patterns:index:AlarmTopic", name, None, opts)
        self.topic: aws.sns.Topic = alarm_topic(name, pulumi.ResourceOptions(parent=self), account_id=args["account_id"])
        self.arn = self.topic.arn
        self._topic_name = name
        self._subscribed: set[tuple[str, str]] = set()
        self.register_outputs({"arn": self.arn})

    def subscribe(self, protocol: str, endpoint: str) -> Optional[aws.sns.TopicSubscription]:
        """Send the alarms to ``endpoint`` (``email``: an address; ``https``: a URL); once per endpoint."""
        check_subscription(protocol, endpoint)
        if (protocol, endpoint) in self._subscribed:
            return None
        self._subscribed.add((protocol, endpoint))
        return aws.sns.TopicSubscription(
            f"{self._topic_name}-{protocol}-{len(self._subscribed)}",
            topic=self.arn,
            protocol=protocol,
            endpoint=endpoint,
            opts=pulumi.ResourceOptions(parent=self),
        )


def check_subscription(protocol: str, endpoint: str) -> None:
    """``ValueError`` unless ``endpoint`` is one e-mail address (``email``) or an ``https://`` URL (``https``)."""
    if not isinstance(endpoint, str) or any(c.isspace() for c in endpoint):
        raise ValueError(f"alarm subscription endpoint must be a string without spaces, got {endpoint!r}")
    if protocol == "email":
        local, _, domain = endpoint.partition("@")
        if not local or "@" in domain or "." not in domain.strip("."):
            raise ValueError(f"alarm e-mail must be one address like ops@example.com, got {endpoint!r}")
    elif protocol == "https":
        if not endpoint.startswith("https://") or len(endpoint) <= len("https://"):
            raise ValueError(f"alarm HTTPS endpoint must be an https:// URL, got {endpoint!r}")
    else:
        raise ValueError(f"alarm subscriptions are 'email' or 'https', got {protocol!r}")


def stack_alarm_topic(arn_in_account: pulumi.Input[str]) -> AlarmTopic:
    """The stack's alarm topic, created on the first call (named ``stack-alarms``, at the stack's root).

    ``arn_in_account`` is the ARN of any resource of the stack (the caller's own): the topic's key
    policy names its account (no lookup call, so the program also runs under mocks).
    """
    record = _record()
    if record.topic is None:
        account = pulumi.Output.from_input(arn_in_account).apply(lambda arn: arn.split(":")[4])
        record.topic = AlarmTopic(STACK_TOPIC_NAME, {"account_id": account})
        for protocol, endpoint in record.subscriptions:
            record.topic.subscribe(protocol, endpoint)
    return record.topic


def subscribe_stack_alarms(email: Optional[str] = None, https_endpoint: Optional[str] = None) -> None:
    """Subscribe an e-mail address and/or an HTTPS endpoint to the stack's alarm topic (None: not that one).

    Call it anywhere in the program: before the topic exists, the subscriptions wait for it.
    """
    record = _record()
    for protocol, endpoint in (("email", email), ("https", https_endpoint)):
        if not endpoint:
            continue
        if record.topic is not None:
            record.topic.subscribe(protocol, endpoint)
        else:
            check_subscription(protocol, endpoint)
            record.subscriptions.append((protocol, endpoint))


# --- Alarms --------------------------------------------------------------------------------------------


def metric_alarms(
    name: str,
    specs: Sequence[AlarmSpec],
    dimensions: Mapping[str, pulumi.Input[str]],
    settings: Mapping[str, Any],
    arn_in_account: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> list[aws.cloudwatch.MetricAlarm]:
    """One alarm per spec on the metric with exactly these ``dimensions``, named ``<name>-<spec.slug>``.

    Each notifies ``settings["topic_arn"]`` (default: the stack's topic) when it fires and when it
    returns to OK. ``settings["enabled"]`` False: none.
    """
    if not settings.get("enabled", True):
        return []
    notify = topic_arn(settings, arn_in_account)
    period = settings["period_seconds"]
    window = f"{period // 60} minutes" if period >= 60 else f"{period} seconds"
    alarms = []
    for spec in specs:
        threshold = settings[spec.threshold_setting]
        condition = f"more than {threshold:g}" if spec.comparison == "GreaterThanThreshold" else f"{threshold:g} or more"
        alarms.append(
            aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.slug}",
                namespace=spec.namespace,
                metric_name=spec.metric,
                dimensions=dict(dimensions),
                statistic=spec.statistic,
                period=period,
                evaluation_periods=settings["evaluation_periods"],
                threshold=threshold,
                comparison_operator=spec.comparison,
                treat_missing_data=spec.treat_missing_data,
                alarm_description=f"{name}: {condition} {spec.description} within {window}",
                alarm_actions=[notify],
                ok_actions=[notify],
                opts=opts,
            )
        )
    return alarms


def state_machine_alarms(
    name: str, arn: pulumi.Output[str], settings: Mapping[str, Any], opts: pulumi.ResourceOptions
) -> list[aws.cloudwatch.MetricAlarm]:
    """Executions failed, timed out, aborted and throttled of one state machine; recorded for the dashboard."""
    _record().monitored.state_machines.append((name, arn))
    return metric_alarms(name, STATE_MACHINE_ALARMS, {"StateMachineArn": arn}, settings, arn, opts)


def function_alarms(
    name: str, function: aws.lambda_.Function, settings: Mapping[str, Any], opts: pulumi.ResourceOptions
) -> list[aws.cloudwatch.MetricAlarm]:
    """Errors and throttles of one Lambda."""
    _record().monitored.functions.append((name, function.name))
    return metric_alarms(name, FUNCTION_ALARMS, {"FunctionName": function.name}, settings, function.arn, opts)


def dead_letter_alarms(name: str, queue: aws.sqs.Queue, opts: pulumi.ResourceOptions) -> list[aws.cloudwatch.MetricAlarm]:
    """Any message waiting in one dead-letter queue (settings inherited from ``opts.parent``); recorded for the dashboard."""
    _record().monitored.dead_letter_queues.append((name, queue.name))
    return metric_alarms(name, DEAD_LETTER_ALARMS, {"QueueName": queue.name}, inherited_settings(opts), queue.arn, opts)


def api_alarms(
    name: str, api: aws.apigatewayv2.Api, stage: str, settings: Mapping[str, Any], opts: pulumi.ResourceOptions
) -> list[aws.cloudwatch.MetricAlarm]:
    """5xx answers of one HTTP API stage; recorded for the dashboard."""
    _record().monitored.apis.append((name, api.id))
    return metric_alarms(name, API_ALARMS, {"ApiId": api.id, "Stage": stage}, settings, api.execution_arn, opts)
