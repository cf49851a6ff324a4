"""<Env>-Service: the application of one target account, released blue/green (docs/ecs-blue-green.md)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from components.ecs_blue_green.service import ReleasedFargateService
from components.ecs_blue_green.task_spec import TaskSpec
from components.log_retention import record_short_retention
from components.naming import Names
from components.network import PrivateNetwork
from config import Config, EnvironmentConfig
from config.patterns import IMAGE_TAG
from pipelines.alarm_reader_role import AlarmReaderRole
from stacks.project_stack import ProjectStack

#: Template parameters that the pre-deploy guard (release_guard) sets from the live service.
IMAGE_TAG_PARAMETER = "ImageTag"
LIVE_TARGET_GROUP_PARAMETER = "LiveTargetGroup"
SERVICE_TARGET_GROUP_PARAMETER = "ServiceTargetGroup"
CONTROLLER_TITLES = {"codedeploy": "CodeDeploy", "ecs": "Amazon ECS"}


class ServiceStack(ProjectStack):
    """An ECS Fargate service behind an ALB, released blue/green by the configured controller.

    Two parameters carry what only the live environment knows, so that a later ``cdk deploy``
    writes back what the last release left instead of what the first deploy created:

    * ``ImageTag``: the image the task definition runs. ``make deploy`` passes the tag the
      live service runs (release_guard), and the CDK CLI keeps the previous value otherwise.
    * ``LiveTargetGroup``: ``Blue`` or ``Green``, the target group the listeners forward to.
      Both controllers swap it on every release (docs/ecs-blue-green.md, "Day 2").
    * ``ServiceTargetGroup`` (ECS controller only): the group the service names as primary, as
      ECS records it, so that a stack update sends the service's load balancers unchanged.
    """

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
                f"with {CONTROLLER_TITLES[environment.release_controller]} blue/green releases"
            ),
            **kwargs,
        )
        image_tag = cdk.CfnParameter(
            self,
            IMAGE_TAG_PARAMETER,
            type="String",
            default=config.service.initial_image_tag,
            allowed_pattern=IMAGE_TAG,
            description="The image tag the task definition runs: make deploy sets the one the live service runs",
        )
        live_target_group = cdk.CfnParameter(
            self,
            LIVE_TARGET_GROUP_PARAMETER,
            type="String",
            default="Blue",
            allowed_values=["Blue", "Green"],
            description="The target group that serves production now: make deploy reads it from the listeners",
        )
        green_is_live = cdk.CfnCondition(
            self, "GreenIsLive", expression=cdk.Fn.condition_equals(live_target_group.value_as_string, "Green")
        )
        service_on_green = None
        if environment.release_controller == "ecs":
            service_target_group = cdk.CfnParameter(
                self,
                SERVICE_TARGET_GROUP_PARAMETER,
                type="String",
                default="Blue",
                allowed_values=["Blue", "Green"],
                description="The target group the ECS service names as primary now: make deploy reads it from ECS",
            )
            service_on_green = cdk.CfnCondition(
                self,
                "ServiceOnGreen",
                expression=cdk.Fn.condition_equals(service_target_group.value_as_string, "Green"),
            )
        self.service = ReleasedFargateService(
            self,
            "Service",
            names=Names(config),
            spec=TaskSpec.build(config, environment),
            environment=environment,
            secret_name=config.service.secret_name,
            task_policy_names=config.service.task_policy_names,
            image_tag=image_tag.value_as_string,
            green_is_live=green_is_live,
            service_on_green=service_on_green,
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
        for log_group in (self.service.tasks.log_group, self.service.hook.log_group):
            record_short_retention(log_group, days=environment.log_retention_days, environment=environment.name)
