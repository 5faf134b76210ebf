"""DEMO ONLY (not part of the reusable components): seed 000's external service for the demo stack.

``DemoExternalService`` subscribes the ``external_service`` handler to a CallbackWorkflow's topic,
so every task the workflow hands out is worked on and called back over the public HTTP API, as an
outside system would. SNS invokes the Lambda asynchronously: the function gets a retry policy and
a dead-letter queue, and the subscription a redrive policy to its own encrypted dead-letter queue
(for deliveries SNS itself cannot make).
"""

from pathlib import Path
from typing import Optional, TypedDict

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks import alarms
from sfn_patterns.blocks.alarms import AlarmSettings
from sfn_patterns.blocks.args import check_args
from sfn_patterns.blocks.function import HandlerFunction
from sfn_patterns.blocks.messaging import subscribe_lambda


#: The demo's own handler modules (in the repository only, never in the package).
DEMO_HANDLERS_DIR = Path(__file__).resolve().parents[2] / "handlers" / "demo"


class DemoExternalServiceArgs(TypedDict, total=False):
    """Arguments of :class:`DemoExternalService`."""

    topic_arn: pulumi.Input[str]
    """The CallbackWorkflow topic whose notifications the service serves. Required."""
    log_retention_days: pulumi.Input[int]
    """Days the function's log group keeps logs. Default 14."""
    alarms: AlarmSettings
    """Alarms of its Lambda and dead-letter queues. Default: on, to the stack's alarm topic."""


class DemoExternalService(pulumi.ComponentResource):
    """The demo external service: an SNS-subscribed Lambda that calls tasks back over HTTP."""

    function: HandlerFunction
    subscription: aws.sns.TopicSubscription

    def __init__(self, name: str, args: DemoExternalServiceArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        check_args(f"DemoExternalService {name!r}", args, DemoExternalServiceArgs)
        super().__init__("sfn-patterns:index:DemoExternalService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarms.settings_for(self, args.get("alarms"), opts)
        topic_arn = args["topic_arn"]

        self.function = HandlerFunction(
            f"{name}-fn",
            {
                "handler": "external_service",
                "handlers_dir": str(DEMO_HANDLERS_DIR),
                # Two HTTP calls of at most 10 s each (the "twice" case runs them concurrently).
                "timeout": 30,
                "async_invocation": True,
                "log_retention_days": args.get("log_retention_days", 14),
            },
            opts=child,
        )
        self.subscription, _ = subscribe_lambda(
            name, topic_arn, self.function.arn, self.function.name, child, subscription_name=f"{name}-subscription"
        )
        self.register_outputs({"function_arn": self.function.arn})
