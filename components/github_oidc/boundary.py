"""The permissions boundary every GitHub Actions role carries."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from constructs import Construct


class BootstrapRoleBoundary(Construct):
    """A managed policy that caps a role at ``sts:AssumeRole`` on the given roles.

    The GitHub Actions roles get the CDK deploy and file-publishing roles of the tools account
    (to create the pipeline) and the project's template reader of each account (for pull
    requests' ``cdk diff``). No other role of dev, staging or prod, and never a lookup role.

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
                "Permissions boundary of the GitHub Actions roles: assume the tools account's CDK bootstrap roles "
                "and the template readers only"
            ),
            statements=[
                iam.PolicyStatement(
                    sid="AssumeDeliveryRolesOnly",
                    actions=["sts:AssumeRole"],
                    resources=list(assumable_role_arns),
                )
            ],
        )
