"""The CodeBuild project of the scan gate: waits for the ECR scan of the pushed image and judges it."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from pipelines.logged_project import logged_project

#: Runs ``pipelines/scan_gate.py`` from the source revision being released.
BUILDSPEC = "pipelines/scan_buildspec.yml"


class ScanGateProject(Construct):
    """A small, unprivileged project that may only read the scan results of ``repository``.

    The image tag to judge arrives as the ``IMAGE_TAG`` environment variable, set by the
    pipeline action from the build's exported variables; the threshold is
    ``fail_severity`` (config.pipeline.scan_fail_severity).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
        repository: ecr.IRepository,
        fail_severity: str,
        key: kms.IKey,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.project, self.log_group = logged_project(
            self,
            project_name=project_name,
            description="Stops the release if the pushed image has findings at or above the configured severity",
            buildspec=BUILDSPEC,
            build_environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0, compute_type=codebuild.ComputeType.SMALL
            ),
            variables={"REPOSITORY_NAME": repository.repository_name, "SCAN_FAIL_SEVERITY": fail_severity},
            key=key,
            log_key=log_key,
            log_retention=log_retention,
            timeout=cdk.Duration.minutes(20),
            what="the scan gate",
        )
        repository.grant(self.project, "ecr:DescribeImageScanFindings", "ecr:DescribeImages")
