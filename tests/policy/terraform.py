"""The program's resources as a Terraform plan JSON, for Checkov.

pulumi-aws is bridged from the Terraform AWS provider, so a Pulumi resource type names a Terraform
resource type (``aws:lambda/function:Function`` -> ``aws_lambda_function``) and its inputs are the
Terraform arguments in camelCase (``tracingConfig.mode`` -> ``tracing_config[0].mode``). This module
renders the resources the policy suite collects under mocks into the ``planned_values`` of a plan
(``terraform show -json``), which Checkov's ``terraform_plan`` framework reads.

Nested objects become one-element lists, as Terraform renders a block; the few Terraform arguments
that are maps (tags, environment variables ...) stay maps. Policy documents are JSON strings, as in
a real plan, and Checkov parses them itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from local.program import DeclaredResource

#: Pulumi type tokens whose Terraform name is not the mechanical ``aws_<module>_<snake resource>``.
TERRAFORM_TYPES = {
    "aws:sqs/redrivePolicy:RedrivePolicy": "aws_sqs_queue_redrive_policy",
    "aws:sns/topicSubscription:TopicSubscription": "aws_sns_topic_subscription",
}
#: Pulumi's plural names of repeated Terraform blocks (``attributes`` for ``attribute`` blocks), by type.
SINGULAR_BLOCKS = {"aws_dynamodb_table": {"attributes": "attribute", "global_secondary_indexes": "global_secondary_index"}}
#: Terraform arguments that are maps (not blocks): kept as objects, their keys untouched.
MAP_ARGUMENTS = {"tags", "tags_all", "variables", "input_paths", "request_parameters", "response_parameters", "stage_variables"}
#: Address prefix of every resource (Checkov names resources by address).
_ADDRESS_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def terraform_type(type_token: str) -> str:
    """``aws:lambda/function:Function`` -> ``aws_lambda_function``."""
    if type_token in TERRAFORM_TYPES:
        return TERRAFORM_TYPES[type_token]
    provider, rest = type_token.split(":", 1)
    module, resource = rest.split(":", 1)[0].split("/")
    return f"{provider}_{module.rstrip('_')}_{snake(resource)}"


def snake(name: str) -> str:
    """``tracingConfig`` -> ``tracing_config`` (Terraform's argument names)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def arguments(value: Any, key: str = "") -> Any:
    """Pulumi input values as Terraform plan values (snake_case keys, blocks as one-element lists)."""
    if isinstance(value, dict):
        if key in MAP_ARGUMENTS:
            return dict(value)
        return [{snake(k): arguments(v, snake(k)) for k, v in value.items()}]
    if isinstance(value, list):
        rendered = [arguments(v, key) for v in value]
        # A list of blocks is a list of objects, not a list of one-element lists.
        return [r[0] if isinstance(r, list) and len(r) == 1 and isinstance(r[0], dict) else r for r in rendered]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def address(resource: DeclaredResource) -> str:
    """The resource's plan address (``aws_lambda_function.chain-shout``)."""
    return f"{terraform_type(resource.type)}.{_ADDRESS_SAFE.sub('_', resource.name)}"


def plan(resources: Iterable[DeclaredResource]) -> dict[str, Any]:
    """A Terraform plan JSON holding ``resources`` (custom resources only; components have no Terraform type)."""
    planned = []
    for resource in resources:
        if not resource.custom or not resource.type.startswith("aws:"):
            continue
        renames = SINGULAR_BLOCKS.get(terraform_type(resource.type), {})
        values = {}
        for key, value in {**resource.inputs, **resource.state}.items():
            if key != "code":
                name = renames.get(snake(key), snake(key))
                values[name] = arguments(value, name)
        planned.append({
            "address": address(resource),
            "mode": "managed",
            "type": terraform_type(resource.type),
            "name": _ADDRESS_SAFE.sub("_", resource.name),
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "schema_version": 0,
            "values": values,
        })
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": [
            {"address": r["address"], "mode": "managed", "type": r["type"], "name": r["name"],
             "provider_name": r["provider_name"], "change": {"actions": ["create"], "before": None, "after": r["values"]}}
            for r in planned
        ],
    }


def write_plan(resources: Iterable[DeclaredResource], path: Path) -> Path:
    """Write :func:`plan` of ``resources`` to ``path`` (a ``.json`` file Checkov reads)."""
    path.write_text(json.dumps(plan(resources), indent=1, default=str))
    return path
