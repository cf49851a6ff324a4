"""<Env>-Service: the application of one target account, released blue/green (docs/ecs-blue-green.md)."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from components.ecs_blue_green.blue_green_service import BlueGreenFargateService
from components.naming import Names
from components.network import PrivateNetwork
from config import Config, EnvironmentConfig
from pipelines.alarm_reader_role import AlarmReaderRole
from stacks.project_stack import ProjectStack


class ServiceStack(ProjectStack):
    """An ECS Fargate service behind an ALB with CodeDeploy blue/green releases."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        environment: EnvironmentConfig,
        network: PrivateNetwork,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            environment=environment,
            description=(
                f"{config.project} {environment.name}: ECS Fargate service {config.service.name} "
                "with CodeDeploy blue/green releases"
            ),
            **kwargs,
        )
        self.service = BlueGreenFargateService(
            self,
            "Service",
            config=config,
            environment=environment,
            vpc=network.vpc,
            task_subnets=network.task_subnets,
            load_balancer_subnets=network.load_balancer_subnets,
        )
        # The pipeline's post-deploy bake reads this environment's alarms from the tools account
        # (docs/deploy.md). By alarm name, whichever release controller the service uses.
        if environment.bake_minutes:
            names = Names(config)
            self.alarm_reader = AlarmReaderRole(
                self,
                "AlarmReader",
                role_name=names.alarm_reader_role,
                reader_role_arn=names.role_arn(config.accounts.tools, names.bake_function(environment.name)),
                alarm_arns=[names.alarm_arn(environment.account, name) for name in names.bake_alarms(environment)],
            )
