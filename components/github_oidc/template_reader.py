"""The role a pull request's ``cdk diff`` reads deployed templates through, one per account.

Why it exists: a ``pull_request`` workflow runs the workflow file of the pull request's branch,
so whoever can push a branch decides what a job with the pull-request token does. The CDK
bootstrap lookup role has ``ReadOnlyAccess`` (every resource configuration of the account,
objects in buckets without KMS encryption, ...), so it must not be reachable from that token.

``cdk diff --method=template`` of the pinned CLI (aws-cdk 2.1148.1) reads the deployed
template through the stack's *lookup role* as the cloud assembly names it
(``Deployments.readCurrentTemplateWithNestedStacks`` -> ``accessStackForLookupBestEffort``
in ``node_modules/aws-cdk/lib/index.js``): it assumes that role, reads the bootstrap version
from the SSM parameter the assembly names, then calls ``DescribeStacks`` and ``GetTemplate``
(``CloudFormationStack.lookup``). Every project stack names this role as its lookup role
(``stacks/project_stack.py``), so that is all the role allows: those two CloudFormation reads
on the project's own stacks in its account, and ``ssm:GetParameter`` on the bootstrap version
parameter. ``GetTemplate`` and ``DescribeStacks`` take the ``stack`` resource type (Service
Authorization Reference, "Actions, resources, and condition keys for AWS CloudFormation").
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from components.compliance import acknowledge, acknowledge_inline_policies
from components.github_oidc.bootstrap_roles import BOOTSTRAP_QUALIFIER

#: The CloudFormation reads ``cdk diff --method=template`` makes through the lookup role.
TEMPLATE_READ_ACTIONS: tuple[str, ...] = ("cloudformation:DescribeStacks", "cloudformation:GetTemplate")
#: The parameter the CLI reads through the lookup role to check the bootstrap version.
BOOTSTRAP_VERSION_PARAMETER = f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version"


def stack_arn(stack_name: str, *, account: str, region: str) -> str:
    """``arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/*``: the stack, whatever its id suffix."""
    return f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/*"


def bootstrap_version_parameter_arn(*, account: str, region: str) -> str:
    return f"arn:aws:ssm:{region}:{account}:parameter{BOOTSTRAP_VERSION_PARAMETER}"


class TemplateReaderRole(Construct):
    """A role that can read the templates and stack metadata of the given stacks, nothing else.

    Trusted by the given roles only (the GitHub ``diff`` roles of the tools account); sessions
    last at most one hour, like the GitHub roles it is chained from.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        trusted_role_arns: Sequence[str],
        stack_names: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        if not trusted_role_arns:
            raise ValueError(f"template reader {role_name!r}: expected at least one role to trust")
        if not stack_names:
            raise ValueError(f"template reader {role_name!r}: expected at least one stack to read")
        stack = cdk.Stack.of(self)
        account, region = stack.account, stack.region
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description="cdk diff --method=template for pull requests: reads this project's stack templates only",
            assumed_by=iam.CompositePrincipal(*(iam.ArnPrincipal(arn) for arn in trusted_role_arns)),
            max_session_duration=cdk.Duration.hours(1),
            inline_policies={
                "ReadProjectTemplates": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="ReadProjectStackTemplates",
                            actions=list(TEMPLATE_READ_ACTIONS),
                            resources=[stack_arn(name, account=account, region=region) for name in sorted(stack_names)],
                        ),
                        iam.PolicyStatement(
                            sid="ReadCdkBootstrapVersion",
                            actions=["ssm:GetParameter"],
                            resources=[bootstrap_version_parameter_arn(account=account, region=region)],
                        ),
                    ]
                )
            },
        )
        # Its only permissions, two reads of this project's stacks, are written into the role.
        acknowledge_inline_policies(self.role)
        for name in sorted(stack_names):
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::{stack_arn(name, account=account, region=region)}]",
                f"The wildcard is the id CloudFormation appends to the stack {name} when it creates it, so the "
                "statement names exactly one stack of this project, whichever copy of it is deployed.",
            )
