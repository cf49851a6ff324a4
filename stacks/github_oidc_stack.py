"""Tools-GithubOidc: GitHub Actions reaches AWS without stored keys (see docs/github-oidc.md)."""

from __future__ import annotations

import re
from typing import Any

from constructs import Construct

from components.github_oidc import (
    ASSUMABLE_BOOTSTRAP_ROLES,
    PRESET_BOOTSTRAP_ROLES,
    BootstrapRoleBoundary,
    GithubActionsRole,
    GithubOidcProvider,
    bootstrap_role_arns,
)
from components.naming import Names
from config import Config, OidcRoleConfig
from stacks.project_stack import ProjectStack

#: The preset whose roles chain into the template readers instead of CDK bootstrap roles.
TEMPLATE_DIFF_PRESET = "diff"


def role_construct_id(role: OidcRoleConfig) -> str:
    """``github-deploy`` -> ``GithubDeployRole``: stable as long as the role's name is."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", role.name) if part) + "Role"


class GithubOidcStack(ProjectStack):
    """The tools account's GitHub OIDC provider and one role per ``[[oidc.roles]]`` entry.

    A ``deploy`` role may only assume the CDK deploy and file-publishing roles of the tools
    account (it creates the pipeline; the pipeline deploys dev, staging and prod), a ``diff`` role
    only the project's template reader role (``<project>-template-reader``) of its accounts (by
    default tools, dev, staging and prod); a shared permissions boundary caps all of them at the
    tools account's bootstrap roles and the template readers.
    The template readers are made by :func:`stacks.delivery_app.add_template_readers`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: Config, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description=(
                f"{config.project} tools: GitHub Actions OIDC provider and the roles workflows assume "
                "(tools-account CDK bootstrap roles and template readers only, no stored keys)"
            ),
            **kwargs,
        )
        accounts = config.accounts.all
        names = Names(config)
        reader_arns = [names.role_arn(account, names.template_reader_role) for account in accounts]
        # Never a bootstrap role of dev, staging or prod: the pipeline deploys there (issue 20).
        tools_only = [config.accounts.tools]
        self.provider = GithubOidcProvider(self, "GithubProvider", audience=config.oidc.audience)
        self.boundary = BootstrapRoleBoundary(
            self,
            "RoleBoundary",
            managed_policy_name=f"{config.project}-github-actions-boundary",
            assumable_role_arns=[
                *bootstrap_role_arns(ASSUMABLE_BOOTSTRAP_ROLES, accounts=tools_only, region=config.region),
                *reader_arns,
            ],
        )
        self.roles: dict[str, GithubActionsRole] = {}
        for role in config.oidc.roles:
            role_accounts = config.accounts.named(role.accounts)
            if role.preset == TEMPLATE_DIFF_PRESET:
                assumable = [names.role_arn(account, names.template_reader_role) for account in role_accounts]
                can = f"the {names.template_reader_role} role (stack templates only)"
            else:
                # config/oidc.py refuses any account but tools for a deploy role; this holds it here too.
                if set(role_accounts) != set(tools_only):
                    raise ValueError(f"GitHub Actions role {role.name!r}: a deploy role reaches the tools account only")
                kinds = PRESET_BOOTSTRAP_ROLES[role.preset]
                assumable = bootstrap_role_arns(kinds, accounts=tools_only, region=config.region)
                can = f"the tools account's CDK {' and '.join(kinds)} roles"
            self.roles[role.name] = GithubActionsRole(
                self,
                role_construct_id(role),
                role_name=role.name,
                provider_arn=self.provider.arn,
                audience=config.oidc.audience,
                exact_subjects=role.exact_subjects,
                subject_patterns=role.subject_patterns,
                assumable_role_arns=assumable,
                permissions_boundary=self.boundary.policy,
                description=f"GitHub Actions, {role.preset} preset: may assume {can}",
            )

    @property
    def template_diff_roles(self) -> dict[str, GithubActionsRole]:
        """The roles pull requests' ``cdk diff`` runs as, by name: the template readers trust these."""
        return {
            role.name: self.roles[role.name] for role in self.config.oidc.roles if role.preset == TEMPLATE_DIFF_PRESET
        }
