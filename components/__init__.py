"""sfn-patterns: AWS Step Functions patterns as Pulumi components.

The library has two layers, and dependencies point one way (patterns use building blocks):

- :mod:`components.blocks`, the building blocks: :class:`HandlerFunction`, :class:`StateMachine`,
  :class:`HttpApi`, the grants in :mod:`components.blocks.iam`, the secure queues/topics/tables of
  :mod:`components.blocks.messaging` and the policy suppressions of :mod:`components.blocks.policy`;
- :mod:`components.patterns`, the patterns: :class:`Workflow`, :class:`IdempotentApi`,
  :class:`CallbackWorkflow`, :class:`MonitoredWorkflow` and :class:`PausableWorkflow`.

:mod:`components.demo` holds the demo stack's own pieces (its external service); it is not part of
the library.
"""

from components.blocks.function import HandlerFunction, HandlerFunctionArgs
from components.blocks.http_api import HttpApi, HttpApiArgs, RouteArgs
from components.blocks.state_machine import StateMachine, StateMachineArgs
from components.patterns.callback_workflow import CallbackWorkflow, CallbackWorkflowArgs
from components.patterns.idempotent_api import IdempotentApi, IdempotentApiArgs
from components.patterns.monitored_workflow import MonitoredWorkflow, MonitoredWorkflowArgs
from components.patterns.pausable_workflow import PausableWorkflow, PausableWorkflowArgs
from components.patterns.workflow import Workflow, WorkflowArgs, WorkflowDefinitionError

__all__ = [
    "CallbackWorkflow", "CallbackWorkflowArgs", "HandlerFunction", "HandlerFunctionArgs", "HttpApi",
    "HttpApiArgs", "IdempotentApi", "IdempotentApiArgs", "MonitoredWorkflow", "MonitoredWorkflowArgs",
    "PausableWorkflow", "PausableWorkflowArgs", "RouteArgs", "StateMachine", "StateMachineArgs",
    "Workflow", "WorkflowArgs", "WorkflowDefinitionError",
]
