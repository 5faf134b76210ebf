"""``python -m bench``: what each pattern costs per execution, beside its seed design, and how the program scales.

Runs each pattern's happy path on the local stack (``python -m local`` in a subprocess), counts
transitions from the execution histories and every billable request from the stack's counters,
prices them with ``bench/prices.json``, and puts the seed designs' figures (``bench/seeds.py``)
beside them. Then: every Lambda's archive size and import time, and the program's evaluation time
under mocks at 1, 10 and 50 instances of every component. Markdown by default, JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.costs import load_prices, priced  # noqa: E402
from bench.runner import SCENARIOS  # noqa: E402
from bench.seeds import seed_figures  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Cost per execution of each pattern on the local stack beside its seed design; Lambda "
        "archive sizes and import times; program evaluation time under mocks.",
    )
    parser.add_argument("--runs", type=int, default=None, metavar="N", help="executions per pattern (default 3; --quick: 1)")
    parser.add_argument("--quick", action="store_true",
                        help="fast mode for CI (under a minute): 1 run, 1 import per handler, scales 1 and 5")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of Markdown")
    parser.add_argument("--patterns", default=",".join(SCENARIOS), help="comma-separated patterns to run (default: all)")
    parser.add_argument("--import-repeats", type=int, default=None, metavar="N",
                        help="fresh imports per handler module (default 5; --quick: 1)")
    parser.add_argument("--scales", default=None, metavar="N,N,...",
                        help="instances of every component in the generated programs (default 1,10,50; --quick: 1,5)")
    parser.add_argument("--skip", default="", metavar="PART,...",
                        help="leave out parts: patterns, lambdas, program (comma-separated)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def ratio(ours: float, seed: float) -> Optional[float]:
    """ours / seed, rounded (None when the seed figure is 0)."""
    return round(ours / seed, 3) if seed else None


def compare(scenario: str, measured: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any]:
    """Ours and the seed's priced figures for one scenario, and the ratios ours / seed."""
    seed_pattern = SCENARIOS[scenario].seed
    ours = priced({"design": "ours", **measured["perExecution"]}, prices)
    seed = priced(seed_figures(seed_pattern), prices)
    return {
        "scenario": measured["scenario"],
        "seedPattern": seed_pattern,
        "ours": ours,
        "seed": seed,
        "ratio": {
            "transitions": ratio(ours["transitions"], seed["transitions"]),
            "lambdaInvocations": ratio(ours["lambda"]["invocations"], seed["lambda"]["invocations"]),
            # The seeds' log ingestion is not measured: compared without logs.
            "cost": ratio(ours["costPerMillion"]["comparable"], seed["costPerMillion"]["comparable"]),
        },
        "runs": measured["runs"],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark parts asked for; the result dict (what ``--json`` prints)."""
    started = time.monotonic()
    runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    repeats = args.import_repeats if args.import_repeats is not None else (1 if args.quick else 5)
    scales = [int(s) for s in (args.scales or ("1,5" if args.quick else "1,10,50")).split(",") if s.strip()]
    patterns = [p.strip() for p in args.patterns.split(",") if p.strip()]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = [p for p in patterns if p not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown pattern(s): {', '.join(unknown)} (known: {', '.join(SCENARIOS)})")
    if runs < 1 or repeats < 1 or not scales or min(scales) < 1:
        raise SystemExit("--runs, --import-repeats and --scales must be positive")

    def log(message: str) -> None:
        if not args.quiet:
            print(f"[bench {time.monotonic() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    prices = load_prices()
    command = " ".join(["python -m bench"] + [a for a in (args.argv or []) if a != "--quiet"])
    result: dict[str, Any] = {
        "command": command,
        "mode": "quick" if args.quick else "full",
        "runs": runs,
        "prices": {"taken": prices["taken"], "fetchedLive": prices["fetchedLive"], "assumptions": prices["assumptions"],
                   "usd": {k: v["usd"] for k, v in prices["prices"].items()}},
    }

    if "lambdas" not in skip or "program" not in skip:
        from local.program import FakeCloud, run_program

        if "program" not in skip:
            from bench.program import measure_program

            log("program evaluation")
            result["program"] = measure_program(scales, 1 if args.quick else 3, log)
        if "lambdas" not in skip:
            from bench.lambdas import measure_lambdas

            log("Lambda archives and import times")
            result["lambdas"] = measure_lambdas(run_program(FakeCloud()), repeats, log)

    if "patterns" not in skip:
        from bench.runner import measure_patterns

        log("starting the local stack")
        measured = measure_patterns(patterns, runs, log)
        result["localStack"] = {"startupSeconds": measured["startupSeconds"], "config": measured["config"]}
        from bench.logs import monthly_costs

        result["monthly"] = monthly_costs(measured["alarms"], measured["dashboards"], prices)
        result["patterns"] = {p: compare(p, m, prices) for p, m in measured["patterns"].items()}

    result["elapsedSeconds"] = round(time.monotonic() - started, 1)
    return result


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        from bench.report import markdown

        print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
