"""The demo stack: one of each pattern, wired to demo external services.

Exports ``endpoints`` (pattern name -> base URL of its HTTP API) and the state machine ARNs.
Settings come from the stack config (``Pulumi.<stack>.yaml``, key prefix ``sfn-patterns:``).
The demo brings its own code like any user of the library: its handlers are ``handlers/demo/`` and its
workflow files ``workflows/`` (relative to the project folder, where Pulumi runs the program).
"""

import pulumi

from sfn_patterns import (
    CallbackWorkflow,
    IdempotentApi,
    InlineMapArgs,
    MonitoredWorkflow,
    PausableWorkflow,
    PausableWorkflowArgs,
    StackDashboard,
    Workflow,
    subscribe_stack_alarms,
)
from sfn_patterns.demo.external_service import DemoExternalService

#: The demo's own handler modules and workflow files.
HANDLERS_DIR = "handlers/demo"
WORKFLOWS_DIR = "workflows"
own_code = {"handlers_dir": HANDLERS_DIR, "workflows_dir": WORKFLOWS_DIR}

config = pulumi.Config()
retention = config.get_int("logRetentionDays") or 14
# Every component alarms (state machines, Lambdas, dead-letter queues, APIs) to the stack's alarm topic.
alarms = {"period_seconds": config.get_int("alarmPeriodSeconds") or 300}
subscribe_stack_alarms(email=config.get("alarmEmail"), https_endpoint=config.get("alarmHttpsEndpoint"))
api_settings = {
    "throttle_rate": config.get_float("apiThrottleRate") or 50,
    "throttle_burst": config.get_int("apiThrottleBurst") or 100,
    "log_retention_days": retention,
    # AWS_IAM (the components' default) makes callers sign state-changing requests with SigV4.
    "authorization_type": config.get("apiAuthorization") or "AWS_IAM",
    "alarms": alarms,
}

# Seed 001's chain (reverse, then shout) and seed 000's composite (the chain per item, as child executions).
chain = Workflow("chain", {"definition_file": "chain.yaml", **own_code, "log_retention_days": retention, "alarms": alarms})
composite = Workflow(
    "composite",
    {"definition_file": "composite.yaml", "workflows_dir": WORKFLOWS_DIR, "workflows": {"chain": chain.arn},
     "log_retention_days": retention, "alarms": alarms},
)
chain_api = IdempotentApi("chain-api", {"state_machine_arn": chain.arn, **api_settings})
#: What bounds the composite's items (workflows/composite.yaml runs an inline Map over them). History:
#: besides the iterations the execution writes 6 events (ExecutionStarted, MapStateEntered,
#: MapStateStarted, MapStateSucceeded, MapStateExited, ExecutionSucceeded); an iteration writes 8
#: (MapIterationStarted, TaskStateEntered, TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded,
#: TaskStateExited, MapIterationSucceeded) plus 3 (TaskFailed, TaskScheduled, TaskStarted) per retry,
#: 3 retries at most: 17, so (25,000 - 6) // 17 = 1,470 items. Results: a child's output is shout's
#: envelope, 185 bytes with an empty payload, plus the upper-cased payload, at most 3 times the
#: payload's bytes (Unicode upper-casing can triple a character's UTF-8); an item's JSON is at least
#: {"payload":""} (14 bytes) plus the payload: 185 - 3 * 14 = 143 bytes plus 3 times the item's
#: JSON bounds each result. A redrive that re-runs k items adds up to 17 * k events more.
COMPOSITE_MAP_ITEMS: InlineMapArgs = {
    "field": "items",
    "events_per_item": 8 + 3 * 3,
    "fixed_events": 6,
    "result_overhead_bytes": 143,
    "result_growth": 3,
    "result_wrapper_bytes": len('{"results":[]}'),
}
composite_api = IdempotentApi(
    "composite-api", {"state_machine_arn": composite.arn, "map_items": COMPOSITE_MAP_ITEMS, **api_settings}
)

# CallbackWorkflow, with seed 000's external service (demo only) subscribed to its notifications.
callback = CallbackWorkflow(
    "callback",
    {
        "timeout_seconds": config.get_int("callbackTimeoutSeconds", 3600),
        "heartbeat_seconds": config.get_int("callbackHeartbeatSeconds", 300),  # 0: no heartbeat
        **api_settings,
    },
)
external_service = DemoExternalService(
    "external-service", {"topic_arn": callback.topic_arn, "log_retention_days": retention, "alarms": alarms}
)

# PausableWorkflow, with seed 004's async service (the demo handler, a short configurable job).
pausable_job_seconds = config.get_float("pausableJobSeconds", 2)
pausable_args: PausableWorkflowArgs = {
    "pause_timeout_seconds": config.get_int("pauseTimeoutSeconds", 3600),
    "handlers_dir": HANDLERS_DIR,
    "preprocess": {"handler": "pausable_preprocess"},
    "async_service": {
        "handler": "pausable_async_service",
        "environment": {"JOB_SECONDS": f"{pausable_job_seconds:g}"},
        "timeout": int(pausable_job_seconds) + 30,
    },
    "postprocess": {"handler": "pausable_postprocess"},
    **api_settings,
}
pausable = PausableWorkflow("pausable", pausable_args)

# MonitoredWorkflow (seed 003): the demo work is a Wait; events on its bus end or fail it.
monitored = MonitoredWorkflow(
    "monitored",
    {
        "work_seconds": config.get_int("monitorWorkSeconds", 30),
        "monitor_timeout_seconds": config.get_int("monitorTimeoutSeconds", 3600),
        **api_settings,
    },
)

endpoints = {
    "chain": chain_api.url,
    "composite": composite_api.url,
    "callback": callback.url,
    "pausable": pausable.url,
    "monitored": monitored.url,
}
state_machines = {
    "chain": chain.arn,
    "composite": composite.arn,
    "callback": callback.state_machine_arn,
    "pausable": pausable.state_machine_arn,
    "monitored": monitored.state_machine_arn,
}
# One dashboard of everything above: executions per workflow, dead letters, API answers and latency.
dashboard = StackDashboard("dashboard", {})

pulumi.export("endpoints", endpoints)
pulumi.export("stateMachines", state_machines)
pulumi.export("alarmTopic", monitored.alarm_topic_arn)
pulumi.export("dashboard", dashboard.dashboard_name)
