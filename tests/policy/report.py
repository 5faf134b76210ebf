"""``python -m tests.policy.report``: the policy suite's results as the Markdown tables of docs/security.md.

Runs the program as configured for production, runs Checkov over it (tests/policy/checkov.py) and
every project rule on every resource it applies to, and prints: one row per Checkov check (resources
checked, passed, suppressed), a summary line, one row per project rule, and the suppressions grouped
by check and reason (with the components' reasons).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "handlers", ROOT / "handlers" / "demo"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
os.environ.setdefault("AWS_REGION", "us-east-1")

from tests.policy import checkov  # noqa: E402
from tests.policy.program import checkov_results, production  # noqa: E402
from tests.policy.rules import RULES  # noqa: E402
from tests.policy.terraform import address  # noqa: E402


#: Why a rule finds nothing to check in the demo stack (it is still proven on its violation case).
NOT_APPLICABLE = {
    "SQS-VISIBILITY": "no queue has a Lambda consumer: every queue is a dead-letter queue",
}


def main() -> None:
    """Print the tables."""
    program = production()
    by_address = {address(r): r for r in program.graph.resources if r.custom}
    checks: dict[str, dict[str, object]] = {}
    for result in checkov_results():
        resource = by_address.get(result.address)
        if resource is None:
            continue  # a canary
        row = checks.setdefault(result.check_id, {"name": result.check_name, "passed": 0, "suppressed": 0, "failed": 0})
        if result.passed:
            row["passed"] += 1  # type: ignore[operator]
        elif program.suppression(result.check_id, resource.type, resource.name):
            row["suppressed"] += 1  # type: ignore[operator]
        else:
            row["failed"] += 1  # type: ignore[operator]
    totals = {k: sum(int(row[k]) for row in checks.values()) for k in ("passed", "suppressed", "failed")}  # type: ignore[call-overload]
    print(f"Checkov {checkov.version()}, {len(checks)} checks on {len(by_address)} resources: "
          f"{totals['passed']} passed, {totals['suppressed']} failed and suppressed with a reason, {totals['failed']} failed.")
    print()
    print("| Checkov check | what it checks | resources | passed | suppressed | failed |")
    print("|---|---|---|---|---|---|")
    for check_id in sorted(checks, key=lambda c: (c.split("_")[0], int(c.rsplit("_", 1)[1]))):
        row = checks[check_id]
        total = int(row["passed"]) + int(row["suppressed"]) + int(row["failed"])  # type: ignore[call-overload]
        print(f"| `{check_id}` | {row['name']} | {total} | {row['passed']} | {row['suppressed']} | {row['failed']} |")
    print()
    print("| rule | what it checks | modelled on | resources checked | result |")
    print("|---|---|---|---|---|")
    for rule in RULES:
        targets = rule.targets(program.graph)
        failing = [r for r in targets if rule.check(r, program.graph)]
        suppressed = [r for r in failing if program.suppression(rule.id, r.type, r.name)]
        if failing and len(suppressed) == len(failing):
            result = f"pass ({len(suppressed)} suppressed)"
        elif failing:
            result = f"FAIL: {', '.join(r.name for r in failing if r not in suppressed)}"
        elif not targets:
            result = f"n/a in the demo stack ({NOT_APPLICABLE.get(rule.id, 'nothing to check')}); catches its violation case"
        else:
            result = "pass"
        print(f"| `{rule.id}` | {rule.rationale} | {rule.source} | {len(targets)} | {result} |")
    print()
    print("| suppressed check | resources | reason (in the component) |")
    print("|---|---|---|")
    groups: dict[tuple[str, str], list[str]] = {}
    for entry in program.suppressions:
        groups.setdefault((entry.rule_id, entry.reason), []).append(entry.resource_name)
    for (rule_id, reason), names in groups.items():
        shown = ", ".join(f"`{n}`" for n in names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        print(f"| `{rule_id}` | {len(names)}: {shown} | {reason} |")


if __name__ == "__main__":
    main()
