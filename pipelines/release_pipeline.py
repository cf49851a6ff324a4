"""The release pipeline: source, build and scan, then blue/green deployments into each target account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from components.compliance import acknowledge_inline_policies
from components.compliance.cfn_lint import ignore
from components.ecs_blue_green.release_inputs import IMAGE_DEFINITIONS_FILE
from pipelines.artifact_grants import acknowledge_artifact_access, acknowledge_key_use
from pipelines.artifact_store import ArtifactStore
from pipelines.image_build import EXPORTED_VARIABLES
from pipelines.stage_conditions import StageSafety, before_entry, on_failure, on_success

#: The image placeholder in taskdef.json (``<IMAGE1_NAME>``) that the deploy action replaces.
IMAGE_PLACEHOLDER = "IMAGE1_NAME"
#: Pipeline states that reach the notification topic.
NOTIFIED_EXECUTION_STATES = ("FAILED", "SUCCEEDED", "STOPPED")
NOTIFIED_DEPLOY_STATES = ("FAILED", "SUCCEEDED")


@dataclass(frozen=True)
class GithubSource:
    connection_arn: str
    owner: str
    repo: str
    branch: str


@dataclass(frozen=True)
class EcsServiceRelease:
    """An ECS-controlled service: the pipeline gives it a new task definition and ECS releases it."""

    cluster_name: str
    service_name: str
    #: How long the deploy action waits for ECS to finish (1 to 60 minutes, CodePipeline user
    #: guide, action-reference-ECS); the configuration keeps every release inside it.
    timeout_minutes: int


@dataclass(frozen=True)
class DeployTarget:
    """One target account's release controller, and the role the pipeline deploys there as."""

    title: str  # "Dev": used in stage names and construct ids
    account: str
    region: str
    application_name: str
    deployment_group_name: str
    deployment_config: codedeploy.IEcsDeploymentConfig
    deploy_role_arn: str
    release_folder: str  # "release/dev": where the build wrote taskdef.json and appspec.yaml
    needs_approval: bool = False
    #: Set when ECS, not CodeDeploy, releases this environment.
    ecs_service: EcsServiceRelease | None = None
    #: The deploy stage's conditions (pipelines/stage_conditions.py); None: no condition.
    safety: StageSafety | None = None


class ReleasePipeline(Construct):
    """CodePipeline V2: Source -> Build (+ ScanGate) -> Deploy-<Env> ... with an approval before the ones that need it.

    Each deploy action matches the environment's release controller and runs as that
    account's deploy role: a CodeDeploy ECS blue/green deployment into a deployment group, or
    the ECS deploy action, which registers the released image in a new task definition revision
    and updates the service, whose own blue/green, canary or linear strategy then runs. The role is imported by ARN and
    immutable: given a role object, ``CodeDeployEcsDeployAction`` would add its own grants
    (``iam:PassRole`` on ``*``) to it, and the target side grants exactly what a release needs
    (pipelines/deploy_role.py). Execution outcomes and deploy action outcomes go to ``topic``.
    Each deploy stage carries the conditions of its target's ``safety`` (pipelines/stage_conditions.py):
    a window before entry, a bake on success, a rollback on failure.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        role: iam.IRole,
        artifact_store: ArtifactStore,
        source: GithubSource,
        build_project: codebuild.PipelineProject,
        scan_project: codebuild.PipelineProject,
        targets_in_order: Sequence[DeployTarget],
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        # Created by Tools-PipelineRole and imported mutable: its grants become policies here.
        self.role = role
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_type=codepipeline.PipelineType.V2,
            execution_mode=codepipeline.ExecutionMode.SUPERSEDED,
            role=self.role,
            artifact_bucket=artifact_store.pipeline_bucket,
            cross_account_keys=True,
            restart_execution_on_update=False,
        )

        source_output = codepipeline.Artifact("Source")
        build_output = codepipeline.Artifact("Release")
        self.pipeline.add_stage(
            stage_name="Source",
            actions=[
                actions.CodeStarConnectionsSourceAction(
                    action_name="GitHub",
                    role=self._source_role(source.connection_arn),
                    connection_arn=source.connection_arn,
                    owner=source.owner,
                    repo=source.repo,
                    branch=source.branch,
                    output=source_output,
                )
            ],
        )
        build_action = actions.CodeBuildAction(
            action_name="BuildImage",
            project=build_project,
            input=source_output,
            outputs=[build_output],
            variables_namespace="Build",
            run_order=1,
        )
        scan_action = actions.CodeBuildAction(
            action_name="ScanGate",
            project=scan_project,
            input=source_output,
            environment_variables={
                name: codebuild.BuildEnvironmentVariable(value=build_action.variable(name))
                for name in EXPORTED_VARIABLES
            },
            run_order=2,
        )
        self.pipeline.add_stage(stage_name="Build", actions=[build_action, scan_action])

        for target in targets_in_order:
            if target.needs_approval:
                self.pipeline.add_stage(
                    stage_name=f"Approve-{target.title}",
                    actions=[
                        actions.ManualApprovalAction(
                            action_name=f"Approve{target.title}Release",
                            notification_topic=topic,
                            additional_information=(
                                f"The release passed every earlier stage. Approve to deploy it to {target.title} "
                                f"(account {target.account}); reject to stop this release."
                            ),
                        )
                    ],
                )
            safety = target.safety or StageSafety(rollback_on_failure=False)
            self.pipeline.add_stage(
                stage_name=f"Deploy-{target.title}",
                actions=[self._deploy_action(target, build_output)],
                before_entry=before_entry(safety),
                on_success=on_success(safety),
                on_failure=on_failure(safety),
            )

        self._acknowledge_grants(artifact_store, build_project, scan_project)

        self.execution_rule = events.Rule(
            self,
            "ExecutionOutcomes",
            description=f"Release outcomes of {pipeline_name}",
            event_pattern=events.EventPattern(
                source=["aws.codepipeline"],
                detail_type=["CodePipeline Pipeline Execution State Change"],
                detail={"pipeline": [pipeline_name], "state": list(NOTIFIED_EXECUTION_STATES)},
            ),
            targets=[
                targets.SnsTopic(
                    topic,
                    message=events.RuleTargetInput.from_text(
                        f"Release pipeline {events.EventField.from_path('$.detail.pipeline')} execution "
                        f"{events.EventField.from_path('$.detail.execution-id')} "
                        f"{events.EventField.from_path('$.detail.state')}."
                    ),
                )
            ],
        )
        self.deploy_rule = events.Rule(
            self,
            "DeployOutcomes",
            description=f"Blue/green deployment outcomes of {pipeline_name}",
            event_pattern=events.EventPattern(
                source=["aws.codepipeline"],
                detail_type=["CodePipeline Action Execution State Change"],
                detail={
                    "pipeline": [pipeline_name],
                    "type": {"category": ["Deploy"], "provider": ["CodeDeployToECS", "ECS"]},
                    "state": list(NOTIFIED_DEPLOY_STATES),
                },
            ),
            targets=[
                targets.SnsTopic(
                    topic,
                    message=events.RuleTargetInput.from_text(
                        f"Deployment {events.EventField.from_path('$.detail.stage')} of release "
                        f"{events.EventField.from_path('$.detail.execution-id')} "
                        f"{events.EventField.from_path('$.detail.state')}."
                    ),
                )
            ],
        )

    def _source_role(self, connection_arn: str) -> iam.Role:
        """The Source action's role, allowed to use the connection under either service prefix.

        CDK grants ``codestar-connections:UseConnection``; a connection created as
        ``arn:aws:codeconnections:...`` is authorized by ``codeconnections:UseConnection``, so
        the action role gets the action whose prefix matches the ARN as well.
        """
        role = iam.Role(self, "SourceRole", assumed_by=iam.ArnPrincipal(self.role.role_arn))
        self.source_role = role
        prefix = connection_arn.split(":")[2]
        role.add_to_policy(
            iam.PolicyStatement(sid="UseTheConnection", actions=[f"{prefix}:UseConnection"], resources=[connection_arn])
        )
        if prefix == "codeconnections":
            ignore(
                role.node.find_child("DefaultPolicy"),
                "I3510",
                "CDK's own codestar-connections:UseConnection statement names a codeconnections ARN, which "
                "cfn-lint does not expect; the statement above grants the same action under the new prefix.",
            )
        return role

    def _acknowledge_grants(
        self, store: ArtifactStore, build_project: codebuild.PipelineProject, scan_project: codebuild.PipelineProject
    ) -> None:
        """The artifact-store grants CDK adds for the pipeline and its actions (see pipelines/artifact_grants.py)."""
        bucket = store.bucket
        acknowledge_artifact_access(self.role, bucket=bucket, write=True, who="the pipeline role")
        acknowledge_artifact_access(self.source_role, bucket=bucket, write=True, who="the source action")
        acknowledge_artifact_access(build_project.role, bucket=bucket, write=True, who="the image build")  # type: ignore[arg-type]
        acknowledge_artifact_access(scan_project.role, bucket=bucket, write=False, who="the scan gate")  # type: ignore[arg-type]
        for role in (self.role, self.source_role, build_project.role, scan_project.role):
            acknowledge_inline_policies(role)  # type: ignore[arg-type]
        # CDK creates one role per action in this account; the deploy actions use the imported target roles.
        for stage in self.pipeline.stages:
            for action in stage.actions:
                action_scope = self.pipeline.node.find_child(stage.stage_name).node.try_find_child(
                    action.action_properties.action_name
                )
                action_role = action_scope.node.try_find_child("CodePipelineActionRole") if action_scope else None
                if action_role is None:
                    continue
                acknowledge_inline_policies(action_role)
                if action.action_properties.category == codepipeline.ActionCategory.SOURCE:
                    acknowledge_artifact_access(action_role, bucket=bucket, write=True, who="the source action")
                elif action.action_properties.category == codepipeline.ActionCategory.APPROVAL:
                    acknowledge_key_use(
                        action_role,
                        who="the approval action",
                        key="the notification topic's key",
                        actions=("kms:GenerateDataKey*",),
                    )

    def _deploy_action(self, target: DeployTarget, build_output: codepipeline.Artifact) -> codepipeline.IAction:
        # Imported by ARN and immutable: the action cannot attach iam:PassRole on * (or anything else) to it.
        role = iam.Role.from_role_arn(self, f"{target.title}DeployRole", target.deploy_role_arn, mutable=False)
        if target.ecs_service is not None:
            return self._ecs_deploy_action(target, target.ecs_service, build_output, role)
        application = codedeploy.EcsApplication.from_ecs_application_arn(
            self,
            f"{target.title}Application",
            f"arn:aws:codedeploy:{target.region}:{target.account}:application:{target.application_name}",
        )
        deployment_group = codedeploy.EcsDeploymentGroup.from_ecs_deployment_group_attributes(
            self,
            f"{target.title}DeploymentGroup",
            application=application,
            deployment_group_name=target.deployment_group_name,
            deployment_config=target.deployment_config,
        )
        return actions.CodeDeployEcsDeployAction(
            action_name=f"BlueGreen{target.title}",
            deployment_group=deployment_group,
            task_definition_template_file=build_output.at_path(f"{target.release_folder}/taskdef.json"),
            app_spec_template_file=build_output.at_path(f"{target.release_folder}/appspec.yaml"),
            container_image_inputs=[
                actions.CodeDeployEcsContainerImageInput(
                    input=build_output, task_definition_placeholder=IMAGE_PLACEHOLDER
                )
            ],
            role=role,
        )

    def _ecs_deploy_action(
        self, target: DeployTarget, release: EcsServiceRelease, build_output: codepipeline.Artifact, role: iam.IRole
    ) -> actions.EcsDeployAction:
        """The ECS deploy action: a new revision of the service's task definition with the released image.

        The action copies the revision the service runs and replaces the image from
        ``imagedefinitions.json`` (CodePipeline user guide, action-reference-ECS), so the
        revision differs from the last one in its image only; the service's deployment
        configuration (strategy, bake, alarms, hook) governs the release. If ECS takes longer
        than ``timeout_minutes`` the action fails while ECS carries on: docs/ecs-blue-green.md.
        """
        # The long ARN form names the cluster, so the import needs no VPC or cluster object.
        service = ecs.FargateService.from_service_arn_with_cluster(
            self,
            f"{target.title}EcsService",
            f"arn:aws:ecs:{target.region}:{target.account}:service/{release.cluster_name}/{release.service_name}",
        )
        return actions.EcsDeployAction(
            action_name=f"Release{target.title}",
            service=service,
            image_file=build_output.at_path(f"{target.release_folder}/{IMAGE_DEFINITIONS_FILE}"),
            deployment_timeout=cdk.Duration.minutes(release.timeout_minutes),
            role=role,
        )
