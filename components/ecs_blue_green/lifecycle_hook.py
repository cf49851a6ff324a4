"""The test-traffic hook: an invoker outside the VPC and a prober in the isolated subnets, testing the new revision.

The invoker (hook/handler.py) is the function both release controllers call: CodeDeploy as the
``AfterAllowTestTraffic`` hook of the appspec, ECS-native releases as the ``POST_TEST_TRAFFIC_SHIFT``
lifecycle hook of the service (the hook's target is the invoker's ARN). It runs outside the VPC and
reaches the AWS APIs it calls on their public endpoints (Lambda always, CodeDeploy under CodeDeploy
only, EC2 for an internet-facing load balancer only), so the task subnets need no CodeDeploy or EC2
interface endpoint: a function not connected to a VPC has access to AWS services and
the internet, and one connected to a VPC reaches them only through that VPC
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html). The prober
(hook_prober/handler.py) runs in the task subnets and only sends the one HTTP request it is given to
the test listener, which answers inside the VPC only.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.compliance import acknowledge_inline_policies, control_tower, exempt, skip
from components.handler_function import HandlerFunction, InVpc, add_handler_function

HANDLER_DIR = Path(__file__).parent / "hook"
PROBER_DIR = Path(__file__).parent / "hook_prober"

# How long the hook keeps asking: green targets start, pass two health checks and only then
# answer well, which can take a minute or more. 12 attempts 10 s apart span almost two minutes,
# far inside CodeDeploy's hour.
ATTEMPTS = 12
REQUEST_TIMEOUT_SECONDS = 5
RETRY_DELAY_SECONDS = 10
#: The prober sends one request of at most REQUEST_TIMEOUT_SECONDS; it refuses more than 8 s, 2 s under
#: this (hook_prober/handler.py, TIMEOUT_BOUNDS; the invoker's MAX_REQUEST_TIMEOUT_SECONDS).
PROBER_TIMEOUT = cdk.Duration.seconds(10)
#: The invoker's Lambda client waits this long for each of the prober's answers (hook/handler.py,
#: _CLIENT_CONFIG): longer than the prober's timeout, so that a prober that hangs is answered by Lambda.
PROBER_WAIT_SECONDS = 15
#: Even when every call waits as long as its client allows (hook/handler.py, _CLIENT_CONFIG), the invoker
#: reports before Lambda stops it: the EC2 lookup 36 s (2 tries of 3 s to connect and 5 s to read, and
#: a backoff of at most 20 s), 12 attempts of 20 s (5 s to connect, 15 s to read the prober's answer),
#: 11 pauses of 10 s and the CodeDeploy report 36 s (as the EC2 lookup) make 422 s, 58 s under 8 minutes
#: for the cold start. Should an attempt take longer anyway, the invoker starts no attempt that would
#: leave less than the report's 36 s, and reports Failed.
FUNCTION_TIMEOUT = cdk.Duration.minutes(8)


class TestTrafficHook(Construct):
    """Calls the service through the test listener and tells the release controller the result.

    ``function`` is the invoker, outside the VPC: the release controller's target. Its AWS
    permissions besides its log group: ``lambda:InvokeFunction`` on the prober only, under
    CodeDeploy ``PutLifecycleEventHookExecutionStatus`` on ``deployment_group_arn`` (under ECS,
    ``deployment_group_arn=None``, none: ECS reads the return value), and for an internet-facing
    load balancer ``ec2:DescribeNetworkInterfaces``. ``prober`` runs in ``subnets`` behind
    ``security_group``, whose only way out is the test listener's port on the load balancer (the
    rule is added by the load balancer's side); its role may manage its network interfaces and
    write its log group, nothing else.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        vpc: ec2.IVpc,
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
        self._internet_facing = internet_facing
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            # The description the group was released with, when the whole hook ran in the task subnets;
            # only the prober uses it now, and calls no AWS API. A security group's description cannot
            # be updated (AWS::EC2::SecurityGroup GroupDescription: "Update requires: Replacement"): a new
            # text would replace the group in every deployed account.
            description="Lifecycle hook: calls the test listener and AWS APIs through the VPC endpoints",
            allow_all_outbound=False,
        )
        prober = self._build_prober(function_name, vpc, subnets, log_key, log_retention)
        self.prober, self.prober_log_group = prober.function, prober.log_group
        environment = {
            "PROBER_FUNCTION_NAME": self.prober.function_name,
            "TEST_LISTENER_URL_HOST": load_balancer.load_balancer_dns_name,
            "TEST_LISTENER_PORT": str(test_listener_port),
            "CHECK_PATH": check_path,
            "ATTEMPTS": str(ATTEMPTS),
            "TIMEOUT_SECONDS": str(REQUEST_TIMEOUT_SECONDS),
            "RETRY_DELAY_SECONDS": str(RETRY_DELAY_SECONDS),
        }
        if internet_facing:
            # The public DNS name resolves to public addresses that isolated subnets cannot
            # reach; the invoker finds the load balancer's private addresses for the prober.
            environment["LOAD_BALANCER_ENI_DESCRIPTION"] = "ELB " + load_balancer.load_balancer_full_name
        # The ids Logs, Role and Function of the hook's first release: the invoker keeps them.
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
        )
        self.log_group, self.role, self.function = handler.log_group, handler.role, handler.function
        self._grant_invoker(deployment_group_arn)
        self._acknowledge_invoker()

    def _build_prober(
        self,
        function_name: str,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> HandlerFunction:
        scope = Construct(self, "Prober")
        prober = add_handler_function(
            scope,
            function_name=f"{function_name}-probe",
            handler_dir=PROBER_DIR,
            description="Test-traffic hook prober: one request to the test listener from the task subnets",
            role_description="Test-traffic hook prober: network interfaces in the task subnets and its own logs only",
            timeout=PROBER_TIMEOUT,
            memory_size=128,
            environment={},
            log_key=log_key,
            log_retention=log_retention,
            in_vpc=InVpc(vpc=vpc, subnets=subnets, security_groups=(self.security_group,)),
        )
        prober.role.add_to_policy(
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
        self._acknowledge_prober(prober.role, prober.function)
        return prober

    def _grant_invoker(self, deployment_group_arn: str | None) -> None:
        # The unqualified ARN only: the invoker calls the function, not a version or an alias.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeTheProber", actions=["lambda:InvokeFunction"], resources=[self.prober.function_arn]
            )
        )
        if deployment_group_arn:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReportHookStatus",
                    actions=["codedeploy:PutLifecycleEventHookExecutionStatus"],
                    resources=[deployment_group_arn],
                )
            )
        if self._internet_facing:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="FindTheLoadBalancerAddresses",
                    actions=["ec2:DescribeNetworkInterfaces"],
                    resources=["*"],
                )
            )

    def _acknowledge_invoker(self) -> None:
        if self._internet_facing:
            exempt(
                self.role.node.find_child("DefaultPolicy"),
                "The invoker finds the internet-facing load balancer's private addresses with "
                "DescribeNetworkInterfaces, which supports no resource-level permission; its other grants "
                "name the prober and this service's deployment group.",
                nag=["AwsSolutions-IAM5[Resource::*]"],
                checkov_checks=["CKV_AWS_111"],
            )
        acknowledge_inline_policies(self.role)
        exempt(
            self.function,
            "The invoker calls only AWS APIs and never reaches the VPC: Lambda to invoke the prober, CodeDeploy "
            "to report under CodeDeploy only, EC2 to find an internet-facing load balancer's addresses only for "
            "one. The request to the test listener is sent by the hook's prober, which runs inside the VPC's task "
            "subnets, so attaching the invoker would only add interface endpoints to pay for.",
            nag=["NIST.800.53.R5-LambdaInsideVPC"],
            checkov_checks=["CKV_AWS_117"],
            control_tower_controls=["CT.LAMBDA.PR.3"],
        )
        self._acknowledge_release_hook_function(self.function)
        skip(
            self.function,
            "CKV_AWS_173",
            "The hook's environment holds the prober's name, the load balancer's DNS name, a port, a path and "
            "retry timings, none of them secret, and Lambda encrypts it at rest with its AWS managed key.",
        )

    def _acknowledge_prober(self, role: iam.Role, function: lambda_.Function) -> None:
        exempt(
            role.node.find_child("DefaultPolicy"),
            "Lambda needs ec2 network-interface actions on any interface to attach to the VPC, and "
            "DescribeNetworkInterfaces supports no resource-level permission.",
            nag=["AwsSolutions-IAM5[Resource::*]"],
            checkov_checks=["CKV_AWS_111"],
        )
        control_tower.skip(
            function,
            "CT.LAMBDA.PR.3",
            "The prober runs in the VPC's task subnets with its own security group; the subnet ids come from the "
            "Network stack as cross-stack references, which this control's static rule accepts only as local "
            "references, while the deploy-time hook sees the resolved subnet ids.",
        )
        acknowledge_inline_policies(role)
        self._acknowledge_release_hook_function(function)

    @staticmethod
    def _acknowledge_release_hook_function(function: lambda_.Function) -> None:
        exempt(
            function,
            "The release controller invokes the hook once or a few times per release, and the hook its prober "
            "once per attempt; a reserved concurrency would take capacity from the account's unreserved pool, "
            "which AWS refuses to lower below 10 in a new account.",
            nag=["NIST.800.53.R5-LambdaConcurrency"],
            checkov_checks=["CKV_AWS_115"],
        )
        exempt(
            function,
            "The release controller waits for the hook's status and fails and rolls back the release when none "
            "comes, so a failed invocation is already acted upon and a dead-letter queue would hold events "
            "that nobody replays.",
            nag=["NIST.800.53.R5-LambdaDLQ"],
            checkov_checks=["CKV_AWS_116"],
        )
