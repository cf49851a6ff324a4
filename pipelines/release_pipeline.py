"""The one pipeline: source, build + synth + scan, self-update, then each environment's infrastructure and release."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from components.compliance import acknowledge_inline_policies
from components.compliance.cfn_lint import ignore
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
class DeployTarget:
    """One target account's release controller, and the role the pipeline deploys there as."""

    title: str  # "Dev": used in action names and construct ids
    #: "Deploy-Dev": ``Names.deploy_stage``, the one spelling ``make deploy``'s lock (release_guard.lock) uses too.
    stage_name: str
    account: str
    region: str
    application_name: str
    deployment_group_name: str
    deployment_config: codedeploy.IEcsDeploymentConfig
    deploy_role_arn: str
    release_folder: str  # "release/dev": where the build wrote taskdef.json and appspec.yaml
    #: Runs the environment's infrastructure deploy (release_guard/environment_deploy.py) as the
    #: stage's first action, as that account's CDK bootstrap roles only.
    infrastructure_project: codebuild.IProject
    needs_approval: bool = False
    #: Diffs the environment's stacks before the approval (read only); only with needs_approval.
    review_project: codebuild.IProject | None = None
    #: False when ECS releases the environment: the Infrastructure action's CloudFormation update
    #: with the new ImageTag is then the release, and no second action follows it.
    released_by_codedeploy: bool = True
    #: The deploy stage's conditions (pipelines/stage_conditions.py); None: no condition.
    safety: StageSafety | None = None


class ReleasePipeline(Construct):
    """CodePipeline V2: Source -> Build -> UpdatePipeline -> Deploy-<Env> ..., a review and an approval before prod.

    Build runs ``BuildImage`` and ``Synth`` (the cloud assembly, once, plus the offline tests),
    then ``ScanGate``. ``UpdatePipeline`` deploys the tools account's stacks from that assembly
    and the pipeline restarts on its new definition. Each ``Deploy-<Env>`` stage runs
    ``Infrastructure`` (release_guard/environment_deploy.py: the environment's stacks from the
    same assembly, ImageTag = the build's tag, as that account's CDK bootstrap roles only), then,
    where CodeDeploy releases, ``BlueGreen<Env>`` as that account's deploy role; where ECS
    releases, the Infrastructure action's CloudFormation update is the release. The deploy role is imported by ARN and
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
        synth_project: codebuild.PipelineProject,
        scan_project: codebuild.PipelineProject,
        update_project: codebuild.PipelineProject,
        targets_in_order: Sequence[DeployTarget],
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        # Created by Tools-PipelineRole and imported mutable: its grants become policies here.
        self.role = role
        self.pipeline = self._build_pipeline(pipeline_name, artifact_store)
        source_output, build_output, assembly = self._add_build_stages(
            source,
            build_project=build_project,
            synth_project=synth_project,
            scan_project=scan_project,
            update_project=update_project,
        )
        for target in targets_in_order:
            self._add_deploy_stages(target, source_output, assembly, build_output, topic)
        self._acknowledge_grants(
            artifact_store,
            writers=[build_project, synth_project],
            readers=[
                scan_project,
                update_project,
                *(t.infrastructure_project for t in targets_in_order),
                *(t.review_project for t in targets_in_order if t.review_project is not None),
            ],
        )

        self.execution_rule, self.deploy_rule = self._build_outcome_rules(pipeline_name, topic)

    def _build_pipeline(self, pipeline_name: str, artifact_store: ArtifactStore) -> codepipeline.Pipeline:
        return codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_type=codepipeline.PipelineType.V2,
            # SUPERSEDED, not QUEUED: a newer execution overtakes an older one only while the older
            # one waits between stages ("Superseded: while this pipeline execution was waiting for
            # the next stage to be completed, a newer pipeline execution advanced", CodePipeline API
            # reference, PipelineExecution); an execution locks the stage it runs in (user guide,
            # pipelines-stop), so no CloudFormation update or release is cut off mid-way. Skipping
            # an older commit loses nothing, because a later assembly holds every earlier change;
            # QUEUED would take every commit through prod, one approval each.
            execution_mode=codepipeline.ExecutionMode.SUPERSEDED,
            role=self.role,
            artifact_bucket=artifact_store.pipeline_bucket,
            cross_account_keys=True,
            # Self-mutation: when UpdatePipeline's cdk deploy changes this pipeline, CloudFormation
            # starts a new execution on the new definition ("RestartExecutionOnUpdate: indicates
            # whether to rerun the pipeline after you update it", CloudFormation reference,
            # AWS::CodePipeline::Pipeline); the updating execution itself ends once its running
            # action completes (user guide, pipelines-edit). CDK Pipelines' SelfMutate relies on
            # the same property. The rerun's UpdatePipeline finds nothing to change and goes on.
            restart_execution_on_update=True,
        )

    def _add_build_stages(
        self,
        source: GithubSource,
        *,
        build_project: codebuild.PipelineProject,
        synth_project: codebuild.PipelineProject,
        scan_project: codebuild.PipelineProject,
        update_project: codebuild.PipelineProject,
    ) -> tuple[codepipeline.Artifact, codepipeline.Artifact, codepipeline.Artifact]:
        """Source, Build (BuildImage and Synth side by side, then ScanGate) and UpdatePipeline.

        Returns the source, the build's release folder and the cloud assembly.
        """
        source_output = codepipeline.Artifact("Source")
        build_output = codepipeline.Artifact("Release")
        assembly = codepipeline.Artifact("Assembly")
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
        # The one synth of the commit, beside the image build: every later stage deploys this assembly.
        synth_action = actions.CodeBuildAction(
            action_name="Synth", project=synth_project, input=source_output, outputs=[assembly], run_order=1
        )
        self.image_tag = build_action.variable("IMAGE_TAG")
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
        self.pipeline.add_stage(stage_name="Build", actions=[build_action, synth_action, scan_action])
        self.pipeline.add_stage(
            stage_name="UpdatePipeline",
            actions=[
                actions.CodeBuildAction(
                    action_name="SelfMutate", project=update_project, input=source_output, extra_inputs=[assembly]
                )
            ],
        )
        return source_output, build_output, assembly

    def _add_deploy_stages(
        self,
        target: DeployTarget,
        source_output: codepipeline.Artifact,
        assembly: codepipeline.Artifact,
        build_output: codepipeline.Artifact,
        topic: sns.ITopic,
    ) -> None:
        """One target's stages: the approval (where needed), then ``Deploy-<Env>`` with its conditions."""
        if target.needs_approval:
            self.pipeline.add_stage(
                stage_name=f"Approve-{target.title}",
                actions=self._approval_actions(target, source_output, assembly, topic),
            )
        safety = target.safety or StageSafety(rollback_on_failure=False)
        self.pipeline.add_stage(
            stage_name=target.stage_name,
            actions=self._deploy_actions(target, source_output, assembly, build_output),
            before_entry=before_entry(safety),
            on_success=on_success(safety),
            on_failure=on_failure(safety),
        )

    def _build_outcome_rules(self, pipeline_name: str, topic: sns.ITopic) -> tuple[events.Rule, events.Rule]:
        """Execution outcomes and deploy action outcomes go to ``topic``."""
        execution_rule = events.Rule(
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
        deploy_rule = events.Rule(
            self,
            "DeployOutcomes",
            description=f"Infrastructure and release outcomes of {pipeline_name}'s deploy stages",
            event_pattern=events.EventPattern(
                source=["aws.codepipeline"],
                detail_type=["CodePipeline Action Execution State Change"],
                detail={
                    "pipeline": [pipeline_name],
                    # Infrastructure (CodeBuild; under ECS the release itself) and the CodeDeploy release.
                    "stage": [{"prefix": "Deploy-"}],
                    "type": {"provider": ["CodeBuild", "CodeDeployToECS"]},
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
        return execution_rule, deploy_rule

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
        self, store: ArtifactStore, *, writers: Sequence[codebuild.IProject], readers: Sequence[codebuild.IProject]
    ) -> None:
        """The artifact-store grants CDK adds for the pipeline and its actions (see pipelines/artifact_grants.py)."""
        bucket = store.bucket
        acknowledge_artifact_access(self.role, bucket=bucket, write=True, who="the pipeline role")
        acknowledge_artifact_access(self.source_role, bucket=bucket, write=True, who="the source action")
        for projects, write in ((writers, True), (readers, False)):
            for project in projects:
                who = f"the CodeBuild project {project.node.scope.node.id}"  # type: ignore[union-attr]
                acknowledge_artifact_access(project.role, bucket=bucket, write=write, who=who)  # type: ignore[arg-type]
                acknowledge_inline_policies(project.role)  # type: ignore[arg-type]
        for role in (self.role, self.source_role):
            acknowledge_inline_policies(role)
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

    def _approval_actions(
        self, target: DeployTarget, source: codepipeline.Artifact, assembly: codepipeline.Artifact, topic: sns.ITopic
    ) -> list[codepipeline.IAction]:
        """The review of the environment's change (read only, run order 1), then the approval that shows it.

        The approval is mandatory before the environment whatever the review finds, so a change
        that widens permissions there never runs without a person approving it; the review makes
        sure the person sees it (compare CDK Pipelines' ConfirmPermissionsBroadening, which pauses
        only on broadening: docs/deploy.md).
        """
        found = (
            f"The release passed every earlier stage. Approve to deploy it to {target.title} "
            f"(account {target.account}); reject to stop this release."
        )
        if target.review_project is None:
            return [
                actions.ManualApprovalAction(
                    action_name=f"Approve{target.title}Release", notification_topic=topic, additional_information=found
                )
            ]
        review = actions.CodeBuildAction(
            action_name=f"Review{target.title}",
            project=target.review_project,
            input=source,
            extra_inputs=[assembly],
            environment_variables={"IMAGE_TAG": codebuild.BuildEnvironmentVariable(value=self.image_tag)},
            variables_namespace=f"{target.title}Review",
            run_order=1,
        )
        approval = actions.ManualApprovalAction(
            action_name=f"Approve{target.title}Release",
            notification_topic=topic,
            additional_information=(
                f"{review.variable('SUMMARY')}. Replacements: {review.variable('REPLACEMENTS')}; "
                f"IAM or security-group permissions widened: {review.variable('BROADENING')}. {found}"
            ),
            external_entity_link=review.variable("BUILD_URL"),
            run_order=2,
        )
        return [review, approval]

    def _deploy_actions(
        self,
        target: DeployTarget,
        source: codepipeline.Artifact,
        assembly: codepipeline.Artifact,
        build_output: codepipeline.Artifact,
    ) -> list[codepipeline.IAction]:
        """``Infrastructure`` (the stacks from the assembly, ImageTag = the build's tag), then the release.

        Under ECS the Infrastructure action's CloudFormation update is the release: the new
        ImageTag gives the service a new task definition and CloudFormation waits for ECS's
        strategy to finish. Under CodeDeploy the CodeDeploy action releases after it.
        """
        infrastructure = actions.CodeBuildAction(
            action_name="Infrastructure",
            project=target.infrastructure_project,
            input=source,
            extra_inputs=[assembly],
            environment_variables={"IMAGE_TAG": codebuild.BuildEnvironmentVariable(value=self.image_tag)},
            run_order=1,
        )
        if not target.released_by_codedeploy:
            return [infrastructure]
        return [infrastructure, self._codedeploy_action(target, build_output)]

    def _codedeploy_action(self, target: DeployTarget, build_output: codepipeline.Artifact) -> codepipeline.IAction:
        # Imported by ARN and immutable: the action cannot attach iam:PassRole on * (or anything else) to it.
        role = iam.Role.from_role_arn(self, f"{target.title}DeployRole", target.deploy_role_arn, mutable=False)
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
            run_order=2,
        )
