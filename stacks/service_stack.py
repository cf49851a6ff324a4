"""<Env>-Service: the application of one target account, released blue/green (docs/ecs-blue-green.md)."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from components.ecs_blue_green.blue_green_service import BlueGreenFargateService
from components.log_retention import record_short_retention
from components.network import PrivateNetwork
from config import Config, EnvironmentConfig
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
        for log_group in (self.service.log_group, self.service.hook.log_group):
            record_short_retention(log_group, days=environment.log_retention_days, environment=environment.name)
