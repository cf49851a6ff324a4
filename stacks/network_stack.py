"""<Env>-Network: the private network of one target account (see docs/network.md)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from components.log_retention import record_short_retention, retention
from components.naming import Names
from components.network import (
    ECR_API,
    ECR_DOCKER,
    LOGS,
    SECRETS_MANAGER,
    InterfaceEndpoint,
    PrivateNetwork,
)
from config import Config, EnvironmentConfig
from stacks.project_stack import ProjectStack

#: aws-cdk-lib's own reason for W3010 when a stack reads its availability zones (Stack._silenceLiteralAzWarning).
LITERAL_ZONES_REASON = (
    "Literal AZs in template are the result of accessing stack.availabilityZones, this is expected and safe"
)


class NetworkStack(ProjectStack):
    """A VPC with isolated task subnets, the VPC endpoints the service needs and flow logs.

    The service stack of the same environment takes ``network_stack.network``: its ``vpc``,
    ``task_subnets``, ``load_balancer_subnets`` and ``endpoint_security_group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        environment: EnvironmentConfig,
        **kwargs: Any,
    ) -> None:
        # Read by the VPC (the first max_azs) through the property below, from the configuration.
        self._availability_zones = list(environment.availability_zones)
        self._literal_zones_acknowledged = False
        super().__init__(
            scope,
            construct_id,
            config=config,
            environment=environment,
            description=(
                f"{config.project} {environment.name}: private network for Fargate tasks "
                "(isolated subnets, VPC endpoints, no NAT gateway)"
            ),
            **kwargs,
        )
        names = Names(config)
        self.network = PrivateNetwork(
            self,
            "Network",
            cidr=environment.vpc_cidr,
            max_azs=environment.max_azs,
            flow_log_group_name=f"/{config.project}/{environment.name}/vpc-flow-logs",
            flow_log_retention=retention(environment.log_retention_days),
            # Images are built once and pulled by every environment from the tools account.
            image_repository_arns=[names.ecr_repository_arn()],
            interface_endpoints=interface_endpoints(environment),
            endpoint_azs=environment.endpoint_azs,
        )
        record_short_retention(
            self.network.flow_log_group, days=environment.log_retention_days, environment=environment.name
        )

    @property
    def availability_zones(self) -> list[str]:
        """The environment's ``availability_zones`` from the configuration: no lookup, no AWS call at synth.

        ``Stack.availability_zones`` would read the ``availability-zones`` context and, without it, ask the
        CLI to look the zones up with credentials. The CDK's documented way to give them is to override
        this getter in a Stack subclass
        (https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk/Stack.html#aws_cdk.Stack.availability_zones);
        in Python it must be a property, which jsii calls from the construct library
        (a plain method has no effect: https://github.com/aws/aws-cdk/issues/9997).

        The getter it replaces also acknowledges the template validation's W3010 (literal AZ names) on the
        stack, with this reason; the override does the same, so the templates and their checks stay as they were.
        """
        if not self._literal_zones_acknowledged:
            self._literal_zones_acknowledged = True
            cdk.Validations.of(self).acknowledge(
                cdk.Acknowledgment(id="CloudFormation-Validate::W3010", reason=LITERAL_ZONES_REASON)
            )
        return self._availability_zones


def interface_endpoints(environment: EnvironmentConfig) -> tuple[InterfaceEndpoint, ...]:
    """The interface endpoints something in this environment's task subnets calls (docs/network.md).

    The tasks' four (ECR API and Docker, Logs, Secrets Manager), in every environment. The
    test-traffic hook needs none: its invoker, outside the VPC, calls CodeDeploy and EC2 on their
    public endpoints, and its prober in the task subnets only calls the test listener
    (components/ecs_blue_green/lifecycle_hook.py). ``DEFAULT_INTERFACE_ENDPOINTS`` keeps CodeDeploy
    and EC2 for a service whose hook runs in the VPC.
    """
    del environment  # the same four for every environment, release controller and load balancer
    return (ECR_API, ECR_DOCKER, LOGS, SECRETS_MANAGER)
