"""sfn-patterns: AWS Step Functions patterns as Pulumi components.

The library has two layers, and dependencies point one way (patterns use building blocks):

- :mod:`sfn_patterns.blocks`, the building blocks: :class:`HandlerFunction`, :class:`StateMachine`,
  :class:`HttpApi`, the grants in :mod:`sfn_patterns.blocks.iam`, the secure queues/topics/tables of
  :mod:`sfn_patterns.blocks.messaging` and the policy suppressions of :mod:`sfn_patterns.blocks.policy`;
- :mod:`sfn_patterns.patterns`, the patterns: :class:`Workflow`, :class:`IdempotentApi`,
  :class:`CallbackWorkflow`, :class:`MonitoredWorkflow` and :class:`PausableWorkflow`.

:mod:`sfn_patterns.demo` holds the demo stack's own pieces (its external service); it is not part of
the library.
"""

from sfn_patterns.blocks.function import HandlerFunction, HandlerFunctionArgs
from sfn_patterns.blocks.http_api import HttpApi, HttpApiArgs, RouteArgs
from sfn_patterns.blocks.state_machine import StateMachine, StateMachineArgs
from sfn_patterns.patterns.callback_workflow import CallbackWorkflow, CallbackWorkflowArgs
from sfn_patterns.patterns.idempotent_api import IdempotentApi, IdempotentApiArgs
from sfn_patterns.patterns.monitored_workflow import MonitoredWorkflow, MonitoredWorkflowArgs
from sfn_patterns.patterns.pausable_workflow import PausableWorkflow, PausableWorkflowArgs
from sfn_patterns.patterns.workflow import Workflow, WorkflowArgs, WorkflowDefinitionError

__all__ = [
    "CallbackWorkflow", "CallbackWorkflowArgs", "HandlerFunction", "HandlerFunctionArgs", "HttpApi",
    "HttpApiArgs", "IdempotentApi", "IdempotentApiArgs", "MonitoredWorkflow", "MonitoredWorkflowArgs",
    "PausableWorkflow", "PausableWorkflowArgs", "RouteArgs", "StateMachine", "StateMachineArgs",
    "Workflow", "WorkflowArgs", "WorkflowDefinitionError",
]
