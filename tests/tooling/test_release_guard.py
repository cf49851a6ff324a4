"""The pre-deploy guard (release_guard): decisions as a table, live reads with Stubber, the CLI in-process.

Tooling tests: they import no architecture code and synthesize nothing; the templates are small
hand-written ones that follow the service stack's contract (the ImageTag parameter, one ECS
service, forward weights read from the LiveTraffic custom resource, Release colour metadata on
the two target groups). ``LEGACY`` is a stack deployed before LiveTraffic (LiveTargetGroup
parameter, forward actions through Fn::If).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from release_guard.__main__ import main
from release_guard.live import (
    AwsCallError,
    DeployedStack,
    read_deployed,
    read_live_state,
    session_for,
)
from release_guard.plan import (
    Decision,
    Deploy,
    GuardError,
    LiveState,
    Refuse,
    check_contract,
    diff_resources,
    plan,
)

STACK = "Dev-Service"
TG = "AWS::ElasticLoadBalancingV2::TargetGroup"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
BLUE_ARN = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/dev-blue/1111111111111111"
GREEN_ARN = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/dev-green/2222222222222222"
LB = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:loadbalancer/app/dev/3333333333333333"
PROD_LISTENER_ARN = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:listener/app/dev/3333333333333333/4444"
TEST_LISTENER_ARN = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:listener/app/dev/3333333333333333/5555"
REDIRECT_ARN = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:listener/app/dev/3333333333333333/6666"
PROD_RULE_ARN = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:listener-rule/app/dev/3333333333333333/4444/77"
TEST_RULE_ARN = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:listener-rule/app/dev/3333333333333333/5555/88"
SERVICE_ARN = "arn:aws:ecs:eu-west-1:222222222222:service/dev-cluster/dev-service"
TASK_DEFINITION_ARN = "arn:aws:ecs:eu-west-1:222222222222:task-definition/dev-app:7"
IMAGE = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/app"


# -- templates --------------------------------------------------------------------------------


def _forward(route: str = "Production") -> dict[str, Any]:
    """The weights LiveTraffic read from the live listener or rule, written back on every deployment."""
    return {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": {"Ref": f"{colour}TargetGroup"}, "Weight": {"Fn::GetAtt": ["LiveTraffic", weight]}}
                for colour, weight in (("Blue", f"{route}BlueWeight"), ("Green", f"{route}GreenWeight"))
            ]
        },
    }


def _legacy_forward() -> dict[str, Any]:
    return {
        "Type": "forward",
        "TargetGroupArn": {"Fn::If": ["GreenIsLive", {"Ref": "GreenTargetGroup"}, {"Ref": "BlueTargetGroup"}]},
    }


def _target_group(colour: str) -> dict[str, Any]:
    return {
        "Type": TG,
        "Metadata": {"Release": {"Colour": colour}, "aws:cdk:path": f"Dev-Service/{colour}"},
        "Properties": {
            "Port": 8080,
            "Protocol": "HTTP",
            "TargetType": "ip",
            "VpcId": "vpc-0123456789abcdef0",
            "HealthCheckPath": "/health",
        },
    }


def service_template(controller: str = "CODE_DEPLOY") -> dict[str, Any]:
    """A CODE_DEPLOY stack forwards through listeners; an ECS one through listener rules."""
    resources: dict[str, Any] = {
        "LiveTraffic": {"Type": "Custom::LiveTraffic", "Properties": {"Nonce": "synth-1"}},
        "BlueTargetGroup": _target_group("Blue"),
        "GreenTargetGroup": _target_group("Green"),
        "ProdListener": {
            "Type": LISTENER,
            "Properties": {
                "LoadBalancerArn": LB,
                "Port": 443,
                "Protocol": "HTTPS",
                "Certificates": [{"CertificateArn": "arn:aws:acm:eu-west-1:222222222222:certificate/one"}],
                "DefaultActions": [_forward()],
            },
        },
        "RedirectListener": {
            "Type": LISTENER,
            "Properties": {
                "LoadBalancerArn": LB,
                "Port": 80,
                "Protocol": "HTTP",
                "DefaultActions": [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443"}}],
            },
        },
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "TaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Cpu": "256",
                "ContainerDefinitions": [{"Name": "app", "Image": {"Fn::Sub": IMAGE + ":${ImageTag}"}}],
            },
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "DependsOn": ["ProdListener", "TaskDefinition"],
            "Properties": {
                "Cluster": {"Ref": "Cluster"},
                "DeploymentController": {"Type": controller},
                "TaskDefinition": {"Ref": "TaskDefinition"},
                "HealthCheckGracePeriodSeconds": 60,
                "LoadBalancers": [
                    {"ContainerName": "app", "ContainerPort": 8080, "TargetGroupArn": {"Ref": "BlueTargetGroup"}}
                ],
            },
        },
        "Scaling": {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {"MinCapacity": 2, "MaxCapacity": 4},
        },
    }
    if controller == "CODE_DEPLOY":
        resources["TestListener"] = copy.deepcopy(resources["ProdListener"])
        resources["TestListener"]["Properties"]["Port"] = 8443
        resources["TestListener"]["Properties"]["DefaultActions"] = [_forward("Test")]
        resources["DeploymentGroup"] = {
            "Type": "AWS::CodeDeploy::DeploymentGroup",
            "Properties": {
                "LoadBalancerInfo": {
                    "TargetGroupPairInfoList": [
                        {
                            "ProdTrafficRoute": {"ListenerArns": [{"Ref": "ProdListener"}]},
                            "TestTrafficRoute": {"ListenerArns": [{"Ref": "TestListener"}]},
                        }
                    ]
                }
            },
        }
    else:
        for name, priority, path, route in (("ProdRule", 1, "/*", "Production"), ("TestRule", 2, "/test/*", "Test")):
            resources[name] = {
                "Type": RULE,
                "Properties": {
                    "ListenerArn": {"Ref": "ProdListener"},
                    "Priority": priority,
                    "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": [path]}}],
                    "Actions": [_forward(route)],
                },
            }
        resources["Service"]["Properties"]["LoadBalancers"][0]["TargetGroupArn"] = {
            "Fn::GetAtt": ["LiveTraffic", "ServiceTargetGroupArn"]
        }
        resources["Service"]["Properties"]["LoadBalancers"][0]["AdvancedConfiguration"] = {
            "AlternateTargetGroupArn": {"Ref": "GreenTargetGroup"},
            "ProductionListenerRule": {"Ref": "ProdRule"},
            "TestListenerRule": {"Ref": "TestRule"},
        }
    return {
        "Parameters": {
            "ImageTag": {"Type": "String", "Default": "release-0000001"},
            "BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/v"},
        },
        "Resources": resources,
    }


def legacy_template() -> dict[str, Any]:
    """A CODE_DEPLOY stack as deployed before LiveTraffic: the LiveTargetGroup parameter picks the forward."""
    template = service_template("CODE_DEPLOY")
    resources = template["Resources"]
    del resources["LiveTraffic"]
    for listener in ("ProdListener", "TestListener"):
        resources[listener]["Properties"]["DefaultActions"] = [_legacy_forward()]
    template["Parameters"]["LiveTargetGroup"] = {"Type": "String", "AllowedValues": ["Blue", "Green"]}
    template["Conditions"] = {"GreenIsLive": {"Fn::Equals": [{"Ref": "LiveTargetGroup"}, "Green"]}}
    return template


NETWORK_TEMPLATE: dict[str, Any] = {
    "Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.20.0.0/16"}}}
}


def changed(template: dict[str, Any], edit: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """A deep copy of ``template`` with ``edit`` applied to its Resources."""
    result = copy.deepcopy(template)
    edit(result["Resources"])
    return result


def live(
    *,
    controller: str = "CODE_DEPLOY",
    status: str = "UPDATE_COMPLETE",
    in_progress: bool = False,
    detail: str = "",
    image: str = "release-abc1234",
    deployed_image: str = "release-abc1234",
) -> LiveState:
    return LiveState(
        stack_status=status,
        controller=controller,
        release_in_progress=in_progress,
        live_image_tag=image,
        release_detail=detail,
        stack_parameters={"ImageTag": deployed_image, "BootstrapVersion": "/v"},
    )


CD = service_template("CODE_DEPLOY")
ECS = service_template("ECS")
LEGACY = legacy_template()
LIVE_PARAMETERS = {"ImageTag": "release-abc1234"}
CODE_DEPLOY_REJECTS = (
    "and CloudFormation sends every service property to UpdateService, which a CODE_DEPLOY service rejects "
    "(Unable to update task definition on services with a CODE_DEPLOY deployment controller); revert the change "
    "to the service (a DependsOn a CDK upgrade adds included), change capacity through the scalable target, and "
    "release task definition changes through CodeDeploy"
)


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(resources: dict[str, Any]) -> None:
        target = resources
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


FIRST_DEPLOY = Deploy(
    {},
    (
        "added BlueTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup)",
        "added Cluster (AWS::ECS::Cluster)",
        "added DeploymentGroup (AWS::CodeDeploy::DeploymentGroup)",
        "added GreenTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup)",
        "added LiveTraffic (Custom::LiveTraffic)",
        "added ProdListener (AWS::ElasticLoadBalancingV2::Listener)",
        "added RedirectListener (AWS::ElasticLoadBalancingV2::Listener)",
        "added Scaling (AWS::ApplicationAutoScaling::ScalableTarget)",
        "added Service (AWS::ECS::Service)",
        "added TaskDefinition (AWS::ECS::TaskDefinition)",
        "added TestListener (AWS::ElasticLoadBalancingV2::Listener)",
    ),
    "Dev-Service: deploy: first deployment, template defaults; 11 changes",
)


CASES: list[
    tuple[str, dict[str, Any] | None, dict[str, Any], LiveState | None, str | None, Decision | type[GuardError]]
] = [
    ("first deploy: template defaults, no parameters", None, CD, None, None, FIRST_DEPLOY),
    (
        "a stack whose creation failed is created again, like a first deploy",
        CD,
        CD,
        live(status="ROLLBACK_COMPLETE"),
        None,
        FIRST_DEPLOY,
    ),
    (
        "health-check change is in place: deploy with the live image",
        CD,
        changed(CD, _set(["GreenTargetGroup", "Properties", "HealthCheckPath"], "/ready")),
        live(),
        None,
        Deploy(
            LIVE_PARAMETERS,
            ("modified GreenTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup): HealthCheckPath",),
            "Dev-Service: deploy: image release-abc1234; 1 change",
        ),
    ),
    (
        "target group port change replaces it: refuse",
        CD,
        changed(CD, _set(["BlueTargetGroup", "Properties", "Port"], 8081)),
        live(),
        None,
        Refuse(
            "Dev-Service: BlueTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup): Port would change, which "
            "replaces the Blue target group with a new ARN that the CODE_DEPLOY deployment controller does not "
            "hold; keep IpAddressType, Name, Port, Protocol, ProtocolVersion, TargetType, VpcId as deployed, or "
            "move to a new target group pair in a planned migration"
        ),
    ),
    (
        "a synthesized service stack without its ECS service breaks the contract",
        CD,
        changed(CD, lambda resources: resources.pop("Service")),
        live(),
        None,
        GuardError,
    ),
    (
        "a synthesized template without the Green target group: refuse, naming the colour",
        CD,
        changed(CD, lambda resources: resources.pop("GreenTargetGroup")),
        live(),
        None,
        Refuse(
            "Dev-Service: GreenTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup): the update would delete the "
            "Green target group, which the CODE_DEPLOY deployment controller routes releases to; keep both Release "
            "target groups in the template under their logical ids"
        ),
    ),
    (
        "a listener moved to another load balancer is replaced: refuse",
        CD,
        changed(CD, _set(["TestListener", "Properties", "LoadBalancerArn"], LB + "-other")),
        live(),
        None,
        Refuse(
            "Dev-Service: TestListener (AWS::ElasticLoadBalancingV2::Listener): LoadBalancerArn would change, which "
            "replaces it, and the CODE_DEPLOY deployment controller holds the deployed one; keep LoadBalancerArn as "
            "deployed, or recreate the service stack in a planned migration"
        ),
    ),
    (
        "listener certificate and port change (CODE_DEPLOY): no colour parameter, ImageTag kept as deployed",
        CD,
        changed(
            CD,
            lambda r: r["ProdListener"]["Properties"].update(
                Port=8443, Certificates=[{"CertificateArn": "arn:aws:acm:eu-west-1:222222222222:certificate/two"}]
            ),
        ),
        live(deployed_image="release-0000001"),
        None,
        Deploy(
            {"ImageTag": "release-0000001"},
            (
                "modified ProdListener (AWS::ElasticLoadBalancingV2::Listener): Certificates, Port",
                "note: ImageTag stays release-0000001: under CODE_DEPLOY the service runs release-abc1234 from "
                "CodeDeploy's task definition revision, and a new stack revision would change the service",
            ),
            "Dev-Service: deploy: image release-abc1234 (CodeDeploy's revision; ImageTag stays release-0000001); "
            "1 change",
        ),
    ),
    (
        "a stack deployed with LiveTargetGroup moves to LiveTraffic: the listeners take its weights, only ImageTag "
        "is passed",
        LEGACY,
        CD,
        live(deployed_image="release-0000001"),
        None,
        Deploy(
            {"ImageTag": "release-0000001"},
            (
                "added LiveTraffic (Custom::LiveTraffic)",
                "modified ProdListener (AWS::ElasticLoadBalancingV2::Listener): DefaultActions",
                "modified TestListener (AWS::ElasticLoadBalancingV2::Listener): DefaultActions",
                "note: ImageTag stays release-0000001: under CODE_DEPLOY the service runs release-abc1234 from "
                "CodeDeploy's task definition revision, and a new stack revision would change the service",
            ),
            "Dev-Service: deploy: image release-abc1234 (CodeDeploy's revision; ImageTag stays release-0000001); "
            "3 changes",
        ),
    ),
    (
        "CODE_DEPLOY service property change: refuse",
        CD,
        changed(CD, _set(["Service", "Properties", "HealthCheckGracePeriodSeconds"], 120)),
        live(),
        None,
        Refuse(
            "Dev-Service: Service (AWS::ECS::Service): HealthCheckGracePeriodSeconds would change, "
            + CODE_DEPLOY_REJECTS
        ),
    ),
    (
        "CODE_DEPLOY DependsOn-only change (a CDK upgrade): refuse",
        CD,
        changed(CD, _set(["Service", "DependsOn"], ["ProdListener", "TaskDefinition", "TestListener"])),
        live(),
        None,
        Refuse("Dev-Service: Service (AWS::ECS::Service): DependsOn would change, " + CODE_DEPLOY_REJECTS),
    ),
    (
        "CODE_DEPLOY task definition change reaches the service through its Ref: refuse",
        CD,
        changed(CD, _set(["TaskDefinition", "Properties", "Cpu"], "512")),
        live(),
        None,
        Refuse(
            "Dev-Service: Service (AWS::ECS::Service): TaskDefinition (TaskDefinition is replaced) would change, "
            + CODE_DEPLOY_REJECTS
        ),
    ),
    (
        "ECS controller service change: deploy with ImageTag = the live image",
        ECS,
        changed(ECS, _set(["Service", "Properties", "HealthCheckGracePeriodSeconds"], 120)),
        live(controller="ECS", deployed_image="release-0000001"),
        None,
        Deploy(
            LIVE_PARAMETERS,
            (
                "modified Service (AWS::ECS::Service): HealthCheckGracePeriodSeconds, "
                "TaskDefinition (TaskDefinition is replaced)",
                "replaced TaskDefinition (AWS::ECS::TaskDefinition): "
                "ContainerDefinitions (parameter ImageTag release-0000001 -> release-abc1234)",
            ),
            "Dev-Service: deploy: image release-abc1234; 2 changes",
        ),
    ),
    (
        "DependsOn in another order is no change",
        CD,
        changed(CD, _set(["Service", "DependsOn"], ["TaskDefinition", "ProdListener"])),
        live(),
        None,
        Deploy(
            LIVE_PARAMETERS,
            (),
            "Dev-Service: deploy: image release-abc1234; no changes",
        ),
    ),
    (
        "requested image older than the live one: refuse",
        CD,
        CD,
        live(),
        "release-0000001",
        Refuse(
            "Dev-Service: ImageTag: --image-tag release-0000001 differs from the live image release-abc1234, and a "
            "deploy would change the running image outside the pipeline; leave out --image-tag (the guard keeps "
            "the live image): images are released by the pipeline"
        ),
    ),
    (
        "requested image equal to the live one: deploy",
        CD,
        CD,
        live(),
        "release-abc1234",
        Deploy(
            LIVE_PARAMETERS,
            (),
            "Dev-Service: deploy: image release-abc1234; no changes",
        ),
    ),
    (
        "release in progress: refuse",
        ECS,
        ECS,
        live(controller="ECS", in_progress=True, detail="2 ECS deployments: PRIMARY IN_PROGRESS, ACTIVE COMPLETED"),
        None,
        Refuse(
            "Dev-Service: Service (AWS::ECS::Service): a release is in progress (2 ECS deployments: PRIMARY "
            "IN_PROGRESS, ACTIVE COMPLETED), and a stack update must not interleave with it (the stack's "
            "LiveTraffic resource would refuse it partway through the deploy); wait until the release completes "
            "or rolls back, then run make deploy again"
        ),
    ),
    (
        "UPDATE_ROLLBACK_FAILED: refuse",
        CD,
        CD,
        live(status="UPDATE_ROLLBACK_FAILED"),
        None,
        Refuse(
            "Dev-Service: stack status is UPDATE_ROLLBACK_FAILED: CloudFormation accepts no update until the "
            "rollback is finished; continue the rollback (aws cloudformation continue-update-rollback) until "
            "UPDATE_ROLLBACK_COMPLETE, then run the guard again"
        ),
    ),
    (
        "UPDATE_IN_PROGRESS: refuse",
        CD,
        CD,
        live(status="UPDATE_IN_PROGRESS"),
        None,
        Refuse(
            "Dev-Service: stack status is UPDATE_IN_PROGRESS: another CloudFormation operation is running and "
            "would reject this update; wait until the stack reaches a *_COMPLETE status, then run the guard again"
        ),
    ),
    (
        "a stack without the ImageTag parameter passes through untouched",
        NETWORK_TEMPLATE,
        changed(NETWORK_TEMPLATE, _set(["Vpc", "Properties", "CidrBlock"], "10.30.0.0/16")),
        None,
        "release-abc1234",
        Deploy(
            {},
            (),
            "Dev-Service: deploy: not a service stack (no ImageTag parameter), passed through",
        ),
    ),
]


@pytest.mark.parametrize(
    ("deployed", "synthesized", "state", "tag", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_plan_decides(
    deployed: dict[str, Any] | None,
    synthesized: dict[str, Any],
    state: LiveState | None,
    tag: str | None,
    expected: Any,
) -> None:
    if expected is GuardError:
        # The synthesized template itself breaks the contract (no ECS service).
        with pytest.raises(
            GuardError, match=r"^Dev-Service: template Resources: expected one AWS::ECS::Service, found 0$"
        ):
            plan(STACK, deployed, synthesized, state, tag)
        return
    decision = plan(STACK, deployed, synthesized, state, tag)
    assert decision == expected
    assert "\n" not in decision.line


def test_a_removed_target_group_is_refused_even_when_the_template_renames_it() -> None:
    """The colour metadata moved to a new logical id: the deployed group would be deleted."""

    def rename(resources: dict[str, Any]) -> None:
        resources["GreenTargetGroupV2"] = resources.pop("GreenTargetGroup")

    decision = plan(STACK, CD, changed(CD, rename), live(), None)
    assert decision == Refuse(
        "Dev-Service: GreenTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup): the update would delete the "
        "Green target group, which the CODE_DEPLOY deployment controller routes releases to; keep both Release "
        "target groups in the template under their logical ids"
    )


def test_the_contract_needs_no_colour_parameter_and_no_colour_metadata() -> None:
    """LiveTraffic owns the forward weights: ImageTag and one ECS service are the whole contract."""
    bare = copy.deepcopy(CD)
    for resource in bare["Resources"].values():
        resource.pop("Metadata", None)
    assert "LiveTargetGroup" not in bare["Parameters"] and "ServiceTargetGroup" not in bare["Parameters"]
    check_contract(STACK, bare)
    decision = plan(STACK, bare, changed(bare, _set(["BlueTargetGroup", "Properties", "Port"], 8081)), live())
    assert decision == Refuse(
        "Dev-Service: BlueTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup): Port would change, which replaces "
        "the target group with a new ARN that the CODE_DEPLOY deployment controller does not hold; keep "
        "IpAddressType, Name, Port, Protocol, ProtocolVersion, TargetType, VpcId as deployed, or move to a new "
        "target group pair in a planned migration"
    )


def test_a_contract_break_is_one_line_naming_the_key() -> None:
    broken = copy.deepcopy(CD)
    broken["Resources"]["SecondService"] = copy.deepcopy(broken["Resources"]["Service"])
    with pytest.raises(GuardError) as error:
        plan(STACK, CD, broken, live(), None)
    assert str(error.value) == "Dev-Service: template Resources: expected one AWS::ECS::Service, found 2"


def test_diff_ignores_metadata_and_follows_a_parameter_into_the_service() -> None:
    relabelled = changed(CD, _set(["BlueTargetGroup", "Metadata", "aws:cdk:path"], "Dev-Service/Renamed"))
    assert diff_resources(CD, relabelled) == ()
    changes = diff_resources(CD, CD, parameter_changes={"ImageTag": ("release-0000001", "release-abc1234")})
    assert [change.describe() for change in changes] == [
        "modified Service (AWS::ECS::Service): TaskDefinition (TaskDefinition is replaced)",
        "replaced TaskDefinition (AWS::ECS::TaskDefinition): "
        "ContainerDefinitions (parameter ImageTag release-0000001 -> release-abc1234)",
    ]


# -- live.py with Stubber ---------------------------------------------------------------------


@functools.cache
def _session() -> boto3.Session:
    """One session with dummy keys for every stubbed client: no network, no ~/.aws lookup at call time."""
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")


def _client(service: str) -> Any:
    return _session().client(service)


@pytest.fixture
def stubbed() -> Iterator[Callable[[str], tuple[Any, Stubber]]]:
    stubbers: list[Stubber] = []

    def make(service: str) -> tuple[Any, Stubber]:
        client = _client(service)
        stubber = Stubber(client)
        stubber.activate()
        stubbers.append(stubber)
        return client, stubber

    yield make
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def _stack_resources(physical: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "LogicalResourceId": logical,
            "PhysicalResourceId": value,
            "ResourceType": "AWS::CloudFormation::CustomResource",
            "Timestamp": "2026-12-01T20:00:00Z",
            "ResourceStatus": "UPDATE_COMPLETE",
        }
        for logical, value in physical.items()
    ]


PHYSICAL = {
    "BlueTargetGroup": BLUE_ARN,
    "GreenTargetGroup": GREEN_ARN,
    "ProdListener": PROD_LISTENER_ARN,
    "TestListener": TEST_LISTENER_ARN,
    "RedirectListener": REDIRECT_ARN,
    "ProdRule": PROD_RULE_ARN,
    "TestRule": TEST_RULE_ARN,
    "Service": SERVICE_ARN,
    "Cluster": "dev-cluster",
    "TaskDefinition": "arn:aws:ecs:eu-west-1:222222222222:task-definition/dev-app:1",
}


def queue_cloudformation(stubber: Stubber, template: dict[str, Any], status: str = "UPDATE_COMPLETE") -> None:
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": STACK,
                    "CreationTime": "2026-11-01T10:00:00Z",
                    "StackStatus": status,
                    "Parameters": [
                        {"ParameterKey": "ImageTag", "ParameterValue": "release-0000001"},
                    ],
                }
            ]
        },
        {"StackName": STACK},
    )
    stubber.add_response(
        "get_template", {"TemplateBody": json.dumps(template)}, {"StackName": STACK, "TemplateStage": "Original"}
    )
    stubber.add_response(
        "describe_stack_resources", {"StackResources": _stack_resources(PHYSICAL)}, {"StackName": STACK}
    )


def queue_code_deploy_live(ecs: Stubber, *, task_sets: list[str] | None = None) -> None:
    sets = [
        {
            "status": status,
            "taskDefinition": TASK_DEFINITION_ARN if status == "PRIMARY" else TASK_DEFINITION_ARN[:-1] + "8",
            "loadBalancers": [{"containerName": "app", "containerPort": 8080}],
        }
        for status in task_sets or ["PRIMARY"]
    ]
    ecs.add_response(
        "describe_services",
        {"services": [{"serviceArn": SERVICE_ARN, "deploymentController": {"type": "CODE_DEPLOY"}, "taskSets": sets}]},
        {"cluster": "dev-cluster", "services": [SERVICE_ARN]},
    )
    ecs.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "containerDefinitions": [
                    {"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:3.0.0"},
                    {"name": "app", "image": f"{IMAGE}:release-abc1234"},
                ]
            }
        },
        {"taskDefinition": TASK_DEFINITION_ARN},
    )


def test_read_deployed_returns_none_when_the_stack_does_not_exist(stubbed: Any) -> None:
    cloudformation, stubber = stubbed("cloudformation")
    stubber.add_client_error(
        "describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist", 400, {"StackName": STACK}
    )
    assert read_deployed(cloudformation, STACK) is None


def test_read_deployed_parses_a_template_body_given_as_a_string(stubbed: Any) -> None:
    cloudformation, stubber = stubbed("cloudformation")
    queue_cloudformation(stubber, CD)
    deployed = read_deployed(cloudformation, STACK)
    assert deployed == DeployedStack(STACK, "UPDATE_COMPLETE", {"ImageTag": "release-0000001"}, CD, PHYSICAL)


def test_read_live_state_under_code_deploy(stubbed: Any) -> None:
    """ECS only: the load balancer's weights are LiveTraffic's, the guard reads no listener or target group."""
    ecs, ecs_stub = stubbed("ecs")
    queue_code_deploy_live(ecs_stub)
    deployed = DeployedStack(STACK, "UPDATE_COMPLETE", {"ImageTag": "release-0000001"}, CD, PHYSICAL)
    assert read_live_state(ecs, deployed) == LiveState(
        stack_status="UPDATE_COMPLETE",
        controller="CODE_DEPLOY",
        release_in_progress=False,
        live_image_tag="release-abc1234",
        release_detail="",
        stack_parameters={"ImageTag": "release-0000001"},
    )


def test_read_live_state_sees_a_code_deploy_replacement_task_set(stubbed: Any) -> None:
    ecs, ecs_stub = stubbed("ecs")
    queue_code_deploy_live(ecs_stub, task_sets=["ACTIVE", "PRIMARY"])
    state = read_live_state(ecs, DeployedStack(STACK, "UPDATE_COMPLETE", {}, CD, PHYSICAL))
    assert (state.release_in_progress, state.release_detail) == (True, "task sets ACTIVE, PRIMARY")


def test_read_live_state_under_ecs_reads_the_primary_deployment(stubbed: Any) -> None:
    ecs, ecs_stub = stubbed("ecs")
    ecs_stub.add_response(
        "describe_services",
        {
            "services": [
                {
                    "serviceArn": SERVICE_ARN,
                    "deploymentController": {"type": "ECS"},
                    "loadBalancers": [{"containerName": "app", "containerPort": 8080}],
                    "deployments": [
                        {"status": "PRIMARY", "rolloutState": "IN_PROGRESS", "taskDefinition": TASK_DEFINITION_ARN},
                        {"status": "ACTIVE", "rolloutState": "COMPLETED", "taskDefinition": TASK_DEFINITION_ARN},
                    ],
                }
            ]
        },
        {"cluster": "dev-cluster", "services": [SERVICE_ARN]},
    )
    ecs_stub.add_response(
        "describe_task_definition",
        {"taskDefinition": {"containerDefinitions": [{"name": "app", "image": f"{IMAGE}:release-fed9876"}]}},
        {"taskDefinition": TASK_DEFINITION_ARN},
    )
    state = read_live_state(ecs, DeployedStack(STACK, "UPDATE_COMPLETE", {}, ECS, PHYSICAL))
    assert (state.controller, state.live_image_tag) == ("ECS", "release-fed9876")
    assert (state.release_in_progress, state.release_detail) == (
        True,
        "2 ECS deployments: PRIMARY IN_PROGRESS, ACTIVE COMPLETED",
    )


def test_an_aws_error_is_one_line_naming_the_stack_and_the_call(stubbed: Any) -> None:
    ecs, stubber = stubbed("ecs")
    stubber.add_client_error(
        "describe_services",
        "AccessDeniedException",
        "User: arn:aws:sts::222222222222:assumed-role/x/release-guard is not authorized\nto perform this",
        400,
    )
    with pytest.raises(AwsCallError) as error:
        read_live_state(ecs, DeployedStack(STACK, "UPDATE_COMPLETE", {}, CD, PHYSICAL))
    assert str(error.value) == (
        "Dev-Service: ecs DescribeServices: AccessDeniedException: User: "
        "arn:aws:sts::222222222222:assumed-role/x/release-guard is not authorized to perform this; "
        "the identity (or the role it assumed) needs read access to this account"
    )


def test_session_for_assumes_the_cdk_lookup_role(stubbed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sts, stubber = stubbed("sts")
    stubber.add_response(
        "assume_role",
        {
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLEEXAMPLE12",
                "SecretAccessKey": "secret-example",
                "SessionToken": "token-example",
                "Expiration": "2026-12-01T23:00:00Z",
            }
        },
        {
            "RoleArn": "arn:aws:iam::222222222222:role/cdk-hnb659fds-lookup-role-222222222222-eu-west-1",
            "RoleSessionName": "release-guard",
        },
    )
    base = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")
    monkeypatch.setattr(base, "client", lambda *args, **kwargs: sts)
    session = session_for("222222222222", "eu-west-1", base=base)
    credentials = session.get_credentials()
    assert credentials is not None
    assert (credentials.access_key, credentials.token, session.region_name) == (
        "ASIAEXAMPLEEXAMPLE12",
        "token-example",
        "eu-west-1",
    )
    assert session_for("222222222222", "eu-west-1", ambient=True, base=base) is base


def test_session_for_rejects_an_unknown_placeholder() -> None:
    with pytest.raises(GuardError) as error:
        session_for("222222222222", "eu-west-1", role_name="deploy-{stage}")
    assert str(error.value) == (
        "--role-name: expected a role name with no placeholders but {account} and {region}, got 'deploy-{stage}'"
    )


# -- the CLI, in-process ----------------------------------------------------------------------


def write_assembly(directory: Path, templates: dict[str, dict[str, Any]]) -> Path:
    artifacts: dict[str, Any] = {"Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}}}
    for name, template in templates.items():
        (directory / f"{name}.template.json").write_text(json.dumps(template))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://222222222222/eu-west-1",
            "properties": {"templateFile": f"{name}.template.json"},
        }
    (directory / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": artifacts}))
    return directory


class Clients:
    """Stubbed clients handed to main(); records which stack asked for which service."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}
        self.asked: list[tuple[str, str, str, str]] = []
        for service in ("cloudformation", "ecs"):
            client = _client(service)
            self.clients[service], self.stubs[service] = client, Stubber(client)
            self.stubs[service].activate()

    def __call__(self, stack: str, account: str, region: str, service: str) -> Any:
        self.asked.append((stack, account, region, service))
        return self.clients[service]

    def done(self) -> None:
        for stubber in self.stubs.values():
            stubber.assert_no_pending_responses()


@pytest.fixture
def assembly(tmp_path: Path) -> Path:
    return write_assembly(tmp_path, {"Dev-Network": NETWORK_TEMPLATE, STACK: CD})


def test_cli_passes_and_prints_the_parameters(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clients = Clients()
    queue_cloudformation(clients.stubs["cloudformation"], CD)
    queue_code_deploy_live(clients.stubs["ecs"])
    assert main(["--assembly", str(assembly), "Dev-Network", STACK], clients=clients) == 0
    clients.done()
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "Dev-Network: deploy: not a service stack (no ImageTag parameter), passed through",
        "Dev-Service: deploy: image release-abc1234 (CodeDeploy's revision; ImageTag stays release-0000001); "
        "no changes",
    ]
    assert out.splitlines() == ["--parameters", "Dev-Service:ImageTag=release-0000001"]
    assert {asked[0] for asked in clients.asked} == {STACK}, "no AWS call for a stack that is not a service stack"


def test_cli_refuses_with_exit_3_and_prints_nothing_on_stdout(
    assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clients = Clients()
    clients.stubs["cloudformation"].add_response(
        "describe_stacks",
        {
            "Stacks": [
                {"StackName": STACK, "CreationTime": "2026-11-01T10:00:00Z", "StackStatus": "UPDATE_ROLLBACK_FAILED"}
            ]
        },
        {"StackName": STACK},
    )
    clients.stubs["cloudformation"].add_response("get_template", {"TemplateBody": json.dumps(CD)})
    clients.stubs["cloudformation"].add_response("describe_stack_resources", {"StackResources": []})
    assert main(["--assembly", str(assembly), "Dev-Network", STACK], clients=clients) == 3
    clients.done()
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[1] == (
        "Dev-Service: stack status is UPDATE_ROLLBACK_FAILED: CloudFormation accepts no update until the rollback "
        "is finished; continue the rollback (aws cloudformation continue-update-rollback) until "
        "UPDATE_ROLLBACK_COMPLETE, then run the guard again"
    )


def test_cli_first_deploy_passes_no_parameters(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clients = Clients()
    clients.stubs["cloudformation"].add_client_error(
        "describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist"
    )
    assert main(["--assembly", str(assembly), STACK], clients=clients) == 0
    out, err = capsys.readouterr()
    assert (out, err) == ("", "Dev-Service: deploy: first deployment, template defaults; 11 changes\n")


def test_cli_reports_an_aws_error_with_exit_2(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clients = Clients()
    clients.stubs["cloudformation"].add_client_error("describe_stacks", "ThrottlingException", "Rate exceeded")
    assert main(["--assembly", str(assembly), STACK], clients=clients) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        "Dev-Service: cloudformation DescribeStacks: ThrottlingException: Rate exceeded; "
        "run the guard again in a minute\n",
    )


def no_clients(stack: str, account: str, region: str, service: str) -> Any:
    raise AssertionError(f"bad input must stop before any AWS call ({stack} asked for {service})")


BAD_INPUT = [
    (
        "missing assembly",
        lambda d: ["--assembly", str(d / "nowhere"), STACK],
        "{d}/nowhere/manifest.json: not found; synthesize first (make synth), or pass --assembly",
    ),
    (
        "unknown stack",
        lambda d: ["--assembly", str(d), "Prod-Service"],
        "{d}/manifest.json: unknown stack 'Prod-Service': expected one of Dev-Network, Dev-Service",
    ),
    (
        "no stack",
        lambda d: ["--assembly", str(d)],
        "release_guard: name the stacks to check, or --all (see python -m release_guard --help)",
    ),
    (
        "stacks and --all",
        lambda d: ["--assembly", str(d), STACK, "--all"],
        "release_guard: name the stacks to check, or --all (see python -m release_guard --help)",
    ),
    (
        "bad image tag",
        lambda d: ["--assembly", str(d), STACK, "--image-tag", "v1 2"],
        "--image-tag: expected a Docker image tag ([A-Za-z0-9_.-], 1-128), got 'v1 2'",
    ),
]


@pytest.mark.parametrize(("argv", "line"), [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT])
def test_cli_bad_input_is_one_line_and_exit_2(
    assembly: Path, capsys: pytest.CaptureFixture[str], argv: Callable[[Path], list[str]], line: str
) -> None:
    assert main(argv(assembly), clients=no_clients) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", line.format(d=assembly) + "\n")


def test_cli_unreadable_manifest_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    assert main(["--assembly", str(tmp_path), STACK], clients=no_clients) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{tmp_path}/manifest.json: expected a cloud assembly manifest (JSON), got unreadable: ")
    assert err.count("\n") == 1


def test_cli_all_checks_every_stack_of_the_assembly(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clients = Clients()
    queue_cloudformation(clients.stubs["cloudformation"], CD)
    queue_code_deploy_live(clients.stubs["ecs"])
    assert main(["--assembly", str(assembly), "--all"], clients=clients) == 0
    clients.done()
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":", 1)[0] for line in err] == ["Dev-Network", STACK]


def test_a_change_that_replaces_the_named_ecs_service_is_refused() -> None:
    renamed = changed(ECS, _set(["Service", "Properties", "ServiceName"], "another-name"))
    decision = plan(STACK, ECS, renamed, live(controller="ECS"))
    assert isinstance(decision, Refuse)
    assert decision.line.startswith(
        "Dev-Service: Service (AWS::ECS::Service): ServiceName would change, which replaces it, and the ECS "
        "deployment controller holds the deployed one; keep Cluster, LaunchType, Role, SchedulingStrategy, "
        "ServiceName as deployed"
    )


def test_a_renamed_alarm_is_replaced_and_the_deployment_group_that_names_it_follows() -> None:
    """AlarmName is create-only (CloudFormation resource schema): a new name is a new alarm."""

    def with_alarm(name: str) -> dict[str, Any]:
        template = copy.deepcopy(CD)
        template["Resources"]["HealthAlarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {"AlarmName": name, "Threshold": 5},
        }
        group = template["Resources"]["DeploymentGroup"]["Properties"]
        group["AlarmConfiguration"] = {"Alarms": [{"Name": {"Ref": "HealthAlarm"}}], "Enabled": True}
        return template

    changes = {change.logical_id: change.action for change in diff_resources(with_alarm("old"), with_alarm("new"))}
    assert changes == {"HealthAlarm": "replaced", "DeploymentGroup": "modified"}
    decision = plan(STACK, with_alarm("old"), with_alarm("new"), live())
    assert isinstance(decision, Deploy), "a replaced alarm is applied: no controller holds it by ARN"
