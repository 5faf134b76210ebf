"""Program evaluation: ``__main__.py`` under Pulumi mocks, and generated programs of N instances.

Every run uses :func:`local.program.run_program` / :func:`local.program.run_inline` with
:class:`local.program.FakeCloud` (no AWS, no engine): the time is what the Python program and the
Pulumi SDK spend declaring the resources. A first (untimed) run of ``__main__.py`` warms the imports.

The generated program declares N instances of every component, as ``__main__.py`` does once: the
two YAML workflows (chain, composite), two IdempotentApis, a CallbackWorkflow with the demo external
service, a PausableWorkflow and a MonitoredWorkflow; then, once, the stack's dashboard (the stack's
alarm topic is also there once). Growth is linear when the time and resource count per instance stay
flat as N grows.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Callable

#: The demo's own handler modules and workflow files (what ``__main__.py`` passes too).
ROOT = Path(__file__).resolve().parent.parent
DEMO_CODE = {"handlers_dir": str(ROOT / "handlers" / "demo"), "workflows_dir": str(ROOT / "workflows")}
DEMO_PAUSABLE_STEPS = {
    "preprocess": {"handler": "pausable_preprocess"},
    "async_service": {"handler": "pausable_async_service"},
    "postprocess": {"handler": "pausable_postprocess"},
}


def build_instances(count: int) -> Callable[[], None]:
    """A Pulumi program declaring ``count`` instances of every component of the demo stack."""

    def program() -> None:
        import pulumi

        from sfn_patterns import CallbackWorkflow, IdempotentApi, MonitoredWorkflow, PausableWorkflow, StackDashboard, Workflow
        from sfn_patterns.demo.external_service import DemoExternalService

        urls = {}
        for i in range(count):
            chain = Workflow(f"chain-{i}", {"definition_file": "chain.yaml", **DEMO_CODE})
            composite = Workflow(
                f"composite-{i}", {"definition_file": "composite.yaml", "workflows": {"chain": chain.arn}, **DEMO_CODE}
            )
            urls[f"chain-{i}"] = IdempotentApi(f"chain-api-{i}", {"state_machine_arn": chain.arn}).url
            urls[f"composite-{i}"] = IdempotentApi(f"composite-api-{i}", {"state_machine_arn": composite.arn}).url
            callback = CallbackWorkflow(f"callback-{i}", {})
            DemoExternalService(f"external-service-{i}", {"topic_arn": callback.topic_arn})
            urls[f"callback-{i}"] = callback.url
            urls[f"pausable-{i}"] = PausableWorkflow(f"pausable-{i}", {"handlers_dir": DEMO_CODE["handlers_dir"], **DEMO_PAUSABLE_STEPS}).url
            urls[f"monitored-{i}"] = MonitoredWorkflow(f"monitored-{i}", {"work_seconds": 30}).url
        StackDashboard("dashboard", {})
        pulumi.export("endpoints", urls)

    return program


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def measure_program(scales: list[int], main_repeats: int, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Time ``__main__.py`` (median of ``main_repeats``) and one generated program per scale."""
    from local.program import FakeCloud, run_inline, run_program

    cold, first = _timed(lambda: run_program(FakeCloud()))
    samples = [_timed(lambda: run_program(FakeCloud()))[0] for _ in range(main_repeats)]
    main = {
        "seconds": round(statistics.median(samples), 3),
        "samples": [round(s, 3) for s in samples],
        "firstRunSeconds": round(cold, 3),
        "resources": len(first.resources),
        "customResources": sum(1 for r in first.resources if r.custom),
        "endpoints": sorted(first.outputs.get("endpoints", {})),
    }
    log(f"__main__.py: {main['resources']} resources in {main['seconds']} s")
    scaled = []
    for count in scales:
        seconds, run = _timed(lambda: run_inline(FakeCloud(), build_instances(count)))
        resources = len(run.resources)
        scaled.append(
            {
                "instances": count,
                "seconds": round(seconds, 3),
                "resources": resources,
                "customResources": sum(1 for r in run.resources if r.custom),
                "secondsPerInstance": round(seconds / count, 4),
                "resourcesPerInstance": round(resources / count, 2),
            }
        )
        log(f"{count} instance(s): {resources} resources in {seconds:.2f} s")
    return {"main": main, "scaling": scaled}
