"""The patterns' contracts: every name and rule that crosses the component/handler line, defined once.

A component (Pulumi, ``sfn_patterns.patterns.*``) writes these names into what it deploys:
environment variables of a Lambda, error names in its ASL's Retry/Catch/Fail states, attribute
names of the rows its state machine writes, the limits and timeouts it accepts. The Lambda
handlers (``handlers/``) read the same names back. Both import them from here, so a value can be
followed from the component's config to the ASL to the handler by one name.

- :mod:`sfn_patterns.contracts.common`: what several patterns share (execution-name rule, Step
  Functions' limits, the ``AwsServiceUnavailable`` error, the token row, the environment
  variables every pattern uses);
- :mod:`sfn_patterns.contracts.timeouts`: the one timeout rule (the components apply it);
- :mod:`sfn_patterns.contracts.callback`: ``CallbackWorkflow``;
- :mod:`sfn_patterns.contracts.monitored`: ``MonitoredWorkflow``;
- :mod:`sfn_patterns.contracts.pausable`: ``PausableWorkflow``;
- :mod:`sfn_patterns.contracts.idempotent`: ``IdempotentApi``.

Every module here is standard library only and imports nothing else of the package, so a Lambda
archive carries it (with an empty ``sfn_patterns/__init__.py``: ``sfn_patterns.blocks.function.PACKAGE_INIT_IN_ARCHIVES``)
and a handler imports it as ``from sfn_patterns.contracts import callback``.
This ``__init__`` imports nothing on purpose.
"""
