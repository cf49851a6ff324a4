"""Tools-PipelineRole: the release pipeline's role, on its own so that it can exist first.

The deploy role of each target account that CodeDeploy releases trusts this role by ARN, and
IAM refuses a trust policy that names a role which does not exist yet. CodePipeline, for its
part, checks when the pipeline is created that this role can assume every cross-account action
role. So the order is: this role, then those deploy roles (none where ECS releases every
environment), then ``Tools-Pipeline`` (docs/deploy.md).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct

from components.naming import Names
from config import Config
from stacks.project_stack import ProjectStack


class PipelineRoleStack(ProjectStack):
    """The role CodePipeline runs the release as. Its permissions live in ``Tools-Pipeline``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: Config, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description="The release pipeline's role, which the target accounts' deploy roles trust",
            **kwargs,
        )
        self.role = iam.Role(
            self,
            "PipelineRole",
            role_name=Names(config).pipeline_role,
            assumed_by=iam.ServicePrincipal(
                "codepipeline.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": config.accounts.tools}}
            ),
            description="The release pipeline; the target accounts' deploy roles trust this role by ARN",
        )
