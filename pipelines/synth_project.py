"""The CodeBuild project of the Synth action: the cloud assembly, once per commit, and the offline tests."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from pipelines.logged_project import logged_project

#: Runs ``make synth`` and ``make test`` from the source revision being released.
BUILDSPEC = "pipelines/synth_buildspec.yml"


class SynthProject(Construct):
    """An unprivileged project with no AWS permission beyond its logs, artifacts and ``parameters``.

    The synth needs no credentials: the app makes no lookup (availability zones and other
    context are committed in ``cdk.json``), so the assembly depends on the commit alone.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project_name: str,
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
            description="Synthesizes the cloud assembly every later stage deploys, and runs the offline tests",
            buildspec=BUILDSPEC,
            build_environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0, compute_type=codebuild.ComputeType.MEDIUM
            ),
            variables={"CONFIG_FILE": config_file},
            key=key,
            log_key=log_key,
            log_retention=log_retention,
            timeout=cdk.Duration.minutes(60),
            what="the synth",
            parameters=parameters,
        )
