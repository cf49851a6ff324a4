"""An ECS Fargate service on isolated subnets, released blue/green by CodeDeploy."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from constructs import Construct

from components.compliance import acknowledge, acknowledge_inline_policies, control_tower, skip
from components.ecs_blue_green.lifecycle_hook import TestTrafficHook
from components.ecs_blue_green.task_spec import CONTAINER_USER, SECRET_VARIABLE, TaskSpec
from components.kms_policies import allow_cloudwatch_logs, deny_grants_except_for_aws_resources
from components.log_retention import retention
from components.naming import Names
from config import Config, EnvironmentConfig

DEPLOYMENT_CONFIGS = {
    "CANARY_10PERCENT_5MINUTES": codedeploy.EcsDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
    "CANARY_10PERCENT_15MINUTES": codedeploy.EcsDeploymentConfig.CANARY_10_PERCENT_15_MINUTES,
    "LINEAR_10PERCENT_EVERY_1MINUTES": codedeploy.EcsDeploymentConfig.LINEAR_10_PERCENT_EVERY_1_MINUTES,
    "LINEAR_10PERCENT_EVERY_3MINUTES": codedeploy.EcsDeploymentConfig.LINEAR_10_PERCENT_EVERY_3_MINUTES,
    "ALL_AT_ONCE": codedeploy.EcsDeploymentConfig.ALL_AT_ONCE,
}
#: The CodeDeploy deployment states that reach the notification topic.
NOTIFIED_STATES = ["FAILURE", "STOP", "SUCCESS"]
#: A deleted or overwritten access log stays recoverable for this many days.
NONCURRENT_LOG_DAYS = 30


class BlueGreenFargateService(Construct):
    """The application of one target account and everything a blue/green release touches.

    Design decisions (see docs/ecs-blue-green.md):

    * CDK owns the infrastructure, CodeDeploy owns task-definition rollouts. The service
      names its task definition by *family*, so a CDK change to the task definition
      registers a new revision without CloudFormation trying to update the service (which
      fails for the CODE_DEPLOY controller) and without undoing a release.
    * The task role (what the application may call) is separate from the execution role
      (pull the image, write logs, read the secret), and starts empty.
    * Role ARNs, the log group and the secret are referred to by deterministic names, so the
      ``taskdef.json`` of a release is the same document as this task definition.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        environment: EnvironmentConfig,
        vpc: ec2.IVpc,
        task_subnets: ec2.SubnetSelection,
        load_balancer_subnets: ec2.SubnetSelection,
    ) -> None:
        super().__init__(scope, construct_id)
        names = Names(config)
        self._names = names
        spec = TaskSpec.build(config, environment)
        stack = cdk.Stack.of(self)
        log_retention = retention(environment.log_retention_days)

        self.key = kms.Key(
            self,
            "Key",
            description=f"{config.project} {environment.name}: service logs, secret and notifications",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        allow_cloudwatch_logs(self.key)
        deny_grants_except_for_aws_resources(self.key)
        # EventBridge's permission to publish to the encrypted topic is added by the SnsTopic target.

        # -- application secret ---------------------------------------------------------
        self.secret = secretsmanager.Secret(
            self,
            "AppSecret",
            secret_name=config.service.secret_name,
            description=f"Application secret of {config.service.name}, injected as {SECRET_VARIABLE}",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=48, exclude_punctuation=True),
        )
        no_rotation = (
            "The sample application's secret is a generated token that no external system checks, so there is "
            "nothing to rotate it against; a real application adds a rotation Lambda for its own credential."
        )
        acknowledge(self.secret, "AwsSolutions-SMG4", no_rotation)
        acknowledge(self.secret, "NIST.800.53.R5-SecretsManagerRotationEnabled", no_rotation)
        # The task definition names the secret by its partial ARN, as the release template does.
        secret_reference = secretsmanager.Secret.from_secret_partial_arn(self, "AppSecretByName", spec.secret_arn)

        # -- cluster, roles, task definition -------------------------------------------
        self.cluster = ecs.Cluster(self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            role_name=names.execution_role,
            assumed_by=_ecs_tasks_principal(stack),
            description="ECS agent: pull the image from the tools account, write logs, read the app secret",
        )
        self.task_role = iam.Role(
            self,
            "TaskRole",
            role_name=names.task_role,
            assumed_by=_ecs_tasks_principal(stack),
            description="The application's own AWS permissions: none unless configured",
            managed_policies=[
                iam.ManagedPolicy.from_managed_policy_name(self, f"TaskPolicy{index}", name)
                for index, name in enumerate(config.service.task_policy_names)
            ],
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=spec.log_group_name,
            encryption_key=self.key,
            retention=log_retention,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.repository = ecr.Repository.from_repository_attributes(
            self, "Repository", repository_arn=names.ecr_repository_arn(), repository_name=names.ecr_repository
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
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
        self.container = self.task_definition.add_container(
            "App",
            container_name=spec.container_name,
            image=ecs.ContainerImage.from_ecr_repository(self.repository, config.service.initial_image_tag),
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
        cfn_task_definition = self.task_definition.node.default_child
        assert isinstance(cfn_task_definition, ecs.CfnTaskDefinition)
        # Literal ARNs, as in the release template; the roles must exist first.
        cfn_task_definition.add_property_override("ExecutionRoleArn", spec.execution_role_arn)
        cfn_task_definition.add_property_override("TaskRoleArn", spec.task_role_arn)
        cfn_task_definition.node.add_dependency(self.execution_role, self.task_role, self.secret)
        # The secret is named by partial ARN, which carries no key: grant the decryption that
        # GetSecretValue needs on the stack's key explicitly, and only through Secrets Manager.
        self.execution_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DecryptTheAppSecret",
                actions=["kms:Decrypt"],
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
            )
        )
        self._acknowledge_execution_role()
        acknowledge(
            self.task_definition,
            "AwsSolutions-ECS2",
            "The plain environment variables are the port, service name and environment name, none of "
            "them sensitive; the application secret is injected with ECS secrets from Secrets Manager.",
        )

        # -- load balancer ---------------------------------------------------------------
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # ALB access logs support SSE-S3 only
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Versioned: access logs are audit evidence, and a deleted or overwritten log stays
            # recoverable for a month.
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=cdk.Duration.days(environment.log_retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_LOG_DAYS),
                )
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self._acknowledge_access_logs()
        self.load_balancer_security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=vpc,
            description="Load balancer: production listener for users, test listener from inside the VPC",
            allow_all_outbound=False,
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            vpc_subnets=load_balancer_subnets,
            internet_facing=environment.alb_internet_facing,
            security_group=self.load_balancer_security_group,
            drop_invalid_header_fields=True,
            # Prod's load balancer cannot be deleted by a stray API call or a replacement
            # (Control Tower CT.ELASTICLOADBALANCING.PR.5); the other environments are torn down.
            deletion_protection=environment.name == "prod",
        )
        if environment.name != "prod":
            torn_down = (
                "The load balancer holds no data and a deploy recreates it, while deletion protection would make the "
                "documented cdk destroy of this non-production environment fail until someone turns it off by hand; "
                "prod's load balancer has deletion protection."
            )
            acknowledge(self.load_balancer, "NIST.800.53.R5-ELBDeletionProtectionEnabled", torn_down)
            control_tower.skip(self.load_balancer, "CT.ELASTICLOADBALANCING.PR.5", torn_down)
        self.load_balancer.log_access_logs(self.access_logs, prefix="alb")
        acknowledge(
            self.load_balancer,
            "NIST.800.53.R5-ALBWAFEnabled",
            "The sample application answers a health check and a secret check only; web ACL rules are chosen "
            "for what a real application serves, and a team associates its own AWS WAF web ACL with this "
            "load balancer.",
        )
        self.blue_target_group, self.green_target_group = (
            elbv2.ApplicationTargetGroup(
                self,
                f"{colour}TargetGroup",
                vpc=vpc,
                target_type=elbv2.TargetType.IP,
                port=spec.container_port,
                protocol=elbv2.ApplicationProtocol.HTTP,
                deregistration_delay=cdk.Duration.seconds(30),
                health_check=elbv2.HealthCheck(
                    path=spec.health_check_path,
                    healthy_http_codes="200",
                    interval=cdk.Duration.seconds(15),
                    healthy_threshold_count=2,
                    unhealthy_threshold_count=3,
                ),
            )
            for colour in ("Blue", "Green")
        )
        self.production_listener = self._production_listener(environment)
        self.test_listener = self.load_balancer.add_listener(
            "TestListener",
            port=environment.test_listener_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_target_groups=[self.blue_target_group],
        )
        self._acknowledge_plain_http(
            self.test_listener,
            "The test listener only carries CodeDeploy's pre-release checks of the green task set from inside "
            "the VPC; its security group rule admits the VPC (or the configured test CIDR) and nothing else.",
        )
        test_peer = ec2.Peer.ipv4(environment.test_listener_cidr or environment.vpc_cidr)
        self.load_balancer_security_group.add_ingress_rule(
            test_peer,
            ec2.Port.tcp(environment.test_listener_port),
            "Test listener: pre-release checks from inside the VPC only",
        )

        # -- service ---------------------------------------------------------------------
        self.service_security_group = ec2.SecurityGroup(
            self,
            "ServiceSecurityGroup",
            vpc=vpc,
            description="Tasks: traffic from the load balancer only; out to the VPC endpoints",
            allow_all_outbound=False,
        )
        # HTTPS out to anywhere is safe here: the isolated subnets route only to the VPC, so
        # this reaches the interface endpoints and the S3 gateway endpoint (image layers), whose
        # addresses come from a managed prefix list rather than the VPC CIDR.
        self.service_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "VPC interface endpoints and the S3 gateway endpoint"
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=environment.desired_count,
            assign_public_ip=False,
            vpc_subnets=task_subnets,
            security_groups=[self.service_security_group],
            deployment_controller=ecs.DeploymentController(type=ecs.DeploymentControllerType.CODE_DEPLOY),
            health_check_grace_period=cdk.Duration.seconds(60),
            # With CodeDeploy a release starts a full green task set beside blue; these only
            # govern how ECS replaces failed tasks: never below the desired count.
            min_healthy_percent=100,
            max_healthy_percent=200,
            enable_ecs_managed_tags=True,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
        )
        self.service.attach_to_application_target_group(self.blue_target_group)
        self.service.connections.allow_from(
            self.load_balancer_security_group, ec2.Port.tcp(spec.container_port), "Load balancer to tasks"
        )
        self._hand_task_definition_to_codedeploy(spec.family)

        # -- CodeDeploy blue/green -------------------------------------------------------
        self.alarms = self._alarms(environment)
        self.application = codedeploy.EcsApplication(self, "Application", application_name=names.codedeploy_application)
        deployment_group_arn = stack.format_arn(
            service="codedeploy",
            resource="deploymentgroup",
            resource_name=f"{names.codedeploy_application}/{names.deployment_group}",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.hook = TestTrafficHook(
            self,
            "TestTrafficHook",
            function_name=names.hook_function,
            vpc=vpc,
            vpc_cidr=environment.vpc_cidr,
            subnets=task_subnets,
            load_balancer=self.load_balancer,
            internet_facing=environment.alb_internet_facing,
            test_listener_port=environment.test_listener_port,
            check_path="/secret-check",
            deployment_group_arn=deployment_group_arn,
            log_key=self.key,
            log_retention=log_retention,
        )
        self.load_balancer_security_group.connections.allow_from(
            self.hook.security_group, ec2.Port.tcp(environment.test_listener_port), "Lifecycle hook to test listener"
        )
        self.deployment_group = codedeploy.EcsDeploymentGroup(
            self,
            "DeploymentGroup",
            application=self.application,
            deployment_group_name=names.deployment_group,
            service=self.service,
            deployment_config=DEPLOYMENT_CONFIGS[environment.deployment_config],
            blue_green_deployment_config=codedeploy.EcsBlueGreenDeploymentConfig(
                blue_target_group=self.blue_target_group,
                green_target_group=self.green_target_group,
                listener=self.production_listener,
                test_listener=self.test_listener,
                termination_wait_time=cdk.Duration.minutes(environment.termination_wait_minutes),
            ),
            alarms=self.alarms,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True,
                stopped_deployment=True,
                deployment_in_alarm=environment.rollback_on_alarm,
            ),
        )
        # Invoke the hook's unqualified ARN only: the appspec names the function, not a version.
        self.deployment_group.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="InvokeLifecycleHook",
                actions=["lambda:InvokeFunction"],
                resources=[self.hook.function.function_arn],
            )
        )
        acknowledge(
            self.deployment_group.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSCodeDeployRoleForECS]",
            "AWSCodeDeployRoleForECS is the service role policy AWS maintains for ECS blue/green "
            "deployments; it follows every new CodeDeploy feature that a hand-written copy would miss.",
        )
        acknowledge_inline_policies(self.deployment_group.role)

        # -- notifications ---------------------------------------------------------------
        self.topic = sns.Topic(
            self,
            "DeploymentEvents",
            display_name=f"{config.project} {environment.name} deployments",
            master_key=self.key,
            enforce_ssl=True,
        )
        events.Rule(
            self,
            "DeploymentStateChange",
            description="CodeDeploy deployments of this service that fail, stop or succeed",
            event_pattern=events.EventPattern(
                source=["aws.codedeploy"],
                detail_type=["CodeDeploy Deployment State-change Notification"],
                detail={"application": [names.codedeploy_application], "state": NOTIFIED_STATES},
            ),
            targets=[targets.SnsTopic(self.topic)],
        )
        self._notify_alarms_to_topic()

    # ----------------------------------------------------------------------------------
    def _production_listener(self, environment: EnvironmentConfig) -> elbv2.ApplicationListener:
        peer = ec2.Peer.any_ipv4() if environment.alb_internet_facing else ec2.Peer.ipv4(environment.vpc_cidr)
        self.load_balancer_security_group.add_ingress_rule(
            peer, ec2.Port.tcp(environment.production_port), "Production listener: the users of the service"
        )
        if environment.alb_internet_facing:
            acknowledge(
                self.load_balancer_security_group,
                "AwsSolutions-EC23",
                "An internet-facing load balancer serves the public on its production port only; the "
                "test listener and the tasks are reachable from inside the VPC alone.",
            )
            if not environment.certificate_arn:
                skip(
                    self.load_balancer_security_group,
                    "CKV_AWS_260",
                    "Without a certificate_arn the internet-facing production listener is plain HTTP on port 80, "
                    "so the public must reach that port; with a certificate the rule opens 443 instead.",
                )
        if environment.certificate_arn:
            self._redirect_http_to_https(peer, internet_facing=environment.alb_internet_facing)
            return self.load_balancer.add_listener(
                "ProductionListener",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(environment.certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                open=False,
                default_target_groups=[self.blue_target_group],
            )
        listener = self.load_balancer.add_listener(
            "ProductionListener",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_target_groups=[self.blue_target_group],
        )
        self._acknowledge_plain_http(
            listener,
            "No certificate_arn is configured for this environment, so there is no certificate to serve HTTPS "
            "with; setting one makes this listener HTTPS on port 443 with the recommended TLS policy.",
        )
        return listener

    def _redirect_http_to_https(self, peer: ec2.IPeer, *, internet_facing: bool) -> None:
        """Port 80 answers every request with a permanent redirect to HTTPS on 443, and serves nothing.

        Users who type the bare host name reach the HTTPS listener instead of a timeout. No target
        group sits behind this listener, so no request reaches a task over plain HTTP.
        """
        self.load_balancer_security_group.add_ingress_rule(
            peer, ec2.Port.tcp(80), "Redirect of plain HTTP to the HTTPS production listener"
        )
        redirect = self.load_balancer.add_redirect(source_port=80, target_port=443, open=False)
        acknowledge(
            redirect,
            "NIST.800.53.R5-ELBv2ACMCertificateRequired",
            "This listener answers every request with a permanent redirect to the HTTPS listener, which "
            "serves the certificate; it has no target group and carries no application data.",
        )
        if internet_facing:
            skip(
                self.load_balancer_security_group,
                "CKV_AWS_260",
                "Port 80 is open to the public only for the listener that answers every request with a "
                "permanent redirect to HTTPS on 443; it forwards nothing to the tasks.",
            )

    def _acknowledge_plain_http(self, listener: elbv2.ApplicationListener, reason: str) -> None:
        """The findings of every scanner on a listener that serves plain HTTP, for one reason."""
        acknowledge(listener, "NIST.800.53.R5-ALBHttpToHttpsRedirection", reason)
        acknowledge(listener, "NIST.800.53.R5-ELBv2ACMCertificateRequired", reason)
        skip(listener, "CKV_AWS_2", reason)
        skip(listener, "CKV_AWS_103", reason)
        control_tower.skip(listener, "CT.ELASTICLOADBALANCING.PR.1", reason)

    def _acknowledge_access_logs(self) -> None:
        target = (
            "This bucket is the destination of the load balancer's access logs; logging its own "
            "accesses to another bucket would only record the log delivery service writing here."
        )
        acknowledge(self.access_logs, "AwsSolutions-S1", target)
        acknowledge(self.access_logs, "NIST.800.53.R5-S3BucketLoggingEnabled", target)
        skip(self.access_logs, "CKV_AWS_18", target)
        control_tower.skip(self.access_logs, "CT.S3.PR.2", target)
        sse_s3_only = (
            "Elastic Load Balancing delivers access logs only to buckets encrypted with SSE-S3, so a KMS key "
            "here would stop the delivery of every log."
        )
        acknowledge(self.access_logs, "NIST.800.53.R5-S3DefaultEncryptionKMS", sse_s3_only)
        control_tower.skip(self.access_logs, "CT.S3.PR.10", sse_s3_only)
        control_tower.skip(
            self.access_logs,
            "CT.S3.PR.4",
            "No process reacts to a new access log: they are read when someone investigates, and an event "
            "notification would need CDK's notification custom resource, a Lambda function with its own role, "
            "to send events that nobody consumes.",
        )
        control_tower.skip(
            self.access_logs,
            "CT.S3.PR.9",
            "The logs expire with the environment's log retention by lifecycle rule and the bucket is versioned "
            "against overwrites; Object Lock, which can only be turned on when a bucket is created, would add a "
            "second retention that the lifecycle rule could not shorten.",
        )
        acknowledge(
            self.access_logs,
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "These logs describe a load balancer of this region only, expire with the environment's log "
            "retention and are versioned against deletion, so a replica in a second region would double "
            "their cost without a recovery need.",
        )

    def _alarms(self, environment: EnvironmentConfig) -> list[cloudwatch.IAlarm]:
        """Each configured alarm, once per target group.

        CodeDeploy swaps the roles of the two target groups on every release: the new task set
        of the next release starts in the group that served production before. Watching both
        means every release's new task set is watched, whichever group it lands in.
        """
        # What each alarm watches: metric, statistic, threshold, and what the alarm means.
        watched = {
            "target_5xx": ("HTTPCode_Target_5XX_Count", "Sum", 5, "answered with 5xx responses"),
            "unhealthy_hosts": ("UnHealthyHostCount", "Maximum", 1, "has unhealthy tasks"),
            "target_response_time": ("TargetResponseTime", "p99", 2, "answers slower than 2 seconds at p99"),
        }
        alarms: list[cloudwatch.IAlarm] = []
        for name in environment.alarms:
            metric_name, statistic, threshold, meaning = watched[name]
            for colour, target_group in (("Blue", self.blue_target_group), ("Green", self.green_target_group)):
                # A target group is attached to a listener only while it serves, so its metrics
                # are named by dimension rather than through the target group object.
                metric = cloudwatch.Metric(
                    namespace="AWS/ApplicationELB",
                    metric_name=metric_name,
                    dimensions_map={
                        "LoadBalancer": self.load_balancer.load_balancer_full_name,
                        "TargetGroup": target_group.target_group_full_name,
                    },
                    statistic=statistic,
                    period=cdk.Duration.minutes(1),
                )
                alarm = cloudwatch.Alarm(
                    self,
                    "Alarm" + "".join(part.capitalize() for part in name.split("_")) + colour,
                    alarm_name=self._names.health_alarm(environment.name, name, colour.lower()),
                    metric=metric,
                    threshold=threshold,
                    evaluation_periods=2,
                    datapoints_to_alarm=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarm_description=(
                        f"The {colour.lower()} target group {meaning}: CodeDeploy rolls a release back."
                    ),
                )
                alarms.append(alarm)
        return alarms

    def _notify_alarms_to_topic(self) -> None:
        """Every health alarm also notifies the environment's topic (Control Tower CT.CLOUDWATCH.PR.1).

        CodeDeploy rolls a release back when one fires; the action tells people at once, also when
        no release runs. The topic is encrypted with the stack's key, so CloudWatch needs to publish
        to the topic and to use the key (AWS knowledge center: "Why didn't I receive an SNS
        notification for my CloudWatch alarm trigger?" and "How do I configure a CloudWatch alarm
        with an encrypted SNS topic?").
        """
        cloudwatch_service = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        alarm_arns = [alarm.alarm_arn for alarm in self.alarms]
        for alarm in self.alarms:
            assert isinstance(alarm, cloudwatch.Alarm)  # made by _alarms
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
        if not alarm_arns:
            return
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowHealthAlarms",
                principals=[cloudwatch_service],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": alarm_arns}},
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[cloudwatch_service],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )

    def _hand_task_definition_to_codedeploy(self, family: str) -> None:
        """Point the service at the task definition family instead of one revision.

        CloudFormation cannot change the task definition of a service with the CODE_DEPLOY
        controller. With the family name as a constant, a re-run of ``cdk deploy`` after a
        release (or after a change to the task definition) leaves the service alone.
        """
        cfn_service = self.service.node.default_child
        assert isinstance(cfn_service, ecs.CfnService)
        cfn_service.add_property_override("TaskDefinition", family)
        cfn_service.node.add_dependency(self.task_definition)

    def _acknowledge_execution_role(self) -> None:
        acknowledge(
            self.execution_role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "The ECR action GetAuthorizationToken has no resource-level permission; the pull actions are "
            "limited to the one repository of the tools account.",
        )
        acknowledge_inline_policies(self.execution_role)


def _ecs_tasks_principal(stack: cdk.Stack) -> iam.IPrincipal:
    """ECS tasks of this account only (confused-deputy protection)."""
    return iam.ServicePrincipal(
        "ecs-tasks.amazonaws.com",
        conditions={
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{stack.region}:{stack.account}:*"},
        },
    )
