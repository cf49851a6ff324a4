"""components/handler_function.py: a handler folder's function, with its own encrypted log group and role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from components.handler_function import RUNTIME, InVpc, add_handler_function
from tests.support import ROOT, logical_id, new_app

HANDLER_DIR = ROOT / "pipelines" / "bake_check"


def probe(tmp_path: Path, **options: Any) -> tuple[cdk.Stack, Any]:
    """A stack with one handler function; ``in_vpc`` builds the VPC it runs in (its groups given)."""
    stack = cdk.Stack(new_app(str(tmp_path)), "Probe", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    if options.pop("in_vpc", False):
        vpc = ec2.Vpc(
            stack,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="Tasks", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        )
        group = ec2.SecurityGroup(stack, "Group", vpc=vpc)
        subnets = ec2.SubnetSelection(subnet_group_name="Tasks")
        options["in_vpc"] = InVpc(vpc=vpc, subnets=subnets, security_groups=(group,))
    handler = add_handler_function(
        stack,
        function_name="probe-handler",
        handler_dir=HANDLER_DIR,
        description="A probe of the handler function helper",
        role_description="The probe's role",
        timeout=cdk.Duration.minutes(1),
        memory_size=128,
        environment={"NAME": "value"},
        log_key=kms.Key(stack, "Key"),
        log_retention=logs.RetentionDays.ONE_YEAR,
        **options,
    )
    return stack, handler


def test_the_resources_keep_the_ids_of_their_first_release(tmp_path: Path) -> None:
    stack, handler = probe(tmp_path)
    assert [handler.log_group.node.id, handler.role.node.id, handler.function.node.id] == ["Logs", "Role", "Function"]
    assert handler.function.node.scope is stack


def test_the_function_logs_to_its_own_encrypted_group_and_its_role_may_only_write_there(tmp_path: Path) -> None:
    stack, handler = probe(tmp_path)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/aws/lambda/probe-handler", "RetentionInDays": 365, "KmsKeyId": Match.any_value()},
    )
    template.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Delete"})
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "probe-handler",
            "Handler": "handler.handler",
            "Runtime": RUNTIME.name,
            "MemorySize": 128,
            "Timeout": 60,
            "Environment": {"Variables": {"NAME": "value"}},
            "Role": {"Fn::GetAtt": [logical_id(handler.role.node.default_child), "Arn"]},
            "LoggingConfig": {"LogGroup": {"Ref": logical_id(handler.log_group.node.default_child)}},
        },
    )
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert statement["Resource"] == {"Fn::GetAtt": [logical_id(handler.log_group.node.default_child), "Arn"]}
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "lambda.amazonaws.com"}})]}
            ),
            "Description": "The probe's role",
        },
    )


def test_a_function_in_a_vpc_runs_in_the_given_subnets_with_the_given_groups(tmp_path: Path) -> None:
    stack, handler = probe(tmp_path, in_vpc=True, retry_attempts=0)
    group = stack.node.find_child("Group")
    vpc = stack.node.find_child("Vpc")
    assert isinstance(vpc, ec2.Vpc)
    subnets = [{"Ref": logical_id(subnet.node.default_child)} for subnet in vpc.isolated_subnets]
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "VpcConfig": {
                "SecurityGroupIds": [{"Fn::GetAtt": [logical_id(group.node.default_child), "GroupId"]}],
                "SubnetIds": subnets,
            }
        },
    )
    template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 0})
    assert handler.function.node.scope is stack
