"""A CodeBuild project of the pipeline: encrypted artifacts, its own encrypted log group."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.compliance import acknowledge


def logged_project(
    scope: Construct,
    *,
    project_name: str,
    description: str,
    buildspec: str,
    build_environment: codebuild.BuildEnvironment,
    variables: Mapping[str, str],
    key: kms.IKey,
    log_key: kms.IKey,
    log_retention: logs.RetentionDays,
    timeout: cdk.Duration,
    what: str,
    cache: codebuild.Cache | None = None,
    parameters: Mapping[str, str] | None = None,
) -> tuple[codebuild.PipelineProject, logs.LogGroup]:
    """A ``PipelineProject`` (id ``Project``) reading ``buildspec`` from the source, logging to ``Logs``.

    Artifacts are encrypted with ``key`` and the retained log group with ``log_key``; the
    default grants CDK gives every project are acknowledged for it (``what`` names it).
    ``parameters`` (variable name to Parameter Store name) become environment variables of type
    ``PARAMETER_STORE``: the project holds the parameter's name, which the stack derives from the
    configuration, and CodeBuild substitutes the value when a build starts (CodeBuild API reference,
    [EnvironmentVariable](https://docs.aws.amazon.com/codebuild/latest/APIReference/API_EnvironmentVariable.html)),
    so no buildspec names a project-specific parameter. CDK grants the project ``ssm:GetParameters``
    on exactly those parameters; the name is given as a string, not the parameter's ``Ref``, because
    CDK can strip the leading ``/`` of a name only when it knows it at synth time (else the ARN it
    grants would read ``parameter//...`` and match nothing).
    """
    parameters = parameters or {}
    log_group = logs.LogGroup(
        scope, "Logs", encryption_key=log_key, retention=log_retention, removal_policy=cdk.RemovalPolicy.RETAIN
    )
    project = codebuild.PipelineProject(
        scope,
        "Project",
        project_name=project_name,
        description=description,
        build_spec=codebuild.BuildSpec.from_source_filename(buildspec),
        environment=build_environment,
        environment_variables={
            **{name: codebuild.BuildEnvironmentVariable(value=value) for name, value in variables.items()},
            **{
                name: codebuild.BuildEnvironmentVariable(
                    value=parameter_name, type=codebuild.BuildEnvironmentVariableType.PARAMETER_STORE
                )
                for name, parameter_name in parameters.items()
            },
        },
        cache=cache,
        encryption_key=key,
        timeout=timeout,
        logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)),
    )
    acknowledge_default_project_grants(project, what=what)
    return project, log_group


def acknowledge_default_project_grants(project: codebuild.PipelineProject, *, what: str) -> None:
    """The log-group and report-group grants every CodeBuild project gets from CDK, scoped to its own name."""
    stack = cdk.Stack.of(project)
    logical_id = stack.resolve(stack.get_logical_id(project.node.default_child))  # type: ignore[arg-type]
    acknowledge(
        project.role,  # type: ignore[arg-type]
        f"AwsSolutions-IAM5[Resource::arn:aws:logs:{stack.region}:{stack.account}:log-group:/aws/codebuild/<{logical_id}>:*]",
        f"CDK's default grant lets {what} write the log streams of its own /aws/codebuild/<project> group, "
        "whose stream names CodeBuild chooses per build; the build logs go to the encrypted group instead.",
    )
    acknowledge(
        project.role,  # type: ignore[arg-type]
        f"AwsSolutions-IAM5[Resource::arn:aws:codebuild:{stack.region}:{stack.account}:report-group/<{logical_id}>-*]",
        f"CodeBuild names the report groups of {what} after the project, so CDK grants report access to the "
        "groups whose names start with this project's name and no others.",
    )
