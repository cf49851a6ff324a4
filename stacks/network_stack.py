"""<Env>-Network: the private network of one target account (see docs/network.md)."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from components.log_retention import record_short_retention, retention
from components.naming import Names
from components.network import (
    CODEDEPLOY,
    DEFAULT_INTERFACE_ENDPOINTS,
    EC2,
    InterfaceEndpoint,
    PrivateNetwork,
)
from config import Config, EnvironmentConfig
from stacks.project_stack import ProjectStack


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


def interface_endpoints(environment: EnvironmentConfig) -> tuple[InterfaceEndpoint, ...]:
    """The interface endpoints something in this environment's task subnets calls (docs/network.md).

    The test-traffic hook calls CodeDeploy only when CodeDeploy releases the service (under ECS it
    answers with its return value), and EC2 only to find an internet-facing load balancer's private
    addresses. The tasks' four (ECR API and Docker, Logs, Secrets Manager) are always there.
    """
    unused = [
        *([CODEDEPLOY] if environment.release_controller != "codedeploy" else []),
        *([EC2] if not environment.alb_internet_facing else []),
    ]
    return tuple(endpoint for endpoint in DEFAULT_INTERFACE_ENDPOINTS if endpoint not in unused)
