"""``IdempotentApi``: an HTTP API that starts a named execution of a workflow once, and reads it.

Routes (seed 000's contract):

- ``POST /workflow`` ``{"name", "input"}`` (or the name in an ``Idempotency-Key`` header):
  201 new execution, 200 same name and input again, 409 same name with another input, 400 bad input.
- ``GET /workflow/{name}``: status, input, output, error, cause and dates; 404 for an unknown name.
- ``GET /workflow?status=&limit=&nextToken=``, ``DELETE /workflow/{name}``, ``POST /workflow/{name}/redrive``:
  list executions by status (paginated), cancel one, redrive one (``operations_routes``), under
  ``authorization_type``.

A workflow that runs an inline Map over an input array gives ``map_items``: the API then refuses
(400) an input whose array the Map could not complete within Step Functions' history and result limits.

``created`` (201) is told to exactly one caller of a name: the winner of a conditional PutItem in
the component's small start-claim table (one write request unit per new start; rows expire after
a day). StartExecution alone cannot tell racing callers apart (it answers the same to all).
"""

from typing import Optional, Required, TypedDict

import pulumi

from sfn_patterns.blocks import alarms, iam
from sfn_patterns.blocks.args import check_args
from sfn_patterns.blocks.function import HandlerFunction
from sfn_patterns.blocks.http_api import ApiArgs, HttpApi, api_function, function_api, operations_routes
from sfn_patterns.blocks.messaging import secure_table
from sfn_patterns.blocks.state_machine import known_type
from sfn_patterns.contracts import idempotent


class InlineMapArgs(TypedDict, total=False):
    """How the fronted workflow maps over an input array: what bounds the array (see ``map_items``)."""

    field: Required[str]
    """The input field holding the array the inline Map iterates over."""
    events_per_item: Required[int]
    """Most history events one iteration writes, retries included."""
    fixed_events: Required[int]
    """History events the execution writes besides the iterations."""
    result_overhead_bytes: Required[int]
    """Bytes one item's result adds beyond ``result_growth`` times the item's own JSON."""
    result_growth: float
    """Most bytes of an item's result per byte of the item's JSON. Default 1."""
    result_wrapper_bytes: int
    """Bytes of the Map's output around the array of results. Default 2 (``[]``)."""


class IdempotentApiArgs(ApiArgs, total=False):
    """Arguments of :class:`IdempotentApi` (``authorization_type`` covers every route, GET and the operations routes included)."""

    state_machine_arn: Required[pulumi.Input[str]]
    """ARN of the Standard workflow the API starts."""
    state_machine_type: str
    """The workflow's type, a plain value: ``STANDARD`` (default). ``EXPRESS`` is refused, as is the
    ``arn`` of an Express machine this program built: an Express workflow has no named, exactly-once
    start to build the API on."""
    map_items: InlineMapArgs
    """The workflow runs an inline Map over this input array: refuse (400) more items than fit in
    Step Functions' 25,000 history events, or items whose results could pass 256 KiB. Default: no check."""


def map_items_limit(args: InlineMapArgs) -> idempotent.MapItemsLimit:
    """The handler's :class:`~sfn_patterns.contracts.idempotent.MapItemsLimit` for ``args``."""
    max_items = idempotent.inline_map_max_items(args["events_per_item"], args["fixed_events"])
    if max_items < 1:
        raise ValueError(f"map_items: no iteration fits in {idempotent.MAX_HISTORY_EVENTS} history events")
    return idempotent.MapItemsLimit(
        field=args["field"],
        max_items=max_items,
        result_overhead_bytes=args["result_overhead_bytes"],
        result_growth=float(args.get("result_growth", 1)),
        result_wrapper_bytes=args.get("result_wrapper_bytes", 2),
    )


class IdempotentApi(pulumi.ComponentResource):
    """An HTTP API fronting one Standard workflow: start by name exactly once, read by name."""

    # Only outputs are annotated here (the component schema is inferred from them); a Python program
    # also reaches the child components ``function`` and ``http_api``.
    url: pulumi.Output[str]
    """Base URL of the HTTP API (``POST {url}/workflow``, ``GET {url}/workflow/{name}``)."""

    def __init__(self, name: str, args: IdempotentApiArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        check_args(f"IdempotentApi {name!r}", args, IdempotentApiArgs)
        state_machine_arn = args["state_machine_arn"]
        machine_type = known_type(state_machine_arn) or args.get("state_machine_type", "STANDARD")
        if machine_type != "STANDARD":
            raise ValueError(
                f"IdempotentApi {name!r}: the state machine is {machine_type}, not STANDARD. An Express"
                " workflow has no idempotent named start (a repeated name starts it again) and no"
                " DescribeExecution, so the API could neither start it exactly once nor read it back."
                " Front a STANDARD workflow; it may run the work as an Express child"
                " (workflows/composite_express.yaml)."
            )
        super().__init__("sfn-patterns:index:IdempotentApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarms.settings_for(self, args.get("alarms"), opts)
        retention = args.get("log_retention_days", 14)

        # Start claims: which caller created an execution (one conditional write per new start).
        self.claims = secure_table(f"{name}-claims", child, hash_key="pk", ttl_attribute="expiresAt")
        environment: dict[str, pulumi.Input[str]] = {
            idempotent.ENV_STATE_MACHINE_ARN: state_machine_arn,
            idempotent.ENV_TABLE_NAME: self.claims.name,
        }
        if "map_items" in args:
            environment[idempotent.ENV_MAP_ITEMS] = map_items_limit(args["map_items"]).to_json()
        self.function: HandlerFunction = api_function(
            f"{name}-handler",
            {
                "handler": "idempotent_api",
                "environment": environment,
                "statements": iam.grant_start_execution(state_machine_arn)
                + iam.grant_operations(state_machine_arn)
                + iam.grant_start_claims(self.claims.arn),
                "log_retention_days": retention,
            },
            opts=child,
        )
        authorization = args.get("authorization_type", "AWS_IAM")
        routes = {
            "POST /workflow": authorization,
            "GET /workflow/{name}": authorization,
            **operations_routes("workflow", "name", authorization),
        }
        self.http_api: HttpApi = function_api(f"{name}-api", self.function, routes, args, child)
        self.url = self.http_api.url
        self.register_outputs({"url": self.url})
