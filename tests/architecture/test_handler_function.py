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
    stack = cdk.Stack(new_app(str(tmp_path)), "Probe", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    key = kms.Key(stack, "Key")
    handler = add_handler_function(
        stack,
        function_name="probe-handler",
        handler_dir=HANDLER_DIR,
        description="A probe of the handler function helper",
        role_description="The probe's role",
        timeout=cdk.Duration.minutes(1),
        memory_size=128,
        environment={"NAME": "value"},
        log_key=key,
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
    app_stack = cdk.Stack(new_app(str(tmp_path / "vpc")), "Net", env=cdk.Environment(account="1", region="eu-west-1"))
    vpc = ec2.Vpc(
        app_stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="Tasks", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    group = ec2.SecurityGroup(app_stack, "Group", vpc=vpc)
    key = kms.Key(app_stack, "Key")
    handler = add_handler_function(
        app_stack,
        function_name="in-vpc",
        handler_dir=HANDLER_DIR,
        description="A probe of the handler function helper in a VPC",
        role_description="The probe's role",
        timeout=cdk.Duration.minutes(1),
        memory_size=128,
        environment={},
        log_key=key,
        log_retention=logs.RetentionDays.ONE_YEAR,
        in_vpc=InVpc(vpc=vpc, subnets=ec2.SubnetSelection(subnet_group_name="Tasks"), security_groups=(group,)),
        retry_attempts=0,
    )
    template = Template.from_stack(app_stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "VpcConfig": {
                "SecurityGroupIds": [{"Fn::GetAtt": [logical_id(group.node.default_child), "GroupId"]}],
                "SubnetIds": Match.any_value(),
            }
        },
    )
    template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 0})
    assert handler.function.node.scope is app_stack
