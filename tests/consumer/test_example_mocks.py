"""examples/consumer under Pulumi mocks, in the fresh venv that holds only the wheel: its outputs and resources."""

import json
from typing import Any

from tests.consumer.conftest import EXAMPLE, ROOT, Installed

# The mocks (local.program.FakeCloud) come from the repository; sfn_patterns from the wheel.
RUN = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from local.program import FakeCloud, run_program
import sfn_patterns
from sfn_patterns.blocks.function import HANDLERS_DIR, archive_files
run = run_program(FakeCloud(), Path({str(EXAMPLE / "__main__.py")!r}),
                  config={{"sfn-patterns-consumer:alarmEmail": "oncall@example.com"}})
own = Path({str(EXAMPLE / "handlers")!r})

def code(function):
    # The archive carries each file's stripped text; archive_files says which file each came from.
    module = function.inputs["handler"].rsplit(".", 1)[0]
    files = archive_files(module, own if (own / f"{{module}}.py").is_file() else HANDLERS_DIR)
    carried = {{name: asset.text for name, asset in function.inputs["code"].assets.items()}}
    assert carried == {{name: text for name, (_, text) in files.items()}}, function.name
    return json.dumps({{name: str(path) for name, (path, _) in files.items()}})

print(json.dumps({{
    "library": sfn_patterns.__file__,
    "outputs": run.outputs,
    "components": sorted({{r.type for r in run.resources if not r.custom}}),
    "dashboards": [json.loads(r.inputs["dashboardBody"]) for r in run.of_type("aws:cloudwatch/dashboard:Dashboard")],
    "subscriptions": [(r.inputs["protocol"], r.inputs["endpoint"], r.inputs["topic"])
                      for r in run.of_type("aws:sns/topicSubscription:TopicSubscription")],
    "alarms": [r.inputs.get("alarmActions") for r in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")],
    "functions": {{r.name: {{"handler": r.inputs["handler"], "code": code(r)}}
                  for r in run.of_type("aws:lambda/function:Function")}},
}}))
"""


def _run(installed: Installed) -> dict[str, Any]:
    return json.loads(installed.run(RUN).stdout.strip().splitlines()[-1])


def test_the_example_declares_every_component_with_its_own_code(installed: Installed) -> None:
    found = _run(installed)
    venv = str(installed.python.parent.parent)
    assert found["library"].startswith(venv)
    endpoints = found["outputs"]["endpoints"]
    assert set(endpoints) == {"orders", "approval", "render", "shipping"}
    assert all(url.startswith("https://") and url.endswith(".execute-api.us-east-1.amazonaws.com") for url in endpoints.values())
    assert set(found["outputs"]["stateMachines"]) == {"orders", "approval", "render", "shipping"}
    assert {f"sfn-patterns:index:{c}" for c in ("Workflow", "IdempotentApi", "CallbackWorkflow", "PausableWorkflow",
                                                "MonitoredWorkflow")} <= set(found["components"])
    functions = found["functions"]
    own = {
        "orders-validate-order": "validate_order.handler",
        "orders-price-order": "price_order.handler",
        "approval-prepare-approval": "prepare_approval.handler",
        "approval-record-decision": "record_decision.handler",
        "render-async-service": "render_job.handler",
        "render-postprocess": "publish_render.handler",
        "shipping-work": "ship.handler",
    }
    for name, handler in own.items():
        assert functions[name]["handler"] == handler
        # Built from the example's own handlers/ folder.
        assert str(EXAMPLE / "handlers" / handler.split(".")[0]) + ".py" in functions[name]["code"], functions[name]
    # The patterns' own Lambdas come from the installed package, never from the repository.
    for name in ("approval-register", "approval-api", "render-pause", "shipping-events", "orders-api-handler"):
        assert venv in functions[name]["code"] and str(ROOT / "handlers") not in functions[name]["code"], name
    assert "render-preprocess" not in functions  # not given: no preprocessing step


def test_the_example_has_one_dashboard_and_its_alarms_reach_on_call(installed: Installed) -> None:
    found = _run(installed)
    topic = found["outputs"]["alarmTopic"]
    assert len(found["dashboards"]) == 1 and found["outputs"]["dashboard"]
    widgets = json.dumps(found["dashboards"][0])
    for machine in found["outputs"]["stateMachines"].values():
        assert machine in widgets  # each workflow's executions, by its ARN
    assert ("email", "oncall@example.com", topic) in [tuple(s) for s in found["subscriptions"]]
    assert found["alarms"] and all(actions == [topic] for actions in found["alarms"])
