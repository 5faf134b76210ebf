"""sfn-patterns: AWS Step Functions patterns as Pulumi components.

Building blocks: :class:`HandlerFunction`, :class:`StateMachine`, :class:`HttpApi`, the grants in
:mod:`components.iam` and the secure queues/topics/tables of :mod:`components.messaging`.
Patterns: :class:`Workflow`, :class:`IdempotentApi`, :class:`CallbackWorkflow`,
:class:`MonitoredWorkflow` and :class:`PausableWorkflow`.
"""

from components.callback_workflow import CallbackWorkflow, CallbackWorkflowArgs
from components.function import HandlerFunction, HandlerFunctionArgs
from components.http_api import HttpApi, HttpApiArgs, RouteArgs
from components.idempotent_api import IdempotentApi, IdempotentApiArgs
from components.monitored_workflow import MonitoredWorkflow, MonitoredWorkflowArgs
from components.pausable_workflow import PausableWorkflow, PausableWorkflowArgs
from components.state_machine import StateMachine, StateMachineArgs
from components.workflow import Workflow, WorkflowArgs, WorkflowDefinitionError

__all__ = [
    "CallbackWorkflow", "CallbackWorkflowArgs", "HandlerFunction", "HandlerFunctionArgs", "HttpApi",
    "HttpApiArgs", "IdempotentApi", "IdempotentApiArgs", "MonitoredWorkflow", "MonitoredWorkflowArgs",
    "PausableWorkflow", "PausableWorkflowArgs", "RouteArgs", "StateMachine", "StateMachineArgs",
    "Workflow", "WorkflowArgs", "WorkflowDefinitionError",
]
