"""The <Env>-Network stacks: isolated task subnets with no way out, and the endpoints that replace NAT."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Capture, Match, Template
from constructs import IConstruct

from components.network import DEFAULT_INTERFACE_ENDPOINTS, EndpointPolicy, InterfaceEndpoint, PrivateNetwork
from config import TARGET_ENVIRONMENTS, Config
from config.settings import ADDRESSES_BESIDES_TASKS
from stacks.network_stack import NetworkStack, interface_endpoints
from tests.support import SynthesizedApp, new_app

ENVIRONMENTS = [name.capitalize() for name in TARGET_ENVIRONMENTS]
#: The interface endpoints a Fargate task needs; the test-traffic hook needs none (see docs/network.md).
REQUIRED_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
#: PrivateNetwork's default list: also CodeDeploy and EC2, for a service whose hook runs in the VPC.
DEFAULT_ENDPOINTS = (*REQUIRED_ENDPOINTS, "codedeploy", "ec2")
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def network_stack(synthesized: SynthesizedApp, title: str) -> NetworkStack:
    stack = synthesized.stack(f"{title}-Network")
    assert isinstance(stack, NetworkStack)
    return stack


def logical_id(stack: cdk.Stack, construct: IConstruct) -> str:
    """The logical id of an L1 construct, or of an L2 construct's default child."""
    element = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
    assert isinstance(element, cdk.CfnElement), construct.node.path
    return stack.get_logical_id(element)


def refs(stack: cdk.Stack, constructs: Sequence[IConstruct]) -> list[dict[str, str]]:
    """``{"Ref": logical id}`` of each construct, sorted, for comparing id lists."""
    return sorted(({"Ref": logical_id(stack, c)} for c in constructs), key=lambda ref: ref["Ref"])


def task_route_tables(stack: NetworkStack) -> list[IConstruct]:
    return [subnet.node.find_child("RouteTable") for subnet in stack.network.vpc.isolated_subnets]


def task_subnet_refs(stack: NetworkStack) -> list[dict[str, str]]:
    return refs(stack, stack.network.vpc.isolated_subnets)


def endpoint_resources(template: Template, service: str) -> dict[str, Any]:
    return dict(
        template.find_resources(
            "AWS::EC2::VPCEndpoint", {"Properties": {"ServiceName": f"com.amazonaws.eu-west-1.{service}"}}
        )
    )


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_no_nat_gateway_and_no_elastic_ip(synthesized: SynthesizedApp, title: str) -> None:
    template = synthesized.template(f"{title}-Network")
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::EIP", 0)


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_task_route_tables_have_no_route_at_all_so_no_way_to_the_internet(
    synthesized: SynthesizedApp, title: str
) -> None:
    stack = network_stack(synthesized, title)
    template = synthesized.template(f"{title}-Network")
    isolated = {logical_id(stack, table) for table in task_route_tables(stack)}
    routes = template.find_resources("AWS::EC2::Route")
    assert isolated and routes
    for route_id, route in routes.items():
        assert route["Properties"]["RouteTableId"]["Ref"] not in isolated, f"{route_id} is a route from a task subnet"
    # The only default routes are the public (load balancer) subnets' routes to the internet gateway.
    public = {logical_id(stack, s.node.find_child("RouteTable")) for s in stack.network.vpc.public_subnets}
    assert {route["Properties"]["RouteTableId"]["Ref"] for route in routes.values()} == public


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_load_balancer_subnets_do_not_hand_out_public_addresses(synthesized: SynthesizedApp, title: str) -> None:
    template = synthesized.template(f"{title}-Network")
    subnets = template.find_resources("AWS::EC2::Subnet")
    assert all(subnet["Properties"]["MapPublicIpOnLaunch"] is False for subnet in subnets.values())


#: Subnets (one ENI, one hourly charge each) of every interface endpoint: one zone in the sandbox's dev
#: and staging (endpoint_azs = 1), every zone in prod, whose resilience does not depend on one zone.
ENDPOINT_SUBNETS = {"Dev": 1, "Staging": 1, "Prod": 3}


def endpoint_subnet_refs(stack: NetworkStack, zones: int) -> list[dict[str, str]]:
    """The task subnets of the VPC's first ``zones`` AZs."""
    first = stack.network.vpc.availability_zones[:zones]
    return refs(stack, [s for s in stack.network.vpc.isolated_subnets if s.availability_zone in first])


@pytest.mark.parametrize("title", ENVIRONMENTS)
@pytest.mark.parametrize("service", REQUIRED_ENDPOINTS)
def test_required_interface_endpoint_has_private_dns_in_the_task_subnets_of_its_zones(
    synthesized: SynthesizedApp, title: str, service: str
) -> None:
    stack = network_stack(synthesized, title)
    template = synthesized.template(f"{title}-Network")
    found = endpoint_resources(template, service)
    assert len(found) == 1, f"expected one {service} endpoint, found {len(found)}"
    (endpoint,) = found.values()
    properties = endpoint["Properties"]
    assert properties["VpcEndpointType"] == "Interface"
    assert properties["PrivateDnsEnabled"] is True
    subnets = sorted(properties["SubnetIds"], key=lambda ref: ref["Ref"])
    assert len(subnets) == ENDPOINT_SUBNETS[title]
    assert subnets == endpoint_subnet_refs(stack, ENDPOINT_SUBNETS[title])
    sg_id = logical_id(stack, stack.network.endpoint_security_group)
    assert properties["SecurityGroupIds"] == [{"Fn::GetAtt": [sg_id, "GroupId"]}]


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_endpoint_zones_follow_endpoint_azs_and_prod_keeps_one_endpoint_per_zone(
    synthesized: SynthesizedApp, config: Config, title: str
) -> None:
    environment = config.environment(title.lower())
    assert environment.endpoint_azs == ENDPOINT_SUBNETS[title]
    template = synthesized.template(f"{title}-Network")
    subnets = template.find_resources("AWS::EC2::Subnet")
    for endpoint in template.find_resources("AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}):
        ids = [ref["Ref"] for ref in template.to_json()["Resources"][endpoint]["Properties"]["SubnetIds"]]
        zones = sorted(subnets[i]["Properties"]["AvailabilityZone"] for i in ids)
        assert zones == ["eu-west-1a", "eu-west-1b", "eu-west-1c"][: environment.endpoint_azs], endpoint
    if title == "Prod":
        assert environment.endpoint_azs == environment.max_azs


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"release_controller": "ecs"},
        {"alb_internet_facing": False},
        {"release_controller": "ecs", "alb_internet_facing": False},
    ],
)
def test_an_environment_gets_only_the_endpoints_its_callers_use(config: Config, changes: dict[str, Any]) -> None:
    """Only the tasks' four: the hook calls CodeDeploy and EC2 from outside the VPC, whatever the controller."""
    environment = dataclasses.replace(config.environment("dev"), **changes)
    services = {spec.service.short_name for spec in interface_endpoints(environment)}
    assert services == set(REQUIRED_ENDPOINTS)


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_no_interface_endpoint_is_there_for_the_hook(synthesized: SynthesizedApp, title: str) -> None:
    template = synthesized.template(f"{title}-Network")
    for service in ("codedeploy", "ec2"):
        assert endpoint_resources(template, service) == {}, service
    interface = template.find_resources("AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}})
    assert len(interface) == len(REQUIRED_ENDPOINTS)


def test_default_endpoint_list_is_exactly_the_required_set() -> None:
    assert sorted(spec.service.short_name for spec in DEFAULT_INTERFACE_ENDPOINTS) == sorted(DEFAULT_ENDPOINTS)
    for spec in DEFAULT_INTERFACE_ENDPOINTS:
        assert spec.without_it.endswith("."), f"{spec.construct_id}: say what fails without it"


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_s3_gateway_endpoint_is_on_every_task_route_table_and_only_reads_ecr_layers(
    synthesized: SynthesizedApp, title: str
) -> None:
    stack = network_stack(synthesized, title)
    template = synthesized.template(f"{title}-Network")
    route_tables = Capture()
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcEndpointType": "Gateway",
            "RouteTableIds": route_tables,
            "PolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*",
                        "Sid": "AllowEcrImageLayers",
                    }
                ],
                "Version": "2012-10-17",
            },
        },
    )
    assert sorted(route_tables.as_array(), key=lambda ref: ref["Ref"]) == refs(stack, task_route_tables(stack))
    assert len(template.find_resources("AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Gateway"}})) == 1


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_ecr_endpoints_only_let_this_account_pull_from_the_tools_repository(
    synthesized: SynthesizedApp, config: Config, title: str
) -> None:
    template = synthesized.template(f"{title}-Network")
    account = config.environment(title.lower()).account
    this_account = {"StringEquals": {"aws:PrincipalAccount": account}}
    repository = f"arn:aws:ecr:eu-west-1:{config.accounts.tools}:repository/{config.project}/{config.service.name}"
    for service in ("ecr.api", "ecr.dkr"):
        (endpoint,) = endpoint_resources(template, service).values()
        assert endpoint["Properties"]["PolicyDocument"]["Statement"] == [
            {
                "Sid": "AllowRegistryLogin",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
                "Condition": this_account,
            },
            {
                "Sid": "AllowImagePull",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ECR_PULL_ACTIONS,
                "Resource": repository,
                "Condition": this_account,
            },
        ]


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_other_endpoints_serve_principals_of_this_account_only(
    synthesized: SynthesizedApp, config: Config, title: str
) -> None:
    template = synthesized.template(f"{title}-Network")
    account = config.environment(title.lower()).account
    for service in ("logs", "secretsmanager"):
        (endpoint,) = endpoint_resources(template, service).values()
        assert endpoint["Properties"]["PolicyDocument"]["Statement"] == [
            {
                "Sid": "AllowThisAccountOnly",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": f"{service}:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalAccount": account}},
            }
        ]


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_endpoint_security_group_opens_443_to_the_vpc_cidr_only(
    synthesized: SynthesizedApp, config: Config, title: str
) -> None:
    stack = network_stack(synthesized, title)
    template = synthesized.template(f"{title}-Network")
    sg_id = logical_id(stack, stack.network.endpoint_security_group)
    group = template.to_json()["Resources"][sg_id]["Properties"]
    assert group["SecurityGroupIngress"] == [
        {
            "CidrIp": config.environment(title.lower()).vpc_cidr,
            "Description": "HTTPS from the VPC to the AWS API endpoints",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    # No egress (CDK's "disallow all" placeholder) and no ingress rule added elsewhere.
    assert len(group["SecurityGroupEgress"]) == 1
    assert group["SecurityGroupEgress"][0]["CidrIp"] == "255.255.255.255/32"
    template.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)
    template.resource_count_is("AWS::EC2::SecurityGroup", 1)


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_flow_logs_go_to_a_kms_encrypted_log_group_with_the_configured_retention(
    synthesized: SynthesizedApp, config: Config, title: str
) -> None:
    stack = network_stack(synthesized, title)
    environment = config.environment(title.lower())
    template = synthesized.template(f"{title}-Network")
    vpc_id = logical_id(stack, stack.network.vpc)
    group_id = logical_id(stack, stack.network.flow_log_group)
    key_id = logical_id(stack, stack.network.flow_log_key)
    group_name = f"/{config.project}/{environment.name}/vpc-flow-logs"
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {
            "ResourceId": {"Ref": vpc_id},
            "ResourceType": "VPC",
            "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": {"Ref": group_id},
        },
    )
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": group_name,
            "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            "RetentionInDays": environment.log_retention_days,
        },
    )
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
                                "Condition": {
                                    "ArnLike": {
                                        "kms:EncryptionContext:aws:logs:arn": (
                                            f"arn:aws:logs:eu-west-1:{environment.account}:log-group:{group_name}"
                                        )
                                    }
                                },
                            }
                        )
                    ]
                )
            },
        },
    )


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_availability_zones_follow_max_azs(synthesized: SynthesizedApp, config: Config, title: str) -> None:
    environment = config.environment(title.lower())
    template = synthesized.template(f"{title}-Network")
    subnets = template.find_resources("AWS::EC2::Subnet").values()
    zones = {subnet["Properties"]["AvailabilityZone"] for subnet in subnets}
    assert len(zones) == environment.max_azs
    assert len(subnets) == 2 * environment.max_azs  # one load balancer and one task subnet per AZ
    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": environment.vpc_cidr})


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_the_configuration_knows_the_task_subnet_size(synthesized: SynthesizedApp, config: Config, title: str) -> None:
    """config/settings.py bounds desired_count from the subnet size; it must be the size CDK builds."""
    environment = config.environment(title.lower())
    subnets = synthesized.template(f"{title}-Network").find_resources("AWS::EC2::Subnet").values()
    prefixes = {int(subnet["Properties"]["CidrBlock"].split("/")[1]) for subnet in subnets}
    vpc_prefix = int(environment.vpc_cidr.split("/")[1])
    assert prefixes == {vpc_prefix + (2 * environment.max_azs - 1).bit_length()}


def test_the_configuration_counts_every_non_task_address_in_a_task_subnet() -> None:
    """One interface per endpoint, one for the lifecycle hook, one spare."""
    assert len(DEFAULT_INTERFACE_ENDPOINTS) + 2 == ADDRESSES_BESIDES_TASKS


@pytest.mark.parametrize("title", ENVIRONMENTS)
def test_default_security_group_is_stripped_of_its_rules(synthesized: SynthesizedApp, title: str) -> None:
    stack = network_stack(synthesized, title)
    template = synthesized.template(f"{title}-Network")
    vpc_id = logical_id(stack, stack.network.vpc)
    template.has_resource_properties(
        "Custom::VpcRestrictDefaultSG", {"DefaultSecurityGroupId": {"Fn::GetAtt": [vpc_id, "DefaultSecurityGroup"]}}
    )


def test_service_stacks_get_typed_subnet_selections(synthesized: SynthesizedApp) -> None:
    network = network_stack(synthesized, "Prod").network
    assert network.task_subnets.subnet_type == ec2.SubnetType.PRIVATE_ISOLATED
    assert network.load_balancer_subnets.subnet_type == ec2.SubnetType.PUBLIC
    assert len(network.vpc.isolated_subnets) == len(network.vpc.public_subnets) == 3
    assert network.vpc.private_subnets == []  # no PRIVATE_WITH_EGRESS subnets: nothing could route out


def probe_stack(outdir: Path) -> cdk.Stack:
    return cdk.Stack(new_app(str(outdir)), "Probe", env=cdk.Environment(account="222222222222", region="eu-west-1"))


def build_probe(stack: cdk.Stack, **overrides: Any) -> PrivateNetwork:
    arguments: dict[str, Any] = {
        "cidr": "10.10.0.0/20",
        "max_azs": 2,
        "flow_log_group_name": "/probe/flow-logs",
        "flow_log_retention": logs.RetentionDays.ONE_WEEK,
        "image_repository_arns": ["arn:aws:ecr:eu-west-1:111111111111:repository/probe"],
        **overrides,
    }
    return PrivateNetwork(stack, "Network", **arguments)


def test_interface_endpoints_are_a_typed_argument(tmp_path: Path) -> None:
    stack = probe_stack(tmp_path)
    ssm_messages = InterfaceEndpoint(
        construct_id="SsmMessagesEndpoint",
        service=ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
        policy=EndpointPolicy.ACCOUNT,
        without_it="ECS Exec cannot open a session to the container.",
    )
    network = build_probe(stack, interface_endpoints=(*DEFAULT_INTERFACE_ENDPOINTS, ssm_messages))
    assert set(network.interface_endpoints) == {spec.construct_id for spec in DEFAULT_INTERFACE_ENDPOINTS} | {
        "SsmMessagesEndpoint"
    }
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::VPCEndpoint", len(DEFAULT_ENDPOINTS) + 2)  # + ssmmessages + S3
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint", {"ServiceName": "com.amazonaws.eu-west-1.ssmmessages", "PrivateDnsEnabled": True}
    )
    # AWS documents no endpoint policy support for CodeDeploy: it keeps the default policy.
    (codedeploy,) = endpoint_resources(template, "codedeploy").values()
    assert "PolicyDocument" not in codedeploy["Properties"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_azs": 1}, "max_azs must be at least 2"),
        ({"endpoint_azs": 0}, r"endpoint_azs must be from 1 to max_azs \(2\), got 0"),
        ({"endpoint_azs": 3}, r"endpoint_azs must be from 1 to max_azs \(2\), got 3"),
        ({"image_repository_arns": []}, "needs at least one repository ARN"),
        ({"interface_endpoints": (DEFAULT_INTERFACE_ENDPOINTS[0],) * 2}, "construct ids must be unique"),
    ],
)
def test_unusable_arguments_are_refused(tmp_path: Path, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_probe(probe_stack(tmp_path), **overrides)
