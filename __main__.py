"""The demo stack: one of each pattern, wired to demo external services.

Exports ``endpoints`` (pattern name -> base URL of its HTTP API) and the state machine ARNs.
Settings come from the stack config (``Pulumi.<stack>.yaml``, key prefix ``sfn-patterns:``).
"""

import pulumi

from components import IdempotentApi, Workflow

config = pulumi.Config()
retention = config.get_int("logRetentionDays") or 14
api_settings = {
    "throttle_rate": config.get_float("apiThrottleRate") or 50,
    "throttle_burst": config.get_int("apiThrottleBurst") or 100,
    "log_retention_days": retention,
    # AWS_IAM (the components' default) makes callers sign state-changing requests with SigV4.
    "authorization_type": config.get("apiAuthorization") or "AWS_IAM",
}

# Seed 001's chain (reverse, then shout) and seed 000's composite (the chain per item, as child executions).
chain = Workflow("chain", {"definition_file": "chain.yaml", "log_retention_days": retention})
composite = Workflow(
    "composite",
    {"definition_file": "composite.yaml", "workflows": {"chain": chain.arn}, "log_retention_days": retention},
)
chain_api = IdempotentApi("chain-api", {"state_machine_arn": chain.arn, **api_settings})
composite_api = IdempotentApi("composite-api", {"state_machine_arn": composite.arn, **api_settings})

endpoints = {
    "chain": chain_api.url,
    "composite": composite_api.url,
}
pulumi.export("endpoints", endpoints)
pulumi.export("stateMachines", {"chain": chain.arn, "composite": composite.arn})
