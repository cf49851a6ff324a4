"""The service's task definition, built from the one TaskSpec the release's taskdef.json comes from."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from components.compliance import acknowledge, acknowledge_inline_policies
from components.ecs_blue_green.task_spec import CONTAINER_USER, SECRET_VARIABLE, TaskSpec


class ServiceTaskDefinition:
    """Task definition, container, execution and task roles, and the container log group.

    * The task role (what the application may call) is separate from the execution role
      (pull the image, write logs, read the secret), and starts empty.
    * Role ARNs, the log group and the secret are referred to by deterministic names, so the
      ``taskdef.json`` of a CodeDeploy release is the same document as this task definition.
    * ``image_tag`` is the tag the task runs. The service stack passes its ``ImageTag``
      parameter, which the pre-deploy guard sets to the tag the live service runs, so a new
      revision registered by ``cdk deploy`` never brings back an older image than the pipeline
      released (docs/ecs-blue-green.md, "Day 2").

    A part of ``ReleasedFargateService``, not a construct of its own: it builds into the scope it
    is given (the service) and adds no path segment, so its resources keep the logical ids they
    had before the service was split into files (docs/ecs-blue-green.md, "Logical ids").
    """

    def __init__(
        self,
        scope: Construct,
        *,
        spec: TaskSpec,
        repository: ecr.IRepository,
        image_tag: str,
        execution_role_name: str,
        task_role_name: str,
        task_policy_names: Sequence[str],
        secret: secretsmanager.ISecret,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        self._scope = scope
        stack = cdk.Stack.of(self._scope)
        self.execution_role = iam.Role(
            self._scope,
            "ExecutionRole",
            role_name=execution_role_name,
            assumed_by=ecs_tasks_principal(stack),
            description="ECS agent: pull the image from the tools account, write logs, read the app secret",
        )
        self.task_role = iam.Role(
            self._scope,
            "TaskRole",
            role_name=task_role_name,
            assumed_by=ecs_tasks_principal(stack),
            description="The application's own AWS permissions: none unless configured",
            managed_policies=[
                iam.ManagedPolicy.from_managed_policy_name(self._scope, f"TaskPolicy{index}", name)
                for index, name in enumerate(task_policy_names)
            ],
        )
        self.log_group = logs.LogGroup(
            self._scope,
            "Logs",
            log_group_name=spec.log_group_name,
            encryption_key=key,
            retention=log_retention,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self._scope,
            "TaskDefinition",
            family=spec.family,
            cpu=spec.cpu,
            memory_limit_mib=spec.memory_mib,
            execution_role=self.execution_role,
            task_role=self.task_role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.container = self._add_container(spec, repository, image_tag)
        self._grant_and_acknowledge(spec, secret, key)

    def _add_container(self, spec: TaskSpec, repository: ecr.IRepository, image_tag: str) -> ecs.ContainerDefinition:
        """The one container: read-only, unprivileged, the secret injected by ECS, logs to ``Logs``."""
        # The task definition names the secret by its partial ARN, as the release template does.
        secret_reference = secretsmanager.Secret.from_secret_partial_arn(
            self._scope, "AppSecretByName", spec.secret_arn
        )
        return self.task_definition.add_container(
            "App",
            container_name=spec.container_name,
            image=ecs.ContainerImage.from_ecr_repository(repository, image_tag),
            essential=True,
            # A hard memory limit (Control Tower CT.ECS.PR.7): the task's memory, its only container.
            memory_limit_mib=spec.memory_mib,
            user=CONTAINER_USER,
            readonly_root_filesystem=True,
            privileged=False,
            port_mappings=[ecs.PortMapping(container_port=spec.container_port, protocol=ecs.Protocol.TCP)],
            environment=dict(spec.environment),
            secrets={SECRET_VARIABLE: ecs.Secret.from_secrets_manager(secret_reference)},
            health_check=ecs.HealthCheck(
                command=spec.health_check_command[1:],
                interval=cdk.Duration.seconds(30),
                timeout=cdk.Duration.seconds(5),
                retries=3,
                start_period=cdk.Duration.seconds(10),
            ),
            logging=ecs.LogDrivers.aws_logs(stream_prefix=spec.log_stream_prefix, log_group=self.log_group),
        )

    def _grant_and_acknowledge(self, spec: TaskSpec, secret: secretsmanager.ISecret, key: kms.IKey) -> None:
        """The literal role ARNs of the release template, the secret's decryption, and the acknowledged findings."""
        stack = cdk.Stack.of(self._scope)
        cfn_task_definition = self.task_definition.node.default_child
        assert isinstance(cfn_task_definition, ecs.CfnTaskDefinition)
        # Literal ARNs, as in the release template; the roles must exist first.
        cfn_task_definition.add_property_override("ExecutionRoleArn", spec.execution_role_arn)
        cfn_task_definition.add_property_override("TaskRoleArn", spec.task_role_arn)
        cfn_task_definition.node.add_dependency(self.execution_role, self.task_role, secret)
        # The secret is named by partial ARN, which carries no key: grant the decryption that
        # GetSecretValue needs on the stack's key explicitly, and only through Secrets Manager.
        self.execution_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DecryptTheAppSecret",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
            )
        )
        acknowledge(
            self.execution_role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "The ECR action GetAuthorizationToken has no resource-level permission; the pull actions are "
            "limited to the one repository of the tools account.",
        )
        acknowledge_inline_policies(self.execution_role)
        acknowledge(
            self.task_definition,
            "AwsSolutions-ECS2",
            "The plain environment variables are the port, service name and environment name, none of "
            "them sensitive; the application secret is injected with ECS secrets from Secrets Manager.",
        )


def ecs_tasks_principal(stack: cdk.Stack) -> iam.IPrincipal:
    """ECS tasks of this account only (confused-deputy protection)."""
    return iam.ServicePrincipal(
        "ecs-tasks.amazonaws.com",
        conditions={
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{stack.region}:{stack.account}:*"},
        },
    )
