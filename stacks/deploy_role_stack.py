"""One target account's cross-account deploy role (stacks Dev-DeployRole, Staging-DeployRole, Prod-DeployRole)."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from components.ecs_blue_green.codedeploy_release import DEPLOYMENT_CONFIGS
from components.naming import Names
from config import Config, EnvironmentConfig
from pipelines.deploy_role import CrossAccountDeployRole, EcsServiceTarget
from stacks.project_stack import ProjectStack


class DeployRoleStack(ProjectStack):
    """The role the tools account's pipeline assumes to release the service into this environment.

    ``stacks.delivery_app.add_template_readers`` adds the account's template reader here too:
    this is the stack of the roles that the tools account's identities assume in this account.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: Config, environment: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            environment=environment,
            description=f"Cross-account deploy role the release pipeline assumes in {environment.name}",
            **kwargs,
        )
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
            ecs_service=(
                EcsServiceTarget(cluster_name=names.ecs_cluster, service_name=names.ecs_service)
                if environment.release_controller == "ecs"
                else None
            ),
        )
