"""Releases by CodeDeploy: the application, the blue/green deployment group, its outcomes to the topic."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from components.compliance import acknowledge, acknowledge_inline_policies

DEPLOYMENT_CONFIGS = {
    "CANARY_10PERCENT_5MINUTES": codedeploy.EcsDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
    "CANARY_10PERCENT_15MINUTES": codedeploy.EcsDeploymentConfig.CANARY_10_PERCENT_15_MINUTES,
    "LINEAR_10PERCENT_EVERY_1MINUTES": codedeploy.EcsDeploymentConfig.LINEAR_10_PERCENT_EVERY_1_MINUTES,
    "LINEAR_10PERCENT_EVERY_3MINUTES": codedeploy.EcsDeploymentConfig.LINEAR_10_PERCENT_EVERY_3_MINUTES,
    "ALL_AT_ONCE": codedeploy.EcsDeploymentConfig.ALL_AT_ONCE,
}
#: The CodeDeploy deployment states that reach the notification topic.
NOTIFIED_STATES = ["FAILURE", "STOP", "SUCCESS"]


def hand_task_definition_to_codedeploy(service: ecs.FargateService, task_definition: ecs.TaskDefinition) -> None:
    """Point a CODE_DEPLOY service at the task definition *family* instead of one revision.

    CloudFormation cannot change the task definition of a service with the CODE_DEPLOY
    controller (ECS API reference, UpdateService). With the family name as a constant, a new
    revision that ``cdk deploy`` registers leaves the service resource unchanged; CodeDeploy
    alone starts new task sets.
    """
    cfn_service = service.node.default_child
    assert isinstance(cfn_service, ecs.CfnService)
    cfn_service.add_property_override("TaskDefinition", task_definition.family)
    cfn_service.node.add_dependency(task_definition)


class CodeDeployRelease:
    """A CodeDeploy ECS application and blue/green deployment group for one service.

    The deployment group shifts production traffic with ``deployment_config`` (canary or
    linear), rolls back on failure, on stop and (if ``rollback_on_alarm``) when an alarm
    fires, and keeps the original task set for ``termination_wait`` after a release.
    Deployment outcomes reach ``topic`` through EventBridge.

    A part of ``ReleasedFargateService``, not a construct of its own: it builds into the scope it
    is given (the service) and adds no path segment, so its resources keep the logical ids they
    had before the service was split into files (docs/ecs-blue-green.md, "Logical ids").
    """

    def __init__(
        self,
        scope: Construct,
        *,
        application_name: str,
        deployment_group_name: str,
        service: ecs.FargateService,
        deployment_config: str,
        blue_target_group: elbv2.IApplicationTargetGroup,
        green_target_group: elbv2.IApplicationTargetGroup,
        production_listener: elbv2.IApplicationListener,
        test_listener: elbv2.IApplicationListener,
        termination_wait: cdk.Duration,
        alarms: Sequence[cloudwatch.IAlarm],
        rollback_on_alarm: bool,
        hook: lambda_.IFunction,
        topic: sns.ITopic,
    ) -> None:
        self._scope = scope
        self.application = codedeploy.EcsApplication(self._scope, "Application", application_name=application_name)
        self.deployment_group = codedeploy.EcsDeploymentGroup(
            self._scope,
            "DeploymentGroup",
            application=self.application,
            deployment_group_name=deployment_group_name,
            service=service,
            deployment_config=DEPLOYMENT_CONFIGS[deployment_config],
            blue_green_deployment_config=codedeploy.EcsBlueGreenDeploymentConfig(
                blue_target_group=blue_target_group,
                green_target_group=green_target_group,
                listener=production_listener,
                test_listener=test_listener,
                termination_wait_time=termination_wait,
            ),
            alarms=list(alarms),
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True,
                stopped_deployment=True,
                deployment_in_alarm=rollback_on_alarm,
            ),
        )
        # Grants nothing the role lacks: AWSCodeDeployRoleForECS, attached by CDK, already allows
        # lambda:InvokeFunction on "*" (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/
        # AWSCodeDeployRoleForECS.html). The statement names, in this template, the one function CodeDeploy
        # is meant to call (the appspec's hook, unqualified). AWSCodeDeployRoleForECSLimited would limit
        # invocation to functions named CodeDeployHook_* but also narrows iam:PassRole
        # (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCodeDeployRoleForECSLimited.html),
        # which releases of this service's task definitions rely on; it is not used.
        self.deployment_group.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="InvokeLifecycleHook",
                actions=["lambda:InvokeFunction"],
                resources=[hook.function_arn],
            )
        )
        acknowledge(
            self.deployment_group.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AWSCodeDeployRoleForECS]",
            "AWSCodeDeployRoleForECS is the service role policy AWS maintains for ECS blue/green "
            "deployments; it follows every new CodeDeploy feature that a hand-written copy would miss. It is "
            "broad (any Lambda function, S3 object and SNS topic of the account), and only CodeDeploy may "
            "assume this role.",
        )
        acknowledge_inline_policies(self.deployment_group.role)
        events.Rule(
            self._scope,
            "DeploymentStateChange",
            description="CodeDeploy deployments of this service that fail, stop or succeed",
            event_pattern=events.EventPattern(
                source=["aws.codedeploy"],
                detail_type=["CodeDeploy Deployment State-change Notification"],
                detail={"application": [application_name], "state": NOTIFIED_STATES},
            ),
            targets=[targets.SnsTopic(topic)],
        )
