"""What ``ReleasedFargateService`` is told: the names its resources take and the settings of one environment.

Plain frozen values, like ``TaskSpec``: ``stacks/service_stack.py`` builds them from the
configuration and ``components/naming.py``, so the construct never reaches through ``Config``,
``Names`` or ``EnvironmentConfig`` (tests/architecture/test_construct_shape.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from config.settings import EcsReleaseConfig


@dataclass(frozen=True)
class ServiceNames:
    """The deterministic names of the service's resources, the same in every target account.

    The tools account refers to several of them by name (the pipeline's deploy actions, the
    bake), so they are part of the released interface (components/naming.py).
    """

    #: "demo prod": the key's description and the deployment topic's display name start with it.
    owner: str
    #: The service's name in the configuration; the secret's description names it.
    service: str
    repository: str
    repository_arn: str
    #: The cluster and the service are named only under the ECS controller (the pipeline's ECS
    #: deploy action finds them by name); under CodeDeploy naming them would replace them.
    cluster: str
    ecs_service: str
    execution_role: str
    task_role: str
    hook_function: str
    live_traffic_function: str
    codedeploy_application: str
    deployment_group: str
    #: The release health alarm of each (configured alarm, target group colour): ("target_5xx", "blue").
    health_alarms: Mapping[tuple[str, str], str]
    load_balancer_alarm: str


@dataclass(frozen=True)
class ServiceSettings:
    """The settings of one environment's service, from ``[environments.<env>]``."""

    #: "codedeploy" or "ecs": which controller releases the service.
    release_controller: str
    #: Set exactly when ``release_controller`` is "ecs".
    ecs_release: EcsReleaseConfig | None
    desired_count: int
    max_count: int
    log_retention_days: int
    vpc_cidr: str
    alb_internet_facing: bool
    certificate_arn: str | None
    test_listener_port: int
    test_listener_cidr: str | None
    #: Production keeps its load balancer from deletion.
    deletion_protection: bool
    alarms: tuple[str, ...]
    rollback_on_alarm: bool
    #: CodeDeploy only: how production traffic shifts, and how long the old tasks stay after.
    deployment_config: str
    termination_wait_minutes: int

    @property
    def codedeploy_controls(self) -> bool:
        return self.release_controller == "codedeploy"
