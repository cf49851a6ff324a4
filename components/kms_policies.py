"""Key-policy statements that several constructs need on their own KMS keys."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

#: What CloudWatch Logs does with a log group's key.
LOGS_KEY_ACTIONS = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]


def allow_cloudwatch_logs(key: kms.IKey, *, log_group_name: str = "*") -> None:
    """Let CloudWatch Logs of the key's own account and region use it for ``log_group_name``.

    The ``kms:EncryptionContext:aws:logs:arn`` condition names the log groups (one, or a
    pattern), so the key cannot encrypt other accounts' or other groups' logs.
    """
    stack = cdk.Stack.of(key)
    log_group_arn = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=log_group_name,
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogs",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=LOGS_KEY_ACTIONS,
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
        )
    )


def allow_cloudwatch_alarms(key: kms.IKey) -> None:
    """Let CloudWatch alarms notify an SNS topic encrypted with ``key``.

    CloudWatch needs to generate and decrypt data keys for the topic's messages (AWS knowledge
    center: "How do I configure a CloudWatch alarm with an encrypted SNS topic?"); which alarms may
    publish is the topic policy's business.
    """
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsToPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
        )
    )


def deny_grants_except_for_aws_resources(key: kms.IKey) -> None:
    """Refuse ``kms:CreateGrant`` unless an AWS service asks for it, for an AWS resource.

    The statement AWS Control Tower's proactive control CT.KMS.PR.3 requires: deny every
    principal when both ``kms:GrantIsForAWSResource`` and ``aws:PrincipalIsAWSService`` are
    false (``BoolIfExists``). No principal of this project creates grants of its own: services
    that encrypt with the key (CloudWatch Logs, S3, SNS, Secrets Manager) call the key directly,
    and those that use grants (EBS, RDS, ...) create them for AWS resources. A grant would
    otherwise let its grantee use the key outside the key policy.
    """
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsExceptForAwsResources",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
        )
    )
