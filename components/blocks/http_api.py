"""``HttpApi``: an API Gateway v2 HTTP API whose routes call handler Lambdas.

HTTP APIs cost less than REST APIs and give every pattern what it needs (Lambda proxy routes with
path parameters, IAM authorization, throttling, access logs), so no REST-only feature is used.
Each route has a Lambda proxy integration (payload format 2.0) and a Lambda permission scoped to
that one route. The ``$default`` stage auto-deploys, writes JSON access logs to a log group with
retention, and throttles every route by default.
"""

import re
from typing import Any, Mapping, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from sfn_patterns.blocks import alarms, policy
from sfn_patterns.blocks.alarms import DEFAULT_STAGE, AlarmSettings
from sfn_patterns.blocks.args import check_args
from sfn_patterns.blocks.function import HandlerFunction, pattern_function

#: Memory of the handlers behind an HTTP API: a caller waits on their cold start, and Lambda's CPU
#: share grows with memory (boto3's import takes about half as long at 256 MB as at 128 MB).
API_MEMORY_MB = 256

#: The authorization types a route may have (API Gateway's JWT and CUSTOM authorizers are not offered).
AUTHORIZATION_TYPES = ("AWS_IAM", "NONE")

#: Fields of each access log line (API Gateway ``$context`` variables).
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"requestTime":"$context.requestTime","routeKey":"$context.routeKey",'
    '"status":"$context.status","latency":"$context.responseLatency",'
    '"integrationError":"$context.integrationErrorMessage"}'
)


class RouteArgs(TypedDict, total=False):
    """One route of an :class:`HttpApi`."""

    route_key: Required[str]
    """``METHOD /path``, with ``{param}`` path parameters, e.g. ``GET /tasks/{taskId}``."""
    function_arn: Required[pulumi.Input[str]]
    """ARN of the Lambda that serves the route."""
    function_name: Required[pulumi.Input[str]]
    """Name of that Lambda (for its invoke permission)."""
    authorization_type: pulumi.Input[str]
    """``NONE`` (default) or ``AWS_IAM`` (callers sign requests with SigV4)."""


class HttpApiArgs(TypedDict, total=False):
    """Arguments of :class:`HttpApi`."""

    routes: Required[Sequence[RouteArgs]]
    """The routes (plain values: one integration, route and permission is declared per route)."""
    throttle_rate: pulumi.Input[float]
    """Default steady-state requests per second of every route. Default 50."""
    throttle_burst: pulumi.Input[int]
    """Default burst of every route. Default 100."""
    log_retention_days: pulumi.Input[int]
    """Days the access log group keeps logs. Default 14."""
    alarms: AlarmSettings
    """Its alarm (5xx answers). Default: the parent component's settings."""


class ApiArgs(TypedDict, total=False):
    """Arguments every pattern with an HTTP API takes (its args TypedDict extends this one)."""

    authorization_type: str
    """Authorization of every route, GET included: ``AWS_IAM`` (default: callers sign requests with
    SigV4) or ``NONE``. Only routes an outside party calls back on (the callback completion routes)
    are proven by a per-task secret instead; each pattern's docstring lists its routes. A plain
    value, not an Output: it is checked when the component is constructed."""
    throttle_rate: pulumi.Input[float]
    """Default steady-state requests per second of every route. Default 50."""
    throttle_burst: pulumi.Input[int]
    """Default burst of every route. Default 100."""
    log_retention_days: pulumi.Input[int]
    """Days every log group of the component keeps logs. Default 14."""
    alarms: AlarmSettings
    """The component's alarms (its state machine's executions, every Lambda's errors and throttles,
    every dead-letter queue's depth, the API's 5xx answers): on/off, topic, period, thresholds.
    Default: on, to the stack's alarm topic, 5-minute periods, threshold 1 (any dead letter)."""


def api_args(routes: Sequence[RouteArgs], args: Mapping[str, Any]) -> HttpApiArgs:
    """The :class:`HttpApiArgs` of ``routes`` with the throttling and log retention of a pattern's :class:`ApiArgs`."""
    return {
        "routes": routes,
        "throttle_rate": args.get("throttle_rate", 50),
        "throttle_burst": args.get("throttle_burst", 100),
        "log_retention_days": args.get("log_retention_days", 14),
    }


def api_function(name: str, args: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None) -> HandlerFunction:
    """The handler Lambda behind a pattern's HTTP API: one of the patterns' own handlers at :data:`API_MEMORY_MB`."""
    return pattern_function(name, {"memory_size": API_MEMORY_MB, **args}, opts=opts)


def function_routes(
    function_arn: pulumi.Input[str], function_name: pulumi.Input[str], routes: Mapping[str, pulumi.Input[str]]
) -> list[RouteArgs]:
    """Routes all served by one Lambda: ``{"POST /tasks": "AWS_IAM", "GET /tasks/{taskId}": "NONE"}``."""
    return [
        {"route_key": key, "function_arn": function_arn, "function_name": function_name, "authorization_type": auth}
        for key, auth in routes.items()
    ]


def operations_routes(collection: str, id_parameter: str, authorization_type: str) -> dict[str, str]:
    """The operations routes of a pattern's API (served by ``handlers/common/operations.py``), route key ->
    authorization: list executions by status (``GET /<collection>``), cancel one (``DELETE
    /<collection>/{id}``) and redrive one (``POST /<collection>/{id}/redrive``), all under the
    component's ``authorization_type``. The handler needs :func:`sfn_patterns.blocks.iam.grant_operations`."""
    base = f"/{collection.strip('/')}"
    return {
        f"GET {base}": authorization_type,
        f"DELETE {base}/{{{id_parameter}}}": authorization_type,
        f"POST {base}/{{{id_parameter}}}/redrive": authorization_type,
    }


def function_api(
    name: str,
    function: HandlerFunction,
    routes: Mapping[str, str],
    args: Mapping[str, Any],
    opts: Optional[pulumi.ResourceOptions] = None,
) -> "HttpApi":
    """A pattern's HTTP API: ``routes`` (route key -> authorization) all served by ``function``, with the
    throttling and log retention of the pattern's :class:`ApiArgs` ``args``."""
    for route_key, authorization in routes.items():
        if authorization not in AUTHORIZATION_TYPES:
            raise ValueError(f"{name}: route {route_key!r}: authorization_type must be one of {AUTHORIZATION_TYPES}, got {authorization!r}")
    return HttpApi(name, api_args(function_routes(function.arn, function.name, routes), args), opts=opts)


def _slug(route_key: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", route_key.lower()).strip("-")


class HttpApi(pulumi.ComponentResource):
    """An HTTP API with Lambda routes, a throttled ``$default`` stage, access logs and an alarm on 5xx answers.

    A Python program also reaches the child resources: ``api``, ``stage``, ``routes`` (by route key) and ``alarms``.
    """

    # Only outputs are annotated here: the component schema is inferred from these annotations.
    url: pulumi.Output[str]
    """Base URL of the API (its ``$default`` stage), without a trailing slash."""

    def __init__(self, name: str, args: HttpApiArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        check_args(f"HttpApi {name!r}", args, HttpApiArgs)
        super().__init__("sfn-patterns:index:HttpApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alarm_settings = alarms.settings_for(self, args.get("alarms"), opts)

        self.api: aws.apigatewayv2.Api = aws.apigatewayv2.Api(name, protocol_type="HTTP", opts=child)
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            # Under /aws/vendedlogs/, CloudWatch Logs does not add the group to the account's resource
            # policy (10 per account, 5,120 characters), which API Gateway's log delivery would fill.
            name_prefix=f"/aws/vendedlogs/apigateway/{name}-",
            retention_in_days=args.get("log_retention_days", 14),
            opts=child,
        )
        policy.suppress_all(access_logs, policy.LOG_GROUP_EXCEPTIONS)
        routes: list[aws.apigatewayv2.Route] = []
        self.routes: dict[str, aws.apigatewayv2.Route] = {}
        for route in args["routes"]:
            route_key = route["route_key"]
            method, path = route_key.split(" ", 1)
            slug = _slug(route_key)
            integration = aws.apigatewayv2.Integration(
                f"{name}-{slug}",
                api_id=self.api.id,
                integration_type="AWS_PROXY",
                integration_uri=route["function_arn"],
                integration_method="POST",
                payload_format_version="2.0",
                timeout_milliseconds=29000,
                opts=child,
            )
            routes.append(
                aws.apigatewayv2.Route(
                    f"{name}-{slug}",
                    api_id=self.api.id,
                    route_key=route_key,
                    target=integration.id.apply(lambda i: f"integrations/{i}"),
                    authorization_type=route.get("authorization_type", "NONE"),
                    opts=child,
                )
            )
            self.routes[route_key] = routes[-1]
            # The permission names this one route: {param} segments become '*'.
            source_path = re.sub(r"\{[^}]+\}", "*", path)
            aws.lambda_.Permission(
                f"{name}-{slug}",
                action="lambda:InvokeFunction",
                function=route["function_name"],
                principal="apigateway.amazonaws.com",
                source_arn=pulumi.Output.concat(self.api.execution_arn, f"/*/{method}{source_path}"),
                opts=child,
            )

        self.stage: aws.apigatewayv2.Stage = aws.apigatewayv2.Stage(
            f"{name}-default",
            api_id=self.api.id,
            name=DEFAULT_STAGE,
            auto_deploy=True,
            default_route_settings={
                "throttling_rate_limit": args.get("throttle_rate", 50),
                "throttling_burst_limit": args.get("throttle_burst", 100),
            },
            access_log_settings={"destination_arn": access_logs.arn, "format": ACCESS_LOG_FORMAT},
            opts=pulumi.ResourceOptions(parent=self, depends_on=routes),
        )
        self.alarms: list[aws.cloudwatch.MetricAlarm] = alarms.api_alarms(name, self.api, DEFAULT_STAGE, alarm_settings, child)
        self.url = self.api.api_endpoint
        self.register_outputs({"url": self.url})
