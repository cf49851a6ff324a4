"""The permissions boundary every GitHub Actions role carries."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from constructs import Construct


class BootstrapRoleBoundary(Construct):
    """A managed policy that caps a role at ``sts:AssumeRole`` on the given CDK bootstrap roles.

    Attached as a permissions boundary, it holds even if someone later attaches a broader
    policy to a GitHub Actions role: the effective permissions are the intersection.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, managed_policy_name: str, bootstrap_role_arns: Sequence[str]
    ) -> None:
        super().__init__(scope, construct_id)
        if not bootstrap_role_arns:
            raise ValueError("a permissions boundary needs at least one bootstrap role ARN")
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            managed_policy_name=managed_policy_name,
            description="Permissions boundary of the GitHub Actions roles: assume the CDK bootstrap roles only",
            statements=[
                iam.PolicyStatement(
                    sid="AssumeCdkBootstrapRolesOnly",
                    actions=["sts:AssumeRole"],
                    resources=list(bootstrap_role_arns),
                )
            ],
        )
