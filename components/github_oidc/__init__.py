"""GitHub Actions to AWS without stored keys: the OIDC provider and least-privilege roles."""

from components.github_oidc.bootstrap_roles import (
    ALL_BOOTSTRAP_ROLES,
    ASSUMABLE_BOOTSTRAP_ROLES,
    BOOTSTRAP_QUALIFIER,
    PRESET_BOOTSTRAP_ROLES,
    bootstrap_role_arn,
    bootstrap_role_arns,
)
from components.github_oidc.boundary import BootstrapRoleBoundary
from components.github_oidc.provider import GITHUB_CLAIM_PREFIX, GITHUB_ISSUER_URL, GithubOidcProvider
from components.github_oidc.role import MAX_SESSION, GithubActionsRole, trust_conditions
from components.github_oidc.template_reader import TEMPLATE_READ_ACTIONS, TemplateReaderRole

__all__ = [
    "ALL_BOOTSTRAP_ROLES",
    "ASSUMABLE_BOOTSTRAP_ROLES",
    "BOOTSTRAP_QUALIFIER",
    "GITHUB_CLAIM_PREFIX",
    "GITHUB_ISSUER_URL",
    "MAX_SESSION",
    "PRESET_BOOTSTRAP_ROLES",
    "TEMPLATE_READ_ACTIONS",
    "BootstrapRoleBoundary",
    "GithubActionsRole",
    "GithubOidcProvider",
    "TemplateReaderRole",
    "bootstrap_role_arn",
    "bootstrap_role_arns",
    "trust_conditions",
]
