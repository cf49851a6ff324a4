"""The one home of the stack names: ``stacks/delivery_app.py`` builds the stacks under these names.

No CDK import: the tools that read a synthesized assembly (the rehearsal, the docs generator)
and the release guard import it too. They take the stacks themselves, and the order to deploy
them in, from the assembly (:mod:`stacks.assembly`); these names only tell them what a stack is.
"""

from __future__ import annotations

from enum import Enum

from config import EnvironmentConfig

#: The tools account's stacks, in the order their dependencies create them.
GITHUB_OIDC = "Tools-GithubOidc"
PIPELINE_ROLE = "Tools-PipelineRole"
PIPELINE = "Tools-Pipeline"


class StackKind(Enum):
    """What a stack of the app is, whichever environment it belongs to."""

    GITHUB_OIDC = "github-oidc"
    PIPELINE_ROLE = "pipeline-role"
    PIPELINE = "pipeline"
    DEPLOY_ROLE = "deploy-role"
    NETWORK = "network"
    SERVICE = "service"


#: The per-environment stacks: ``<Env>-<suffix>`` (``Dev-Network``, ``Prod-Service``, ...).
_ENVIRONMENT_SUFFIXES = {
    StackKind.DEPLOY_ROLE: "DeployRole",
    StackKind.NETWORK: "Network",
    StackKind.SERVICE: "Service",
}
_TOOLS_STACKS = {
    GITHUB_OIDC: StackKind.GITHUB_OIDC,
    PIPELINE_ROLE: StackKind.PIPELINE_ROLE,
    PIPELINE: StackKind.PIPELINE,
}


def deploy_role(environment: EnvironmentConfig) -> str:
    return f"{environment.title}-{_ENVIRONMENT_SUFFIXES[StackKind.DEPLOY_ROLE]}"


def network(environment: EnvironmentConfig) -> str:
    return f"{environment.title}-{_ENVIRONMENT_SUFFIXES[StackKind.NETWORK]}"


def service(environment: EnvironmentConfig) -> str:
    return f"{environment.title}-{_ENVIRONMENT_SUFFIXES[StackKind.SERVICE]}"


def kind_of(stack_name: str) -> StackKind:
    """The kind of one of the app's stacks; ValueError for a name the app does not build."""
    if stack_name in _TOOLS_STACKS:
        return _TOOLS_STACKS[stack_name]
    prefix, _, suffix = stack_name.partition("-")
    for kind, expected in _ENVIRONMENT_SUFFIXES.items():
        if suffix == expected and prefix and prefix != "Tools":
            return kind
    raise ValueError(f"{stack_name!r} is not a stack name of this app (stacks/names.py)")


def environment_title(stack_name: str) -> str:
    """``Dev`` for ``Dev-Service``; ``Tools`` for the tools account's stacks."""
    kind_of(stack_name)
    return stack_name.partition("-")[0]
