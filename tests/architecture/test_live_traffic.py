"""The LiveTraffic reader in the service stacks: every forward comes from it, it runs first, its role only reads.

components/ecs_blue_green/live_traffic_reader.py builds it; its handler has its own tests in
tests/handlers/test_live_traffic.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from constructs import Construct

from components.ecs_blue_green.load_balancer import ServiceLoadBalancer
from components.naming import Names
from config import Config
from tests.support import SynthesizedApp, logical_id, new_app, normalize_template

READER = "Custom::LiveTraffic"
ENVIRONMENTS = ("Dev", "Staging", "Prod")
CONFIGURATIONS = ["synthesized", "ecs_native"]


def app_of(request: pytest.FixtureRequest, which: str) -> SynthesizedApp:
    app: SynthesizedApp = request.getfixturevalue(which)
    return app


def reader_of(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = ((logical, r) for logical, r in template["Resources"].items() if r["Type"] == READER)
    return found


def get_atts(value: Any) -> list[tuple[str, str]]:
    """Every Fn::GetAtt inside ``value``, as (logical id, attribute)."""
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"}:
            target, attribute = value["Fn::GetAtt"]
            return [(target, attribute)]
        return [found for child in value.values() for found in get_atts(child)]
    if isinstance(value, list):
        return [found for child in value for found in get_atts(child)]
    return []


def refs(value: Any) -> set[str]:
    """Every logical id ``value`` references with Ref or Fn::GetAtt."""
    text = json.dumps(value)
    return set(re.findall(r'"Ref": "([^"]+)"', text)) | {target for target, _ in get_atts(value)}


@pytest.mark.parametrize("which", CONFIGURATIONS)
def test_every_forward_weight_is_the_readers_answer_for_its_listener(
    request: pytest.FixtureRequest, which: str
) -> None:
    app = app_of(request, which)
    for env in ENVIRONMENTS:
        stack = app.stack(f"{env}-Service")
        lb = stack.service.load_balancing
        template = app.raw_template(f"{env}-Service")
        reader, _ = reader_of(template)
        owners = {
            logical_id(lb.production_listener.node.default_child): "Production",
            logical_id(lb.test_listener.node.default_child): "Test",
        }
        if lb.production_rule is not None and lb.test_rule is not None:
            owners[logical_id(lb.production_rule.node.default_child)] = "Production"
            owners[logical_id(lb.test_rule.node.default_child)] = "Test"
        forwards = 0
        for logical, resource in template["Resources"].items():
            for action in resource["Properties"].get("DefaultActions", []) + resource["Properties"].get("Actions", []):
                if action["Type"] != "forward":
                    continue
                forwards += 1
                kind = owners[logical]
                weights = [group["Weight"] for group in action["ForwardConfig"]["TargetGroups"]]
                assert weights == [
                    {"Fn::GetAtt": [reader, f"{kind}BlueWeight"]},
                    {"Fn::GetAtt": [reader, f"{kind}GreenWeight"]},
                ], f"{env} {logical}"
        assert forwards == len(owners), "every listener and rule forwards, and nothing else does"


@pytest.mark.parametrize("which", CONFIGURATIONS)
def test_no_stack_parameter_or_condition_says_which_group_is_live(request: pytest.FixtureRequest, which: str) -> None:
    app = app_of(request, which)
    for env in ENVIRONMENTS:
        template = app.raw_template(f"{env}-Service")
        assert "LiveTargetGroup" not in template["Parameters"]
        assert "ServiceTargetGroup" not in template["Parameters"]
        assert "Conditions" not in template
        assert "Fn::If" not in json.dumps(template["Resources"])


def test_under_ecs_the_services_primary_and_alternate_groups_are_the_readers_answer(ecs_native: SynthesizedApp) -> None:
    for env in ENVIRONMENTS:
        template = ecs_native.raw_template(f"{env}-Service")
        reader, _ = reader_of(template)
        (service,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::Service")
        (balancer,) = service["Properties"]["LoadBalancers"]
        assert balancer["TargetGroupArn"] == {"Fn::GetAtt": [reader, "ServiceTargetGroupArn"]}
        assert balancer["AdvancedConfiguration"]["AlternateTargetGroupArn"] == {
            "Fn::GetAtt": [reader, "ServiceAlternateTargetGroupArn"]
        }


@pytest.mark.parametrize("which", CONFIGURATIONS)
def test_the_reader_names_what_it_reads_by_logical_id_so_it_runs_before_them(
    request: pytest.FixtureRequest, which: str
) -> None:
    """No Ref to a listener, rule or service: the reader depends on none of them, so it runs first."""
    app = app_of(request, which)
    stack = app.stack("Prod-Service")
    service, lb = stack.service, stack.service.load_balancing
    template = app.raw_template("Prod-Service")
    _, reader = reader_of(template)
    properties = reader["Properties"]
    expected = {
        "ProductionListener": logical_id(lb.production_listener.node.default_child),
        "TestListener": logical_id(lb.test_listener.node.default_child),
        "Service": logical_id(service.service.node.default_child),
    }
    if which == "ecs_native":
        assert lb.production_rule is not None and lb.test_rule is not None
        expected["ProductionRule"] = logical_id(lb.production_rule.node.default_child)
        expected["TestRule"] = logical_id(lb.test_rule.node.default_child)
    assert {key: properties[key] for key in expected} == expected
    assert all(logical in template["Resources"] for logical in expected.values())
    moving = set(expected.values())
    assert not refs(properties) & moving
    assert not set(reader.get("DependsOn", [])) & moving
    # The target groups are referenced (their ARNs): they move no traffic.
    assert properties["BlueTargetGroupArn"] == {"Ref": logical_id(lb.blue_target_group.node.default_child)}
    assert properties["GreenTargetGroupArn"] == {"Ref": logical_id(lb.green_target_group.node.default_child)}
    assert properties["ReleaseController"] == ("ecs" if which == "ecs_native" else "codedeploy")
    assert properties["ServiceTimeout"] == "300", "a lost answer fails the deploy in 5 minutes, not an hour"


def test_under_codedeploy_the_reader_checks_this_services_deployment_group(
    synthesized: SynthesizedApp, config: Config
) -> None:
    _, reader = reader_of(synthesized.raw_template("Prod-Service"))
    names = Names(config)
    assert reader["Properties"]["CodeDeployApplication"] == names.codedeploy_application
    assert reader["Properties"]["CodeDeployDeploymentGroup"] == names.deployment_group


@pytest.mark.parametrize("which", CONFIGURATIONS)
def test_what_moves_traffic_or_starts_a_deployment_waits_for_the_reader(
    request: pytest.FixtureRequest, which: str
) -> None:
    """A refusal comes before any of these changes: each depends on the reader, by GetAtt or DependsOn."""
    app = app_of(request, which)
    template = app.raw_template("Prod-Service")
    reader, _ = reader_of(template)
    waiting = {"AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule"}
    waiting.add("AWS::ECS::TaskDefinition")
    if which == "synthesized":
        waiting.add("AWS::CodeDeploy::DeploymentGroup")
    else:
        waiting.add("AWS::ECS::Service")
    checked = 0
    for logical, resource in template["Resources"].items():
        if resource["Type"] not in waiting:
            continue
        checked += 1
        by_reference = reader in refs(resource.get("Properties", {}))
        by_depends_on = reader in resource.get("DependsOn", [])
        assert by_reference or by_depends_on, f"{logical} ({resource['Type']}) does not wait for the reader"
        assert not (by_reference and by_depends_on), f"{logical}: a DependsOn beside a GetAtt is cfn-lint's W3005"
    assert checked == (6 if which == "ecs_native" else 4)


def test_the_codedeploy_service_keeps_the_shape_it_was_deployed_with(synthesized: SynthesizedApp) -> None:
    """Adding a DependsOn to a deployed CODE_DEPLOY service is an update ECS refuses (aws/aws-cdk#25777)."""
    template = synthesized.raw_template("Prod-Service")
    reader, _ = reader_of(template)
    (service,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::Service"]
    assert reader not in service.get("DependsOn", [])
    assert reader not in refs(service.get("Properties", {}))


@pytest.mark.parametrize("which", CONFIGURATIONS)
def test_the_readers_role_only_reads_this_stack_its_load_balancer_its_cluster_and_its_releases(
    request: pytest.FixtureRequest, which: str
) -> None:
    app = app_of(request, which)
    stack = app.stack("Prod-Service")
    live = stack.service.live_traffic
    template = app.raw_template("Prod-Service")
    policy = template["Resources"][logical_id(live.role.node.find_child("DefaultPolicy").node.default_child)]
    statements = {s.get("Sid", "Logs"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    cluster = logical_id(stack.service.cluster.node.default_child)
    expected = {
        "Logs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            {"Fn::GetAtt": [logical_id(live.log_group.node.default_child), "Arn"]},
        ),
        "ReadThisStack": (
            ["cloudformation:DescribeStackResource", "cloudformation:DescribeStacks"],
            {"Ref": "AWS::StackId"},
        ),
        "ReadListenersAndRules": (
            ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules"],
            "*",
        ),
        "ReadTheServiceOfThisCluster": (
            "ecs:DescribeServices",
            {"Fn::Join": ["", ["arn:aws:ecs:eu-west-1:444444444444:service/", {"Ref": cluster}, "/*"]]},
        ),
    }
    if which == "synthesized":
        expected["ReadTheReleasesOfTheDeploymentGroup"] = (
            ["codedeploy:GetDeployment", "codedeploy:ListDeployments"],
            "arn:aws:codedeploy:eu-west-1:444444444444:deploymentgroup:delivery-ref-web/delivery-ref-web",
        )
    assert {sid: (s["Action"], s["Resource"]) for sid, s in statements.items()} == expected
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in statements.values())
    role = template["Resources"][logical_id(live.role.node.default_child)]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role


def test_the_reader_logs_to_its_own_group_encrypted_with_the_service_key(
    synthesized: SynthesizedApp, config: Config
) -> None:
    stack = synthesized.stack("Prod-Service")
    live = stack.service.live_traffic
    resources = synthesized.raw_template("Prod-Service")["Resources"]
    function = resources[logical_id(live.function.node.default_child)]["Properties"]
    assert function["FunctionName"] == Names(config).live_traffic_function
    assert "VpcConfig" not in function and "Environment" not in function
    logs = resources[logical_id(live.log_group.node.default_child)]["Properties"]
    assert logs["LogGroupName"] == f"/aws/lambda/{Names(config).live_traffic_function}"
    assert logs["KmsKeyId"] == {"Fn::GetAtt": [logical_id(stack.service.key.node.default_child), "Arn"]}


def test_the_nonce_is_new_at_every_synth_and_the_snapshots_normalize_it(
    synthesized: SynthesizedApp, ecs_native: SynthesizedApp
) -> None:
    """Two synths, two nonces: CloudFormation sends the reader a request at every deploy."""
    nonces = [
        reader_of(app.raw_template("Prod-Service"))[1]["Properties"]["Nonce"] for app in (synthesized, ecs_native)
    ]
    assert all(re.fullmatch(r"[0-9a-f]{32}", nonce) for nonce in nonces)
    assert nonces[0] != nonces[1]
    normalized = normalize_template(synthesized.raw_template("Prod-Service"))
    assert reader_of(normalized)[1]["Properties"]["Nonce"] == "<nonce>"


def test_a_load_balancer_nobody_gives_live_weights_fails_the_synth(tmp_path: Path) -> None:
    """Without forward_live every listener would forward to Blue whatever is live: the bug this replaces."""
    from aws_cdk import aws_ec2 as ec2

    app = new_app(str(tmp_path), validate_templates=False)
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    ServiceLoadBalancer(
        Construct(stack, "Service"),
        vpc=vpc,
        subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        internet_facing=False,
        vpc_cidr="10.0.0.0/16",
        container_port=8080,
        health_check_path="/health",
        certificate_arn=None,
        test_listener_port=9000,
        test_listener_cidr=None,
        log_retention_days=30,
        forward_with_rules=False,
        deletion_protection=False,
    )
    with pytest.raises(RuntimeError, match="forward_live was never called"):
        app.synth()
