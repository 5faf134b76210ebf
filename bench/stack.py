"""The benchmark's stack: the demo stack (``__main__.py``) unchanged, plus the design variants it measures.

Run by the benchmark as ``python -m local --program bench/stack.py`` (the project's ``Pulumi.yaml``
and stack config apply). Variants, exported beside the demo's patterns in ``endpoints`` and
``stateMachines``:

- ``pausable-lean``: a :class:`PausableWorkflow` without its optional steps (no ``preprocess``
  nor ``postprocess``), otherwise configured as the demo's ``pausable``: the pause alone.
- ``composite-express``: the composite with the chain run as a synchronous Express child
  (``workflows/composite_express.yaml`` over the chain deployed as ``EXPRESS``), behind an
  :class:`IdempotentApi` as the demo's composite is.
"""

import runpy
from pathlib import Path

import pulumi

from sfn_patterns import IdempotentApi, PausableWorkflow, Workflow

demo = runpy.run_path(str(Path(__file__).resolve().parent.parent / "__main__.py"))

lean_args = {k: v for k, v in demo["pausable_args"].items() if k not in ("preprocess", "postprocess")}
lean = PausableWorkflow("pausable-lean", lean_args)

chain_express = Workflow("chain-express", {"definition_file": "chain.yaml", **demo["own_code"], "type": "EXPRESS"})
composite_express = Workflow(
    "composite-express", {"definition_file": "composite_express.yaml", "workflows_dir": demo["WORKFLOWS_DIR"], "workflows": {"chain": chain_express.arn}}
)
composite_express_api = IdempotentApi("composite-express-api", {"state_machine_arn": composite_express.arn})

pulumi.export("endpoints", {**demo["endpoints"], "pausable-lean": lean.url, "composite-express": composite_express_api.url})
pulumi.export("stateMachines", {
    **demo["state_machines"], "pausable-lean": lean.state_machine_arn, "composite-express": composite_express.arn,
})
