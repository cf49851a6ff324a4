"""The CodeBuild project that tests, builds and pushes the service image and writes the release inputs."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.compliance import acknowledge, control_tower
from pipelines.logged_project import logged_project

#: The buildspec is kept in the repository and read from the source revision being built.
BUILDSPEC = "pipelines/buildspec.yml"
#: The variables the buildspec exports to later pipeline actions (``exported-variables``).
EXPORTED_VARIABLES = ("IMAGE_TAG", "IMAGE_URI")


class ImageBuild(Construct):
    """Runs ``pipelines/buildspec.yml``: unit tests, ``docker build``, push ``release-<digest>``, release inputs.

    Privileged mode is on because the build runs the Docker daemon; Docker layers are cached
    on the build host (local ``DOCKER_LAYER`` cache). Build-time settings come from the
    ``parameters`` (Parameter Store), as build variables of type ``PARAMETER_STORE`` named by
    their keys, never from plaintext in the project. Artifacts, logs and the test report are encrypted with ``key``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        repository: ecr.IRepository,
        config_file: str,
        key: kms.IKey,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
        parameters: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.project, self.log_group = logged_project(
            self,
            project_name=project_name,
            description="Tests, builds and pushes the service image and writes the release inputs",
            buildspec=BUILDSPEC,
            build_environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=codebuild.ComputeType.SMALL,
                # Privileged mode runs the Docker daemon that builds the image; nothing else needs it.
                # cdk-nag 3.0.2 has no rule for it (AwsSolutions-CB3 was retired), so the reason lives here
                # and in docs/deploy.md; the scan gate project runs unprivileged.
                privileged=True,
            ),
            variables={
                "REPOSITORY_URI": repository.repository_uri,
                "REPOSITORY_NAME": repository.repository_name,
                "CONFIG_FILE": config_file,
            },
            cache=codebuild.Cache.local(codebuild.LocalCacheMode.DOCKER_LAYER),
            key=key,
            log_key=log_key,
            log_retention=log_retention,
            timeout=cdk.Duration.minutes(30),
            what="the image build",
            parameters=parameters,
        )
        control_tower.skip(
            self.project,
            "CT.CODEBUILD.PR.4",
            "Privileged mode runs the Docker daemon that builds and pushes the service image, which CodeBuild's "
            "standard image cannot do without it; the project runs only this repository's buildspec from the "
            "main branch, and the scan gate project runs unprivileged.",
        )
        # The buildspec's `reports: unit-tests` section writes to the group named `<project>-unit-tests`;
        # creating it here keeps its retention and encryption under review instead of letting CodeBuild make one.
        self.test_reports = codebuild.ReportGroup(
            self,
            "UnitTestReports",
            report_group_name=f"{project_name}-unit-tests",
            type=codebuild.ReportGroupType.TEST,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.test_reports.grant_write(self.project)
        acknowledge(
            self.project.role,  # type: ignore[arg-type]
            "AwsSolutions-IAM5[Resource::*]",
            "The ecr:GetAuthorizationToken action has no resource-level permissions, and docker login needs it; "
            "pushing and pulling stay limited to the service's repository.",
        )
        repository.grant_pull_push(self.project)
        # buildspec.yml asks whether the release tag is already there before pushing (a retried
        # release of the same commit), because tags are immutable and a second push would fail.
        repository.grant(self.project, "ecr:DescribeImages")
