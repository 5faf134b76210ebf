"""``StackDashboard``: one CloudWatch dashboard for everything the stack's building blocks alarm.

Create it last in the program (after the components): ``StackDashboard("dashboard", {})``: it shows what
:func:`sfn_patterns.blocks.alarms.monitored_resources` recorded until then. Its widgets, in order,
two to a row (each a time series, one point per ``period_seconds``):

- **per workflow** (each state machine): ``<name> executions``: ``AWS/States`` ``ExecutionsStarted``,
  ``ExecutionsSucceeded``, ``ExecutionsFailed`` and ``ExecutionsTimedOut`` (sums) for its
  ``StateMachineArn``;
- **Dead-letter queues**: one widget, each dead-letter queue's ``AWS/SQS``
  ``ApproximateNumberOfMessagesVisible`` (maximum) by ``QueueName``: anything above 0 is lost work;
- **per HTTP API**: ``<name> answers``: ``AWS/ApiGateway`` ``4xx`` and ``5xx`` (sums) and ``Latency``
  (p99, milliseconds, right axis) for its ``ApiId`` and the ``$default`` ``Stage``.

A dashboard costs $3 a month beyond the account's first three (``python -m bench`` prints it).
"""

import json
import os
import re
from typing import Any, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks.alarms import DEFAULT_PERIOD_SECONDS, DEFAULT_STAGE, monitored_resources

#: Width and height of a widget in the dashboard's 24-column grid.
WIDGET_WIDTH = 12
WIDGET_HEIGHT = 6


class StackDashboardArgs(TypedDict, total=False):
    """Arguments of :class:`StackDashboard`."""

    dashboard_name: str
    """Name of the dashboard (letters, digits, ``-`` and ``_``). Default ``<project>-<stack>``. A plain
    value, not an Output: it is cleaned up when the component is constructed."""
    period_seconds: int
    """Seconds per point of every graph. Default 300. A plain value, not an Output: it is written into the
    dashboard body when the component is constructed."""
    region: str
    """Region of the metrics. Default: the ``aws:region`` config, else ``AWS_REGION``, else us-east-1. A
    plain value, not an Output: it is written into the dashboard body when the component is constructed."""


class StackDashboard(pulumi.ComponentResource):
    """A CloudWatch dashboard of the stack's workflows, dead-letter queues and HTTP APIs. Its widgets: per
    workflow, executions started, succeeded, failed and timed out (``AWS/States``, Sum, by
    ``StateMachineArn``); one widget of every dead-letter queue's depth (``AWS/SQS``
    ``ApproximateNumberOfMessagesVisible``, Maximum, by ``QueueName``); per HTTP API, its 4xx and 5xx
    answers (Sum) and latency (p99, right axis) (``AWS/ApiGateway``, by ``ApiId`` and ``Stage``
    ``$default``). Create it after the components: it shows what their building blocks alarmed."""

    # Only outputs are annotated here (see sfn_patterns.provider); the child ``dashboard`` is assigned in __init__.
    dashboard_name: pulumi.Output[str]
    """Name of the dashboard (CloudWatch console: Dashboards)."""

    def __init__(self, name: str, args: StackDashboardArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("sfn-patterns:index:StackDashboard", name, None, opts)
        dashboard_name = args.get("dashboard_name") or f"{pulumi.get_project()}-{pulumi.get_stack()}"
        dashboard_name = re.sub(r"[^A-Za-z0-9_-]", "-", dashboard_name)[:255]
        region = args.get("region") or pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION") or "us-east-1"
        period = int(args.get("period_seconds", DEFAULT_PERIOD_SECONDS))
        monitored = monitored_resources()

        body = pulumi.Output.all(
            workflows=pulumi.Output.all(*[arn for _, arn in monitored.state_machines]),
            queues=pulumi.Output.all(*[queue for _, queue in monitored.dead_letter_queues]),
            apis=pulumi.Output.all(*[api for _, api in monitored.apis]),
        ).apply(
            lambda ids: json.dumps(
                dashboard_body(
                    list(zip([n for n, _ in monitored.state_machines], ids["workflows"])),
                    list(zip([n for n, _ in monitored.dead_letter_queues], ids["queues"])),
                    list(zip([n for n, _ in monitored.apis], ids["apis"])),
                    region,
                    period,
                )
            )
        )
        self.dashboard: aws.cloudwatch.Dashboard = aws.cloudwatch.Dashboard(
            name, dashboard_name=dashboard_name, dashboard_body=body, opts=pulumi.ResourceOptions(parent=self)
        )
        self.dashboard_name = self.dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name})


def _widget(title: str, metrics: list[list[Any]], region: str, period: int, stat: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": WIDGET_WIDTH,
        "height": WIDGET_HEIGHT,
        "properties": {"title": title, "view": "timeSeries", "region": region, "period": period, "stat": stat,
                       "metrics": metrics, **extra},
    }


def dashboard_body(
    workflows: Sequence[tuple[str, str]],
    dead_letter_queues: Sequence[tuple[str, str]],
    apis: Sequence[tuple[str, str]],
    region: str,
    period: int = DEFAULT_PERIOD_SECONDS,
) -> dict[str, Any]:
    """The dashboard's JSON body: ``workflows`` (name, state machine ARN), ``dead_letter_queues``
    (name, queue name), ``apis`` (name, API id); widgets as the module docstring lists them."""
    widgets = [
        _widget(
            f"{name} executions",
            [["AWS/States", metric, "StateMachineArn", arn, {"label": label}]
             for metric, label in (("ExecutionsStarted", "started"), ("ExecutionsSucceeded", "succeeded"),
                                   ("ExecutionsFailed", "failed"), ("ExecutionsTimedOut", "timed out"))],
            region, period, "Sum",
        )
        for name, arn in workflows
    ]
    if dead_letter_queues:
        widgets.append(
            _widget(
                "Dead-letter queues (messages waiting)",
                [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue, {"label": name}]
                 for name, queue in dead_letter_queues],
                region, period, "Maximum",
            )
        )
    for name, api_id in apis:
        dims = ["ApiId", api_id, "Stage", DEFAULT_STAGE]
        widgets.append(
            _widget(
                f"{name} answers",
                [["AWS/ApiGateway", "4xx", *dims, {"label": "4xx"}],
                 ["AWS/ApiGateway", "5xx", *dims, {"label": "5xx"}],
                 ["AWS/ApiGateway", "Latency", *dims, {"label": "latency p99 (ms)", "stat": "p99", "yAxis": "right"}]],
                region, period, "Sum",
            )
        )
    for index, widget in enumerate(widgets):
        widget["x"], widget["y"] = (index % 2) * WIDGET_WIDTH, (index // 2) * WIDGET_HEIGHT
    return {"widgets": widgets}
