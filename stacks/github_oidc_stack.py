"""Tools-GithubOidc: GitHub Actions reaches AWS without stored keys (see docs/github-oidc.md)."""

from __future__ import annotations

import re
from typing import Any

from constructs import Construct

from components.github_oidc import (
    ALL_BOOTSTRAP_ROLES,
    PRESET_BOOTSTRAP_ROLES,
    BootstrapRoleBoundary,
    GithubActionsRole,
    GithubOidcProvider,
    bootstrap_role_arns,
)
from config import Config, OidcRoleConfig
from stacks.project_stack import ProjectStack


def role_construct_id(role: OidcRoleConfig) -> str:
    """``github-deploy`` -> ``GithubDeployRole``: stable as long as the role's name is."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", role.name) if part) + "Role"


class GithubOidcStack(ProjectStack):
    """The tools account's GitHub OIDC provider and one role per ``[[oidc.roles]]`` entry.

    Each role may only assume the CDK bootstrap roles its preset names, in every project
    account (tools, dev, staging, prod); a shared permissions boundary caps all of them at
    assuming CDK bootstrap roles of those accounts.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: Config, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=(
                f"{config.project} tools: GitHub Actions OIDC provider and the roles workflows assume "
                "(CDK bootstrap roles only, no stored keys)"
            ),
            **kwargs,
        )
        accounts = config.accounts.all
        self.provider = GithubOidcProvider(self, "GithubProvider", audience=config.oidc.audience)
        self.boundary = BootstrapRoleBoundary(
            self,
            "RoleBoundary",
            managed_policy_name=f"{config.project}-github-actions-boundary",
            bootstrap_role_arns=bootstrap_role_arns(ALL_BOOTSTRAP_ROLES, accounts=accounts, region=config.region),
        )
        self.roles: dict[str, GithubActionsRole] = {}
        for role in config.oidc.roles:
            kinds = PRESET_BOOTSTRAP_ROLES[role.preset]
            self.roles[role.name] = GithubActionsRole(
                self,
                role_construct_id(role),
                role_name=role.name,
                provider_arn=self.provider.arn,
                audience=config.oidc.audience,
                exact_subjects=role.exact_subjects,
                subject_patterns=role.subject_patterns,
                assumable_role_arns=bootstrap_role_arns(kinds, accounts=accounts, region=config.region),
                permissions_boundary=self.boundary.policy,
                description=f"GitHub Actions, {role.preset} preset: may assume the CDK {', '.join(kinds)} roles",
            )
