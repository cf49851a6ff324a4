"""Builds the whole app from one configuration: the only wiring between stacks lives here."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import NagPack

from components.compliance import EncryptionAtRestAspect, register_checks
from components.github_oidc import TemplateReaderRole
from components.naming import Names
from config import Config
from stacks import names
from stacks.deploy_role_stack import DeployRoleStack
from stacks.github_oidc_stack import GithubOidcStack
from stacks.network_stack import NetworkStack
from stacks.pipeline_role_stack import PipelineRoleStack
from stacks.service_stack import ServiceStack
from stacks.tools_pipeline_stack import ToolsPipelineStack


def add_delivery_stacks(app: cdk.App, config: Config) -> tuple[ToolsPipelineStack, dict[str, DeployRoleStack]]:
    """The pipeline role, one ``<Env>-DeployRole`` per target account, then ``Tools-Pipeline``.

    Each deploy role's trust policy names the pipeline role, which IAM requires to exist; and
    CodePipeline checks at creation that the pipeline role can assume every deploy role. An
    environment that ECS releases has no deploy role, so its stack needs neither order.
    """
    role_stack = PipelineRoleStack(app, names.PIPELINE_ROLE, config=config)
    deploy_role_stacks = {}
    for environment in config.environments:
        stack = DeployRoleStack(app, names.deploy_role(environment), config=config, environment=environment)
        if stack.deploy_role is not None:
            stack.add_stack_dependency(role_stack, "its trust policy names the pipeline role")
        deploy_role_stacks[environment.name] = stack
    tools_stack = ToolsPipelineStack(app, names.PIPELINE, config=config)
    tools_stack.add_stack_dependency(role_stack, "the pipeline runs as this role")
    for stack in deploy_role_stacks.values():
        if stack.deploy_role is not None:
            tools_stack.add_stack_dependency(stack, "CodePipeline checks that it can assume each deploy role")
    return tools_stack, deploy_role_stacks


def add_environment_stacks(app: cdk.App, config: Config, tools_stack: ToolsPipelineStack) -> None:
    """Per target account, in the order dev, staging, prod: ``<Env>-Network``, then ``<Env>-Service`` on it.

    The service pulls its first image from the tools account's repository, so it comes
    after ``Tools-Pipeline`` (and after that image is pushed: docs/deploy.md). Declared an
    environment at a time, so that the assembly's deploy order keeps each pair together.
    """
    for environment in config.environments:
        network_stack = NetworkStack(app, names.network(environment), config=config, environment=environment)
        stack = ServiceStack(
            app,
            names.service(environment),
            config=config,
            environment=environment,
            network=network_stack.network,
        )
        stack.add_stack_dependency(network_stack, "it runs on this environment's VPC")
        stack.add_stack_dependency(tools_stack, "its tasks pull the image from the tools account's repository")


def add_template_readers(
    app: cdk.App, config: Config, github_stack: GithubOidcStack, deploy_role_stacks: dict[str, DeployRoleStack]
) -> dict[str, TemplateReaderRole]:
    """One template reader per account, by account id, for pull requests' ``cdk diff``.

    It can read the templates of the project's stacks in its account, which are read off the
    app once every stack exists. The tools account's sits beside the GitHub roles, each target
    account's in its ``<Env>-DeployRole`` stack, the stack of roles the tools account assumes.
    """
    trusted = github_stack.template_diff_roles
    if not trusted:
        return {}
    names = Names(config)
    stacks_by_account: dict[str, list[str]] = {}
    for child in app.node.children:
        if isinstance(child, cdk.Stack):
            stacks_by_account.setdefault(child.account, []).append(child.stack_name)
    holders: dict[str, cdk.Stack] = {config.accounts.tools: github_stack}
    for environment in config.environments:
        holder = deploy_role_stacks[environment.name]
        holder.add_stack_dependency(github_stack, "its template reader trusts the github-diff role, which IAM requires")
        holders[environment.account] = holder
    return {
        account: TemplateReaderRole(
            holder,
            "TemplateReader",
            role_name=names.template_reader_role,
            # In its own stack the reference orders the roles; across accounts the stack dependency does.
            trusted_role_arns=[role.role.role_arn for role in trusted.values()]
            if holder is github_stack
            else [names.role_arn(config.accounts.tools, name) for name in trusted],
            stack_names=stacks_by_account[account],
        )
        for account, holder in holders.items()
    }


def build_app(app: cdk.App, config: Config) -> tuple[NagPack, ...]:
    """Add every stack of the reference architectures to ``app`` and register the checks.

    ``app.py`` and the test suite both call this, so what is tested is what is deployed.
    """
    cdk.Aspects.of(app).add(EncryptionAtRestAspect())
    github_stack = GithubOidcStack(app, names.GITHUB_OIDC, config=config)
    tools_stack, deploy_role_stacks = add_delivery_stacks(app, config)
    add_environment_stacks(app, config, tools_stack)
    add_template_readers(app, config, github_stack, deploy_role_stacks)
    return register_checks(app)
