"""A VPC whose Fargate tasks have no route to the internet and still pull images and ship logs.

Tasks run in PRIVATE_ISOLATED subnets: no NAT gateway, no Elastic IP, no default route. Every
AWS API they call is reached through an interface endpoint with private DNS, and image layers
come from S3 through a gateway endpoint. The test-traffic hook's prober also runs there and
calls no AWS API; the hook's invoker, which does, runs outside the VPC. Public subnets
exist only for the load balancer. See docs/network.md for the diagram, the reason behind each
endpoint and the cost comparison with a NAT design.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.compliance import acknowledge, acknowledge_inline_policies, exempt, skip
from components.kms_policies import allow_cloudwatch_logs, deny_grants_except_for_aws_resources

HTTPS = 443


class EndpointPolicy(enum.Enum):
    """Which endpoint policy an interface endpoint gets."""

    #: Only principals of this account may use the endpoint, for any action of its own service.
    ACCOUNT = "account"
    #: Only principals of this account, only to pull images from the given repositories (ECR).
    IMAGE_PULL = "image-pull"
    #: No custom policy: AWS does not document endpoint policy support for the service, so the
    #: endpoint keeps its default policy and the callers' IAM policies are the only control.
    DEFAULT = "default"


@dataclass(frozen=True)
class InterfaceEndpoint:
    """One AWS service reached through an interface endpoint, and what fails without it."""

    construct_id: str
    service: ec2.InterfaceVpcEndpointAwsService
    policy: EndpointPolicy
    without_it: str


ECR_API = InterfaceEndpoint(
    construct_id="EcrApiEndpoint",
    service=ec2.InterfaceVpcEndpointAwsService.ECR,
    policy=EndpointPolicy.IMAGE_PULL,
    # Fargate calls ecr:GetAuthorizationToken with the execution role through its own, Fargate-owned
    # network interface, not the task's (ECS developer guide, task_execution_IAM_role); the ECR
    # API endpoint is still one of the three a Fargate 1.4.0 task on a private subnet needs
    # (ECS developer guide, platform-version-migration; ECR user guide, vpc-endpoints).
    without_it=(
        "Fargate tasks on platform version 1.4.0 in subnets without internet access need the ECR API endpoint "
        "beside ecr.dkr and the S3 gateway (ECS developer guide, platform-version-migration), or the image "
        "pull stops with CannotPullContainerError."
    ),
)
ECR_DOCKER = InterfaceEndpoint(
    construct_id="EcrDockerEndpoint",
    service=ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    policy=EndpointPolicy.IMAGE_PULL,
    without_it="Fargate cannot fetch the image manifest from the registry: CannotPullContainerError (i/o timeout).",
)
LOGS = InterfaceEndpoint(
    construct_id="LogsEndpoint",
    service=ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    policy=EndpointPolicy.ACCOUNT,
    without_it="The awslogs log driver cannot create its log stream, so the task fails to start.",
)
SECRETS_MANAGER = InterfaceEndpoint(
    construct_id="SecretsManagerEndpoint",
    service=ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    policy=EndpointPolicy.ACCOUNT,
    without_it="ECS cannot inject the container's secrets, so the task stops with ResourceInitializationError.",
)
CODEDEPLOY = InterfaceEndpoint(
    construct_id="CodeDeployEndpoint",
    service=ec2.InterfaceVpcEndpointAwsService.CODEDEPLOY,
    policy=EndpointPolicy.DEFAULT,
    without_it=(
        "The AfterAllowTestTraffic hook Lambda cannot call PutLifecycleEventHookExecutionStatus, "
        "so every deployment waits for the hook timeout and rolls back."
    ),
)
EC2 = InterfaceEndpoint(
    construct_id="Ec2Endpoint",
    service=ec2.InterfaceVpcEndpointAwsService.EC2,
    policy=EndpointPolicy.ACCOUNT,
    without_it=(
        "The hook Lambda cannot call ec2:DescribeNetworkInterfaces to find an internet-facing ALB's "
        "private addresses (its DNS name resolves to public IPs), so the test-traffic check fails."
    ),
)

#: The endpoints a Fargate service deployed blue/green by CodeDeploy needs in isolated subnets when its
#: test-traffic hook runs there too. This project's hook calls CodeDeploy and EC2 from outside the VPC,
#: so its network stacks take the tasks' four only (stacks/network_stack.py, interface_endpoints).
DEFAULT_INTERFACE_ENDPOINTS: tuple[InterfaceEndpoint, ...] = (
    ECR_API,
    ECR_DOCKER,
    LOGS,
    SECRETS_MANAGER,
    CODEDEPLOY,
    EC2,
)

#: ECR pull actions: the token, the layer check, the manifest and the layer download URL.
IMAGE_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)


class PrivateNetwork(Construct):
    """A VPC with public subnets for the load balancer and isolated subnets for tasks.

    - ``nat_gateways=0``: no NAT gateway, no Elastic IP; the isolated route tables have no
      default route at all.
    - Interface endpoints (private DNS on) for ``interface_endpoints`` in the task subnets of the
      first ``endpoint_azs`` AZs (all of them by default), behind one security group that accepts
      TCP 443 from the VPC CIDR only.
    - An S3 gateway endpoint on every isolated route table, limited to ``s3:GetObject`` on the
      region's ECR layer bucket.
    - VPC flow logs (all traffic) to a log group encrypted with a rotating KMS key.
    - The VPC's default security group keeps no rules.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        max_azs: int,
        flow_log_group_name: str,
        flow_log_retention: logs.RetentionDays,
        image_repository_arns: Sequence[str],
        interface_endpoints: Sequence[InterfaceEndpoint] = DEFAULT_INTERFACE_ENDPOINTS,
        endpoint_azs: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if max_azs < 2:
            raise ValueError(f"max_azs must be at least 2 for a highly available network, got {max_azs}")
        if endpoint_azs is not None and not 1 <= endpoint_azs <= max_azs:
            raise ValueError(f"endpoint_azs must be from 1 to max_azs ({max_azs}), got {endpoint_azs}")
        ids = [endpoint.construct_id for endpoint in interface_endpoints]
        if len(set(ids)) != len(ids):
            raise ValueError(f"interface endpoint construct ids must be unique, got {ids}")
        stack = cdk.Stack.of(self)
        self._account = stack.account

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=max_azs,
            nat_gateways=0,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="LoadBalancer", subnet_type=ec2.SubnetType.PUBLIC, map_public_ip_on_launch=False
                ),
                ec2.SubnetConfiguration(name="Tasks", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            ],
        )
        self.task_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.load_balancer_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
        for subnet in self.vpc.public_subnets:
            acknowledge(
                subnet.node.find_child("DefaultRoute"),
                "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                "Only the load balancer lives in these subnets and it needs the route to the internet gateway "
                "to serve users; the tasks, the endpoints and the hook run in isolated subnets without it.",
            )
        self._skip_default_security_group_handler(stack)

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from inside the VPC only",
            allow_all_outbound=False,
        )
        # The literal CIDR (not the VPC's CidrBlock attribute) keeps the rule readable and checkable.
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(cidr), ec2.Port.tcp(HTTPS), "HTTPS from the VPC to the AWS API endpoints"
        )

        self.endpoint_subnets = self._endpoint_subnets(endpoint_azs or max_azs)
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for spec in interface_endpoints:
            endpoint = self.vpc.add_interface_endpoint(
                spec.construct_id,
                service=spec.service,
                subnets=self.endpoint_subnets,
                private_dns_enabled=True,
                security_groups=[self.endpoint_security_group],
                open=False,
            )
            for statement in self._policy(spec, image_repository_arns):
                endpoint.add_to_policy(statement)
            self.interface_endpoints[spec.construct_id] = endpoint

        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.task_subnets]
        )
        # ECR hands Fargate pre-signed URLs into its own layer bucket: the caller is ECR's signer,
        # not a principal of this account, so the statement is scoped by resource, not by account.
        self.s3_endpoint.add_to_policy(
            iam.PolicyStatement(
                sid="AllowEcrImageLayers",
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject"],
                resources=[f"arn:{stack.partition}:s3:::prod-{stack.region}-starport-layer-bucket/*"],
            )
        )

        self._add_flow_log(flow_log_group_name, flow_log_retention)

    def _add_flow_log(self, flow_log_group_name: str, flow_log_retention: logs.RetentionDays) -> None:
        """Every packet's record in a log group of its own, encrypted with a key of its own."""
        self.flow_log_key = kms.Key(
            self,
            "FlowLogKey",
            description=f"Encrypts the VPC flow logs in {flow_log_group_name}",
            enable_key_rotation=True,
        )
        allow_cloudwatch_logs(self.flow_log_key, log_group_name=flow_log_group_name)
        deny_grants_except_for_aws_resources(self.flow_log_key)
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogGroup",
            log_group_name=flow_log_group_name,
            encryption_key=self.flow_log_key,
            retention=flow_log_retention,
        )
        self.flow_log = self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        acknowledge_inline_policies(self.flow_log.node.find_child("IAMRole"))

    def _endpoint_subnets(self, zones: int) -> ec2.SubnetSelection:
        """The task subnets of the VPC's first ``zones`` AZs: one endpoint ENI in each (one hourly charge each).

        With private DNS, the service's regional name resolves to the endpoint's ENIs from every
        subnet of the VPC (PrivateLink guide, privatelink-access-aws-services), so a task in a zone
        without an ENI reaches one in another zone. An endpoint is resilient to a zone failure only
        with ENIs in several zones (VPC user guide, vpce-interface); docs/network.md, "Endpoint zones".
        """
        if zones == len(self.vpc.availability_zones):
            return self.task_subnets
        return ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, availability_zones=self.vpc.availability_zones[:zones]
        )

    @staticmethod
    def _skip_default_security_group_handler(stack: cdk.Stack) -> None:
        """checkov and Control Tower exceptions for the function CDK deploys to empty the default security group."""
        provider = stack.node.find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
        handler = provider.node.find_child("Handler")
        outside_the_vpc = (
            "This CDK-provided function only calls the EC2 API to remove the default security group's rules "
            "while CloudFormation deploys the VPC; it handles no data and needs no address in the network "
            "it configures."
        )
        exempt(handler, outside_the_vpc, checkov_checks=["CKV_AWS_117"], control_tower_controls=["CT.LAMBDA.PR.3"])
        skip(
            handler,
            "CKV_AWS_115",
            "CloudFormation invokes this CDK-provided function only while it creates or updates the VPC, so "
            "a reserved concurrency would only take capacity from the account's unreserved pool.",
        )
        skip(
            handler,
            "CKV_AWS_116",
            "CloudFormation waits for this custom resource handler's answer and rolls the stack back when "
            "none comes, so a dead-letter queue would hold events that nobody replays.",
        )

    def _policy(self, spec: InterfaceEndpoint, image_repository_arns: Sequence[str]) -> list[iam.PolicyStatement]:
        this_account = {"StringEquals": {"aws:PrincipalAccount": self._account}}
        policy = spec.policy
        if policy is EndpointPolicy.ACCOUNT:
            # The endpoint serves one service: name its actions rather than "*", so that the
            # policy reads as what it allows and no statement anywhere allows every action.
            prefix = spec.service.short_name
            if not re.fullmatch(r"[a-z0-9-]+", prefix):
                raise ValueError(f"{spec.construct_id}: {prefix!r} is not an IAM service prefix; use another policy")
            return [
                iam.PolicyStatement(
                    sid="AllowThisAccountOnly",
                    principals=[iam.AnyPrincipal()],
                    actions=[f"{prefix}:*"],
                    resources=["*"],
                    conditions=this_account,
                )
            ]
        if policy is EndpointPolicy.IMAGE_PULL:
            if not image_repository_arns:
                raise ValueError("an ECR endpoint needs at least one repository ARN in image_repository_arns")
            return [
                iam.PolicyStatement(
                    sid="AllowRegistryLogin",
                    principals=[iam.AnyPrincipal()],
                    actions=["ecr:GetAuthorizationToken"],
                    resources=["*"],
                    conditions=this_account,
                ),
                iam.PolicyStatement(
                    sid="AllowImagePull",
                    principals=[iam.AnyPrincipal()],
                    actions=list(IMAGE_PULL_ACTIONS),
                    resources=list(image_repository_arns),
                    conditions=this_account,
                ),
            ]
        return []
