"""IdempotentApi routes: start a named execution once (``POST /workflow``) and read it (``GET /workflow/{name}``);
list (``GET /workflow``), cancel (``DELETE /workflow/{name}``) and redrive (``POST /workflow/{name}/redrive``)
through ``common.operations``.

Environment (``sfn_patterns.contracts.idempotent``): ``STATE_MACHINE_ARN``, the workflow the API
fronts; ``TABLE_NAME``, its start claims; ``MAP_ITEMS_LIMIT`` (optional), the
:class:`~sfn_patterns.contracts.idempotent.MapItemsLimit` of an input array the workflow maps over
(400 ``InvalidInput``, ``TooManyItems`` or ``ResultTooLarge`` past it, before anything starts).

``created`` (and 201) is told to exactly one caller of a name, however many race (a conditional
start claim in ``TABLE_NAME``: ``common.executions``); an execution input over 256 KiB is a 413.
"""

from __future__ import annotations

import os

from common import env, executions, operations
from common.http import Request, Response, Router, bad_request, json_response, not_found
from common.validation import optional_object, require_name
from sfn_patterns.contracts import idempotent

router = Router()


@router.route("POST /workflow")
def start(request: Request) -> Response:
    """Start the execution named by ``name`` (or the ``Idempotency-Key`` header) with ``input``."""
    body = request.json_object()
    header_name = request.header(idempotent.IDEMPOTENCY_KEY_HEADER)
    if header_name is not None and "name" in body and body["name"] != header_name:
        raise bad_request("NameMismatch", "'name' and the Idempotency-Key header differ")
    name = require_name(body.get("name", header_name), "name")
    execution_input = optional_object(body, "input")
    limit = os.environ.get(idempotent.ENV_MAP_ITEMS)
    if limit:
        problem = idempotent.map_limit_problem(idempotent.MapItemsLimit.from_json(limit), execution_input)
        if problem is not None:
            raise bad_request(*problem)
    description, created = executions.start_once(
        env.require(idempotent.ENV_STATE_MACHINE_ARN), name, execution_input, env.require(idempotent.ENV_TABLE_NAME)
    )
    return json_response(
        201 if created else 200,
        {
            "name": name,
            "executionArn": description["executionArn"],
            "status": description["status"],
            "created": created,
        },
    )


@router.route("GET /workflow/{name}")
def get(request: Request) -> Response:
    """Status, input, output (parsed), error, cause and dates of the named execution."""
    name = require_name(request.path("name"), "name")
    description = executions.describe(env.require(idempotent.ENV_STATE_MACHINE_ARN), name)
    if description is None:
        raise not_found(f"no execution named {name!r}")
    return json_response(200, executions.view(description))


operations.register(router, "workflow", "name")

handler = router.handler
