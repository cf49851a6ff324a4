"""Releases by Amazon ECS itself: blue/green, canary or linear, with a test hook, alarms and a bake.

Amazon ECS runs the release when the service gets a new task definition: it starts the new
revision beside the old one behind the alternate target group, points the test listener rule
at it, runs the lifecycle hook, shifts production traffic on the production listener rule by
the strategy, waits the bake time, then stops the old revision. An alarm or the circuit
breaker rolls it back (ECS developer guide, deployment-type-blue-green, and the canary and
linear pages). AWS's guide recommends this over CodeDeploy ("We recommend that you use the
Amazon ECS blue/green deployment", ECS developer guide, deployment-type-bluegreen).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from components.compliance import acknowledge, acknowledge_inline_policies
from config.settings import EcsReleaseConfig

STRATEGIES = {
    "BLUE_GREEN": ecs.DeploymentStrategy.BLUE_GREEN,
    "CANARY": ecs.DeploymentStrategy.CANARY,
    "LINEAR": ecs.DeploymentStrategy.LINEAR,
}
#: The deployment events that reach the notification topic (ECS developer guide,
#: ecs_service_deployment_events: "ECS Deployment State Change").
NOTIFIED_EVENTS = ["SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"]


def service_options(release: EcsReleaseConfig, alarm_names: Sequence[str], rollback_on_alarm: bool) -> dict[str, Any]:
    """The ``FargateService`` arguments that make ECS the release controller with this strategy.

    The circuit breaker rolls back a revision whose tasks keep failing to start; the alarms roll
    back one that starts but serves badly, during the shift and the bake.
    """
    options: dict[str, Any] = {
        "deployment_controller": ecs.DeploymentController(type=ecs.DeploymentControllerType.ECS),
        "deployment_strategy": STRATEGIES[release.strategy],
        "bake_time": cdk.Duration.minutes(release.bake_minutes),
        "circuit_breaker": ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
        "deployment_alarms": ecs.DeploymentAlarmConfig(
            alarm_names=list(alarm_names),
            behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM if rollback_on_alarm else ecs.AlarmBehavior.FAIL_ON_ALARM,
        ),
    }
    if release.strategy == "CANARY":
        options["canary_configuration"] = ecs.TrafficShiftConfig(
            step_percent=release.canary_percent,
            step_bake_time=cdk.Duration.minutes(release.canary_bake_minutes or 0),
        )
    elif release.strategy == "LINEAR":
        options["linear_configuration"] = ecs.TrafficShiftConfig(
            step_percent=release.linear_step_percent,
            step_bake_time=cdk.Duration.minutes(release.linear_interval_minutes or 0),
        )
    return options


class EcsNativeRelease:
    """Wires an ECS-controlled service to its two target groups, its listener rules and its hook.

    * ``InfrastructureRole``: what ECS may do to the load balancer during a release, and no
      more: describe, move targets in and out of the two groups, change the two rules.
      AWS's managed AmazonECSInfrastructureRolePolicyForLoadBalancers grants the same actions
      on every listener, rule and target group of the account.
    * ``HookInvokeRole``: lets ECS invoke the test-traffic hook, that one function only.
    * Deployment state changes reach ``topic`` through EventBridge.

    A part of ``ReleasedFargateService``, not a construct of its own: it builds into the scope it
    is given (the service) and adds no path segment, so its resources keep the logical ids they
    had before the service was split into files (docs/ecs-blue-green.md, "Logical ids").
    """

    def __init__(
        self,
        scope: Construct,
        *,
        service: ecs.FargateService,
        container_name: str,
        container_port: int,
        blue_target_group: elbv2.ApplicationTargetGroup,
        green_target_group: elbv2.ApplicationTargetGroup,
        production_listener: elbv2.ApplicationListener,
        test_listener: elbv2.ApplicationListener,
        production_rule: elbv2.ApplicationListenerRule,
        test_rule: elbv2.ApplicationListenerRule,
        hook: lambda_.IFunction,
        topic: sns.ITopic,
        primary_target_group_arn: str,
        alternate_target_group_arn: str,
    ) -> None:
        self._scope = scope
        # The trust AWS documents for both roles, without a source condition: AWS does not say that
        # ECS sends aws:SourceAccount when it assumes them (ECS developer guide,
        # AmazonECSInfrastructureRolePolicyForLoadBalancers and blue-green-permissions), and a
        # condition it does not meet would fail every release.
        ecs_principal = iam.ServicePrincipal("ecs.amazonaws.com")
        self.infrastructure_role = self._build_infrastructure_role(
            ecs_principal,
            target_groups=(blue_target_group, green_target_group),
            rules=(production_rule, test_rule),
            listeners=(production_listener, test_listener),
        )
        self.hook_invoke_role = self._build_hook_invoke_role(ecs_principal, hook)
        service.add_lifecycle_hook(
            ecs.DeploymentLifecycleLambdaTarget(
                hook,
                "TestTrafficHookTarget",
                lifecycle_stages=[ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT],
                role=self.hook_invoke_role,
            )
        )
        target = service.load_balancer_target(
            container_name=container_name,
            container_port=container_port,
            protocol=ecs.Protocol.TCP,
            alternate_target=ecs.AlternateTarget(
                "AlternateTarget",
                alternate_target_group=green_target_group,
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(production_rule),
                test_listener=ecs.ListenerRuleConfiguration.application_listener_rule(test_rule),
                role=self.infrastructure_role,
            ),
        )
        target.attach_to_application_target_group(blue_target_group)
        self._follow_the_services_own_primary(service, primary_target_group_arn, alternate_target_group_arn)
        # ECS assumes both roles when the service is created: their policies must exist by then.
        service.node.add_dependency(self.infrastructure_role, self.hook_invoke_role)

        self._notify(service, topic)

    def _build_infrastructure_role(
        self,
        ecs_principal: iam.IPrincipal,
        *,
        target_groups: tuple[elbv2.ApplicationTargetGroup, elbv2.ApplicationTargetGroup],
        rules: tuple[elbv2.ApplicationListenerRule, elbv2.ApplicationListenerRule],
        listeners: tuple[elbv2.ApplicationListener, elbv2.ApplicationListener],
    ) -> iam.Role:
        """ECS's role to move targets between the two groups and to shift the two listener rules."""
        role = iam.Role(
            self._scope,
            "InfrastructureRole",
            assumed_by=ecs_principal,
            description="ECS blue/green: move targets between the two groups and shift the two listener rules",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTheLoadBalancer",
                actions=[
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeRules",
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeTargetHealth",
                ],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="MoveTargetsOfTheTwoGroups",
                actions=["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                resources=[group.target_group_arn for group in target_groups],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ShiftTheTwoRules",
                actions=["elasticloadbalancing:ModifyRule", "elasticloadbalancing:ModifyListener"],
                resources=[
                    *(rule.listener_rule_arn for rule in rules),
                    *(listener.listener_arn for listener in listeners),
                ],
            )
        )
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "Elastic Load Balancing's Describe actions support no resource-level permission; every action that "
            "changes something is limited to this service's two target groups, two listeners and two rules.",
        )
        acknowledge_inline_policies(role)
        return role

    def _build_hook_invoke_role(self, ecs_principal: iam.IPrincipal, hook: lambda_.IFunction) -> iam.Role:
        role = iam.Role(
            self._scope,
            "HookInvokeRole",
            assumed_by=ecs_principal,
            description="ECS blue/green: invoke the test-traffic lifecycle hook",
        )
        role.add_to_policy(
            iam.PolicyStatement(sid="InvokeTheHook", actions=["lambda:InvokeFunction"], resources=[hook.function_arn])
        )
        acknowledge_inline_policies(role)
        return role

    def _notify(self, service: ecs.FargateService, topic: sns.ITopic) -> None:
        """Deployments of the service that complete or fail go to ``topic``."""
        events.Rule(
            self._scope,
            "DeploymentStateChange",
            description="ECS deployments of this service that complete or fail (a failed one is rolled back)",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Deployment State Change"],
                resources=[service.service_arn],
                detail={"eventName": NOTIFIED_EVENTS},
            ),
            targets=[targets.SnsTopic(topic)],
        )

    @staticmethod
    def _follow_the_services_own_primary(service: ecs.FargateService, primary: str, alternate: str) -> None:
        """Name as primary the target group ECS records as primary now (the ``LiveTraffic`` reader's answer).

        "When you add, update, or remove a load balancer configuration, Amazon ECS starts a new
        deployment" (ECS API reference, LoadBalancer), and the primary group is the one with
        "current production traffic" (ECS developer guide, alb-resources-for-blue-green). The
        reader reads ``loadBalancers`` from the live service at every deploy and rollback, so a
        stack update sends them unchanged, whichever group the last release left primary.
        """
        cfn_service = service.node.default_child
        assert isinstance(cfn_service, ecs.CfnService)
        cfn_service.add_property_override("LoadBalancers.0.TargetGroupArn", primary)
        cfn_service.add_property_override("LoadBalancers.0.AdvancedConfiguration.AlternateTargetGroupArn", alternate)
