"""The pre-deploy guard: makes a later ``cdk deploy`` of an ``<Env>-Service`` stack safe after releases.

A release (CodeDeploy, or ECS-native blue/green) moves production to the other target group
and leaves the stack's template behind. :mod:`release_guard.plan` decides, from the deployed
template, the synthesized one and the live state that :mod:`release_guard.live` reads, whether
``cdk deploy`` may run and with which parameters. ``python -m release_guard`` is the command the
Makefile calls (see :mod:`release_guard.__main__`).
"""

from __future__ import annotations

from release_guard.plan import (
    Decision,
    Deploy,
    GuardError,
    LiveState,
    Refuse,
    ResourceChange,
    TargetGroupHealth,
    Weights,
    diff_resources,
    is_service_stack,
    plan,
)

__all__ = [
    "Decision",
    "Deploy",
    "GuardError",
    "LiveState",
    "Refuse",
    "ResourceChange",
    "TargetGroupHealth",
    "Weights",
    "diff_resources",
    "is_service_stack",
    "plan",
]
