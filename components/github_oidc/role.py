"""One IAM role that GitHub Actions workflows assume with their OIDC token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from components.compliance import acknowledge_inline_policies
from components.github_oidc.provider import GITHUB_CLAIM_PREFIX

MAX_SESSION = cdk.Duration.hours(1)


def trust_conditions(
    *, audience: str, exact_subjects: Sequence[str], subject_patterns: Sequence[str]
) -> list[dict[str, Any]]:
    """The conditions of each trust statement: one for exact subjects, one for patterns.

    Operators inside one statement are ANDed, so exact subjects (``StringEquals``) and
    patterns (``StringLike``) cannot share a statement: each gets its own, and both also
    check the audience.
    """
    if not exact_subjects and not subject_patterns:
        raise ValueError("a GitHub Actions role needs at least one subject")
    audience_condition = {f"{GITHUB_CLAIM_PREFIX}:aud": audience}
    statements: list[dict[str, Any]] = []
    if exact_subjects:
        statements.append({"StringEquals": {**audience_condition, f"{GITHUB_CLAIM_PREFIX}:sub": list(exact_subjects)}})
    if subject_patterns:
        statements.append(
            {
                "StringEquals": dict(audience_condition),
                "StringLike": {f"{GITHUB_CLAIM_PREFIX}:sub": list(subject_patterns)},
            }
        )
    return statements


class GithubActionsRole(Construct):
    """A role for GitHub Actions: trusts exact subjects, may only chain into the given roles
    (CDK bootstrap roles, or the project's template readers).

    The trust policy checks the token's audience and subject; the session lasts at most one
    hour; the only permission is ``sts:AssumeRole`` on ``assumable_role_arns``; and the
    ``permissions_boundary`` caps whatever is attached to the role later.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        provider_arn: str,
        audience: str,
        exact_subjects: Sequence[str],
        subject_patterns: Sequence[str] = (),
        assumable_role_arns: Sequence[str],
        permissions_boundary: iam.IManagedPolicy,
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)
        if not assumable_role_arns:
            raise ValueError(f"GitHub Actions role {role_name!r}: expected at least one role to assume")
        first, *others = trust_conditions(
            audience=audience, exact_subjects=exact_subjects, subject_patterns=subject_patterns
        )
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description=description,
            assumed_by=iam.WebIdentityPrincipal(provider_arn, first),
            max_session_duration=MAX_SESSION,
            permissions_boundary=permissions_boundary,
            inline_policies={
                "AssumeDeliveryRoles": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="AssumeDeliveryRoles",
                            actions=["sts:AssumeRole"],
                            resources=list(assumable_role_arns),
                        )
                    ]
                )
            },
        )
        # Its only permission, assuming the roles it is given, is written into the role.
        acknowledge_inline_policies(self.role)
        for conditions in others:
            self.role.assume_role_policy.add_statements(  # type: ignore[union-attr]  # set for every new Role
                iam.PolicyStatement(
                    actions=["sts:AssumeRoleWithWebIdentity"],
                    principals=[iam.FederatedPrincipal(provider_arn)],
                    conditions=conditions,
                )
            )
