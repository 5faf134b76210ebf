"""The seed designs' figures per happy-path execution, counted by hand from the designs as published.

Each count says where it comes from. The seeds' write-ups are in shared/seeds/; the counts below were
read from the code they link to (the CDK stacks, ASL files and Lambda sources of those repositories,
at the commits named in ``source``). Every seed Lambda is priced as published: x86_64 (the CDK and
console default), 128 MB (CDK default; seed 004 sets 128 explicitly; seed 001's console-created
function shows 128). Seed 000 fronts its workflows with API Gateway REST APIs (``restApi``), priced
at the REST API rate. Step Functions API calls (StartExecution, SendTaskSuccess, DescribeExecution)
are listed for completeness and are not billed.

Where our pattern combines two seeds (the chain behind seed 000's idempotent API), or where a seed's
child workflow differs from ours (seed 000's composite runs its callback workflow per item), the
seed figure is built so that both sides do the same work; each such choice is written in ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.costs import dynamodb_units

SEED_MEMORY_MB = 128
SEED_ARCHITECTURE = "x86_64"

SEED_000 = "rrevo/workflows (shared/seeds/000): lib/workflows-stack.ts @60185a3, lib/workflows-idempotent.ts @602cdc5, lambdas/*"
SEED_001 = "anttitakalahti/aws-playground (shared/seeds/001): step-functions/stepfunction_definition.json @ec709a7"
SEED_003 = ("aws-samples/step-functions-workflows-collection (shared/seeds/003): event-driven-workflow-monitor/"
            "statemachine/statemachine.asl.json, cdk/lib/workflowmonitor-stack.ts, lambda-source/*")
SEED_004 = "awant/aws-pausable-step-function (shared/seeds/004): lib/pausable-step-function-stack.ts, assets/app/*.py @45a9e55"


@dataclass
class Count:
    """One counted item: what, how many per execution, and why."""

    what: str
    count: int
    why: str


@dataclass
class SeedDesign:
    """A seed design's happy path, item by item."""

    name: str
    source: str
    states: list[Count]
    lambdas: list[Count]
    dynamodb: list[Count] = field(default_factory=list)
    sns: list[Count] = field(default_factory=list)
    sqs: list[Count] = field(default_factory=list)
    eventbridge: list[Count] = field(default_factory=list)
    rest_api: list[Count] = field(default_factory=list)
    http_api: list[Count] = field(default_factory=list)
    unbilled: list[Count] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """The figure set (see :mod:`bench.costs`) of one execution."""
        functions: dict[str, dict[str, Any]] = {}
        for item in self.lambdas:
            spec = functions.setdefault(
                item.what, {"invocations": 0, "memoryMb": SEED_MEMORY_MB, "architecture": SEED_ARCHITECTURE}
            )
            spec["invocations"] += item.count
        by_action: dict[str, int] = {}
        for item in self.dynamodb:
            action = item.what.split(" ")[0]
            by_action[action] = by_action.get(action, 0) + item.count
        return {
            "design": self.name,
            "source": self.source,
            "transitions": sum(c.count for c in self.states),
            "childTransitions": sum(c.count for c in self.states if c.what.startswith("child ")),
            "lambda": {"invocations": sum(c.count for c in self.lambdas), "functions": functions},
            "dynamodb": {**dynamodb_units(by_action), "byAction": by_action},
            "sns": sum(c.count for c in self.sns),
            "sqs": sum(c.count for c in self.sqs),
            "eventbridge": sum(c.count for c in self.eventbridge),
            "httpApi": sum(c.count for c in self.http_api),
            "restApi": sum(c.count for c in self.rest_api),
            "unbilled": {c.what: c.count for c in self.unbilled},
            "counted": {
                group: [vars(c) for c in getattr(self, group)]
                for group in ("states", "lambdas", "dynamodb", "sns", "sqs", "eventbridge", "rest_api", "http_api", "unbilled")
                if getattr(self, group)
            },
            "notes": list(self.notes),
        }


# Seed 001's chain as published: Pass -> Lambda Invoke (1) [reverse] -> Pass (2) -> Lambda Invoke [hello-world] -> Pass (1).
_CHAIN_STATES = [
    ("Pass", "Pass state: the definition's first state, passes the input on"),
    ("Lambda Invoke (1)", "Task lambda:invoke of the 'reverse' function"),
    ("Pass (2)", "Pass state mapping $.body to payload between the two Lambdas"),
    ("Lambda Invoke", "Task lambda:invoke of the 'hello-world' (uppercase) function"),
    ("Pass (1)", "Pass state ending the execution"),
]


def _chain_states(prefix: str = "", times: int = 1) -> list[Count]:
    return [Count(f"{prefix}{name}", times, why) for name, why in _CHAIN_STATES]


def _chain_lambdas(prefix: str = "", times: int = 1) -> list[Count]:
    return [
        Count(f"{prefix}reverse", times, "seed 001's 'reverse' function, invoked by 'Lambda Invoke (1)'"),
        Count(f"{prefix}hello-world", times, "seed 001's 'hello-world' function (uppercases), invoked by 'Lambda Invoke'"),
    ]


SEEDS: dict[str, SeedDesign] = {
    "chain": SeedDesign(
        name="seed 000 idempotent API + seed 001 chain",
        source=f"{SEED_000}; {SEED_001}",
        states=_chain_states(),
        lambdas=[
            Count("IdempotentWorkflowStartHandler", 1,
                  "seed 000's start-idempotent.js behind POST /workflow: StartExecution with the caller's name "
                  "(DescribeExecution only when the name exists)"),
            *_chain_lambdas(),
        ],
        rest_api=[Count("POST /workflow", 1, "seed 000's WorkflowIdempotentApi (API Gateway REST API)")],
        unbilled=[Count("states:StartExecution", 1, "by the start Lambda")],
        notes=[
            "Seed 000's idempotent workflow is a single Pass ('noop'); ours fronts the chain, so the seed figure "
            "is seed 000's API + start Lambda in front of seed 001's chain as published (5 states, 2 Lambdas).",
        ],
    ),
    "composite": SeedDesign(
        name="seed 000 composite (children: seed 001 chain)",
        source=f"{SEED_000}; {SEED_001}",
        states=[
            Count("Init Composite", 1, "Pass state before the Map"),
            Count("Map State", 1, "the Map state itself (iterates the input array)"),
            Count("Sub Workflow", 2, "Task states:startExecution.sync (RUN_JOB), one per item (2 items)"),
            Count("Finalize Composite", 1, "Pass state after the Map"),
            *_chain_states("child ", 2),
        ],
        lambdas=[
            Count("CompositeWorkflowStartHandler", 1, "start-composite.js behind POST /compositeWorkflows: StartExecution"),
            *_chain_lambdas("child ", 2),
        ],
        rest_api=[Count("POST /compositeWorkflows", 1, "seed 000's WorkflowApi (REST API)")],
        unbilled=[Count("states:StartExecution", 3, "1 by the start Lambda, 1 per child by the Map")],
        notes=[
            "Seed 000's Map runs its callback Workflow per item (each child needs an external callback); our composite "
            "runs the chain. To compare the composite's own design on the same work, each seed child is counted as "
            "seed 001's chain as published (5 states, 2 Lambdas); child transitions are included in the total.",
        ],
    ),
    "callback": SeedDesign(
        name="seed 000 callback workflow",
        source=SEED_000,
        states=[
            Count("Init", 1, "Pass state"),
            Count("Invoke with callback", 1, "Task lambda:invoke.waitForTaskToken on WorkflowExternalCaller"),
            Count("Finalize", 1, "Pass state"),
        ],
        lambdas=[
            Count("WorkflowStartHandler", 1, "start.js behind POST /workflows: StartExecution"),
            Count("WorkflowExternalCaller", 1, "externalCall.js: POSTs the raw task token to the external service's API"),
            Count("ServiceCallbackHandler", 1, "the external service (callback.js): PUTs the token back to the workflow API"),
            Count("WorkflowCompleteHandler", 1, "complete.js behind PUT /workflows/{workflow}: SendTaskSuccess"),
        ],
        rest_api=[
            Count("POST /workflows", 1, "WorkflowApi: the client starts the workflow"),
            Count("POST / (ServiceApi)", 1, "the external service's own REST API, called by WorkflowExternalCaller"),
            Count("PUT /workflows/{workflow}", 1, "WorkflowApi: the external service calls back"),
        ],
        unbilled=[Count("states:StartExecution", 1, "start Lambda"), Count("states:SendTaskSuccess", 1, "complete Lambda")],
        notes=["The external service is part of the seed's demo (its own REST API + Lambda), as ours is (SNS + Lambda)."],
    ),
    "monitored": SeedDesign(
        name="seed 003 workflow monitor (graceful stop)",
        source=SEED_003,
        states=[
            Count("executeParallel", 1, "the Parallel state"),
            Count("StartWorkflowMonitoring", 1, "Task aws-sdk:dynamodb:putItem.waitForTaskToken (monitor branch)"),
            Count("YourWorkGoesHere", 1, "Wait state (work branch)"),
            Count("StopWorkflowMontoring", 1, "Task events:putEvents.waitForTaskToken (work branch)"),
        ],
        lambdas=[
            Count("monitoringStopHandler", 1,
                  "EventBridge rule target on the stop event: GetItem token, SendTaskSuccess x2, DeleteItem"),
        ],
        dynamodb=[
            Count("PutItem (StartWorkflowMonitoring)", 1, "the state machine stores workflowkey + task token directly"),
            Count("GetItem (stop handler)", 1, "reads the monitor's token"),
            Count("DeleteItem (stop handler)", 1, "removes the row after both SendTaskSuccess"),
        ],
        eventbridge=[Count("PutEvents StopWorkflowMonitoring", 1, "by the state machine (custom bus)")],
        unbilled=[Count("states:SendTaskSuccess", 2, "monitor task + the putEvents task")],
        notes=["Seed 003 has no HTTP API: executions are started from the console/CLI (StartExecution is not billed)."],
    ),
    "pausable": SeedDesign(
        name="seed 004 pausable step function (automatic resume)",
        source=SEED_004,
        states=[
            Count("Preprocessing", 1, "Pass state (dummy preprocessing)"),
            Count("Long job execution", 1, "Task lambda:invoke.waitForTaskToken on CallAsyncServiceLambda"),
            Count("Post processing", 1, "Pass state (dummy post processing)"),
        ],
        lambdas=[
            Count("CallAsyncServiceLambda", 1,
                  "runs the long job itself (time.sleep(10), not billed here: see the assumptions) and publishes the token"),
            Count("ResumeStepFunctionLambda", 1, "SNS-subscribed: SendTaskSuccess with the token from the message"),
        ],
        sns=[Count("Publish to CallbackTopicToUnpauseSfn", 1, "by the call Lambda, carrying the raw token")],
        unbilled=[Count("states:SendTaskSuccess", 1, "resume Lambda")],
        notes=["Seed 004 has no HTTP API: executions are started from the console/CLI (StartExecution is not billed)."],
    ),
}


def seed_figures(pattern: str) -> dict[str, Any]:
    """The figure set of the seed design ``pattern`` comes from."""
    return SEEDS[pattern].figures()
