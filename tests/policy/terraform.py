"""The program's resources as a Terraform plan JSON, for Checkov.

pulumi-aws is bridged from the Terraform AWS provider, so a Pulumi resource type names a Terraform
resource type (``aws:lambda/function:Function`` -> ``aws_lambda_function``) and its inputs are the
Terraform arguments in camelCase (``tracingConfig.mode`` -> ``tracing_config[0].mode``). This module
renders the resources the policy suite collects under mocks into the ``planned_values`` of a plan
(``terraform show -json``), which Checkov's ``terraform_plan`` framework reads.

Nested objects become one-element lists, as Terraform renders a block; the few Terraform arguments
that are maps (tags, environment variables ...) stay maps. Policy documents are JSON strings, as in
a real plan, and Checkov parses them itself.

The plan also has the ``configuration`` section ``terraform show -json`` writes: each resource's
``expressions``, where an argument set from another resource's attribute holds ``references``
(``["aws_kms_key.stack-key.arn", "aws_kms_key.stack-key"]``) and any other a ``constant_value``.
The mocks know which resources each input's Outputs came from (Pulumi's ``propertyDependencies``,
:attr:`local.program.DeclaredResource.dependencies`); of those, the one whose attribute (its id
or an output: ``arn``, ``url``, ``name`` ...) the value is, or holds, is the referenced one. As in
the plan of a new stack, an argument that *is* such an attribute is unknown until apply: it is left
out of the planned values (a list keeps a ``null`` in its place) and marked in ``after_unknown``.
Checkov then puts the reference in its place and links the two resources in its graph, which its
connection checks (a stage and its API, a key and its policy ...) need. An argument that only holds
one (a policy document naming a queue's ARN) keeps its value, so Checkov still reads the document;
its references are listed all the same.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

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
#: The provider every resource belongs to.
PROVIDER = "registry.terraform.io/hashicorp/aws"


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


#: Stands for an argument left out of the planned values (unknown until apply).
_UNKNOWN = object()


@dataclass(frozen=True)
class Producer:
    """A resource whose attributes other resources' arguments are set from."""

    address: str
    """Its plan address."""
    attributes: dict[str, str]
    """Its string attributes by Terraform name (``id``, ``arn``, ``url``, ``name`` ...), computed ones first."""

    @staticmethod
    def of(resource: DeclaredResource) -> "Producer":
        """The producer ``resource`` is: its ARN and id (as one writes ``aws_sns_topic.alarms.arn``), its
        other outputs the program did not set, then the rest."""
        computed = {key: value for key, value in resource.state.items() if key not in resource.inputs}
        attributes = {"arn": resource.state.get("arn"), "id": resource.id, **computed, **resource.state}
        return Producer(address(resource), {snake(k): v for k, v in attributes.items() if isinstance(v, str) and v})

    def reference(self, value: str) -> Optional[list[str]]:
        """The references of a value that *is* one of the attributes (``[address.attr, address]``), else None."""
        attribute = next((name for name, output in self.attributes.items() if output == value), None)
        return None if attribute is None else [f"{self.address}.{attribute}", self.address]

    def mention(self, value: str) -> Optional[list[str]]:
        """The references of a value that holds one of the attributes (the longest: an ARN over a name), else None."""
        held = [name for name, output in self.attributes.items() if output in value]
        longest = max(held, key=lambda name: len(self.attributes[name]), default=None)  # ties: the first
        return None if longest is None else [f"{self.address}.{longest}", self.address]


def _expressions(value: Any, key: str, producers: list[Producer]) -> tuple[Any, Any, Any]:
    """(planned value or ``_UNKNOWN``, its configuration expression, its ``after_unknown``) of one rendered argument."""
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):  # blocks
        rendered = [_block(item, producers) for item in value]
        return [r[0] for r in rendered], [r[1] for r in rendered], [r[2] for r in rendered]
    if isinstance(value, list):
        items = [_expressions(item, key, producers) for item in value]
        references = [ref for _, expression, _ in items for ref in expression.get("references", [])]
        planned = [None if p is _UNKNOWN else p for p, _, _ in items]
        expression = {"references": references} if references else {"constant_value": value}
        return planned, expression, [u for _, _, u in items]
    if isinstance(value, dict) or isinstance(value, str):  # a map argument is one expression, as its text
        text = value if isinstance(value, str) else json.dumps(value)
        exact = next((r for r in (p.reference(text) for p in producers) if r), None) if isinstance(value, str) else None
        if exact:
            return _UNKNOWN, {"references": exact}, True
        mentions = [ref for p in producers for ref in (p.mention(text) or [])]
        return value, ({"references": mentions} if mentions else {"constant_value": value}), False
    return value, {"constant_value": value}, False


def _block(block: dict[str, Any], producers: list[Producer]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    planned, expressions, unknown = {}, {}, {}
    for key, value in block.items():
        planned_value, expressions[key], unknown_value = _expressions(value, key, producers)
        if planned_value is not _UNKNOWN:
            planned[key] = planned_value
        if unknown_value is True or (isinstance(unknown_value, (list, dict)) and _any_unknown(unknown_value)):
            unknown[key] = unknown_value
    return planned, expressions, unknown


def _any_unknown(marks: Any) -> bool:
    if isinstance(marks, list):
        return any(_any_unknown(m) for m in marks)
    if isinstance(marks, dict):
        return any(_any_unknown(m) for m in marks.values())
    return marks is True


def plan(resources: Iterable[DeclaredResource]) -> dict[str, Any]:
    """A Terraform plan JSON holding ``resources`` (custom resources only; components have no Terraform type)."""
    resources = [r for r in resources if r.custom and r.type.startswith("aws:")]
    producers: dict[str, Producer] = {}
    for resource in resources:  # a canary is a copy under its original's URN: the original produces
        producers.setdefault(resource.urn, Producer.of(resource))
    planned, configured, changes = [], [], []
    for resource in resources:
        renames = SINGULAR_BLOCKS.get(terraform_type(resource.type), {})
        values: dict[str, Any] = {}
        sources: dict[str, list[Producer]] = {}
        # The program's inputs over the mocks' state: an input named like an output (a topic policy's
        # ``arn``, the topic's) keeps the program's value.
        for key, value in {**resource.state, **resource.inputs}.items():
            if key != "code":
                name = renames.get(snake(key), snake(key))
                values[name] = arguments(value, name)
                sources[name] = [producers[u] for u in resource.dependencies.get(key, []) if u in producers]
        known, expressions, unknown = {}, {}, {}
        for name, value in values.items():
            known_value, expressions[name], unknown_value = _expressions(value, name, sources[name])
            if known_value is not _UNKNOWN:
                known[name] = known_value
            if _any_unknown(unknown_value):
                unknown[name] = unknown_value
        head = {"address": address(resource), "mode": "managed", "type": terraform_type(resource.type),
                "name": _ADDRESS_SAFE.sub("_", resource.name)}
        planned.append({**head, "provider_name": PROVIDER, "schema_version": 0, "values": known})
        configured.append({**head, "provider_config_key": "aws", "expressions": expressions, "schema_version": 0})
        changes.append({**head, "provider_name": PROVIDER,
                        "change": {"actions": ["create"], "before": None, "after": known, "after_unknown": unknown}})
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": PROVIDER}},
            "root_module": {"resources": configured},
        },
    }


def write_plan(resources: Iterable[DeclaredResource], path: Path) -> Path:
    """Write :func:`plan` of ``resources`` to ``path`` (a ``.json`` file Checkov reads)."""
    path.write_text(json.dumps(plan(resources), indent=1, default=str))
    return path
