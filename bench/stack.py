"""The benchmark's stack: the demo stack (``__main__.py``) unchanged, plus the design variants it measures.

Run by the benchmark as ``python -m local --program bench/stack.py`` (the project's ``Pulumi.yaml``
and stack config apply). Variants, exported beside the demo's patterns in ``endpoints`` and
``stateMachines``:

- ``pausable-lean``: a :class:`PausableWorkflow` without its optional steps (``preprocess=None``,
  ``postprocess=None``), otherwise configured as the demo's ``pausable``: the pause alone.
"""

import runpy
from pathlib import Path

import pulumi

from sfn_patterns import PausableWorkflow

demo = runpy.run_path(str(Path(__file__).resolve().parent.parent / "__main__.py"))

lean = PausableWorkflow("pausable-lean", {**demo["pausable_args"], "preprocess": None, "postprocess": None})

pulumi.export("endpoints", {**demo["endpoints"], "pausable-lean": lean.url})
pulumi.export("stateMachines", {**demo["state_machines"], "pausable-lean": lean.state_machine_arn})
