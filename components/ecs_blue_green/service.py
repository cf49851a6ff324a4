"""An ECS Fargate service on isolated subnets, released blue/green by CodeDeploy or by ECS itself."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from components.compliance import exempt
from components.ecs_blue_green import ecs_native_release
from components.ecs_blue_green.codedeploy_release import CodeDeployRelease, hand_task_definition_to_codedeploy
from components.ecs_blue_green.ecs_native_release import EcsNativeRelease
from components.ecs_blue_green.health_alarms import HealthAlarms
from components.ecs_blue_green.lifecycle_hook import TestTrafficHook
from components.ecs_blue_green.live_traffic_reader import LiveTraffic
from components.ecs_blue_green.load_balancer import ServiceLoadBalancer
from components.ecs_blue_green.service_spec import ServiceNames, ServiceSettings
from components.ecs_blue_green.task_definition import ServiceTaskDefinition
from components.ecs_blue_green.task_spec import SECRET_VARIABLE, TaskSpec
from components.kms_policies import allow_cloudwatch_logs, deny_grants_except_for_aws_resources
from components.log_retention import retention
from config.settings import EcsReleaseConfig

#: Tasks scale on CPU between desired_count and max_count.
CPU_TARGET_PERCENT = 70
#: The path the test-traffic hook requests: the new tasks really got their secret.
HOOK_CHECK_PATH = "/secret-check"


class ReleasedFargateService(Construct):
    """The application of one target account and everything a release touches.

    It reads like the diagram in docs/ecs-blue-green.md; each ``_build_*`` method builds one part:

    * the task definition from ``TaskSpec`` with its two roles and log group
      (``ServiceTaskDefinition``, task_definition.py);
    * the ALB, both target groups, the production and test listeners (``ServiceLoadBalancer``,
      load_balancer.py);
    * ``Service``: the Fargate service in the isolated task subnets, scaled by Application
      Auto Scaling between ``desired_count`` and ``max_count``;
    * ``TestTrafficHook``: the Lambda that probes the new revision through the test listener;
    * the health alarms on both target groups and on the load balancer's own 5xx
      (``HealthAlarms``, health_alarms.py);
    * ``LiveTraffic``: the reader whose answer every forward, and under ECS the service's
      primary target group, is written from (live_traffic_reader.py);
    * the release controller, ``CodeDeployRelease`` or ``EcsNativeRelease``.

    It takes the few values it uses: ``ServiceNames`` and ``ServiceSettings`` (service_spec.py),
    built by ``ServiceStack``. The task definition, load balancer, alarms and release are parts,
    not constructs of their own: they build into this construct's scope, so their resources keep
    the logical ids they had before the service was split into files, without any override
    (docs/ecs-blue-green.md, "Logical ids").
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: ServiceNames,
        settings: ServiceSettings,
        spec: TaskSpec,
        secret_name: str,
        task_policy_names: tuple[str, ...],
        image_tag: str,
        vpc: ec2.IVpc,
        task_subnets: ec2.SubnetSelection,
        load_balancer_subnets: ec2.SubnetSelection,
    ) -> None:
        super().__init__(scope, construct_id)
        self._names = names
        self._settings = settings
        self._log_retention = retention(settings.log_retention_days)
        self.key = self._build_key()
        self.secret = self._build_secret(secret_name, names.service)
        self.cluster = self._build_cluster(vpc)
        self.tasks = self._build_tasks(spec, image_tag, task_policy_names)
        self.load_balancing = self._build_load_balancing(spec, vpc, load_balancer_subnets)
        self.alarms = self._build_alarms()
        self.service_security_group = self._build_service_security_group(vpc)
        self.service = self._build_service(spec, task_subnets)
        self.live_traffic = self._build_live_traffic()
        self.topic = self._build_topic()
        self.hook = self._build_hook(vpc, task_subnets)
        self.release = self._build_release(spec)
        self._guard_with_live_traffic()

    # ----------------------------------------------------------------------------------
    def _build_key(self) -> kms.Key:
        key = kms.Key(
            self,
            "Key",
            description=f"{self._names.owner}: service logs, secret and notifications",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        allow_cloudwatch_logs(key)
        deny_grants_except_for_aws_resources(key)
        # EventBridge's permission to publish to the encrypted topic is added by the SnsTopic target.
        return key

    def _build_cluster(self, vpc: ec2.IVpc) -> ecs.Cluster:
        # Named under ECS: the pipeline's ECS deploy action finds the service by cluster and service
        # name. Not under CodeDeploy, where naming them now would replace a deployed cluster.
        return ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            cluster_name=None if self._settings.codedeploy_controls else self._names.cluster,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )

    def _build_tasks(self, spec: TaskSpec, image_tag: str, task_policy_names: tuple[str, ...]) -> ServiceTaskDefinition:
        repository = ecr.Repository.from_repository_attributes(
            self, "Repository", repository_arn=self._names.repository_arn, repository_name=self._names.repository
        )
        return ServiceTaskDefinition(
            self,
            spec=spec,
            repository=repository,
            image_tag=image_tag,
            execution_role_name=self._names.execution_role,
            task_role_name=self._names.task_role,
            task_policy_names=task_policy_names,
            secret=self.secret,
            key=self.key,
            log_retention=self._log_retention,
        )

    def _build_load_balancing(self, spec: TaskSpec, vpc: ec2.IVpc, subnets: ec2.SubnetSelection) -> ServiceLoadBalancer:
        settings = self._settings
        return ServiceLoadBalancer(
            self,
            vpc=vpc,
            subnets=subnets,
            internet_facing=settings.alb_internet_facing,
            vpc_cidr=settings.vpc_cidr,
            container_port=spec.container_port,
            health_check_path=spec.health_check_path,
            certificate_arn=settings.certificate_arn,
            test_listener_port=settings.test_listener_port,
            test_listener_cidr=settings.test_listener_cidr,
            log_retention_days=settings.log_retention_days,
            forward_with_rules=not settings.codedeploy_controls,
            deletion_protection=settings.deletion_protection,
        )

    def _build_alarms(self) -> HealthAlarms:
        lb = self.load_balancing
        health_alarms = self._names.health_alarms
        return HealthAlarms(
            self,
            alarms=self._settings.alarms,
            load_balancer=lb.load_balancer,
            target_groups=lb.target_groups,
            alarm_name=lambda alarm, colour: health_alarms[(alarm, colour)],
            load_balancer_alarm_name=self._names.load_balancer_alarm,
            rolled_back_by="CodeDeploy" if self._settings.codedeploy_controls else "Amazon ECS",
        )

    def _build_service_security_group(self, vpc: ec2.IVpc) -> ec2.SecurityGroup:
        security_group = ec2.SecurityGroup(
            self,
            "ServiceSecurityGroup",
            vpc=vpc,
            description="Tasks: traffic from the load balancer only; out to the VPC endpoints",
            allow_all_outbound=False,
        )
        # HTTPS out to anywhere is safe here: the isolated subnets route only to the VPC, so
        # this reaches the interface endpoints and the S3 gateway endpoint (image layers), whose
        # addresses come from a managed prefix list rather than the VPC CIDR.
        security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "VPC interface endpoints and the S3 gateway endpoint"
        )
        return security_group

    def _build_service(self, spec: TaskSpec, task_subnets: ec2.SubnetSelection) -> ecs.FargateService:
        settings = self._settings
        codedeploy_controls = settings.codedeploy_controls
        controller_options = (
            {"deployment_controller": ecs.DeploymentController(type=ecs.DeploymentControllerType.CODE_DEPLOY)}
            if codedeploy_controls
            else ecs_native_release.service_options(
                _ecs_release(settings), self.alarms.alarm_names, settings.rollback_on_alarm
            )
        )
        service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.tasks.task_definition,
            service_name=None if codedeploy_controls else self._names.ecs_service,
            # Under CODE_DEPLOY the count stays in the service resource, as first deployed: that
            # resource takes no CloudFormation update at all, so it never resets what Application
            # Auto Scaling set. Under ECS it is left out, and the scalable target alone owns it.
            desired_count=settings.desired_count if codedeploy_controls else None,
            assign_public_ip=False,
            vpc_subnets=task_subnets,
            security_groups=[self.service_security_group],
            health_check_grace_period=cdk.Duration.seconds(60),
            # A release starts the full new revision beside the old one; these only govern how
            # ECS replaces failed tasks: never below the desired count.
            min_healthy_percent=100,
            max_healthy_percent=200,
            enable_ecs_managed_tags=True,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            **controller_options,
        )
        self._scale(service, settings.desired_count, settings.max_count)
        lb = self.load_balancing
        if codedeploy_controls:
            # Before the rule below, whose description it keeps ("Load balancer to target").
            service.attach_to_application_target_group(lb.blue_target_group)
        service.connections.allow_from(lb.security_group, ec2.Port.tcp(spec.container_port), "Load balancer to tasks")
        return service

    def _build_live_traffic(self) -> LiveTraffic:
        """What is live: the reader every forward (and under ECS the primary target group) is written from."""
        codedeploy_controls = self._settings.codedeploy_controls
        lb = self.load_balancing
        live_traffic = LiveTraffic(
            self,
            "LiveTraffic",
            function_name=self._names.live_traffic_function,
            release_controller=self._settings.release_controller,
            production_listener=lb.production_listener,
            test_listener=lb.test_listener,
            production_rule=lb.production_rule,
            test_rule=lb.test_rule,
            blue_target_group=lb.blue_target_group,
            green_target_group=lb.green_target_group,
            service=self.service,
            cluster=self.cluster,
            codedeploy_application=self._names.codedeploy_application if codedeploy_controls else None,
            codedeploy_deployment_group=self._names.deployment_group if codedeploy_controls else None,
            log_key=self.key,
            log_retention=self._log_retention,
        )
        lb.forward_live(production=live_traffic.production_weights, test=live_traffic.test_weights)
        return live_traffic

    def _build_topic(self) -> sns.Topic:
        topic = sns.Topic(
            self,
            "DeploymentEvents",
            display_name=f"{self._names.owner} deployments",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.alarms.notify(topic, self.key)
        return topic

    def _build_hook(self, vpc: ec2.IVpc, task_subnets: ec2.SubnetSelection) -> TestTrafficHook:
        settings = self._settings
        codedeploy_controls = settings.codedeploy_controls
        lb = self.load_balancing
        deployment_group_arn = cdk.Stack.of(self).format_arn(
            service="codedeploy",
            resource="deploymentgroup",
            resource_name=f"{self._names.codedeploy_application}/{self._names.deployment_group}",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        hook = TestTrafficHook(
            self,
            "TestTrafficHook",
            function_name=self._names.hook_function,
            vpc=vpc,
            subnets=task_subnets,
            load_balancer=lb.load_balancer,
            internet_facing=settings.alb_internet_facing,
            test_listener_port=settings.test_listener_port,
            check_path=HOOK_CHECK_PATH,
            deployment_group_arn=deployment_group_arn if codedeploy_controls else None,
            description=(
                "CodeDeploy AfterAllowTestTraffic hook: checks the green task set through the test listener"
                if codedeploy_controls
                else "ECS POST_TEST_TRAFFIC_SHIFT hook: checks the new revision through the test listener"
            ),
            log_key=self.key,
            log_retention=self._log_retention,
        )
        lb.security_group.connections.allow_from(
            hook.security_group,
            ec2.Port.tcp(settings.test_listener_port),
            "Lifecycle hook to test listener",
        )
        return hook

    def _build_release(self, spec: TaskSpec) -> CodeDeployRelease | EcsNativeRelease:
        settings = self._settings
        lb = self.load_balancing
        if settings.codedeploy_controls:
            hand_task_definition_to_codedeploy(self.service, self.tasks.task_definition)
            return CodeDeployRelease(
                self,
                application_name=self._names.codedeploy_application,
                deployment_group_name=self._names.deployment_group,
                service=self.service,
                deployment_config=settings.deployment_config,
                blue_target_group=lb.blue_target_group,
                green_target_group=lb.green_target_group,
                production_listener=lb.production_listener,
                test_listener=lb.test_listener,
                termination_wait=cdk.Duration.minutes(settings.termination_wait_minutes),
                alarms=self.alarms.alarms,
                rollback_on_alarm=settings.rollback_on_alarm,
                hook=self.hook.function,
                topic=self.topic,
            )
        assert lb.production_rule is not None and lb.test_rule is not None
        return EcsNativeRelease(
            self,
            service=self.service,
            container_name=spec.container_name,
            container_port=spec.container_port,
            blue_target_group=lb.blue_target_group,
            green_target_group=lb.green_target_group,
            production_listener=lb.production_listener,
            test_listener=lb.test_listener,
            production_rule=lb.production_rule,
            test_rule=lb.test_rule,
            hook=self.hook.function,
            topic=self.topic,
            primary_target_group_arn=self.live_traffic.service_target_group_arn,
            alternate_target_group_arn=self.live_traffic.service_alternate_target_group_arn,
        )

    def _guard_with_live_traffic(self) -> None:
        """Everything that moves traffic, or starts an ECS deployment, waits for the reader.

        So a refusal comes before any of it changes. The listeners, the rules and (ECS) the
        service already do: their properties are Fn::GetAtt of the reader (a DependsOn beside it
        would be cfn-lint's W3005). The CODE_DEPLOY service does not: CloudFormation never
        updates it (the guard refuses any change to it), and adding a DependsOn to a deployed
        CODE_DEPLOY service is itself an update that fails (aws/aws-cdk#25777).
        """
        if isinstance(self.release, CodeDeployRelease):
            self.live_traffic.guard(self.tasks.task_definition, self.release.deployment_group)
        else:
            self.live_traffic.guard(self.tasks.task_definition)

    # ----------------------------------------------------------------------------------
    def _build_secret(self, secret_name: str, service_name: str) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            "AppSecret",
            secret_name=secret_name,
            description=f"Application secret of {service_name}, injected as {SECRET_VARIABLE}",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=48, exclude_punctuation=True),
        )
        no_rotation = (
            "The sample application's secret is a generated token that no external system checks, so there is "
            "nothing to rotate it against; a real application adds a rotation Lambda for its own credential."
        )
        exempt(secret, no_rotation, nag=["AwsSolutions-SMG4", "NIST.800.53.R5-SecretsManagerRotationEnabled"])
        return secret

    def _scale(self, service: ecs.FargateService, desired_count: int, max_count: int) -> None:
        """Capacity lives in Application Auto Scaling: desired_count is the fewest tasks, max_count the most.

        A change of ``max_count`` updates only the scalable target. Under CODE_DEPLOY a change of
        ``desired_count`` would also update the service, which that controller refuses
        (aws/aws-cdk#23564): the pre-deploy guard says so before anything changes.
        """
        scaling = service.auto_scale_task_count(min_capacity=desired_count, max_capacity=max_count)
        if max_count > desired_count:
            scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=CPU_TARGET_PERCENT)


def _ecs_release(settings: ServiceSettings) -> EcsReleaseConfig:
    assert settings.ecs_release is not None, "the configuration sets ecs_release with release_controller 'ecs'"
    return settings.ecs_release
