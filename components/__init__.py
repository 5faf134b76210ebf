"""sfn-patterns: AWS Step Functions patterns as Pulumi components.

The library has two layers, and dependencies point one way (patterns use building blocks):

- :mod:`sfn_patterns.blocks`, the building blocks: :class:`HandlerFunction`, :class:`StateMachine`,
  :class:`HttpApi`, the grants in :mod:`sfn_patterns.blocks.iam`, the secure queues/topics/tables of
  :mod:`sfn_patterns.blocks.messaging`, the alarms and stack alarm topic of :mod:`sfn_patterns.blocks.alarms`,
  :class:`StackDashboard` and the policy suppressions of :mod:`sfn_patterns.blocks.policy`;
- :mod:`sfn_patterns.patterns`, the patterns: :class:`Workflow`, :class:`IdempotentApi`,
  :class:`CallbackWorkflow`, :class:`MonitoredWorkflow` and :class:`PausableWorkflow`.

The names below are loaded on first use (PEP 562), so importing a standard-library-only module of
the package (a pattern's contract, which its Lambda handlers import too) never imports Pulumi.
``sfn_patterns.demo`` holds the demo stack's own pieces; it exists only in the repository.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sfn_patterns.blocks.alarms import AlarmSettings, AlarmTopic, subscribe_stack_alarms
    from sfn_patterns.blocks.dashboard import StackDashboard, StackDashboardArgs
    from sfn_patterns.blocks.function import HandlerFunction, HandlerFunctionArgs
    from sfn_patterns.blocks.http_api import HttpApi, HttpApiArgs, RouteArgs
    from sfn_patterns.blocks.state_machine import StateMachine, StateMachineArgs
    from sfn_patterns.patterns.callback_workflow import CallbackWorkflow, CallbackWorkflowArgs
    from sfn_patterns.patterns.idempotent_api import IdempotentApi, IdempotentApiArgs, InlineMapArgs
    from sfn_patterns.patterns.monitored_workflow import MonitoredWorkflow, MonitoredWorkflowArgs
    from sfn_patterns.patterns.pausable_workflow import PausableWorkflow, PausableWorkflowArgs
    from sfn_patterns.patterns.workflow import Workflow, WorkflowArgs, WorkflowDefinitionError

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "AlarmSettings": "sfn_patterns.blocks.alarms",
    "AlarmTopic": "sfn_patterns.blocks.alarms",
    "subscribe_stack_alarms": "sfn_patterns.blocks.alarms",
    "StackDashboard": "sfn_patterns.blocks.dashboard",
    "StackDashboardArgs": "sfn_patterns.blocks.dashboard",
    "HandlerFunction": "sfn_patterns.blocks.function",
    "HandlerFunctionArgs": "sfn_patterns.blocks.function",
    "HttpApi": "sfn_patterns.blocks.http_api",
    "HttpApiArgs": "sfn_patterns.blocks.http_api",
    "RouteArgs": "sfn_patterns.blocks.http_api",
    "StateMachine": "sfn_patterns.blocks.state_machine",
    "StateMachineArgs": "sfn_patterns.blocks.state_machine",
    "CallbackWorkflow": "sfn_patterns.patterns.callback_workflow",
    "CallbackWorkflowArgs": "sfn_patterns.patterns.callback_workflow",
    "IdempotentApi": "sfn_patterns.patterns.idempotent_api",
    "IdempotentApiArgs": "sfn_patterns.patterns.idempotent_api",
    "InlineMapArgs": "sfn_patterns.patterns.idempotent_api",
    "MonitoredWorkflow": "sfn_patterns.patterns.monitored_workflow",
    "MonitoredWorkflowArgs": "sfn_patterns.patterns.monitored_workflow",
    "PausableWorkflow": "sfn_patterns.patterns.pausable_workflow",
    "PausableWorkflowArgs": "sfn_patterns.patterns.pausable_workflow",
    "Workflow": "sfn_patterns.patterns.workflow",
    "WorkflowArgs": "sfn_patterns.patterns.workflow",
    "WorkflowDefinitionError": "sfn_patterns.patterns.workflow",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sfn_patterns' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
