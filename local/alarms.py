"""Alarm evaluation on the embedded AWS: the alarms a program declares move between OK and ALARM.

moto 5.2.5 gap: CloudWatch stores alarms (``PutMetricAlarm``) but never evaluates one; its alarms stay
in their first state whatever happens, and AWS's services publish no metrics into it. Here
:class:`AlarmEvaluator` computes, from what the local stack sees, the metrics it can, and evaluates
every single-metric alarm of the embedded CloudWatch against them several times a second, moving it
with moto's ``set_alarm_state`` (so ``aws cloudwatch describe-alarms`` against the embedded endpoint
shows the state and its history) and publishing AWS's notification to its SNS actions.

The metrics, with the dimensions AWS gives them:

- ``AWS/States`` ``ExecutionsStarted``/``Succeeded``/``Failed``/``TimedOut``/``Aborted`` by
  ``StateMachineArn``: one datapoint per execution, at its start or stop, read from moto's
  executions. A redriven execution that then succeeds adds ``ExecutionsSucceeded``; its earlier
  ``ExecutionsFailed`` stays in the history, as on AWS, and leaves the window a period later.
  ``ExecutionThrottled``: none ever (the local stack does not throttle).
- ``AWS/SQS`` ``ApproximateNumberOfMessagesVisible`` by ``QueueName``: sampled at every evaluation.
- ``AWS/Lambda`` ``Invocations``/``Errors`` by ``FunctionName``: one datapoint per invocation the
  in-process runtime runs (:mod:`local.lambdas`); ``Throttles``: none ever.
- ``AWS/ApiGateway`` ``Count``/``4xx``/``5xx`` by ``ApiId`` and by ``ApiId`` + ``Stage``: one datapoint
  per answer of the HTTP API adapter (:mod:`local.gateway`).

An alarm is matched on its namespace, metric name and exact set of dimensions: an alarm declared on
a wrong dimension (or a metric the local stack cannot compute) has no data, as it would have on AWS,
and ``TreatMissingData`` decides (``notBreaching`` -> OK, ``missing`` -> INSUFFICIENT_DATA, ``ignore``
-> unchanged, ``breaching`` -> ALARM): it never fires from another resource's metric.

Differences from CloudWatch: periods are sliding windows ending now (CloudWatch aligns them to the
minute and evaluates once a minute), so a local alarm fires within a second of its datapoint and
returns to OK exactly ``period`` seconds after the last one; statistics are Sum, SampleCount,
Average, Minimum and Maximum (no percentiles); metric-math alarms are left alone.
"""

from __future__ import annotations

import bisect
import json
import math
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Iterable, Optional

from local.aws import ACCOUNT

#: Seconds between two evaluations.
DEFAULT_INTERVAL_SECONDS = 0.25
#: Seconds a datapoint is kept (longer than the periods x evaluation periods of the demo's alarms).
RETENTION_SECONDS = 3600
#: Execution status -> the Step Functions metric its end adds to.
_OUTCOME_METRICS = {
    "SUCCEEDED": "ExecutionsSucceeded",
    "FAILED": "ExecutionsFailed",
    "TIMED_OUT": "ExecutionsTimedOut",
    "ABORTED": "ExecutionsAborted",
}

MetricKey = tuple[str, str, frozenset]


def metric_key(namespace: str, metric: str, dimensions: dict[str, str]) -> MetricKey:
    """How a metric is told apart: namespace, name and the exact set of (dimension, value)."""
    return namespace, metric, frozenset(dimensions.items())


class Timeline:
    """Timestamped datapoints per metric, thread-safe (the Lambda runtime and the gateway add to it)."""

    def __init__(self, retention_seconds: float = RETENTION_SECONDS) -> None:
        self.retention_seconds = retention_seconds
        self._points: dict[MetricKey, list[tuple[float, float]]] = defaultdict(list)
        self._lock = threading.Lock()

    def add(self, namespace: str, metric: str, dimensions: dict[str, str], value: float = 1.0, at: Optional[float] = None) -> None:
        """One datapoint (``at``: epoch seconds, default now); kept in time order."""
        at = time.time() if at is None else at
        with self._lock:
            points = self._points[metric_key(namespace, metric, dimensions)]
            if points and at < points[-1][0]:
                bisect.insort(points, (at, value))
            else:
                points.append((at, value))
            if points[0][0] < at - 2 * self.retention_seconds:
                del points[: bisect.bisect_left(points, (at - self.retention_seconds, -math.inf))]

    def values(self, key: MetricKey, start: float, end: float) -> list[float]:
        """The datapoints of ``key`` with start < time <= end."""
        with self._lock:
            points = self._points.get(key)
            if not points:
                return []
            low = bisect.bisect_right(points, (start, math.inf))
            high = bisect.bisect_right(points, (end, math.inf))
            return [value for _, value in points[low:high]]

    # The hooks of the Lambda runtime and the HTTP API adapter.

    def lambda_invocation(self, function_name: str, failed: bool) -> None:
        """``AWS/Lambda`` ``Invocations`` (and ``Errors`` when it failed) of one invocation."""
        dimensions = {"FunctionName": function_name}
        self.add("AWS/Lambda", "Invocations", dimensions)
        self.add("AWS/Lambda", "Errors", dimensions, 1.0 if failed else 0.0)

    def api_answer(self, api_id: str, stage: str, status: int) -> None:
        """``AWS/ApiGateway`` ``Count``, ``4xx``, ``5xx`` of one answer, by API and by API and stage (as HTTP APIs report)."""
        for dimensions in ({"ApiId": api_id}, {"ApiId": api_id, "Stage": stage}):
            self.add("AWS/ApiGateway", "Count", dimensions)
            self.add("AWS/ApiGateway", "4xx", dimensions, 1.0 if 400 <= status < 500 else 0.0)
            self.add("AWS/ApiGateway", "5xx", dimensions, 1.0 if status >= 500 else 0.0)


def aggregate(statistic: str, values: list[float]) -> Optional[float]:
    """``statistic`` of ``values``; None when there are none (no datapoint in the period)."""
    if not values:
        return None
    if statistic == "Sum":
        return sum(values)
    if statistic == "SampleCount":
        return float(len(values))
    if statistic == "Average":
        return sum(values) / len(values)
    if statistic == "Minimum":
        return min(values)
    if statistic == "Maximum":
        return max(values)
    raise ValueError(f"statistic {statistic!r} is not evaluated locally")


def breaches(comparison: str, value: float, threshold: float) -> bool:
    """Whether ``value`` is on the alarm side of ``threshold``."""
    return {
        "GreaterThanOrEqualToThreshold": value >= threshold,
        "GreaterThanThreshold": value > threshold,
        "LessThanThreshold": value < threshold,
        "LessThanOrEqualToThreshold": value <= threshold,
    }[comparison]


def decide(
    values: list[Optional[float]],
    comparison: str,
    threshold: float,
    datapoints_to_alarm: int,
    treat_missing_data: Optional[str],
    current: str,
) -> tuple[str, str]:
    """(new state, reason) for the values of the last evaluation periods (None: no datapoint)."""
    treat = treat_missing_data or "missing"
    present = [v for v in values if v is not None]
    if not present:
        if treat == "notBreaching":
            return "OK", "no datapoints (treated as not breaching)"
        if treat == "breaching":
            return "ALARM", "no datapoints (treated as breaching)"
        if treat == "ignore":
            return current, "no datapoints (state kept)"
        return "INSUFFICIENT_DATA", "no datapoints"
    breaching = sum(1 for v in present if breaches(comparison, v, threshold))
    if treat == "breaching":
        breaching += len(values) - len(present)
    shown = ", ".join(f"{v:g}" for v in present)
    if breaching >= datapoints_to_alarm:
        return "ALARM", f"Threshold Crossed: {breaching} of {len(values)} datapoint(s) [{shown}] {comparison} {threshold:g}"
    return "OK", f"Threshold not crossed: {breaching} of {len(values)} datapoint(s) [{shown}] {comparison} {threshold:g}"


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    return float(value)


class AlarmEvaluator:
    """Evaluates the embedded CloudWatch's alarms from :class:`Timeline` and moto's state (see the module docstring)."""

    def __init__(self, region: str, account: str = ACCOUNT, interval_seconds: float = DEFAULT_INTERVAL_SECONDS) -> None:
        self.region = region
        self.account = account
        self.interval_seconds = interval_seconds
        self.timeline = Timeline()
        self._seen: set[tuple[str, str, float]] = set()
        #: Every state change made, in order: {"alarm", "from", "to", "at" (epoch seconds)} (moto keeps no
        #: alarm history it answers: DescribeAlarmHistory is not implemented); ``GET /_local/stats`` shows it.
        self.transitions: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "AlarmEvaluator":
        """Evaluate every ``interval_seconds`` in a background thread."""
        self._thread = threading.Thread(target=self._loop, name="alarm-evaluator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop evaluating."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.evaluate()
            except Exception as error:  # noqa: BLE001 - one bad round must not end evaluation
                print(f"[local] alarm evaluation: {error!r}")

    # --- observing what moto holds ---------------------------------------------------------------

    def observe(self, now: Optional[float] = None) -> None:
        """Add the datapoints moto's state shows: execution starts and ends, queue depths."""
        from moto.sqs.models import sqs_backends
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        now = time.time() if now is None else now
        for machine in list(stepfunctions_parser_backends[self.account][self.region].state_machines):
            dimensions = {"StateMachineArn": machine.arn}
            for execution in list(getattr(machine, "executions", [])):
                arn = execution.exec_arn
                if execution.start_date is not None and (arn, "start", _epoch(execution.start_date)) not in self._seen:
                    self._seen.add((arn, "start", _epoch(execution.start_date)))
                    self.timeline.add("AWS/States", "ExecutionsStarted", dimensions, at=_epoch(execution.start_date))
                status = getattr(execution.exec_status, "value", execution.exec_status)
                metric = _OUTCOME_METRICS.get(str(status))
                if metric is None or execution.stop_date is None:
                    continue
                seen = (arn, str(status), _epoch(execution.stop_date))
                if seen not in self._seen:
                    self._seen.add(seen)
                    self.timeline.add("AWS/States", metric, dimensions, at=min(_epoch(execution.stop_date), now))
        # At every evaluation (a sample a second let a queue's last message count up to a second short of a
        # period after it left, so an alarm on it returned to OK early by that much).
        for name, queue in list(sqs_backends[self.account][self.region].queues.items()):
            self.timeline.add("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": name}, float(len(queue.messages)), at=now)

    # --- evaluating ------------------------------------------------------------------------------

    def evaluate(self, now: Optional[float] = None) -> dict[str, str]:
        """Observe, then move every single-metric alarm to the state its datapoints call for; returns name -> state."""
        from moto.cloudwatch.models import cloudwatch_backends

        now = time.time() if now is None else now
        self.observe(now)
        backend = cloudwatch_backends[self.account][self.region]
        states = {}
        for alarm in list(backend.alarms.values()):
            if alarm.metric_data_queries or not alarm.metric_name or alarm.rule:
                continue  # metric math and composite alarms are not evaluated locally
            states[alarm.name] = self._evaluate_alarm(backend, alarm, now)
        return states

    def _evaluate_alarm(self, backend: Any, alarm: Any, now: float) -> str:
        key = metric_key(alarm.namespace, alarm.metric_name, {d.name: d.value for d in alarm.dimensions})
        period = float(alarm.period)
        periods = int(alarm.evaluation_periods)
        try:
            values = [
                aggregate(alarm.statistic, self.timeline.values(key, now - (i + 1) * period, now - i * period))
                for i in range(periods)
            ]
        except ValueError as error:
            return alarm.state_value if alarm.state_reason == str(error) else self._set(backend, alarm, "INSUFFICIENT_DATA", str(error), now, [])
        state, reason = decide(
            values, alarm.comparison_operator, float(alarm.threshold), int(alarm.datapoints_to_alarm or periods),
            alarm.treat_missing_data, alarm.state_value,
        )
        if state == alarm.state_value:
            return state
        return self._set(backend, alarm, state, reason, now, values)

    def _set(self, backend: Any, alarm: Any, state: str, reason: str, now: float, values: Iterable[Optional[float]]) -> str:
        old = alarm.state_value
        data = {"version": "1.0", "queryDate": datetime.fromtimestamp(now, timezone.utc).isoformat(),
                "recentDatapoints": [v for v in values if v is not None], "threshold": alarm.threshold}
        backend.set_alarm_state(alarm.name, reason, json.dumps(data), state)
        self.transitions.append({"alarm": alarm.name, "from": old, "to": state, "at": now})
        actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions, "INSUFFICIENT_DATA": alarm.insufficient_data_actions}
        if alarm.actions_enabled:
            self._notify(alarm, old, state, reason, now, actions.get(state) or [])
        return state

    def _notify(self, alarm: Any, old: str, state: str, reason: str, now: float, actions: list[str]) -> None:
        """Publish CloudWatch's alarm notification to each SNS topic among ``actions``."""
        from moto.sns.models import sns_backends

        message = json.dumps({
            "AlarmName": alarm.name,
            "AlarmDescription": alarm.description,
            "AWSAccountId": self.account,
            "AlarmArn": alarm.alarm_arn,
            "NewStateValue": state,
            "OldStateValue": old,
            "NewStateReason": reason,
            "StateChangeTime": datetime.fromtimestamp(now, timezone.utc).isoformat(),
            "Region": self.region,
            "Trigger": {
                "MetricName": alarm.metric_name, "Namespace": alarm.namespace, "Statistic": alarm.statistic,
                "Dimensions": [{"name": d.name, "value": d.value} for d in alarm.dimensions],
                "Period": alarm.period, "EvaluationPeriods": alarm.evaluation_periods,
                "ComparisonOperator": alarm.comparison_operator, "Threshold": alarm.threshold,
                "TreatMissingData": alarm.treat_missing_data,
            },
        })
        topics = sns_backends[self.account][self.region].topics
        for arn in actions:
            topic = topics.get(arn)
            if topic is None:
                continue
            try:
                topic.publish(message, subject=f'{state}: "{alarm.name}" in {self.region}'[:100])
            except Exception as error:  # noqa: BLE001 - a failed notification is reported, never fatal
                print(f"[local] alarm {alarm.name}: notifying {arn} failed: {error!r}")
