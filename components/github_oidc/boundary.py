"""The permissions boundary every GitHub Actions role carries."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from constructs import Construct


class BootstrapRoleBoundary(Construct):
    """A managed policy that caps a role at ``sts:AssumeRole`` on the given roles.

    The GitHub Actions roles get the CDK deploy, file-publishing, image-publishing and lookup
    roles and the project's template readers of each account. The lookup role (ReadOnlyAccess)
    is in the boundary for the deploy preset's pre-deploy guard only; a role reaches it only if
    its own policy names it too, which the pull-request role's does not.

    Attached as a permissions boundary, it holds even if someone later attaches a broader
    policy to a GitHub Actions role: the effective permissions are the intersection.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, managed_policy_name: str, assumable_role_arns: Sequence[str]
    ) -> None:
        super().__init__(scope, construct_id)
        if not assumable_role_arns:
            raise ValueError("a permissions boundary needs at least one role ARN to assume")
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            managed_policy_name=managed_policy_name,
            description=(
                "Permissions boundary of the GitHub Actions roles: assume CDK bootstrap roles and template readers only"
            ),
            statements=[
                iam.PolicyStatement(
                    sid="AssumeDeliveryRolesOnly",
                    actions=["sts:AssumeRole"],
                    resources=list(assumable_role_arns),
                )
            ],
        )
