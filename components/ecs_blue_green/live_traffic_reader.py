"""LiveTraffic: the custom resource whose answer every forward of the service stack is written from.

The listeners' and listener rules' forward weights, and under the ECS controller the service's
primary and alternate target groups, are ``Fn::GetAtt`` of this resource. It reads what is live
when the stack is deployed (and when CloudFormation rolls a failed update back), so no
CloudFormation write of a listener, rule or service moves production traffic: the
``ignore_changes`` that CDK lacks (aws/aws-cdk#36649; docs/ecs-blue-green.md, "Day 2"). The handler
(live_traffic/handler.py) documents what it reads, what it answers and when it refuses.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from components.compliance import acknowledge, acknowledge_inline_policies, exempt
from components.ecs_blue_green.load_balancer import ForwardWeights
from components.handler_function import add_handler_function

HANDLER_DIR = Path(__file__).parent / "live_traffic"
RESOURCE_TYPE = "Custom::LiveTraffic"
#: The property that changes with every synth (tests/support.py normalizes it in the snapshots).
NONCE_PROPERTY = "Nonce"
#: A reader that never answers fails the deploy after this long instead of CloudFormation's hour.
SERVICE_TIMEOUT = cdk.Duration.minutes(5)
FUNCTION_TIMEOUT = cdk.Duration.minutes(2)
CONTROLLERS = ("codedeploy", "ecs")


class LiveTraffic(Construct):
    """Reads the live forward weights of a blue/green service, on every deploy and on rollback.

    * A plain Lambda-backed ``CustomResource`` with the handler's own cfn-response, not CDK's
      ``custom_resources.Provider``: the Provider adds a framework function, its role and log group
      to every service stack, and its retries would delay a refusal that must come at once; the
      handler never raises, answers every request with one response line, and ``service_timeout``
      ends a lost answer after five minutes.
    * ``Nonce`` is a new value at every synth. CloudFormation sends a custom resource a request
      only when its properties change ("Update request for CloudFormation custom resources",
      AWS CloudFormation User Guide), and a stale answer is exactly the bug this replaces. The
      same assembly deployed twice keeps its nonce, and then the whole template is unchanged too:
      CloudFormation writes nothing.
    * Properties name the listeners, rules and service by logical id, not by ``Ref``: the reader
      finds them with ``DescribeStackResource``, so it has no dependency on them and CloudFormation
      runs it first. :meth:`guard` makes the resources that move traffic wait for it, so that a
      refusal comes before anything changes.
    * Its role reads this stack, the load balancer's listeners and rules (Elastic Load Balancing's
      Describe actions support no resource-level permission), the services of ``cluster`` and,
      under CodeDeploy, the deployments of one deployment group. Nothing else.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        release_controller: str,
        production_listener: elbv2.ApplicationListener,
        test_listener: elbv2.ApplicationListener,
        production_rule: elbv2.ApplicationListenerRule | None,
        test_rule: elbv2.ApplicationListenerRule | None,
        blue_target_group: elbv2.IApplicationTargetGroup,
        green_target_group: elbv2.IApplicationTargetGroup,
        service: ecs.FargateService,
        cluster: ecs.ICluster,
        codedeploy_application: str | None,
        codedeploy_deployment_group: str | None,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
        nonce: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if release_controller not in CONTROLLERS:
            raise ValueError(f"{self.node.path}: release_controller must be one of {CONTROLLERS}")
        self._ecs = release_controller == "ecs"
        if self._ecs and (production_rule is None or test_rule is None):
            raise ValueError(f"{self.node.path}: the ECS controller shifts traffic on two listener rules: pass both")
        if not self._ecs and not (codedeploy_application and codedeploy_deployment_group):
            raise ValueError(f"{self.node.path}: the CodeDeploy controller needs the application and deployment group")
        handler = add_handler_function(
            self,
            function_name=function_name,
            handler_dir=HANDLER_DIR,
            description="LiveTraffic: reads which target group serves, and refuses a deploy while a release runs",
            role_description="LiveTraffic reader: read this stack, its listeners and rules, its service and releases",
            timeout=FUNCTION_TIMEOUT,
            memory_size=128,
            environment={},
            log_key=log_key,
            log_retention=log_retention,
        )
        self.log_group, self.role, self.function = handler.log_group, handler.role, handler.function
        self._grant_reads(cluster, codedeploy_application, codedeploy_deployment_group)
        properties: dict[str, object] = {
            "ReleaseController": release_controller,
            "ProductionListener": _logical_id(production_listener),
            "TestListener": _logical_id(test_listener),
            "Service": _logical_id(service),
            "BlueTargetGroupArn": blue_target_group.target_group_arn,
            "GreenTargetGroupArn": green_target_group.target_group_arn,
            NONCE_PROPERTY: nonce or uuid.uuid4().hex,
        }
        if production_rule is not None and test_rule is not None:
            properties |= {"ProductionRule": _logical_id(production_rule), "TestRule": _logical_id(test_rule)}
        if not self._ecs:
            properties |= {
                "CodeDeployApplication": codedeploy_application,
                "CodeDeployDeploymentGroup": codedeploy_deployment_group,
            }
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            service_timeout=SERVICE_TIMEOUT,
        )
        # The function answers with its role's permissions: they must exist before the first request.
        self.resource.node.add_dependency(self.role)
        self._acknowledge(cluster)

    # -- the answer, as tokens ---------------------------------------------------------------
    @property
    def production_weights(self) -> ForwardWeights:
        """The production forward's weights (listener default action, or ECS's production rule)."""
        return ForwardWeights(
            blue=self.resource.get_att("ProductionBlueWeight"), green=self.resource.get_att("ProductionGreenWeight")
        )

    @property
    def test_weights(self) -> ForwardWeights:
        return ForwardWeights(
            blue=self.resource.get_att("TestBlueWeight"), green=self.resource.get_att("TestGreenWeight")
        )

    @property
    def service_target_group_arn(self) -> str:
        """(ECS) The group the service holds as primary now."""
        self._require_ecs("ServiceTargetGroupArn")
        return self.resource.get_att_string("ServiceTargetGroupArn")

    @property
    def service_alternate_target_group_arn(self) -> str:
        """(ECS) The other group: the one the next release deploys to."""
        self._require_ecs("ServiceAlternateTargetGroupArn")
        return self.resource.get_att_string("ServiceAlternateTargetGroupArn")

    def guard(self, *resources: IConstruct) -> None:
        """Make ``resources`` wait for the reader, so that its refusal comes before any of them changes.

        Only each construct's own CloudFormation resource waits (its ``default_child``): a deployment
        group's service role, say, moves no traffic.
        """
        for resource in resources:
            (resource.node.default_child or resource).node.add_dependency(self.resource)

    # ----------------------------------------------------------------------------------------
    def _require_ecs(self, attribute: str) -> None:
        if not self._ecs:
            raise ValueError(f"{self.node.path}: {attribute} is answered under the ECS controller only")

    def _grant_reads(self, cluster: ecs.ICluster, application: str | None, deployment_group: str | None) -> None:
        stack = cdk.Stack.of(self)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadThisStack",
                actions=["cloudformation:DescribeStackResource", "cloudformation:DescribeStacks"],
                resources=[stack.stack_id],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadListenersAndRules",
                actions=["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules"],
                resources=["*"],
            )
        )
        # The services of the cluster, not the service's own ARN: a Ref to the service would make
        # the reader wait for the service, which waits for the reader.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTheServiceOfThisCluster",
                actions=["ecs:DescribeServices"],
                resources=[
                    stack.format_arn(
                        service="ecs",
                        resource="service",
                        resource_name=f"{cluster.cluster_name}/*",
                        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                    )
                ],
            )
        )
        if application and deployment_group:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadTheReleasesOfTheDeploymentGroup",
                    actions=["codedeploy:ListDeployments", "codedeploy:GetDeployment"],
                    resources=[
                        stack.format_arn(
                            service="codedeploy",
                            resource="deploymentgroup",
                            resource_name=f"{application}/{deployment_group}",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    ],
                )
            )

    def _acknowledge(self, cluster: ecs.ICluster) -> None:
        policy = self.role.node.find_child("DefaultPolicy")
        stack = cdk.Stack.of(self)
        cluster_id = stack.resolve(stack.get_logical_id(cluster.node.default_child))  # type: ignore[arg-type]
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::arn:aws:ecs:{stack.region}:{stack.account}:service/<{cluster_id}>/*]",
            "The reader may describe the services of this service's own cluster, which holds this one service; "
            "naming the service itself would make the reader wait for the service that waits for the reader.",
        )
        exempt(
            policy,
            "Elastic Load Balancing's DescribeListeners and DescribeRules support no resource-level permission, "
            "and the reader only reads them; every other grant names this stack, this cluster's services or "
            "this service's deployment group.",
            nag=["AwsSolutions-IAM5[Resource::*]"],
            checkov_checks=["CKV_AWS_111"],
        )
        acknowledge_inline_policies(self.role)
        exempt(
            self.function,
            "The reader calls only the CloudFormation, Elastic Load Balancing, ECS and CodeDeploy APIs and answers "
            "CloudFormation through a presigned S3 URL; it reaches no private resource, so a VPC would only add "
            "endpoints to pay for.",
            nag=["NIST.800.53.R5-LambdaInsideVPC"],
            checkov_checks=["CKV_AWS_117"],
            control_tower_controls=["CT.LAMBDA.PR.3"],
        )
        exempt(
            self.function,
            "CloudFormation invokes the reader once per deployment of this stack, and a reserved concurrency "
            "would take capacity from the account's unreserved pool, which AWS refuses to lower below 10.",
            nag=["NIST.800.53.R5-LambdaConcurrency"],
            checkov_checks=["CKV_AWS_115"],
        )
        exempt(
            self.function,
            "Every invocation ends in a response to CloudFormation, which fails the deployment on a refusal or "
            "after the service timeout, so a failed event is already acted upon and a dead-letter queue would "
            "hold requests whose deployment is over.",
            nag=["NIST.800.53.R5-LambdaDLQ"],
            checkov_checks=["CKV_AWS_116"],
        )


def _logical_id(construct: IConstruct) -> str:
    """The logical id of the construct's CloudFormation resource, as a token: no Ref, no dependency."""
    resource = construct.node.default_child
    assert isinstance(resource, cdk.CfnElement), construct.node.path
    return resource.logical_id
