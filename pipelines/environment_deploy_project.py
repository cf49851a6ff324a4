"""A CodeBuild project that runs the CDK CLI against one account through that account's CDK bootstrap roles.

One project per account and purpose (the tools account's self-update, each environment's
infrastructure deploy, prod's review), so that each role reaches one account and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.compliance import acknowledge
from components.github_oidc.template_reader import TEMPLATE_READ_ACTIONS, stack_arn
from pipelines.logged_project import logged_project


class BootstrapRole(Enum):
    """The CDK bootstrap roles, by the ARN template CDK's own DefaultStackSynthesizer uses."""

    #: Creates and executes change sets (CloudFormation then acts as the execution role).
    DEPLOY = cdk.DefaultStackSynthesizer.DEFAULT_DEPLOY_ROLE_ARN
    #: Uploads file assets (the Lambda handlers' code, large templates) to the bootstrap bucket.
    FILE_PUBLISHING = cdk.DefaultStackSynthesizer.DEFAULT_FILE_ASSET_PUBLISHING_ROLE_ARN
    #: Read only (``ReadOnlyAccess``): the deploy reads each change set through it (DescribeChangeSet,
    #: release_guard/change_set.py) and the prod review each deployed template (GetTemplate). The CLI
    #: itself reads deployed templates through the stack's lookup role as the assembly names it, the
    #: project's template reader (stacks/project_stack.py), not this one.
    LOOKUP = cdk.DefaultStackSynthesizer.DEFAULT_LOOKUP_ROLE_ARN


def bootstrap_role_arn(role: BootstrapRole, *, account: str, region: str) -> str:
    """The ARN of one bootstrap role of ``account`` (default qualifier, as ``cdk bootstrap`` creates it)."""
    return (
        role.value.replace("${AWS::Partition}", "aws")
        .replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
        .replace("${Qualifier}", cdk.DefaultStackSynthesizer.DEFAULT_QUALIFIER)
    )


class CdkCliProject(Construct):
    """Runs ``buildspec`` (from the source revision) whose CDK CLI may assume ``roles`` of ``account`` only.

    The CLI deploys from the cloud assembly the Synth action wrote (the action's second input),
    so the project needs no synth and no credentials beyond the bootstrap roles: the deploy role
    creates and runs the change sets, CloudFormation acts as the bootstrap execution role (under
    its permissions boundary, docs/deploy.md), and the file-publishing role uploads the assets.
    No container image is an asset of the app, so the image-publishing role is left out.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        description: str,
        buildspec: str,
        account: str,
        region: str,
        roles: Sequence[BootstrapRole],
        variables: Mapping[str, str],
        timeout: cdk.Duration,
        key: kms.IKey,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.account = account
        self.role_arns = [bootstrap_role_arn(role, account=account, region=region) for role in roles]
        self.project, self.log_group = logged_project(
            self,
            project_name=project_name,
            description=description,
            buildspec=buildspec,
            build_environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0, compute_type=codebuild.ComputeType.SMALL
            ),
            variables=variables,
            key=key,
            log_key=log_key,
            log_retention=log_retention,
            timeout=timeout,
            what=f"the CDK CLI project {project_name}",
        )
        self.project.add_to_role_policy(
            iam.PolicyStatement(
                sid="AssumeThisAccountsBootstrapRoles", actions=["sts:AssumeRole"], resources=self.role_arns
            )
        )

    def grant_template_read(self, stack_names: Sequence[str]) -> None:
        """Let the CLI read the deployed templates of ``stack_names`` (this account's) with the project's own role.

        Needed where the project runs in the account it deploys to (the tools account's stacks).
        ``cdk deploy --method=execute-change-set`` reads the deployed template before it executes
        (node_modules/aws-cdk/lib/index.js, toolkit-lib ``deploy``: ``readCurrentTemplateWithNestedStacks``
        -> ``accessStackForLookupBestEffort``) through the lookup role the assembly names, the
        project's template reader (stacks/project_stack.py), which trusts only the GitHub diff roles.
        When that assume fails with credentials of the right account, the CLI warns "... but are for
        the right account. Proceeding anyway." and reads with those credentials (``forEnvironment``,
        ``baseCreds.source === "correctDefault"``): the project's role. ``DescribeStacks`` and
        ``GetTemplate`` (``CloudFormationStack.lookup``) on exactly these stacks are all it needs: the
        bootstrap-version read from SSM happens only when the lookup role was assumed
        (``accessStackForLookup``: ``lookupEnv.didAssumeRole``).
        """
        if not stack_names:
            raise ValueError(f"{self.node.path}: expected at least one stack whose template the CLI reads")
        stack = cdk.Stack.of(self)
        arns = [stack_arn(name, account=self.account, region=stack.region) for name in stack_names]
        self.project.add_to_role_policy(
            iam.PolicyStatement(sid="ReadDeployedStackTemplates", actions=list(TEMPLATE_READ_ACTIONS), resources=arns)
        )
        for name, arn in zip(stack_names, arns, strict=True):
            acknowledge(
                self.project.role,  # type: ignore[arg-type]
                f"AwsSolutions-IAM5[Resource::{arn}]",
                f"The wildcard is the id CloudFormation appends to the stack {name} when it creates it, so the "
                "statement names exactly one stack this project deploys, whichever copy of it is deployed.",
            )
