"""The roles a target account lends the tools account (stacks Dev-DeployRole, Staging-DeployRole, Prod-DeployRole)."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from components.ecs_blue_green.codedeploy_release import DEPLOYMENT_CONFIGS
from components.naming import Names
from config import Config, EnvironmentConfig
from pipelines.deploy_role import CrossAccountDeployRole
from stacks.project_stack import ProjectStack


class DeployRoleStack(ProjectStack):
    """The roles the tools account's identities assume in this environment's account.

    Where CodeDeploy releases the service, the pipeline's cross-account deploy role, which the
    release action assumes. Where ECS releases it, none: the pipeline's Infrastructure action is
    the release and enters the account through the CDK bootstrap roles only, so a role that may
    update the service would be a standing permission that nothing uses.
    ``stacks.delivery_app.add_template_readers`` adds the account's template reader here too.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: Config, environment: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            environment=environment,
            description=(
                f"Cross-account deploy role the release pipeline assumes in {environment.name}"
                if environment.release_controller == "codedeploy"
                else f"Roles the tools account assumes in {environment.name}: the template reader"
            ),
            **kwargs,
        )
        self.deploy_role: CrossAccountDeployRole | None = None
        if environment.release_controller != "codedeploy":
            return
        names = Names(config)
        deployment_config = DEPLOYMENT_CONFIGS[environment.deployment_config]
        self.deploy_role = CrossAccountDeployRole(
            self,
            "DeployRole",
            role_name=names.deploy_role,
            pipeline_role_arn=names.role_arn(config.accounts.tools, names.pipeline_role),
            application_name=names.codedeploy_application,
            deployment_group_name=names.deployment_group,
            deployment_config_name=deployment_config.deployment_config_name,
            task_family=names.task_family,
            task_role_arn=names.role_arn(environment.account, names.task_role),
            execution_role_arn=names.role_arn(environment.account, names.execution_role),
            artifact_bucket_name=names.artifact_bucket,
            artifact_key_alias=names.artifact_key_alias,
            tools_account=config.accounts.tools,
        )
