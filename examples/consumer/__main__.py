"""A consumer of sfn-patterns: every component, with this project's own handlers and workflow.

Nothing here comes from the library's repository: the handler modules are in ``handlers/`` and the
workflow definition in ``workflows/`` of this project (Pulumi runs the program in the project's folder,
so the relative paths below are this project's). Exports ``endpoints`` (component -> base URL of its
HTTP API), ``stateMachines``, ``alarmTopic`` and ``dashboard``.
"""

import pulumi

from sfn_patterns import (
    CallbackWorkflow,
    IdempotentApi,
    MonitoredWorkflow,
    PausableWorkflow,
    StackDashboard,
    Workflow,
    subscribe_stack_alarms,
)

HANDLERS = "handlers"
WORKFLOWS = "workflows"
config = pulumi.Config()

# Every component alarms to the stack's one alarm topic; on-call subscribes from config (optional).
subscribe_stack_alarms(email=config.get("alarmEmail"), https_endpoint=config.get("alarmHttpsEndpoint"))

# An order workflow from our own YAML (validate, then price, each a handler of ours), started once per
# order id through an IdempotentApi.
orders = Workflow("orders", {"definition_file": "order.yaml", "workflows_dir": WORKFLOWS, "handlers_dir": HANDLERS})
orders_api = IdempotentApi("orders-api", {"state_machine_arn": orders.arn})

# An approval a person (or another system) gives by calling back; our steps prepare the request and
# record the decision.
approval = CallbackWorkflow(
    "approval",
    {
        "handlers_dir": HANDLERS,
        "before": [{"handler": "prepare_approval"}],
        "after": [{"handler": "record_decision"}],
        "timeout_seconds": config.get_int("approvalTimeoutSeconds") or 3600,
        "heartbeat_seconds": 0,
    },
)

# A render job done by our own async service, which resumes the job on the component's topic.
render = PausableWorkflow(
    "render",
    {
        "handlers_dir": HANDLERS,
        "async_service": {"handler": "render_job", "timeout": 30},
        "postprocess": {"handler": "publish_render"},
        "pause_timeout_seconds": config.get_int("renderTimeoutSeconds") or 3600,
    },
)

# A shipment: our handler is the work; events on the component's bus may end or fail it.
shipping = MonitoredWorkflow("shipping", {"handlers_dir": HANDLERS, "work_step": {"handler": "ship"}})

pulumi.export(
    "endpoints",
    {"orders": orders_api.url, "approval": approval.url, "render": render.url, "shipping": shipping.url},
)
pulumi.export(
    "stateMachines",
    {
        "orders": orders.arn,
        "approval": approval.state_machine_arn,
        "render": render.state_machine_arn,
        "shipping": shipping.state_machine_arn,
    },
)

# One dashboard for the stack: every workflow's executions, every dead-letter queue, every API.
dashboard = StackDashboard("dashboard", {})
pulumi.export("alarmTopic", shipping.alarm_topic_arn)
pulumi.export("dashboard", dashboard.dashboard_name)
