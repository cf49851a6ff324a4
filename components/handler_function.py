"""A Lambda function from a folder of plain Python (``handler.py``), with its own encrypted log group and role.

The test-traffic hook (components/ecs_blue_green/lifecycle_hook.py) and the pipeline's health
bake (pipelines/health_bake.py) are built this way. :func:`add_handler_function` adds the three
resources directly to the caller's construct, as ``Logs``, ``Role`` and ``Function``: the ids
those constructs have had since their first release, so that deployed stacks keep them (a new
path segment would replace the function, its role and its log group).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

#: The Lambda runtime of every handler of the project (standard library and boto3 only).
RUNTIME = lambda_.Runtime.PYTHON_3_14


@dataclass(frozen=True)
class HandlerFunction:
    log_group: logs.LogGroup
    role: iam.Role
    function: lambda_.Function


@dataclass(frozen=True)
class InVpc:
    """Where a function that must reach private resources runs."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_groups: tuple[ec2.ISecurityGroup, ...]


def add_handler_function(
    scope: Construct,
    *,
    function_name: str,
    handler_dir: Path,
    description: str,
    role_description: str,
    timeout: cdk.Duration,
    memory_size: int,
    environment: Mapping[str, str],
    log_key: kms.IKey,
    log_retention: logs.RetentionDays,
    role_name: str | None = None,
    in_vpc: InVpc | None = None,
    retry_attempts: int | None = None,
) -> HandlerFunction:
    """``handler_dir/handler.py``'s ``handler`` as ``function_name``, logging to ``/aws/lambda/<function_name>``.

    The log group is created with the function, encrypted with ``log_key`` and deleted with the
    stack; the role may write to that log group and nothing else until the caller grants more.
    """
    log_group = logs.LogGroup(
        scope,
        "Logs",
        log_group_name=f"/aws/lambda/{function_name}",
        encryption_key=log_key,
        retention=log_retention,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    role = iam.Role(
        scope,
        "Role",
        role_name=role_name,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=role_description,
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        "Function",
        function_name=function_name,
        description=description,
        runtime=RUNTIME,
        handler="handler.handler",
        code=lambda_.Code.from_asset(str(handler_dir), exclude=["test_*.py", "__pycache__"]),
        timeout=timeout,
        memory_size=memory_size,
        role=role,
        log_group=log_group,
        retry_attempts=retry_attempts,
        vpc=in_vpc.vpc if in_vpc else None,
        vpc_subnets=in_vpc.subnets if in_vpc else None,
        security_groups=list(in_vpc.security_groups) if in_vpc else None,
        environment=dict(environment),
    )
    return HandlerFunction(log_group=log_group, role=role, function=function)
