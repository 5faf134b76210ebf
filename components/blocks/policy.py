"""Policy suppressions: where a component breaks a rule of the policy suite ON PURPOSE, it says so here.

The policy suite (``tests/policy``) checks every resource a program declares with Checkov (rule ids
``CKV_AWS_*``, over the program rendered as a Terraform plan) and with the project's own rules
(modelled on cdk-nag's AwsSolutions and Serverless packs) where Checkov has no equivalent. A component that breaks one
of them by design records it next to the resource, with the reason, like cdk-nag's
``NagSuppressions.addResourceSuppressions`` or Checkov's ``#checkov:skip=<id>:<reason>``::

    policy.suppress(route, "API-ROUTE-AUTH", "proven by the per-task secret, checked by the handler")

Suppressions go into a module-level registry that the suite reads after running the program; they
change nothing that is deployed. The suite fails on a suppression whose rule the resource does not
actually break (a stale excuse), and lists every suppression in its report.
"""

import threading
from typing import Mapping
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Suppression:
    """One rule that one resource breaks on purpose, and why."""

    resource_type: str
    """Type token of the resource (``aws:apigatewayv2/route:Route``)."""
    resource_name: str
    """Logical name of the resource."""
    rule_id: str
    """Id of the suppressed rule (``API-ROUTE-AUTH`` ...)."""
    reason: str
    """Why the resource breaks it on purpose (a sentence)."""


_registry: list[Suppression] = []
_lock = threading.Lock()


def suppress(resource: pulumi.Resource, rule_id: str, reason: str) -> Suppression:
    """Record that ``resource`` breaks the rule ``rule_id`` on purpose, for ``reason``."""
    if not isinstance(resource, pulumi.Resource):
        raise TypeError(f"suppress() needs the resource itself, got {resource!r}")
    if not rule_id or not reason.strip():
        raise ValueError("a suppression needs a rule id and a reason")
    entry = Suppression(resource.pulumi_resource_type, resource.pulumi_resource_name, rule_id, reason.strip())
    with _lock:
        if entry not in _registry:
            _registry.append(entry)
    return entry


def suppressions() -> list[Suppression]:
    """Every suppression recorded since the last :func:`clear`, in order."""
    with _lock:
        return list(_registry)


def clear() -> None:
    """Forget the recorded suppressions (before running a program again)."""
    with _lock:
        _registry.clear()


def suppress_all(resource: pulumi.Resource, reasons: Mapping[str, str]) -> None:
    """Record every ``rule_id -> reason`` of ``reasons`` for ``resource``."""
    for rule_id, reason in reasons.items():
        suppress(resource, rule_id, reason)


# Checkov checks the building blocks break on purpose, with the reason (one place for each kind).

#: Every log group: CloudWatch Logs already encrypts at rest; retention is the stack's knob.
LOG_GROUP_EXCEPTIONS = {
    "CKV_AWS_158": "CloudWatch Logs encrypts every log group at rest with AWS-managed keys; a customer key per group "
    "would add a key policy and KMS calls on every write while no log line carries a secret (tokens stay out of logs)",
    "CKV_AWS_338": "retention is the stack's logRetentionDays knob (14 days by default, what an operator needs to debug "
    "a run); a year of logs is a compliance choice the stack's owner makes in config",
}
#: Every handler Lambda.
FUNCTION_EXCEPTIONS = {
    "CKV_AWS_115": "no reserved concurrency: the HTTP API stage throttles every route (rate and burst) and Step Functions "
    "calls at the workflow's own pace; reserving capacity would take it from the account's shared pool",
    "CKV_AWS_117": "outside a VPC on purpose: the handlers call only AWS APIs (Step Functions, DynamoDB, SNS, "
    "EventBridge) over TLS with IAM; a VPC would add NAT or endpoint cost and cold-start time for no reachability gain",
    "CKV_AWS_272": "the archive is built from the repository by the Pulumi program at deploy time (the same commit the "
    "stack's owner reviews); there is no signing profile to validate against",
}
#: A Lambda invoked synchronously (API Gateway, Step Functions): a failure goes back to its caller.
SYNC_FUNCTION_EXCEPTIONS = {
    "CKV_AWS_116": "invoked synchronously only (API Gateway or a Step Functions Task): a failure is answered to the "
    "caller or retried by the state machine; Lambda queues no event that a DLQ could keep",
}
#: A Lambda invoked asynchronously: its failed events go to the on-failure destination instead.
ASYNC_FUNCTION_EXCEPTIONS = {
    "CKV_AWS_116": "its asynchronous invocations end in the on-failure destination of its FunctionEventInvokeConfig "
    "(an encrypted SQS queue, after 2 retries), which keeps the whole invocation record, unlike dead_letter_config",
}
#: A Lambda with environment variables: they hold only names and ARNs.
ENVIRONMENT_EXCEPTIONS = {
    "CKV_AWS_173": "the environment holds only resource names, ARNs and settings, no secret; Lambda encrypts it at rest "
    "with its AWS-managed key",
}
#: A DynamoDB table of task tokens and hashed secrets (and of start claims, ``handlers/common/executions.py``).
TOKEN_TABLE_EXCEPTIONS = {
    "CKV_AWS_119": "encrypted with KMS using the AWS-managed key (DDB-ENCRYPTED); a customer key would add a key policy "
    "to manage and KMS cost per request for rows that hold a task token and a secret's hash and expire with their wait",
    "CKV_AWS_28": "the rows are task tokens that expire with their wait, or start claims that expire a day after their "
    "start (TTL): a restored row would be dead, so point-in-time recovery would back up nothing worth restoring",
}
