"""The construct split kept every deployed logical id: CloudFormation updates the service stacks in place."""

from __future__ import annotations

import tempfile

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from constructs import Construct

from components.logical_ids import FoldedIds, path_below_stack, unique_id
from tests.support import SynthesizedApp, new_app

#: Every resource of a CodeDeploy <Env>-Service stack as released before the split (Prod-Service:
#: the security-group rules name the stack). A missing id would be a replaced resource.
RELEASED_PROD_SERVICE_IDS = {
    "Service9571FDD8",
    "ServiceAccessLogsC4D1116F",
    "ServiceAccessLogsPolicy40EE9EFF",
    "ServiceAlarmTarget5xxBlue69D0473B",
    "ServiceAlarmTarget5xxGreenA706300F",
    "ServiceAlarmUnhealthyHostsBlueB0ABEBF9",
    "ServiceAlarmUnhealthyHostsGreenE9E44E45",
    "ServiceAppSecret0B651FCD",
    "ServiceApplication92776FC3",
    "ServiceBlueTargetGroupDBA46985",
    "ServiceCluster572F72F1",
    "ServiceDeploymentEvents90E30CEE",
    "ServiceDeploymentEventsPolicyC1847291",
    "ServiceDeploymentGroupE338BE38",
    "ServiceDeploymentGroupServiceRole2FF13484",
    "ServiceDeploymentGroupServiceRoleDefaultPolicy18BC4458",
    "ServiceDeploymentStateChange4D1F0243",
    "ServiceExecutionRole3DA90452",
    "ServiceExecutionRoleDefaultPolicyC3CC8C20",
    "ServiceGreenTargetGroup3BE32266",
    "ServiceKeyB2087346",
    "ServiceLoadBalancer31A7DB79",
    "ServiceLoadBalancerProductionListenerFE39101E",
    "ServiceLoadBalancerSecurityGroup2552BF12",
    "ServiceLoadBalancerSecurityGroupfromProdServiceTestTrafficHookSecurityGroup00FC3951900084229ADE",
    "ServiceLoadBalancerSecurityGrouptoProdServiceServiceSecurityGroup358E4C818080F9CF3FA5",
    "ServiceLoadBalancerTestListener75EE92E3",
    "ServiceLogs205D48C6",
    "ServiceServiceSecurityGroup2EC49266",
    "ServiceServiceSecurityGroupfromProdServiceLoadBalancerSecurityGroup64BD3D03808002FDAB72",
    "ServiceTaskDefinition55FA0F15",
    "ServiceTaskRoleC7213793",
    "ServiceTestTrafficHookFunctionA3CCC4C8",
    "ServiceTestTrafficHookLogsC6A5A035",
    "ServiceTestTrafficHookRoleDefaultPolicy000AD33B",
    "ServiceTestTrafficHookRoleFFFAEB2E",
    "ServiceTestTrafficHookSecurityGroup9D76A848",
    "ServiceTestTrafficHookSecurityGrouptoProdServiceLoadBalancerSecurityGroup64BD3D039000D9E63B46",
}


def test_every_released_resource_of_the_codedeploy_service_keeps_its_logical_id(synthesized: SynthesizedApp) -> None:
    current = set(synthesized.raw_template("Prod-Service")["Resources"])
    assert sorted(RELEASED_PROD_SERVICE_IDS - current) == []
    # What was added on purpose: capacity in Application Auto Scaling, the role the pipeline's
    # post-deploy bake reads the health alarms through (docs/deploy.md), the alarm on the load
    # balancer's own 5xx (docs/ecs-blue-green.md), and the LiveTraffic reader that every forward
    # is written from (its function, role, policy and log group).
    assert sorted(current - RELEASED_PROD_SERVICE_IDS) == [
        "AlarmReaderReadWatchedAlarmsC8D59DC4",
        "AlarmReaderRole7C13B6E4",
        "ServiceAlarmLoadBalancer5xx2E0F177B",
        "ServiceLiveTrafficA56C7736",
        "ServiceLiveTrafficFunctionE167D788",
        "ServiceLiveTrafficLogsB77D38CD",
        "ServiceLiveTrafficRoleC87185FB",
        "ServiceLiveTrafficRoleDefaultPolicyA4B3E5FB",
        "ServiceTaskCountTargetDF7542A8",
    ]


def test_unique_id_is_the_id_cdk_gives_every_resource_that_did_not_move(synthesized: SynthesizedApp) -> None:
    """The id function is only worth its name if it matches aws-cdk-lib everywhere else in the app."""
    checked = 0
    for name in synthesized.stack_names:
        if name.endswith("-Service"):
            continue
        stack = synthesized.stack(name)
        for element in stack.node.find_all():
            if isinstance(element, cdk.CfnElement):
                assert unique_id(path_below_stack(element)) == stack.resolve(element.logical_id), element.node.path
                checked += 1
    assert checked > 100


def test_folded_constructs_give_their_resources_the_ids_of_the_parent_and_refuse_a_collision() -> None:
    app = new_app(tempfile.mkdtemp())
    stack = cdk.Stack(app, "Stack")
    parent = Construct(stack, "Parent")
    sns.Topic(parent, "Direct")
    folded = Construct(parent, "Folded")
    sns.Topic(folded, "Moved")
    cdk.Aspects.of(parent).add(FoldedIds(folded))
    resources = app.synth().get_stack_by_name("Stack").template["Resources"]
    assert unique_id(["Parent", "Moved", "Resource"]) in resources
    assert unique_id(["Parent", "Direct", "Resource"]) in resources

    clash = cdk.Stack(new_app(tempfile.mkdtemp()), "Clash")
    holder = Construct(clash, "Holder")
    sns.Topic(holder, "Same")
    inner = Construct(holder, "Inner")
    sns.Topic(inner, "Same")
    cdk.Aspects.of(holder).add(FoldedIds(inner))
    with pytest.raises(Exception, match="both fold onto the logical id"):
        cdk.App.of(clash).synth()  # type: ignore[union-attr]


def test_folded_ids_refuse_a_stack_inside_a_stage() -> None:
    """The ids are computed from the path below a top-level stack; a stage would shift them silently."""
    stage = cdk.Stage(new_app(tempfile.mkdtemp()), "Stage")
    parent = Construct(cdk.Stack(stage, "Staged"), "Parent")
    with pytest.raises(ValueError, match=r"^Stage/Staged/Parent/Child: FoldedIds needs a stack that is a direct child"):
        FoldedIds(Construct(parent, "Child"))
