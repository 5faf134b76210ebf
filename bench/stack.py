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

from components import PausableWorkflow

demo = runpy.run_path(str(Path(__file__).resolve().parent.parent / "__main__.py"))

lean = PausableWorkflow(
    "pausable-lean",
    {
        "preprocess": None,
        "postprocess": None,
        "pause_timeout_seconds": demo["config"].get_int("pauseTimeoutSeconds", 3600),
        "async_service_environment": {"JOB_SECONDS": f"{demo['pausable_job_seconds']:g}"},
        "async_service_timeout": int(demo["pausable_job_seconds"]) + 30,
        **demo["api_settings"],
    },
)

pulumi.export("endpoints", {**demo["endpoints"], "pausable-lean": lean.url})
pulumi.export(
    "stateMachines",
    {
        "chain": demo["chain"].arn,
        "composite": demo["composite"].arn,
        "callback": demo["callback"].state_machine_arn,
        "pausable": demo["pausable"].state_machine_arn,
        "monitored": demo["monitored"].state_machine_arn,
        "pausable-lean": lean.state_machine_arn,
    },
)
