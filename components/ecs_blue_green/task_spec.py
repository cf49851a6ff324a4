"""The task definition of the service, as plain data.

Two things are generated from one :class:`TaskSpec`: the CDK task definition that
CloudFormation creates with the service stack, and the ``taskdef.json`` template that every
CodeDeploy release registers (see :mod:`components.ecs_blue_green.release_inputs`). Having
one source means the two cannot drift; ``tests/architecture/test_ecs_service.py`` proves the synthesized
task definition equals the release template except for the image.

This module imports no CDK code on purpose: the pipeline's build runs it without Node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.naming import Names
from config import Config, EnvironmentConfig

#: The placeholder CodePipeline's CodeDeploy ECS action replaces with the built image URI.
IMAGE_PLACEHOLDER = "<IMAGE1_NAME>"
#: The numeric user of service_app/Dockerfile; the task runs as it, never as root.
CONTAINER_USER = "10001:10001"
#: The environment variable the application reads its secret from (ECS `secrets`).
SECRET_VARIABLE = "APP_SECRET"


@dataclass(frozen=True)
class TaskSpec:
    family: str
    container_name: str
    container_port: int
    cpu: int
    memory_mib: int
    execution_role_arn: str
    task_role_arn: str
    log_group_name: str
    log_stream_prefix: str
    region: str
    secret_arn: str
    health_check_path: str
    environment: tuple[tuple[str, str], ...]

    @classmethod
    def build(cls, config: Config, environment: EnvironmentConfig) -> TaskSpec:
        names = Names(config)
        return cls(
            family=names.task_family,
            container_name=names.container,
            container_port=config.service.container_port,
            cpu=environment.cpu,
            memory_mib=environment.memory_mib,
            execution_role_arn=names.role_arn(environment.account, names.execution_role),
            task_role_arn=names.role_arn(environment.account, names.task_role),
            log_group_name=names.service_log_group,
            log_stream_prefix=config.service.name,
            region=config.region,
            secret_arn=names.secret_partial_arn(environment.account),
            health_check_path=config.service.health_check_path,
            environment=(
                ("PORT", str(config.service.container_port)),
                ("SERVICE_NAME", config.service.name),
                ("DEPLOY_ENVIRONMENT", environment.name),
            ),
        )

    @property
    def health_check_command(self) -> list[str]:
        """A container health check that needs nothing but the Python in the image."""
        url = f"http://127.0.0.1:{self.container_port}{self.health_check_path}"
        return [
            "CMD",
            "python",
            "-c",
            "import urllib.request,sys; "
            f"sys.exit(0 if urllib.request.urlopen('{url}', timeout=3).status == 200 else 1)",
        ]

    def register_task_definition_input(self, image: str = IMAGE_PLACEHOLDER) -> dict[str, Any]:
        """The task definition in ECS RegisterTaskDefinition form (what CodeDeploy registers)."""
        return {
            "family": self.family,
            "taskRoleArn": self.task_role_arn,
            "executionRoleArn": self.execution_role_arn,
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": str(self.cpu),
            "memory": str(self.memory_mib),
            "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
            "containerDefinitions": [
                {
                    "name": self.container_name,
                    "image": image,
                    "essential": True,
                    # The container's hard memory limit: the whole task's memory (one container).
                    "memory": self.memory_mib,
                    "user": CONTAINER_USER,
                    "readonlyRootFilesystem": True,
                    "privileged": False,
                    "portMappings": [{"containerPort": self.container_port, "protocol": "tcp"}],
                    "environment": [{"name": name, "value": value} for name, value in self.environment],
                    "secrets": [{"name": SECRET_VARIABLE, "valueFrom": self.secret_arn}],
                    "healthCheck": {
                        "command": self.health_check_command,
                        "interval": 30,
                        "timeout": 5,
                        "retries": 3,
                        "startPeriod": 10,
                    },
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": self.log_group_name,
                            "awslogs-stream-prefix": self.log_stream_prefix,
                            "awslogs-region": self.region,
                        },
                    },
                }
            ],
        }
