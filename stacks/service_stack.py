"""<Env>-Service: the application of one target account, released blue/green (docs/ecs-blue-green.md)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from components.ecs_blue_green.service import ReleasedFargateService
from components.ecs_blue_green.service_spec import ServiceNames, ServiceSettings
from components.ecs_blue_green.task_spec import TaskSpec
from components.log_retention import record_short_retention
from components.naming import HEALTH_ALARM_COLOURS, Names
from components.network import PrivateNetwork
from config import Config, EnvironmentConfig
from config.patterns import IMAGE_TAG
from pipelines.alarm_reader_role import AlarmReaderRole
from stacks.project_stack import ProjectStack

#: The one template parameter: the image the task definition runs.
IMAGE_TAG_PARAMETER = "ImageTag"
CONTROLLER_TITLES = {"codedeploy": "CodeDeploy", "ecs": "Amazon ECS"}


class ServiceStack(ProjectStack):
    """An ECS Fargate service behind an ALB, released blue/green by the configured controller.

    * ``ImageTag``, the one parameter: the image the task definition runs. Under the ECS
      controller the stack owns the image, and a release is a stack update with a new tag.
    * Which target group serves is not a parameter: a value CloudFormation stores, the CLI
      reuses (``--previous-parameters``) and a rollback restores goes stale as soon as a
      release moves traffic (docs/ecs-blue-green.md, "Day 2"). The ``LiveTraffic`` custom resource reads it from the
      load balancer and the service at every deploy and rollback, and every forward, and
      under ECS the service's primary target group, is written from its answer
      (components/ecs_blue_green/live_traffic_reader.py).
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
            description=(
                "The image tag the task definition runs: the pipeline sets the released one; "
                "any other deploy keeps the previous value"
            ),
        )
        self.service = ReleasedFargateService(
            self,
            "Service",
            names=service_names(config, environment),
            settings=service_settings(environment),
            spec=TaskSpec.build(config, environment),
            secret_name=config.service.secret_name,
            task_policy_names=config.service.task_policy_names,
            image_tag=image_tag.value_as_string,
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
        for log_group in (
            self.service.tasks.log_group,
            self.service.hook.log_group,
            self.service.hook.prober_log_group,
            self.service.live_traffic.log_group,
        ):
            record_short_retention(log_group, days=environment.log_retention_days, environment=environment.name)


def service_names(config: Config, environment: EnvironmentConfig) -> ServiceNames:
    """The names ``ReleasedFargateService`` gives its resources, all from components/naming.py."""
    names = Names(config)
    return ServiceNames(
        owner=f"{config.project} {environment.name}",
        service=config.service.name,
        repository=names.ecr_repository,
        repository_arn=names.ecr_repository_arn(),
        cluster=names.ecs_cluster,
        ecs_service=names.ecs_service,
        execution_role=names.execution_role,
        task_role=names.task_role,
        hook_function=names.hook_function,
        live_traffic_function=names.live_traffic_function,
        codedeploy_application=names.codedeploy_application,
        deployment_group=names.deployment_group,
        health_alarms={
            (alarm, colour): names.health_alarm(environment.name, alarm, colour)
            for alarm in environment.alarms
            for colour in HEALTH_ALARM_COLOURS
        },
        load_balancer_alarm=names.load_balancer_alarm(environment.name),
    )


def service_settings(environment: EnvironmentConfig) -> ServiceSettings:
    """The settings of ``[environments.<env>]`` that ``ReleasedFargateService`` uses."""
    return ServiceSettings(
        release_controller=environment.release_controller,
        ecs_release=environment.ecs_release,
        desired_count=environment.desired_count,
        max_count=environment.max_count,
        log_retention_days=environment.log_retention_days,
        vpc_cidr=environment.vpc_cidr,
        alb_internet_facing=environment.alb_internet_facing,
        certificate_arn=environment.certificate_arn,
        test_listener_port=environment.test_listener_port,
        test_listener_cidr=environment.test_listener_cidr,
        deletion_protection=environment.is_production,
        alarms=environment.alarms,
        rollback_on_alarm=environment.rollback_on_alarm,
        deployment_config=environment.deployment_config,
        termination_wait_minutes=environment.termination_wait_minutes,
    )
