"""The role a target account lends the tools account's CodeDeploy release, limited to what that release does."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from components.compliance import acknowledge, acknowledge_inline_policies
from pipelines.artifact_store import DECRYPT_ACTIONS, READ_ACTIONS

MAX_SESSION = cdk.Duration.hours(1)


class CrossAccountDeployRole(Construct):
    """A role only the pipeline role (by ARN) may assume, for one hour at a time.

    It may register task definitions, pass exactly the service's task and execution roles to
    ECS tasks, read and decrypt the pipeline's artifacts in the tools account, and create
    blue/green deployments on one CodeDeploy deployment group: what the CodePipeline
    CodeDeployToECS action does with its role. Nothing else: it cannot change the load balancer,
    any service setting or any role.

    Only environments that CodeDeploy releases have one (stacks/deploy_role_stack.py). Where ECS
    releases, the release is the Infrastructure action's CloudFormation update, run through the
    account's CDK bootstrap roles, and no role of the pipeline itself enters the account.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        pipeline_role_arn: str,
        application_name: str,
        deployment_group_name: str,
        deployment_config_name: str,
        task_family: str,
        task_role_arn: str,
        execution_role_arn: str,
        artifact_bucket_name: str,
        artifact_key_alias: str,
        tools_account: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ArnPrincipal(pipeline_role_arn),
            max_session_duration=MAX_SESSION,
            description="Assumed by the tools account's release pipeline to deploy one service",
        )

        # Plain strings (the stack's account and region are concrete): the ARNs read the same in the template.
        def codedeploy_arn(resource: str, name: str) -> str:
            return f"arn:aws:codedeploy:{stack.region}:{stack.account}:{resource}:{name}"

        task_definitions = f"arn:aws:ecs:{stack.region}:{stack.account}:task-definition/{task_family}:*"
        release_statements = self._codedeploy_statements(
            codedeploy_arn, application_name, deployment_group_name, deployment_config_name
        )
        self.policy = iam.Policy(
            self,
            "ReleasePermissions",
            roles=[self.role],
            statements=[
                *release_statements,
                iam.PolicyStatement(
                    sid="RegisterTaskDefinitions",
                    actions=["ecs:RegisterTaskDefinition"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="TagTaskDefinitionsOfThisFamilyOnRegistration",
                    actions=["ecs:TagResource"],
                    resources=[task_definitions],
                    conditions={"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
                ),
                iam.PolicyStatement(
                    sid="PassOnlyThisServicesRolesToEcsTasks",
                    actions=["iam:PassRole"],
                    resources=[task_role_arn, execution_role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="ReadReleaseArtifacts",
                    actions=list(READ_ACTIONS),
                    resources=[f"arn:aws:s3:::{artifact_bucket_name}/*"],
                ),
                iam.PolicyStatement(
                    sid="DecryptReleaseArtifacts",
                    actions=list(DECRYPT_ACTIONS),
                    resources=[f"arn:aws:kms:{stack.region}:{tools_account}:key/*"],
                    conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": artifact_key_alias}},
                ),
            ],
        )
        self._acknowledge(stack, task_definitions, artifact_bucket_name, tools_account)

    @staticmethod
    def _codedeploy_statements(
        codedeploy_arn: Callable[[str, str], str],
        application_name: str,
        deployment_group_name: str,
        deployment_config_name: str,
    ) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                sid="DeployToThisDeploymentGroup",
                actions=["codedeploy:CreateDeployment", "codedeploy:GetDeployment"],
                resources=[codedeploy_arn("deploymentgroup", f"{application_name}/{deployment_group_name}")],
            ),
            iam.PolicyStatement(
                sid="RegisterRevisionsOfThisApplication",
                actions=[
                    "codedeploy:GetApplication",
                    "codedeploy:GetApplicationRevision",
                    "codedeploy:RegisterApplicationRevision",
                ],
                resources=[codedeploy_arn("application", application_name)],
            ),
            iam.PolicyStatement(
                sid="ReadTheDeploymentConfig",
                actions=["codedeploy:GetDeploymentConfig"],
                resources=[codedeploy_arn("deploymentconfig", deployment_config_name)],
            ),
        ]

    def _acknowledge(
        self, stack: cdk.Stack, task_definitions: str, artifact_bucket_name: str, tools_account: str
    ) -> None:
        acknowledge_inline_policies(self.policy)
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ECS does not support resource-level permissions for ecs:RegisterTaskDefinition, so it can only be "
            "granted on all resources; iam:PassRole limited to this service's two roles bounds what it can register.",
        )
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::{task_definitions}]",
            "Every registration creates a new revision of the family, so tagging on registration is granted on "
            "all revisions of this service's task definition family and only when the call is RegisterTaskDefinition.",
        )
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::arn:aws:s3:::{artifact_bucket_name}/*]",
            "CodePipeline names artifact objects at run time, so the deploy role reads any object of the artifact "
            "bucket, which holds only this pipeline's release artifacts, with read actions only.",
        )
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::arn:aws:kms:{stack.region}:{tools_account}:key/*]",
            "The artifact key's id is random and lives in the tools account, so decryption is granted through "
            "the key's deterministic alias with a kms:ResourceAliases condition instead of by key id.",
        )
