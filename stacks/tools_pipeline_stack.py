"""The tools account: image repository, artifact store, builds and the release pipeline (stack Tools-Pipeline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from components.ecs_blue_green.codedeploy_release import DEPLOYMENT_CONFIGS
from components.naming import Names
from config import TARGET_ENVIRONMENTS, Config, EnvironmentConfig
from config.settings import INFRASTRUCTURE_DEPLOY_MINUTES
from pipelines.artifact_store import ArtifactStore
from pipelines.environment_deploy_project import BootstrapRole, CdkCliProject
from pipelines.health_bake import HealthBake
from pipelines.image_build import ImageBuild
from pipelines.image_repository import ImageRepository
from pipelines.release_notifications import ReleaseNotifications
from pipelines.release_pipeline import DeployTarget, GithubSource, ReleasePipeline
from pipelines.scan_gate_project import ScanGateProject
from pipelines.stage_conditions import StageSafety, Window
from pipelines.synth_project import SynthProject
from stacks import names as stack_names
from stacks.project_stack import ProjectStack

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
#: UpdatePipeline and each Infrastructure action run this (release_guard/environment_deploy.py).
INFRASTRUCTURE_BUILDSPEC = "pipelines/infrastructure_buildspec.yml"
#: The prod review: a read-only diff whose findings the approval shows.
REVIEW_BUILDSPEC = "pipelines/review_buildspec.yml"
#: What the CLI needs to deploy: change sets (deploy), the Lambda handlers' code (file publishing),
#: reading the change sets before they run (lookup). The review reads the deployed templates only.
DEPLOY_ROLES = (BootstrapRole.DEPLOY, BootstrapRole.FILE_PUBLISHING, BootstrapRole.LOOKUP)
REVIEW_ROLES = (BootstrapRole.LOOKUP,)
#: The stacks UpdatePipeline deploys (``environment_deploy --environment tools``).
TOOLS_STACKS = (stack_names.GITHUB_OIDC, stack_names.PIPELINE_ROLE, stack_names.PIPELINE)
# A year: the build logs are the audit trail of what was built and released, and AWS Control
# Tower's CT.CLOUDWATCH.PR.2 asks for at least 365 days.
BUILD_LOG_RETENTION = logs.RetentionDays.ONE_YEAR


def infrastructure_timeout_minutes(environment: EnvironmentConfig) -> int:
    """The Infrastructure action's CodeBuild timeout: the stacks, plus the ECS release CloudFormation waits for."""
    release = environment.ecs_release if environment.release_controller == "ecs" else None
    return INFRASTRUCTURE_DEPLOY_MINUTES + (release.longest_minutes if release else 0)


#: The build variable the pip index URL arrives in (type PARAMETER_STORE; pip reads it by this name).
PIP_INDEX_VARIABLE = "PIP_INDEX_URL"


def build_parameter_name(config: Config) -> str:
    """The Parameter Store name of the pip index the image build and the synth read (see docs/deploy.md)."""
    return f"/{config.project}/build/pip-index-url"


def repository_config_path(config: Config) -> str:
    """The configuration file as the build sees it: relative to the repository root (``config/<file>`` otherwise)."""
    path = Path(config.source).resolve()
    if path.is_relative_to(REPOSITORY_ROOT):
        return path.relative_to(REPOSITORY_ROOT).as_posix()
    return f"config/{path.name}"


class ToolsPipelineStack(ProjectStack):
    """Everything the release needs in the tools account. Deployed first: the deploy roles trust its pipeline role."""

    def __init__(self, scope: Construct, construct_id: str, *, config: Config, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            config=config,
            description="Release pipeline, image repository and artifact store in the tools account",
            **kwargs,
        )
        names = Names(config)
        environments = [config.environment(name) for name in TARGET_ENVIRONMENTS]
        target_accounts = [environment.account for environment in environments]
        codedeploy_accounts = [e.account for e in environments if e.release_controller == "codedeploy"]

        self.images = ImageRepository(
            self,
            "Images",
            repository_name=names.ecr_repository,
            puller_accounts=target_accounts,
            puller_role_arns=[names.role_arn(account, names.execution_role) for account in target_accounts],
            release_images_to_keep=config.pipeline.release_images_to_keep,
        )
        self.artifacts = ArtifactStore(
            self,
            "Artifacts",
            bucket_name=names.artifact_bucket,
            key_alias=names.artifact_key_alias,
            retention_days=config.pipeline.artifact_retention_days,
            # Only a CodeDeploy release reads artifacts from another account (pipelines/deploy_role.py).
            reader_accounts=codedeploy_accounts,
            reader_role_arns=[names.role_arn(account, names.deploy_role) for account in codedeploy_accounts],
        )
        self.notifications = ReleaseNotifications(
            self,
            "Notifications",
            key_alias=f"alias/{config.project}-release-notifications",
            email=config.pipeline.approval_email,
        )
        build_parameters = self._build_pip_index(config)
        self.build = ImageBuild(
            self,
            "ImageBuild",
            project_name=f"{config.project}-image-build",
            repository=self.images.repository,
            config_file=repository_config_path(config),
            key=self.artifacts.key,
            log_key=self.notifications.key,
            log_retention=BUILD_LOG_RETENTION,
            parameters=build_parameters,
        )
        self.scan_gate = ScanGateProject(
            self,
            "ScanGate",
            project_name=f"{config.project}-scan-gate",
            repository=self.images.repository,
            fail_severity=config.pipeline.scan_fail_severity,
            key=self.artifacts.key,
            log_key=self.notifications.key,
            log_retention=BUILD_LOG_RETENTION,
        )
        self.synth = SynthProject(
            self,
            "Synth",
            project_name=f"{config.project}-synth",
            config_file=repository_config_path(config),
            key=self.artifacts.key,
            log_key=self.notifications.key,
            log_retention=BUILD_LOG_RETENTION,
            parameters=build_parameters,
        )
        self._add_deploy_projects(config, environments)
        self.bakes = self._build_bakes(config, environments)
        self.release = ReleasePipeline(
            self,
            "Release",
            pipeline_name=names.pipeline,
            role=iam.Role.from_role_arn(
                self, "PipelineRole", names.role_arn(config.accounts.tools, names.pipeline_role), mutable=True
            ),
            artifact_store=self.artifacts,
            source=GithubSource(
                connection_arn=config.pipeline.connection_arn,
                owner=config.github.owner,
                repo=config.github.repo,
                branch=config.github.branch,
            ),
            build_project=self.build.project,
            synth_project=self.synth.project,
            scan_project=self.scan_gate.project,
            update_project=self.update_pipeline.project,
            targets_in_order=[self._deploy_target(config, environment) for environment in environments],
            topic=self.notifications.topic,
        )
        for bake in self.bakes.values():
            bake.grant_invoke_to(self.release.role)

    def _build_pip_index(self, config: Config) -> dict[str, str]:
        """The package index parameter, and the build variables (type PARAMETER_STORE) that read it.

        The image build and the synth get it by this name, which the configuration's project gives:
        no buildspec names the project.
        """
        self.pip_index = ssm.StringParameter(
            self,
            "PipIndexUrl",
            parameter_name=build_parameter_name(config),
            string_value="https://pypi.org/simple",
            description="Python package index the build installs test dependencies from",
        )
        return {PIP_INDEX_VARIABLE: build_parameter_name(config)}

    def _add_deploy_projects(self, config: Config, environments: list[EnvironmentConfig]) -> None:
        """The CDK CLI projects: UpdatePipeline, and each environment's Infrastructure (and prod's Review)."""
        # Self-mutation deploys the tools account's stacks; each target account's stacks, its
        # <Env>-DeployRole included, are deployed by that environment's stage (after prod's approval).
        self.update_pipeline = self._cdk_cli_project(
            "UpdatePipeline",
            config=config,
            name="update-pipeline",
            description="Deploys the tools account's stacks from the assembly: the pipeline updates itself",
            account=config.accounts.tools,
            environment="tools",
            roles=DEPLOY_ROLES,
            timeout_minutes=INFRASTRUCTURE_DEPLOY_MINUTES,
        )
        # Its CLI runs in the tools account with that account's own credentials, so when it cannot
        # assume the stacks' lookup role it reads their templates as the project (see grant_template_read).
        self.update_pipeline.grant_template_read(TOOLS_STACKS)
        # One project per environment, so that each reaches that account's bootstrap roles and no other.
        self.infrastructure = {
            environment.name: self._cdk_cli_project(
                f"{environment.title}Infrastructure",
                config=config,
                name=f"deploy-{environment.name}",
                description=f"Deploys {environment.title}'s stacks from the assembly with the release's image tag",
                account=environment.account,
                environment=environment.name,
                roles=DEPLOY_ROLES,
                timeout_minutes=infrastructure_timeout_minutes(environment),
            )
            for environment in environments
        }
        self.reviews = {
            environment.name: self._cdk_cli_project(
                f"{environment.title}Review",
                config=config,
                name=f"review-{environment.name}",
                description=f"Diffs {environment.title}'s stacks against the assembly for the approver, read only",
                account=environment.account,
                environment=environment.name,
                roles=REVIEW_ROLES,
                timeout_minutes=30,
                buildspec=REVIEW_BUILDSPEC,
            )
            for environment in environments
            if environment.is_production
        }

    def _build_bakes(self, config: Config, environments: list[EnvironmentConfig]) -> dict[str, HealthBake]:
        names = Names(config)
        # One bake function per environment that bakes, reading that account's alarms (docs/deploy.md).
        return {
            environment.name: HealthBake(
                self,
                f"{environment.title}Bake",
                function_name=names.bake_function(environment.name),
                environment_name=environment.name,
                region=config.region,
                alarm_reader_role_arn=names.role_arn(environment.account, names.alarm_reader_role),
                alarm_names=names.bake_alarms(environment),
                bake_minutes=environment.bake_minutes,
                log_key=self.notifications.key,
                log_retention=BUILD_LOG_RETENTION,
            )
            for environment in environments
            if environment.bake_minutes
        }

    def _deploy_target(self, config: Config, environment: EnvironmentConfig) -> DeployTarget:
        """One environment's deploy stage: its account, controller, projects and conditions."""
        names = Names(config)
        return DeployTarget(
            title=environment.title,
            stage_name=Names.deploy_stage(environment),
            account=environment.account,
            region=config.region,
            application_name=names.codedeploy_application,
            deployment_group_name=names.deployment_group,
            deployment_config=DEPLOYMENT_CONFIGS[environment.deployment_config],
            deploy_role_arn=names.role_arn(environment.account, names.deploy_role),
            release_folder=f"release/{environment.name}",
            infrastructure_project=self.infrastructure[environment.name].project,
            needs_approval=environment.is_production,
            review_project=(self.reviews[environment.name].project if environment.name in self.reviews else None),
            released_by_codedeploy=environment.release_controller == "codedeploy",
            safety=StageSafety(
                rollback_on_failure=environment.rollback_on_failure,
                bake_function_name=(names.bake_function(environment.name) if environment.name in self.bakes else None),
                window=(
                    Window(cron=window.cron, time_zone=window.time_zone)
                    if (window := environment.deployment_window)
                    else None
                ),
            ),
        )

    def _cdk_cli_project(
        self,
        construct_id: str,
        *,
        config: Config,
        name: str,
        description: str,
        account: str,
        environment: str,
        roles: tuple[BootstrapRole, ...],
        timeout_minutes: int,
        buildspec: str = INFRASTRUCTURE_BUILDSPEC,
    ) -> CdkCliProject:
        return CdkCliProject(
            self,
            construct_id,
            project_name=f"{config.project}-{name}",
            description=description,
            buildspec=buildspec,
            account=account,
            region=config.region,
            roles=roles,
            variables={"ENVIRONMENT": environment},
            timeout=cdk.Duration.minutes(timeout_minutes),
            key=self.artifacts.key,
            log_key=self.notifications.key,
            log_retention=BUILD_LOG_RETENTION,
        )
