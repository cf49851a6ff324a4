"""The post-deploy bake of one environment: a Lambda function the pipeline's LambdaInvoke rule runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from components.compliance import acknowledge_inline_policies, exempt, skip
from components.handler_function import add_handler_function

HANDLER_DIR = Path(__file__).parent / "bake_check"
#: Lambda stops a function after 15 minutes; the handler stops polling 20 seconds before.
FUNCTION_TIMEOUT = cdk.Duration.minutes(15)


class HealthBake(Construct):
    """Watches one target account's alarms for ``bake_minutes`` after its deploy stage succeeded.

    The function (pipelines/bake_check/handler.py) assumes the target account's alarm reader role
    (pipelines/alarm_reader_role.py) and fails when an alarm fires, is missing or cannot be read.
    Its role may assume that one role, write its own log group and report a CodePipeline job
    result; nothing else. CodePipeline runs it as the pipeline role, which gets
    ``lambda:InvokeFunction`` on this function only (:meth:`grant_invoke_to`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        environment_name: str,
        region: str,
        alarm_reader_role_arn: str,
        alarm_names: Sequence[str],
        bake_minutes: int,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        handler = add_handler_function(
            self,
            function_name=function_name,
            handler_dir=HANDLER_DIR,
            description=f"Pipeline bake: fails when a health alarm of {environment_name} fires after a release",
            # Named: the target account's alarm reader role trusts it by ARN.
            role_name=function_name,
            role_description=f"Release bake of {environment_name}: read its alarms through its alarm reader role",
            timeout=FUNCTION_TIMEOUT,
            memory_size=128,
            environment={
                "ENVIRONMENT": environment_name,
                "ALARM_READER_ROLE_ARN": alarm_reader_role_arn,
                "ALARM_REGION": region,
                "ALARM_NAMES": json.dumps(list(alarm_names)),
                "BAKE_MINUTES": str(bake_minutes),
            },
            log_key=log_key,
            log_retention=log_retention,
            # A failed bake has been reported; a retry would only watch again after the rollback began.
            retry_attempts=0,
        )
        self.log_group, self.role, self.function = handler.log_group, handler.role, handler.function
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeTheAlarmReaderRole", actions=["sts:AssumeRole"], resources=[alarm_reader_role_arn]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReportTheJobResult",
                actions=["codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"],
                resources=["*"],
            )
        )
        self._acknowledge()

    def grant_invoke_to(self, role: iam.IRole) -> None:
        """Let ``role`` (the pipeline role) invoke this function, for the LambdaInvoke rule."""
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])
        )

    def _acknowledge(self) -> None:
        policy = self.role.node.find_child("DefaultPolicy")
        job_result = (
            "CodePipeline's PutJobSuccessResult and PutJobFailureResult support no resource-level permission, "
            "and they can only report on a job CodePipeline handed to this function."
        )
        exempt(policy, job_result, nag=["AwsSolutions-IAM5[Resource::*]"], checkov_checks=["CKV_AWS_111"])
        acknowledge_inline_policies(self.role)
        outside_vpc = (
            "The function calls only the STS, CloudWatch and CodePipeline APIs of AWS and reaches no private "
            "resource, so a VPC would add endpoints to pay for and no protection."
        )
        exempt(
            self.function,
            outside_vpc,
            nag=["NIST.800.53.R5-LambdaInsideVPC"],
            checkov_checks=["CKV_AWS_117"],
            control_tower_controls=["CT.LAMBDA.PR.3"],
        )
        no_concurrency_limit = (
            "The pipeline invokes the bake once per release of one environment, and a reserved concurrency "
            "would take capacity from the account's unreserved pool, which AWS refuses to lower below 10."
        )
        exempt(
            self.function,
            no_concurrency_limit,
            nag=["NIST.800.53.R5-LambdaConcurrency"],
            checkov_checks=["CKV_AWS_115"],
        )
        no_dead_letter_queue = (
            "A failed invocation fails the pipeline's rule, which rolls the stage back, so the failure is "
            "already acted upon and a dead-letter queue would hold events that nobody replays."
        )
        exempt(self.function, no_dead_letter_queue, nag=["NIST.800.53.R5-LambdaDLQ"], checkov_checks=["CKV_AWS_116"])
        skip(
            self.function,
            "CKV_AWS_173",
            "The environment holds an environment name, a role ARN, a region, alarm names and a number of "
            "minutes, none of them secret, and Lambda encrypts it at rest with its AWS managed key.",
        )
