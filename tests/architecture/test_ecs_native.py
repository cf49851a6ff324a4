"""config/ecs-native.toml: every environment released by Amazon ECS's own blue/green, canary or linear."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from components.compliance.nag import findings
from components.naming import Names
from config import Config
from tests.fixtures import ECS_NATIVE_CONFIG_PATH
from tests.support import SynthesizedApp, logical_id, normalize_template

ENVIRONMENTS = ["dev", "staging", "prod"]
#: The stacks whose templates depend on the release controller; the others equal the sandbox's.
CONTROLLER_STACKS = [
    *(f"{env.capitalize()}-Service" for env in ENVIRONMENTS),
    *(f"{env.capitalize()}-DeployRole" for env in ENVIRONMENTS),
    # No CodeDeploy endpoint: under ECS the test-traffic hook reports with its return value.
    *(f"{env.capitalize()}-Network" for env in ENVIRONMENTS),
    "Tools-Pipeline",
]


def service(ecs_native: SynthesizedApp, env: str) -> Template:
    return ecs_native.template(f"{env.capitalize()}-Service")


def the_service(template: Template) -> dict[str, Any]:
    (resource,) = template.find_resources("AWS::ECS::Service").values()
    return dict(resource["Properties"])


def reader_id(template: Template) -> str:
    (logical,) = template.find_resources("Custom::LiveTraffic")
    return str(logical)


def weighted_forward(template: Template, kind: str) -> list[dict[str, Any]]:
    """The forward every rule and listener of ``kind`` (Production, Test) has: the reader's weights."""
    blue, green = (
        {"Ref": next(iter(template.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup", {"Metadata": m})))}
        for m in ({"Release": {"Colour": "Blue"}}, {"Release": {"Colour": "Green"}})
    )
    reader = reader_id(template)
    return [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": blue, "Weight": {"Fn::GetAtt": [reader, f"{kind}BlueWeight"]}},
                    {"TargetGroupArn": green, "Weight": {"Fn::GetAtt": [reader, f"{kind}GreenWeight"]}},
                ]
            },
        }
    ]


# -- the service ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "strategy", "shift"),
    [
        ("dev", "BLUE_GREEN", {}),
        ("staging", "CANARY", {"CanaryConfiguration": {"CanaryPercent": 10, "CanaryBakeTimeInMinutes": 5}}),
        ("prod", "LINEAR", {"LinearConfiguration": {"StepPercent": 20, "StepBakeTimeInMinutes": 3}}),
    ],
)
def test_ecs_releases_each_environment_with_its_configured_strategy_and_bake(
    ecs_native: SynthesizedApp, ecs_native_config: Config, env: str, strategy: str, shift: dict[str, Any]
) -> None:
    release = ecs_native_config.environment(env).ecs_release
    assert release is not None
    properties = the_service(service(ecs_native, env))
    assert properties["DeploymentController"] == {"Type": "ECS"}
    configuration = properties["DeploymentConfiguration"]
    assert configuration["Strategy"] == strategy
    assert configuration["BakeTimeInMinutes"] == release.bake_minutes
    for key, value in shift.items():
        assert configuration[key] == value
    assert not {"CanaryConfiguration", "LinearConfiguration"} - set(shift) & set(configuration)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_failing_revision_rolls_back_by_circuit_breaker_and_by_alarm_on_both_target_groups(
    ecs_native: SynthesizedApp, ecs_native_config: Config, env: str
) -> None:
    template = service(ecs_native, env)
    configuration = the_service(template)["DeploymentConfiguration"]
    assert configuration["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    alarms = configuration["Alarms"]
    assert (alarms["Enable"], alarms["Rollback"]) == (True, True)
    named = {
        logical: resource["Properties"]["AlarmName"]
        for logical, resource in template.find_resources("AWS::CloudWatch::Alarm").items()
    }
    names = Names(ecs_native_config)
    expected = {
        names.health_alarm(env, alarm, colour)
        for alarm in ecs_native_config.environment(env).alarms
        for colour in ("blue", "green")
    } | {names.load_balancer_alarm(env)}
    assert {named[ref["Ref"]] for ref in alarms["AlarmNames"]} == expected


def test_the_test_traffic_hook_runs_after_test_traffic_moves_and_is_invoked_by_its_own_role(
    ecs_native: SynthesizedApp,
) -> None:
    stack = ecs_native.stack("Prod-Service")
    template = service(ecs_native, "prod")
    (hook,) = the_service(template)["DeploymentConfiguration"]["LifecycleHooks"]
    function = logical_id(stack.service.hook.function.node.default_child)
    invoker = logical_id(stack.service.release.hook_invoke_role.node.default_child)
    assert hook == {
        "HookTargetArn": {"Fn::GetAtt": [function, "Arn"]},
        "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        "RoleArn": {"Fn::GetAtt": [invoker, "Arn"]},
    }
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": invoker}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "lambda:InvokeFunction",
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": [function, "Arn"]},
                    }
                ]
            },
        },
    )


def test_under_ecs_the_hook_has_no_codedeploy_permission(ecs_native: SynthesizedApp) -> None:
    stack = ecs_native.stack("Prod-Service")
    policy = logical_id(stack.service.hook.role.node.find_child("DefaultPolicy").node.default_child)
    statements = service(ecs_native, "prod").to_json()["Resources"][policy]["Properties"]["PolicyDocument"]
    assert "codedeploy" not in json.dumps(statements)


def test_the_service_shifts_traffic_on_its_two_listener_rules_through_the_infrastructure_role(
    ecs_native: SynthesizedApp,
) -> None:
    stack = ecs_native.stack("Prod-Service")
    lb = stack.service.load_balancing
    template = service(ecs_native, "prod")
    (balancer,) = the_service(template)["LoadBalancers"]
    reader = logical_id(stack.service.live_traffic.resource.node.default_child)
    # The primary group is the one ECS records now, as the LiveTraffic reader read it.
    assert balancer == {
        "ContainerName": "web",
        "ContainerPort": 8080,
        "TargetGroupArn": {"Fn::GetAtt": [reader, "ServiceTargetGroupArn"]},
        "AdvancedConfiguration": {
            "AlternateTargetGroupArn": {"Fn::GetAtt": [reader, "ServiceAlternateTargetGroupArn"]},
            "ProductionListenerRule": {"Ref": logical_id(lb.production_rule.node.default_child)},
            "TestListenerRule": {"Ref": logical_id(lb.test_rule.node.default_child)},
            "RoleArn": {
                "Fn::GetAtt": [logical_id(stack.service.release.infrastructure_role.node.default_child), "Arn"]
            },
        },
    }


def test_listener_rules_and_listeners_forward_only_to_the_live_target_group(
    ecs_native: SynthesizedApp,
) -> None:
    stack = ecs_native.stack("Prod-Service")
    lb = stack.service.load_balancing
    template = service(ecs_native, "prod")
    resources = template.to_json()["Resources"]
    rules = template.find_resources("AWS::ElasticLoadBalancingV2::ListenerRule")
    assert len(rules) == 2
    for kind, rule, listener in (
        ("Production", lb.production_rule, lb.production_listener),
        ("Test", lb.test_rule, lb.test_listener),
    ):
        assert rule is not None
        properties = resources[logical_id(rule.node.default_child)]["Properties"]
        assert properties["Actions"] == weighted_forward(template, kind)
        assert properties["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}]
        # Never reached (the rule matches every path), and a forward too: no mixed action types.
        listener_properties = resources[logical_id(listener.node.default_child)]["Properties"]
        assert listener_properties["DefaultActions"] == weighted_forward(template, kind)


def test_the_service_waits_for_the_roles_ecs_assumes_when_it_creates_it(ecs_native: SynthesizedApp) -> None:
    stack = ecs_native.stack("Prod-Service")
    release = stack.service.release
    (resource,) = service(ecs_native, "prod").find_resources("AWS::ECS::Service").values()
    for role in (release.infrastructure_role, release.hook_invoke_role):
        assert logical_id(role.node.default_child) in resource["DependsOn"]
        assert logical_id(role.node.find_child("DefaultPolicy").node.default_child) in resource["DependsOn"]


def test_infrastructure_role_changes_only_this_services_groups_rules_and_listeners(ecs_native: SynthesizedApp) -> None:
    stack = ecs_native.stack("Prod-Service")
    release, lb = stack.service.release, stack.service.load_balancing
    template = service(ecs_native, "prod")
    role = logical_id(release.infrastructure_role.node.default_child)
    trust = template.to_json()["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    # The trust AWS documents, with no source condition that ECS is not documented to meet.
    assert trust == [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}}]
    policy = logical_id(release.infrastructure_role.node.find_child("DefaultPolicy").node.default_child)
    statements = {
        s["Sid"]: s for s in template.to_json()["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]
    }
    assert statements["ReadTheLoadBalancer"]["Resource"] == "*"
    assert all(action.split(":")[1].startswith("Describe") for action in statements["ReadTheLoadBalancer"]["Action"])
    assert statements["MoveTargetsOfTheTwoGroups"]["Resource"] == [
        {"Ref": logical_id(group.node.default_child)} for group in (lb.blue_target_group, lb.green_target_group)
    ]
    shifted = (lb.production_rule, lb.test_rule, lb.production_listener, lb.test_listener)
    assert sorted(ref["Ref"] for ref in statements["ShiftTheTwoRules"]["Resource"]) == sorted(
        logical_id(construct.node.default_child) for construct in shifted
    )


def test_capacity_is_left_to_application_auto_scaling(ecs_native: SynthesizedApp, ecs_native_config: Config) -> None:
    for env in ENVIRONMENTS:
        template = service(ecs_native, env)
        assert "DesiredCount" not in the_service(template), "a CloudFormation update would reset the scaled count"
        environment = ecs_native_config.environment(env)
        template.has_resource_properties(
            "AWS::ApplicationAutoScaling::ScalableTarget",
            {"MinCapacity": environment.desired_count, "MaxCapacity": environment.max_count},
        )


def test_deployment_outcomes_of_this_service_reach_the_encrypted_topic(ecs_native: SynthesizedApp) -> None:
    template = service(ecs_native, "prod")
    service_id = next(iter(template.find_resources("AWS::ECS::Service")))
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.ecs"],
                "detail-type": ["ECS Deployment State Change"],
                "resources": [{"Ref": service_id}],
                "detail": {"eventName": ["SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"]},
            },
            "Targets": [Match.object_like({"Arn": {"Ref": Match.string_like_regexp("ServiceDeploymentEvents")}})],
        },
    )


# -- the pipeline and the deploy roles ---------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_pipeline_role_enters_an_account_that_ecs_releases(
    ecs_native: SynthesizedApp, ecs_native_config: Config, env: str
) -> None:
    """The Infrastructure action is the release and runs as the CDK bootstrap roles: no standing
    cross-account deploy role may update the service, and no target account reads the artifacts."""
    names = Names(ecs_native_config)
    raw = ecs_native.raw_template(f"{env.capitalize()}-DeployRole")
    roles = [r["Properties"]["RoleName"] for r in raw["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles == [names.template_reader_role]
    assert [r["Type"] for r in raw["Resources"].values() if r["Type"] == "AWS::IAM::Policy"] == []
    pipeline = json.dumps(ecs_native.raw_template("Tools-Pipeline"))
    assert names.deploy_role not in pipeline
    assert "ReadForTargetAccountDeployRoles" not in pipeline
    assert "DecryptForTargetAccountDeployRoles" not in pipeline


def test_deploy_role_stacks_wait_for_nothing_where_ecs_releases(ecs_native: SynthesizedApp) -> None:
    """Without a deploy role, no trust policy names the pipeline role and CodePipeline checks no role."""
    for env in ENVIRONMENTS:
        # Only its template reader's trust, which names the pull-request role (tests/architecture/test_github_oidc.py).
        needs = [d.stack_name for d in ecs_native.stack(f"{env.capitalize()}-DeployRole").dependencies]
        assert needs == ["Tools-GithubOidc"]
    pipeline_needs = {d.stack_name for d in ecs_native.stack("Tools-Pipeline").dependencies}
    assert not any(name.endswith("-DeployRole") for name in pipeline_needs)


# -- gates and snapshots -----------------------------------------------------------------------


def test_no_unacknowledged_nag_finding_under_ecs(ecs_native: SynthesizedApp) -> None:
    assert sorted(f"{rule} at {path}" for rule, path in findings(ecs_native.packs, ecs_native.app)) == []


def test_every_acknowledgement_under_ecs_still_matches_a_finding(
    ecs_native: SynthesizedApp, unacknowledged: dict[str, set[tuple[str, str]]]
) -> None:
    every = unacknowledged[ECS_NATIVE_CONFIG_PATH]
    assert every, "without acknowledgements the packs report findings"
    stale = [
        f"{rule} at {path}"
        for path, rule, _ in ecs_native.acknowledgements
        if not any(found == rule and (at == path or at.startswith(path + "/")) for found, at in every)
    ]
    assert stale == []


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_name", CONTROLLER_STACKS)
def test_ecs_native_template_matches_snapshot(
    ecs_native: SynthesizedApp, stack_name: str, json_snapshot: SnapshotAssertion
) -> None:
    assert normalize_template(ecs_native.raw_template(stack_name)) == json_snapshot


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_codedeploy_or_ec2_endpoint_where_ecs_releases(ecs_native: SynthesizedApp, env: str) -> None:
    template = ecs_native.template(f"{env.capitalize()}-Network")
    interface = {"Properties": {"VpcEndpointType": "Interface"}}
    services = sorted(
        e["Properties"]["ServiceName"] for e in template.find_resources("AWS::EC2::VPCEndpoint", interface).values()
    )
    assert services == [f"com.amazonaws.eu-west-1.{name}" for name in ("ecr.api", "ecr.dkr", "logs", "secretsmanager")]


def test_the_other_stacks_do_not_depend_on_the_controller(
    ecs_native: SynthesizedApp, synthesized: SynthesizedApp
) -> None:
    """Why only the controller stacks have a second snapshot: the rest are the sandbox's templates."""
    others = sorted(set(synthesized.stack_names) - set(CONTROLLER_STACKS))
    assert others
    for name in others:
        assert normalize_template(ecs_native.raw_template(name)) == normalize_template(synthesized.raw_template(name))
