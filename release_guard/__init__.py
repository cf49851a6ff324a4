"""The pre-deploy guard: makes a later ``cdk deploy`` of an ``<Env>-Service`` stack safe after releases.

A release (CodeDeploy, or ECS-native blue/green) moves production to the other target group
and runs an image the stack's template does not name. :mod:`release_guard.plan` decides, from the
deployed template, the synthesized one and the live state that :mod:`release_guard.live` reads,
whether ``cdk deploy`` may run and with which ``ImageTag``. ``python -m release_guard`` is the command the
Makefile calls (see :mod:`release_guard.__main__`), inside ``python -m release_guard.lock hold``,
which serialises the deploy with the release pipeline (see :mod:`release_guard.lock`).
"""

from __future__ import annotations

from release_guard.plan import (
    Decision,
    Deploy,
    GuardError,
    LiveState,
    Refuse,
    ResourceChange,
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
    "diff_resources",
    "is_service_stack",
    "plan",
]
