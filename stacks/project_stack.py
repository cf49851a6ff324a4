"""The base of every stack: environment from the configuration, tags, prod protection."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from bootstrap.permissions_boundary import BOUNDARY_NAME
from components.naming import Names
from config import Config, EnvironmentConfig

#: The environment name of the stacks in the tools account.
TOOLS = "tools"


class ProjectStack(cdk.Stack):
    """A stack pinned to one account and the configured region.

    ``environment`` is the target environment the stack belongs to; without one, the stack
    belongs to the tools account.

    Every resource in it carries the ``project``, ``environment`` and ``owner`` tags, and a
    stack of the prod environment cannot be deleted by accident (termination protection).

    Its lookup role is the project's template reader of its account, not the CDK bootstrap
    lookup role: ``cdk diff --method=template`` reads the deployed template through the lookup
    role, and pull requests run it (components/github_oidc/template_reader.py). No stack does a
    context lookup at synth time (the availability zones come from the configuration:
    ``NetworkStack.availability_zones``). The pipeline's ``cdk deploy --method=execute-change-set``
    tries it too and, unable to assume it, reads with the deploy role in a target account and with
    the project's own role in the tools account (``CdkCliProject.grant_template_read``); the prod
    review reads the deployed templates itself (release_guard/environment_deploy.py).

    A stack of a target account gives every IAM role in it the permissions boundary its account's
    CloudFormation execution role carries (bootstrap/permissions_boundary.py): that role may create
    no role without it. ``permissions_boundary`` is CDK's ``@aws-cdk/core:permissionsBoundary`` for
    the stack's scope, which also reaches the roles CDK creates itself (custom-resource providers)
    (https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk/PermissionsBoundary.html). The tools
    account is bootstrapped without a boundary, and its stacks carry none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        environment: EnvironmentConfig | None = None,
        description: str,
        **kwargs: Any,
    ) -> None:
        account = environment.account if environment else config.accounts.tools
        environment_name = environment.name if environment else TOOLS
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=account, region=config.region),
            description=description,
            termination_protection=environment_name == "prod",
            synthesizer=cdk.DefaultStackSynthesizer(
                lookup_role_arn=f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{Names(config).template_reader_role}"
            ),
            # Stack tags: CDK tags every taggable resource with them, and CloudFormation tags
            # the stack itself and what it creates for resources that CDK cannot tag.
            tags={"project": config.project, "environment": environment_name, "owner": config.owner},
            permissions_boundary=cdk.PermissionsBoundary.from_name(BOUNDARY_NAME) if environment else None,
            **kwargs,
        )
        self.config = config
        self.environment_name = environment_name
