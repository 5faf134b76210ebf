"""``IdempotentApi``: an HTTP API that starts a named execution of a workflow once, and reads it.

Routes (seed 000's contract):

- ``POST /workflow`` ``{"name", "input"}`` (or the name in an ``Idempotency-Key`` header):
  201 new execution, 200 same name and input again, 409 same name with another input, 400 bad input.
- ``GET /workflow/{name}``: status, input, output, error, cause and dates; 404 for an unknown name.
"""

from typing import Optional, Required

import pulumi

from sfn_patterns.blocks import iam
from sfn_patterns.blocks.function import HandlerFunction
from sfn_patterns.blocks.http_api import ApiArgs, HttpApi, api_function, function_api
from sfn_patterns.contracts import idempotent


class IdempotentApiArgs(ApiArgs, total=False):
    """Arguments of :class:`IdempotentApi` (``authorization_type`` covers both routes, GET included)."""

    state_machine_arn: Required[pulumi.Input[str]]
    """ARN of the Standard workflow the API starts."""


class IdempotentApi(pulumi.ComponentResource):
    """An HTTP API fronting one Standard workflow: start by name exactly once, read by name."""

    # Only outputs are annotated here (the component schema is inferred from them); a Python program
    # also reaches the child components ``function`` and ``http_api``.
    url: pulumi.Output[str]
    """Base URL of the HTTP API (``POST {url}/workflow``, ``GET {url}/workflow/{name}``)."""

    def __init__(self, name: str, args: IdempotentApiArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("sfn-patterns:index:IdempotentApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        state_machine_arn = args["state_machine_arn"]
        retention = args.get("log_retention_days", 14)

        self.function: HandlerFunction = api_function(
            f"{name}-handler",
            {
                "handler": "idempotent_api",
                "environment": {idempotent.ENV_STATE_MACHINE_ARN: state_machine_arn},
                "statements": iam.grant_start_execution(state_machine_arn),
                "log_retention_days": retention,
            },
            opts=child,
        )
        authorization = args.get("authorization_type", "AWS_IAM")
        routes = {"POST /workflow": authorization, "GET /workflow/{name}": authorization}
        self.http_api: HttpApi = function_api(f"{name}-api", self.function, routes, args, child)
        self.url = self.http_api.url
        self.register_outputs({"url": self.url})
