"""``IdempotentApi``'s contract between the component and its ``idempotent_api`` Lambda.

Config -> handler: the component's ``state_machine_arn`` -> :data:`ENV_STATE_MACHINE_ARN` of the
Lambda, which starts executions of it named by the request's ``name`` (or the
:data:`IDEMPOTENCY_KEY_HEADER`), following :data:`sfn_patterns.contracts.common.EXECUTION_NAME_RULE`.
"""

from __future__ import annotations

from sfn_patterns.contracts.common import ENV_STATE_MACHINE_ARN

__all__ = ["ENV_STATE_MACHINE_ARN", "IDEMPOTENCY_KEY_HEADER"]

#: Request header that may name the execution instead of the body's ``name`` (lower case).
IDEMPOTENCY_KEY_HEADER = "idempotency-key"
