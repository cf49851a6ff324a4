"""The test-traffic hook: a Lambda in the isolated subnets that tests the new revision through the test listener.

One function serves both release controllers (hook/handler.py): CodeDeploy runs it as the
``AfterAllowTestTraffic`` hook of the appspec, ECS-native releases as the
``POST_TEST_TRAFFIC_SHIFT`` lifecycle hook of the service.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.compliance import acknowledge_inline_policies, control_tower, exempt, skip
from components.handler_function import InVpc, add_handler_function

HANDLER_DIR = Path(__file__).parent / "hook"

# How long the hook keeps asking: green targets start, pass two health checks and only then
# answer well, which can take a minute or more. 12 attempts of at most 5 s, 10 s apart, is
# under three minutes, inside the function's timeout and far inside CodeDeploy's hour.
ATTEMPTS = 12
REQUEST_TIMEOUT_SECONDS = 5
RETRY_DELAY_SECONDS = 10
FUNCTION_TIMEOUT = cdk.Duration.minutes(4)


class TestTrafficHook(Construct):
    """Calls the service through the test listener and tells the release controller the result.

    It runs in the task subnets (no NAT): it reaches the test listener inside the VPC and
    CodeDeploy (and EC2, for an internet-facing load balancer) through interface endpoints.
    Under CodeDeploy its only AWS permission besides its network interfaces and its log group
    is ``PutLifecycleEventHookExecutionStatus`` on ``deployment_group_arn``. Under ECS
    (``deployment_group_arn=None``) it needs none: ECS reads the function's return value.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        vpc: ec2.IVpc,
        vpc_cidr: str,
        subnets: ec2.SubnetSelection,
        load_balancer: elbv2.ApplicationLoadBalancer,
        internet_facing: bool,
        test_listener_port: int,
        check_path: str,
        deployment_group_arn: str | None,
        description: str,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Lifecycle hook: calls the test listener and AWS APIs through the VPC endpoints",
            allow_all_outbound=False,
        )
        # CodeDeploy (and EC2, for an internet-facing load balancer) through the interface
        # endpoints; the rule to the test listener is added by the load balancer's side.
        self.security_group.add_egress_rule(
            ec2.Peer.ipv4(vpc_cidr), ec2.Port.tcp(443), "AWS APIs through the VPC interface endpoints"
        )
        environment = {
            "TEST_LISTENER_URL_HOST": load_balancer.load_balancer_dns_name,
            "TEST_LISTENER_PORT": str(test_listener_port),
            "CHECK_PATH": check_path,
            "ATTEMPTS": str(ATTEMPTS),
            "TIMEOUT_SECONDS": str(REQUEST_TIMEOUT_SECONDS),
            "RETRY_DELAY_SECONDS": str(RETRY_DELAY_SECONDS),
        }
        if internet_facing:
            # The public DNS name resolves to public addresses that isolated subnets cannot
            # reach; the handler finds the load balancer's private addresses instead.
            environment["LOAD_BALANCER_ENI_DESCRIPTION"] = "ELB " + load_balancer.load_balancer_full_name
        handler = add_handler_function(
            self,
            function_name=function_name,
            handler_dir=HANDLER_DIR,
            description=description,
            role_description=(
                "AfterAllowTestTraffic hook: report the test result to CodeDeploy"
                if deployment_group_arn
                else "ECS POST_TEST_TRAFFIC_SHIFT hook: probe the new revision through the test listener"
            ),
            timeout=FUNCTION_TIMEOUT,
            memory_size=256,
            environment=environment,
            log_key=log_key,
            log_retention=log_retention,
            in_vpc=InVpc(vpc=vpc, subnets=subnets, security_groups=(self.security_group,)),
        )
        self.log_group, self.role, self.function = handler.log_group, handler.role, handler.function
        if deployment_group_arn:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReportHookStatus",
                    actions=["codedeploy:PutLifecycleEventHookExecutionStatus"],
                    resources=[deployment_group_arn],
                )
            )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ManageOwnNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        )
        self._acknowledge()

    def _acknowledge(self) -> None:
        policy = self.role.node.find_child("DefaultPolicy")
        network_interfaces = (
            "Lambda needs ec2 network-interface actions on any interface to attach to the VPC, and "
            "DescribeNetworkInterfaces supports no resource-level permission."
        )
        exempt(policy, network_interfaces, nag=["AwsSolutions-IAM5[Resource::*]"], checkov_checks=["CKV_AWS_111"])
        control_tower.skip(
            self.function,
            "CT.LAMBDA.PR.3",
            "The hook runs in the VPC's task subnets with its own security group; the subnet ids come from the "
            "Network stack as cross-stack references, which this control's static rule accepts only as local "
            "references, while the deploy-time hook sees the resolved subnet ids.",
        )
        acknowledge_inline_policies(self.role)
        no_concurrency_limit = (
            "The release controller invokes the hook once or a few times per release, and a reserved "
            "concurrency would take capacity from the account's unreserved pool, which AWS refuses to "
            "lower below 10 in a new account."
        )
        exempt(
            self.function,
            no_concurrency_limit,
            nag=["NIST.800.53.R5-LambdaConcurrency"],
            checkov_checks=["CKV_AWS_115"],
        )
        no_dead_letter_queue = (
            "The release controller waits for the hook's status and fails and rolls back the release when none "
            "comes, so a failed invocation is already acted upon and a dead-letter queue would hold events "
            "that nobody replays."
        )
        exempt(self.function, no_dead_letter_queue, nag=["NIST.800.53.R5-LambdaDLQ"], checkov_checks=["CKV_AWS_116"])
        skip(
            self.function,
            "CKV_AWS_173",
            "The hook's environment holds the load balancer's DNS name, a port, a path and retry timings, "
            "none of them secret, and Lambda encrypts it at rest with its AWS managed key.",
        )
