"""``python -m tests.policy.report``: the policy suite's results as the README's Markdown tables.

Runs the program as configured for production, checks every rule on every resource it applies to,
and prints one row per rule (what it checks, the checks it follows, how many resources, the result)
and one row per suppression (with the component's reason).
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

from tests.policy.program import production  # noqa: E402
from tests.policy.rules import RULES  # noqa: E402


#: Why a rule finds nothing to check in the demo stack (it is still proven on its violation case).
NOT_APPLICABLE = {
    "SQS-VISIBILITY": "no queue has a Lambda consumer: every queue is a dead-letter queue",
    "DDB-PITR": "the 3 tables hold only task tokens, which expire with their wait (TTL)",
}


def main() -> None:
    """Print the tables."""
    program = production()
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
    print("| suppressed rule | resource | reason (in the component) |")
    print("|---|---|---|")
    for entry in program.suppressions:
        print(f"| `{entry.rule_id}` | `{entry.resource_name}` ({entry.resource_type.split(':')[-1]}) | {entry.reason} |")


if __name__ == "__main__":
    main()
