"""sfn-patterns: AWS Step Functions patterns as Pulumi components.

Building blocks: :class:`HandlerFunction`, :class:`StateMachine`, :class:`HttpApi`, the grants in
:mod:`components.iam` and the secure queues/topics/tables of :mod:`components.messaging`.
Patterns: :class:`Workflow`, :class:`IdempotentApi` (and, as they land, the callback, monitored
and pausable workflows).
"""

from components.function import HandlerFunction, HandlerFunctionArgs
from components.http_api import HttpApi, HttpApiArgs, RouteArgs
from components.idempotent_api import IdempotentApi, IdempotentApiArgs
from components.state_machine import StateMachine, StateMachineArgs
from components.workflow import Workflow, WorkflowArgs, WorkflowDefinitionError

__all__ = [
    "HandlerFunction", "HandlerFunctionArgs", "HttpApi", "HttpApiArgs", "IdempotentApi",
    "IdempotentApiArgs", "RouteArgs", "StateMachine", "StateMachineArgs", "Workflow",
    "WorkflowArgs", "WorkflowDefinitionError",
]
