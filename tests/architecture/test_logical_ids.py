"""Every deployed logical id stays: CloudFormation updates the service stacks in place.

The snapshots freeze every id of both configurations; these tests say which ids are the
released interface and that no id comes from a hand-made override.
"""

from __future__ import annotations

import aws_cdk as cdk

from tests.support import SynthesizedApp

#: The sections of a template whose keys are logical ids.
TEMPLATE_SECTIONS = ("Resources", "Parameters", "Conditions", "Outputs", "Mappings", "Rules")

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
    # is written from (its function, role, policy and log group), and the test-traffic hook's prober,
    # which sends the hook's requests from the task subnets (docs/ecs-blue-green.md).
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
        "ServiceTestTrafficHookProberFunction5AEAFC90",
        "ServiceTestTrafficHookProberLogs92631866",
        "ServiceTestTrafficHookProberRoleCB01A8AE",
        "ServiceTestTrafficHookProberRoleDefaultPolicy4E3B85F6",
    ]


def test_every_logical_id_is_the_one_cdk_derives_from_the_construct_path(synthesized: SynthesizedApp) -> None:
    """No hidden override: the template matches the construct tree, so the path says the id.

    The service's parts (``ServiceLoadBalancer``, ``ServiceTaskDefinition``, ``HealthAlarms``,
    the release) build into the service's own scope and add no path segment: their resources keep
    the ids they had before the service was split (docs/ecs-blue-green.md, "Logical ids"). A
    deliberate ``override_logical_id`` would be named here with its reason.
    """
    checked = 0
    for name in synthesized.stack_names:
        stack = synthesized.stack(name)
        # One call across jsii per element: an overridden id is in the template but not derived.
        derived = {
            stack.get_logical_id(element) for element in stack.node.find_all() if isinstance(element, cdk.CfnElement)
        }
        template = synthesized.raw_template(name)
        written = {logical_id for section in TEMPLATE_SECTIONS for logical_id in template.get(section, {})}
        assert sorted(written - derived) == [], name
        checked += len(written)
    assert checked > 300
