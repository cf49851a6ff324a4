"""Deterministic names shared across accounts.

The tools account and the target accounts refer to each other's resources by these names
(never by CloudFormation exports, which do not cross accounts). Changing one renames a
deployed resource: treat them as part of the released interface.
"""

from __future__ import annotations

from dataclasses import dataclass

from config import Config, EnvironmentConfig

#: The two target groups of a release, as alarm names spell them.
HEALTH_ALARM_COLOURS = ("blue", "green")


@dataclass(frozen=True)
class Names:
    """Names of the resources one side of the delivery design needs to know about the other."""

    config: Config

    # -- tools account ------------------------------------------------------------------
    @property
    def ecr_repository(self) -> str:
        return f"{self.config.project}/{self.config.service.name}"

    @property
    def artifact_bucket(self) -> str:
        return f"{self.config.project}-artifacts-{self.config.accounts.tools}-{self.config.region}"

    @property
    def artifact_key_alias(self) -> str:
        return f"alias/{self.config.project}-artifacts"

    @property
    def pipeline(self) -> str:
        return f"{self.config.project}-release"

    @staticmethod
    def deploy_stage(environment: EnvironmentConfig) -> str:
        """The pipeline stage that deploys one environment; ``make deploy`` locks its inbound transition."""
        return f"Deploy-{environment.title}"

    @property
    def pipeline_role(self) -> str:
        return f"{self.config.project}-pipeline"

    # -- each target account (same names in every account) -------------------------------
    @property
    def codedeploy_application(self) -> str:
        return f"{self.config.project}-{self.config.service.name}"

    @property
    def deployment_group(self) -> str:
        return f"{self.config.project}-{self.config.service.name}"

    @property
    def ecs_cluster(self) -> str:
        """The cluster of an ECS-controlled service (the pipeline's ECS deploy action names it)."""
        return f"{self.config.project}-{self.config.service.name}"

    @property
    def ecs_service(self) -> str:
        """The service name under the ECS controller (the pipeline's ECS deploy action names it)."""
        return f"{self.config.project}-{self.config.service.name}"

    @property
    def task_family(self) -> str:
        return f"{self.config.project}-{self.config.service.name}"

    @property
    def container(self) -> str:
        return self.config.service.name

    @property
    def execution_role(self) -> str:
        return f"{self.config.project}-{self.config.service.name}-execution"

    @property
    def task_role(self) -> str:
        return f"{self.config.project}-{self.config.service.name}-task"

    @property
    def deploy_role(self) -> str:
        return f"{self.config.project}-cross-account-deploy"

    @property
    def template_reader_role(self) -> str:
        """The lookup role of every project stack: pull requests' ``cdk diff`` reads templates through it."""
        return f"{self.config.project}-template-reader"

    @property
    def hook_function(self) -> str:
        """The test-traffic hook Lambda: the appspec's AfterAllowTestTraffic, or ECS's POST_TEST_TRAFFIC_SHIFT hook."""
        return f"{self.config.project}-{self.config.service.name}-release-hook"

    @property
    def live_traffic_function(self) -> str:
        """The service stack's LiveTraffic reader (components/ecs_blue_green/live_traffic_reader.py)."""
        return f"{self.config.project}-{self.config.service.name}-live-traffic"

    def health_alarm(self, environment: str, alarm: str, colour: str) -> str:
        """A release health alarm (``target_5xx`` on the ``blue`` target group, ...) of one environment.

        Named, not generated: the release controller in the target account and the pipeline's
        post-deploy bake in the tools account both watch these alarms by name.
        """
        return f"{self.config.project}-{environment}-{self.config.service.name}-{alarm.replace('_', '-')}-{colour}"

    def load_balancer_alarm(self, environment: str) -> str:
        """The alarm on the load balancer's own 5xx of one environment (components/ecs_blue_green/health_alarms.py).

        It pages and rolls back when production forwards to an empty or unhealthy target group.
        """
        return f"{self.config.project}-{environment}-{self.config.service.name}-elb-5xx"

    def bake_alarms(self, environment: EnvironmentConfig) -> tuple[str, ...]:
        """The alarms the pipeline's post-deploy bake watches: the release health alarms, then the configured extras.

        The release health alarms are the configured ones on both target groups, then the load
        balancer's own 5xx. By name only, so that the bake is the same whichever release
        controller created them.
        """
        health = (
            *(
                self.health_alarm(environment.name, alarm, colour)
                for alarm in environment.alarms
                for colour in HEALTH_ALARM_COLOURS
            ),
            self.load_balancer_alarm(environment.name),
        )
        return health + tuple(name for name in environment.bake_alarm_names if name not in health)

    def alarm_arn(self, account: str, alarm_name: str) -> str:
        return f"arn:aws:cloudwatch:{self.config.region}:{account}:alarm:{alarm_name}"

    @property
    def alarm_reader_role(self) -> str:
        """The role of a target account that the tools account's bake function assumes to read its alarms."""
        return f"{self.config.project}-alarm-reader"

    def bake_function(self, environment: str) -> str:
        """The tools account's bake function (and its role) for one environment."""
        return f"{self.config.project}-{environment}-release-bake"

    @property
    def service_log_group(self) -> str:
        return f"/ecs/{self.config.project}/{self.config.service.name}"

    # -- ARNs --------------------------------------------------------------------------
    def role_arn(self, account: str, role_name: str) -> str:
        return f"arn:aws:iam::{account}:role/{role_name}"

    def ecr_repository_arn(self) -> str:
        return f"arn:aws:ecr:{self.config.region}:{self.config.accounts.tools}:repository/{self.ecr_repository}"

    def ecr_repository_uri(self) -> str:
        return f"{self.config.accounts.tools}.dkr.ecr.{self.config.region}.amazonaws.com/{self.ecr_repository}"

    def secret_partial_arn(self, account: str) -> str:
        """The secret's ARN without the random suffix Secrets Manager appends; ECS accepts it."""
        return f"arn:aws:secretsmanager:{self.config.region}:{account}:secret:{self.config.service.secret_name}"
