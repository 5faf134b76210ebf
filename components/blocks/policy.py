"""Policy suppressions: where a component breaks a rule of the policy suite ON PURPOSE, it says so here.

The policy suite (``tests/policy``) checks every resource a program declares against rules modelled
on cdk-nag's AwsSolutions and Serverless packs and Checkov's AWS checks. A component that breaks one
of them by design records it next to the resource, with the reason, like cdk-nag's
``NagSuppressions.addResourceSuppressions`` or Checkov's ``#checkov:skip=<id>:<reason>``::

    policy.suppress(route, "API-ROUTE-AUTH", "proven by the per-task secret, checked by the handler")

Suppressions go into a module-level registry that the suite reads after running the program; they
change nothing that is deployed. The suite fails on a suppression whose rule the resource does not
actually break (a stale excuse), and lists every suppression in its report.
"""

import threading
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
